"""Built-in fit models: compiled for ``curve_fit_batch``, NumPy twins for everything else.

Each model is a :class:`Model`.  Called like a function it is an ordinary vectorised NumPy
model in ``scipy.optimize.curve_fit`` style, ``model(x, *params)``; ``model.jac`` is its
analytic Jacobian.  ``lmfast.curve_fit_batch`` recognises a :class:`Model` and runs its
compiled twin (``lmfast/_models.pyx``) with the GIL released.  Both implement the same
formulas, in the same order of operations, so they agree to rounding:

=======================  =============================================================
gaussian                 amplitude*exp(-(x-center)**2/(2*sigma**2)) + offset
lorentzian               amplitude/(1 + ((x-center)/gamma)**2) + offset  (gamma = HWHM)
pseudo_voigt             amplitude*(eta/(1 + 4*u**2) + (1-eta)*exp(-4*ln2*u**2)) + offset,
                         u = (x-center)/fwhm
exponential              amplitude*exp(-rate*x) + offset
gaussian_2d              amplitude*exp(-((X-x0)**2 + (Y-y0)**2)/(2*sigma**2)) + offset
gaussian_2d_elliptic     amplitude*exp(-(X-x0)**2/(2*sigma_x**2) - (Y-y0)**2/(2*sigma_y**2))
                         + offset
polynomial(degree)       c0 + c1*x + ... + c{degree}*x**degree
=======================  =============================================================

For the 2-D models ``xy`` stacks the coordinates: ``X = xy[0]``, ``Y = xy[1]``.

A model of your own C functions comes from :func:`from_cfunc` (and, able to travel to
other processes, from :func:`from_factory`).  These and :class:`Model` are public here;
they are defined in ``lmfast/_user_models.py`` and ``lmfast/_model.py``.

Examples
--------
>>> import numpy as np
>>> from lmfast import models
>>> x = np.linspace(-1.0, 1.0, 5)
>>> float(models.gaussian(x, 2.0, 0.0, 0.5, 1.0)[2])  # amplitude + offset at center
3.0
>>> models.gaussian.jac(x, 2.0, 0.0, 0.5, 1.0).shape
(5, 4)
>>> models.gaussian(x, np.array([[1.0], [2.0]]), 0.0, 0.5, 0.0).shape
(2, 5)
"""
import functools
import math

import numpy as np

from lmfast import _models, _validate
from lmfast._model import Model, registered
# Pickles of composite, prefixed and factory models written by lmfast 0.3 name these
# functions here: they still load.
from lmfast._model import _composite, _prefixed  # noqa: F401
from lmfast._user_models import C_SIGNATURE, _factory_model, from_cfunc, from_factory  # noqa: F401

__all__ = [
    "Model",
    "gaussian",
    "lorentzian",
    "pseudo_voigt",
    "exponential",
    "gaussian_2d",
    "gaussian_2d_elliptic",
    "polynomial",
    "from_cfunc",
    "from_factory",
    "C_SIGNATURE",
]

_LN2 = math.log(2.0)


# --------------------------------------------------------------------------------------
# NumPy twins.  Same operations, same order as the C kernels in _models.pyx.
# --------------------------------------------------------------------------------------

def _gaussian(x, amplitude, center, sigma, offset):
    d = x - center
    return amplitude * np.exp((d * d) * np.true_divide(-0.5, sigma * sigma)) + offset


def _gaussian_jac(x, amplitude, center, sigma, offset):
    inv_s2 = np.true_divide(1.0, sigma * sigma)
    d = x - center
    e = np.exp((d * d) * (-0.5 * inv_s2))
    dc = amplitude * e * d * inv_s2
    return e, dc, dc * d * np.true_divide(1.0, sigma), 1.0


def _lorentzian(x, amplitude, center, gamma, offset):
    u = (x - center) / gamma
    return amplitude / (1.0 + u * u) + offset


def _lorentzian_jac(x, amplitude, center, gamma, offset):
    u = (x - center) / gamma
    lor = 1.0 / (1.0 + u * u)
    dc = 2.0 * amplitude * u * (lor * lor) / gamma
    return lor, dc, dc * u, 1.0


def _pseudo_voigt(x, amplitude, center, fwhm, eta, offset):
    u = (x - center) / fwhm
    u2 = u * u
    return amplitude * (eta / (1.0 + 4.0 * u2) + (1.0 - eta) * np.exp(-((4.0 * _LN2) * u2))) \
        + offset


