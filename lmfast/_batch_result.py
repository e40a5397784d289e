"""BatchResult: the outcome of ``curve_fit_batch``, one entry per fit, and its fields.

``RESULT_FIELDS`` names the per-fit arrays (dtype and shape) once, for the result itself
and for the one-record-per-fit form of ``lmfast/_records.py``.  ``result[i]`` is one fit's
:class:`FitResult`; a slice, a boolean mask or an array of indices gives the fits it
selects as a smaller BatchResult.  Tables and text are ``lmfast/_result_export.py``'s.
"""

import operator

import numpy as np

from lmfast import _result_export, _validate
from lmfast._outcomes import CODES_DOC, P0_OUTSIDE_BOUNDS, SUCCESS, message

__all__ = ["RESULT_FIELDS", "BatchResult", "FitResult", "fit_rows"]


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

    ``result[i]`` is fit i as a :class:`FitResult` (negative i counts from the end);
    ``result[start:stop]``, ``result[mask]`` (a boolean array of length N) and
    ``result[indices]`` are the fits they select, as a new BatchResult holding copies
    (``fit_index`` keeps their numbers in this one).  Iterating gives every fit's
    FitResult.  ``summary()`` describes the batch in a few lines; ``to_pandas()`` and
    ``to_xarray()`` give it as a table (with pandas or xarray installed).

    Attributes
    ----------
    param_names : tuple of str
        The parameters' names, in popt's order: a model's ``param_names``, else the
        arguments after x in the signature of a Python model ``f(x, a, b, ...)``, else
        (``f(x, *p)``) ``p0``, ``p1``, ...
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
    fit_index : ndarray of int64, shape (N,)
        Each fit's number in the batch that was fitted: ``0 ... N-1``, or in a subset
        (``result[mask]``) the numbers the fits had in the whole result.
    """

    def __init__(self, n_fits, n, tolerances, param_names=None):
        for name, (dtype, shape) in RESULT_FIELDS.items():
            setattr(self, name, np.empty((n_fits, *shape(n)), dtype=dtype))
        self.param_names = (_validate.default_names(n) if param_names is None
                            else tuple(param_names))
        if len(self.param_names) != n:
            raise ValueError(f"param_names has {len(self.param_names)} names for n={n} "
                             "parameters")
        self.fit_index = np.arange(n_fits, dtype=np.int64)
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

    def __getitem__(self, key):
        """One fit, or a subset of the fits.

        Parameters
        ----------
        key : int, slice, array of bool or array of int
            A fit number (negative from the end), or a slice, boolean mask of shape
            (N,) or array of fit numbers.

        Returns
        -------
        FitResult or BatchResult
            The fit ``key`` (its values copied out), or those fits as a new batch whose
            ``fit_index`` keeps their numbers.
        """
        if isinstance(key, (bool, np.bool_)):
            raise TypeError("a BatchResult is indexed by a fit number, a slice, a boolean "
                            "mask or an array of fit numbers, not by a bool")
        try:
            i = operator.index(key)
        except TypeError:
            return self._subset(self._selection(key))
        n_fits = len(self)
        if not -n_fits <= i < n_fits:
            raise IndexError(f"fit {i} is out of range for a BatchResult of {n_fits} fits "
                             f"(valid: {-n_fits} to {n_fits - 1})")
        return FitResult(self, i % n_fits)

    def __iter__(self):
        return (FitResult(self, i) for i in range(len(self)))

    def _selection(self, key):
        """The fit numbers (an int array) a slice, boolean mask or index array selects."""
        n_fits = len(self)
        if isinstance(key, slice):
            return np.arange(n_fits)[key]
        idx = np.asarray(key)
        if idx.dtype == np.bool_:
            if idx.shape != (n_fits,):
                raise IndexError(f"a boolean mask must have shape ({n_fits},), one entry "
                                 f"per fit; got {idx.shape}")
            return np.flatnonzero(idx)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise TypeError("a BatchResult is indexed by a fit number, a slice, a boolean "
                            "mask or a 1-D array of fit numbers; got "
                            f"{type(key).__name__} of dtype {idx.dtype}, shape {idx.shape}")
        idx = idx.astype(np.intp)
        bad = (idx < -n_fits) | (idx >= n_fits)
        if bad.any():
            raise IndexError(f"fit {int(idx[bad][0])} is out of range for a BatchResult of "
                             f"{n_fits} fits (valid: {-n_fits} to {n_fits - 1})")
        return idx % n_fits if n_fits else idx

    def _subset(self, idx):
        """A new BatchResult holding copies of the fits idx (an int array)."""
        sub = BatchResult(len(idx), len(self.param_names), self._tolerances,
                          self.param_names)
        for name in (*RESULT_FIELDS, "fit_index"):
            setattr(sub, name, getattr(self, name)[idx])
        if self._outside is not None:
            outside, p0, lower, upper, names = self._outside
            sub._outside = (outside[idx], fit_rows(p0, idx), fit_rows(lower, idx),
                            fit_rows(upper, idx), names)
        return sub

    def summary(self):
        """A few lines on the batch: fits and how many converged, the fits per ier
        with its message, the parameters that ended on a bound.

        Returns
        -------
        str
            The text, lines separated by newlines.
        """
        return _result_export.summary(self)

    def to_pandas(self):
        """The batch as a pandas DataFrame, one row per fit (indexed by ``fit_index``).

        Returns
        -------
        pandas.DataFrame
            A column per parameter (its name) and one per its error (``<name>_err``),
            then ``chisq``, ``ier``, ``nfev``, ``njev``, ``success`` and ``n_at_bound``
            (the parameters of the fit that ended on a bound).

        Raises
        ------
        ImportError
            Without pandas.
        """
        return _result_export.to_pandas(self)

    def to_xarray(self):
        """The batch as an xarray Dataset with a ``fit`` dimension and a ``param`` coordinate.

        Returns
        -------
        xarray.Dataset
            ``popt``, ``perr``, ``at_bound`` over (fit, param); ``pcov`` over
            (fit, cov_i, cov_j), both coordinates the parameter names, as
            ``xarray.DataArray.curvefit`` names them; ``chisq``, ``ier``, ``nfev``,
            ``njev``, ``success`` over fit.  The coordinate ``fit`` is ``fit_index``.

        Raises
        ------
        ImportError
            Without xarray.
        """
        return _result_export.to_xarray(self)

    def __repr__(self):
        n_fits = len(self)
        converged = int(np.count_nonzero(self.success))
        at_bound = int(np.count_nonzero(self.at_bound.any(axis=1)))
        bound = f", {at_bound} with a parameter at a bound" if at_bound else ""
        return (f"<BatchResult: {n_fits} fits of ({', '.join(self.param_names)}), "
                f"{converged} converged{bound}>")


BatchResult.__doc__ = str(BatchResult.__doc__).format(
    codes="\n".join("            " + line for line in CODES_DOC.splitlines()))


class FitResult:
    """One fit of a :class:`BatchResult` (``result[i]``), its values copied out.

    Attributes
    ----------
    fit : int
        The fit's number in the batch that was fitted.
    param_names : tuple of str
    popt, perr : ndarray, shape (n,)
    pcov : ndarray, shape (n, n)
    at_bound : ndarray of bool, shape (n,)
    chisq : float
    ier, nfev, njev : int
    success : bool
        Whether the fit converged (ier 1-4).
    message : str
        Why the fit stopped.
    """

    __slots__ = ("fit", "param_names", "popt", "perr", "pcov", "at_bound", "chisq", "ier",
                 "nfev", "njev", "success", "message")

    def __init__(self, batch, i):
        self.fit = int(batch.fit_index[i])
        self.param_names = batch.param_names
        self.popt = batch.popt[i].copy()
        self.pcov = batch.pcov[i].copy()
        self.perr = np.sqrt(np.diagonal(self.pcov))
        self.at_bound = batch.at_bound[i].copy()
        self.chisq = float(batch.chisq[i])
        self.ier = int(batch.ier[i])
        self.nfev = int(batch.nfev[i])
        self.njev = int(batch.njev[i])
        self.success = self.ier in SUCCESS
        self.message = batch.message(i)

    def params(self):
        """The fitted parameters by name, ``{name: value}``.

        Returns
        -------
        dict
            ``popt`` by parameter name, in the model's order.
        """
        return dict(zip(self.param_names, self.popt.tolist(), strict=True))

    def __repr__(self):
        return _result_export.fit_text(self)


def fit_rows(a, idx):
    """The rows idx of a per-fit (N, ...) array; a shared array as it is."""
    return a[idx] if a.ndim == 2 else a
