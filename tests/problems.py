"""The Moré-Garbow-Hillstrom least-squares test set, as run by MINPACK's lmder driver.

The eighteen problems are written from their mathematical definitions in

    J. J. Moré, B. S. Garbow, K. E. Hillstrom, "Testing unconstrained optimization
    software", ACM Trans. Math. Software 7 (1981), 17-41,

and in the MINPACK-1 user guide (ANL-80-74, 1980), which fixes the (m, n) pairs and
how many starting points (x0, 10*x0, 100*x0) the lmder test driver uses for each.

Every residual function takes a 1-D float64 ``x`` and returns ``f(x)`` of shape (m,);
every Jacobian returns ``J(x)`` of shape (m, n), one row per residual (the layout
``leastsq(..., Dfun=jac, col_deriv=False)`` expects).

This is a plain data module: ``CASES`` is a list of :class:`Case` (53 entries, the
lmder driver's set), ``PROBLEMS`` maps a problem name to its :class:`Problem`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import numpy as np

__all__ = ["CASES", "CASES_BY_ID", "PROBLEMS", "Case", "Problem", "make_case"]


class Problem(NamedTuple):
    """One of the eighteen problems: ``fun(x, m, n)``, ``jac(x, m, n)``, ``start(n)``."""

    number: int  # MINPACK problem number (1..18)
    name: str
    fun: Callable[[np.ndarray, int, int], np.ndarray]
    jac: Callable[[np.ndarray, int, int], np.ndarray]
    start: Callable[[int], np.ndarray]  # standard starting point for size n


class Case(NamedTuple):
    """One run of the lmder driver: a problem at fixed (m, n) and one starting point."""

    id: str
    problem: str
    number: int
    n: int
    m: int
    factor: float  # the starting point is x0 scaled by this (1, 10 or 100)
    x0: np.ndarray  # read-only float64, shape (n,)
    fun: Callable[[np.ndarray], np.ndarray]  # x -> f, shape (m,)
    jac: Callable[[np.ndarray], np.ndarray]  # x -> J, shape (m, n)


# --------------------------------------------------------------------------------------
# 1-3. Linear functions
# --------------------------------------------------------------------------------------


def _linear_full_rank(x, m, n):
    # f_i = x_i - (2/m) sum_j x_j - 1 for i <= n;  f_i = -(2/m) sum_j x_j - 1 for i > n
    f = np.full(m, -(2.0 * x.sum() / m + 1.0))
    f[:n] += x
    return f


def _linear_full_rank_jac(x, m, n):
    return np.eye(m, n) - 2.0 / m


def _linear_rank1(x, m, n):
    # f_i = i * (sum_j j x_j) - 1
    i = np.arange(1, m + 1, dtype=float)
    j = np.arange(1, n + 1, dtype=float)
    return i * (j @ x) - 1.0


def _linear_rank1_jac(x, m, n):
    return np.outer(np.arange(1, m + 1, dtype=float), np.arange(1, n + 1, dtype=float))


def _linear_rank1_zero(x, m, n):
    # f_i = (i - 1) * (sum_{j=2}^{n-1} j x_j) - 1 for i < m;  f_m = -1
    j = np.arange(2, n, dtype=float)
    s = j @ x[1 : n - 1]
    f = np.arange(0, m, dtype=float) * s - 1.0
    f[m - 1] = -1.0
    return f


def _linear_rank1_zero_jac(x, m, n):
    J = np.zeros((m, n))
    if n > 2:
        J[: m - 1, 1 : n - 1] = np.outer(
            np.arange(0, m - 1, dtype=float), np.arange(2, n, dtype=float)
        )
    return J


# --------------------------------------------------------------------------------------
# 4-7. Small fixed-size problems
# --------------------------------------------------------------------------------------


def _rosenbrock(x, m, n):
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def _rosenbrock_jac(x, m, n):
    return np.array([[-20.0 * x[0], 10.0], [-1.0, 0.0]])


_TWO_PI = 2.0 * math.pi


def _helical_theta(x1, x2):
    # theta = arctan(x2/x1)/(2 pi) for x1 > 0, arctan(x2/x1)/(2 pi) + 1/2 for x1 < 0,
    # and +-1/4 on the x2 axis.
    if x1 > 0.0:
        return math.atan(x2 / x1) / _TWO_PI
    if x1 < 0.0:
        return math.atan(x2 / x1) / _TWO_PI + 0.5
    return math.copysign(0.25, x2)


def _helical_valley(x, m, n):
    x1, x2, x3 = x
    theta = _helical_theta(x1, x2)
    r = math.hypot(x1, x2)
    return np.array([10.0 * (x3 - 10.0 * theta), 10.0 * (r - 1.0), x3])


def _helical_valley_jac(x, m, n):
    x1, x2, _ = x
    r2 = x1 * x1 + x2 * x2
    r = math.sqrt(r2)
    c = 100.0 / (_TWO_PI * r2)
    return np.array(
        [
            [c * x2, -c * x1, 10.0],
            [10.0 * x1 / r, 10.0 * x2 / r, 0.0],
            [0.0, 0.0, 1.0],
        ]
    )


_SQRT5 = math.sqrt(5.0)
_SQRT10 = math.sqrt(10.0)


def _powell_singular(x, m, n):
    x1, x2, x3, x4 = x
    return np.array(
        [x1 + 10.0 * x2, _SQRT5 * (x3 - x4), (x2 - 2.0 * x3) ** 2, _SQRT10 * (x1 - x4) ** 2]
    )


def _powell_singular_jac(x, m, n):
    x1, x2, x3, x4 = x
    a = 2.0 * (x2 - 2.0 * x3)
    b = 2.0 * _SQRT10 * (x1 - x4)
    return np.array(
        [
            [1.0, 10.0, 0.0, 0.0],
            [0.0, 0.0, _SQRT5, -_SQRT5],
            [0.0, a, -2.0 * a, 0.0],
            [b, 0.0, 0.0, -b],
        ]
    )


def _freudenstein_roth(x, m, n):
    x1, x2 = x
    return np.array(
        [
            -13.0 + x1 + ((5.0 - x2) * x2 - 2.0) * x2,
            -29.0 + x1 + ((x2 + 1.0) * x2 - 14.0) * x2,
        ]
    )


def _freudenstein_roth_jac(x, m, n):
    x2 = x[1]
    return np.array(
        [
            [1.0, (10.0 - 3.0 * x2) * x2 - 2.0],
            [1.0, (3.0 * x2 + 2.0) * x2 - 14.0],
        ]
    )


# --------------------------------------------------------------------------------------
# 8-10. Data-fitting problems with published data
# --------------------------------------------------------------------------------------

_BARD_Y = np.array(
    [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]
)
_BARD_U = np.arange(1.0, 16.0)
_BARD_V = 16.0 - _BARD_U
_BARD_W = np.minimum(_BARD_U, _BARD_V)


def _bard(x, m, n):
    # f_i = y_i - (x1 + u_i / (v_i x2 + w_i x3))
    return _BARD_Y - (x[0] + _BARD_U / (_BARD_V * x[1] + _BARD_W * x[2]))


def _bard_jac(x, m, n):
    d2 = (_BARD_V * x[1] + _BARD_W * x[2]) ** 2
    return np.column_stack([-np.ones(15), _BARD_U * _BARD_V / d2, _BARD_U * _BARD_W / d2])


_KO_U = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625])
_KO_Y = np.array(
    [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246]
)


def _kowalik_osborne(x, m, n):
    # f_i = y_i - x1 (u_i^2 + u_i x2) / (u_i^2 + u_i x3 + x4)
    u = _KO_U
    return _KO_Y - x[0] * (u * u + u * x[1]) / (u * u + u * x[2] + x[3])


def _kowalik_osborne_jac(x, m, n):
    u = _KO_U
    num = u * u + u * x[1]
    den = u * u + u * x[2] + x[3]
    g = x[0] * num / den**2
    return np.column_stack([-num / den, -x[0] * u / den, g * u, g])


_MEYER_Y = np.array(
    [
        34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0,
        8261.0, 7030.0, 6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0,
    ]
)  # fmt: skip
_MEYER_T = 45.0 + 5.0 * np.arange(1.0, 17.0)


def _meyer(x, m, n):
    # f_i = x1 exp(x2 / (t_i + x3)) - y_i,  t_i = 45 + 5 i
    return x[0] * np.exp(x[1] / (_MEYER_T + x[2])) - _MEYER_Y


def _meyer_jac(x, m, n):
    d = _MEYER_T + x[2]
    e = np.exp(x[1] / d)
    return np.column_stack([e, x[0] * e / d, -x[0] * x[1] * e / d**2])


# --------------------------------------------------------------------------------------
# 11. Watson (m = 31, any n in 2..31)
# --------------------------------------------------------------------------------------

_WATSON_T = np.arange(1.0, 30.0) / 29.0


def _watson(x, m, n):
    # f_i = sum_{j=2}^n (j-1) x_j t_i^(j-2) - (sum_{j=1}^n x_j t_i^(j-1))^2 - 1,  i = 1..29
    # f_30 = x1,  f_31 = x2 - x1^2 - 1
    powers = _WATSON_T[:, None] ** np.arange(n)  # t^(j-1), j = 1..n
    s1 = powers[:, : n - 1] @ (np.arange(1.0, n) * x[1:])
    s2 = powers @ x
    f = np.empty(31)
    f[:29] = s1 - s2**2 - 1.0
    f[29] = x[0]
    f[30] = x[1] - x[0] ** 2 - 1.0
    return f


def _watson_jac(x, m, n):
    powers = _WATSON_T[:, None] ** np.arange(n)
    s2 = powers @ x
    J = np.zeros((31, n))
    J[:, 0] = 0.0
    J[:29, 0] = -2.0 * s2
    J[:29, 1:] = np.arange(1.0, n) * powers[:, : n - 1] - 2.0 * s2[:, None] * powers[:, 1:]
    J[29, 0] = 1.0
    J[30, 0] = -2.0 * x[0]
    J[30, 1] = 1.0
    return J


# --------------------------------------------------------------------------------------
# 12-14.
# --------------------------------------------------------------------------------------


def _box3d(x, m, n):
    # f_i = exp(-t_i x1) - exp(-t_i x2) - x3 (exp(-t_i) - exp(-10 t_i)),  t_i = i/10
    t = np.arange(1.0, m + 1) / 10.0
    return np.exp(-t * x[0]) - np.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10.0 * t))


def _box3d_jac(x, m, n):
    t = np.arange(1.0, m + 1) / 10.0
    return np.column_stack(
        [-t * np.exp(-t * x[0]), t * np.exp(-t * x[1]), np.exp(-10.0 * t) - np.exp(-t)]
    )


def _jennrich_sampson(x, m, n):
    # f_i = 2 + 2i - (exp(i x1) + exp(i x2))
    i = np.arange(1.0, m + 1)
    return 2.0 + 2.0 * i - (np.exp(i * x[0]) + np.exp(i * x[1]))


def _jennrich_sampson_jac(x, m, n):
    i = np.arange(1.0, m + 1)
    return np.column_stack([-i * np.exp(i * x[0]), -i * np.exp(i * x[1])])


def _brown_dennis(x, m, n):
    # f_i = (x1 + t_i x2 - exp(t_i))^2 + (x3 + x4 sin(t_i) - cos(t_i))^2,  t_i = i/5
    t = np.arange(1.0, m + 1) / 5.0
    a = x[0] + t * x[1] - np.exp(t)
    b = x[2] + x[3] * np.sin(t) - np.cos(t)
    return a * a + b * b


def _brown_dennis_jac(x, m, n):
    t = np.arange(1.0, m + 1) / 5.0
    a = x[0] + t * x[1] - np.exp(t)
    b = x[2] + x[3] * np.sin(t) - np.cos(t)
    return np.column_stack([2.0 * a, 2.0 * a * t, 2.0 * b, 2.0 * b * np.sin(t)])


# --------------------------------------------------------------------------------------
# 15. Chebyquad (m >= n)
# --------------------------------------------------------------------------------------


def _chebyquad(x, m, n):
    # f_i = (1/n) sum_j T_i(2 x_j - 1) - integral_0^1 T_i(2 t - 1) dt, where the integral is
    # 0 for odd i and -1/(i^2 - 1) for even i (T_i: Chebyshev polynomial of the first kind)
    y = 2.0 * x - 1.0
    f = np.empty(m)
    t_prev, t_cur = np.ones(n), y
    for i in range(1, m + 1):
        f[i - 1] = t_cur.mean()
        if i % 2 == 0:
            f[i - 1] += 1.0 / (i * i - 1.0)
        t_prev, t_cur = t_cur, 2.0 * y * t_cur - t_prev
    return f


def _chebyquad_jac(x, m, n):
    # d/dx T_i(2x - 1) = 2 i U_{i-1}(2x - 1)  (U: Chebyshev polynomial of the second kind)
    y = 2.0 * x - 1.0
    J = np.empty((m, n))
    u_prev, u_cur = np.zeros(n), np.ones(n)  # U_{-1}, U_0
    for i in range(1, m + 1):
        J[i - 1] = 2.0 * i * u_cur / n
        u_prev, u_cur = u_cur, 2.0 * y * u_cur - u_prev
    return J


# --------------------------------------------------------------------------------------
# 16. Brown almost-linear (m = n)
# --------------------------------------------------------------------------------------


def _brown_almost_linear(x, m, n):
    # f_i = x_i + sum_j x_j - (n + 1) for i < n;  f_n = prod_j x_j - 1
    f = x + (x.sum() - (n + 1.0))
    f[n - 1] = np.prod(x) - 1.0
    return f


def _brown_almost_linear_jac(x, m, n):
    J = np.ones((n, n)) + np.eye(n)
    # d(prod)/dx_j = product of the other components (no division, so zeros are fine)
    J[n - 1] = [np.prod(np.delete(x, j)) for j in range(n)]
    return J


# --------------------------------------------------------------------------------------
# 17-18. Osborne
# --------------------------------------------------------------------------------------

_OSB1_Y = np.array(
    [
        0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751,
        0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490,
        0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406,
    ]
)  # fmt: skip
_OSB1_T = 10.0 * np.arange(33.0)


def _osborne1(x, m, n):
    # f_i = y_i - (x1 + x2 exp(-t_i x4) + x3 exp(-t_i x5)),  t_i = 10 (i - 1)
    t = _OSB1_T
    return _OSB1_Y - (x[0] + x[1] * np.exp(-t * x[3]) + x[2] * np.exp(-t * x[4]))


def _osborne1_jac(x, m, n):
    t = _OSB1_T
    e4 = np.exp(-t * x[3])
    e5 = np.exp(-t * x[4])
    return np.column_stack([-np.ones(33), -e4, -e5, t * x[1] * e4, t * x[2] * e5])


_OSB2_Y = np.array(
    [
        1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746,
        0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649,
        0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395,
        0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429, 0.523, 0.562, 0.607, 0.653,
        0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559, 0.597, 0.625, 0.739,
        0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054,
    ]
)  # fmt: skip
_OSB2_T = np.arange(65.0) / 10.0


def _osborne2(x, m, n):
    # f_i = y_i - (x1 exp(-t_i x5) + x2 exp(-(t_i - x9)^2 x6)
    #              + x3 exp(-(t_i - x10)^2 x7) + x4 exp(-(t_i - x11)^2 x8)),  t_i = (i - 1)/10
    t = _OSB2_T
    model = x[0] * np.exp(-t * x[4])
    for k in range(3):
        model = model + x[1 + k] * np.exp(-((t - x[8 + k]) ** 2) * x[5 + k])
    return _OSB2_Y - model


def _osborne2_jac(x, m, n):
    t = _OSB2_T
    J = np.empty((65, 11))
    e0 = np.exp(-t * x[4])
    J[:, 0] = -e0
    J[:, 4] = t * x[0] * e0
    for k in range(3):
        d = t - x[8 + k]
        e = np.exp(-(d**2) * x[5 + k])
        J[:, 1 + k] = -e
        J[:, 5 + k] = x[1 + k] * d**2 * e
        J[:, 8 + k] = -2.0 * x[1 + k] * x[5 + k] * d * e
    return J


# --------------------------------------------------------------------------------------
# Standard starting points
# --------------------------------------------------------------------------------------


def _const_start(values):
    values = tuple(float(v) for v in values)
    return lambda n: np.array(values)


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in [
        Problem(1, "linear_full_rank", _linear_full_rank, _linear_full_rank_jac, np.ones),
        Problem(2, "linear_rank1", _linear_rank1, _linear_rank1_jac, np.ones),
        Problem(3, "linear_rank1_zero", _linear_rank1_zero, _linear_rank1_zero_jac, np.ones),
        Problem(4, "rosenbrock", _rosenbrock, _rosenbrock_jac, _const_start([-1.2, 1.0])),
        Problem(5, "helical_valley", _helical_valley, _helical_valley_jac,
                _const_start([-1.0, 0.0, 0.0])),
        Problem(6, "powell_singular", _powell_singular, _powell_singular_jac,
                _const_start([3.0, -1.0, 0.0, 1.0])),
        Problem(7, "freudenstein_roth", _freudenstein_roth, _freudenstein_roth_jac,
                _const_start([0.5, -2.0])),
        Problem(8, "bard", _bard, _bard_jac, _const_start([1.0, 1.0, 1.0])),
        Problem(9, "kowalik_osborne", _kowalik_osborne, _kowalik_osborne_jac,
                _const_start([0.25, 0.39, 0.415, 0.39])),
        Problem(10, "meyer", _meyer, _meyer_jac, _const_start([0.02, 4000.0, 250.0])),
        Problem(11, "watson", _watson, _watson_jac, np.zeros),
        Problem(12, "box3d", _box3d, _box3d_jac, _const_start([0.0, 10.0, 20.0])),
        Problem(13, "jennrich_sampson", _jennrich_sampson, _jennrich_sampson_jac,
                _const_start([0.3, 0.4])),
        Problem(14, "brown_dennis", _brown_dennis, _brown_dennis_jac,
                _const_start([25.0, 5.0, -5.0, -1.0])),
        Problem(15, "chebyquad", _chebyquad, _chebyquad_jac,
                lambda n: np.arange(1.0, n + 1) / (n + 1.0)),
        Problem(16, "brown_almost_linear", _brown_almost_linear, _brown_almost_linear_jac,
                lambda n: np.full(n, 0.5)),
        Problem(17, "osborne1", _osborne1, _osborne1_jac,
                _const_start([0.5, 1.5, -1.0, 0.01, 0.02])),
        Problem(18, "osborne2", _osborne2, _osborne2_jac,
                _const_start([1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5])),
    ]
}  # fmt: skip

# (problem, n, m, number of starting points) in the order of the MINPACK lmder driver;
# the k-th start is the standard x0 scaled by 10**k.
DRIVER_TABLE = [
    ("linear_full_rank", 5, 10, 1),
    ("linear_full_rank", 5, 50, 1),
    ("linear_rank1", 5, 10, 1),
    ("linear_rank1", 5, 50, 1),
    ("linear_rank1_zero", 5, 10, 1),
    ("linear_rank1_zero", 5, 50, 1),
    ("rosenbrock", 2, 2, 3),
    ("helical_valley", 3, 3, 3),
    ("powell_singular", 4, 4, 3),
    ("freudenstein_roth", 2, 2, 3),
    ("bard", 3, 15, 3),
    ("kowalik_osborne", 4, 11, 3),
    ("meyer", 3, 16, 2),
    ("watson", 6, 31, 3),
    ("watson", 9, 31, 3),
    ("watson", 12, 31, 3),
    ("box3d", 3, 10, 1),
    ("jennrich_sampson", 2, 10, 1),
    ("brown_dennis", 4, 20, 3),
    ("chebyquad", 1, 8, 3),
    ("chebyquad", 8, 8, 1),
    ("chebyquad", 9, 9, 1),
    ("chebyquad", 10, 10, 1),
    ("brown_almost_linear", 10, 10, 3),
    ("brown_almost_linear", 30, 30, 1),
    ("brown_almost_linear", 40, 40, 1),
    ("osborne1", 5, 33, 1),
    ("osborne2", 11, 65, 1),
]


def _scaled_start(problem: Problem, n: int, factor: float) -> np.ndarray:
    x0 = np.asarray(problem.start(n), dtype=float)
    if factor != 1.0:
        if problem.name == "watson":
            # Watson's standard start is 0, so the scaled starts are x_j = factor.
            x0 = np.full(n, float(factor))
        else:
            x0 = factor * x0
    return x0


def make_case(name: str, n: int, m: int, factor: float = 1.0) -> Case:
    """A :class:`Case` for problem ``name`` at size (m, n), started at ``factor`` * x0."""
    p = PROBLEMS[name]
    x0 = _scaled_start(p, n, factor)
    x0.setflags(write=False)
    fun = partial(p.fun, m=m, n=n)
    jac = partial(p.jac, m=m, n=n)
    # leastsq names the function in its shape messages; keep the problem's name there.
    fun.__name__ = p.name  # type: ignore[attr-defined]
    jac.__name__ = p.name + "_jac"  # type: ignore[attr-defined]
    case_id = f"{p.name}-n{n}-m{m}-x{int(factor)}"
    return Case(case_id, p.name, p.number, n, m, float(factor), x0, fun, jac)


CASES: list[Case] = [
    make_case(name, n, m, 10.0**k) for name, n, m, tries in DRIVER_TABLE for k in range(tries)
]

CASES_BY_ID: dict[str, Case] = {c.id: c for c in CASES}

# The cases on which lmfast and SciPy may legitimately end at different points, each
# with a numerically singular Jacobian (condition number above 1e10) at its start or at
# its solution (checked by test_problems.py), so that the last bits of each step decide
# where the iteration goes:
#   linear_rank1: J has rank 1 everywhere; the minimisers form a 4-dimensional affine
#     set and x is not determined by the data.  SciPy 1.17's own answer changes from
#     one process to the next (valgrind: its C qrfac reads the double just past the end
#     of the Jacobian, "Invalid read of size 8" in enorm <- qrfac <- LMDER, so heap
#     contents enter the result); lmfast's does not.
#   brown_almost_linear from 100*x0: cond(J(x0)) ~ 1e16; leastsq's first
#     forward-difference step differs from SciPy's in the last bits (1e-12 at |x| ~ 500)
#     and the run ends 6e-7 away, at the same ||f|| = 1 minimum (cond(J) ~ 1e18 there);
#     least_squares' runs of it differ from SciPy's in the last bits (2e-8 in the cost
#     when stopped by max_nfev=10).
#   powell_singular: J is singular at the root x = 0, which every start approaches
#     slowly (ier 5 or 8): the final x and f are rounding-sized and differ bitwise.
# A divergence from SciPy on any other case is a failure; on these, the tests check what
# stays true (test_leastsq_compat.assert_same_minimum, test_least_squares).
SINGULAR_CASES: frozenset[str] = frozenset({
    "linear_rank1-n5-m10-x1",
    "linear_rank1-n5-m50-x1",
    "brown_almost_linear-n10-m10-x100",
    "powell_singular-n4-m4-x1",
    "powell_singular-n4-m4-x10",
    "powell_singular-n4-m4-x100",
})
