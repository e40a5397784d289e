"""BatchResult as people use it: parameter names, ``result[i]``, subsets, ``summary()``,
``to_pandas()``, ``to_xarray()``, and ``fixed=`` by name for a plain Python function.

Every number is checked against scipy.optimize.curve_fit on the same fit, or against
what the data make true by construction (which fits are NaN, which parameter is pressed
against its bound).
"""

import sys

import numpy as np
import pytest
import scipy.optimize

import lmfast
from lmfast import curve_fit_batch, models

X = np.linspace(-4, 4, 81)
AMPLITUDES = np.array([1.0, 1.6, 2.2, 2.8, 3.4])


def gauss(x, amplitude, center, sigma, offset):
    return amplitude * np.exp(-0.5 * ((x - center) / sigma) ** 2) + offset


def _data(seed=1):
    rng = np.random.default_rng(seed)
    rows = [gauss(X, a, 0.2 + 0.1 * k, 0.9, 0.3) for k, a in enumerate(AMPLITUDES)]
    return np.array(rows) + 0.02 * rng.standard_normal((len(AMPLITUDES), X.size))


P0 = [2.0, 0.0, 1.0, 0.0]


def _scipy(y, f=gauss, p0=P0, **kwargs):
    popt, pcov = scipy.optimize.curve_fit(f, X, y, p0, **kwargs)
    return popt, pcov


# --------------------------------------------------------------------------------------
# param_names
# --------------------------------------------------------------------------------------


def test_param_names_of_a_model_a_signature_and_star_args():
    y = _data()
    assert curve_fit_batch(models.gaussian, X, y, P0).param_names == (
        "amplitude", "center", "sigma", "offset")
    assert curve_fit_batch(gauss, X, y, P0).param_names == (
        "amplitude", "center", "sigma", "offset")

    def line(x, slope, intercept, unused=0.0):
        return slope * x + intercept

    # p0 of length 2: the first two arguments after x (the third keeps its default)
    assert curve_fit_batch(line, X, y, [1.0, 0.0]).param_names == ("slope", "intercept")

    def poly(x, *c):
        return sum(ck * x**k for k, ck in enumerate(c))

    assert curve_fit_batch(poly, X, y, [0.0, 0.0, 0.0]).param_names == ("p0", "p1", "p2")


def test_fixed_by_name_for_a_plain_function_matches_scipy_with_that_parameter_held():
    y = _data()

    def lorentz(x, amplitude, center, gamma, offset):
        return amplitude / (1 + ((x - center) / gamma) ** 2) + offset

    gamma = 1.3
    res = curve_fit_batch(lorentz, X, y, [2.0, 0.0, gamma, 0.0], fixed=["gamma"])
    for i in range(len(y)):
        ref, _ = scipy.optimize.curve_fit(
            lambda x, a, c, o: lorentz(x, a, c, gamma, o), X, y[i], [2.0, 0.0, 0.0])
        np.testing.assert_allclose(res.popt[i, [0, 1, 3]], ref, rtol=1e-6)
        assert res.popt[i, 2] == gamma
    single, _ = lmfast.curve_fit(lorentz, X, y[0], [2.0, 0.0, gamma, 0.0], fixed="gamma")
    np.testing.assert_allclose(single[[0, 1, 3]], scipy.optimize.curve_fit(
        lambda x, a, c, o: lorentz(x, a, c, gamma, o), X, y[0], [2.0, 0.0, 0.0])[0],
        rtol=1e-6)
    with pytest.raises(ValueError, match=r"unknown parameters \['width'\].*'gamma'"):
        curve_fit_batch(lorentz, X, y, [2.0, 0.0, gamma, 0.0], fixed=["width"])


def test_fixed_by_name_for_star_args_uses_the_p_names():
    y = _data()

    def model(x, *p):
        return gauss(x, *p)

    res = curve_fit_batch(model, X, y, [2.0, 0.0, 0.9, 0.0], fixed=["p2"])
    ref, _ = scipy.optimize.curve_fit(lambda x, a, c, o: gauss(x, a, c, 0.9, o), X, y[1],
                                      [2.0, 0.0, 0.0])
    np.testing.assert_allclose(res.popt[1, [0, 1, 3]], ref, rtol=1e-6)
    with pytest.raises(ValueError, match=r"unknown parameters \['sigma'\].*'p0', 'p1'"):
        curve_fit_batch(model, X, y, [2.0, 0.0, 0.9, 0.0], fixed=["sigma"])


