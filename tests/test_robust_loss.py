"""Robust losses (``loss=``, ``f_scale=``) in lmfast's Levenberg-Marquardt.

The fit minimises SciPy's robust cost ``0.5 * f_scale**2 * sum(rho(z))``,
``z = (r / f_scale)**2`` (``r`` the weighted residuals), with SciPy's five ``rho``.
References are SciPy's own, never lmfast's:

* the minimum: ``scipy.optimize.least_squares(method='trf', loss=..., f_scale=...)`` run
  to tight tolerances (checked here to stop within 1e-7 of the minimum); lmfast, also
  run to tight tolerances, must end at the same point (1e-6) with a cost no higher;
* pcov: ``scipy.optimize.curve_fit(method='trf', loss=..., f_scale=...)``, that is
  ``inv(Jr^T Jr) * 2 cost / (m - n)`` with SciPy's robust Jacobian ``Jr`` (each row of J
  scaled by ``sqrt(max(rho' + 2 z rho'', eps))``), also written out below (1e-4);
* bounds: SciPy's trf with the same bounds; fixed parameters: SciPy fitting the reduced
  model with the fixed value substituted;
* ``rho`` and the cost: SciPy's definitions, written out here (``rho``) and checked against
  SciPy's reported cost;
* a batch: ``lmfast.curve_fit`` on each fit alone (bit for bit for a compiled model);
* the behaviour on data with cosmic-ray spikes: the true parameters.
"""

import warnings
from functools import cache

import numpy as np
import pytest
import scipy.optimize
from batch_helpers import gaussian_jac, np_gaussian
from helpers import assert_pcov_close, assert_popt_close

import lmfast
from lmfast import OptimizeWarning, curve_fit, curve_fit_batch, least_squares, models

LOSSES = ("soft_l1", "huber", "cauchy", "arctan")
F_SCALE = 0.1  # twice the noise: the spikes (2 to 5) are far outliers
X = np.linspace(-5.0, 5.0, 200)
TRUTH = (3.0, 0.3, 1.0, 0.2)  # amplitude, center, sigma, offset (models.gaussian's order)
P0 = (2.5, 0.0, 1.2, 0.0)
NOISE = 0.05
MODELS = {"python": np_gaussian, "compiled": models.gaussian}

TRF_TIGHT = {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-12}
LMFAST_TIGHT = {"ftol": 1e-12, "xtol": 1e-12}
POPT_RTOL = 1e-6  # lmfast vs trf, both tight
BOUNDED_POPT_RTOL = 1e-5  # with bounds (test_bounds.py's TRF_POPT_RTOL)
PCOV_RTOL = 1e-4
COST_RTOL = 1e-9  # lmfast's cost is no higher than trf's, to this


