"""Per-fit status of curve_fit_batch: a bad fit gets its own outcome, not an exception.

NaN in a fit's ydata, sigma or p0, a zero in its sigma, a non-finite model value at its
start: ier -2; a non-finite Jacobian: ier -3 (popt, pcov and chisq NaN in both). maxfev
reached: ier 5, popt leastsq's last iterate, pcov NaN. A singular Jacobian converges with
an infinite pcov, an infinite sigma is a point of weight 0, both as curve_fit; m < n is
ier 0 ("Improper input parameters.") for that fit. The other rows are bitwise what a
batch without the bad rows gives (and the inputs are not modified).
"""

import warnings

import numpy as np
import pytest
from batch_helpers import (
    PROBLEMS,
    SUCCESS,
    Batch,
    assert_bitwise,
    assert_consistent,
    assert_result_shapes,
    assert_row_is_single,
    check_against_singles,
    gaussian_jac,
    make_batch,
    np_gaussian,
    py_gaussian,
    py_gaussian_jac,
    run_batch,
    single_fit,
)
from helpers import assert_popt_close

import lmfast
from lmfast import curve_fit_batch, models

# --------------------------------------------------------------------------------------
# Per-fit status: a bad fit gets its own outcome and leaves its neighbours alone
# --------------------------------------------------------------------------------------


# A start from which the Gaussian fit needs ~22 evaluations with an analytic Jacobian
# (clean fits need ~5) and ~60 with forward differences (clean fits ~21): with these
# maxfev it stops with ier 5 (the premise is checked against lmfast.leastsq below).
SLOW_P0 = np.array([3.0, 3.0, 0.5, 0.5])
MAXFEV = {"compiled": 12, "python-jac": 12, "python-diff": 40}


def _poisoned_gaussian_batch(maxfev):
    """(clean batch, poisoned batch, {row in poisoned: kind}, clean row indices)."""
    clean = make_batch(PROBLEMS["gaussian"], 8, seed=41, sigma_form="per_fit")
    clean.kwargs["maxfev"] = maxfev
    m = clean.y.shape[1]
    x = clean.x
    kinds = ["nan_y", "nan_sigma", "nan_p0", "maxfev", "degenerate"]
    y_bad = np.tile(np_gaussian(x, 3.0, 0.4, 1.2, 0.5), (5, 1))
    sigma_bad = np.ones((5, m))
    p0_bad = np.tile([2.9, 0.35, 1.1, 0.45], (5, 1))
    y_bad[0, 7] = np.nan
    sigma_bad[1, 20] = np.nan
    p0_bad[2, 2] = np.nan
    p0_bad[3] = SLOW_P0
    y_bad[4] = 0.7  # constant data, start with amplitude 0: center and width drop out
    p0_bad[4] = [0.0, 0.3, 1.0, 0.7]
    # interleave: bad rows at 1, 3, 6, 7, 11 of 13
    order = "cbcbccbbcccbc"
    ys, ss, ps, row_kind, clean_rows = [], [], [], {}, []
    ci = bi = 0
    for r, o in enumerate(order):
        if o == "c":
            ys.append(clean.y[ci])
            ss.append(clean.sigma[ci])
            ps.append(clean.p0[ci])
            clean_rows.append(r)
            ci += 1
        else:
            ys.append(y_bad[bi])
            ss.append(sigma_bad[bi])
            ps.append(p0_bad[bi])
            row_kind[r] = kinds[bi]
            bi += 1
    poisoned = Batch(x, np.array(ys), np.array(ps), np.array(ss), kwargs=dict(clean.kwargs))
    return clean, poisoned, row_kind, clean_rows


def _check_maxfev_row(res, r, batch, maxfev, jac_given):
    """ier 5: popt is leastsq's last iterate, pcov NaN, chisq at popt."""
    x, y, p0, sigma = batch.single(r)

    def resid(p):
        return (np_gaussian(x, *p) - y) / sigma

    def dres(p):
        return gaussian_jac(x, *p) / sigma[:, None]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, _, info, mesg, ier = lmfast.leastsq(
            resid, p0, Dfun=dres if jac_given else None, full_output=True, maxfev=maxfev
        )
    assert ier == 5  # the premise
    assert res.ier[r] == 5
    assert res.nfev[r] == info["nfev"]
    assert res.message(r) == mesg == f"Number of calls to function has reached maxfev = {maxfev}."
    assert_popt_close(res.popt[r], popt, 1e-8)
    assert np.all(np.isnan(res.pcov[r]))
    assert res.chisq[r] == pytest.approx(np.sum(resid(res.popt[r]) ** 2), rel=1e-10)


