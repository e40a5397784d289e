"""Comparison helpers shared by the test modules (a plain module: ``from helpers import ...``).

* side by side with SciPy: ``run_outcome`` records what one call did (``Outcome``: its
  value or exception, and the warnings), ``same_exception_type`` compares leastsq's
  exception types (SciPy's private ``_minpack.error`` included);
  ``side_by_side_settings`` and ``run_side_by_side`` serve the hypothesis properties;
* the MGH cases: ``fit_mgh`` runs one case in one of the ``MODES`` and keeps what the
  tests compare (``Fit``); ``MGHRuns`` caches the SciPy and lmfast fits of each case;
* numbers: ``fnorm_not_worse``, ``fnorms_match``, ``x_match``, ``lre``, ``min_lre``;
  ``assert_popt_close`` and ``assert_pcov_close`` (curve_fit's and the batch's popt/pcov);
  ``central_differences``, the reference for analytic Jacobians;
* norms and QR factorizations (the MINPACK kernels and the fast ones): ``exact_norm``,
  ``r_from``, ``assert_gram_matches``, ``assert_is_permutation``, ``assert_pivoted``.

Nothing here holds expected values produced by lmfast.  ``tests/`` is on ``sys.path``
through the ``pythonpath`` setting of pytest in pyproject.toml.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np
import problems
from numpy.testing import assert_allclose, assert_array_equal

# --------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one call did: returned ``value``, or raised ``exc`` (``ier``, ``x`` and
    ``infodict`` read a ``leastsq`` result)."""

    value: Any = None
    exc: BaseException | None = None
    warnings: list[tuple[type, str, str]] = field(default_factory=list)  # (category, text, file)

    @property
    def raised(self) -> bool:
        return self.exc is not None

    @property
    def ier(self) -> int:
        return int(self.value[-1])

    @property
    def x(self) -> np.ndarray:
        return self.value[0]

    @property
    def infodict(self) -> dict:
        return self.value[2]

    def describe(self) -> str:
        if self.raised:
            return f"raised {type(self.exc).__name__}: {self.exc}"
        return f"returned ier={self.ier} x={self.x!r}"


def run_outcome(fn: Callable, /, *args, **kwargs) -> Outcome:
    """Call ``fn(*args, **kwargs)`` (a ``leastsq`` or a ``curve_fit``); record its result
    or exception and the warnings."""
    out = Outcome()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out.value = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - compared by type and message below
            out.exc = exc
    out.warnings = [(w.category, str(w.message), w.filename) for w in caught]
    return out


