"""Composite compiled models: sums of components assembled in C through ``ctx``.

The composite's value is its components' values summed in order and its Jacobian their
columns side by side, bit for bit (both come from the same C kernels); it fits like any
compiled model (batch == single, bounds, fixed parameters, the Poisson estimator) and
agrees with SciPy on the same formula written in NumPy.
"""

import ctypes

import numpy as np
import pytest
import scipy.optimize

from lmfast import _models, curve_fit, curve_fit_batch, lineshapes, models

X = np.linspace(0.0, 100.0, 400)
# three pseudo-Voigt peaks on a linear baseline: slope, intercept, then 3 x (amplitude,
# center, sigma, fraction)
TRUTH = np.array([0.01, 2.0, 50.0, 20.0, 1.5, 0.3, 80.0, 45.0, 2.0, 0.5, 60.0, 70.0, 1.0, 0.2])
LOWER = [-1.0, -10.0] + [0.0, 0.0, 0.1, 0.0] * 3
UPPER = [1.0, 10.0] + [1e3, 100.0, 10.0, 1.0] * 3


def spectrum_model():
    return sum((lineshapes.model("pseudo_voigt", prefix=f"p{k}_") for k in range(3)),
               lineshapes.model("linear"))


def numpy_spectrum(x, slope, intercept, *peaks):
    total = lineshapes.linear(x, slope, intercept)
    for k in range(3):
        total = total + lineshapes.pseudo_voigt(x, *peaks[4 * k:4 * k + 4])
    return total


def test_names_are_prefixed_and_in_order():
    spec = spectrum_model()
    assert spec.param_names[:2] == ("slope", "intercept")
    assert spec.param_names[2:6] == ("p0_amplitude", "p0_center", "p0_sigma", "p0_fraction")
    assert spec.n_params == 14 and spec.has_jacobian


def _c(model, p, jacobian):
    """The model's own C kernel at p (value (m,) or Jacobian (m, n))."""
    out = model._compiled.evaluate(np.ascontiguousarray(p)[np.newaxis], X.reshape(1, 1, -1),
                                   jacobian)
    return out.reshape(X.size, -1) if jacobian else out[0]


def test_value_and_jacobian_are_the_components_bit_for_bit():
    """In C: the composite's value is the components' summed in order, its Jacobian their
    columns; in NumPy (the twins) alike; and the two agree to rounding."""
    spec = spectrum_model()
    parts = [lineshapes.model("linear")] + [lineshapes.model("pseudo_voigt")] * 3
    spans = [(0, 2), (2, 6), (6, 10), (10, 14)]
    for kernel in (_c, lambda m, p, jac: m.jac(X, *p) if jac else m(X, *p)):
        total = None
        for part, (a, b) in zip(parts, spans):
            value = kernel(part, TRUTH[a:b], False)
            total = value if total is None else total + value
        np.testing.assert_array_equal(kernel(spec, TRUTH, False), total)
        jac = np.concatenate([kernel(part, TRUTH[a:b], True) for part, (a, b)
                              in zip(parts, spans)], axis=-1)
        np.testing.assert_array_equal(kernel(spec, TRUTH, True), jac)
    np.testing.assert_allclose(_c(spec, TRUTH, False), spec(X, *TRUTH), rtol=1e-13)
    np.testing.assert_allclose(_c(spec, TRUTH, True), spec.jac(X, *TRUTH), rtol=1e-12,
                               atol=1e-12 * np.abs(spec.jac(X, *TRUTH)).max())


def test_fit_agrees_with_scipy_on_the_numpy_formula():
    rng = np.random.default_rng(1)
    y = numpy_spectrum(X, *TRUTH) + rng.normal(0, 0.5, X.size)
    p0 = TRUTH * 1.05
    popt, pcov = curve_fit(spectrum_model(), X, y, p0)
    sp_popt, sp_pcov = scipy.optimize.curve_fit(numpy_spectrum, X, y, p0)
    np.testing.assert_allclose(popt, sp_popt, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(pcov)), np.sqrt(np.diag(sp_pcov)), rtol=1e-4)


