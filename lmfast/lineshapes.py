"""Lineshapes as spectroscopists use them: lmfit's parameters and normalisations, compiled.

Every lineshape exists twice, with the same formula evaluated in the same order: a C
kernel in ``lmfast/_lineshapes.pyx`` (value and analytic Jacobian, with the model
signature of ``lmfast.models.from_cfunc``, GIL released) and the NumPy twin below.  The
parameters, their names and their order are those of ``lmfit.lineshapes`` (peaks are
area-normalised: ``amplitude`` is the area; none has an offset, add a baseline):

=====================  ==============================  =================================
name                   parameters (in order)           formula,  d = x - center
=====================  ==============================  =================================
gaussian               amplitude, center, sigma        amplitude/(sqrt(2 pi) sigma)
                                                       * exp(-d**2/(2 sigma**2))
lorentzian             amplitude, center, sigma        (amplitude/(1 + (d/sigma)**2))
                                                       / (pi sigma)
pseudo_voigt           amplitude, center, sigma,       (1-fraction) gaussian(amplitude,
                       fraction                        center, sigma_g) + fraction
                                                       lorentzian(amplitude, center,
                                                       sigma), sigma_g = sigma/sqrt(2 ln 2)
voigt                  amplitude, center, sigma,       amplitude Re[w(z)]/(sigma sqrt(2pi)),
                       gamma                           z = (d + i gamma)/(sigma sqrt 2)
pearson7               amplitude, center, sigma,       amplitude (1 + (d/sigma)**2)**-expon
                       expon                           / (sigma B(expon - 1/2, 1/2))
doniach                amplitude, center, sigma,       amplitude/sigma**(1-gamma)
                       gamma                           * cos(pi gamma/2 + (1-gamma)
                                                       atan(d/sigma))
                                                       / (1 + (d/sigma)**2)**((1-gamma)/2)
exponential_gaussian   amplitude, center, sigma,       amplitude gamma/2 exp(a1) erfc(a2),
                       gamma                           a1 = gamma (center + gamma
                                                       sigma**2/2 - x), a2 = (center +
                                                       gamma sigma**2 - x)/(sqrt 2 sigma)
skewed_gaussian        amplitude, center, sigma,       gaussian(amplitude, center, sigma)
                       gamma                           * (1 + erf(gamma d/(sqrt 2 sigma)))
step_erf, step_atan,   amplitude, center, sigma        amplitude F(u), u = d/sigma, F =
step_logistic                                          (1 + erf u)/2, 1/2 + atan(u)/pi,
                                                       1 - 1/(1 + exp u)
rectangle_erf,         amplitude, center1, sigma1,     amplitude R, u1 = (x - center1)/sigma1,
rectangle_atan,        center2, sigma2                 u2 = (center2 - x)/sigma2, R =
rectangle_logistic                                     (erf u1 + erf u2)/2, (atan u1 +
                                                       atan u2)/pi, 1 - 1/(1 + exp u1)
                                                       - 1/(1 + exp u2)
constant               c                               c
linear                 slope, intercept                slope x + intercept
exponential            amplitude, decay                amplitude exp(-x/decay)
=====================  ==============================  =================================

``pseudo_voigt`` is lmfit's ``pvoigt`` and ``exponential_gaussian`` its ``expgaussian``;
``step_<form>`` and ``rectangle_<form>`` are its ``step`` and ``rectangle`` with
``form=<form>`` (the smooth forms: its ``'linear'`` form has kinks, no compiled twin).
lmfit guards its denominators with ``max(tiny, sigma)``; these functions do not (a
``sigma`` <= 0 gives inf or NaN, which a batch fit reports per fit).  w is the Faddeeva
function w(z) = exp(-z**2) erfc(-iz), computed in C (for ``voigt`` by a vector kernel,
``lmfast/src/simd_faddeeva.inc``, with w' for the Jacobian from the same evaluation;
about 2e-15 relative in Re w, also in the far tails), so the ``voigt`` twin calls its C
kernel; so does
``exponential_gaussian`` (NumPy has no erfc, and where exp(a1) would overflow or erfc(a2)
underflow the kernel switches to exp(-d**2/(2 sigma**2)) erfcx(a2), the same value).

Each function takes ``x`` and the parameters (scalars for one curve, columns of shape (K, 1)
for K curves) and returns the values; ``f.jac`` (also ``JACOBIANS[name]``) takes the same
arguments and returns d f / d parameters with the parameter as last axis, shape (m, n)
or (K, m, n).  :func:`model` gives the compiled lineshape as an ``lmfast.models.Model``
for ``lmfast.curve_fit_batch``.

Examples
--------
>>> import numpy as np
>>> from lmfast import lineshapes
>>> x = np.linspace(-5.0, 5.0, 11)
>>> round(float(lineshapes.gaussian(x, 1.0, 0.0, 1.0)[5]), 6)  # 1/sqrt(2 pi)
0.398942
>>> lineshapes.voigt.jac(x, 1.0, 0.0, 1.0, 0.5).shape
(11, 4)
>>> voigt = lineshapes.model("voigt")  # for lmfast.curve_fit_batch
>>> voigt.param_names
('amplitude', 'center', 'sigma', 'gamma')
"""
import functools
import math

