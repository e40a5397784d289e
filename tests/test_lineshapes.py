"""Compiled lineshapes (lmfast/_lineshapes.pyx) and their NumPy twins (lmfast.lineshapes).

Checked against lmfit's documented lineshapes (lmfit.lineshapes), the Faddeeva function
(lmfast/_faddeeva.pyx) against SciPy (scipy.special.wofz, voigt_profile) and against
40-digit values (mpmath, stored below), Jacobians against central differences, and fits
through ``lmfast.models.from_cfunc`` against scipy.optimize.curve_fit.
"""

import warnings

import lmfit.lineshapes as lmfit_ls
import numpy as np
import pytest
import scipy.optimize
import scipy.special

import lmfast
from lmfast import _faddeeva, _lineshapes, _models, curve_fit_batch, lineshapes, models

EPS = np.finfo(float).eps

# lmfit's name for each lineshape, and parameter sets covering narrow/wide, symmetric/
# skewed shapes.  The grid X reaches 30 widths or more on both sides of every peak.
LMFIT_NAME = {"pseudo_voigt": "pvoigt", "exponential_gaussian": "expgaussian"}
# step_<form>, rectangle_<form>: lmfit's step and rectangle with form=<form>
FORMS = ("erf", "atan", "logistic")
LMFIT_NAME.update({f"{shape}_{form}": shape for shape in ("step", "rectangle") for form in FORMS})
CASES = {
    "gaussian": [(2.5, 0.3, 1.7), (1.0, -2.0, 0.05)],
    "lorentzian": [(2.5, 0.3, 1.7), (1.0, -2.0, 0.05)],
    "pseudo_voigt": [(2.5, 0.3, 1.7, 0.3), (1.0, -2.0, 0.5, 0.9), (3.0, 1.0, 2.0, 0.0)],
    "voigt": [(2.5, 0.3, 1.7, 0.4), (1.0, -2.0, 0.05, 3.0), (1.0, 0.0, 1.0, 1e-3),
              (1.0, 0.0, 1e-3, 1.0), (2.0, 0.5, 1.0, 0.0)],
    "pearson7": [(2.5, 0.3, 1.7, 1.5), (1.0, -2.0, 0.5, 7.3), (1.0, 0.0, 1.0, 120.0)],
    "doniach": [(2.5, 0.3, 1.7, 0.2), (1.0, -2.0, 0.5, 0.05), (1.0, 0.0, 1.0, 0.0)],
    "exponential_gaussian": [(2.5, 0.3, 1.7, 0.4), (1.0, -2.0, 0.5, 3.0)],
    "constant": [(2.5,), (-1e-3,)],
    "linear": [(2.5, 0.3), (-1.0, 4.0)],
    "exponential": [(2.5, 3.3), (1.0, -7.0)],
    "skewed_gaussian": [(2.5, 0.3, 1.7, 1.5), (1.0, -2.0, 0.5, -4.0), (1.0, 0.0, 1.0, 0.0)],
    **{f"step_{form}": [(2.5, 0.3, 1.7), (-1.0, -2.0, 0.05)] for form in FORMS},
    **{f"rectangle_{form}": [(2.5, -3.0, 1.7, 4.0, 0.8), (1.0, -10.0, 0.05, 10.0, 3.0)]
       for form in FORMS},
}
X = np.linspace(-30.0, 30.0, 601)
ALL = [(name, p) for name, ps in CASES.items() for p in ps]
IDS = [f"{name}-{i}" for name, ps in CASES.items() for i in range(len(ps))]


def lmfit_value(name, x, p):
    func = getattr(lmfit_ls, LMFIT_NAME.get(name, name), None)
    if name == "constant":
        return np.full_like(x, p[0])
    form = {"form": name.split("_")[1]} if LMFIT_NAME.get(name) in ("step", "rectangle") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(x, *p, **form)


def assert_close(got, want, rtol, atol):
    """|got - want| <= rtol |want| + atol elementwise (atol may be an array)."""
    got, want = np.broadcast_arrays(got, want)
    err = np.abs(got - want)
    bad = ~(err <= rtol * np.abs(want) + atol)
    assert not bad.any(), (f"{bad.sum()} of {bad.size} differ; worst at "
                           f"{np.unravel_index(np.argmax(np.where(bad, err, 0)), bad.shape)}")


def c_value(name, p, x=X, jac=False):
    return _models._test_eval("lineshapes." + name, np.array(p, dtype=float), x, jac)


