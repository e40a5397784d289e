"""lmfast.curve_fit against scipy.optimize.curve_fit (SciPy 1.17, method 'lm').

Every comparison makes the same call through both functions and compares what comes
out: ``popt`` (to 1e-8 relative), ``pcov`` (to 1e-10 relative to the parameters'
standard deviations), the ``full_output`` extras, the warnings (category, text and the
file they point at), or the exception (type and message). Nothing here holds values
produced by lmfast.

The few places where lmfast deliberately differs from SciPy (bounded methods, SciPy
crashes on corner cases, a 2-D ``sigma`` whitened by a precomputed inverse) have tests
of their own at the end.
"""

import functools
import inspect

import nist
import numpy as np
import pytest
import scipy.optimize
from helpers import assert_pcov_close, assert_popt_close, run_outcome

import lmfast
from lmfast import OptimizeWarning, curve_fit

SP = scipy.optimize.curve_fit

POPT_RTOL = 1e-8
PCOV_RTOL = 1e-10


# --------------------------------------------------------------------------------------
# Running and comparing
# --------------------------------------------------------------------------------------


def _category(cat):
    """SciPy's and lmfast's OptimizeWarning are the same warning for the comparison."""
    if cat in (OptimizeWarning, scipy.optimize.OptimizeWarning):
        return "OptimizeWarning"
    return cat


def _exception_type(exc):
    """SciPy's private ``_minpack.error`` is lmfast's MinpackError (same message)."""
    cls = type(exc)
    if cls.__name__ == "error" and cls.__module__.endswith("_minpack"):
        return lmfast.MinpackError
    return cls


def _run(fn, *args, **kwargs):
    """(result, exception, warnings) of ``fn(*args, **kwargs)``."""
    out = run_outcome(fn, *args, **kwargs)
    return out.value, out.exc, [(_category(c), text, file) for c, text, file in out.warnings]


def assert_same_outcome(args, kwargs, popt_rtol=POPT_RTOL, pcov_rtol=PCOV_RTOL):
    """Run SciPy and lmfast on the same call; both return alike or both raise alike."""
    r_sp, e_sp, w_sp = _run(SP, *args, **kwargs)
    r_lm, e_lm, w_lm = _run(curve_fit, *args, **kwargs)
    if e_sp is not None or e_lm is not None:
        assert e_sp is not None, f"only lmfast raised {e_lm!r}"
        assert e_lm is not None, f"only SciPy raised {e_sp!r}"
        assert _exception_type(e_lm) is _exception_type(e_sp)
        assert str(e_lm) == str(e_sp)
    else:
        assert len(r_lm) == len(r_sp)
        assert_popt_close(r_lm[0], r_sp[0], popt_rtol)
        assert_pcov_close(r_lm[1], r_sp[1], pcov_rtol)
        if len(r_sp) == 5:
            info_lm, info_sp = r_lm[2], r_sp[2]
            assert info_lm.keys() == info_sp.keys()
            assert info_lm["nfev"] == info_sp["nfev"]
            np.testing.assert_allclose(info_lm["fvec"], info_sp["fvec"], rtol=1e-7, atol=1e-12)
            np.testing.assert_array_equal(info_lm["ipvt"], info_sp["ipvt"])
            assert r_lm[3:] == r_sp[3:]  # mesg, ier
    assert w_lm == w_sp
    return r_lm, e_lm


# --------------------------------------------------------------------------------------
# Models and data (deterministic)
# --------------------------------------------------------------------------------------


def decay(x, a, b):
    return a * np.exp(-b * x)


def decay_jac(x, a, b):
    e = np.exp(-b * x)
    return np.stack([e, -a * x * e], axis=1)


def decay_jac_t(x, a, b):  # column layout, for col_deriv=True
    return decay_jac(x, a, b).T


def gauss(x, a, mu, s, c):
    return a * np.exp(-0.5 * ((x - mu) / s) ** 2) + c


def gauss_jac(x, a, mu, s, c):
    t = (x - mu) / s
    e = np.exp(-0.5 * t * t)
    return np.stack([e, a * e * t / s, a * e * t * t / s, np.ones_like(x)], axis=1)


def gauss2d(xy, a, x0, y0, sx, sy, c):
    x, y = xy
    return a * np.exp(-0.5 * (((x - x0) / sx) ** 2 + ((y - y0) / sy) ** 2)) + c


