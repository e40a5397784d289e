"""The batch driver of a vectorised Python model: rounds of one model call per group of fits.

:class:`PythonModel` evaluates a curve_fit-style model written with NumPy broadcasting
(and its Jacobian) for many parameter rows at once, weighted as the engine needs them;
:class:`OneFitModel` does the same for a model that cannot broadcast, one call per row
(``vectorized=False``), so both drive the same rounds of the same engine;
:func:`run_python` advances groups of fits in rounds on worker threads (the engine steps
every pending fit of a group, the model is called once for all their requests);
:func:`python_pcov` forms the covariance of the fits whose pcov needs a fresh Jacobian at
popt (a parameter on a bound, an estimator beyond least squares).
"""

import threading

import numpy as np

from lmfast import _estimator, _validate, _weighting
from lmfast._batch_result import fit_rows
from lmfast._thread_pool import Workers

__all__ = ["OneFitModel", "PythonModel", "python_pcov", "run_python", "x_fit", "x_rows"]

#: What a Python model that does not broadcast is told, in every such TypeError.
_BROADCAST_HINT = (
    "curve_fit_batch calls a Python model with each parameter as a column of shape "
    "(K, 1), one row per fit, and needs an array of shape (K, M) back: write it with "
    "NumPy operations that broadcast (np.exp, not math.exp; no float(p) or if-tests on "
    "a parameter)"
)


class PythonModel:
    """A vectorised Python model (and Jacobian) evaluated for many parameter rows.

    Parameters
    ----------
    f, jac : callable, callable or None
        ``f(x, *columns)`` -> (K, M) and ``jac(x, *columns)`` -> (K, M, n), each
        parameter a column of shape (K, 1); jac None for forward differences.
    n, m : int
        Parameters and points of one fit.
    x_rows : callable
        ``x_rows(idx)``: the xdata the model receives for the fits idx (:func:`x_rows`).
    ydata : ndarray, shape (N, M)
    weights : ndarray, shape (M,) or (N, M), or None
        1 / sigma.
    poisson : bool
        Return the model's values unweighted (the engine forms the deviance residuals).
    """

    def __init__(self, f, jac, n, m, x_rows, ydata, weights, poisson=False):
        self.f = f
        self.jac = jac
        self.n = n
        self.m = m
        self.x_rows = x_rows
        self.ydata = ydata
        self.weights = weights
        self.poisson = poisson

    def _call(self, name, func, rows, idx, shape):
        """func(x, *columns) for the fits idx, checked: real values of ``shape``."""
        values = func(self.x_rows(idx), *[rows[:, j : j + 1] for j in range(self.n)])
        try:
            return _validate.model_values(name, values, shape)
        except ValueError as exc:
            raise TypeError(f"{exc} for {len(idx)} parameter rows: {_BROADCAST_HINT}") from None

    def _fit_weights(self, idx):
        if self.weights is None or self.weights.ndim == 1:
            return self.weights
        return self.weights[idx]

    def residuals(self, rows, idx):
        """The base values (len(idx), M) at rows, as C-contiguous float64: the weighted
        residuals, or the model's values for Poisson (the engine applies the
        estimator, lmfast/_estimator.pxd)."""
        values = self._call("f", self.f, rows, idx, (len(idx), self.m))
        if self.poisson:
            return np.ascontiguousarray(values, dtype=np.float64)
        res = _weighting.residuals(values, self.ydata[idx], self._fit_weights(idx))
        return np.ascontiguousarray(res, dtype=np.float64)

    def jacobians(self, rows, idx):
        """The base values' Jacobians (len(idx), M, n) at rows, as C-contiguous float64:
        the model's, weighted like the residuals."""
        values = self._call("jac", self.jac, rows, idx, (len(idx), self.m, self.n))
        if self.poisson:
            return np.ascontiguousarray(values, dtype=np.float64)
        w = self._fit_weights(idx)
        if w is not None and w.ndim == 1:
            w = w[np.newaxis]
        return np.ascontiguousarray(_weighting.jacobian(values, w), dtype=np.float64)

    def probe(self, p0_rows):
        """Evaluate at two starting points first, so a model that does not broadcast is
        reported before any work.  An exception the model also raises when called with
        plain scalar parameters is its own: it propagates unchanged."""
        idx = np.array([0, len(p0_rows) - 1], dtype=np.intp)
        rows = np.ascontiguousarray(p0_rows[idx])
        for name, func, call in (("f", self.f, self.residuals),
                                 ("jac", self.jac, self.jacobians)):
            if func is None:
                continue
            try:
                call(rows, idx)
            except (TypeError, ValueError, IndexError) as exc:
                if isinstance(exc, TypeError) and _BROADCAST_HINT in str(exc):
                    raise
                if not self._works_with_scalars(func, rows[0], idx[:1]):
                    raise
                raise TypeError(
                    f"{name} failed when called with parameter columns of shape (2, 1) "
                    f"({type(exc).__name__}: {exc}), although it works with scalar "
                    f"parameters: {_BROADCAST_HINT}"
                ) from exc

    def _works_with_scalars(self, func, row, idx):
        """Whether func(x, *row) succeeds with plain float parameters for one fit."""
        x = self.x_rows(idx)
        if x is not self.x_rows(idx[:0]):
            x = x[..., 0, :]  # per-fit rows: this fit's own coordinates
        try:
            func(x, *(float(v) for v in row))
        except Exception:  # noqa: BLE001 (any failure means: not a broadcasting problem)
            return False
        return True


