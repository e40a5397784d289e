"""The NIST StRD nonlinear regression problems (tests/data/*.dat).

``load(name)`` parses one file (both starting points, the certified parameters, their
standard deviations, the certified residual sum of squares and the data);
``PROBLEMS`` holds all 27.  The models are written from the formulas in the files'
"Model:" sections, each with its analytic Jacobian.  ``TOLERANCES`` are the two settings
the NIST tests fit at; ``GOOD_DIGITS`` the accuracy (LRE) lmfast must reach wherever SciPy
does.

Residuals are ``y - model(b, x)`` (for Nelson, whose model is for log y,
``log(y) - model(b, x)``), so the residual Jacobian is ``-dmodel/db``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from functools import cache
from typing import NamedTuple

import numpy as np

__all__ = ["GOOD_DIGITS", "MODELS", "NAMES", "PROBLEMS", "TOLERANCES", "NISTProblem", "load"]

# Where SciPy gets at least this many correct digits (LRE) on every parameter, lmfast must.
GOOD_DIGITS = 6.0

# The leastsq options of the fits: the defaults, and tight tolerances.
TOLERANCES = {
    "default": {},
    "tight": {"ftol": 1e-14, "xtol": 1e-14, "maxfev": 20000},
}

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class NISTProblem(NamedTuple):
    name: str
    difficulty: str  # "lower", "average" or "higher"
    start1: np.ndarray
    start2: np.ndarray
    certified: np.ndarray
    certified_sd: np.ndarray
    certified_rss: float
    x: np.ndarray  # (nobs,) or, for Nelson, (nobs, 2)
    y: np.ndarray  # (nobs,)
    model: Callable[[np.ndarray, np.ndarray], np.ndarray]
    model_jac: Callable[[np.ndarray, np.ndarray], np.ndarray]  # d model / d b, (nobs, p)

    @property
    def n_params(self) -> int:
        return self.certified.size

    @property
    def target(self) -> np.ndarray:
        return np.log(self.y) if self.name == "Nelson" else self.y

    def fun(self, b: np.ndarray) -> np.ndarray:
        """Residuals, shape (nobs,)."""
        return self.target - self.model(b, self.x)

    def jac(self, b: np.ndarray) -> np.ndarray:
        """Jacobian of :meth:`fun`, shape (nobs, p)."""
        return -self.model_jac(b, self.x)

    def start(self, k: int) -> np.ndarray:
        return {1: self.start1, 2: self.start2}[k]


# --------------------------------------------------------------------------------------
# Models: model(b, x) and its Jacobian with respect to b, one column per parameter
# --------------------------------------------------------------------------------------


def _exp_saturation(b, x):  # Misra1a, BoxBOD: y = b1*(1-exp[-b2*x])
    return b[0] * (1.0 - np.exp(-b[1] * x))


def _exp_saturation_jac(b, x):
    e = np.exp(-b[1] * x)
    return np.column_stack([1.0 - e, b[0] * x * e])


def _chwirut(b, x):  # y = exp[-b1*x]/(b2+b3*x)
    return np.exp(-b[0] * x) / (b[1] + b[2] * x)


def _chwirut_jac(b, x):
    d = b[1] + b[2] * x
    f = np.exp(-b[0] * x) / d
    return np.column_stack([-x * f, -f / d, -x * f / d])


def _danwood(b, x):  # y = b1*x**b2
    return b[0] * x ** b[1]


def _danwood_jac(b, x):
    p = x ** b[1]
    return np.column_stack([p, b[0] * p * np.log(x)])


def _misra1b(b, x):  # y = b1 * (1-(1+b2*x/2)**(-2))
    return b[0] * (1.0 - (1.0 + b[1] * x / 2.0) ** -2)


def _misra1b_jac(b, x):
    u = 1.0 + b[1] * x / 2.0
    return np.column_stack([1.0 - u**-2, b[0] * x * u**-3])


def _misra1c(b, x):  # y = b1 * (1-(1+2*b2*x)**(-.5))
    return b[0] * (1.0 - (1.0 + 2.0 * b[1] * x) ** -0.5)


def _misra1c_jac(b, x):
    u = 1.0 + 2.0 * b[1] * x
    return np.column_stack([1.0 - u**-0.5, b[0] * x * u**-1.5])


def _misra1d(b, x):  # y = b1*b2*x*((1+b2*x)**(-1))
    return b[0] * b[1] * x / (1.0 + b[1] * x)


def _misra1d_jac(b, x):
    u = 1.0 + b[1] * x
    return np.column_stack([b[1] * x / u, b[0] * x / u**2])


def _rat42(b, x):  # y = b1 / (1+exp[b2-b3*x])
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x))


def _rat42_jac(b, x):
    e = np.exp(b[1] - b[2] * x)
    u = 1.0 + e
    return np.column_stack([1.0 / u, -b[0] * e / u**2, b[0] * x * e / u**2])


def _rat43(b, x):  # y = b1 / ((1+exp[b2-b3*x])**(1/b4))
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x)) ** (1.0 / b[3])


def _rat43_jac(b, x):
    e = np.exp(b[1] - b[2] * x)
    u = 1.0 + e
    p = u ** (-1.0 / b[3])  # model / b1
    dp_du = -(1.0 / b[3]) * p / u
    return np.column_stack(
        [p, b[0] * dp_du * e, b[0] * dp_du * (-x * e), b[0] * p * np.log(u) / b[3] ** 2]
    )


def _bennett5(b, x):  # y = b1 * (b2+x)**(-1/b3)
    return b[0] * (b[1] + x) ** (-1.0 / b[2])


def _bennett5_jac(b, x):
    u = b[1] + x
    p = u ** (-1.0 / b[2])
    return np.column_stack([p, -b[0] * p / (b[2] * u), b[0] * p * np.log(u) / b[2] ** 2])


def _eckerle4(b, x):  # y = (b1/b2) * exp[-0.5*((x-b3)/b2)**2]
    return (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2)


def _eckerle4_jac(b, x):
    d = x - b[2]
    g = np.exp(-0.5 * (d / b[1]) ** 2)
    f = b[0] / b[1] * g
    return np.column_stack([g / b[1], f * (d**2 / b[1] ** 3 - 1.0 / b[1]), f * d / b[1] ** 2])


def _mgh09(b, x):  # y = b1*(x**2+x*b2) / (x**2+x*b3+b4)
    return b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3])


def _mgh09_jac(b, x):
    num = x**2 + x * b[1]
    den = x**2 + x * b[2] + b[3]
    return np.column_stack(
        [num / den, b[0] * x / den, -b[0] * num * x / den**2, -b[0] * num / den**2]
    )


def _mgh10(b, x):  # y = b1 * exp[b2/(x+b3)]
    return b[0] * np.exp(b[1] / (x + b[2]))


def _mgh10_jac(b, x):
    d = x + b[2]
    e = np.exp(b[1] / d)
    return np.column_stack([e, b[0] * e / d, -b[0] * b[1] * e / d**2])


def _mgh17(b, x):  # y = b1 + b2*exp[-x*b4] + b3*exp[-x*b5]
    return b[0] + b[1] * np.exp(-x * b[3]) + b[2] * np.exp(-x * b[4])


def _mgh17_jac(b, x):
    e4 = np.exp(-x * b[3])
    e5 = np.exp(-x * b[4])
    return np.column_stack([np.ones_like(x), e4, e5, -b[1] * x * e4, -b[2] * x * e5])


def _lanczos(b, x):  # y = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)
    return b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x) + b[4] * np.exp(-b[5] * x)


def _lanczos_jac(b, x):
    cols = []
    for k in range(3):
        e = np.exp(-b[2 * k + 1] * x)
        cols += [e, -b[2 * k] * x * e]
    return np.column_stack(cols)


def _gauss(b, x):
    # y = b1*exp( -b2*x ) + b3*exp( -(x-b4)**2 / b5**2 ) + b6*exp( -(x-b7)**2 / b8**2 )
    return (
        b[0] * np.exp(-b[1] * x)
        + b[2] * np.exp(-((x - b[3]) ** 2) / b[4] ** 2)
        + b[5] * np.exp(-((x - b[6]) ** 2) / b[7] ** 2)
    )


def _gauss_jac(b, x):
    e0 = np.exp(-b[1] * x)
    cols = [e0, -b[0] * x * e0]
    for a, c, w in ((2, 3, 4), (5, 6, 7)):
        d = x - b[c]
        g = np.exp(-(d**2) / b[w] ** 2)
        cols += [g, b[a] * g * 2.0 * d / b[w] ** 2, b[a] * g * 2.0 * d**2 / b[w] ** 3]
    return np.column_stack(cols)


def _rational(num_deg):
    """(b1 + b2*x + ... ) / (1 + b*x + ...) with ``num_deg + 1`` numerator coefficients."""

    def model(b, x):
        num = np.polynomial.polynomial.polyval(x, b[: num_deg + 1])
        den = 1.0 + x * np.polynomial.polynomial.polyval(x, b[num_deg + 1 :])
        return num / den

    def jac(b, x):
        num = np.polynomial.polynomial.polyval(x, b[: num_deg + 1])
        den = 1.0 + x * np.polynomial.polynomial.polyval(x, b[num_deg + 1 :])
        p = b.size
        cols = [x**k / den for k in range(num_deg + 1)]
        cols += [-num * x**k / den**2 for k in range(1, p - num_deg)]
        return np.column_stack(cols)

    return model, jac


# Kirby2: y = (b1 + b2*x + b3*x**2) / (1 + b4*x + b5*x**2)
_kirby2, _kirby2_jac = _rational(2)
# Hahn1, Thurber: y = (b1+b2*x+b3*x**2+b4*x**3) / (1+b5*x+b6*x**2+b7*x**3)
_cubic_cubic, _cubic_cubic_jac = _rational(3)


def _nelson(b, x):  # log[y] = b1 - b2*x1 * exp[-b3*x2]
    x1, x2 = x[:, 0], x[:, 1]
    return b[0] - b[1] * x1 * np.exp(-b[2] * x2)


def _nelson_jac(b, x):
    x1, x2 = x[:, 0], x[:, 1]
    e = np.exp(-b[2] * x2)
    return np.column_stack([np.ones_like(x1), -x1 * e, b[1] * x1 * x2 * e])


def _enso(b, x):
    # y = b1 + b2*cos( 2*pi*x/12 ) + b3*sin( 2*pi*x/12 )
    #        + b5*cos( 2*pi*x/b4 ) + b6*sin( 2*pi*x/b4 )
    #        + b8*cos( 2*pi*x/b7 ) + b9*sin( 2*pi*x/b7 )
    w = 2.0 * np.pi * x
    return (
        b[0]
        + b[1] * np.cos(w / 12.0)
        + b[2] * np.sin(w / 12.0)
        + b[4] * np.cos(w / b[3])
        + b[5] * np.sin(w / b[3])
        + b[7] * np.cos(w / b[6])
        + b[8] * np.sin(w / b[6])
    )


def _enso_jac(b, x):
    w = 2.0 * np.pi * x
    cols = [np.ones_like(x), np.cos(w / 12.0), np.sin(w / 12.0)]
    for period, c, s in ((3, 4, 5), (6, 7, 8)):
        a = w / b[period]
        # d/dT cos(w/T) = sin(w/T) w/T^2,  d/dT sin(w/T) = -cos(w/T) w/T^2
        dperiod = (b[c] * np.sin(a) - b[s] * np.cos(a)) * w / b[period] ** 2
        cols += [dperiod, np.cos(a), np.sin(a)]
    return np.column_stack(cols)


def _roszman1(b, x):  # y = b1 - b2*x - arctan[b3/(x-b4)]/pi
    return b[0] - b[1] * x - np.arctan(b[2] / (x - b[3])) / math.pi


def _roszman1_jac(b, x):
    d = x - b[3]
    q = d**2 + b[2] ** 2
    return np.column_stack([np.ones_like(x), -x, -d / (math.pi * q), -b[2] / (math.pi * q)])


MODELS: dict[str, tuple[Callable, Callable]] = {
    "Misra1a": (_exp_saturation, _exp_saturation_jac),
    "Chwirut2": (_chwirut, _chwirut_jac),
    "Chwirut1": (_chwirut, _chwirut_jac),
    "Lanczos3": (_lanczos, _lanczos_jac),
    "Gauss1": (_gauss, _gauss_jac),
    "Gauss2": (_gauss, _gauss_jac),
    "DanWood": (_danwood, _danwood_jac),
    "Misra1b": (_misra1b, _misra1b_jac),
    "Kirby2": (_kirby2, _kirby2_jac),
    "Hahn1": (_cubic_cubic, _cubic_cubic_jac),
    "Nelson": (_nelson, _nelson_jac),
    "MGH17": (_mgh17, _mgh17_jac),
    "Lanczos1": (_lanczos, _lanczos_jac),
    "Lanczos2": (_lanczos, _lanczos_jac),
    "Gauss3": (_gauss, _gauss_jac),
    "Misra1c": (_misra1c, _misra1c_jac),
    "Misra1d": (_misra1d, _misra1d_jac),
    "Roszman1": (_roszman1, _roszman1_jac),
    "ENSO": (_enso, _enso_jac),
    "MGH09": (_mgh09, _mgh09_jac),
    "Thurber": (_cubic_cubic, _cubic_cubic_jac),
    "BoxBOD": (_exp_saturation, _exp_saturation_jac),
    "Rat42": (_rat42, _rat42_jac),
    "MGH10": (_mgh10, _mgh10_jac),
    "Eckerle4": (_eckerle4, _eckerle4_jac),
    "Rat43": (_rat43, _rat43_jac),
    "Bennett5": (_bennett5, _bennett5_jac),
}

NAMES: list[str] = list(MODELS)

# --------------------------------------------------------------------------------------
# Loader
# --------------------------------------------------------------------------------------

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PARAM_LINE = re.compile(rf"^\s*b(\d+)\s*=\s*({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s*$")


@cache
def load(name: str) -> NISTProblem:
    """Parse ``tests/data/<name>.dat``."""
    path = os.path.join(DATA_DIR, name + ".dat")
    with open(path, encoding="ascii") as fh:
        lines = fh.read().splitlines()

    params = []
    rss = None
    difficulty = None
    nobs = None
    data_start = None
    for i, line in enumerate(lines):
        m = _PARAM_LINE.match(line)
        if m:
            index = int(m.group(1))
            if index != len(params) + 1:
                raise ValueError(f"{path}: parameter b{index} out of order")
            params.append([float(g) for g in m.groups()[1:]])
            continue
        if line.startswith("Residual Sum of Squares:"):
            rss = float(line.split(":")[1])
        elif line.startswith("Number of Observations:"):
            nobs = int(line.split(":")[1])
        elif "Level of Difficulty" in line:
            difficulty = line.split()[0].lower()
        elif re.match(r"^Data:\s+y\b", line):
            data_start = i + 1
    if not params or rss is None or nobs is None or difficulty is None or data_start is None:
        raise ValueError(f"{path}: not a NIST StRD nonlinear regression file")

    rows = [[float(v) for v in line.split()] for line in lines[data_start:] if line.strip()]
    data = np.array(rows, dtype=float)
    if data.shape[0] != nobs:
        raise ValueError(f"{path}: {data.shape[0]} data rows, header says {nobs}")
    params = np.array(params)
    model, model_jac = MODELS[name]
    x = data[:, 1] if data.shape[1] == 2 else data[:, 1:]
    arrays = [params[:, 0], params[:, 1], params[:, 2], params[:, 3], x, data[:, 0]]
    for a in arrays:
        a.setflags(write=False)
    return NISTProblem(
        name=name,
        difficulty=difficulty,
        start1=arrays[0],
        start2=arrays[1],
        certified=arrays[2],
        certified_sd=arrays[3],
        certified_rss=rss,
        x=arrays[4],
        y=arrays[5],
        model=model,
        model_jac=model_jac,
    )


PROBLEMS: dict[str, NISTProblem] = {name: load(name) for name in NAMES}
