"""lmfast.patch(): SciPy's functions rebound to lmfast everywhere, and restored exactly.

Each test leaves SciPy unpatched (the fixture checks it), so the rest of the suite
compares lmfast with SciPy's own functions.
"""

import subprocess
import sys
import textwrap
import threading
from multiprocessing.pool import ThreadPool

import numpy as np
import pytest
import scipy.optimize
from scipy.optimize import _minpack_py

import lmfast

NAMES = ("leastsq", "curve_fit", "least_squares")
ORIGINALS = {name: getattr(scipy.optimize, name) for name in NAMES}


def _bindings():
    """Every (module name, attribute) bound to one of SciPy's original functions."""
    found = set()
    for name, module in list(sys.modules.items()):
        try:
            namespace = vars(module)
        except TypeError:
            continue
        for attribute, value in list(namespace.items()):
            if any(value is f for f in ORIGINALS.values()):
                found.add((name, attribute))
    return found


@pytest.fixture(autouse=True)
def scipy_unpatched_after():
    before = _bindings()
    yield
    lmfast.unpatch()
    assert lmfast.patched_names() == ()
    assert all(getattr(scipy.optimize, n) is f for n, f in ORIGINALS.items())
    assert _bindings() == before


def _residuals(p):
    return np.array([p[0] - 1.0, 10.0 * (p[1] - p[0] ** 2), 0.5 * p[0] * p[1]])


def _calls(function):
    return sum(c for (_, name), c in lmfast.patch_calls().items() if name == function)


def test_patch_rebinds_every_copy_and_unpatch_restores_them():
    before = _bindings()
    assert ("scipy.optimize", "leastsq") in before
    assert ("scipy.optimize._minpack_py", "curve_fit") in before
    assert ("scipy.optimize._root", "leastsq") in before  # root(method='lm') uses it
    names = lmfast.patch()
    assert set(names) == {f"{m}.{a}" for m, a in before}
    assert _bindings() == set()
    assert lmfast.patch() == names  # idempotent
    lmfast.unpatch()
    assert _bindings() == before
    lmfast.unpatch()  # a no-op now
    assert _bindings() == before


def test_patched_calls_reach_lmfast_with_scipys_answers():
    expected = ORIGINALS["leastsq"](_residuals, [0.5, 0.5], full_output=True)
    before = _calls("leastsq")
    with lmfast.patched():
        got = scipy.optimize.leastsq(_residuals, [0.5, 0.5], full_output=True)
        assert _minpack_py.leastsq is scipy.optimize.leastsq
    assert _calls("leastsq") == before + 1
    assert lmfast.patch_calls()[(__name__.partition(".")[0], "leastsq")] >= 1
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[3:] == expected[3:]


def test_what_lmfast_does_not_accelerate_goes_to_scipy_unchanged():
    x = np.linspace(0, 2, 30)
    y = 2.0 * np.exp(-1.3 * x) + 0.01 * np.sin(9 * x)

    def decay(t, a, b):
        return a * np.exp(-b * t)

    calls = [
        ("curve_fit", (decay, x, y), {"bounds": (0, 5)}),  # SciPy's default: trf
        ("curve_fit", (decay, x, y, None, None, False, None, (0, 5)), {}),
        ("curve_fit", (decay, x, y), {"method": "dogbox"}),
        ("least_squares", (lambda p: decay(x, *p) - y, [1.0, 1.0]), {}),  # trf
        ("least_squares", (lambda p: decay(x, *p) - y, [1.0, 1.0]), {"loss": "soft_l1"}),
    ]
    for name, args, kwargs in calls:
        expected = ORIGINALS[name](*args, **kwargs)
        before = lmfast.patch_calls()
        with lmfast.patched():
            got = getattr(scipy.optimize, name)(*args, **kwargs)
        assert lmfast.patch_calls() == before, (name, kwargs)
        if name == "curve_fit":
            np.testing.assert_array_equal(got[0], expected[0])
            np.testing.assert_array_equal(got[1], expected[1])
        else:
            np.testing.assert_array_equal(got.x, expected.x)
            assert got.nfev == expected.nfev