# --------------------------------------------------------------------------------------
# The table and the capsules
# --------------------------------------------------------------------------------------

def test_table_lists_every_lineshape_with_lmfit_parameter_order():
    table = {name[len("lineshapes."):]: entry for name, entry in _models.registry().items()
             if name.startswith("lineshapes.")}
    assert set(table) == set(CASES) == set(lineshapes.PARAMS) == set(lineshapes.JACOBIANS)
    assert lineshapes.PARAMS == _lineshapes.PARAMS
    for name, names in lineshapes.PARAMS.items():
        model_id, n_params, x_dims = table[name]
        assert (n_params, x_dims) == (len(names), 1)
        assert lineshapes.model(name).model_id == model_id
        f, jac = _models._capsules("lineshapes." + name)
        if name != "constant":
            lmfit_func = getattr(lmfit_ls, LMFIT_NAME.get(name, name))
            assert names == lmfit_func.__code__.co_varnames[1:1 + len(names)]
        # Capsules named exactly as lmfast.models.from_cfunc expects.
        assert _models._capsule_address(f) and _models._capsule_address(jac)
    assert lineshapes.PARAMS["constant"] == ("c",)  # lmfit.models.ConstantModel's name


def test_unknown_lineshape_is_a_key_error():
    with pytest.raises(KeyError, match="unknown compiled model"):
        _models._test_eval("lineshapes.nope", np.ones(3), X, False)
    with pytest.raises(KeyError, match="unknown lineshape"):
        lineshapes.model("nope")
    with pytest.raises(ValueError, match="takes 4 parameters"):
        _models._test_eval("lineshapes.voigt", np.ones(3), X, False)


# --------------------------------------------------------------------------------------
# Values: C kernels vs lmfit, NumPy twins vs C kernels
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "p"), ALL, ids=IDS)
def test_c_kernel_equals_lmfit(name, p):
    # 1e-12 relative wherever lmfit's value is above 1e-15 of the curve's largest value:
    # below that floor a value is lost in the rounding of the peak anyway, and both codes
    # evaluate exp/erfc/cos of rounded arguments whose error grows with the argument (the
    # far tails of exponential_gaussian: erfc(a2) with a2 ~ 40 amplifies a rounding of a2
    # by 2 a2^2 ~ 3e3).  Measured worst over these cases: 2.5e-13 (exponential_gaussian),
    # 3e-14 (voigt), <= 4e-15 for the others.
    want = lmfit_value(name, X, p)
    got = c_value(name, p)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15 * np.max(np.abs(want)))


@pytest.mark.parametrize(("name", "p"), ALL, ids=IDS)
def test_numpy_twin_equals_c_kernel(name, p):
    f, jac = c_value(name, p, jac=True)
    twin = getattr(lineshapes, name)
    np.testing.assert_allclose(twin(X, *p), f, rtol=1e-13, atol=0)
    scale = np.max(np.abs(jac), axis=0)
    assert_close(twin.jac(X, *p), jac, rtol=1e-13, atol=1e-15 * scale)
    assert twin.jac is lineshapes.JACOBIANS[name]


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_twins_broadcast_parameter_columns(name):
    p = np.array(CASES[name][0])
    rows = np.array([0.5, 1.0, 2.0])[:, None]
    columns = [p[0] * rows] + [np.full((3, 1), v) for v in p[1:]]
    twin = getattr(lineshapes, name)
    values = twin(X, *columns)
    jac = twin.jac(X, *columns)
    assert values.shape == (3, X.size) and jac.shape == (3, X.size, p.size)
    for k in range(3):
        pk = np.concatenate([[p[0] * rows[k, 0]], p[1:]])
        f, jk = c_value(name, pk, jac=True)
        np.testing.assert_allclose(values[k], f, rtol=1e-13, atol=0)
        assert_close(jac[k], jk, rtol=1e-13, atol=1e-15 * np.abs(jk).max(axis=0))


