"""estimator='poisson': maximum likelihood for counts on the LM engine.

The optimum must be the minimum of the Poisson negative log-likelihood found
independently (SciPy's minimize, tight tolerances), pcov the inverse Fisher information
computed here from the model's Jacobian, compiled and Python models alike; a batch
equals its single fits; bad input is a clear error (batch: the fit's own status).
"""

import numpy as np
import pytest
import scipy.optimize

from lmfast import _defaults, _model_fit, curve_fit, curve_fit_batch, models
from lmfast._problem import POISSON, Problem


def np_gaussian(x, a, c, s, o):
    return a * np.exp(-((x - c) ** 2) / (2 * s**2)) + o


def np_gaussian_jac(x, a, c, s, o):
    e = np.exp(-((x - c) ** 2) / (2 * s**2))
    return np.stack([e, a * e * (x - c) / s**2, a * e * (x - c) ** 2 / s**3,
                     np.ones_like(e)], axis=-1)


def np_exponential(x, a, k, o):
    return a * np.exp(-k * x) + o


X = np.linspace(-5.0, 5.0, 48)
XE = np.linspace(0.0, 6.0, 40)


def _problems():
    """22 count problems: peaks from ~3 to ~200 counts on backgrounds down to 0.6 (about
    half the points zero counts there), and exponential decays onto 1 to 5 counts."""
    rng = np.random.default_rng(11)
    problems = []
    for k in range(14):
        truth = (rng.uniform(3, 200), rng.uniform(-1, 1), rng.uniform(0.6, 1.6),
                 rng.choice([0.6, 1.0, 2.0, 10.0]))
        y = rng.poisson(np_gaussian(X, *truth)).astype(float)
        p0 = np.array(truth) * rng.uniform(0.85, 1.15, 4)
        problems.append(("gaussian", np_gaussian, X, y, p0))
    for k in range(8):
        truth = (rng.uniform(5, 100), rng.uniform(0.3, 1.5), rng.choice([1.0, 2.0, 5.0]))
        y = rng.poisson(np_exponential(XE, *truth)).astype(float)
        p0 = np.array(truth) * rng.uniform(0.85, 1.15, 3)
        problems.append(("exponential", np_exponential, XE, y, p0))
    return problems


PROBLEMS = _problems()


def negative_log_likelihood(f, x, y):
    def nll(p):
        values = f(x, *p)
        if np.any(values <= 0) or not np.all(np.isfinite(values)):
            return np.inf
        return np.sum(values - y * np.log(values))
    return nll


def independent_mle(f, x, y, p0):
    """The NLL minimum by SciPy alone: Nelder-Mead, then BFGS polishing."""
    nll = negative_log_likelihood(f, x, y)
    first = scipy.optimize.minimize(nll, p0, method="Nelder-Mead",
                                    options={"xatol": 1e-12, "fatol": 1e-13, "maxiter": 40000,
                                             "maxfev": 80000})
    best = scipy.optimize.minimize(nll, first.x, method="BFGS", options={"gtol": 1e-9})
    return best.x if best.fun <= first.fun else first.x, nll


def test_problem_set_has_zero_counts():
    assert len(PROBLEMS) >= 20
    assert sum(np.any(p[3] == 0) for p in PROBLEMS) >= 5


@pytest.mark.parametrize("index", range(len(PROBLEMS)))
def test_optimum_is_the_independent_likelihood_maximum(index):
    name, f, x, y, p0 = PROBLEMS[index]
    ref, nll = independent_mle(f, x, y, p0)
    model = models.gaussian if name == "gaussian" else models.exponential
    for fn in (f, model):
        popt, _pcov = curve_fit(fn, x, y, p0, estimator="poisson", ftol=1e-14, xtol=1e-14)
        # lmfast's optimum is at least as likely, and the same point to 1e-6
        assert nll(popt) <= nll(ref) + 1e-9 * abs(nll(ref))
        np.testing.assert_allclose(popt, ref, rtol=1e-6, atol=1e-9 * np.max(np.abs(ref)))


def fisher(jac, f):
    info = jac.T @ (jac / f[:, np.newaxis])
    return np.linalg.inv(info)


