"""lmfast.models: the compiled models, their NumPy twins and the Model interface.

The compiled kernels (lmfast/_models.pyx, reached through the ``_test_eval`` shim) and the
NumPy twins (``Model.__call__``/``Model.jac``) are checked against each other, against the
formulas of the batch API contract written out literally below, and against central
differences; then the documented parameter order, broadcasting, signatures, the polynomial
factory and a few ``scipy.optimize.curve_fit`` sanity fits.
"""
import inspect
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
from helpers import central_differences
from numpy.testing import assert_allclose, assert_array_equal

from lmfast import _models, models

LN2 = np.log(2.0)

# The contract's formulas, written from the text and not from lmfast's code.
CONTRACT = {
    "gaussian": lambda x, amplitude, center, sigma, offset: (
        amplitude * np.exp(-(x - center) ** 2 / (2 * sigma**2)) + offset),
    "lorentzian": lambda x, amplitude, center, gamma, offset: (
        amplitude / (1 + ((x - center) / gamma) ** 2) + offset),
    "pseudo_voigt": lambda x, amplitude, center, fwhm, eta, offset: (
        amplitude * (eta / (1 + 4 * ((x - center) / fwhm) ** 2)
                     + (1 - eta) * np.exp(-4 * LN2 * ((x - center) / fwhm) ** 2)) + offset),
    "exponential": lambda x, amplitude, rate, offset: amplitude * np.exp(-rate * x) + offset,
    "gaussian_2d": lambda xy, amplitude, x0, y0, sigma, offset: (
        amplitude * np.exp(-((xy[0] - x0) ** 2 + (xy[1] - y0) ** 2) / (2 * sigma**2)) + offset),
    "gaussian_2d_elliptic": lambda xy, amplitude, x0, y0, sigma_x, sigma_y, offset: (
        amplitude * np.exp(-(xy[0] - x0) ** 2 / (2 * sigma_x**2)
                           - (xy[1] - y0) ** 2 / (2 * sigma_y**2)) + offset),
}


def contract(model, x, *p):
    if model.degree is not None:
        return sum(c * x**j for j, c in enumerate(p))
    return CONTRACT[model.name](x, *p)


def _sign(rng):
    return rng.choice([-1.0, 1.0])


def _peak(rng):
    return [_sign(rng) * rng.uniform(0.5, 5.0), rng.uniform(-2.0, 2.0),
            _sign(rng) * rng.uniform(0.3, 2.0)]


_GRID_2D = np.array(np.meshgrid(np.linspace(-3.0, 3.0, 7), np.linspace(-2.0, 2.5, 6)))
XY = _GRID_2D.reshape(2, -1).copy()

# name -> (model, parameter sampler, x).  Widths may be negative: only their square counts.
CASES = {
    "gaussian": (models.gaussian,
                 lambda r: _peak(r) + [r.uniform(-1, 1)], np.linspace(-4.0, 4.0, 41)),
    "lorentzian": (models.lorentzian,
                   lambda r: _peak(r) + [r.uniform(-1, 1)], np.linspace(-4.0, 4.0, 41)),
    "pseudo_voigt": (models.pseudo_voigt,
                     lambda r: _peak(r) + [r.uniform(0, 1), r.uniform(-1, 1)],
                     np.linspace(-4.0, 4.0, 41)),
    "exponential": (models.exponential,
                    lambda r: [_sign(r) * r.uniform(0.5, 5), r.uniform(-0.5, 2), r.uniform(-1, 1)],
                    np.linspace(0.0, 4.0, 33)),
    "gaussian_2d": (models.gaussian_2d,
                    lambda r: [_sign(r) * r.uniform(0.5, 5), r.uniform(-1, 1), r.uniform(-1, 1),
                               _sign(r) * r.uniform(0.5, 2), r.uniform(-1, 1)], XY),
    "gaussian_2d_elliptic": (models.gaussian_2d_elliptic,
                             lambda r: [_sign(r) * r.uniform(0.5, 5), r.uniform(-1, 1),
                                        r.uniform(-1, 1), _sign(r) * r.uniform(0.5, 2),
                                        _sign(r) * r.uniform(0.5, 2), r.uniform(-1, 1)], XY),
}
for _d in (0, 1, 3):
    CASES[f"polynomial{_d}"] = (models.polynomial(_d),
                                lambda r, _d=_d: list(r.normal(size=_d + 1)),
                                np.linspace(-2.0, 2.0, 25))