def line_keyed(d, a, b):  # xdata that is not an array: passed to the model as is
    return a * d["t"] + b


def with_default(x, a, b=3.0):
    return a * x + b


def with_kwonly(x, a, b, *, scale=1.0):
    return scale * (a * x + b)


class Model:
    def decay(self, x, a, b):
        return a * np.exp(-b * x)


_RNG = np.random.default_rng(20240601)
X = np.linspace(0.0, 4.0, 20)
Y = decay(X, 2.0, 1.3) + 0.02 * _RNG.standard_normal(20)
SIGMA1 = 0.5 + _RNG.random(20)
_A = _RNG.standard_normal((20, 20))
SIGMA2 = _A @ _A.T / 20 + np.eye(20)
XG = np.linspace(-5.0, 5.0, 128)
YG = gauss(XG, 3.0, 0.4, 1.2, 0.5) + 0.05 * _RNG.standard_normal(128)
PG = [2.0, 0.0, 1.0, 0.0]
_GRID = np.meshgrid(np.arange(5.0), np.arange(5.0))
XY = np.vstack([_GRID[0].ravel(), _GRID[1].ravel()])
Z = gauss2d(XY, 10.0, 2.1, 1.9, 1.1, 0.9, 1.0) + 0.1 * _RNG.standard_normal(25)
PZ = [8.0, 2.0, 2.0, 1.0, 1.0, 0.5]
Y_NAN = Y.copy()
Y_NAN[[3, 11]] = np.nan
X_NAN = X.copy()
X_NAN[7] = np.nan