@pytest.mark.parametrize("use_jac", [False, True])
def test_pcov_is_the_inverse_fisher_information(use_jac):
    _name, _f, x, y, p0 = PROBLEMS[0]
    jac = np_gaussian_jac if use_jac else None
    popt, pcov = curve_fit(np_gaussian, x, y, p0, estimator="poisson", jac=jac)
    want = fisher(np_gaussian_jac(x, *popt), np_gaussian(x, *popt))
    # forward differences: to 1e-6 of each entry's scale sqrt(C_ii C_jj)
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))
    assert np.all(np.abs(pcov - want) <= (1e-6 if jac is None else 1e-12) * scale)
    popt_c, pcov_c = curve_fit(models.gaussian, x, y, p0, estimator="poisson")
    want_c = fisher(np_gaussian_jac(x, *popt_c), np_gaussian(x, *popt_c))
    assert np.all(np.abs(pcov_c - want_c) <= 1e-9 * np.sqrt(np.outer(np.diag(want_c),
                                                                      np.diag(want_c))))


def test_deviance_residuals_and_chisq():
    """infodict['fvec'] of a compiled fit (the C residuals) are the deviance residuals
    sign(f - y) sqrt(2 (f - y - y ln(f/y))) at popt, and their sum of squares is the
    deviance 2 sum(f - y - y ln(f/y))."""
    _name, _f, x, y, p0 = PROBLEMS[1]
    popt, _, info, _, _ = curve_fit(models.gaussian, x, y, p0, estimator="poisson",
                                    full_output=True)
    values = models.gaussian(x, *popt)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(y / values), 0.0)
    want = np.sign(values - y) * np.sqrt(2 * (values - y + terms))
    np.testing.assert_allclose(info["fvec"], want, rtol=1e-9, atol=1e-12)
    deviance = 2 * np.sum(values - y + terms)
    np.testing.assert_allclose(info["fvec"] @ info["fvec"], deviance, rtol=1e-12)


def test_deviance_residual_keeps_its_digits_near_f_equal_y():
    """Near f == y the series keeps the residual exact: (f - y) / sqrt(y) (1 - t/3 ...),
    where the textbook formula loses every digit."""
    t = 2.0**-30
    problem = Problem(m=2, n=1, p0=np.ones(1), tolerances=_defaults.tolerances(
        1e-8, 1e-8, 0.0, 0, 1, True), epsfcn=0.0, factor=100.0, use_fd=True,
        ydata=np.ones(2), estimator=POISSON)
    small, slope, _ = _model_fit.estimator_values(problem, np.array([1.0 + t, 1.0 - t]))
    np.testing.assert_allclose(small, [t * (1 - t / 3), -t * (1 + t / 3)], rtol=1e-12)
    np.testing.assert_allclose(slope, [1 - 2 * t / 3, 1 + 2 * t / 3], rtol=1e-12)


def test_a_model_at_or_below_zero_is_a_rejected_step():
    """A line fitted from a start whose trial steps make it negative somewhere: those
    points are rejected steps (the model is never NaN-spread into the result), and the
    fit ends at the likelihood maximum."""
    rng = np.random.default_rng(3)
    x = np.linspace(0, 10, 30)
    y = rng.poisson(2 + 0.5 * x).astype(float)
    negative = []

    def line(x, a, b):
        values = a + b * x
        negative.append(bool(np.any(values <= 0)))
        return values

    popt, pcov = curve_fit(line, x, y, [20.0, -1.9], estimator="poisson", ftol=1e-12,
                           xtol=1e-12)
    assert any(negative), "the start should have led to a trial with the model <= 0"
    assert np.all(line(x, *popt) > 0) and np.all(np.isfinite(pcov))
    ref, _ = independent_mle(line, x, y, np.array([2.0, 0.5]))
    np.testing.assert_allclose(popt, ref, rtol=1e-6)


def test_bad_input_is_a_clear_error():
    _, f, x, y, p0 = PROBLEMS[0]
    with pytest.raises(ValueError, match="sigma"):
        curve_fit(f, x, y, p0, estimator="poisson", sigma=np.ones_like(y))
    for bad in (-1.0, 0.5, np.nan):
        yb = y.copy()
        yb[3] = bad
        with pytest.raises(ValueError, match="counts"):
            curve_fit(f, x, yb, p0, estimator="poisson", check_finite=False)
    with pytest.raises(ValueError, match="estimator"):
        curve_fit(f, x, y, p0, estimator="gauss")
    with pytest.raises(ValueError, match="sigma"):
        curve_fit_batch(models.gaussian, x, y[None], p0, estimator="poisson", sigma=1.0)