ALL = sorted(CASES)
NAMED = ["gaussian", "lorentzian", "pseudo_voigt", "exponential", "gaussian_2d",
         "gaussian_2d_elliptic"]


def draws(name, count=20, seed=0):
    """``count`` random parameter vectors for case ``name`` (reproducible)."""
    rng = np.random.default_rng([seed, ALL.index(name)])
    return [np.array(CASES[name][1](rng), dtype=np.float64) for _ in range(count)]


def compiled(model, x, *p, with_jac=False):
    return _models._test_eval(model._compiled.name, np.array(p, dtype=np.float64), x, with_jac)


def value_scale(model, p, x):
    """Magnitude of the terms that make up a value (|amplitude| + |offset|, or sum |c_j x^j|)."""
    power = model.degree or 0
    return (1.0 + np.abs(p).max()) * max(1.0, np.abs(x).max()) ** power


def assert_jac_close(jac, reference, rtol, label=""):
    """Column by column, relative to the column's largest entry as well."""
    assert jac.shape == reference.shape
    for j in range(jac.shape[1]):
        scale = max(np.abs(reference[:, j]).max(), 1e-300)
        assert_allclose(jac[:, j], reference[:, j], rtol=rtol, atol=rtol * scale,
                        err_msg=f"{label} column {j}")


# --------------------------------------------------------------------------------------
# Ids, table, attributes
# --------------------------------------------------------------------------------------

def test_table_matches_pxd_enum():
    pxd = Path(_models.__file__).with_name("_models.pxd").read_text()
    enum = {re.sub("^lineshapes_", "lineshapes.", name.lower()): int(value)
            for name, value in re.findall(r"MODEL_(\w+)\s*=\s*(\d+)", pxd)}
    table = _models.registry()
    assert {name: entry[0] for name, entry in table.items()} == enum
    assert len(set(enum.values())) == len(enum)


@pytest.mark.parametrize("name", ALL)
def test_model_attributes_match_compiled_table(name):
    model = CASES[name][0]
    model_id, n_params, x_dims = _models.registry()[
        "polynomial" if name.startswith("polynomial") else name]
    assert model.model_id == model_id
    assert model.x_dims == x_dims
    assert model.n_params == len(model.param_names)
    assert n_params in (0, model.n_params)
    assert model.name == name
    if name.startswith("polynomial"):
        assert n_params == 0
        assert model.degree == int(name[len("polynomial"):])
        assert model.param_names == tuple(f"c{j}" for j in range(model.degree + 1))
    else:
        assert model.degree is None


def test_documented_parameter_names():
    assert models.gaussian.param_names == ("amplitude", "center", "sigma", "offset")
    assert models.lorentzian.param_names == ("amplitude", "center", "gamma", "offset")
    assert models.pseudo_voigt.param_names == ("amplitude", "center", "fwhm", "eta", "offset")
    assert models.exponential.param_names == ("amplitude", "rate", "offset")
    assert models.gaussian_2d.param_names == ("amplitude", "x0", "y0", "sigma", "offset")
    assert models.gaussian_2d_elliptic.param_names == (
        "amplitude", "x0", "y0", "sigma_x", "sigma_y", "offset")


# --------------------------------------------------------------------------------------
# Compiled == twin == contract; Jacobians == central differences
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_compiled_value_equals_twin(name):
    model, _, x = CASES[name]
    for p in draws(name):
        twin = model(x, *p)
        fast = compiled(model, x, *p)
        assert fast.shape == twin.shape == (x.shape[-1],)
        assert_allclose(fast, twin, rtol=1e-13, atol=1e-13 * value_scale(model, p, x),
                        err_msg=f"p = {p}")


