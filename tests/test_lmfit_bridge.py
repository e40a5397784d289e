"""lmfast.lmfit: lmfit models and Parameters fitted by the compiled batch.

Every reference here is lmfit's own: its lineshapes (``model.eval``), its
``Model.fit(method='leastsq')`` per spectrum, its ``fit_report``.  The affine tie model
(``lmfast._model.affine``) is checked against lmfit's evaluation of the tied model and
against central differences of its own value.
"""

import pickle

import lmfit
import lmfit.models as lm
import numpy as np
import pytest

from lmfast import lineshapes
from lmfast._model import affine
from lmfast.lmfit import TieError, UnsupportedModel, compiled_model, fit_batch
from lmfast.lmfit._components import compile_model

X_SHAPES = np.linspace(-20.0, 30.0, 2001)

# lmfit model class -> parameters at which its lineshape is compared
SHAPES = {
    lm.GaussianModel: {"amplitude": 3.2, "center": 1.3, "sigma": 2.1},
    lm.LorentzianModel: {"amplitude": 3.2, "center": 1.3, "sigma": 2.1},
    lm.VoigtModel: {"amplitude": 3.2, "center": 1.3, "sigma": 2.1, "gamma": 0.7},
    lm.PseudoVoigtModel: {"amplitude": 3.2, "center": 1.3, "sigma": 2.1, "fraction": 0.3},
    lm.Pearson7Model: {"amplitude": 3.2, "center": 1.3, "sigma": 2.1, "expon": 1.7},
    lm.ExponentialGaussianModel: {"amplitude": 3.2, "center": 1.3, "sigma": 2.1, "gamma": 0.6},
    lm.DoniachModel: {"amplitude": 3.2, "center": 1.3, "sigma": 2.1, "gamma": 0.2},
    lm.ConstantModel: {"c": 1.7},
    lm.LinearModel: {"slope": 0.3, "intercept": -1.2},
    lm.QuadraticModel: {"a": 0.01, "b": 0.3, "c": -1.2},
    lm.PolynomialModel: {"c0": 1.0, "c1": 0.2, "c2": -0.01, "c3": 0.001},
    lm.ExponentialModel: {"amplitude": 3.2, "decay": 7.0},
    lm.SkewedGaussianModel: {"amplitude": 3.2, "center": 1.3, "sigma": 2.1, "gamma": -1.5},
    **{(lm.StepModel, form): {"amplitude": 3.2, "center": 1.3, "sigma": 2.1}
       for form in ("erf", "atan", "arctan", "logistic")},
    **{(lm.RectangleModel, form): {"amplitude": 3.2, "center1": -5.0, "sigma1": 2.1,
                                   "center2": 8.0, "sigma2": 0.9}
       for form in ("erf", "atan", "logistic")},
}


def make(cls, prefix="q_"):
    if isinstance(cls, tuple):
        cls, form = cls
        return cls(prefix=prefix, form=form)
    return cls(prefix=prefix, degree=3) if cls is lm.PolynomialModel else cls(prefix=prefix)


def name_of(cls):
    return f"{cls[0].__name__}-{cls[1]}" if isinstance(cls, tuple) else cls.__name__


@pytest.mark.parametrize("cls", list(SHAPES), ids=name_of)
def test_each_compiled_lineshape_equals_lmfits(cls):
    model = make(cls)
    params = model.make_params(**SHAPES[cls])
    reference = model.eval(params, x=X_SHAPES)
    compiled, names = compile_model(model)
    value = compiled(X_SHAPES, *[params[n].value for n in names])
    scale = np.max(np.abs(reference))
    assert np.max(np.abs(value - reference)) <= 1e-12 * scale


# --------------------------------------------------------------------------------------
# A Raman-like set: 3 Gaussian peaks on a sloped background, with ties and a bound
# --------------------------------------------------------------------------------------

X = np.linspace(0.0, 1000.0, 512)


def raman_model():
    return (lm.GaussianModel(prefix="p0_") + lm.GaussianModel(prefix="p1_")
            + lm.GaussianModel(prefix="p2_") + lm.LinearModel())


