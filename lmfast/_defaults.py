"""Default settings of every front end, as scipy.optimize.leastsq defines them."""
import operator
from typing import NamedTuple

import numpy as np

FTOL = 1.49012e-08
XTOL = 1.49012e-08
GTOL = 0.0
FACTOR = 100
#: maxfev = 0 means: 200 * (n + 1) calls with forward differences, 100 * (n + 1) without.
MAXFEV = 0

_FLOAT64 = np.dtype(np.float64)
_INT_MAX = 2**31 - 1
# Machine epsilon by dtype (np.finfo is slow to call).
_EPS: dict[np.dtype, float] = {}


def default_epsfcn(dtype=_FLOAT64):
    """leastsq's default epsfcn: the machine epsilon of the residuals' dtype."""
    eps = _EPS.get(dtype)
    if eps is None:
        eps = _EPS[dtype] = float(np.finfo(dtype).eps)
    return eps


def default_maxfev(n, use_fd):
    """leastsq's default maxfev for n parameters: 200(n+1) by differences, else 100(n+1)."""
    return (200 if use_fd else 100) * (n + 1)


class Tolerances(NamedTuple):
    """The stopping settings of a fit as the front ends and messages read them.

    ``maxfev`` is the value messages quote (0 replaced by the default); ``limit`` the one
    the engine applies (the default also for negative values, as SciPy's compiled layer
    does).
    """

    ftol: float
    xtol: float
    gtol: float
    maxfev: int
    limit: int


def tolerances(ftol, xtol, gtol, maxfev, n, use_fd):
    """:class:`Tolerances` from leastsq-style arguments (maxfev as leastsq reads it).

    Raises OverflowError for a maxfev beyond a C int, TypeError for a non-integer one.
    """
    limit = operator.index(maxfev)
    if limit > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if limit <= 0:
        default = (200 if use_fd else 100) * (n + 1)  # default_maxfev, inlined: per call
        return Tolerances(ftol, xtol, gtol, default if limit == 0 else maxfev, default)
    return Tolerances(ftol, xtol, gtol, maxfev, limit)