def _pseudo_voigt_jac(x, amplitude, center, fwhm, eta, offset):
    ceta = 1.0 - eta
    u = (x - center) / fwhm
    u2 = u * u
    lor = 1.0 / (1.0 + 4.0 * u2)
    gau = np.exp(-((4.0 * _LN2) * u2))
    dc = 8.0 * amplitude * u * (eta * (lor * lor) + ceta * _LN2 * gau) / fwhm
    return eta * lor + ceta * gau, dc, dc * u, amplitude * (lor - gau), 1.0


def _exponential(x, amplitude, rate, offset):
    return amplitude * np.exp(-(rate * x)) + offset


def _exponential_jac(x, amplitude, rate, offset):
    e = np.exp(-(rate * x))
    return e, -(amplitude * e * x), 1.0


def _gaussian_2d(X, Y, amplitude, x0, y0, sigma, offset):
    dx = X - x0
    dy = Y - y0
    return amplitude * np.exp((dx * dx + dy * dy) * np.true_divide(-0.5, sigma * sigma)) + offset


def _gaussian_2d_jac(X, Y, amplitude, x0, y0, sigma, offset):
    inv_s2 = np.true_divide(1.0, sigma * sigma)
    dx = X - x0
    dy = Y - y0
    r2 = dx * dx + dy * dy
    e = np.exp(r2 * (-0.5 * inv_s2))
    ae = amplitude * e
    return e, ae * dx * inv_s2, ae * dy * inv_s2, ae * r2 * np.true_divide(inv_s2, sigma), 1.0


def _gaussian_2d_elliptic(X, Y, amplitude, x0, y0, sigma_x, sigma_y, offset):
    dx = X - x0
    dy = Y - y0
    arg = -(dx * dx) / (2.0 * (sigma_x * sigma_x)) - (dy * dy) / (2.0 * (sigma_y * sigma_y))
    return amplitude * np.exp(arg) + offset


def _gaussian_2d_elliptic_jac(X, Y, amplitude, x0, y0, sigma_x, sigma_y, offset):
    sx2 = sigma_x * sigma_x
    sy2 = sigma_y * sigma_y
    dx = X - x0
    dy = Y - y0
    e = np.exp(-(dx * dx) / (2.0 * sx2) - (dy * dy) / (2.0 * sy2))
    ae = amplitude * e
    ddx = ae * dx / sx2
    ddy = ae * dy / sy2
    return e, ddx, ddy, ddx * dx / sigma_x, ddy * dy / sigma_y, 1.0


def _polynomial(x, *coefficients):
    # Horner, highest coefficient first, as the compiled kernel.
    value = coefficients[-1]
    for c in coefficients[-2::-1]:
        value = value * x + c
    return value


def _polynomial_jac(x, *coefficients):
    # d/dc_j = x**j by repeated multiplication (x**0 = 1), as the compiled kernel.
    columns = []
    power = 1.0
    for _ in coefficients:
        columns.append(power)
        power = power * x
    return columns


# --------------------------------------------------------------------------------------
# The models
# --------------------------------------------------------------------------------------

_DOC = """{title}

    {formula}

Parameters
----------
{x_doc}
{params} : float or array_like
    Scalars for one curve, columns of shape (K, 1) for K curves.{extra}

Returns
-------
ndarray
    Shape (m,) for scalar parameters, (K, m) for (K, 1) columns.  ``.jac`` takes the same
    arguments and returns the Jacobian, shape (m, {n}) or (K, m, {n}).

Examples
--------
>>> import numpy as np
>>> from lmfast import models
>>> {x_example}
>>> {access}({x_name}, {ones}).shape
(5,)
>>> {access}.jac({x_name}, {ones}).shape
(5, {n})
"""

_X_EXAMPLE = {
    1: ("x = np.linspace(-1.0, 1.0, 5)", "x"),
    2: ("xy = np.stack([np.linspace(-1.0, 1.0, 5), np.zeros(5)])", "xy"),
}

_X_DOC = {
    1: "x : array_like\n    Shape (m,), or (K, m) per curve.",
    2: "xy : array_like\n    Shape (2, m), or (2, K, m) per curve: X = xy[0], Y = xy[1].",
}