# --------------------------------------------------------------------------------------
# result[i] and subsets
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("i", [0, 3, -1, -5, np.int64(2)])
def test_one_fit_equals_scipys_fit_of_that_row(i):
    y = _data()
    res = curve_fit_batch(gauss, X, y, P0)
    fit = res[i]
    row = int(i) % len(y)
    popt, pcov = _scipy(y[row])
    assert fit.fit == row
    assert fit.param_names == ("amplitude", "center", "sigma", "offset")
    np.testing.assert_allclose(fit.popt, popt, rtol=1e-6)
    np.testing.assert_allclose(fit.pcov, pcov, rtol=1e-4)
    np.testing.assert_allclose(fit.perr, np.sqrt(np.diag(pcov)), rtol=1e-4)
    np.testing.assert_allclose(fit.chisq, np.sum((gauss(X, *popt) - y[row]) ** 2), rtol=1e-8)
    assert fit.success is True and fit.ier in (1, 2, 3, 4)
    assert fit.message.startswith(("Both actual", "The relative error", "The cosine"))
    assert fit.params() == dict(zip(fit.param_names, fit.popt.tolist(), strict=True))
    assert isinstance(fit.nfev, int) and fit.nfev > 0
    text = repr(fit)
    assert f"fit {row}" in text and "amplitude" in text and "at a bound" not in text
    # copied out: changing the fit's arrays leaves the batch alone
    fit.popt[:] = 0.0
    assert res.popt[row, 0] != 0.0


def test_index_errors_name_the_range():
    res = curve_fit_batch(gauss, X, _data(), P0)
    with pytest.raises(IndexError, match=r"fit 5 is out of range .* 5 fits \(valid: -5 to 4\)"):
        res[5]
    with pytest.raises(IndexError, match=r"fit -6 is out of range"):
        res[-6]
    with pytest.raises(IndexError, match=r"fit 7 is out of range"):
        res[[0, 7]]
    with pytest.raises(IndexError, match=r"boolean mask must have shape \(5,\)"):
        res[np.array([True, False])]
    with pytest.raises(TypeError, match="not by a bool"):
        res[True]
    with pytest.raises(TypeError, match="fit number"):
        res[np.array([0.5, 1.0])]
    with pytest.raises(TypeError, match="fit number"):
        res["amplitude"]


def test_slices_masks_and_index_arrays_give_the_selected_fits():
    y = _data()
    res = curve_fit_batch(gauss, X, y, P0)
    mask = np.array([True, False, True, False, True])
    for key, rows in ((slice(1, None, 2), [1, 3]), (mask, [0, 2, 4]), ([4, -5], [4, 0]),
                      (np.array([], dtype=int), [])):
        sub = res[key]
        assert isinstance(sub, lmfast.BatchResult)
        assert len(sub) == len(rows)
        np.testing.assert_array_equal(sub.fit_index, rows)
        assert sub.param_names == res.param_names
        for k, row in enumerate(rows):
            np.testing.assert_allclose(sub.popt[k], _scipy(y[row])[0], rtol=1e-6)
            assert sub[k].fit == row
    assert [fit.fit for fit in res] == [0, 1, 2, 3, 4]
    # a copy: the subset's arrays are its own
    sub = res[mask]
    sub.popt[:] = 0.0
    assert (res.popt != 0.0).all()