@pytest.mark.parametrize("name", ALL)
def test_twin_and_compiled_follow_the_contract_formula(name):
    model, _, x = CASES[name]
    for p in draws(name, seed=1):
        reference = contract(model, x, *p)
        tol = 1e-12 * value_scale(model, p, x)
        assert_allclose(model(x, *p), reference, rtol=1e-12, atol=tol, err_msg=f"p = {p}")
        assert_allclose(compiled(model, x, *p), reference, rtol=1e-12, atol=tol)


@pytest.mark.parametrize("name", ALL)
def test_compiled_jac_equals_twin_jac(name):
    model, _, x = CASES[name]
    for p in draws(name, seed=2):
        fast_f, fast_jac = compiled(model, x, *p, with_jac=True)
        twin_jac = model.jac(x, *p)
        assert twin_jac.shape == fast_jac.shape == (x.shape[-1], model.n_params)
        assert_jac_close(fast_jac, twin_jac, rtol=1e-13, label=f"p = {p}")
        assert_allclose(fast_f, model(x, *p), rtol=1e-13,
                        atol=1e-13 * value_scale(model, p, x))


@pytest.mark.parametrize("name", ALL)
def test_compiled_jac_matches_central_differences(name):
    model, _, x = CASES[name]
    for p in draws(name, seed=3):
        _, jac = compiled(model, x, *p, with_jac=True)
        fd = central_differences(lambda q: compiled(model, x, *q), p, 1e-6)
        assert_jac_close(jac, fd, rtol=1e-6, label=f"p = {p}")


@pytest.mark.parametrize("name", ALL)
def test_twin_jac_matches_central_differences(name):
    model, _, x = CASES[name]
    for p in draws(name, seed=4):
        fd = central_differences(lambda q: model(x, *q), p, 1e-6)
        assert_jac_close(model.jac(x, *p), fd, rtol=1e-6, label=f"p = {p}")


@pytest.mark.parametrize("name", ["gaussian_2d", "gaussian_2d_elliptic"])
def test_compiled_2d_models_read_y_at_xstride(name):
    model, _, xy = CASES[name]
    m = xy.shape[1]
    big = np.full((2, 3 * m), np.nan)
    big[:, :m] = xy
    view = big[:, :m]  # rows 3m apart; reading y at x + m would meet NaN
    assert not view.flags.c_contiguous
    for p in draws(name, count=3, seed=5):
        f, jac = compiled(model, view, *p, with_jac=True)
        f_ref, jac_ref = compiled(model, xy, *p, with_jac=True)
        assert_array_equal(f, f_ref)
        assert_array_equal(jac, jac_ref)


@pytest.mark.parametrize("name", ALL)
def test_compiled_with_no_points(name):
    model, _, x = CASES[name]
    empty = np.zeros(x.shape[:-1] + (0,))
    p = draws(name, count=1)[0]
    f, jac = compiled(model, empty, *p, with_jac=True)
    assert f.shape == (0,) and jac.shape == (0, model.n_params)
    assert model(empty, *p).shape == (0,)
    assert model.jac(empty, *p).shape == (0, model.n_params)


@pytest.mark.parametrize("name, p", [
    ("gaussian", [2.0, 0.0, 0.0, 1.0]),
    ("lorentzian", [2.0, 0.0, 0.0, 1.0]),
    ("pseudo_voigt", [2.0, 0.0, 0.0, 0.5, 1.0]),
    ("gaussian_2d", [2.0, 0.0, 0.0, 0.0, 1.0]),
    ("gaussian_2d_elliptic", [2.0, 0.0, 0.0, 0.0, 1.0, 1.0]),
    ("exponential", [2.0, np.inf, 1.0]),
])
def test_compiled_degenerate_parameters_follow_ieee_like_the_twin(name, p):
    # A zero width divides by zero: IEEE inf/NaN, never an exception, in every build.
    model, _, x = CASES[name]
    x = np.concatenate([x, np.zeros((2, 1)) if model.x_dims == 2 else [0.0]], axis=-1)
    with np.errstate(all="ignore"):
        twin_f, twin_jac = model(x, *p), model.jac(x, *p)
    fast_f, fast_jac = compiled(model, x, *p, with_jac=True)
    assert not np.all(np.isfinite(twin_f))
    assert_array_equal(fast_f, twin_f)
    assert_array_equal(np.isfinite(fast_jac), np.isfinite(twin_jac))


