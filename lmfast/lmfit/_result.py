"""LmfitBatchResult: a compiled batch's outcome in lmfit's terms (names, values, stderr)."""
import copy

import numpy as np

__all__ = ["LmfitBatchResult"]


class LmfitBatchResult:
    """The outcome of :func:`lmfast.lmfit.fit_batch`, one entry per spectrum.

    Attributes
    ----------
    param_names : tuple of str
        Every parameter of the lmfit Parameters, in their order (free, fixed, tied and
        derived ones such as ``fwhm`` and ``height``).
    var_names : tuple of str
        The free parameters (vary, no expr): the parameters of the fit.
    values : ndarray, shape (N, len(param_names))
        Best-fit values (NaN for spectra without an answer).
    stderr : ndarray, shape (N, len(param_names))
        Standard errors as lmfit's ``leastsq`` reports them (covariance scaled by redchi;
        for tied and derived parameters propagated from the covariance of the free ones,
        correlations included); 0 for fixed parameters, NaN where not available.
    covar : ndarray, shape (N, len(var_names), len(var_names))
        Covariance of the free parameters (lmfit's ``result.covar``).
    chisqr, redchi, aic, bic : ndarray, shape (N,)
        As lmfit defines them: ``sum(resid**2)``, ``chisqr / (ndata - nvarys)``, ...
    success : ndarray of bool, shape (N,)
        True where the fit converged (leastsq's ier 1-4).
    ier, nfev : ndarray, shape (N,)
        leastsq's status code and the model evaluations of each fit.
    ndata, nvarys : int
        Points per spectrum and free parameters.
    batch : lmfast.BatchResult
        The compiled batch's own result (over the free parameters).
    """

    def __init__(self, params, batch, names, var_names, values, stderr, ndata):
        self._params = params
        self.batch = batch
        self.param_names = tuple(names)
        self.var_names = tuple(var_names)
        self.values = values
        self.stderr = stderr
        self.covar = batch.pcov
        self.ndata = ndata
        self.nvarys = len(var_names)
        self.chisqr = batch.chisq
        self.redchi = self.chisqr / max(1, ndata - self.nvarys)
        with np.errstate(divide="ignore", invalid="ignore"):
            neg2_log_likelihood = ndata * np.log(self.chisqr / ndata)
        self.aic = neg2_log_likelihood + 2 * self.nvarys
        self.bic = neg2_log_likelihood + np.log(ndata) * self.nvarys
        self.ier = batch.ier
        self.nfev = batch.nfev

    @property
    def success(self):
        """Boolean array: True where the fit converged."""
        return self.batch.success

    def message(self, i):
        """Why fit ``i`` stopped, in leastsq's words.

        Parameters
        ----------
        i : int
            The spectrum (row of data).

        Returns
        -------
        str
            The message of its ``ier``.
        """
        return self.batch.message(i)

    def __len__(self):
        return len(self.ier)

    def __repr__(self):
        return (f"<lmfast.lmfit.LmfitBatchResult: {len(self)} spectra, "
                f"{int(np.count_nonzero(self.success))} converged, "
                f"{self.nvarys} free of {len(self.param_names)} parameters>")

    def params(self, i):
        """Spectrum ``i``'s result as lmfit ``Parameters`` (a copy of the fit's, with
        value, stderr and correl set as lmfit's ``leastsq`` sets them), for
        ``lmfit.fit_report`` and ``model.eval(params, x=x)``.

        Parameters
        ----------
        i : int
            The spectrum (row of data).

        Returns
        -------
        lmfit.Parameters
            The model's parameters at the fit's values.
        """
        i = int(range(len(self))[i])
        out = copy.deepcopy(self._params)
        for j, name in enumerate(self.param_names):
            par = out[name]
            if par.expr is None:
                if par.vary:
                    par.init_value = self._params[name].value
                par.value = float(self.values[i, j])
            err = float(self.stderr[i, j])
            par.stderr = err if np.isfinite(err) else None
            par.correl = None
        cov = self.covar[i]
        sd = np.sqrt(np.diagonal(cov))
        if np.all(np.isfinite(sd)) and np.all(sd > 0):
            corr = cov / np.outer(sd, sd)
            for a, name in enumerate(self.var_names):
                out[name].correl = {other: float(corr[a, b])
                                    for b, other in enumerate(self.var_names) if b != a}
        return out

    def fit_report(self, i, **kws):
        """``lmfit.fit_report`` of spectrum ``i``'s parameters.

        Parameters
        ----------
        i : int
            The spectrum (row of data).
        **kws
            Keywords of ``lmfit.fit_report`` (``show_correl``, ``min_correl``, ...).

        Returns
        -------
        str
            The report.
        """
        from lmfit import fit_report

        return fit_report(self.params(i), **kws)