def test_p0_outside_bounds_message_survives_subsetting():
    y = _data()
    p0 = np.tile(P0, (5, 1))
    p0[3, 2] = 9.0  # sigma outside [0.1, 5]
    bounds = ([-np.inf, -np.inf, 0.1, -np.inf], [np.inf, np.inf, 5.0, np.inf])
    res = curve_fit_batch(gauss, X, y, p0, bounds=bounds)
    with pytest.raises(ValueError, match="outside of provided bounds"):  # SciPy refuses it too
        scipy.optimize.curve_fit(gauss, X, y[3], p0[3], bounds=bounds)
    sub = res[~res.success]
    assert sub.fit_index.tolist() == [3]
    assert sub[0].message == ("p0 is outside the bounds: parameter 2 (sigma) = 9.0 is not "
                              "in [0.1, 5.0]")
    assert np.isnan(sub[0].popt).all()


# --------------------------------------------------------------------------------------
# summary, repr, at_bound
# --------------------------------------------------------------------------------------


def test_summary_counts_each_outcome_as_scipy_and_the_data_decide():
    y = _data()
    y[2, 5] = np.nan
    maxfev = 24  # some fits converge within it, one does not (SciPy says which)
    res = curve_fit_batch(gauss, X, y, P0, maxfev=maxfev)
    # SciPy's ier per fit on the finite rows, with the same maxfev
    scipy_ier = {}
    for i in (0, 1, 3, 4):
        *_, ier = scipy.optimize.leastsq(lambda p, i=i: gauss(X, *p) - y[i], P0,
                                         maxfev=maxfev, full_output=True)[:5]
        scipy_ier[i] = ier
    converged = sum(ier in (1, 2, 3, 4) for ier in scipy_ier.values())
    assert 0 < converged < 4  # a mix of outcomes to count
    text = res.summary()
    lines = text.splitlines()
    assert lines[0] == "BatchResult: 5 fits of 4 parameters (amplitude, center, sigma, offset)"
    assert lines[1] == f"converged: {converged} of 5 ({100 * converged / 5:.1f}%)"
    counts = {}
    for ier in [*scipy_ier.values(), int(res.ier[2])]:
        counts[ier] = counts.get(ier, 0) + 1
    assert res.ier[2] < 0  # the NaN row: its own code, no answer
    for ier, count in counts.items():
        line = next(line for line in lines if line.startswith(f"ier {ier}: "))
        assert line.startswith(f"ier {ier}: {count} fit{'s' if count > 1 else ''}: ")
        assert " ".join(res.message(int(np.flatnonzero(res.ier == ier)[0])).split()) in line
    assert lines[-1] == "at a bound: none"
    assert f"{converged} converged" in repr(res)


def test_at_bound_in_summary_repr_and_the_fit():
    y = _data()
    # amplitude capped at 2.0: the fits of true amplitude 2.2, 2.8 and 3.4 end on it
    lower, upper = [0.0, -2.0, 0.1, -1.0], [2.0, 2.0, 5.0, 1.0]
    res = curve_fit_batch(gauss, X, y, [1.0, 0.0, 1.0, 0.0], bounds=(lower, upper))
    ref = [scipy.optimize.curve_fit(gauss, X, y[i], [1.0, 0.0, 1.0, 0.0],
                                    bounds=(lower, upper))[0] for i in range(5)]
    pressed = [abs(r[0] - 2.0) < 1e-6 for r in ref]
    assert pressed == [False, False, True, True, True]
    np.testing.assert_array_equal(res.at_bound[:, 0], pressed)
    assert not res.at_bound[:, 1:].any()
    assert "at a bound: 3 fits (amplitude 3)" in res.summary()
    assert repr(res).endswith("3 with a parameter at a bound>")
    line = next(line for line in repr(res[4]).splitlines() if "amplitude" in line)
    assert line.endswith("(at a bound)") and "= 2 +/-" in line


def test_empty_batch():
    res = curve_fit_batch(gauss, X, np.empty((0, X.size)), P0)
    assert res.summary() == "BatchResult: 0 fits of 4 parameters (amplitude, center, sigma, offset)"
    with pytest.raises(IndexError, match="0 fits"):
        res[0]
    assert len(res[:]) == 0
    if _has("pandas"):
        assert len(res.to_pandas()) == 0
    if _has("xarray"):
        assert res.to_xarray().sizes["fit"] == 0


# --------------------------------------------------------------------------------------
# pandas and xarray
# --------------------------------------------------------------------------------------