def raman_params(model):
    params = model.make_params(p0_amplitude=900, p0_center=300, p0_sigma=15,
                               p1_amplitude=1500, p1_center=500, p1_sigma=10,
                               p2_amplitude=700, p2_center=700, p2_sigma=10,
                               slope=0.002, intercept=1.0)
    params["p2_sigma"].expr = "p1_sigma"                 # same width
    params["p2_center"].expr = "p1_center + 200"         # a fixed Raman shift apart
    params["p0_amplitude"].set(min=0.0, max=1e4)          # a bound, through the transform
    return params


def raman_data(n_spectra, seed=0):
    rng = np.random.default_rng(seed)
    model = raman_model()
    truth = raman_params(model)
    rows = []
    for _ in range(n_spectra):
        t = truth.copy()
        t["p0_amplitude"].value = 900 * rng.uniform(0.7, 1.3)
        t["p0_center"].value = 300 + rng.normal(0, 3)
        t["p1_amplitude"].value = 1500 * rng.uniform(0.7, 1.3)
        t["p1_center"].value = 500 + rng.normal(0, 3)
        t["p1_sigma"].value = 10 * rng.uniform(0.9, 1.1)
        t["p2_amplitude"].value = 700 * rng.uniform(0.7, 1.3)
        rows.append(model.eval(t, x=X) + rng.normal(0.0, 0.3, X.size))
    return np.array(rows)


@pytest.fixture(scope="module")
def raman():
    model = raman_model()
    params = raman_params(model)
    data = raman_data(50)
    result = fit_batch(model, params, data, x=X)
    references = [model.fit(row, params, x=X, method="leastsq") for row in data]
    return model, params, data, result, references


def test_every_spectrum_equals_lmfits_leastsq_fit(raman):
    _, params, _, result, references = raman
    assert result.param_names == tuple(params)   # all of them, tied and derived too
    agree = 0
    for i, ref in enumerate(references):
        values = np.array([ref.params[n].value for n in result.param_names])
        errors = np.array([ref.params[n].stderr for n in result.param_names])
        ok = (np.allclose(result.values[i], values, rtol=1e-6, atol=0)
              and np.allclose(result.stderr[i], errors, rtol=1e-3, atol=0)
              and result.success[i] == ref.success
              and np.isclose(result.chisqr[i], ref.chisqr, rtol=1e-9)
              and np.isclose(result.redchi[i], ref.redchi, rtol=1e-9))
        agree += ok
    assert agree >= 0.98 * len(references)


def test_ties_hold_inside_the_fit(raman):
    _, _, _, result, _ = raman
    col = {n: j for j, n in enumerate(result.param_names)}
    assert result.var_names == ("p0_amplitude", "p0_center", "p0_sigma", "p1_amplitude",
                                "p1_center", "p1_sigma", "p2_amplitude", "slope",
                                "intercept")
    assert result.batch.popt.shape == (50, 9)       # the fit iterates on the free ones
    v = result.values
    np.testing.assert_array_equal(v[:, col["p2_sigma"]], v[:, col["p1_sigma"]])
    np.testing.assert_allclose(v[:, col["p2_center"]], v[:, col["p1_center"]] + 200,
                               rtol=1e-15)
    # a tied parameter's stderr is its free parameter's
    np.testing.assert_array_equal(result.stderr[:, col["p2_sigma"]],
                                  result.stderr[:, col["p1_sigma"]])


def test_one_spectrum_as_lmfit_parameters(raman):
    model, params, _, result, references = raman
    mine, ref = result.params(3), references[3].params
    for name in params:
        assert mine[name].value == pytest.approx(ref[name].value, rel=1e-6)
        assert mine[name].stderr == pytest.approx(ref[name].stderr, rel=1e-3)
    for name in result.var_names:
        for other, c in ref[name].correl.items():
            assert mine[name].correl[other] == pytest.approx(c, abs=1e-3)
    for stat in ("chisqr", "redchi", "aic", "bic"):
        assert getattr(result, stat)[3] == pytest.approx(getattr(references[3], stat),
                                                         rel=1e-8)
    assert (result.ndata, result.nvarys) == (references[3].ndata, references[3].nvarys)
    report = lmfit.fit_report(mine)
    assert "p2_center" in report and "== 'p1_center + 200'" in report
    np.testing.assert_allclose(model.eval(mine, x=X), references[3].best_fit, rtol=1e-6,
                               atol=1e-6)
    # the user's Parameters are untouched
    assert params["p1_sigma"].value == 10 and params["p1_sigma"].stderr is None