# --------------------------------------------------------------------------------------
# Jacobians vs central differences
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "p"), ALL, ids=IDS)
def test_analytic_jacobian_matches_central_differences(name, p):
    # Each parameter is stepped by h_j = 1e-6 * s_j, s_j its scale (|p_j|, or the width
    # sigma for a center, 1 for a zero parameter).  The central difference then errs by
    # about h^2 |f'''| / 6 ~ 2e-13 max|f| (truncation; derivatives O(f / s^k), up to ~1e3
    # times more for the steepest case, pearson7 with expon = 120, whose width is about
    # sigma / 15) plus eps |f| / h ~ 2e-10 |f| s_j (rounding).  The test compares
    # s_j df/dp_j with a bound of 1e-8 max|f|, well above both.
    p = np.array(p, dtype=float)
    names = lineshapes.PARAMS[name]
    f, jac = c_value(name, p, jac=True)
    fmax = np.max(np.abs(f))
    for j, pname in enumerate(names):
        # a centre's scale is its width (center1: sigma1 of the rectangles)
        s = (abs(p[names.index("sigma" + pname[6:])]) if pname.startswith("center")
             else (abs(p[j]) or 1.0))
        h = 1e-6 * s
        up, down = p.copy(), p.copy()
        up[j] += h
        down[j] -= h
        fd = (c_value(name, up) - c_value(name, down)) / (2 * h)
        err = np.max(np.abs(fd - jac[:, j])) * s
        assert err <= 1e-8 * fmax, (pname, err / fmax)


# --------------------------------------------------------------------------------------
# The Faddeeva function and the Voigt profile
# --------------------------------------------------------------------------------------

# w(x + iy) to 20 digits, from mpmath at 40 digits (exp(-z^2) erfc(-iz)).
W_REFERENCE = [
    (0.0, 0.0, 1.0, 0.0),
    (1.0, 0.0, 3.678794411714423216e-1, 6.0715770584139372912e-1),
    (6.0, 0.0, 2.3195228302435693883e-16, 9.5396208969110766023e-2),
    (-6.052779976193343, 0.1039255682936713, 1.6703742091896628613e-3, -9.4509816205515342201e-2),
    (5.5, 0.001, 1.9662633041196589634e-5, 1.0436743265973159164e-1),
    (0.3, 1e-06, 9.1393024824222018333e-1, 3.1891513441345472007e-1),
    (2.0, 1.0, 1.402395813662779437e-1, 2.2221344017989910261e-1),
    (-3.7, 0.5, 2.2847405359481161798e-2, -1.5526027974811714862e-1),
    (10.0, 0.01, 5.7287116224900799137e-5, 5.6705336054809614284e-2),
    (25.0, 0.001, 9.0487853505510840942e-7, 2.2585680876357973126e-2),
    (29.0, 7.0, 4.4443926315223784458e-3, 1.839176573775731408e-2),
    (40.0, 0.0001, 3.529495872133381184e-8, 1.4109151458445781234e-2),
    (1000.0, 0.001, 5.6419042983368314627e-10, 5.641898656424070128e-4),
    (0.0, 5.0, 1.1070463773306862637e-1, 0.0),
    (3.0, 6.2, 7.3531476749898074881e-2, 3.485647296288990084e-2),
    (-0.12368968524761806, 5.180964273178071, 1.0691623954504025108e-1,
     -2.4652677900483607628e-3),
    (100000.0, 3.0, 1.6925687493738422985e-10, 5.6418958306819514124e-6),
    (0.5, 100.0, 5.6414727814153583786e-3, 2.8204543946062622438e-5),
]


def test_faddeeva_against_40_digit_values():
    # Re w to 2e-15 (measured against mpmath over 4000 random points with |x| in
    # [1e-3, 300], y in [1e-4, 300]: 9e-16); SciPy's wofz errs by 7.4e-14 at the fourth
    # point.  Im w to 2e-15 of |w| (it cancels near x = 0; Voigt needs Re w only).
    x, y, re, im = (np.array(c) for c in zip(*W_REFERENCE))
    got_re, got_im, _, _ = _faddeeva._test_faddeeva(x, y)
    np.testing.assert_allclose(got_re, re, rtol=2e-15, atol=0)
    assert_close(got_im, im, rtol=0, atol=2e-15 * np.hypot(re, im))


def test_faddeeva_against_scipy_wofz_on_a_wide_grid():
    xs = np.concatenate([-np.logspace(-6, 6, 241)[::-1], [0.0], np.logspace(-6, 6, 241)])
    ys = np.concatenate([[0.0], np.logspace(-6, 4, 161)])
    x, y = np.meshgrid(xs, ys)
    re, im, dre, dim = _faddeeva._test_faddeeva(x, y)
    w = scipy.special.wofz(x + 1j * y)
    # The bound is SciPy's own error (7.4e-14 near x = -6.05, y = 0.104; see above).
    np.testing.assert_allclose(re, w.real, rtol=1e-13, atol=0)
    assert_close(im, w.imag, rtol=0, atol=1e-13 * np.abs(w))
    # w' = -2 z w + 2i/sqrt(pi), where this identity does not cancel (|z| < 5).
    small = np.hypot(x, y) < 5.0
    wp = -2.0 * (x + 1j * y) * w + 2j / np.sqrt(np.pi)
    np.testing.assert_allclose((dre + 1j * dim)[small], wp[small], rtol=0,
                               atol=1e-12 * np.abs(wp[small]).max())