def test_test_eval_rejects_bad_input():
    x = np.linspace(0.0, 1.0, 5)
    p4 = np.ones(4)
    for bad_name in ("", "voigt", "polynomial1", "nope"):
        with pytest.raises(KeyError, match="unknown compiled model"):
            _models._test_eval(bad_name, p4, x, False)
    with pytest.raises(ValueError, match="parameters"):
        _models._test_eval(models.gaussian._compiled.name, np.ones(3), x, False)
    with pytest.raises(ValueError, match="coefficient"):
        _models._test_eval(models.polynomial(1)._compiled.name, np.ones(0), x, False)
    with pytest.raises(ValueError, match="shape"):
        _models._test_eval(models.gaussian_2d._compiled.name, np.ones(5), x, False)
    with pytest.raises(ValueError, match="shape"):
        _models._test_eval(models.gaussian._compiled.name, p4, np.ones((2, 5)), False)


# --------------------------------------------------------------------------------------
# Documented parameter order (both implementations)
# --------------------------------------------------------------------------------------

BACKENDS = {
    "twin": lambda model, x, *p: model(x, *p),
    "compiled": lambda model, x, *p: compiled(model, np.asarray(x, dtype=np.float64), *p),
}


@pytest.fixture(params=sorted(BACKENDS))
def evaluate(request):
    return BACKENDS[request.param]


def test_gaussian_parameter_order(evaluate):
    amplitude, center, sigma, offset = 3.0, 1.7, 0.4, 0.5
    x = np.linspace(-3.0, 5.0, 8001)
    f = evaluate(models.gaussian, x, amplitude, center, sigma, offset)
    assert x[np.argmax(f)] == pytest.approx(center, abs=1e-3)
    at = evaluate(models.gaussian, np.array([center, center - sigma, center + sigma, 50.0]),
                  amplitude, center, sigma, offset)
    assert_allclose(at, [amplitude + offset] + [amplitude * np.exp(-0.5) + offset] * 2
                    + [offset], rtol=1e-14)


def test_lorentzian_parameter_order(evaluate):
    amplitude, center, gamma, offset = 2.0, -0.3, 0.25, 1.0
    at = evaluate(models.lorentzian, np.array([center, center - gamma, center + gamma]),
                  amplitude, center, gamma, offset)
    # gamma is the half width at half maximum
    assert_allclose(at, [amplitude + offset, amplitude / 2 + offset, amplitude / 2 + offset],
                    rtol=1e-14)


@pytest.mark.parametrize("eta", [0.0, 0.3, 1.0])
def test_pseudo_voigt_parameter_order(evaluate, eta):
    amplitude, center, fwhm, offset = 4.0, 0.6, 1.5, -0.5
    x = np.array([center, center - fwhm / 2, center + fwhm / 2])
    at = evaluate(models.pseudo_voigt, x, amplitude, center, fwhm, eta, offset)
    # both components have full width fwhm at half maximum, whatever eta
    assert_allclose(at, [amplitude + offset] + [amplitude / 2 + offset] * 2, rtol=1e-14)
    # eta mixes a Lorentzian (eta = 1, gamma = fwhm/2) and a Gaussian (eta = 0)
    grid = np.linspace(-4.0, 4.0, 41)
    sigma = fwhm / (2.0 * np.sqrt(2.0 * LN2))
    mix = (eta * models.lorentzian(grid, amplitude, center, fwhm / 2, 0.0)
           + (1 - eta) * models.gaussian(grid, amplitude, center, sigma, 0.0) + offset)
    assert_allclose(evaluate(models.pseudo_voigt, grid, amplitude, center, fwhm, eta, offset),
                    mix, rtol=1e-13, atol=1e-13)