@pytest.mark.parametrize("path", ["compiled", "python-diff", "python-jac"])
def test_poisoned_fits_get_own_status(path):
    maxfev = MAXFEV[path]
    clean, poisoned, row_kind, clean_rows = _poisoned_gaussian_batch(maxfev)
    if path == "compiled":
        f, jac, single_jac = models.gaussian, None, models.gaussian.jac
    elif path == "python-diff":
        f, jac, single_jac = py_gaussian, None, None
    else:
        f, jac, single_jac = py_gaussian, py_gaussian_jac, py_gaussian_jac
    before = poisoned.copy()
    res_clean = run_batch(f, clean, jac=jac)
    res = run_batch(f, poisoned, jac=jac)
    assert_result_shapes(res, 13, 4)
    assert_consistent(res)
    # Neighbours: bitwise what the batch without the bad rows gives; and those are right.
    assert np.all(res_clean.success)
    assert_bitwise(res, res_clean, np.array(clean_rows), slice(None))
    check_against_singles(f, clean, res_clean, single_jac=single_jac, njev=jac is not None)
    # The bad rows.
    for r, kind in row_kind.items():
        msg = res.message(r)
        assert isinstance(msg, str) and msg, (kind, msg)
        assert res.success[r] == (kind == "degenerate"), kind
        if kind in ("nan_y", "nan_sigma", "nan_p0"):
            assert res.ier[r] == -2, (kind, res.ier[r])
            assert np.all(np.isnan(res.popt[r])), kind
            assert np.all(np.isnan(res.pcov[r])), kind
            assert np.isnan(res.chisq[r]), kind
        elif kind == "maxfev":
            _check_maxfev_row(res, r, poisoned, maxfev, jac_given=path != "python-diff")
        else:  # degenerate: converged, singular Jacobian -> pcov inf, as curve_fit
            ref = single_fit(f, poisoned, r, jac=single_jac)
            assert ref.ier in SUCCESS and np.all(np.isinf(ref.pcov))  # the premise
            assert_row_is_single(res, r, ref, njev=jac is not None)
    np.testing.assert_array_equal(poisoned.y, before.y, strict=True)
    np.testing.assert_array_equal(poisoned.p0, before.p0, strict=True)
    np.testing.assert_array_equal(poisoned.sigma, before.sigma, strict=True)


# name -> (sigma value, seed, row, point): the one sigma of the batch set to that value
BAD_SIGMA = {
    "inf": (np.inf, 44, 2, 20),
    "zero": (0.0, 45, 1, 7),
}


@pytest.mark.parametrize("path", ["compiled", "python"])
@pytest.mark.parametrize(
    "case",
    [
        "inf",
        pytest.param(
            "zero", marks=pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
        ),
    ],
)
def test_inf_or_zero_in_sigma_row(case, path):
    # An infinite sigma is a point of weight 1/inf = 0, exactly as in curve_fit: that fit
    # equals lmfast.curve_fit on it alone (and converges). A zero sigma is an infinite
    # residual at p0: ier -2 for that fit only. Either way the others are untouched.
    value, seed, row, point = BAD_SIGMA[case]
    batch = make_batch(PROBLEMS["gaussian"], 5, seed=seed, sigma_form="per_fit")
    batch.sigma[row, point] = value
    f = models.gaussian if path == "compiled" else py_gaussian
    res = run_batch(f, batch)
    others = [i for i in range(5) if i != row]
    expected = curve_fit_batch(f, batch.x, batch.y[others], batch.p0[others],
                               sigma=batch.sigma[others])
    assert_bitwise(res, expected, np.array(others))
    if case == "inf":
        ref = single_fit(f, batch, row, jac=models.gaussian.jac if path == "compiled" else None)
        assert_row_is_single(res, row, ref)
        assert res.success[row]
    else:
        assert res.ier[row] == -2
        assert np.all(np.isnan(res.popt[row])) and np.all(np.isnan(res.pcov[row]))
        assert np.isnan(res.chisq[row]) and not res.success[row]


def test_non_finite_jacobian_row():
    # A Python jac returning NaN for one fit: ier -3, popt/pcov/chisq NaN; others untouched.
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=42)
    batch.p0[3, 0] = 50.0  # amplitude 50 marks the fit whose Jacobian is NaN

    def jac(x, a, c, s, o):
        J = np.array(py_gaussian_jac(x, a, c, s, o))
        J[np.broadcast_to(np.asarray(a) > 20, J.shape[:-1])] = np.nan
        return J

    res = curve_fit_batch(py_gaussian, *batch.args(), jac=jac)
    assert res.ier[3] == -3
    assert np.all(np.isnan(res.popt[3])) and np.all(np.isnan(res.pcov[3]))
    assert np.isnan(res.chisq[3])
    others = [0, 1, 2, 4, 5]
    ok = Batch(batch.x, batch.y[others], batch.p0[others])
    assert_bitwise(res, curve_fit_batch(py_gaussian, *ok.args(), jac=jac), np.array(others))


def test_non_finite_model_value_row():
    # A Python model giving inf for one fit's start: ier -2, the others untouched.
    batch = make_batch(PROBLEMS["gaussian"], 5, seed=43)
    batch.p0[1, 3] = 1e308  # a finite start where this model is infinite

    def model(x, a, c, s, o):
        out = py_gaussian(x, a, c, s, o)
        return np.where(np.asarray(o) > 1e300, np.inf, out)

    res = curve_fit_batch(model, *batch.args())
    assert res.ier[1] == -2
    assert np.all(np.isnan(res.popt[1])) and np.isnan(res.chisq[1])
    others = [0, 2, 3, 4]
    expected = curve_fit_batch(model, batch.x, batch.y[others], batch.p0[others])
    assert_bitwise(res, expected, np.array(others))
