"""lmfit Parameters as an affine map of the free parameters.

Every parameter is written ``value = sum(coef * free) + const`` over the free ones (vary,
no ``expr``): a free parameter is itself, a fixed one its value, a tied one its ``expr``
read as such a sum (parameter names, ``+ -``, products and quotients by constants; a
constant may be any subexpression without parameters, ``pi`` or ``sqrt(2*log(2))``,
evaluated by lmfit's interpreter), names resolved recursively.  The parameters the model
needs must all be affine (their rows make the fit's ``A`` and ``b``); the others (lmfit's
derived ``fwhm``, ``height``) may be any expression lmfit evaluates, and are evaluated
after the fit, for all spectra at once (:func:`derived_values`).
"""
import ast
import functools
from typing import NamedTuple

import numpy as np

__all__ = ["Affine", "TieError", "affine_forms", "derived_values", "tie_error"]

_AFFINE_HELP = ("the bridge compiles affine ties: sums of parameters times constants plus "
                "constants, e.g. 'p1_sigma', '2*p0_amplitude', 'p2_center + 12.5'")


class TieError(ValueError):
    """A parameter's ``expr`` the bridge cannot compile into the fit."""


class Affine(NamedTuple):
    """``sum(coefs[name] * free[name]) + const``."""

    coefs: dict
    const: float

    def __add__(self, other):
        coefs = dict(self.coefs)
        for name, c in other.coefs.items():
            coefs[name] = coefs.get(name, 0.0) + c
        return Affine(coefs, self.const + other.const)

    def scaled(self, k):
        return Affine({name: k * c for name, c in self.coefs.items()}, k * self.const)

    @property
    def is_constant(self):
        return not any(self.coefs.values())


class _NotAffine(Exception):
    """Raised inside the parser; becomes a TieError naming the parameter."""


def affine_forms(params):
    """The affine form of every parameter of ``params`` (lmfit Parameters).

    Returns
    -------
    forms : dict
        {name: Affine, or None where the parameter's expr is not affine (a derived
        parameter; an error if the model needs it, see :func:`tie_error`)}.
    reasons : dict
        {name: why its expr is not affine} for the None entries.

    Raises
    ------
    TieError
        For expressions that form a cycle.
    """
    forms = {}
    reasons = {}
    resolving = []

    def resolve(name):
        if name in forms:
            return forms[name]
        par = params[name]
        if par.expr is None:
            form = Affine({name: 1.0}, 0.0) if par.vary else Affine({}, float(par.value))
            forms[name] = form
            return form
        if name in resolving:
            cycle = " -> ".join([*resolving[resolving.index(name):], name])
            raise TieError(f"the expressions of the parameters form a cycle: {cycle}")
        resolving.append(name)
        try:
            form = _parse(par.expr, resolve, params)
        except _NotAffine as exc:
            form = None
            reasons[name] = str(exc)
        finally:
            resolving.pop()
        forms[name] = form
        return form

    for name in params:
        resolve(name)
    return forms, reasons


def tie_error(name, params, reasons):
    """The TieError for the model parameter ``name``, whose expr is not affine."""
    return TieError(f"cannot compile the expression {params[name].expr!r} of parameter "
                    f"{name!r} into the fit: {reasons.get(name, 'not affine')}; "
                    f"{_AFFINE_HELP}")


def _parse(expr, resolve, params):
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise _NotAffine(f"not a valid expression ({exc.msg})") from None
    return _affine(tree.body, resolve, params)


_LINEAR_OPS = {ast.Add: 1.0, ast.Sub: -1.0}