def test_exponential_parameter_order(evaluate):
    amplitude, rate, offset = 3.0, 0.5, 0.25
    at = evaluate(models.exponential, np.array([0.0, 1 / rate, 2 / rate]),
                  amplitude, rate, offset)
    assert_allclose(at, [amplitude + offset, amplitude / np.e + offset,
                         amplitude / np.e**2 + offset], rtol=1e-14)


def test_gaussian_2d_parameter_order(evaluate):
    amplitude, x0, y0, sigma, offset = 2.0, 1.0, -2.0, 0.5, 0.1
    xy = np.array([[x0, y0, x0 + sigma, x0, 10.0],
                   [y0, x0, y0, y0 - sigma, 10.0]])
    at = evaluate(models.gaussian_2d, xy, amplitude, x0, y0, sigma, offset)
    edge = amplitude * np.exp(-0.5) + offset
    # the peak is at (x0, y0) = (xy[0], xy[1]), not at the swapped point
    assert at[0] == pytest.approx(amplitude + offset, rel=1e-14)
    assert at[1] < offset + 1e-6
    assert_allclose(at[2:], [edge, edge, offset], rtol=1e-14)


def test_gaussian_2d_elliptic_parameter_order(evaluate):
    amplitude, x0, y0, sigma_x, sigma_y, offset = 1.5, 0.5, -1.0, 0.3, 1.2, 0.0
    xy = np.array([[x0, x0 + sigma_x, x0, x0 + sigma_y],
                   [y0, y0, y0 + sigma_y, y0]])
    at = evaluate(models.gaussian_2d_elliptic, xy, amplitude, x0, y0, sigma_x, sigma_y, offset)
    edge = amplitude * np.exp(-0.5)
    # sigma_x acts along xy[0], sigma_y along xy[1]
    assert_allclose(at[:3], [amplitude, edge, edge], rtol=1e-14)
    assert at[3] == pytest.approx(amplitude * np.exp(-0.5 * (sigma_y / sigma_x) ** 2), rel=1e-13)


def test_polynomial_coefficient_order(evaluate):
    x = np.array([0.0, 1.0, 2.0, -3.0])
    assert_allclose(evaluate(models.polynomial(2), x, 1.0, 2.0, 3.0),
                    1.0 + 2.0 * x + 3.0 * x**2, rtol=1e-15)
    assert_allclose(evaluate(models.polynomial(0), x, 7.5), [7.5] * 4, rtol=0)


def test_polynomial_jac_columns_are_powers():
    x = np.array([0.0, 0.5, -2.0])
    for jac in (models.polynomial(3).jac(x, 1.0, 1.0, 1.0, 1.0),
                compiled(models.polynomial(3), x, 1.0, 1.0, 1.0, 1.0, with_jac=True)[1]):
        assert_array_equal(jac, np.stack([x**0, x, x**2, x**3], axis=-1))


# --------------------------------------------------------------------------------------
# The NumPy twin as a vectorised function
# --------------------------------------------------------------------------------------

def columns(ps):
    """(K, n) parameter rows -> n columns of shape (K, 1)."""
    ps = np.asarray(ps)
    return [ps[:, j:j + 1] for j in range(ps.shape[1])]