def test_unbounded_curve_fit_runs_on_lmfast():
    x = np.linspace(0, 2, 30)
    y = 2.0 * np.exp(-1.3 * x) + 0.01 * np.sin(9 * x)

    def decay(t, a, b):
        return a * np.exp(-b * t)

    expected = ORIGINALS["curve_fit"](decay, x, y, bounds=(-np.inf, np.inf))
    before = _calls("curve_fit")
    with lmfast.patched():
        got = scipy.optimize.curve_fit(decay, x, y, bounds=(-np.inf, np.inf))
    assert _calls("curve_fit") == before + 1
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-9)


def test_errors_in_callbacks_propagate_unchanged():
    class Mine(Exception):
        pass

    error = Mine("from the user's function")

    def bad(p):
        raise error

    with lmfast.patched(), pytest.raises(Mine) as caught:
        scipy.optimize.leastsq(bad, [1.0])
    assert caught.value is error


def test_nested_blocks_and_an_explicit_patch_inside_one():
    with lmfast.patched():
        with lmfast.patched():
            assert scipy.optimize.leastsq is not ORIGINALS["leastsq"]
        assert scipy.optimize.leastsq is not ORIGINALS["leastsq"]  # outer still open
    assert scipy.optimize.leastsq is ORIGINALS["leastsq"]
    with lmfast.patched():
        lmfast.patch()
    assert scipy.optimize.leastsq is not ORIGINALS["leastsq"]  # patch() outlives it
    lmfast.unpatch()
    assert scipy.optimize.leastsq is ORIGINALS["leastsq"]


def test_threads_patching_at_once():
    expected = ORIGINALS["leastsq"](_residuals, [0.5, 0.5])[0]
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        with lmfast.patched():
            x, _ = scipy.optimize.leastsq(_residuals, [0.5, 0.5])
            if i % 2:
                lmfast.patched_names()
        return x

    with ThreadPool(8) as pool:
        results = pool.map(work, range(8))
    for x in results:
        np.testing.assert_array_equal(x, expected)


