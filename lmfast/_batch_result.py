"""BatchResult: the outcome of ``curve_fit_batch``, one entry per fit, and its fields.

``RESULT_FIELDS`` names the per-fit arrays (dtype and shape) once, for the result itself
and for the one-record-per-fit form of ``lmfast/_records.py``.
"""

import numpy as np

from lmfast import _validate
from lmfast._outcomes import CODES_DOC, P0_OUTSIDE_BOUNDS, SUCCESS, message

__all__ = ["RESULT_FIELDS", "BatchResult", "fit_rows"]


#: BatchResult's per-fit arrays: name -> (dtype, shape of one fit's entry given n).
RESULT_FIELDS = {
    "popt": (np.float64, lambda n: (n,)),
    "at_bound": (np.bool_, lambda n: (n,)),
    "pcov": (np.float64, lambda n: (n, n)),
    "chisq": (np.float64, lambda n: ()),
    "ier": (np.int32, lambda n: ()),
    "nfev": (np.int64, lambda n: ()),
    "njev": (np.int64, lambda n: ()),
}


class BatchResult:
    """The outcome of :func:`lmfast.curve_fit_batch`, one entry per fit.

    Attributes
    ----------
    popt : ndarray, shape (N, n)
        Fitted parameters; the last iterate for fits that stopped without converging
        (ier 5-8), NaN for fits with no answer (ier 0 or negative).
    at_bound : ndarray of bool, shape (N, n)
        Which parameters ended on one of their bounds (within 1e-6 of ``max(1, |bound|)``
        and of the bounds' width); False for fixed and unbounded parameters.
    pcov : ndarray, shape (N, n, n)
        Covariance of popt as :func:`lmfast.curve_fit` computes it (inf where it is
        indeterminate), NaN for fits that did not converge.
    chisq : ndarray, shape (N,)
        Sum of squared weighted residuals at popt; the deviance for
        ``estimator='poisson'``, ``f_scale**2 * sum(rho)`` for a robust loss.
    ier : ndarray of int32, shape (N,)
        Why each fit stopped (``message(i)`` says it in words)::

{codes}

    nfev, njev : ndarray of int64, shape (N,)
        Model evaluations and Jacobian evaluations, counted as leastsq counts them.
    """

    def __init__(self, n_fits, n, tolerances):
        for name, (dtype, shape) in RESULT_FIELDS.items():
            setattr(self, name, np.empty((n_fits, *shape(n)), dtype=dtype))
        self._tolerances = tolerances
        # (first parameter outside per fit, p0, lower, upper, names) for message(i)
        self._outside = None

    @property
    def perr(self):
        """One-standard-deviation errors, ``sqrt(diag(pcov))`` per fit, shape (N, n)."""
        return np.sqrt(np.diagonal(self.pcov, axis1=1, axis2=2))

    @property
    def success(self):
        """Boolean array: True where the fit converged (ier 1-4)."""
        return np.isin(self.ier, tuple(SUCCESS))

    def message(self, i):
        """Why fit `i` stopped, in leastsq's words.

        Parameters
        ----------
        i : int
            The fit's index.

        Returns
        -------
        str
            leastsq's message for its ``ier`` (lmfast's for negative codes; for a p0
            outside its bounds, naming the parameter as curve_fit's error does).
        """
        if self.ier[i] == P0_OUTSIDE_BOUNDS and self._outside is not None:
            outside, p0, lower, upper, names = self._outside
            return _validate.p0_outside_message(fit_rows(p0, i), fit_rows(lower, i),
                                                fit_rows(upper, i), int(outside[i]), names)
        return message(int(self.ier[i]), self._tolerances)

    def __len__(self):
        return len(self.ier)

    def __repr__(self):
        n_fits = len(self)
        converged = int(np.count_nonzero(self.success))
        return f"<BatchResult: {n_fits} fits, {converged} converged>"


BatchResult.__doc__ = str(BatchResult.__doc__).format(
    codes="\n".join("            " + line for line in CODES_DOC.splitlines()))


def fit_rows(a, idx):
    """The rows idx of a per-fit (N, ...) array; a shared array as it is."""
    return a[idx] if a.ndim == 2 else a