class OneFitModel(PythonModel):
    """A Python model that does not broadcast, called once per parameter row, as
    curve_fit calls it: ``f(x_i, *row)`` -> (M,), ``jac(x_i, *row)`` -> (M, n), with
    fit i's own xdata and the row's parameters as scalars.

    Parameters are those of :class:`PythonModel`, except
    x_rows : callable
        ``x_rows(i)``: the xdata of fit i (:func:`x_fit`).
    """

    def _call(self, name, func, rows, idx, shape):
        """func(x_i, *row) for each row and its fit i in idx, stacked: (len(idx), ...)."""
        out = np.empty(shape)
        for k in range(len(idx)):
            values = func(self.x_rows(int(idx[k])), *rows[k])
            try:
                out[k] = _validate.model_values(name, values, shape[1:])
            except ValueError as exc:
                raise TypeError(f"{exc}: with vectorized=False, {name} is called with one "
                                "fit's xdata and scalar parameters, as curve_fit calls it"
                                ) from None
        return out

    def probe(self, p0_rows):
        """Evaluate the first fit at its start, so that a model returning the wrong shape
        is reported before any work (its own exceptions propagate unchanged)."""
        idx = np.zeros(1, dtype=np.intp)
        rows = np.ascontiguousarray(p0_rows[:1])
        self.residuals(rows, idx)
        if self.jac is not None:
            self.jacobians(rows, idx)


def x_fit(x, per_fit):
    """x_fit(i): the xdata fit i's model call receives, (M,) or (k, M).

    Parameters
    ----------
    x : ndarray
        The validated xdata: shared (M,) or (k, M), per fit (N, M) or (N, k, M).
    per_fit : bool
        Whether x has one entry per fit.
    """
    if not per_fit:
        return lambda i: x
    return lambda i: x[i]


def x_rows(x, per_fit):
    """x_rows(idx): what a Python model receives for the fits idx (the shared xdata
    itself, or the rows of the per-fit xdata with the fit axis second to last).

    Parameters
    ----------
    x : ndarray
        The validated xdata: shared (M,) or (k, M), per fit (N, M) or (N, k, M).
    per_fit : bool
        Whether x has one entry per fit.
    """
    if not per_fit:
        return lambda idx: x
    if x.ndim == 2:
        return lambda idx: x[idx]
    by_row = x.transpose(1, 0, 2)
    return lambda idx: by_row[:, idx]


