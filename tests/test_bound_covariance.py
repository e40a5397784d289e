"""pcov of a bounded fit: the covariance in the user's parameters at popt.

A bounded ``curve_fit`` (finite bounds, method None or 'lm') returns SciPy's bounded
convention: the covariance from the Jacobian of the model in the user's parameters at
``popt``, ``inv(J^T J) * chisq / (m - n)``, whatever change of variables the iteration
used.  A parameter that ends on its bound keeps a finite error (the curvature of chi-square
there) and the other parameters' errors are those of the full Jacobian; no
``OptimizeWarning``.  ``infodict['at_bound']`` (and ``BatchResult.at_bound``) says which
parameters ended on a bound.

References are SciPy's ``curve_fit(..., bounds=..., method='trf')`` run to tight
tolerances, and that formula written out here with the model's analytic Jacobian (at
lmfast's own popt).  Which parameters are on a bound is read from SciPy's popt.  That the
inactive case agrees with lmfit is test_bounds.py's business and is not repeated here.
"""

import warnings

import numpy as np
import pytest
import scipy.optimize
from helpers import assert_pcov_close, assert_popt_close

from lmfast import OptimizeWarning, curve_fit, curve_fit_batch, lineshapes

# --------------------------------------------------------------------------------------
# The reference case: an area-normalised Gaussian on an offset bounded below at 0.05;
# the true offset is 0, so the offset ends on its lower bound for every seed.
# --------------------------------------------------------------------------------------

X = np.linspace(-10.0, 10.0, 201)
TRUTH = (5.0, 0.2, 1.0, 0.0)
P0 = (3.0, 0.0, 2.0, 0.5)
BOUNDS = ([0.0, -1.0, 0.1, 0.05], [20.0, 1.0, 3.0, 2.0])
SEEDS = range(12)
TRF_TIGHT = {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-12}
PERR_RTOL = 1e-3  # lmfast's perr against SciPy's trf
FORMULA_RTOL = 1e-5  # lmfast's pcov against the formula at its own popt (pcov's scale)
# popt: the same minimum as trf (lmfast's default tolerances stop within 1e-4 of it;
# with LMFAST_TIGHT within 1e-5, test_bounds.py's TRF_POPT_RTOL)
POPT_RTOL, TIGHT_POPT_RTOL = 1e-4, 1e-5
LMFAST_TIGHT = {"ftol": 1e-12, "xtol": 1e-12}


def g(x, A, c, s, b):
    """The Python (NumPy) model: lmfast.lineshapes.gaussian plus a constant."""
    return lineshapes.gaussian(x, A, c, s) + b


def g_jac(x, A, c, s, b):
    """Analytic Jacobian of g, (m, 4), written from the formula."""
    d = x - c
    e = np.exp(-(d**2) / (2 * s**2)) / (np.sqrt(2 * np.pi) * s)
    return np.column_stack([e, A * e * d / s**2, A * e * (d**2 / s**3 - 1 / s),
                            np.ones_like(x)])


def compiled():
    """The same formula as a compiled composite model."""
    return lineshapes.model("gaussian") + lineshapes.model("constant")


MODELS = {"python": g, "compiled": compiled()}


def data(seed):
    return g(X, *TRUTH) + np.random.default_rng(seed).normal(0.0, 0.05, X.size)


def scipy_fit(y, bounds=BOUNDS, p0=P0):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SciPy's side of the case needs no warning either
        return scipy.optimize.curve_fit(g, X, y, p0, bounds=bounds, method="trf", **TRF_TIGHT)


def lmfast_fit(f, y, bounds=BOUNDS, p0=P0, **kwargs):
    """lmfast.curve_fit(full_output=True), and the OptimizeWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = curve_fit(f, X, y, p0, bounds=bounds, full_output=True, **kwargs)
    return out, [w for w in caught if issubclass(w.category, OptimizeWarning)]


def formula_pcov(popt, y):
    """inv(J^T J) * chisq / (m - n), J the model's Jacobian in the user's parameters."""
    J = g_jac(X, *popt)
    r = g(X, *popt) - y
    return np.linalg.inv(J.T @ J) * (r @ r) / (X.size - popt.size)


def on_bound(popt, bounds):
    """Which entries of a (SciPy) popt sit on a bound, to 1e-10 of the bound's scale."""
    lb, ub = (np.asarray(b, dtype=float) for b in bounds)
    tol = 1e-10 * np.maximum(1.0, np.abs(popt))
    return (np.abs(popt - lb) <= tol) | (np.abs(popt - ub) <= tol)


def test_reference_case_is_what_it_claims():
    """SciPy's side: the offset ends on its lower bound (0.05) for every seed, with a
    standard error near 0.005 (0.0051-0.0062 over the seeds); the others inside."""
    for seed in SEEDS:
        popt, pcov = scipy_fit(data(seed))
        np.testing.assert_array_equal(on_bound(popt, BOUNDS), [False, False, False, True])
        perr = np.sqrt(np.diag(pcov))
        assert 0.004 < perr[3] < 0.007, (seed, perr)
        # SciPy's pcov is the formula (at its popt)
        assert_pcov_close(pcov, formula_pcov(popt, data(seed)), 1e-6)