import numpy as np

from lmfast import _lineshapes, _models
from lmfast._model import c_evaluator, jacobian_columns, registered

__all__ = [
    "JACOBIANS",
    "PARAMS",
    "constant",
    "doniach",
    "exponential",
    "exponential_gaussian",
    "gaussian",
    "linear",
    "lorentzian",
    "model",
    "pearson7",
    "pseudo_voigt",
    "rectangle_atan",
    "rectangle_erf",
    "rectangle_logistic",
    "skewed_gaussian",
    "step_atan",
    "step_erf",
    "step_logistic",
    "voigt",
]

#: {name: parameter names in order}, as the compiled table has them.
PARAMS = dict(_lineshapes.PARAMS)

# The constants of the C kernels, to the last bit.
_PI = 3.141592653589793
_SQRT2 = 1.4142135623730951
_SQRTPI = 1.7724538509055159
_SQRT2PI = 2.5066282746310002
_SQRT2LN2 = 1.1774100225154747
_TWO_OVER_SQRTPI = 1.1283791670955126


def _stack(x, params, columns):
    """Jacobian columns broadcast to the value's shape, parameter as the last axis."""
    shape = np.broadcast_shapes(np.shape(x), *(np.shape(p) for p in params))
    return np.stack([np.broadcast_to(c, shape) for c in columns], axis=-1)


@functools.cache
def _via_c(name, jacobian):
    """The C kernel of ``name`` (value, or Jacobian with the parameter as last axis) with
    NumPy broadcasting of x and the parameters."""
    return c_evaluator(_models.CompiledModel("lineshapes." + name), jacobian)


# --------------------------------------------------------------------------------------
# Peaks
# --------------------------------------------------------------------------------------

def gaussian(x, amplitude, center, sigma):
    """Gaussian peak of area ``amplitude`` (lmfit's ``gaussian``).

    ``amplitude/(sqrt(2 pi) sigma) * exp(-(x - center)**2 / (2 sigma**2))``
    """
    norm = amplitude / (_SQRT2PI * sigma)
    two_s2 = 2.0 * (sigma * sigma)
    d = x - center
    return norm * np.exp(-(d * d) / two_s2)


def _gaussian_jac(x, amplitude, center, sigma):
    k = 1.0 / (_SQRT2PI * sigma)
    s2 = sigma * sigma
    d = x - center
    g = k * np.exp(-(d * d) / (2.0 * s2))
    f = amplitude * g
    return _stack(x, (amplitude, center, sigma),
                  (g, f * d / s2, f * ((d * d) / s2 - 1.0) / sigma))


def lorentzian(x, amplitude, center, sigma):
    """Lorentzian peak of area ``amplitude`` (lmfit's ``lorentzian``).

    ``(amplitude / (1 + ((x - center)/sigma)**2)) / (pi sigma)``
    """
    u = (x - center) / sigma
    return (amplitude / (1.0 + u * u)) / (_PI * sigma)


def _lorentzian_jac(x, amplitude, center, sigma):
    u = (x - center) / sigma
    lor = 1.0 / (1.0 + u * u)
    g = lor / (_PI * sigma)
    f = amplitude * g
    return _stack(x, (amplitude, center, sigma),
                  (g, 2.0 * u * lor * f / sigma, (2.0 * (u * u) * lor - 1.0) * f / sigma))