def _with(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


# name -> (args, kwargs) of a curve_fit call
CASES = {
    # plain fits, Jacobian by differences or given
    "decay": ((decay, X, Y), {}),
    "decay-p0": ((decay, X, Y), {"p0": [1.5, 1.0]}),
    "decay-p0-int": ((decay, X, Y), {"p0": [2, 1]}),
    "decay-p0-2d": ((decay, X, Y), {"p0": [[1.5, 1.0]]}),
    "decay-jac": ((decay, X, Y), {"jac": decay_jac}),
    "decay-jac-int-p0": ((decay, X, Y), {"jac": decay_jac, "p0": [2, 1]}),
    "decay-jac-col-deriv": ((decay, X, Y), {"jac": decay_jac_t, "col_deriv": True}),
    "decay-method-lm": ((decay, X, Y), {"method": "lm"}),
    "gauss128": ((gauss, XG, YG), {"p0": PG}),
    "gauss128-jac": ((gauss, XG, YG), {"p0": PG, "jac": gauss_jac}),
    "gauss2d-5x5": ((gauss2d, XY, Z), {"p0": PZ}),
    "full-output": ((decay, X, Y), {"full_output": True}),
    "full-output-jac": ((gauss, XG, YG), {"p0": PG, "jac": gauss_jac, "full_output": True}),
    # leastsq options
    "options": (
        (decay, X, Y),
        {"ftol": 1e-4, "xtol": 1e-4, "gtol": 1e-3, "epsfcn": 1e-10, "factor": 10, "diag": [1, 2]},
    ),
    "maxfev-enough": ((gauss, XG, YG), {"p0": PG, "maxfev": 1000}),
    # sigma and absolute_sigma
    "sigma-scalar": ((decay, X, Y), {"sigma": 2.0}),
    "sigma-scalar-abs": ((decay, X, Y), {"sigma": 2.0, "absolute_sigma": True}),
    "sigma-one-element": ((decay, X, Y), {"sigma": [2.0], "jac": decay_jac}),
    "sigma-1d": ((decay, X, Y), {"sigma": SIGMA1}),
    "sigma-1d-abs": ((decay, X, Y), {"sigma": SIGMA1, "absolute_sigma": True}),
    "sigma-1d-list": ((decay, X, Y), {"sigma": list(SIGMA1)}),
    "sigma-1d-float32": ((decay, X, Y), {"sigma": SIGMA1.astype(np.float32)}),
    "sigma-1d-jac": ((decay, X, Y), {"sigma": SIGMA1, "jac": decay_jac}),
    "sigma-1d-jac-abs": (
        (decay, X, Y),
        {"sigma": SIGMA1, "jac": decay_jac, "absolute_sigma": True},
    ),
    "sigma-2d-jac": ((decay, X, Y), {"sigma": SIGMA2, "jac": decay_jac}),
    "sigma-2d-jac-abs": (
        (decay, X, Y),
        {"sigma": SIGMA2, "jac": decay_jac, "absolute_sigma": True},
    ),
    "sigma-2d-diagonal": ((decay, X, Y), {"sigma": np.diag(SIGMA1**2), "jac": decay_jac}),
    # data types and shapes
    "xy-lists": ((decay, list(X), list(Y)), {}),
    "y-list": ((decay, X, list(Y)), {}),
    "xy-float32": ((decay, X.astype(np.float32), Y.astype(np.float32)), {}),
    "x-float32-jac": ((decay, X.astype(np.float32), Y), {"jac": decay_jac}),
    "xy-int": ((lambda x, a, b: a * x + b, np.arange(8), 3 * np.arange(8) + 1), {}),
    "x-tuple-of-rows": ((gauss2d, (XY[0], XY[1]), Z), {"p0": PZ}),
    "x-none": ((lambda _, a: a * np.arange(10.0), None, 2.0 * np.arange(10)), {}),
    "x-dict": ((line_keyed, {"t": X}, 2 * X + 1), {}),
    "y-scalar-broadcast": (
        (lambda x, a, b: a * x**2 + b * x - (3 * x**2 + x), np.arange(10.0), 0),
        {},
    ),
    # p0 from the model's signature
    "p0-none-default-arg": ((with_default, X, 2 * X + 3), {}),
    "p0-none-kwonly": ((with_kwonly, X, 2 * X + 3), {}),
    "p0-none-method": ((Model().decay, X, Y), {}),
    "p0-none-partial": ((functools.partial(gauss, c=0.5), XG, YG - 0.5), {}),
    "p0-none-lambda": ((lambda x, a, b, c: a * x**2 + b * x + c, X, X**2), {}),
    # indeterminate covariance
    "unused-parameter": ((lambda x, a, b: a * x, X, Y), {}),
    "unused-parameter-abs": ((lambda x, a, b: a * x, X, Y), {"absolute_sigma": True}),
    "m-equals-n": ((decay, X[:2], Y[:2]), {}),
    "m-equals-n-abs": ((decay, X[:2], Y[:2]), {"absolute_sigma": True}),
    "exact-fit": ((lambda x, a, b: a * x + b, X, 2 * X + 1), {}),
    # bounds that leave the problem unbounded
    "bounds-inf-tuple": ((decay, X, Y), {"bounds": (-np.inf, np.inf)}),
    "bounds-inf-arrays": ((decay, X, Y), {"bounds": ([-np.inf] * 2, [np.inf] * 2)}),
    "bounds-none": ((decay, X, Y), {"bounds": (None, None)}),
    "bounds-Bounds-inf": ((decay, X, Y), {"bounds": scipy.optimize.Bounds([-np.inf] * 2, np.inf)}),
    # check_finite and nan_policy
    "nan-in-y": ((decay, X, Y_NAN), {}),
    "nan-in-x": ((decay, X_NAN, Y), {}),
    "inf-in-y": ((decay, X, _with(Y, 0, np.inf)), {}),
    "inf-in-x-list": ((decay, list(_with(X, 2, -np.inf)), Y), {}),
    "nan-check-finite-true-policy": (
        (decay, X, Y_NAN),
        {"check_finite": True, "nan_policy": "omit"},
    ),
    "nan-raise": ((decay, X, Y_NAN), {"nan_policy": "raise"}),
    "nan-raise-x": ((decay, X_NAN, Y), {"nan_policy": "raise"}),
    "nan-raise-clean": ((decay, X, Y), {"nan_policy": "raise"}),
    "nan-omit-y": ((decay, X, Y_NAN), {"nan_policy": "omit"}),
    "nan-omit-x": ((decay, X_NAN, Y), {"nan_policy": "omit"}),
    "nan-omit-xy-jac": ((decay, X_NAN, Y_NAN), {"nan_policy": "omit", "jac": decay_jac}),
    "nan-omit-2d-x": ((gauss2d, _with(XY, (1, 4), np.nan), Z), {"p0": PZ, "nan_policy": "omit"}),
    "nan-omit-sigma-1d": ((decay, X, Y_NAN), {"nan_policy": "omit", "sigma": SIGMA1}),
    "nan-omit-sigma-2d": (
        (decay, X, Y_NAN),
        {"nan_policy": "omit", "sigma": SIGMA2, "jac": decay_jac},
    ),
    "nan-omit-clean": ((decay, X, Y), {"nan_policy": "omit"}),
    "nan-propagate": ((decay, X, Y), {"nan_policy": "propagate"}),
    "nan-propagate-check-finite": (
        (decay, X, Y),
        {"nan_policy": "propagate", "check_finite": True},
    ),
    "nan-policy-unknown": ((decay, X, Y), {"nan_policy": "ignore"}),
    # errors
    "empty-y": ((decay, X, []), {}),
    "empty-xy": ((decay, [], []), {}),
    "x-y-mismatch": ((decay, X, Y[:5]), {}),
    "more-params-than-points": ((lambda x, a, b, c: a + b * x + c * x * x, X[:2], Y[:2]), {}),
    "one-point": ((decay, X[:1], Y[:1]), {}),
    "args-keyword": ((decay, X, Y), {"args": (1,)}),
    "unknown-keyword": ((decay, X, Y), {"bogus": 1}),
    "jac-string": ((decay, X, Y), {"jac": "2-point"}),
    "jac-string-lm": ((decay, X, Y), {"jac": "3-point", "method": "lm"}),
    "jac-string-one-point": ((decay, X[:1], Y[:1]), {"jac": "2-point"}),
    "jac-wrong-shape": ((decay, X, Y), {"jac": lambda x, a, b: np.ones((3, 2))}),
    "model-wrong-shape": ((lambda x, a, b: np.ones(3) * a, X, Y), {}),
    "maxfev-reached": ((decay, X, Y), {"maxfev": 3}),
    "maxfev-reached-jac": ((gauss, XG, YG), {"p0": PG, "jac": gauss_jac, "maxfev": 2}),
    "p0-none-varargs": ((lambda x, *p: p[0] * x, X, Y), {}),
    "p0-none-no-params": ((lambda x: x, X, Y), {}),
    "unknown-method": ((decay, X, Y), {"method": "newton"}),
    "bounds-three": ((decay, X, Y), {"bounds": (1, 2, 3)}),
    "bounds-one": ((decay, X, Y), {"bounds": (1,)}),
    "sigma-bad-shape": ((decay, X, Y), {"sigma": np.ones(3)}),
    "sigma-not-positive-definite": ((decay, X, Y), {"sigma": -np.eye(20)}),
    "sigma-2d-nan": ((decay, X, Y), {"sigma": np.full((20, 20), np.nan)}),
    "ydata-2d": ((decay, X, np.vstack([Y, Y])), {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_same_as_scipy(name):
    args, kwargs = CASES[name]
    assert_same_outcome(args, kwargs)


def test_sigma_2d_difference_jacobian():
    # SciPy solves with the Cholesky factor L on every evaluation; lmfast multiplies by
    # inv(L). The residuals then differ in the last bit, and a forward-difference
    # Jacobian divides that by its step (~1e-8), so pcov agrees to ~1e-8 only.
    for kwargs in ({"sigma": SIGMA2}, {"sigma": SIGMA2, "absolute_sigma": True}):
        assert_same_outcome((decay, X, Y), kwargs, popt_rtol=1e-8, pcov_rtol=1e-6)
    assert_same_outcome((decay, X, Y_NAN), {"sigma": SIGMA2, "nan_policy": "omit"}, 1e-8, 1e-6)


def test_sigma_2d_float32():
    # SciPy factors a float32 covariance in float32; lmfast factors it in float64.
    sigma = SIGMA2.astype(np.float32)
    assert_same_outcome((decay, X, Y), {"sigma": sigma, "jac": decay_jac}, 1e-6, 1e-5)


# --------------------------------------------------------------------------------------
# NIST StRD problems through curve_fit
# --------------------------------------------------------------------------------------


def _nist_call(name, start, jac):
    problem = nist.PROBLEMS[name]
    model, model_jac = problem.model, problem.model_jac

    def f(x, *b):
        return model(np.array(b), x)

    def dfdb(x, *b):
        return model_jac(np.array(b), x)

    kwargs = {"p0": problem.start(start), "full_output": True}
    if jac:
        kwargs["jac"] = dfdb
    return (f, problem.x, problem.target), kwargs


@pytest.mark.parametrize("jac", [False, True], ids=["diff", "jac"])
@pytest.mark.parametrize("start", [1, 2])
@pytest.mark.parametrize("name", nist.NAMES)
def test_nist(name, start, jac):
    args, kwargs = _nist_call(name, start, jac)
    assert_same_outcome(args, kwargs)


def test_nist_certified_values():
    # A sanity check of the comparison itself on an easy problem: the fit is right.
    problem = nist.PROBLEMS["Misra1a"]
    (f, x, y), kwargs = _nist_call("Misra1a", 1, True)
    popt, pcov = curve_fit(f, x, y, p0=kwargs["p0"], jac=kwargs["jac"])
    np.testing.assert_allclose(popt, problem.certified, rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(pcov)), problem.certified_sd, rtol=1e-5)


# --------------------------------------------------------------------------------------
# Calls, inputs, API
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("p0", [np.array([1.0, 5.0]), [1, 5], np.array([1, 5], np.float32)])
@pytest.mark.parametrize("use_jac", [False, True])
def test_model_called_once_at_each_point(p0, use_jac):
    # The first evaluation at p0 is not repeated (SciPy gh-13670).
    x = np.linspace(0, 3, 101)
    y = 2 * x + 1 + np.sin(17 * x)
    calls = {"f": [], "jac": []}

    def line(x, *p):
        assert not calls["f"] or calls["f"][-1] != list(p)
        calls["f"].append(list(p))
        return x * p[0] + p[1]

    def jac(x, *p):
        assert not calls["jac"] or calls["jac"][-1] != list(p)
        calls["jac"].append(list(p))
        return np.array([x, np.ones_like(x)]).T

    curve_fit(line, x, y, p0, jac=jac if use_jac else None)
    assert calls["f"][0] == [1, 5]


def test_inputs_untouched():
    x, y, p0, s1, s2 = X.copy(), Y_NAN.copy(), np.array([1.5, 1.0]), SIGMA1.copy(), SIGMA2.copy()
    for sigma in (s1, s2):
        curve_fit(decay, x, y, p0, sigma=sigma, nan_policy="omit")
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(y, Y_NAN)
    np.testing.assert_array_equal(p0, [1.5, 1.0])
    np.testing.assert_array_equal(s1, SIGMA1)
    np.testing.assert_array_equal(s2, SIGMA2)


def test_model_exceptions_propagate():
    class Boom(Exception):
        pass

    def bad_model(x, a, b):
        raise Boom("model")

    def bad_jac(x, a, b):
        raise Boom("jac")

    with pytest.raises(Boom, match="model"):
        curve_fit(bad_model, X, Y)
    with pytest.raises(Boom, match="jac"):
        curve_fit(decay, X, Y, jac=bad_jac)


def test_signature_matches_scipy():
    """SciPy's parameters, in SciPy's order, plus lmfast's keyword-only `fixed`,
    `estimator`, `loss` and `f_scale`."""
    ours = inspect.signature(curve_fit).parameters
    extra = ("fixed", "estimator", "loss", "f_scale")
    for name in extra:
        assert ours[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert [p for name, p in ours.items() if name not in extra] == list(
        inspect.signature(SP).parameters.values())


def test_warning_and_error_classes_are_scipys_subclasses():
    from scipy.optimize._minpack import error as scipy_minpack_error

    assert OptimizeWarning.__bases__ == (scipy.optimize.OptimizeWarning,)
    assert lmfast.OptimizeWarning is OptimizeWarning
    assert lmfast.MinpackError.__bases__ == (scipy_minpack_error,)
    assert lmfast.curve_fit is curve_fit
    with pytest.warns(scipy.optimize.OptimizeWarning):  # as written for SciPy
        curve_fit(lambda x, a, b: a * x, X, Y)
    with pytest.raises(scipy_minpack_error, match="not a proper array of floats"):
        lmfast.leastsq(lambda p: [p[0], "text"], [1.0])


def _run_python(code):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_classes_without_scipy():
    out = _run_python(
        "import sys; sys.modules['scipy'] = None; import lmfast, warnings; "
        "print(lmfast.OptimizeWarning.__bases__[0].__name__, "
        "lmfast.MinpackError.__bases__[0].__name__)")
    assert out == ["UserWarning", "Exception"]


def test_covariance_warning_points_at_caller():
    with pytest.warns(OptimizeWarning, match="Covariance of the parameters") as record:
        _, pcov = curve_fit(lambda x, a, b: a * x, X, Y)
    assert record[0].filename == __file__
    assert np.all(np.isinf(pcov))


def test_returns_float64_arrays():
    popt, pcov = curve_fit(decay, X.astype(np.float32), Y.astype(np.float32), p0=[1, 1])
    assert popt.dtype == pcov.dtype == np.float64
    assert popt.shape == (2,) and pcov.shape == (2, 2)


# --------------------------------------------------------------------------------------
# Where lmfast differs from SciPy on purpose
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "trf"},
        {"method": "dogbox"},
        {"method": "trf", "bounds": (0, 10)},
        {"method": "dogbox", "bounds": scipy.optimize.Bounds([0, 0], [10, 10])},
    ],
)
def test_trf_and_dogbox_are_scipys_own(kwargs):
    """SciPy's bounded methods are SciPy's: lmfast hands the call over unchanged."""
    expected = SP(decay, X, Y, **kwargs, full_output=True)
    got = curve_fit(decay, X, Y, **kwargs, full_output=True)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[2]["nfev"] == expected[2]["nfev"] and got[4] == expected[4]


def test_scalar_sigma_with_jac():
    # SciPy 1.17 raises ValueError("expected square matrix") here (it hands the 0-d
    # 1/sigma to solve_triangular); lmfast scales the Jacobian like the residuals, which
    # is the fit SciPy gives for the same sigma written out as an array.
    with pytest.raises(ValueError, match="expected square matrix"):
        SP(decay, X, Y, sigma=2.0, jac=decay_jac)
    expected = SP(decay, X, Y, sigma=np.full(20, 2.0), jac=decay_jac)
    got = curve_fit(decay, X, Y, sigma=2.0, jac=decay_jac)
    assert_popt_close(got[0], expected[0], POPT_RTOL)
    assert_pcov_close(got[1], expected[1], PCOV_RTOL)


def test_nan_policy_with_non_array_xdata():
    # SciPy 1.17 fails with AttributeError whenever nan_policy is set and xdata is not a
    # list, tuple or array. lmfast checks ydata alone, and refuses to drop points it
    # cannot drop from xdata.
    with pytest.raises(AttributeError):
        SP(line_keyed, {"t": X}, 2 * X + 1, nan_policy="raise")
    popt, _ = curve_fit(line_keyed, {"t": X}, 2 * X + 1 + 0.1 * np.sin(X), nan_policy="raise")
    expected, _ = SP(line_keyed, {"t": X}, 2 * X + 1 + 0.1 * np.sin(X))
    assert_popt_close(popt, expected, POPT_RTOL)
    with pytest.raises(ValueError, match="The input contains nan values"):
        curve_fit(line_keyed, {"t": X}, _with(Y, 0, np.nan), nan_policy="raise")
    with pytest.raises(ValueError, match="needs `xdata` as a list, tuple or array"):
        curve_fit(line_keyed, {"t": X}, _with(Y, 0, np.nan), nan_policy="omit")


def test_nan_data_without_checks():
    """NaN data with check_finite=False: SciPy returns p0 with ier=4 and an infinite
    pcov (a meaningless fit); lmfast does the same, or raises with raise_nonfinite."""
    with np.errstate(invalid="ignore"), pytest.warns(scipy.optimize.OptimizeWarning):
        popt, pcov, infodict, mesg, ier = scipy.optimize.curve_fit(
            decay, X, Y_NAN, check_finite=False, full_output=True
        )
    assert ier == 4 and np.array_equal(popt, np.ones_like(popt))
    with np.errstate(invalid="ignore"), pytest.warns(lmfast.OptimizeWarning):
        got = lmfast.curve_fit(decay, X, Y_NAN, check_finite=False, full_output=True)
    assert got[4] == ier and got[3] == mesg and np.array_equal(got[0], popt)
    assert np.array_equal(got[1], pcov)
    assert got[2]["nfev"] == infodict["nfev"]
    assert np.array_equal(got[2]["fvec"], infodict["fvec"], equal_nan=True)
    with pytest.raises(ValueError, match="non-finite values"):
        lmfast.curve_fit(decay, X, Y_NAN, check_finite=False, raise_nonfinite=True)