@pytest.mark.parametrize("how", list(MODELS))
@pytest.mark.parametrize("seed", SEEDS)
def test_parameter_on_its_bound_has_scipys_errors(seed, how):
    """Every parameter's standard error is SciPy's (1e-3), the one on the bound included,
    without an OptimizeWarning; the whole pcov too, popt is SciPy's and at_bound says
    the offset is on its bound."""
    y = data(seed)
    want_popt, want_pcov = scipy_fit(y)
    (popt, pcov, info, _, ier), warned = lmfast_fit(MODELS[how], y)
    assert ier in (1, 2, 3, 4)
    assert not warned, [str(w.message) for w in warned]
    assert np.all(np.isfinite(pcov))
    assert_popt_close(popt, want_popt, POPT_RTOL)
    np.testing.assert_allclose(np.sqrt(np.diag(pcov)), np.sqrt(np.diag(want_pcov)),
                               rtol=PERR_RTOL)
    assert_pcov_close(pcov, want_pcov, PERR_RTOL)
    np.testing.assert_array_equal(info["at_bound"], [False, False, False, True])


@pytest.mark.parametrize("how", list(MODELS))
def test_pcov_is_the_formula_at_popt(how):
    """At lmfast's own popt: inv(J^T J) chisq / (m - n) from the analytic Jacobian in the
    user's parameters (n counts the parameter on its bound: it is not fixed)."""
    for seed in (0, 2, 5):
        y = data(seed)
        (popt, pcov, *_), _ = lmfast_fit(MODELS[how], y)
        assert_pcov_close(pcov, formula_pcov(popt, y), FORMULA_RTOL)


# Other bounds of the same data: which parameter ends on which bound.
CASES = {
    # the reference: the offset on a two-sided box's lower side
    "lower-two-sided": BOUNDS,
    # the offset on a one-sided lower bound (the square-root transform)
    "lower-one-sided": ([-np.inf, -np.inf, -np.inf, 0.05], [np.inf] * 4),
    # the width (truth 1) on its upper bound, the offset free (p0's width 0.8)
    "upper-two-sided": ([0.0, -1.0, 0.1, -1.0], [20.0, 1.0, 0.9, 2.0]),
    # the centre (truth 0.2) on an upper bound and the offset on its lower bound
    "two-on-bounds": ([0.0, -1.0, 0.1, 0.05], [20.0, 0.15, 3.0, 2.0]),
    # nothing active
    "inactive": ([0.0, -1.0, 0.1, -1.0], [20.0, 1.0, 3.0, 2.0]),
}
EXPECTED_AT = {
    "lower-two-sided": [False, False, False, True],
    "lower-one-sided": [False, False, False, True],
    "upper-two-sided": [False, False, True, False],
    "two-on-bounds": [False, True, False, True],
    "inactive": [False, False, False, False],
}


@pytest.mark.parametrize("how", list(MODELS))
@pytest.mark.parametrize("case", list(CASES))
def test_at_bound_and_pcov_for_each_kind_of_bound(case, how):
    """infodict['at_bound'] is a bool (n,) array: the parameters SciPy's popt has on a
    bound; pcov is SciPy's."""
    bounds = CASES[case]
    p0 = (3.0, 0.0, 0.8, 0.5) if case == "upper-two-sided" else P0
    y = data(3)
    want_popt, want_pcov = scipy_fit(y, bounds, p0)
    np.testing.assert_array_equal(on_bound(want_popt, bounds), EXPECTED_AT[case])
    (popt, pcov, info, _, _), warned = lmfast_fit(MODELS[how], y, bounds, p0, **LMFAST_TIGHT)
    assert not warned
    at = info["at_bound"]
    assert isinstance(at, np.ndarray) and at.dtype == np.bool_ and at.shape == (4,)
    np.testing.assert_array_equal(at, EXPECTED_AT[case])
    assert_popt_close(popt, want_popt, TIGHT_POPT_RTOL)
    assert_pcov_close(pcov, want_pcov, PERR_RTOL)