def pseudo_voigt(x, amplitude, center, sigma, fraction):
    """Pseudo-Voigt peak of area ``amplitude`` (lmfit's ``pvoigt``).

    ``(1 - fraction) gaussian(x, amplitude, center, sigma_g)
    + fraction lorentzian(x, amplitude, center, sigma)``, ``sigma_g = sigma / sqrt(2 ln 2)``:
    both parts have the same FWHM, ``2 sigma``.
    """
    sg = sigma / _SQRT2LN2
    gnorm = amplitude / (_SQRT2PI * sg)
    two_sg2 = 2.0 * (sg * sg)
    d = x - center
    u = d / sigma
    return ((1.0 - fraction) * (gnorm * np.exp(-(d * d) / two_sg2))
            + fraction * ((amplitude / (1.0 + u * u)) / (_PI * sigma)))


def _pseudo_voigt_jac(x, amplitude, center, sigma, fraction):
    sg = sigma / _SQRT2LN2
    k = 1.0 / (_SQRT2PI * sg)
    sg2 = sg * sg
    cfr = 1.0 - fraction
    d = x - center
    u = d / sigma
    lor = 1.0 / (1.0 + u * u)
    g = k * np.exp(-(d * d) / (2.0 * sg2))
    ll = lor / (_PI * sigma)
    a = amplitude
    return _stack(x, (amplitude, center, sigma, fraction), (
        cfr * g + fraction * ll,
        a * (cfr * g * d / sg2 + fraction * ll * 2.0 * u * lor / sigma),
        a * (cfr * g * ((d * d) / sg2 - 1.0) + fraction * ll * (2.0 * (u * u) * lor - 1.0))
        / sigma,
        a * (ll - g),
    ))


def voigt(x, amplitude, center, sigma, gamma):
    """Voigt peak of area ``amplitude`` (lmfit's ``voigt``).

    ``amplitude Re[w(z)] / (sigma sqrt(2 pi))``, ``z = (x - center + i gamma)/(sigma sqrt 2)``,
    w the Faddeeva function.  Evaluated by the C kernel (w is not in NumPy).
    """
    return _via_c("voigt", False)(x, amplitude, center, sigma, gamma)


def _voigt_jac(x, amplitude, center, sigma, gamma):
    return _via_c("voigt", True)(x, amplitude, center, sigma, gamma)


def _inv_beta(m):
    """1 / B(m - 1/2, 1/2) = Gamma(m) / (sqrt(pi) Gamma(m - 1/2)), elementwise."""
    def one(v):
        if v < 170.0:
            return math.gamma(v) / (_SQRTPI * math.gamma(v - 0.5))
        return math.exp(math.lgamma(v) - math.lgamma(v - 0.5)) / _SQRTPI
    return np.vectorize(one, otypes=[np.float64])(m)


def _digamma(v):
    """psi(v) for v > 0, NaN otherwise: the series of the C kernel, elementwise."""
    v = np.array(v, dtype=np.float64)
    bad = ~(v > 0.0)
    v = np.where(bad, 10.0, v)
    r = np.zeros_like(v)
    while True:
        low = v < 10.0
        if not low.any():
            break
        r = np.where(low, r - 1.0 / v, r)
        v = np.where(low, v + 1.0, v)
    f = 1.0 / (v * v)
    out = r + np.log(v) - 0.5 / v - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (
        1.0 / 252.0 - f * (1.0 / 240.0 - f * (1.0 / 132.0 - f * (691.0 / 32760.0))))))
    return np.where(bad, np.nan, out)


def pearson7(x, amplitude, center, sigma, expon):
    """Pearson VII peak of area ``amplitude`` (lmfit's ``pearson7``).

    ``amplitude (1 + ((x - center)/sigma)**2)**(-expon) / (sigma B(expon - 1/2, 1/2))``,
    B the beta function.
    """
    scale = amplitude * _inv_beta(expon)
    u = (x - center) / sigma
    return scale * np.power(1.0 + u * u, -expon) / sigma