def _batch():
    rng = np.random.default_rng(21)
    n_fits = 40
    truth = np.column_stack([rng.uniform(5, 30, n_fits), rng.uniform(-1, 1, n_fits),
                             rng.uniform(0.7, 1.5, n_fits), rng.uniform(0.1, 2, n_fits)])
    y = rng.poisson(np_gaussian(X, *truth.T[:, :, None])).astype(float)
    return y, truth * rng.uniform(0.9, 1.1, truth.shape)


def test_compiled_batch_is_single_curve_fit_bit_for_bit():
    y, p0 = _batch()
    res = curve_fit_batch(models.gaussian, X, y, p0, estimator="poisson")
    assert res.success.all()
    for i in range(0, len(y), 5):
        popt, pcov, info, _, ier = curve_fit(models.gaussian, X, y[i], p0[i],
                                             estimator="poisson", jac=models.gaussian.jac,
                                             full_output=True)
        np.testing.assert_array_equal(res.popt[i], popt)
        np.testing.assert_array_equal(res.pcov[i], pcov)
        assert res.ier[i] == ier and res.nfev[i] == info["nfev"]
        assert res.chisq[i] == info["fvec"] @ info["fvec"]


def test_python_batch_is_single_curve_fit():
    y, p0 = _batch()
    res = curve_fit_batch(np_gaussian, X, y, p0, estimator="poisson", jac=np_gaussian_jac)
    for i in range(0, len(y), 7):
        popt, pcov = curve_fit(np_gaussian, X, y[i], p0[i], estimator="poisson",
                               jac=np_gaussian_jac)
        np.testing.assert_allclose(res.popt[i], popt, rtol=1e-9)
        np.testing.assert_allclose(res.pcov[i], pcov, rtol=1e-7)


def test_batch_row_that_is_not_counts_gets_its_own_status():
    y, p0 = _batch()
    bad = y.copy()
    bad[4, 2] = -1
    bad[9, 0] = 2.5
    res = curve_fit_batch(models.gaussian, X, bad, p0, estimator="poisson")
    clean = curve_fit_batch(models.gaussian, X, y, p0, estimator="poisson")
    assert res.ier[4] == res.ier[9] == -5 and "counts" in res.message(4)
    assert np.isnan(res.popt[[4, 9]]).all()
    others = np.setdiff1d(np.arange(len(y)), [4, 9])
    np.testing.assert_array_equal(res.popt[others], clean.popt[others])
    np.testing.assert_array_equal(res.pcov[others], clean.pcov[others])


def test_mle_is_unbiased_where_least_squares_is_not():
    """Low-count peaks (about 10 counts at the top, background 0.5): over 1,000 fits the
    Poisson MLE amplitude is unbiased within 1%; least squares weighted as counts usually
    are (sigma = sqrt(max(y, 1))) is biased low by several percent."""
    rng = np.random.default_rng(7)
    n_fits, truth = 1000, np.array([10.0, 0.0, 1.0, 0.5])
    y = rng.poisson(np_gaussian(X, *truth), (n_fits, X.size)).astype(float)
    mle = curve_fit_batch(models.gaussian, X, y, truth, estimator="poisson")
    lsq = curve_fit_batch(models.gaussian, X, y, truth, sigma=np.sqrt(np.maximum(y, 1)))
    bias_mle = np.mean(mle.popt[mle.success, 0]) / truth[0] - 1
    bias_lsq = np.mean(lsq.popt[lsq.success, 0]) / truth[0] - 1
    assert mle.success.mean() > 0.99 and lsq.success.mean() > 0.99
    assert abs(bias_mle) < 0.01
    assert bias_lsq < -0.03


def _low_background_problems():
    """Peaks on backgrounds of 0.05-0.3 counts: most off-peak points are zero counts."""
    rng = np.random.default_rng(11)
    problems = []
    for _ in range(20):
        truth = (rng.uniform(3, 200), rng.uniform(-1, 1), rng.uniform(0.6, 1.6),
                 rng.choice([0.05, 0.3]))
        y = rng.poisson(np_gaussian(X, *truth)).astype(float)
        problems.append((y, np.array(truth) * rng.uniform(0.85, 1.15, 4)))
    return problems