def test_faddeeva_in_the_lower_half_plane_and_special_values():
    x = np.array([-3.0, -0.5, 0.0, 0.7, 2.5, 4.0])
    for y in (-1e-3, -0.5, -2.0):
        re, im, _, _ = _faddeeva._test_faddeeva(x, y)
        w = scipy.special.wofz(x + 1j * y)
        np.testing.assert_allclose(re + 1j * im, w, rtol=1e-13)
    re, im, _, _ = _faddeeva._test_faddeeva(np.array([np.nan, 0.0, np.inf]),
                                            np.array([0.0, np.nan, 1.0]))
    assert np.isnan(re[:2]).all() and re[2] == 0.0 and im[2] == 0.0
    # w(iy) = erfcx(y): used by exponential_gaussian beyond the range of exp/erfc.
    y = np.logspace(-3, 5, 50)
    np.testing.assert_allclose(_faddeeva._test_faddeeva(0.0, y)[0], scipy.special.erfcx(y),
                               rtol=1e-14)


def test_voigt_equals_scipy_voigt_profile_over_widths_and_tails():
    # gamma/sigma from 1e-3 to 1e3, |x - center| up to 1e4 times the larger width.
    # Measured worst: 1.6e-14 (gamma/sigma = 1e-3 near 10 widths), within SciPy's error.
    u = np.concatenate([-np.logspace(-4, 4, 161)[::-1], [0.0], np.logspace(-4, 4, 161)])
    for sigma in (1e-2, 1.0, 30.0):
        for ratio in np.logspace(-3, 3, 13):
            gamma = sigma * ratio
            x = 0.25 + u * max(sigma, gamma)
            got = c_value("voigt", (1.0, 0.25, sigma, gamma), x)
            want = scipy.special.voigt_profile(x - 0.25, sigma, gamma)
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=0,
                                       err_msg=f"sigma={sigma}, gamma={gamma}")


def test_voigt_limits_are_gaussian_and_lorentzian():
    # gamma = 0: w(x) = exp(-x^2) on the real axis.  Both sides take exp of an argument
    # near -540 at 23 widths, rounded differently: 540 eps = 1.2e-13 relative there.
    np.testing.assert_allclose(c_value("voigt", (2.0, 0.5, 1.3, 0.0)),
                               c_value("gaussian", (2.0, 0.5, 1.3)), rtol=2e-13, atol=1e-300)
    np.testing.assert_allclose(c_value("voigt", (2.0, 0.5, 1e-9, 1.3)),
                               c_value("lorentzian", (2.0, 0.5, 1.3)), rtol=1e-12)