# --------------------------------------------------------------------------------------
# Fixed parameters, weights, the default Voigt tie, per-spectrum x
# --------------------------------------------------------------------------------------


def test_fixed_parameter_and_weights_match_lmfit():
    model = lm.VoigtModel(prefix="v_") + lm.ConstantModel()
    params = model.make_params(v_amplitude=40, v_center=1.0, v_sigma=0.8, c=0.5)
    params["c"].vary = False                             # fixed
    x = np.linspace(-10, 10, 300)
    rng = np.random.default_rng(5)
    truth = model.eval(params, x=x)                      # gamma tied to sigma (lmfit's hint)
    data = truth * rng.uniform(0.8, 1.2, (6, 1)) + rng.normal(0, 0.05, (6, x.size))
    weights = 1.0 / (0.05 + 0.02 * np.abs(x))
    result = fit_batch(model, params, data, x=x, weights=weights)
    col = {n: j for j, n in enumerate(result.param_names)}
    assert result.var_names == ("v_amplitude", "v_center", "v_sigma")
    for i, row in enumerate(data):
        ref = model.fit(row, params, x=x, weights=weights, method="leastsq")
        for name in ("v_amplitude", "v_center", "v_sigma", "v_gamma", "c"):
            assert result.values[i, col[name]] == pytest.approx(ref.params[name].value,
                                                                rel=1e-6)
            assert result.stderr[i, col[name]] == pytest.approx(ref.params[name].stderr,
                                                                rel=1e-3, abs=0)
        assert result.chisqr[i] == pytest.approx(ref.chisqr, rel=1e-9)
    assert (result.values[:, col["c"]] == 0.5).all() and (result.stderr[:, col["c"]] == 0).all()


def test_quadratic_and_polynomial_background_and_x_per_spectrum():
    model = lm.LorentzianModel(prefix="l_") + lm.QuadraticModel(prefix="q_")
    params = model.make_params(l_amplitude=30, l_center=2.0, l_sigma=0.7, q_a=0.01, q_b=-0.1,
                               q_c=2.0)
    rng = np.random.default_rng(2)
    xs = np.sort(rng.uniform(-8, 8, (4, 200)), axis=1)
    data = np.array([model.eval(params, x=xr) + rng.normal(0, 0.02, 200) for xr in xs])
    start = params.copy()
    start["l_center"].value = 1.5
    result = fit_batch(model, start, data, x=xs)
    col = {n: j for j, n in enumerate(result.param_names)}
    for i in range(4):
        ref = model.fit(data[i], start, x=xs[i], method="leastsq")
        for name in ("l_amplitude", "l_center", "l_sigma", "q_a", "q_b", "q_c"):
            assert result.values[i, col[name]] == pytest.approx(ref.params[name].value,
                                                                rel=1e-6)


# --------------------------------------------------------------------------------------
# What the bridge refuses, and says so
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("expr", ["p0_sigma * p0_center", "sqrt(p0_sigma)", "p0_height",
                                  "1 / p0_sigma", "p0_sigma if p0_center else 1"])
def test_an_expression_that_is_not_affine_names_itself_and_its_parameter(expr):
    model = raman_model()
    params = raman_params(model)
    params["p1_sigma"].expr = expr
    with pytest.raises(TieError, match=r"p1_sigma") as info:
        fit_batch(model, params, raman_data(2), x=X)
    assert repr(expr) in str(info.value)