@pytest.mark.parametrize("index", range(20))
def test_low_backgrounds_with_a_physical_bound_reach_the_constrained_maximum(index):
    """Where nearly every count is 0, an unconstrained model's likelihood maximum can sit
    where the model touches 0 (a slightly negative offset): there the deviance residual
    sqrt(2 f) has an unbounded slope and LM stops short (documented).  With the
    background bounded at 0, as it physically is, the fit reaches the constrained
    maximum that L-BFGS-B finds independently."""
    y, p0 = _low_background_problems()[index]
    lower, upper = [0.0, -5.0, 0.05, 0.0], [np.inf, 5.0, 10.0, np.inf]

    def nll(p):
        values = np.maximum(np_gaussian(X, *p), 1e-300)
        return np.sum(values - y * np.log(values))

    ref = scipy.optimize.minimize(nll, p0, method="L-BFGS-B", bounds=list(zip(lower, upper)),
                                  options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    for f in (np_gaussian, models.gaussian):
        popt, _ = curve_fit(f, X, y, p0, estimator="poisson", bounds=(lower, upper),
                            ftol=1e-14, xtol=1e-14)
        assert nll(popt) <= ref.fun + 1e-6 * abs(ref.fun)


def _counting_problems():
    """Eight clean count problems: peaks of 20-80 counts on backgrounds of 2-5, starts
    within 10% of the truth (a few iterations each)."""
    rng = np.random.default_rng(8)
    truth = np.column_stack([rng.uniform(20, 80, 8), rng.uniform(-1, 1, 8),
                             rng.uniform(0.7, 1.4, 8), rng.uniform(2, 5, 8)])
    y = rng.poisson(np_gaussian(X, *truth.T[:, :, None])).astype(float)
    return y, truth * rng.uniform(0.9, 1.1, truth.shape)


def _deviance_leastsq(y, p0):
    """SciPy's leastsq on the deviance residuals, written out here, and their Jacobian."""
    def residuals(p):
        f = np_gaussian(X, *p)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y > 0, y * np.log(y / f), 0.0)
        return np.sign(f - y) * np.sqrt(np.maximum(2 * (f - y + terms), 0.0))

    def jacobian(p):
        f, r = np_gaussian(X, *p), residuals(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(r == 0, 1 / np.sqrt(y), (1 - y / f) / r)
        return slope[:, np.newaxis] * np_gaussian_jac(X, *p)

    return scipy.optimize.leastsq(residuals, p0, Dfun=jacobian, full_output=True)


@pytest.mark.parametrize("setting", ["poisson", "least_squares", "huber"])
def test_nfev_and_njev_are_the_same_on_every_path(setting):
    """A fit's (nfev, njev) do not depend on the path running it: the NumPy model with
    jac=, the compiled model with jac=models.gaussian.jac, each in curve_fit(full_output)
    and in curve_fit_batch (the Poisson covariance, formed in C for compiled models, is
    not counted as an evaluation).  They are MINPACK's counts: SciPy's leastsq on the
    deviance residuals (Poisson), SciPy's curve_fit with the same jac (least squares)."""
    kwargs = {"poisson": {"estimator": "poisson"}, "least_squares": {},
              "huber": {"loss": "huber", "f_scale": 3.0}}[setting]
    y, p0 = _counting_problems()
    batches = {
        "numpy batch": curve_fit_batch(np_gaussian, X, y, p0, jac=np_gaussian_jac, **kwargs),
        "compiled batch": curve_fit_batch(models.gaussian, X, y, p0, **kwargs),
    }
    for i in range(len(y)):
        counts = {name: (int(res.nfev[i]), int(res.njev[i])) for name, res in batches.items()}
        for name, f, jac in (("numpy curve_fit", np_gaussian, np_gaussian_jac),
                             ("compiled curve_fit", models.gaussian, models.gaussian.jac)):
            info = curve_fit(f, X, y[i], p0[i], jac=jac, full_output=True, **kwargs)[2]
            counts[name] = (info["nfev"], info["njev"])
        if setting == "poisson":
            info = _deviance_leastsq(y[i], p0[i])[2]
            counts["SciPy leastsq"] = (info["nfev"], info["njev"])
        elif setting == "least_squares":
            info = scipy.optimize.curve_fit(np_gaussian, X, y[i], p0[i], jac=np_gaussian_jac,
                                            full_output=True)[2]
            counts["SciPy curve_fit"] = (info["nfev"], info["njev"])
        assert len(set(counts.values())) == 1, (i, counts)
        assert all(res.success[i] for res in batches.values())