@pytest.mark.parametrize("how", list(MODELS))
def test_inactive_bounds_give_the_unbounded_pcov(how):
    """Bounds that stay inactive change nothing in pcov (both fits run to tight
    tolerances: the unbounded pcov is MINPACK's, from the last Jacobian of the
    iteration), and at_bound is all False."""
    y = data(4)
    (popt, pcov, info, _, _), warned = lmfast_fit(MODELS[how], y, CASES["inactive"],
                                                  **LMFAST_TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        free_popt, free_pcov = curve_fit(MODELS[how], X, y, P0, **LMFAST_TIGHT)
    assert not warned
    assert_popt_close(popt, free_popt, TIGHT_POPT_RTOL)
    assert_pcov_close(pcov, free_pcov, 1e-4)
    assert not info["at_bound"].any()


@pytest.mark.parametrize("how", list(MODELS))
def test_fixed_parameters_are_not_at_a_bound(how):
    """A fixed parameter is never 'at a bound', even held exactly on one; the free
    parameters' pcov is SciPy's fit of the reduced model (the fixed one substituted)."""
    y = data(6)
    # the offset held at 0.05, its lower bound; the amplitude held inside its bounds
    p0 = (4.8, 0.0, 2.0, 0.05)
    fixed = [True, False, False, True]
    (popt, pcov, info, _, _), warned = lmfast_fit(MODELS[how], y, p0=p0, fixed=fixed)
    assert not warned
    np.testing.assert_array_equal(info["at_bound"], [False, False, False, False])
    np.testing.assert_array_equal(popt[[0, 3]], [4.8, 0.05])
    assert np.all(pcov[[0, 3], :] == 0.0) and np.all(pcov[:, [0, 3]] == 0.0)

    def reduced(x, c, s):
        return g(x, 4.8, c, s, 0.05)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        want_popt, want_pcov = scipy.optimize.curve_fit(
            reduced, X, y, [0.0, 2.0], bounds=([-1.0, 0.1], [1.0, 3.0]), method="trf",
            **TRF_TIGHT)
    assert_popt_close(popt[1:3], want_popt, POPT_RTOL)
    assert_pcov_close(pcov[1:3, 1:3], want_pcov, PERR_RTOL)
    # a fixed amplitude next to a free offset that ends on its bound: only the offset
    def three(x, c, s, b):
        return g(x, 4.8, c, s, b)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        want_popt, _ = scipy.optimize.curve_fit(
            three, X, y, [0.0, 2.0, 0.5], bounds=([-1.0, 0.1, 0.05], [1.0, 3.0, 2.0]),
            method="trf", **TRF_TIGHT)
    np.testing.assert_array_equal(on_bound(want_popt, ([-1.0, 0.1, 0.05], [1.0, 3.0, 2.0])),
                                  [False, False, True])
    (_, _, info, _, _), _ = lmfast_fit(MODELS[how], y, p0=(4.8, 0.0, 2.0, 0.5),
                                       fixed=[True, False, False, False])
    np.testing.assert_array_equal(info["at_bound"], [False, False, False, True])


# --------------------------------------------------------------------------------------
# Batches: the 12 seeds as rows
# --------------------------------------------------------------------------------------

Y_ROWS = np.array([data(seed) for seed in SEEDS])


def test_compiled_batch_pcov_and_at_bound_are_single_curve_fit_bit_for_bit():
    model = MODELS["compiled"]
    res = curve_fit_batch(model, X, Y_ROWS, P0, bounds=BOUNDS)
    assert res.success.all()
    assert res.at_bound.shape == (len(SEEDS), 4) and res.at_bound.dtype == np.bool_
    for i in range(len(SEEDS)):
        (popt, pcov, info, _, ier), _ = lmfast_fit(model, Y_ROWS[i], jac=model.jac)
        np.testing.assert_array_equal(res.popt[i], popt)
        np.testing.assert_array_equal(res.pcov[i], pcov)
        np.testing.assert_array_equal(res.at_bound[i], info["at_bound"])
        np.testing.assert_array_equal(res.at_bound[i], [False, False, False, True])
        assert (res.ier[i], res.nfev[i]) == (ier, info["nfev"])
    np.testing.assert_array_equal(res.perr, np.sqrt(np.diagonal(res.pcov, axis1=1, axis2=2)))


def test_python_batch_pcov_and_at_bound_are_single_curve_fit():
    res = curve_fit_batch(g, X, Y_ROWS, P0, bounds=BOUNDS)
    assert res.success.all()
    assert res.at_bound.shape == (len(SEEDS), 4) and res.at_bound.dtype == np.bool_
    for i in range(len(SEEDS)):
        (popt, pcov, info, _, ier), _ = lmfast_fit(g, Y_ROWS[i])
        assert_popt_close(res.popt[i], popt, 1e-9)
        assert_pcov_close(res.pcov[i], pcov, 1e-8)
        np.testing.assert_array_equal(res.at_bound[i], info["at_bound"])
        np.testing.assert_array_equal(res.at_bound[i], [False, False, False, True])
        assert (res.ier[i], res.nfev[i]) == (ier, info["nfev"])


def test_batch_perr_at_the_bound_is_scipys_on_every_row():
    """The batch directly against SciPy (both models), the row where a single fit once
    gave an all-inf pcov (seed 2) included."""
    want = np.array([np.sqrt(np.diag(scipy_fit(y)[1])) for y in Y_ROWS])
    for model in MODELS.values():
        with warnings.catch_warnings():
            warnings.simplefilter("error", OptimizeWarning)
            res = curve_fit_batch(model, X, Y_ROWS, P0, bounds=BOUNDS)
        assert np.all(np.isfinite(res.pcov))
        np.testing.assert_allclose(res.perr, want, rtol=PERR_RTOL)


def test_unbounded_batch_at_bound_is_all_false():
    res = curve_fit_batch(MODELS["compiled"], X, Y_ROWS[:3], P0)
    assert res.at_bound.shape == (3, 4) and res.at_bound.dtype == np.bool_
    assert not res.at_bound.any()