def _pearson7_jac(x, amplitude, center, sigma, expon):
    ib = _inv_beta(expon)
    dpsi = _digamma(expon) - _digamma(expon - 0.5)
    u = (x - center) / sigma
    q = 1.0 + u * u
    g = ib * np.power(q, -expon) / sigma
    f = amplitude * g
    return _stack(x, (amplitude, center, sigma, expon), (
        g,
        2.0 * expon * u * f / (sigma * q),
        (2.0 * expon * (u * u) / q - 1.0) * f / sigma,
        f * (dpsi - np.log1p(u * u)),
    ))


def doniach(x, amplitude, center, sigma, gamma):
    """Doniach-Sunjic peak (lmfit's ``doniach``), for photoemission lines of metals.

    ``amplitude/sigma**(1-gamma) * cos(pi gamma/2 + (1-gamma) atan(u))
    / (1 + u**2)**((1-gamma)/2)``, ``u = (x - center)/sigma``.
    """
    g1 = 1.0 - gamma
    scale = amplitude / np.power(sigma, g1)
    u = (x - center) / sigma
    return scale * np.cos(_PI * gamma / 2.0 + g1 * np.arctan(u)) / np.power(1.0 + u * u, g1 / 2.0)


def _doniach_jac(x, amplitude, center, sigma, gamma):
    g1 = 1.0 - gamma
    inv_sg1 = 1.0 / np.power(sigma, g1)
    u = (x - center) / sigma
    at = np.arctan(u)
    th = _PI * gamma / 2.0 + g1 * at
    cth = np.cos(th)
    sth = np.sin(th)
    q = 1.0 + u * u
    dd = np.power(q, g1 / 2.0)
    base = inv_sg1 * cth / dd
    f = amplitude * base
    dfdu = -(amplitude * inv_sg1 * g1 * (sth + u * cth) / (q * dd))
    return _stack(x, (amplitude, center, sigma, gamma), (
        base,
        -dfdu / sigma,
        -(g1 * f + u * dfdu) / sigma,
        f * (np.log(sigma) + 0.5 * np.log1p(u * u))
        - amplitude * inv_sg1 * sth * (_PI / 2.0 - at) / dd,
    ))


def exponential_gaussian(x, amplitude, center, sigma, gamma):
    """Exponentially modified Gaussian of area ``amplitude`` (lmfit's ``expgaussian``).

    ``amplitude gamma/2 exp(a1) erfc(a2)``, ``a1 = gamma (center + gamma sigma**2/2 - x)``,
    ``a2 = (center + gamma sigma**2 - x)/(sqrt 2 sigma)``.  Evaluated by the C kernel.
    """
    return _via_c("exponential_gaussian", False)(x, amplitude, center, sigma, gamma)


def _exponential_gaussian_jac(x, amplitude, center, sigma, gamma):
    return _via_c("exponential_gaussian", True)(x, amplitude, center, sigma, gamma)


def skewed_gaussian(x, amplitude, center, sigma, gamma):
    """Skewed Gaussian peak of area ``amplitude`` (lmfit's ``skewed_gaussian``).

    ``gaussian(x, amplitude, center, sigma) * (1 + erf(gamma (x - center)/(sqrt 2 sigma)))``,
    evaluated by the C kernel (NumPy has no erf).
    """
    return _via_c("skewed_gaussian", False)(x, amplitude, center, sigma, gamma)


def _skewed_gaussian_jac(x, amplitude, center, sigma, gamma):
    return _via_c("skewed_gaussian", True)(x, amplitude, center, sigma, gamma)


# --------------------------------------------------------------------------------------
# Smooth steps (lmfit's step and rectangle, forms 'erf', 'atan', 'logistic')
# --------------------------------------------------------------------------------------

def _logistic_slope(u):
    """d/du (1 - 1/(1 + exp u)) = e / (1 + e)**2, e = exp(-|u|) (no overflow)."""
    e = np.exp(-np.abs(u))
    return e / ((1.0 + e) * (1.0 + e))


def _atan_slope(u):
    return 1.0 / (_PI * (1.0 + u * u))


def step_erf(x, amplitude, center, sigma):
    """Smooth step of height ``amplitude``, the error function (lmfit's ``step``, form 'erf').

    ``amplitude (1 + erf((x - center)/sigma)) / 2``, evaluated by the C kernel.
    """
    return _via_c("step_erf", False)(x, amplitude, center, sigma)


def _step_erf_jac(x, amplitude, center, sigma):
    return _via_c("step_erf", True)(x, amplitude, center, sigma)