def test_batch_with_bounds_fixed_and_poisson_is_single_bit_for_bit():
    spec = spectrum_model()
    rng = np.random.default_rng(2)
    y = rng.poisson(spec(X, *TRUTH), (8, X.size)).astype(float)
    kwargs = {"bounds": (LOWER, UPPER), "fixed": ["slope"], "estimator": "poisson"}
    res = curve_fit_batch(spec, X, y, TRUTH * 1.05, **kwargs)
    assert res.success.all()
    assert np.all(res.popt[:, 0] == TRUTH[0] * 1.05) and not res.pcov[:, 0].any()
    for i in (0, 5):
        popt, pcov, info, _, ier = curve_fit(spec, X, y[i], TRUTH * 1.05, jac=spec.jac,
                                             full_output=True, **kwargs)
        np.testing.assert_array_equal(res.popt[i], popt)
        np.testing.assert_array_equal(res.pcov[i], pcov)
        assert res.nfev[i] == info["nfev"] and res.ier[i] == ier


def test_component_without_jacobian_makes_a_forward_difference_composite():
    f, _ = _models._capsules("lineshapes.gaussian")
    no_jac = models.from_cfunc("g", lineshapes.PARAMS["gaussian"], f)
    composite = no_jac + lineshapes.model("linear")
    assert not composite.has_jacobian
    y = composite(X, 30.0, 50.0, 5.0, 0.02, 1.0)
    popt, _ = curve_fit(composite, X, y, [25.0, 48.0, 6.0, 0.0, 0.5])
    np.testing.assert_allclose(popt, [30.0, 50.0, 5.0, 0.02, 1.0], rtol=1e-6, atol=1e-8)


def test_user_component_keeps_its_ctx():
    """A from_cfunc component with its own ctx (a ctypes double) inside a composite."""
    slope = (ctypes.c_double * 1)(0.5)
    # the built-in linear baseline's C functions, given a ctx they ignore
    f, jac = _models._capsules("lineshapes.linear")
    user = models.from_cfunc("user_line", ("u_slope", "u_intercept"), f, jac, ctx=slope)
    composite = lineshapes.model("gaussian") + user
    p = (10.0, 50.0, 3.0, 0.01, 1.0)
    np.testing.assert_array_equal(
        composite(X, *p), lineshapes.model("gaussian")(X, *p[:3]) + user(X, *p[3:]))


def test_repeated_names_and_mixed_x_dims_are_refused():
    with pytest.raises(ValueError, match="prefix"):
        lineshapes.model("gaussian") + lineshapes.model("gaussian")
    with pytest.raises(ValueError, match="x_dims"):
        models.gaussian_2d + lineshapes.model("constant")
    with pytest.raises(TypeError, match="prefix"):
        lineshapes.model("gaussian").prefixed(3)


@pytest.mark.parametrize("names", [("gaussian", "gaussian"), ("voigt", "pseudo_voigt"),
                                   ("lorentzian", "voigt"), ("lorentzian", "linear")])
def test_joint_evaluation_is_value_and_jacobian_bit_for_bit(names):
    """A fit takes a composite's value and Jacobian from one joint evaluation (fj) where a
    component has one: the same numbers as the value and the Jacobian evaluated apart."""
    model = lineshapes.model(names[0], prefix="a_") + lineshapes.model(names[1], prefix="b_")
    rng = np.random.default_rng(7)
    p = np.abs(rng.normal(1.0, 0.3, (3, len(model.param_names))))
    x = np.linspace(-5.0, 5.0, 101).reshape(1, 1, -1)
    values, jacobian = model._compiled.evaluate_joint(p, x)
    assert np.array_equal(values, model._compiled.evaluate(p, x, False))
    assert np.array_equal(jacobian, model._compiled.evaluate(p, x, True))