def test_a_cycle_of_expressions_is_refused():
    model = raman_model()
    params = raman_params(model)
    params["p1_sigma"].expr = "p0_sigma"
    params["p0_sigma"].set(expr="p2_sigma")
    with pytest.raises(TieError, match="cycle"):
        compiled_model(model, params)


@pytest.mark.parametrize("build, named", [
    (lambda: lm.MoffatModel(prefix="m_") + lm.LinearModel(), "MoffatModel"),
    (lambda: lm.StepModel(form="linear"), "StepModel.*'linear'"),
    (lambda: lm.GaussianModel() * lm.LinearModel(prefix="b_"), "mul"),
    (lambda: lmfit.Model(lambda x, a: a * x), "Model"),
])
def test_an_unsupported_model_is_named(build, named):
    model = build()
    with pytest.raises(UnsupportedModel, match=named):
        compiled_model(model, model.make_params())


# --------------------------------------------------------------------------------------
# The affine tie model itself
# --------------------------------------------------------------------------------------


def tied_pair():
    inner = lineshapes.model("gaussian", "a_") + lineshapes.model("gaussian", "b_")
    # b_amplitude = 2 a_amplitude, b_center = a_center + 5, b_sigma = a_sigma
    matrix = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    offset = np.array([0, 0, 0, 0, 5.0, 0])
    return affine(inner, matrix, offset, ["amp", "cen", "sig"])


def test_affine_model_is_lmfits_tied_model_and_its_jacobian_its_derivative():
    tied = tied_pair()
    model = lm.GaussianModel(prefix="a_") + lm.GaussianModel(prefix="b_")
    params = model.make_params(a_amplitude=1.5, a_center=0.3, a_sigma=0.7)
    params["b_amplitude"].expr = "2*a_amplitude"
    params["b_center"].expr = "a_center + 5"
    params["b_sigma"].expr = "a_sigma"
    x = np.linspace(-5, 10, 300)
    p = np.array([1.5, 0.3, 0.7])
    np.testing.assert_allclose(tied(x, *p), model.eval(params, x=x), rtol=1e-14, atol=1e-15)
    jac = tied._compiled.evaluate(p[np.newaxis], x.reshape(1, 1, -1), True).reshape(300, 3)
    for a in range(3):
        h = np.zeros(3)
        h[a] = 1e-6
        central = (tied(x, *(p + h)) - tied(x, *(p - h))) / 2e-6
        np.testing.assert_allclose(jac[:, a], central, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tied.jac(x, *p), jac, rtol=1e-13, atol=1e-15)
    clone = pickle.loads(pickle.dumps(tied))
    np.testing.assert_array_equal(clone(x, *p), tied(x, *p))


# --------------------------------------------------------------------------------------
# The documentation's examples
# --------------------------------------------------------------------------------------


def test_module_docstring_example():
    import doctest

    import lmfast.lmfit

    failures, tried = doctest.testmod(lmfast.lmfit, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


def test_user_guide_example_runs_and_matches_lmfit():
    import pathlib
    import re

    guide = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "user_guide"
             / "lmfit.md")
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), re.DOTALL)
    code = next(b for b in blocks if "from lmfast.lmfit import fit_batch" in b)
    model = lm.GaussianModel(prefix="p0_") + lm.GaussianModel(prefix="p1_") + lm.LinearModel()
    truth = model.make_params(p0_amplitude=9, p0_center=-1.8, p0_sigma=0.6, p1_amplitude=6,
                              p1_center=2.4, p1_sigma=0.6, slope=0.1, intercept=0.3)
    x = np.linspace(-6, 6, 240)
    rng = np.random.default_rng(9)
    data = model.eval(truth, x=x) + rng.normal(0, 0.05, (3, x.size))
    namespace = {"data": data, "x": x}
    exec(compile(code, str(guide), "exec"), namespace)  # noqa: S102 - the guide's example
    result, params = namespace["result"], namespace["params"]
    for i in range(3):
        ref = model.fit(data[i], params, x=x, method="leastsq")
        expected = [ref.params[n].value for n in result.param_names]
        np.testing.assert_allclose(result.values[i], expected, rtol=1e-6)