def step_atan(x, amplitude, center, sigma):
    """Smooth step of height ``amplitude``, the arctangent (lmfit's ``step``, form 'atan').

    ``amplitude (1/2 + atan((x - center)/sigma) / pi)``.
    """
    u = (x - center) / sigma
    return amplitude * (0.5 + np.arctan(u) / _PI)


def _step_jac(slope, value):
    def jacobian(x, amplitude, center, sigma):
        u = (x - center) / sigma
        d = slope(u)
        return _stack(x, (amplitude, center, sigma),
                      (value(u), -(amplitude * d / sigma), -(amplitude * d * u / sigma)))
    return jacobian


def step_logistic(x, amplitude, center, sigma):
    """Smooth step of height ``amplitude``, the logistic (lmfit's ``step``, form 'logistic').

    ``amplitude (1 - 1/(1 + exp((x - center)/sigma)))``.
    """
    u = (x - center) / sigma
    with np.errstate(over="ignore"):  # exp(u) = inf gives the limit, 1
        return amplitude * (1.0 - 1.0 / (1.0 + np.exp(u)))


def rectangle_erf(x, amplitude, center1, sigma1, center2, sigma2):
    """Smooth rectangle of height ``amplitude``, erf edges (lmfit's ``rectangle``, form 'erf').

    ``amplitude (erf((x - center1)/sigma1) + erf((center2 - x)/sigma2)) / 2``, evaluated by
    the C kernel.
    """
    return _via_c("rectangle_erf", False)(x, amplitude, center1, sigma1, center2, sigma2)


def _rectangle_erf_jac(x, amplitude, center1, sigma1, center2, sigma2):
    return _via_c("rectangle_erf", True)(x, amplitude, center1, sigma1, center2, sigma2)


def rectangle_atan(x, amplitude, center1, sigma1, center2, sigma2):
    """Smooth rectangle of height ``amplitude``, arctangent edges (lmfit's ``rectangle``, 'atan').

    ``amplitude (atan((x - center1)/sigma1) + atan((center2 - x)/sigma2)) / pi``.
    """
    u1 = (x - center1) / sigma1
    u2 = (center2 - x) / sigma2
    return amplitude * ((np.arctan(u1) + np.arctan(u2)) / _PI)


def rectangle_logistic(x, amplitude, center1, sigma1, center2, sigma2):
    """Smooth rectangle of height ``amplitude``, logistic edges (lmfit's ``rectangle``, 'logistic').

    ``amplitude (1 - 1/(1 + exp((x - center1)/sigma1)) - 1/(1 + exp((center2 - x)/sigma2)))``.
    """
    u1 = (x - center1) / sigma1
    u2 = (center2 - x) / sigma2
    with np.errstate(over="ignore"):  # exp(u) = inf gives the limit
        return amplitude * (1.0 - 1.0 / (1.0 + np.exp(u1)) - 1.0 / (1.0 + np.exp(u2)))


def _rectangle_jac(slope, value):
    def jacobian(x, amplitude, center1, sigma1, center2, sigma2):
        u1 = (x - center1) / sigma1
        u2 = (center2 - x) / sigma2
        d1, d2 = slope(u1), slope(u2)
        return _stack(x, (amplitude, center1, sigma1, center2, sigma2), (
            value(x, 1.0, center1, sigma1, center2, sigma2),
            -(amplitude * d1 / sigma1), -(amplitude * d1 * u1 / sigma1),
            amplitude * d2 / sigma2, -(amplitude * d2 * u2 / sigma2)))
    return jacobian


# --------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------

def constant(x, c):
    """Constant baseline: ``c``, broadcast to the shape of x (and of c)."""
    return np.zeros(np.broadcast_shapes(np.shape(x), np.shape(c))) + c


def _constant_jac(x, c):
    return _stack(x, (c,), (1.0,))


def linear(x, slope, intercept):
    """Straight baseline: ``slope x + intercept``."""
    return slope * np.asarray(x, dtype=np.float64) + intercept


def _linear_jac(x, slope, intercept):
    return _stack(x, (slope, intercept), (np.asarray(x, dtype=np.float64), 1.0))


def exponential(x, amplitude, decay):
    """Exponential baseline: ``amplitude exp(-x / decay)``."""
    return amplitude * np.exp(-np.asarray(x, dtype=np.float64) / decay)