def _builtin(name, param_names, func, jac, title, formula, extra="", degree=None):
    """A module-level model: the registry's compiled model of that name, with its twin.

    It lives in this module, like a function defined here (``__module__``), and pickles
    as a reference to it: by name, or a polynomial by its degree.
    """
    registry_name = "polynomial" if degree is not None else name
    x_dims = _models.registry()[registry_name][2]
    x_example, x_name = _X_EXAMPLE[x_dims]
    doc = _DOC.format(title=title, formula=formula, x_doc=_X_DOC[x_dims],
                      params=", ".join(param_names), extra=extra, n=len(param_names),
                      x_example=x_example, x_name=x_name,
                      access=f"models.{name}" if degree is None else f"models.polynomial({degree})",
                      ones=", ".join(["1.0"] * len(param_names)))
    model = registered(registry_name, name, param_names, func, jac, degree=degree, doc=doc)
    model.__module__ = __name__
    model._rebuild = name if degree is None else (polynomial, (degree,))
    return model


gaussian = _builtin(
    "gaussian", ("amplitude", "center", "sigma", "offset"), _gaussian, _gaussian_jac,
    "Gaussian peak of height ``amplitude`` above ``offset`` at ``center``.",
    "amplitude * exp(-(x - center)**2 / (2 * sigma**2)) + offset",
)
lorentzian = _builtin(
    "lorentzian", ("amplitude", "center", "gamma", "offset"), _lorentzian, _lorentzian_jac,
    "Lorentzian peak of height ``amplitude`` above ``offset``; ``gamma`` is the HWHM.",
    "amplitude / (1 + ((x - center) / gamma)**2) + offset",
)
pseudo_voigt = _builtin(
    "pseudo_voigt", ("amplitude", "center", "fwhm", "eta", "offset"), _pseudo_voigt,
    _pseudo_voigt_jac,
    "Pseudo-Voigt peak: Lorentzian and Gaussian of the same FWHM, mixed by ``eta``.",
    "amplitude * (eta / (1 + 4*u**2) + (1 - eta) * exp(-4*ln2*u**2)) + offset,"
    "  u = (x - center) / fwhm",
    extra="\n    ``eta`` = 1 is a pure Lorentzian, 0 a pure Gaussian.",
)
exponential = _builtin(
    "exponential", ("amplitude", "rate", "offset"), _exponential, _exponential_jac,
    "Exponential decay (``rate`` > 0) or growth towards/from ``offset``.",
    "amplitude * exp(-rate * x) + offset",
)
gaussian_2d = _builtin(
    "gaussian_2d", ("amplitude", "x0", "y0", "sigma", "offset"), _gaussian_2d,
    _gaussian_2d_jac,
    "Round 2-D Gaussian centred at (``x0``, ``y0``).",
    "amplitude * exp(-((X - x0)**2 + (Y - y0)**2) / (2 * sigma**2)) + offset",
)
gaussian_2d_elliptic = _builtin(
    "gaussian_2d_elliptic", ("amplitude", "x0", "y0", "sigma_x", "sigma_y", "offset"),
    _gaussian_2d_elliptic, _gaussian_2d_elliptic_jac,
    "Axis-aligned elliptic 2-D Gaussian centred at (``x0``, ``y0``).",
    "amplitude * exp(-(X - x0)**2 / (2 * sigma_x**2) - (Y - y0)**2 / (2 * sigma_y**2))"
    " + offset",
)


def polynomial(degree):
    """The polynomial model of a given degree.

    ``c0 + c1*x + ... + c{degree}*x**degree``, evaluated by Horner's scheme.

    Parameters
    ----------
    degree : int
        Degree >= 0; the model has ``degree + 1`` parameters ``c0``, ..., ``c{degree}``.

    Returns
    -------
    Model
        Named ``f"polynomial{degree}"``; the same object for the same degree.

    Raises
    ------
    TypeError
        If ``degree`` is not an integer.
    ValueError
        If ``degree`` is negative.
    """
    return _polynomial_model(_validate.integer("polynomial(): degree", degree, 0))


@functools.lru_cache(maxsize=None)
def _polynomial_model(degree):
    names = tuple(f"c{j}" for j in range(degree + 1))
    terms = " + ".join(["c0"] + [f"c{j}*x" + (f"**{j}" if j > 1 else "")
                                 for j in range(1, degree + 1)])
    return _builtin(f"polynomial{degree}", names, _polynomial, _polynomial_jac,
                    f"Polynomial of degree {degree} (Horner's scheme).", terms, degree=degree)