def test_a_module_imported_while_patched_is_restored(tmp_path, monkeypatch):
    (tmp_path / "late_importer.py").write_text("from scipy.optimize import curve_fit\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with lmfast.patched():
        import late_importer
        assert late_importer.curve_fit is scipy.optimize.curve_fit
        assert late_importer.curve_fit is not ORIGINALS["curve_fit"]
    assert late_importer.curve_fit is ORIGINALS["curve_fit"]
    del sys.modules["late_importer"]


def test_a_module_under_two_names_is_listed_once(tmp_path, monkeypatch):
    # lmfit's import aliases __main__ as __mp_main__ (multiprocessing's name for it)
    (tmp_path / "two_named.py").write_text("from scipy.optimize import curve_fit\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import two_named

    monkeypatch.setitem(sys.modules, "two_named_alias", two_named)
    names = lmfast.patch()
    assert names.count("two_named.curve_fit") == 1
    assert len(set(names)) == len(names)
    assert two_named.curve_fit is scipy.optimize.curve_fit is not ORIGINALS["curve_fit"]
    lmfast.unpatch()
    assert two_named.curve_fit is ORIGINALS["curve_fit"]
    del sys.modules["two_named"]


def test_patched_names_of_a_script_importing_lmfit_has_no_duplicates(tmp_path):
    script = tmp_path / "uses_lmfit.py"
    script.write_text(textwrap.dedent("""
        import sys
        from scipy.optimize import curve_fit
        import lmfit
        import lmfast
        assert sys.modules["__mp_main__"] is sys.modules["__main__"]
        names = lmfast.patch()
        assert names.count("__main__.curve_fit") == 1, names
        assert len(set(names)) == len(names), names
        print("ok")
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_kept_stand_in_calls_scipy_after_unpatch():
    with lmfast.patched():
        kept = scipy.optimize.leastsq
    before = lmfast.patch_calls()
    x, _ = kept(_residuals, [0.5, 0.5])
    assert lmfast.patch_calls() == before
    np.testing.assert_array_equal(x, ORIGINALS["leastsq"](_residuals, [0.5, 0.5])[0])


def test_importing_the_cli_module_keeps_lmfast_patch_callable():
    import lmfast.patch  # rebinds the name lmfast.patch to the module

    assert callable(lmfast.patch)
    assert "scipy.optimize.leastsq" in lmfast.patch()


def _python(*args, cwd=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          check=False, cwd=cwd)


def test_python_m_lmfast_patch_runs_a_script(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent("""
        import sys
        import numpy as np
        from scipy.optimize import leastsq
        x, ier = leastsq(lambda p: p - 3.0, [0.0])
        print(sys.argv[1:], leastsq.__module__, x[0], ier)
    """))
    done = _python("-m", "lmfast.patch", "--report", str(script), "a", "--b")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['a',", "'--b']", "lmfast._patching", "3.0", "1"] or (
        done.stdout.startswith("['a', '--b'] lmfast._patching 3.0")), done.stdout
    assert "__main__: leastsq x 1" in done.stderr
    (tmp_path / "fitmod.py").write_text(script.read_text())
    done = _python("-m", "lmfast.patch", "-m", "fitmod", "z", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("['z'] lmfast._patching"), done.stdout
    done = _python("-m", "lmfast.patch")
    assert done.returncode == 2 and "give a script" in done.stderr


def test_patch_without_scipy_raises_importerror():
    done = _python("-c", "import sys; sys.modules['scipy'] = None; import lmfast\n"
                         "try:\n    lmfast.patch()\nexcept ImportError as e:\n    print('ok')")
    assert done.stdout.strip() == "ok", done.stderr


def test_least_squares_lm_runs_on_lmfast_and_trf_stays_scipys():
    x = np.linspace(0, 2, 30)
    y = 2.0 * np.exp(-1.3 * x) + 0.01 * np.sin(9 * x)

    def residuals(p):
        return p[0] * np.exp(-p[1] * x) - y

    expected = ORIGINALS["least_squares"](residuals, [1.0, 1.0], method="lm")
    before = _calls("least_squares")
    with lmfast.patched():
        got = scipy.optimize.least_squares(residuals, [1.0, 1.0], method="lm")
        positional = scipy.optimize.least_squares(residuals, [1.0, 1.0], "2-point",
                                                  (-np.inf, np.inf), "lm")
    assert _calls("least_squares") == before + 2
    for result in (got, positional):
        for field in ("x", "cost", "fun", "jac", "grad", "optimality"):
            np.testing.assert_array_equal(result[field], expected[field])
        assert (result.nfev, result.njev, result.status, result.message) == (
            expected.nfev, expected.njev, expected.status, expected.message)


def test_xarray_curvefit_runs_on_lmfast_unchanged():
    xr = pytest.importorskip("xarray")
    t = np.linspace(0, 4, 40)
    truth = np.array([[2.0, 1.3], [1.5, 0.7], [3.0, 2.1]])
    data = xr.DataArray(truth[:, :1] * np.exp(-truth[:, 1:] * t) + 0.01 * np.sin(7 * t),
                        dims=("pixel", "t"), coords={"t": t})

    def decay(x, a, b):
        return a * np.exp(-b * x)

    expected = data.curvefit("t", decay, p0={"a": 1.0, "b": 1.0})
    before = lmfast.patch_calls().get(("xarray", "curve_fit"), 0)
    with lmfast.patched():
        got = data.curvefit("t", decay, p0={"a": 1.0, "b": 1.0})
    assert lmfast.patch_calls()[("xarray", "curve_fit")] == before + 3  # one per pixel
    np.testing.assert_allclose(got.curvefit_coefficients, expected.curvefit_coefficients,
                               rtol=1e-12)
    np.testing.assert_allclose(got.curvefit_covariance, expected.curvefit_covariance,
                               rtol=1e-9)