def _affine(node, resolve, params):
    """The Affine of an expression node (recursing), or _NotAffine saying why not."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Affine({}, float(node.value))
    if not any(isinstance(n, ast.Name) and n.id in params for n in ast.walk(node)):
        return Affine({}, _constant(node, params))
    if isinstance(node, ast.Name):
        if node.id not in params:
            raise _NotAffine(f"{node.id!r} is not a parameter")
        form = resolve(node.id)
        if form is None:
            raise _NotAffine(f"it uses {node.id!r}, which is not affine in the free "
                             "parameters")
        return form
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        inner = _affine(node.operand, resolve, params)
        return inner if isinstance(node.op, ast.UAdd) else inner.scaled(-1.0)
    if isinstance(node, ast.BinOp):
        left = _affine(node.left, resolve, params)
        right = _affine(node.right, resolve, params)
        if type(node.op) in _LINEAR_OPS:
            return left + right.scaled(_LINEAR_OPS[type(node.op)])
        if isinstance(node.op, ast.Mult):
            if left.is_constant:
                return right.scaled(left.const)
            if right.is_constant:
                return left.scaled(right.const)
            raise _NotAffine("a product of two parameters")
        if isinstance(node.op, ast.Div):
            if right.is_constant and right.const != 0.0:
                return left.scaled(1.0 / right.const)
            raise _NotAffine("a division by a parameter (or by zero)")
        if isinstance(node.op, ast.Pow) and left.is_constant and right.is_constant:
            return Affine({}, float(left.const ** right.const))
        raise _NotAffine(f"the operator {type(node.op).__name__}")
    raise _NotAffine(f"{ast.unparse(node)!r} is not a sum of constants times parameters")


def _constant(node, params):
    """The value of a subexpression without parameters (``pi``, ``sqrt(2*log(2))``), by
    lmfit's own interpreter; _NotAffine unless it is a finite real number."""
    text = ast.unparse(node)
    interp = params._asteval
    interp.error = []
    value = interp.eval(text, show_errors=False)
    failed = bool(interp.error)
    interp.error = []
    if failed or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value):
        raise _NotAffine(f"{text!r} is neither a parameter nor a number")
    return float(value)


# --------------------------------------------------------------------------------------
# Derived parameters: any expression lmfit's interpreter evaluates, for all spectra
# --------------------------------------------------------------------------------------


def _reduce(ufunc):
    return lambda *args: functools.reduce(ufunc, args)


def derived_values(params, names, known):
    """The values of the parameters ``names`` (whose expr is not affine) given ``known``
    {name: array} of the others (all of one shape), evaluated by lmfit's own expression
    interpreter (asteval, lmfit's symbols) on arrays; ``max``/``min`` work elementwise.
    Returns {name: array of that shape}; raises TieError naming the parameter when one
    cannot be evaluated."""
    from asteval import Interpreter

    source = params._asteval.symtable
    interp = Interpreter(minimal=False)
    for key, value in source.items():
        if callable(value) or isinstance(value, (int, float, complex)):
            interp.symtable[key] = value
    interp.symtable["max"] = _reduce(np.maximum)
    interp.symtable["min"] = _reduce(np.minimum)
    interp.symtable.update(known)
    out = {}
    pending = list(names)
    while pending:
        progress = False
        for name in list(pending):
            needed = {n.id for n in ast.walk(ast.parse(params[name].expr, mode="eval"))
                      if isinstance(n, ast.Name) and n.id in params}
            if not needed <= set(interp.symtable) - (set(pending) - {name}):
                continue
            interp.error = []
            value = interp.eval(params[name].expr, show_errors=False)
            if interp.error:
                err = interp.error[0].get_error()
                raise TieError(f"cannot evaluate the expression {params[name].expr!r} of "
                               f"parameter {name!r} for many spectra at once: {err[1]}")
            value = np.real_if_close(np.broadcast_to(value, _length(known)))
            out[name] = interp.symtable[name] = np.asarray(value, dtype=np.float64)
            pending.remove(name)
            progress = True
        if not progress:
            raise TieError(f"cannot order the expressions of {', '.join(pending)}")
    return out


def _length(known):
    return next(iter(known.values())).shape if known else ()