def run_python(make_batch, model, n_fits, group, threads, bar):
    """Advance groups of fits in rounds, one model call per round for a whole group.

    With several threads, each works through its own groups (NumPy releases the GIL
    inside its array loops, the engine steps without it); the calling thread is one of
    them and serves Ctrl-C and the progress bar.  The first exception raised in any
    thread stops the others and propagates unchanged.

    Parameters
    ----------
    make_batch : callable
        Returns a new ``_batch_core.VectorBatch`` (one per thread: the engine's state of
        the group it works on).
    model : PythonModel
    n_fits, group, threads : int
        Fits of the batch, fits per group, threads to use (the calling one included).
    bar : tqdm progress bar or None
    """
    starts = iter(range(0, n_fits, group))
    lock = threading.Lock()
    cancelled = threading.Event()
    errors = []
    finished = [0]

    def count(done):
        with lock:
            finished[0] += done

    def show(done):
        count(done)
        if bar is not None:
            bar.update(finished[0] - bar.n)

    def work(report):
        batch = make_batch()
        while not cancelled.is_set():
            with lock:
                first = next(starts, None)
            if first is None:
                return
            _run_group(batch, model, first, min(group, n_fits - first), cancelled, report)

    def helper(slot):
        try:
            work(count)
        except BaseException as exc:  # re-raised by the calling thread
            errors.append(exc)
            cancelled.set()

    helpers = Workers(helper, range(1, threads), context=True)
    try:
        helpers.start()
        work(show)
        helpers.wait(lambda: show(0))
    except BaseException:
        helpers.stop(cancelled.set)
        raise
    if errors:
        raise errors[0]
    show(0)  # the fits the helpers finished after the last poll


def _run_group(batch, model, first, count, cancelled, report):
    """Fit `count` fits from `first` on to the end, calling report(number finished)."""
    done = batch.start(first, count)
    while not cancelled.is_set():
        if done:
            report(done)
        n_f, n_j = batch.gather()
        if not (n_f or n_j):
            return
        res = jacs = None
        if n_f:
            res = model.residuals(batch.rows_f[:n_f], batch.fit_f[:n_f])
        if n_j:
            jacs = model.jacobians(batch.rows_j[:n_j], batch.fit_j[:n_j])
        done = batch.scatter(res, jacs)


def python_pcov(result, problem, python_model, est, upper, epsfcn):
    """pcov of the converged fits of a Python model whose covariance comes from a fresh
    Jacobian at popt (a parameter on a bound, or an estimator beyond least squares):
    their base values and Jacobian rows at popt, evaluated for them all at once.

    Parameters
    ----------
    result : BatchResult
        The finished batch; its ``pcov`` rows of those fits are written.
    problem : lmfast._problem.Problem
    python_model : PythonModel
    est : lmfast._estimator.Estimator
    upper : ndarray or None
        Upper bounds, shared (n,) or per fit (N, n): difference steps stay inside them.
    epsfcn : float
        Relative step of forward differences, as leastsq takes it.
    """
    fresh = result.success & (result.at_bound.any(axis=1) | (not est.least_squares))
    idx = np.flatnonzero(fresh)
    if not idx.size:
        return
    free = _validate.free_parameters(problem.fixed, problem.n)
    for start in range(0, idx.size, 1024):
        chunk = idx[start:start + 1024]
        rows = np.ascontiguousarray(result.popt[chunk])
        if python_model.jac is not None:
            at = python_model.residuals(rows, chunk)
            jac = python_model.jacobians(rows, chunk)[:, :, free]
        else:
            at, jac = _estimator.difference_rows(
                lambda r: python_model.residuals(np.ascontiguousarray(r), chunk), rows,
                free, None if upper is None else fit_rows(upper, chunk), epsfcn)
        for k, i in enumerate(chunk):
            cov = _estimator.python_covariance(problem, at[k], jac[k])
            result.pcov[i] = _scaled_pcov(cov, result.chisq[i], problem, est)


def _scaled_pcov(cov, chisq, problem, est):
    """curve_fit's scaling of the covariance at the solution (inf where undefined)."""
    if cov is None:
        return np.inf
    if problem.absolute_sigma or est.absolute:
        return cov
    dof = problem.m - problem.n_free
    return cov * (chisq / dof) if dof > 0 else np.inf