def test_exponential_gaussian_beyond_lmfit_overflow():
    # Where lmfit's exp(a1) overflows (NaN or inf), the kernel uses erfcx: finite, and
    # equal to the same formula written with SciPy's erfcx.
    a, c, s, g = 1.0, 0.0, 0.3, 30.0
    x = np.linspace(-30.0, 5.0, 351)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lm = lmfit_ls.expgaussian(x, a, c, s, g)
    got = c_value("exponential_gaussian", (a, c, s, g), x)
    a2 = (c + g * s * s - x) / (np.sqrt(2) * s)
    want = a * g / 2 * np.exp(-(x - c) ** 2 / (2 * s * s)) * scipy.special.erfcx(a2)
    assert not np.isfinite(lm).all() and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def test_pearson7_normalisation_for_large_exponents():
    # Beyond expon = 170 (where Gamma overflows) the kernel uses lgamma differences.
    for expon in (169.0, 171.0, 1e3):
        f = c_value("pearson7", (1.0, 0.0, 1.0, expon), np.array([0.0, 0.1]))
        beta = np.exp(scipy.special.betaln(expon - 0.5, 0.5))
        np.testing.assert_allclose(f[0], 1.0 / beta, rtol=1e-13)
        np.testing.assert_allclose(f[1], (1.01 ** -expon) / beta, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Fits through lmfast.models.from_cfunc
# --------------------------------------------------------------------------------------

def test_batch_fit_of_voigt_peaks_recovers_the_parameters():
    rng = np.random.default_rng(11)
    x = np.linspace(-8.0, 8.0, 161)
    n_fits = 12
    truth = np.column_stack([rng.uniform(2, 5, n_fits), rng.uniform(-1, 1, n_fits),
                             rng.uniform(0.4, 1.2, n_fits), rng.uniform(0.2, 1.0, n_fits)])
    clean = lineshapes.voigt(x, *truth.T[:, :, None])
    model = lineshapes.model("voigt")
    assert model is lineshapes.model("voigt") and model.has_jacobian

    exact = curve_fit_batch(model, x, clean, [3.0, 0.0, 0.8, 0.5], threads=2)
    assert exact.success.all()
    np.testing.assert_allclose(exact.popt, truth, rtol=1e-7)

    y = clean + rng.normal(0.0, 1e-3, clean.shape)
    res = curve_fit_batch(model, x, y, [3.0, 0.0, 0.8, 0.5], threads=2)
    assert res.success.all()
    stderr = np.sqrt(np.einsum("kii->ki", res.pcov))
    assert np.all(np.abs(res.popt - truth) < 6 * stderr)

    # One of them, as a single fit: lmfast.curve_fit on the compiled model, SciPy's
    # curve_fit on the NumPy twin, both from the same start.
    i = 5
    p0 = [3.0, 0.0, 0.8, 0.5]
    popt, pcov = lmfast.curve_fit(model, x, y[i], p0, jac=model.jac)
    sp_popt, sp_pcov = scipy.optimize.curve_fit(lineshapes.voigt, x, y[i], p0,
                                                jac=lineshapes.voigt.jac)
    np.testing.assert_allclose(popt, sp_popt, rtol=1e-8)
    np.testing.assert_allclose(pcov, sp_pcov, rtol=1e-6)
    np.testing.assert_allclose(res.popt[i], popt, rtol=1e-8)


def test_pseudo_voigt_fit_agrees_with_scipy_on_the_numpy_twin():
    # The compiled pseudo_voigt fitted by lmfast.curve_fit, its pure NumPy twin by
    # scipy.optimize.curve_fit.
    rng = np.random.default_rng(3)
    x = np.linspace(-10.0, 10.0, 201)
    truth = (4.0, 0.7, 1.1, 0.35)
    y = lineshapes.pseudo_voigt(x, *truth) + rng.normal(0.0, 2e-3, x.size)
    model = lineshapes.model("pseudo_voigt")
    p0 = [3.0, 0.0, 1.5, 0.5]
    popt, pcov = lmfast.curve_fit(model, x, y, p0, jac=model.jac)
    sp_popt, sp_pcov = scipy.optimize.curve_fit(lineshapes.pseudo_voigt, x, y, p0,
                                                jac=lineshapes.pseudo_voigt.jac)
    np.testing.assert_allclose(popt, sp_popt, rtol=1e-7)
    # pcov to 1e-6 of sqrt(pcov_ii pcov_jj): the center is nearly uncorrelated with the
    # rest, and those entries (~1e-4 of the scale) carry the fits' last digits.
    scale = np.sqrt(np.outer(np.diag(sp_pcov), np.diag(sp_pcov)))
    np.testing.assert_allclose(pcov / scale, sp_pcov / scale, rtol=0, atol=1e-6)
    assert np.all(np.abs(popt - truth) < 6 * np.sqrt(np.diag(pcov)))


def test_models_from_the_table_evaluate_like_the_twins():
    x = np.linspace(-4.0, 4.0, 33)
    for name, ps in CASES.items():
        model = lineshapes.model(name)
        assert model.param_names == lineshapes.PARAMS[name]
        np.testing.assert_allclose(model(x, *ps[0]), getattr(lineshapes, name)(x, *ps[0]),
                                   rtol=1e-13, atol=0)
    # from_cfunc takes the capsules directly, too.
    f, jac = _models._capsules("lineshapes.gaussian")
    gauss = models.from_cfunc("g", lineshapes.PARAMS["gaussian"], f, jac)
    np.testing.assert_allclose(gauss(x, 1.0, 0.0, 1.0),
                               np.exp(-x * x / 2) / np.sqrt(2 * np.pi), rtol=1e-15)


def test_docstring_examples():
    import doctest

    failures, tried = doctest.testmod(lineshapes, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