@pytest.mark.parametrize("name", ALL)
def test_twin_broadcasts_parameter_columns(name):
    model, _, x = CASES[name]
    ps = draws(name, count=4, seed=6)
    m = x.shape[-1]
    f = model(x, *columns(ps))
    jac = model.jac(x, *columns(ps))
    assert f.shape == (4, m)
    assert jac.shape == (4, m, model.n_params)
    for k, p in enumerate(ps):
        assert_allclose(f[k], model(x, *p), rtol=1e-15, atol=0)
        assert_allclose(jac[k], model.jac(x, *p), rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", ALL)
def test_twin_broadcasts_per_fit_x(name):
    model, _, x = CASES[name]
    ps = draws(name, count=3, seed=7)
    m = x.shape[-1]
    shifts = np.array([0.0, 0.25, -0.5])
    per_fit = np.stack([x + s for s in shifts], axis=-2)  # (3, m) or (2, 3, m)
    f = model(per_fit, *columns(ps))
    jac = model.jac(per_fit, *columns(ps))
    assert f.shape == (3, m)
    assert jac.shape == (3, m, model.n_params)
    for k, p in enumerate(ps):
        assert_allclose(f[k], model(x + shifts[k], *p), rtol=1e-15, atol=0)
        assert_allclose(jac[k], model.jac(x + shifts[k], *p), rtol=1e-15, atol=0)
        assert_allclose(f[k], compiled(model, x + shifts[k], *p), rtol=1e-13,
                        atol=1e-13 * value_scale(model, p, x + shifts[k]))


@pytest.mark.parametrize("name", ALL)
def test_twin_scalar_shapes_and_keywords(name):
    model, _, x = CASES[name]
    p = draws(name, count=1, seed=8)[0]
    f = model(x, *p)
    jac = model.jac(x, *p)
    assert isinstance(f, np.ndarray) and f.shape == (x.shape[-1],)
    assert jac.shape == (x.shape[-1], model.n_params) and jac.dtype == np.float64
    assert jac.flags.writeable
    keywords = dict(zip(model.param_names, p))
    assert_array_equal(model(x, **keywords), f)
    assert_array_equal(model.jac(x, **keywords), jac)
    with pytest.raises(TypeError, match=model.name):
        model(x, *p[:-1])
    with pytest.raises(TypeError, match=model.name):
        model.jac(x, *p, 1.0)


def test_twin_accepts_integer_and_list_x():
    p = (2.0, 1.0, 0.7, 0.1)
    assert_array_equal(models.gaussian(np.arange(5), *p), models.gaussian(np.arange(5.0), *p))
    assert_array_equal(models.gaussian([0, 1, 2], *p), models.gaussian(np.arange(3.0), *p))
    assert_array_equal(models.gaussian_2d(([0.0, 1.0], [2.0, 3.0]), 1.0, 0.0, 0.0, 1.0, 0.0),
                       models.gaussian_2d(np.array([[0.0, 1.0], [2.0, 3.0]]),
                                          1.0, 0.0, 0.0, 1.0, 0.0))


def test_2d_models_reject_xy_without_two_rows():
    with pytest.raises(ValueError, match=r"\(2, m\)"):
        models.gaussian_2d(np.linspace(0, 1, 5), 1.0, 0.0, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"\(2, m\)"):
        models.gaussian_2d_elliptic.jac(np.ones((3, 5)), 1.0, 0.0, 0.0, 1.0, 1.0, 0.0)


@pytest.mark.parametrize("name", ALL)
def test_signature(name):
    model = CASES[name][0]
    sig = inspect.signature(model)
    x_name = "x" if model.x_dims == 1 else "xy"
    assert tuple(sig.parameters) == (x_name,) + model.param_names
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
               for p in sig.parameters.values())
    text = repr(model)
    assert model.name in text and all(n in text for n in model.param_names)


def test_docstrings_state_the_formula():
    assert "exp(-(x - center)**2 / (2 * sigma**2))" in models.gaussian.__doc__
    assert "c3*x**3" in models.polynomial(3).__doc__
    for name in NAMED:
        assert "Parameters" in CASES[name][0].__doc__


@pytest.mark.parametrize("name", ["gaussian", "gaussian_2d_elliptic", "polynomial3"])
def test_pickle_gives_back_the_same_model(name):
    model = CASES[name][0]
    assert pickle.loads(pickle.dumps(model)) is model


# --------------------------------------------------------------------------------------
# polynomial(degree)
# --------------------------------------------------------------------------------------