def _has(package):
    try:
        __import__(package)
    except ImportError:
        return False
    return True


def test_to_pandas_has_a_column_per_parameter_and_its_error():
    pytest.importorskip("pandas", reason="pandas is not installed (the 'test' extra)")
    y = _data()
    res = curve_fit_batch(gauss, X, y, P0)
    table = res[[4, 1]].to_pandas()
    names = ["amplitude", "center", "sigma", "offset"]
    assert list(table.columns) == [*names, *(f"{n}_err" for n in names), "chisq", "ier",
                                   "nfev", "njev", "success", "n_at_bound"]
    assert table.index.name == "fit" and table.index.tolist() == [4, 1]
    for row in (4, 1):
        popt, pcov = _scipy(y[row])
        np.testing.assert_allclose(table.loc[row, names].to_numpy(float), popt, rtol=1e-6)
        np.testing.assert_allclose(table.loc[row, [f"{n}_err" for n in names]].to_numpy(float),
                                   np.sqrt(np.diag(pcov)), rtol=1e-4)
    assert table["success"].dtype == bool and table["success"].all()
    assert (table["n_at_bound"] == 0).all()


def test_to_xarray_has_a_fit_dimension_and_a_param_coordinate():
    pytest.importorskip("xarray", reason="xarray is not installed (the 'test' extra)")
    y = _data()
    ds = curve_fit_batch(gauss, X, y, P0).to_xarray()
    names = ["amplitude", "center", "sigma", "offset"]
    assert ds["popt"].dims == ("fit", "param")
    assert ds["pcov"].dims == ("fit", "cov_i", "cov_j")
    assert ds["param"].values.tolist() == names
    assert ds["fit"].values.tolist() == [0, 1, 2, 3, 4]
    popt, pcov = _scipy(y[2])
    np.testing.assert_allclose(ds["popt"].sel(fit=2).values, popt, rtol=1e-6)
    np.testing.assert_allclose(ds["pcov"].sel(fit=2, cov_i="sigma", cov_j="center").values,
                               pcov[2, 1], rtol=1e-4)
    np.testing.assert_allclose(ds["perr"].sel(param="sigma").values,
                               [np.sqrt(_scipy(y[i])[1][2, 2]) for i in range(5)], rtol=1e-4)
    for name in ("chisq", "ier", "nfev", "njev", "success", "at_bound"):
        assert ds[name].dims[0] == "fit"


@pytest.mark.parametrize(("method", "package"), [("to_pandas", "pandas"),
                                                 ("to_xarray", "xarray")])
def test_tables_without_their_package_raise_importerror(method, package, monkeypatch):
    res = curve_fit_batch(gauss, X, _data(), P0)
    monkeypatch.setitem(sys.modules, package, None)  # `import package` raises ImportError
    with pytest.raises(ImportError,
                       match=rf"{method}\(\) needs {package} \(pip install {package}\)"):
        getattr(res, method)()


def test_dask_result_keeps_the_names():
    da = pytest.importorskip("dask.array", reason="dask is not installed (the 'test' extra)")
    import lmfast.dask

    y = da.from_array(_data(), chunks=(2, X.size))
    lazy = lmfast.dask.curve_fit_batch(gauss, X, y, P0)
    assert lazy.param_names == ("amplitude", "center", "sigma", "offset")
    res = lazy.compute(scheduler="synchronous")
    assert res.param_names == lazy.param_names
    np.testing.assert_allclose(res[3].popt, _scipy(_data()[3])[0], rtol=1e-6)


def test_curve_fit_fixed_by_the_names_of_a_star_args_function():
    y = _data()[2]

    def model(x, *p):
        return gauss(x, *p)

    popt, _ = lmfast.curve_fit(model, X, y, [2.0, 0.0, 0.9, 0.0], fixed=["p2"])
    ref, _ = scipy.optimize.curve_fit(lambda x, a, c, o: gauss(x, a, c, 0.9, o), X, y,
                                      [2.0, 0.0, 0.0])
    np.testing.assert_allclose(popt[[0, 1, 3]], ref, rtol=1e-6)
    assert popt[2] == 0.9