def _exponential_jac(x, amplitude, decay):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-x / decay)
    return _stack(x, (amplitude, decay), (e, amplitude * e * x / (decay * decay)))


#: {name: Jacobian function}; also each lineshape's ``.jac``.
JACOBIANS = {
    "gaussian": _gaussian_jac,
    "lorentzian": _lorentzian_jac,
    "pseudo_voigt": _pseudo_voigt_jac,
    "voigt": _voigt_jac,
    "pearson7": _pearson7_jac,
    "doniach": _doniach_jac,
    "exponential_gaussian": _exponential_gaussian_jac,
    "constant": _constant_jac,
    "linear": _linear_jac,
    "exponential": _exponential_jac,
    "skewed_gaussian": _skewed_gaussian_jac,
    "step_erf": _step_erf_jac,
    "step_atan": _step_jac(_atan_slope, lambda u: 0.5 + np.arctan(u) / _PI),
    "step_logistic": _step_jac(_logistic_slope, lambda u: step_logistic(u, 1.0, 0.0, 1.0)),
    "rectangle_erf": _rectangle_erf_jac,
    "rectangle_atan": _rectangle_jac(_atan_slope, rectangle_atan),
    "rectangle_logistic": _rectangle_jac(_logistic_slope, rectangle_logistic),
}

#: What each parameter of a lineshape is, for the docstrings: {name: {parameter: text}}.
_MEANINGS = {
    "gaussian": {"sigma": "Standard deviation (FWHM = 2.3548 sigma)."},
    "lorentzian": {"sigma": "Half width at half maximum."},
    "pseudo_voigt": {"sigma": "Half width at half maximum of both parts.",
                     "fraction": "Lorentzian fraction, 0 (Gaussian) to 1 (Lorentzian)."},
    "voigt": {"sigma": "Standard deviation of the Gaussian.",
              "gamma": "Half width at half maximum of the Lorentzian."},
    "pearson7": {"sigma": "Width.", "expon": "Exponent (> 1/2); 1 is a Lorentzian."},
    "doniach": {"amplitude": "Scale (the peak is not area-normalised).",
                "sigma": "Width.", "gamma": "Asymmetry, 0 (a Lorentzian) to 1."},
    "exponential_gaussian": {"sigma": "Standard deviation of the Gaussian.",
                             "gamma": "Rate of the exponential (1 / its decay length)."},
    "constant": {"c": "The constant."},
    "linear": {"slope": "Slope.", "intercept": "Value at x = 0."},
    "exponential": {"amplitude": "Value at x = 0.", "decay": "Decay length."},
    "skewed_gaussian": {"sigma": "Standard deviation of the Gaussian.",
                        "gamma": "Skewness (0: the Gaussian; > 0 leans to larger x)."},
    **{f"step_{form}": {"amplitude": "Height of the step.",
                        "center": "Position of the step's midpoint.",
                        "sigma": "Width of the step."}
       for form in ("erf", "atan", "logistic")},
    **{f"rectangle_{form}": {"amplitude": "Height of the rectangle.",
                             "center1": "Position of the rising edge's midpoint.",
                             "sigma1": "Width of the rising edge.",
                             "center2": "Position of the falling edge's midpoint.",
                             "sigma2": "Width of the falling edge."}
       for form in ("erf", "atan", "logistic")},
}
_COMMON = {"amplitude": "Area under the peak.", "center": "Position of the peak."}
#: Parameters of each lineshape's example in its docstring.
_EXAMPLE_PARAMS = {"gaussian": "1.0, 0.0, 1.0", "lorentzian": "1.0, 0.0, 1.0",
                   "pseudo_voigt": "1.0, 0.0, 1.0, 0.5", "voigt": "1.0, 0.0, 1.0, 0.5",
                   "pearson7": "1.0, 0.0, 1.0, 1.5", "doniach": "1.0, 0.0, 1.0, 0.2",
                   "exponential_gaussian": "1.0, 0.0, 1.0, 0.5", "constant": "2.0",
                   "linear": "0.5, 1.0", "exponential": "1.0, 2.0",
                   "skewed_gaussian": "1.0, 0.0, 1.0, 0.5",
                   **{f"step_{form}": "1.0, 0.0, 1.0" for form in ("erf", "atan", "logistic")},
                   **{f"rectangle_{form}": "1.0, -2.0, 0.5, 2.0, 0.5"
                      for form in ("erf", "atan", "logistic")}}

