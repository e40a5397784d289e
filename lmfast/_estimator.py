"""The estimators for the front ends: the one rule for ``estimator=``, ``loss=`` and
``f_scale=``, and the covariance at the solution of a Python model.

The estimator table itself (least squares, Poisson, the robust losses: the engine's
residual and its slope from a base value, the covariance's row weights) is compiled,
``lmfast/_estimator.pxd``, and every driver applies it in C, the Python-model ones too:
a Python model only supplies base values (weighted residuals, or model values for
Poisson) and their Jacobian.
"""
import numpy as np

from lmfast import _model_fit
from lmfast._problem import LEAST_SQUARES, LOSSES, POISSON

_EPS = np.finfo(np.float64).eps

#: SciPy's loss names, in its order.
LOSS_NAMES = tuple(LOSSES)


class Estimator:
    """What a fit minimises: ``kind`` (a Problem estimator kind) and ``f_scale``."""

    __slots__ = ("kind", "f_scale")

    def __init__(self, kind, f_scale=1.0):
        self.kind = kind
        self.f_scale = f_scale

    @property
    def least_squares(self):
        """Whether the residuals are the weighted residuals themselves."""
        return self.kind == LEAST_SQUARES

    @property
    def poisson(self):
        """Whether the base values are model values (Poisson deviance residuals)."""
        return self.kind == POISSON

    @property
    def absolute(self):
        """Whether the covariance at the solution is used as it is (never scaled by the
        reduced chi-square): the Poisson Fisher information."""
        return self.kind == POISSON


def estimator_from(estimator=None, loss=None, f_scale=1.0):
    """The one rule for ``estimator=``, ``loss=`` and ``f_scale=`` of every front end.

    Raises
    ------
    ValueError
        An unknown estimator or loss (naming the argument), ``f_scale`` not > 0, or a
        robust loss with ``estimator='poisson'``.
    TypeError
        ``loss`` or ``f_scale`` of the wrong type (a callable loss is SciPy's only).
    """
    if estimator is None or estimator == "least_squares":
        kind = LEAST_SQUARES
    elif estimator == "poisson":
        kind = POISSON
    else:
        raise ValueError(f"estimator must be None, 'least_squares' or 'poisson', "
                         f"not {estimator!r}")
    if loss is None:
        loss = "linear"
    if callable(loss):
        raise TypeError("loss must be one of SciPy's names "
                        f"{', '.join(map(repr, LOSS_NAMES))}: lmfast takes no callable loss")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSS_NAMES))}, "
                         f"not {loss!r}")
    if isinstance(f_scale, bool) or not isinstance(f_scale, (int, float, np.number)):
        raise TypeError(f"f_scale must be a real number, not {type(f_scale).__name__}")
    f_scale = float(f_scale)
    if not f_scale > 0 or not np.isfinite(f_scale):
        raise ValueError(f"f_scale must be a finite number > 0, not {f_scale!r}")
    if LOSSES[loss] != LEAST_SQUARES:
        if kind == POISSON:
            raise ValueError(f"loss={loss!r} cannot be combined with estimator='poisson': "
                             "the Poisson deviance is its own estimator (use one or "
                             "the other)")
        kind = LOSSES[loss]
    return Estimator(kind, f_scale)


def difference_rows(base, rows, free, upper, epsfcn):
    """db/dp of the free parameters at parameter rows (K, n), by forward differences of
    ``base(rows) -> (K, m)`` with MINPACK's step sqrt(max(epsfcn, eps)) |p| (or the
    root alone at p = 0), taken towards the inside of an upper bound, as the compiled
    fits take it (``model_covariance``).  Returns (b at rows (K, m), (K, m, n_free))."""
    eps = np.sqrt(max(epsfcn, _EPS))
    at = base(rows)
    columns = []
    for j in free:
        h = eps * np.abs(rows[:, j])
        h[h == 0.0] = eps
        if upper is not None:
            hi = upper[..., j]
            h = np.where(rows[:, j] + h > hi, -h, h)
        stepped = rows.copy()
        stepped[:, j] = rows[:, j] + h
        columns.append((base(stepped) - at) / h[:, np.newaxis])
    return at, np.stack(columns, axis=-1)


def python_covariance(problem, base, rows):
    """The unscaled covariance at the solution (n, n) of one fit of a Python model from
    its base values (m,) and db/dp rows (m, n_free); inf where singular (C's
    ``solution_covariance``)."""
    cov = _model_fit.solution_covariance(problem, base, rows)
    if cov is None or not np.isfinite(cov).all():
        return None
    return cov