def test_polynomial_is_cached_per_degree():
    assert models.polynomial(3) is models.polynomial(3)
    assert models.polynomial(np.int64(3)) is models.polynomial(3)
    assert models.polynomial(2) is not models.polynomial(3)
    big = models.polynomial(70)
    assert big.n_params == 71 and big.param_names[-1] == "c70"
    assert big.jac(np.linspace(0, 1, 4), *np.ones(71)).shape == (4, 71)


@pytest.mark.parametrize("degree", [-1, -10])
def test_polynomial_rejects_negative_degree(degree):
    with pytest.raises(ValueError, match="degree"):
        models.polynomial(degree)


@pytest.mark.parametrize("degree", [3.0, 1.5, "2", None, True, np.float64(2.0)])
def test_polynomial_rejects_non_integer_degree(degree):
    models.polynomial(3)  # a cached equal key must not bypass the check
    with pytest.raises(TypeError, match="degree"):
        models.polynomial(degree)


# --------------------------------------------------------------------------------------
# Sanity: the twins fit with scipy.optimize.curve_fit
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_jac", [False, True])
@pytest.mark.parametrize("name, true, start", [
    ("gaussian", [3.0, 0.4, 0.8, 0.5], [2.0, 0.0, 1.2, 0.0]),
    ("lorentzian", [2.0, -0.5, 0.6, 1.0], [1.5, 0.0, 1.0, 0.5]),
    ("pseudo_voigt", [2.0, 0.3, 1.1, 0.4, 0.2], [1.5, 0.0, 1.5, 0.5, 0.0]),
    ("exponential", [2.0, 0.7, 0.3], [1.0, 1.0, 0.0]),
    ("gaussian_2d", [2.0, 0.3, -0.4, 0.9, 0.1], [1.0, 0.0, 0.0, 1.2, 0.0]),
    ("gaussian_2d_elliptic", [2.0, 0.3, -0.4, 0.7, 1.3, 0.1], [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]),
    ("polynomial3", [1.0, -2.0, 0.5, 0.25], [0.0, 0.0, 0.0, 0.0]),
])
def test_curve_fit_recovers_parameters(name, true, start, use_jac):
    model, _, x = CASES[name]
    y = model(x, *true)
    kwargs = {"jac": model.jac} if use_jac else {}
    popt, pcov = scipy.optimize.curve_fit(model, x, y, p0=start, **kwargs)
    assert_allclose(popt, true, rtol=1e-7, atol=1e-9)

    rng = np.random.default_rng(11)
    noisy = y + rng.normal(scale=0.01, size=y.shape)
    popt, pcov = scipy.optimize.curve_fit(model, x, noisy, p0=start, **kwargs)
    assert np.all(np.abs(popt - true) < 6 * np.sqrt(np.diag(pcov)) + 1e-12)


def test_curve_fit_infers_parameter_count_from_signature():
    x = np.linspace(-1.0, 1.0, 20)
    true = [0.5, -1.0, 2.0]
    popt, _ = scipy.optimize.curve_fit(models.polynomial(2), x, models.polynomial(2)(x, *true))
    assert popt.shape == (3,)
    assert_allclose(popt, true, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(_models.registry()))
def test_joint_evaluation_is_value_and_jacobian_bit_for_bit(name):
    """The joint evaluation a fit asks for at each point (value and Jacobian from one pass
    of exponentials where the model has one) gives the numbers of the two apart."""
    compiled = _models.CompiledModel(name)
    n = compiled.n_params or 3
    x_dims = compiled.x_dims
    rng = np.random.default_rng(3)
    p = np.abs(rng.normal(1.0, 0.3, (4, n)))
    x = np.ascontiguousarray(rng.uniform(-3.0, 3.0, (1, x_dims, 57)))
    values, jacobian = compiled.evaluate_joint(p, x)
    assert np.array_equal(values, compiled.evaluate(p, x, False))
    assert np.array_equal(jacobian, compiled.evaluate(p, x, True))