def side_by_side_settings(examples: int, randomize: bool):
    """Hypothesis settings of the properties comparing lmfast with SciPy: ``examples``
    examples, derandomized unless ``randomize``, no database, slow and heavily filtered
    draws allowed."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not randomize,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def run_side_by_side(run: Callable, s, sp: Callable, lm: Callable):
    """``run(sp, s)`` then ``run(lm, s)``, both outcomes noted for hypothesis's report.

    Returns SciPy's outcome, lmfast's outcome and lmfast's callbacks (``run`` returns
    ``(outcome, callbacks)``).
    """
    from hypothesis import note

    o_sp, _ = run(sp, s)
    o_lm, cb = run(lm, s)
    note(f"scipy: {o_sp.describe()}")
    note(f"lmfast: {o_lm.describe()}")
    return o_sp, o_lm, cb


def same_exception_type(exc_lm: BaseException, exc_sp: BaseException) -> bool:
    """Does lmfast's exception have the type SciPy raised?

    SciPy reports an unusable callback result ("Result from function call is not a
    proper array of floats.") with its private ``scipy.optimize._minpack.error``, a
    direct ``Exception`` subclass.  As that class is private, lmfast may raise its own
    class instead, as long as ``except`` clauses naming builtin exceptions treat it the
    same way: an ``Exception`` subclass with no other builtin exception among its bases.
    """
    t_sp, t_lm = type(exc_sp), type(exc_lm)
    if issubclass(t_lm, t_sp):
        return True
    if t_sp.__module__.endswith("_minpack") and t_sp.__name__ == "error":
        builtin_bases = {b for b in t_lm.__mro__ if b.__module__ == "builtins"}
        return builtin_bases == {Exception, BaseException, object}
    return False


# --------------------------------------------------------------------------------------
# MGH runs, cached for the session
# --------------------------------------------------------------------------------------

# How the MGH problems are handed to leastsq:
#   lmdif      no Dfun (forward differences)
#   lmder      Dfun returning J, shape (m, n), col_deriv=False
#   lmder_col  Dfun returning J.T, shape (n, m), col_deriv=True
MODES = ("lmdif", "lmder", "lmder_col")


@dataclass
class Fit:
    """One ``full_output=True`` fit of an MGH case, reduced to what the tests compare."""

    ier: int
    nfev: int
    njev: int | None
    x: np.ndarray
    fnorm: float  # ||func(x)||, recomputed from the returned x
    cov_x: np.ndarray | None
    infodict: dict
    mesg: str
    last_jac_x: np.ndarray | None = None  # where Dfun was last called (Dfun modes)

    @property
    def key(self):
        return (self.ier, self.nfev, self.njev)


def fit_mgh(leastsq: Callable, case: problems.Case, mode: str, **options) -> Fit:
    """``leastsq(case.fun, case.x0, full_output=True, ...)`` in one of the MODES."""
    kwargs: dict[str, Any] = {"full_output": True, **options}
    jac_points: list[np.ndarray] = []
    if mode == "lmder":

        def dfun(x):
            jac_points.append(np.array(x, dtype=float))
            return case.jac(x)

    elif mode == "lmder_col":

        def dfun(x):
            jac_points.append(np.array(x, dtype=float))
            return case.jac(x).T

    elif mode != "lmdif":
        raise ValueError(mode)
    if mode != "lmdif":
        dfun.__name__ = case.jac.__name__
        kwargs["Dfun"] = dfun
        kwargs["col_deriv"] = mode == "lmder_col"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in some far starts
        x, cov_x, info, mesg, ier = leastsq(case.fun, case.x0.copy(), **kwargs)
        fnorm = float(np.linalg.norm(case.fun(np.asarray(x, dtype=float))))
    return Fit(
        ier=int(ier),
        nfev=int(info["nfev"]),
        njev=int(info["njev"]) if "njev" in info else None,
        x=x,
        fnorm=fnorm,
        cov_x=cov_x,
        infodict=info,
        mesg=mesg,
        last_jac_x=jac_points[-1] if jac_points else None,
    )


class MGHRuns:
    """``runs[case_id, mode] -> (scipy Fit, lmfast Fit)``, each fit computed once."""

    def __init__(self, sp_leastsq, lm_leastsq):
        self._sp = sp_leastsq
        self._lm = lm_leastsq
        self._cache: dict[tuple[str, str], tuple[Fit, Fit]] = {}

    def __getitem__(self, key: tuple[str, str]) -> tuple[Fit, Fit]:
        if key not in self._cache:
            case_id, mode = key
            case = problems.CASES_BY_ID[case_id]
            self._cache[key] = (fit_mgh(self._sp, case, mode), fit_mgh(self._lm, case, mode))
        return self._cache[key]


# --------------------------------------------------------------------------------------
# Numeric comparison helpers
# --------------------------------------------------------------------------------------

# Residual norms at or below this are "zero residual" (the MGH zero-residual problems end
# at 1e-14 .. 1e-33, and which tiny value comes out is rounding noise).
FNORM_ZERO = 1e-12


def fnorm_not_worse(f_lm: float, f_sp: float, rel: float = 1e-8) -> bool:
    return f_lm <= f_sp * (1.0 + rel) + FNORM_ZERO


def fnorms_match(f_lm: float, f_sp: float, rel: float = 1e-8) -> bool:
    return abs(f_lm - f_sp) <= rel * max(f_lm, f_sp) + FNORM_ZERO


def x_match(x_lm: np.ndarray, x_sp: np.ndarray, rtol: float = 1e-6) -> bool:
    """Equal to rounding, relative to the scale of the solution."""
    x_lm = np.asarray(x_lm, dtype=float)
    x_sp = np.asarray(x_sp, dtype=float)
    if x_lm.shape != x_sp.shape:
        return False
    if not (np.all(np.isfinite(x_lm)) and np.all(np.isfinite(x_sp))):
        return bool(np.array_equal(x_lm, x_sp, equal_nan=True))
    scale = max(1.0, float(np.max(np.abs(x_sp), initial=0.0)))
    return bool(np.all(np.abs(x_lm - x_sp) <= rtol * scale))


def lre(estimate: float, certified: float) -> float:
    """Log relative error (number of correct significant digits), capped at 15."""
    if certified == 0.0:
        err = abs(estimate)
    else:
        err = abs(estimate - certified) / abs(certified)
    if not math.isfinite(err):
        return 0.0
    if err == 0.0:
        return 15.0
    return min(15.0, max(0.0, -math.log10(err)))


def min_lre(x, certified):
    """The smallest LRE over the parameters."""
    return min(lre(float(a), float(c)) for a, c in zip(x, certified))


def assert_popt_close(got, want, rtol, what="popt"):
    """Same shape and dtype; each entry to ``rtol`` relative to its own size (at least a
    thousandth of the largest)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, what
    scale = np.maximum(np.abs(want), 1e-3 * np.max(np.abs(want), initial=0.0))
    assert np.all(np.abs(got - want) <= rtol * scale), (what, got, want)


def assert_pcov_close(got, want, rtol):
    """Same shape and dtype; equal infinities; elsewhere to ``rtol`` relative to
    sqrt(C_ii C_jj) (the scale of the entry)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    inf = np.isinf(want)
    np.testing.assert_array_equal(np.isinf(got), inf)
    np.testing.assert_array_equal(got[inf], want[inf])
    d = np.sqrt(np.abs(np.diag(want)))
    scale = np.outer(d, d)
    finite = ~inf
    assert np.all(np.abs(got[finite] - want[finite]) <= rtol * scale[finite]), (got, want)


def central_differences(fun, x, rel_step):
    """(m, n) central differences of ``fun(x) -> (m,)``, step ``rel_step * max(1, |x_j|)``."""
    x = np.asarray(x, dtype=float)
    columns = []
    for j in range(x.size):
        h = rel_step * max(1.0, abs(x[j]))
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        columns.append((fun(up) - fun(down)) / (up[j] - down[j]))
    return np.stack(columns, axis=-1)


# --------------------------------------------------------------------------------------
# Norms and QR factorizations
# --------------------------------------------------------------------------------------


def exact_norm(x) -> float:
    """sqrt(sum x_i^2), the sum exact (Fraction), the root to 60 digits, then rounded."""
    s = sum((Fraction(float(v)) ** 2 for v in x), Fraction(0))
    if s == 0:
        return 0.0
    with localcontext() as ctx:
        ctx.prec = 60
        ctx.Emax = 10**6
        ctx.Emin = -(10**6)
        return float((Decimal(s.numerator) / Decimal(s.denominator)).sqrt())


def r_from(a_out, rdiag):
    """R: strict upper triangle of a_out's first n rows, diagonal rdiag (m >= n)."""
    n = a_out.shape[1]
    r = np.triu(a_out[:n], 1)
    r[np.diag_indices(n)] = rdiag
    return r


def assert_gram_matches(a, r, ipvt, rtol=1e-12):
    """R^T R == (A P)^T (A P), each entry relative to the product of the column norms
    (Householder QR's columnwise backward error), so mixed column scales are fine."""
    ap = a[:, ipvt]
    d = np.linalg.norm(ap, axis=0)
    d[d == 0] = 1.0
    an = ap / d
    rn = r / d
    assert_allclose(rn.T @ rn, an.T @ an, rtol=0, atol=rtol * max(1, a.shape[0]) ** 0.5)


def assert_is_permutation(ipvt, n):
    assert ipvt.shape == (n,)
    assert_array_equal(np.sort(ipvt), np.arange(n))


def assert_pivoted(r, tol=1e-12):
    """Column pivoting: |R_jj| >= ||R[j:k+1, k]|| for every k > j (the pivot had the
    largest remaining norm), hence |diag R| non-increasing."""
    n = r.shape[1]
    d = np.abs(np.diag(r))
    assert np.all(d[1:] <= d[:-1] * (1 + tol) + tol * d[0]), d
    for j in range(n):
        for k in range(j + 1, n):
            assert np.linalg.norm(r[j:k + 1, k]) <= d[j] * (1 + tol) + tol * d[0], (j, k)
