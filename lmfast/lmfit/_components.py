"""lmfit models as compiled lmfast models.

An lmfit model is a sum (``+``) of components; each component is one of lmfit's built-in
models (or ``lmfit.Model`` of one of lmfit's lineshape functions) with a prefix.  Each
becomes the compiled lineshape of the same formula (``lmfast.lineshapes``, whose
functions are lmfit's to rounding) or lmfast's polynomial, under the same parameter
names; the composite is assembled in C.
"""
import operator

from lmfast import lineshapes, models

__all__ = ["SUPPORTED", "UnsupportedModel", "compile_model"]

# lmfit.lineshapes function name -> lmfast.lineshapes name (same parameters, same order)
_LINESHAPES = {
    "gaussian": "gaussian",
    "lorentzian": "lorentzian",
    "voigt": "voigt",
    "pvoigt": "pseudo_voigt",
    "pearson7": "pearson7",
    "expgaussian": "exponential_gaussian",
    "doniach": "doniach",
    "linear": "linear",
    "exponential": "exponential",
    "skewed_gaussian": "skewed_gaussian",
    "step": "step",
    "rectangle": "rectangle",
}

# lmfit's form of a step or rectangle -> the compiled lineshape's suffix (smooth forms only)
_FORMS = {"erf": "erf", "atan": "atan", "arctan": "atan", "logistic": "logistic"}

#: The lmfit models the bridge compiles.
SUPPORTED = ("GaussianModel", "LorentzianModel", "VoigtModel", "PseudoVoigtModel",
             "Pearson7Model", "ExponentialGaussianModel", "DoniachModel",
             "SkewedGaussianModel", "ConstantModel", "LinearModel", "QuadraticModel",
             "PolynomialModel", "ExponentialModel", "StepModel", "RectangleModel")


class UnsupportedModel(TypeError):
    """An lmfit model (or a way of combining models) the bridge has no compiled form of."""


def components_of(model):
    """The components of an lmfit model, in order; UnsupportedModel for an operator
    other than ``+``."""
    from lmfit.model import CompositeModel

    if isinstance(model, CompositeModel):
        if model.op is not operator.add:
            op = getattr(model.op, "__name__", repr(model.op))
            raise UnsupportedModel(
                f"lmfast.lmfit compiles sums of models; this model combines "
                f"{model.left.name} and {model.right.name} with {op!r}")
        return [*components_of(model.left), *components_of(model.right)]
    return [model]


def compile_component(component):
    """(lmfast Model, lmfit names of its parameters in the Model's order) of one lmfit
    component."""
    kind = type(component).__name__
    prefix = component.prefix
    func = getattr(component, "func", None)
    where = f"{kind} (prefix {prefix!r})"
    func_name = getattr(func, "__name__", None)
    options = dict(component.opts)
    form = options.pop("form", None) if func_name in ("step", "rectangle") else None
    independent = [v for v in component.independent_vars if v != "form" or form is None]
    if independent != ["x"] or options:
        raise UnsupportedModel(
            f"{where}: lmfast.lmfit compiles models of one independent variable 'x' and "
            f"no options; this one has independent_vars={component.independent_vars} and "
            f"options {component.opts}")
    if form is not None and form not in _FORMS:
        raise UnsupportedModel(
            f"{where}: form {form!r} has no compiled form (its kinks defeat a "
            f"Levenberg-Marquardt fit); lmfast.lmfit compiles the smooth forms "
            f"{', '.join(repr(f) for f in _FORMS)}")
    if kind == "QuadraticModel":
        return (models.polynomial(2).prefixed(prefix),
                [prefix + "c", prefix + "b", prefix + "a"])
    if kind == "PolynomialModel":
        degree = component.poly_degree
        return (models.polynomial(degree).prefixed(prefix),
                [f"{prefix}c{k}" for k in range(degree + 1)])
    if kind == "ConstantModel":
        return lineshapes.model("constant", prefix), [prefix + "c"]
    name = _LINESHAPES.get(func_name)
    if form is not None:
        name = f"{name}_{_FORMS[form]}"
    if name is None or getattr(func, "__module__", None) != "lmfit.lineshapes":
        raise UnsupportedModel(
            f"{where} has no compiled form in lmfast; lmfast.lmfit compiles "
            f"{', '.join(SUPPORTED)} (and lmfit.Model of their lmfit.lineshapes "
            "functions)")
    compiled = lineshapes.model(name, prefix)
    expected = sorted(compiled.param_names)
    own = sorted(prefix + arg for arg in component._func_allargs
                 if arg not in component.independent_vars and arg != "form")
    if own != expected:
        raise UnsupportedModel(f"{where}: parameters {own}, expected {expected}")
    return compiled, list(compiled.param_names)


def compile_model(model):
    """(composite lmfast Model, lmfit names of its parameters in its order) of an lmfit
    model."""
    parts = [compile_component(c) for c in components_of(model)]
    compiled = parts[0][0]
    for part, _ in parts[1:]:
        compiled = compiled + part
    names = [name for _, part_names in parts for name in part_names]
    return compiled, names