def test_skewed_gaussian_on_a_smooth_step_matches_lmfit():
    model = lm.SkewedGaussianModel(prefix="s_") + lm.StepModel(prefix="e_", form="erf")
    truth = model.make_params(s_amplitude=20, s_center=1.0, s_sigma=1.5, s_gamma=2.0,
                              e_amplitude=3.0, e_center=-2.0, e_sigma=1.2)
    x = np.linspace(-10, 10, 400)
    rng = np.random.default_rng(11)
    data = model.eval(truth, x=x) + rng.normal(0, 0.03, (4, x.size))
    start = truth.copy()
    for name, value in (("s_center", 0.5), ("s_gamma", 1.0), ("e_center", -1.5)):
        start[name].value = value
    start["e_sigma"].set(expr="s_sigma - 0.3")
    result = fit_batch(model, start, data, x=x)
    for i in range(4):
        ref = model.fit(data[i], start, x=x, method="leastsq")
        np.testing.assert_allclose(result.values[i],
                                   [ref.params[n].value for n in result.param_names],
                                   rtol=1e-6)
        np.testing.assert_allclose(result.stderr[i],
                                   [ref.params[n].stderr for n in result.param_names],
                                   rtol=1e-3)


@pytest.mark.parametrize("kwargs, match", [
    ({"data": np.ones(512)}, "data must be 2-D"),
    ({"x": np.ones(10)}, r"x must have shape \(m,\) = \(512,\)"),
    ({"weights": np.ones(7)}, "weights must be a scalar"),
    ({"data": np.ones((2, 512), dtype=complex)}, "data must hold real numbers"),
])
def test_bad_arrays_are_named(kwargs, match):
    model = raman_model()
    arguments = {"data": np.ones((2, 512)), "x": X}
    arguments.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        fit_batch(model, raman_params(model), arguments["data"], x=arguments["x"],
                  weights=arguments.get("weights"))


def test_a_tied_value_beyond_its_bounds_is_reported():
    model = raman_model()
    params = raman_params(model)
    params["p2_sigma"].set(max=9.0)    # tied to p1_sigma, which fits to about 10
    with pytest.warns(RuntimeWarning, match=r"p2_sigma \(4 spectra\)"):
        result = fit_batch(model, params, raman_data(4), x=X)
    assert result.success.all()


def test_threads_do_not_change_the_answer():
    model = raman_model()
    params = raman_params(model)
    data = raman_data(24, seed=4)
    one = fit_batch(model, params, data, x=X, threads=1)
    two = fit_batch(model, params, data, x=X, threads=2)
    np.testing.assert_array_equal(one.values, two.values)
    np.testing.assert_array_equal(one.stderr, two.stderr)
    np.testing.assert_array_equal(one.ier, two.ier)


def test_constants_in_a_tie_are_lmfits_numbers():
    model = raman_model()
    params = raman_params(model)
    params["p2_sigma"].expr = "p1_sigma * sqrt(2*log(2)) / 2 + pi - pi"
    _, _, forms = compiled_model(model, params)
    assert forms["p2_sigma"].coefs == {"p1_sigma": pytest.approx(np.sqrt(2 * np.log(2)) / 2)}
    assert forms["p2_sigma"].const == pytest.approx(0.0, abs=1e-15)
    params["p2_sigma"].expr = "p1_sigma + undefined_name"
    with pytest.raises(TieError, match="'undefined_name' is neither a parameter nor a number"):
        compiled_model(model, params)


def test_the_example_runs():
    import os
    import pathlib
    import re
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "examples" / "lmfit_bridge.py"),
                           "--spectra", "20"], capture_output=True, text=True, check=False,
                          cwd=root, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert "20 spectra, 20 converged" in done.stdout
    mine, theirs = re.search(r"lmfast ([\d.]+) \+/- [\d.]+, lmfit ([\d.]+)",
                             done.stdout).groups()
    assert float(mine) == pytest.approx(float(theirs), rel=1e-8)
    assert "== 'p1_center + 200'" in done.stdout