_FUNCTION_DOC = """

    Parameters
    ----------
    x : array_like
        Shape (m,), or (K, m) for one row per curve.
{parameters}

    Returns
    -------
    ndarray
        {returns}

    See Also
    --------
    model : the compiled model of this lineshape, for the fits.

    Examples
    --------
    >>> import numpy as np
    >>> from lmfast import lineshapes
    >>> x = np.linspace(-5.0, 5.0, 11)
{example}
"""


def _document(name, jac):
    """Complete the docstrings of lineshape ``name`` and of its Jacobian ``jac``."""
    meanings = {**_COMMON, **_MEANINGS.get(name, {})}
    parameters = "\n".join(
        f"    {p} : float or array_like\n        {meanings[p]}  A scalar for one curve, a "
        "column of shape (K, 1) for K curves." for p in PARAMS[name])
    n = len(PARAMS[name])
    args = _EXAMPLE_PARAMS[name]
    first, _, rest = args.partition(", ")
    two_curves = f"np.array([[{first}], [{2 * float(first)}]])" + (", " + rest if rest else "")
    function = globals()[name]
    function.__doc__ = function.__doc__.rstrip() + _FUNCTION_DOC.format(
        parameters=parameters,
        returns="Values, the broadcast shape of x and the parameters: (m,) or (K, m).",
        example=f"    >>> lineshapes.{name}(x, {args}).shape\n    (11,)\n"
                f"    >>> lineshapes.{name}(x, {two_curves}).shape  # two curves\n"
                "    (2, 11)")
    jac.__doc__ = (f"Jacobian of :func:`{name}`: d {name} / d ({', '.join(PARAMS[name])})."
                   + _FUNCTION_DOC.format(
                       parameters=parameters,
                       returns=f"Shape (m, {n}) or (K, m, {n}): the parameter as the last "
                               "axis, in the order above.",
                       example=f"    >>> lineshapes.{name}.jac(x, {args}).shape\n"
                               f"    (11, {n})"))
    function.jac = jac


for _name, _jac in JACOBIANS.items():
    _document(_name, _jac)
del _name, _jac


def model(name, prefix=""):
    """The compiled lineshape ``name`` as an ``lmfast.models.Model``.

    Models add up into composite models, assembled in C::

        spectrum = sum((model("pseudo_voigt", prefix=f"p{k}_") for k in range(3)),
                       model("linear"))

    Parameters
    ----------
    name : str
        One of ``PARAMS``.
    prefix : str
        Put before every parameter name (lmfit's convention for composite models).

    Returns
    -------
    lmfast.models.Model
        Value and analytic Jacobian in C for the fits, the NumPy function of this module
        as its twin; parameters in ``PARAMS[name]`` order.  Pickled, it is this call,
        ``model(name, prefix)``: the receiving process builds its own from the registry.

    Raises
    ------
    KeyError
        If ``name`` is not a lineshape of ``PARAMS``.

    Examples
    --------
    >>> from lmfast import lineshapes
    >>> peak = lineshapes.model("voigt", prefix="p1_")
    >>> peak.param_names
    ('p1_amplitude', 'p1_center', 'p1_sigma', 'p1_gamma')
    >>> (peak + lineshapes.model("constant")).param_names[-1]
    'c'
    """
    plain = _plain_model(name)
    if not prefix:
        return plain
    prefixed = plain.prefixed(prefix)
    prefixed._rebuild = (model, (name, prefix))
    return prefixed


@functools.cache
def _plain_model(name):
    """The Model of a lineshape: the registry's ``"lineshapes.<name>"`` for the fits, this
    module's NumPy function as its twin (called from Python), like every built-in model.
    (0.3 pickled lineshapes as calls of this function: they still load.)"""
    if name not in PARAMS:
        raise KeyError(f"unknown lineshape {name!r}; known: {', '.join(PARAMS)}")
    twin = globals()[name]
    plain = registered("lineshapes." + name, name, PARAMS[name], twin,
                       jacobian_columns(JACOBIANS[name]), doc=twin.__doc__)
    plain._rebuild = (model, (name,))  # unpickled: this process's own model
    return plain