def spiky(seed):
    """The Gaussian of TRUTH with noise 0.05 and 5% of the points hit by a spike of +2
    to +5 (cosmic rays)."""
    rng = np.random.default_rng(seed)
    y = np_gaussian(X, *TRUTH) + rng.normal(0.0, NOISE, X.size)
    hit = rng.choice(X.size, X.size // 20, replace=False)
    y[hit] += rng.uniform(2.0, 5.0, hit.size)
    return y


# --------------------------------------------------------------------------------------
# SciPy's definitions, written out
# --------------------------------------------------------------------------------------


def rho(loss, z):
    """SciPy's rho(z) of each loss."""
    if loss == "linear":
        return z
    if loss == "soft_l1":
        return 2.0 * (np.sqrt(1.0 + z) - 1.0)
    if loss == "huber":
        return np.where(z <= 1.0, z, 2.0 * np.sqrt(z) - 1.0)
    if loss == "cauchy":
        return np.log1p(z)
    if loss == "arctan":
        return np.arctan(z)
    raise ValueError(loss)


def rho_derivatives(loss, z):
    """(rho'(z), rho''(z)) of each robust loss."""
    if loss == "soft_l1":
        return (1.0 + z) ** -0.5, -0.5 * (1.0 + z) ** -1.5
    if loss == "huber":
        big = z > 1.0
        zb = np.where(big, z, 1.0)
        return np.where(big, zb**-0.5, 1.0), np.where(big, -0.5 * zb**-1.5, 0.0)
    if loss == "cauchy":
        return 1.0 / (1.0 + z), -1.0 / (1.0 + z) ** 2
    if loss == "arctan":
        return 1.0 / (1.0 + z**2), -2.0 * z / (1.0 + z**2) ** 2
    raise ValueError(loss)


def robust_cost(loss, f_scale, r):
    """SciPy's cost: 0.5 f_scale^2 sum rho((r / f_scale)^2)."""
    return 0.5 * f_scale**2 * float(np.sum(rho(loss, (np.asarray(r) / f_scale) ** 2)))


def robust_pcov(loss, f_scale, popt, y, sigma=None):
    """SciPy's curve_fit pcov, written out: the robust Jacobian's inverse Gram matrix,
    scaled by 2 cost / (m - n)."""
    sigma = np.ones_like(y) if sigma is None else sigma
    r = (np_gaussian(X, *popt) - y) / sigma
    z = (r / f_scale) ** 2
    d1, d2 = rho_derivatives(loss, z)
    scale = np.maximum(d1 + 2.0 * z * d2, np.finfo(float).eps)
    J = gaussian_jac(X, *popt) / sigma[:, None] * np.sqrt(scale)[:, None]
    return np.linalg.inv(J.T @ J) * 2.0 * robust_cost(loss, f_scale, r) / (y.size - popt.size)


# --------------------------------------------------------------------------------------
# SciPy's fits, each computed once
# --------------------------------------------------------------------------------------


@cache
def trf_minimum(seed, loss, f_scale=F_SCALE):
    """least_squares(method='trf') on the residuals, analytic Jacobian, tight."""
    y = spiky(seed)
    return scipy.optimize.least_squares(
        lambda p: np_gaussian(X, *p) - y, P0, jac=lambda p: gaussian_jac(X, *p),
        method="trf", loss=loss, f_scale=f_scale, **TRF_TIGHT)


def trf_curve_fit(f, y, p0=P0, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimizeWarning)
        return scipy.optimize.curve_fit(f, X, y, p0, method="trf", **TRF_TIGHT, **kwargs)


def lmfast_fit(f, y, p0=P0, **kwargs):
    """lmfast.curve_fit(full_output=True); an OptimizeWarning is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimizeWarning)
        return curve_fit(f, X, y, p0, full_output=True, **kwargs)


def cost_function(loss, y):
    def cost(p):
        return robust_cost(loss, F_SCALE, np_gaussian(X, *p) - y)

    return cost


def test_reference_side_is_what_it_claims():
    """SciPy's trf (tight) stops at the minimum: within 1e-7 of a Nelder-Mead polish of
    the cost written out here (started 1% away), which equals SciPy's reported cost;
    SciPy's curve_fit pcov is the formula of robust_pcov."""
    for loss in LOSSES:
        res = trf_minimum(0, loss)
        y = spiky(0)
        cost = cost_function(loss, y)
        assert res.status > 0
        assert cost(res.x) == pytest.approx(res.cost, rel=1e-12)
        polish = scipy.optimize.minimize(cost, res.x * 1.01, method="Nelder-Mead",
                                         options={"xatol": 1e-11, "fatol": 1e-15,
                                                  "maxfev": 5000})
        assert polish.fun >= res.cost * (1 - 1e-12)
        assert_popt_close(polish.x, res.x, 1e-7)
        popt, pcov = trf_curve_fit(np_gaussian, y, loss=loss, f_scale=F_SCALE,
                                   jac=gaussian_jac)
        assert_popt_close(popt, res.x, 1e-7)
        assert_pcov_close(pcov, robust_pcov(loss, F_SCALE, popt, y), 1e-6)


# --------------------------------------------------------------------------------------
# 1. The minimum and the covariance are SciPy's
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("how", list(MODELS))
@pytest.mark.parametrize("loss", LOSSES)
def test_minimum_is_trfs(loss, how, seed):
    ref = trf_minimum(seed, loss)
    y = spiky(seed)
    popt, _pcov, _info, _, ier = lmfast_fit(MODELS[how], y, loss=loss, f_scale=F_SCALE,
                                            **LMFAST_TIGHT)
    assert ier in (1, 2, 3, 4)
    assert_popt_close(popt, ref.x, POPT_RTOL)
    cost = robust_cost(loss, F_SCALE, np_gaussian(X, *popt) - y)
    assert cost <= ref.cost * (1 + COST_RTOL), (cost, ref.cost)


@pytest.mark.parametrize("how", list(MODELS))
@pytest.mark.parametrize("loss", LOSSES)
def test_pcov_is_scipys_curve_fit(loss, how):
    y = spiky(0)
    want_popt, want_pcov = trf_curve_fit(np_gaussian, y, loss=loss, f_scale=F_SCALE,
                                         jac=gaussian_jac)
    popt, pcov, *_ = lmfast_fit(MODELS[how], y, loss=loss, f_scale=F_SCALE, **LMFAST_TIGHT)
    assert_popt_close(popt, want_popt, POPT_RTOL)
    assert_pcov_close(pcov, want_pcov, PCOV_RTOL)


@pytest.mark.parametrize("absolute_sigma", [False, True])
@pytest.mark.parametrize("how", list(MODELS))
@pytest.mark.parametrize("loss", ["soft_l1", "cauchy"])
def test_sigma_weights_as_scipy(loss, how, absolute_sigma):
    """1-D sigma: the loss acts on the weighted residuals (f_scale in their units); pcov
    scaled by 2 cost / (m - n), or not with absolute_sigma."""
    y = spiky(1)
    sigma = NOISE * (1.0 + 0.5 * np.abs(np.sin(X)))
    kw = {"sigma": sigma, "absolute_sigma": absolute_sigma, "loss": loss, "f_scale": 2.0}
    want_popt, want_pcov = trf_curve_fit(np_gaussian, y, jac=gaussian_jac, **kw)
    popt, pcov, *_ = lmfast_fit(MODELS[how], y, **kw, **LMFAST_TIGHT)
    assert_popt_close(popt, want_popt, POPT_RTOL)
    assert_pcov_close(pcov, want_pcov, PCOV_RTOL)
    formula = robust_pcov(loss, 2.0, want_popt, y, sigma)
    if absolute_sigma:  # not scaled: undo the factor 2 cost / (m - n)
        formula *= (y.size - 4) / (
            2.0 * robust_cost(loss, 2.0, (np_gaussian(X, *want_popt) - y) / sigma))
    assert_pcov_close(pcov, formula, PCOV_RTOL)


def test_default_f_scale_is_one():
    """f_scale omitted is 1.0 (SciPy's default), and the minimum is SciPy's there."""
    y = spiky(2)
    a = lmfast_fit(models.gaussian, y, loss="soft_l1", **LMFAST_TIGHT)
    b = lmfast_fit(models.gaussian, y, loss="soft_l1", f_scale=1.0, **LMFAST_TIGHT)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert_popt_close(a[0], trf_minimum(2, "soft_l1", 1.0).x, POPT_RTOL)


@pytest.mark.parametrize("how", list(MODELS))
def test_linear_loss_is_the_plain_fit_whatever_f_scale(how):
    """loss='linear' is the default: the same fit bit for bit, f_scale unused (SciPy
    ignores it for the linear loss)."""
    y = spiky(3)
    plain = lmfast_fit(MODELS[how], y)
    for kw in ({"loss": "linear"}, {"loss": "linear", "f_scale": 3.0}):
        got = lmfast_fit(MODELS[how], y, **kw)
        np.testing.assert_array_equal(got[0], plain[0])
        np.testing.assert_array_equal(got[1], plain[1])
        assert got[2]["nfev"] == plain[2]["nfev"]
    res = curve_fit_batch(MODELS[how], X, y[None], P0, loss="linear", f_scale=3.0)
    ref = curve_fit_batch(MODELS[how], X, y[None], P0)
    for name in ("popt", "pcov", "chisq", "nfev"):
        np.testing.assert_array_equal(getattr(res, name), getattr(ref, name))


# --------------------------------------------------------------------------------------
# 2. With bounds and fixed parameters
# --------------------------------------------------------------------------------------

# the offset (truth 0.2) ends on its upper bound; the others inside
BOUNDS = ([0.0, -1.0, 0.5, -1.0], [10.0, 1.0, 2.0, 0.15])


@pytest.mark.parametrize("how", list(MODELS))
@pytest.mark.parametrize("loss", LOSSES)
def test_bounds_as_trf(loss, how):
    y = spiky(0)
    want_popt, want_pcov = trf_curve_fit(np_gaussian, y, bounds=BOUNDS, loss=loss,
                                         f_scale=F_SCALE, jac=gaussian_jac)
    assert want_popt[3] == pytest.approx(0.15, abs=1e-12)  # on the bound
    popt, pcov, *_ = lmfast_fit(MODELS[how], y, bounds=BOUNDS, loss=loss, f_scale=F_SCALE,
                                **LMFAST_TIGHT)
    assert np.all((popt >= BOUNDS[0]) & (popt <= BOUNDS[1]))
    assert_popt_close(popt, want_popt, BOUNDED_POPT_RTOL)
    # a bounded pcov is SciPy's too (test_bound_covariance.py: J in the user's parameters)
    assert_pcov_close(pcov, want_pcov, PCOV_RTOL)


@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("how", list(MODELS))
@pytest.mark.parametrize("loss", LOSSES)
def test_fixed_parameter_is_the_reduced_model(loss, how, bounded):
    """The center held at 0.32: SciPy fits the 3-parameter model with it substituted."""
    y = spiky(1)
    p0 = (2.5, 0.32, 1.2, 0.0)
    extra = {"bounds": ([0.0, -1.0, 0.5, -1.0], [10.0, 1.0, 2.0, 1.0])} if bounded else {}

    def reduced(x, a, s, o):
        return np_gaussian(x, a, 0.32, s, o)

    def reduced_jac(x, a, s, o):
        return gaussian_jac(x, a, 0.32, s, o)[:, [0, 2, 3]]

    scipy_extra = {"bounds": ([0.0, 0.5, -1.0], [10.0, 2.0, 1.0])} if bounded else {}
    want_popt, want_pcov = trf_curve_fit(reduced, y, p0=(2.5, 1.2, 0.0), jac=reduced_jac,
                                         loss=loss, f_scale=F_SCALE, **scipy_extra)
    popt, pcov, *_ = lmfast_fit(MODELS[how], y, p0=p0, fixed=[False, True, False, False],
                                loss=loss, f_scale=F_SCALE, **extra, **LMFAST_TIGHT)
    assert popt[1] == 0.32
    assert np.all(pcov[1, :] == 0.0) and np.all(pcov[:, 1] == 0.0)
    free = [0, 2, 3]
    assert_popt_close(popt[free], want_popt, BOUNDED_POPT_RTOL if bounded else POPT_RTOL)
    assert_pcov_close(pcov[np.ix_(free, free)], want_pcov, PCOV_RTOL)


# --------------------------------------------------------------------------------------
# 3. Batches
# --------------------------------------------------------------------------------------

N_FITS = 8
Y_ROWS = np.array([spiky(seed) for seed in range(N_FITS)])


def chisq(loss, f_scale, popt):
    """The minimised objective 2 cost = f_scale^2 sum rho(z), per fit."""
    return np.array([2.0 * robust_cost(loss, f_scale, np_gaussian(X, *p) - y)
                     for p, y in zip(popt, Y_ROWS, strict=True)])


@pytest.mark.parametrize("loss", LOSSES)
def test_compiled_batch_is_single_curve_fit_bit_for_bit(loss):
    model = models.gaussian
    res = curve_fit_batch(model, X, Y_ROWS, P0, loss=loss, f_scale=F_SCALE)
    assert res.success.all()
    for i in range(N_FITS):
        popt, pcov, info, mesg, ier = lmfast_fit(model, Y_ROWS[i], jac=model.jac, loss=loss,
                                                 f_scale=F_SCALE)
        np.testing.assert_array_equal(res.popt[i], popt)
        np.testing.assert_array_equal(res.pcov[i], pcov)
        assert (res.ier[i], res.nfev[i], res.njev[i]) == (ier, info["nfev"], info["njev"])
        assert res.message(i) == mesg
    np.testing.assert_allclose(res.chisq, chisq(loss, F_SCALE, res.popt), rtol=1e-10)


@pytest.mark.parametrize("loss", LOSSES)
def test_python_batch_is_single_curve_fit(loss):
    res = curve_fit_batch(np_gaussian, X, Y_ROWS, P0, loss=loss, f_scale=F_SCALE)
    assert res.success.all()
    for i in range(N_FITS):
        popt, pcov, info, _, ier = lmfast_fit(np_gaussian, Y_ROWS[i], loss=loss,
                                              f_scale=F_SCALE)
        # NumPy's vectorised exp may round a last bit unlike the scalar one: a fit can
        # then stop a hair elsewhere within its tolerance (1e-9 once, arctan)
        assert_popt_close(res.popt[i], popt, 1e-8)
        assert_pcov_close(res.pcov[i], pcov, 1e-6)
        assert (res.ier[i], res.nfev[i]) == (ier, info["nfev"])
    np.testing.assert_allclose(res.chisq, chisq(loss, F_SCALE, res.popt), rtol=1e-10)


@pytest.mark.parametrize("f", list(MODELS.values()), ids=list(MODELS))
def test_batch_reaches_trfs_minimum(f):
    res = curve_fit_batch(f, X, Y_ROWS, P0, loss="cauchy", f_scale=F_SCALE, **LMFAST_TIGHT)
    for i in range(N_FITS):
        assert_popt_close(res.popt[i], trf_minimum(i, "cauchy").x, POPT_RTOL)


# --------------------------------------------------------------------------------------
# 4. least_squares(method='lm')
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_least_squares_lm_with_a_loss(loss):
    """x at trf's minimum; cost is SciPy's definition at x; fun the raw residuals."""
    y = spiky(0)

    def fun(p):
        return np_gaussian(X, *p) - y

    ref = trf_minimum(0, loss)
    res = least_squares(fun, P0, method="lm", loss=loss, f_scale=F_SCALE, **TRF_TIGHT)
    assert res.success
    assert_popt_close(res.x, ref.x, POPT_RTOL)
    np.testing.assert_allclose(res.fun, fun(res.x), rtol=1e-12, atol=1e-14)
    assert res.cost == pytest.approx(robust_cost(loss, F_SCALE, fun(res.x)), rel=1e-12)
    assert res.cost <= ref.cost * (1 + COST_RTOL)


# --------------------------------------------------------------------------------------
# 5. What it is for: spikes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", list(MODELS))
def test_spikes_bias_the_linear_fit_not_the_robust_ones(how):
    """Seed 0 has three spikes on the peak's right flank: least squares moves the centre
    by 0.1 and the amplitude by 0.15; every robust loss stays within 0.01 and 0.03."""
    y = spiky(0)
    linear, *_ = lmfast_fit(MODELS[how], y)
    assert abs(linear[1] - TRUTH[1]) > 0.05 and abs(linear[0] - TRUTH[0]) > 0.1
    for loss in LOSSES:
        popt, *_ = lmfast_fit(MODELS[how], y, loss=loss, f_scale=F_SCALE)
        assert abs(popt[1] - TRUTH[1]) < 0.01, (loss, popt)
        assert abs(popt[0] - TRUTH[0]) < 0.03, (loss, popt)


def test_spikes_over_a_batch():
    """100 spiky data sets: the soft_l1 fits' centre and amplitude errors (RMS) stay near
    the noise's (0.005, 0.013), least squares' are several times larger (0.065, 0.17)."""
    Y = np.array([spiky(seed) for seed in range(100, 200)])
    robust = curve_fit_batch(models.gaussian, X, Y, P0, loss="soft_l1", f_scale=F_SCALE)
    linear = curve_fit_batch(models.gaussian, X, Y, P0)
    assert robust.success.all() and linear.success.all()

    def rms(res):
        return np.sqrt(np.mean((res.popt - TRUTH) ** 2, axis=0))

    assert rms(robust)[1] < 0.01 and rms(robust)[0] < 0.025
    assert rms(linear)[1] > 0.04 and rms(linear)[0] > 0.1


# --------------------------------------------------------------------------------------
# 6. Errors
# --------------------------------------------------------------------------------------


def _counts():
    rng = np.random.default_rng(5)
    return rng.poisson(np_gaussian(X, 30.0, 0.3, 1.0, 2.0)).astype(float), (25.0, 0.0, 1.2, 1.5)


def test_poisson_with_a_robust_loss_raises_naming_loss():
    y, p0 = _counts()
    for loss in LOSSES:
        with pytest.raises(ValueError, match="loss"):
            curve_fit(np_gaussian, X, y, p0, estimator="poisson", loss=loss)
        with pytest.raises(ValueError, match="loss"):
            curve_fit(models.gaussian, X, y, p0, estimator="poisson", loss=loss)
        with pytest.raises(ValueError, match="loss"):
            curve_fit_batch(models.gaussian, X, y[None], p0, estimator="poisson", loss=loss)
        with pytest.raises(ValueError, match="loss"):
            curve_fit_batch(np_gaussian, X, y[None], p0, estimator="poisson", loss=loss)
    # the linear loss is the Poisson fit itself
    a = curve_fit(models.gaussian, X, y, p0, estimator="poisson")
    b = curve_fit(models.gaussian, X, y, p0, estimator="poisson", loss="linear")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("loss", ["l1", "Huber", "soft-l1", ""])
def test_unknown_loss_raises_naming_loss(loss):
    y = spiky(0)
    with pytest.raises(ValueError, match="loss"):
        curve_fit(np_gaussian, X, y, P0, loss=loss)
    with pytest.raises(ValueError, match="loss"):
        curve_fit(models.gaussian, X, y, P0, loss=loss)
    with pytest.raises(ValueError, match="loss"):
        curve_fit_batch(np_gaussian, X, y[None], P0, loss=loss)
    with pytest.raises(ValueError, match="loss"):
        curve_fit_batch(models.gaussian, X, y[None], P0, loss=loss)
    with pytest.raises(ValueError, match="loss"):
        least_squares(lambda p: np_gaussian(X, *p) - y, P0, method="lm", loss=loss)


@pytest.mark.parametrize("f_scale", [0.0, -1.0])
def test_f_scale_not_positive_raises_naming_f_scale(f_scale):
    y = spiky(0)
    for loss in ("soft_l1", "huber"):
        with pytest.raises(ValueError, match="f_scale"):
            curve_fit(np_gaussian, X, y, P0, loss=loss, f_scale=f_scale)
        with pytest.raises(ValueError, match="f_scale"):
            curve_fit(models.gaussian, X, y, P0, loss=loss, f_scale=f_scale)
        with pytest.raises(ValueError, match="f_scale"):
            curve_fit_batch(np_gaussian, X, y[None], P0, loss=loss, f_scale=f_scale)
        with pytest.raises(ValueError, match="f_scale"):
            curve_fit_batch(models.gaussian, X, y[None], P0, loss=loss, f_scale=f_scale)
        with pytest.raises(ValueError, match="f_scale"):
            least_squares(lambda p: np_gaussian(X, *p) - y, P0, method="lm", loss=loss,
                          f_scale=f_scale)


def test_batch_loss_mistakes_raise_before_any_work():
    """As bounds do (test_bounds.py): the whole batch's mistake, before the model runs."""
    calls = []

    def model(x, a, c, s, o):
        calls.append(1)
        return np_gaussian(x, a, c, s, o)

    y, p0 = _counts()
    for kw in ({"loss": "l1"}, {"loss": "huber", "f_scale": 0.0},
               {"loss": "huber", "estimator": "poisson"}):
        with pytest.raises(ValueError, match="loss|f_scale"):
            curve_fit_batch(model, X, y[None], p0, **kw)
    assert calls == []


# --------------------------------------------------------------------------------------
# 7. Under lmfast.patch(), third-party calls keep SciPy's behaviour
# --------------------------------------------------------------------------------------

# in a dict: the patch rebinds module globals holding SciPy's functions (test_patch.py)
ORIGINALS = {name: getattr(scipy.optimize, name) for name in ("least_squares", "curve_fit")}


def test_patched_least_squares_lm_with_a_loss_still_raises_scipys_error():
    y = spiky(0)

    def fun(p):
        return np_gaussian(X, *p) - y

    with pytest.raises(ValueError) as scipys:
        ORIGINALS["least_squares"](fun, P0, method="lm", loss="huber")
    with lmfast.patched():
        assert scipy.optimize.least_squares is not ORIGINALS["least_squares"]
        with pytest.raises(ValueError) as patched:
            scipy.optimize.least_squares(fun, P0, method="lm", loss="huber")
    assert str(patched.value) == str(scipys.value)
    assert scipy.optimize.least_squares is ORIGINALS["least_squares"]


def test_patched_curve_fit_trf_with_a_loss_is_scipys_own():
    y = spiky(0)
    want = ORIGINALS["curve_fit"](np_gaussian, X, y, P0, method="trf", loss="huber")
    with lmfast.patched():
        assert scipy.optimize.curve_fit is not ORIGINALS["curve_fit"]
        got = scipy.optimize.curve_fit(np_gaussian, X, y, P0, method="trf", loss="huber")
        got_scaled = scipy.optimize.curve_fit(np_gaussian, X, y, P0, method="trf",
                                              loss="soft_l1", f_scale=F_SCALE)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    want_scaled = ORIGINALS["curve_fit"](np_gaussian, X, y, P0, method="trf",
                                         loss="soft_l1", f_scale=F_SCALE)
    np.testing.assert_array_equal(got_scaled[0], want_scaled[0])
    np.testing.assert_array_equal(got_scaled[1], want_scaled[1])
