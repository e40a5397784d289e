"""``curve_fit_batch``: many independent curve fits in one call, on the one LM engine.

A compiled model (:mod:`lmfast.models`) runs with the GIL released on every thread; a
curve_fit-style Python model written with NumPy broadcasting is evaluated for all
pending fits of a group at once, so Python is paid per round of the algorithm, not per
fit.  Each fit's result is what :func:`lmfast.curve_fit` gives for it alone, whatever
the number of threads or the chunk size.
"""

import threading
import warnings

import numpy as np

from lmfast import _batch_core, _defaults, _estimator, _poisson, _validate, _weighting
from lmfast._batch_result import BatchResult, fit_rows
from lmfast._blas_threads import single_blas_thread
from lmfast._outcomes import NOT_COUNTS, P0_OUTSIDE_BOUNDS
from lmfast._problem import Problem
from lmfast._thread_pool import Workers

__all__ = ["curve_fit_batch"]

#: Doubles of model output one round of a group of fits may produce: small enough for the
#: group's arrays to stay in cache (and bounds memory), large enough to amortise Python.
PYTHON_ROUND_DOUBLES = 1 << 18
#: Jacobian entries a block of compiled fits should cover (a block is what a worker
#: claims at once).
COMPILED_BLOCK_ENTRIES = 1 << 16
MAX_COMPILED_BLOCK = 64

_BROADCAST_HINT = (
    "curve_fit_batch calls a Python model with each parameter as a column of shape "
    "(K, 1), one row per fit, and needs an array of shape (K, M) back: write it with "
    "NumPy operations that broadcast (np.exp, not math.exp; no float(p) or if-tests on "
    "a parameter)"
)


def curve_fit_batch(
    f,
    xdata,
    ydata,
    p0,
    sigma=None,
    absolute_sigma=False,
    jac=None,
    *,
    bounds=None,
    fixed=None,
    estimator=None,
    loss="linear",
    f_scale=1.0,
    x_dims=None,
    ftol=_defaults.FTOL,
    xtol=_defaults.XTOL,
    gtol=_defaults.GTOL,
    maxfev=_defaults.MAXFEV,
    epsfcn=None,
    factor=_defaults.FACTOR,
    threads=None,
    progress=False,
    chunk_size=None,
):
    """Fit one model to many data sets, each independently, by Levenberg-Marquardt.

    Parameters
    ----------
    f : lmfast.models.Model or callable
        A compiled model from :mod:`lmfast.models` (runs with the GIL released on
        `threads` threads), or a curve_fit-style model ``f(x, p1, ..., pn)`` written
        with NumPy broadcasting: it is called with each parameter as a column of shape
        (K, 1) and must return (K, M), K fits at a time.
    xdata : array_like
        Shared by all fits, shape (M,) or (k, M) for a k-D model; or one per fit,
        (N, M) or (N, k, M).  A 2-D xdata whose first length is N is ambiguous for a
        Python model (one row per fit, or a shared N-D coordinate): pass ``x_dims``.
    ydata : array_like, shape (N, M)
        One data set per row.
    p0 : array_like, shape (n,) or (N, n)
        Starting parameters, shared or one row per fit.
    sigma : None, scalar or array_like, shape (M,) or (N, M)
        Standard deviations of ydata: residuals are ``(f(x, *p) - y) / sigma``.  A
        covariance sigma (as curve_fit takes) is not supported in batches.
    absolute_sigma : bool
        As for curve_fit: True takes sigma as absolute, False scales pcov by the
        reduced chi-square of each fit.
    jac : callable or None
        None: a compiled model's analytic Jacobian, or forward differences for a Python
        model.  For a Python model, ``jac(x, p1, ..., pn)`` called like f must return
        (K, M, n).
    bounds : None or (lb, ub)
        Bounds on the parameters, as curve_fit takes them: each of lb and ub a scalar,
        (n,) or (N, n) for bounds per fit (or an object with ``lb``/``ub``).  A fit
        whose p0 lies outside its bounds gets ier -4 and NaN; every lower bound must
        be strictly less than its upper bound (ValueError, before any work).
    fixed : sequence of bool or of str, optional
        Parameters held at their p0 (per fit): a boolean mask of length n, or parameter
        names of a model with names.  The fits iterate on the others; rows and columns
        of a fixed parameter in pcov are 0.
    estimator : {None, 'least_squares', 'poisson'}
        As for :func:`lmfast.curve_fit`: ``'poisson'`` fits each row of ydata as counts by
        maximum likelihood (sigma must be None; pcov is the inverse Fisher information).
        A row that is not counts (negative, non-integer or not finite) gets ier -5.
    loss, f_scale
        A robust loss for every fit, as :func:`lmfast.curve_fit` takes them (SciPy's
        names and rho); ``chisq`` is then the minimised ``f_scale**2 * sum(rho)``.
    x_dims : int or None
        Rows k of the independent variable of a Python model (a compiled model knows its
        own): needed only when a 2-D xdata's first length equals N.
    ftol, xtol, gtol, maxfev, epsfcn, factor
        As for :func:`lmfast.leastsq`, for each fit; values MINPACK rejects as improper
        input (negative tolerances, factor <= 0) raise ValueError here.
    threads : int or None
        Worker threads; None: every core available to the process.  Never more than
        the cores or the units of work.  Results do not depend on it.
    progress : bool
        Show a tqdm progress bar (needs the ``tqdm`` package).
    chunk_size : int or None
        Fits handled as one unit of work: for a Python model, the fits whose requests
        share one model call (bounds memory); for a compiled model, the fits a thread
        claims at once (at most N).  None chooses.  Results do not depend on it.

    Returns
    -------
    BatchResult
        popt, pcov, perr, chisq, ier, nfev, njev, success and message(i) per fit.  One
        fit failing (NaN data, singular Jacobian, maxfev reached) never affects the
        others: it gets its own ier, and NaN where it has no answer.

    Raises
    ------
    TypeError, ValueError
        Batch-level mistakes (shapes, dtypes, fewer points than parameters, settings, a
        model that does not broadcast or returns complex values), before any fitting.
        An exception raised by a Python model propagates unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from lmfast import curve_fit_batch, models
    >>> x = np.linspace(-3, 3, 64)
    >>> Y = np.array([models.gaussian(x, a, 0.1, 1.0, 0.5) for a in (1.0, 2.0, 3.0)])
    >>> res = curve_fit_batch(models.gaussian, x, Y, [1.0, 0.0, 1.5, 0.0])
    >>> np.round(res.popt[:, 0], 6)
    array([1., 2., 3.])
    """
    model, compiled, x_dims = _validate.batch_model(f, jac, x_dims)
    ydata = _validate.batch_ydata(ydata)
    n_fits, m = ydata.shape
    p0 = _validate.batch_p0(p0, n_fits, model)
    n = p0.shape[-1]
    xdata, x_per_fit, x_dims = _validate.batch_xdata(xdata, n_fits, m, x_dims)
    weights = _validate.batch_weights(sigma, n_fits, m)
    est = _estimator.estimator_from(estimator, loss, f_scale)
    _validate.estimator_sigma(est, sigma)
    lower, upper = _validate.batch_bounds(bounds, n_fits, n)
    if lower is not None:
        _validate.bounds_resolvable(p0, lower, upper, getattr(f, "param_names", None))
    fixed = _validate.fixed_mask(fixed, n, getattr(f, "param_names", None))
    n_free = len(_validate.free_parameters(fixed, n))
    if m < n_free:
        raise ValueError(f"each fit has M={m} points but n={n_free} free parameters: a fit "
                         "needs at least as many points as free parameters")
    settings = _validate.batch_settings(ftol, xtol, gtol, factor, epsfcn)
    chunk_size = _validate.positive_int("chunk_size", chunk_size)
    # A compiled model's own Jacobian is used unless it has none (forward differences).
    use_fd = jac is None and not (compiled and model.has_jacobian)
    tol = _defaults.tolerances(settings["ftol"], settings["xtol"], settings["gtol"],
                               maxfev, n_free, use_fd)
    result = BatchResult(n_fits, n, tol)
    if n_fits == 0:
        threads = _validate.threads_for(threads, 1)
        return result
    # Fits not to run get their status here, each decided once: a p0 outside its bounds
    # (the message names the parameter), rows that are not counts.
    status = np.zeros(n_fits, dtype=np.int32)
    if lower is not None:
        outside = np.broadcast_to(_validate.p0_outside(p0, lower, upper), (n_fits,))
        if (outside >= 0).any():
            status[outside >= 0] = P0_OUTSIDE_BOUNDS
            result._outside = (outside, p0, lower, upper, getattr(f, "param_names", None))
    if est.poisson:
        status[(status == 0) & _poisson.bad_counts(ydata)] = NOT_COUNTS
    if not status.any():
        status = None

    problem = Problem(
        m=m, n=n, n_fits=n_fits, p0=p0, tolerances=tol, epsfcn=settings["epsfcn"],
        factor=settings["factor"], use_fd=use_fd, ydata=ydata, weights=weights,
        absolute_sigma=bool(absolute_sigma), model=model._compiled if compiled else None,
        xdata=xdata if compiled else None, x_per_fit=x_per_fit, lower=lower, upper=upper,
        fixed=fixed, estimator=est.kind, f_scale=est.f_scale, status=status)
    if compiled:
        block = min(chunk_size or _compiled_block(m, n), n_fits)
        threads = _validate.threads_for(threads, -(-n_fits // block))
    else:
        group = min(chunk_size or PYTHON_ROUND_DOUBLES // ((n_free + 1) * m) or 1, n_fits)
        threads = _validate.threads_for(threads, -(-n_fits // group))
        python_model = _PythonModel(f, jac, n, m, _x_rows(xdata, x_per_fit), ydata, weights,
                                    est.poisson)
        python_model.probe(p0 if p0.ndim == 2 else p0[np.newaxis])
    bar = _progress_bar(progress, n_fits)
    try:
        with single_blas_thread():
            if compiled:
                batch = _batch_core.CompiledBatch(problem, result, threads, block)
                _run_compiled(batch, threads, n_fits, block, bar)
            else:
                _run_python(lambda: _batch_core.VectorBatch(problem, result, group),
                            python_model, n_fits, group, threads, bar)
    finally:
        if bar is not None:
            bar.close()
    if not compiled:
        _python_pcov(result, problem, python_model, est, upper, settings["epsfcn"])
    return result


def _python_pcov(result, problem, python_model, est, upper, epsfcn):
    """pcov of the converged fits of a Python model whose covariance comes from a fresh
    Jacobian at popt (a parameter on a bound, or an estimator beyond least squares):
    their base values and Jacobian rows at popt, evaluated for them all at once."""
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


def _x_rows(x, per_fit):
    """x_rows(idx): what a Python model receives for the fits idx (the shared xdata
    itself, or the rows of the per-fit xdata with the fit axis second to last)."""
    if not per_fit:
        return lambda idx: x
    if x.ndim == 2:
        return lambda idx: x[idx]
    by_row = x.transpose(1, 0, 2)
    return lambda idx: by_row[:, idx]


def _compiled_block(m, n):
    return max(1, min(MAX_COMPILED_BLOCK, COMPILED_BLOCK_ENTRIES // (m * (n + 1))))


def _progress_bar(progress, total):
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn(
            "progress=True needs the tqdm package (pip install tqdm); fitting without a "
            "progress bar",
            UserWarning,
            stacklevel=3,
        )
        return None
    return tqdm(total=total, unit="fit")


# --------------------------------------------------------------------------------------
# Drivers
# --------------------------------------------------------------------------------------


def _run_compiled(batch, threads, n_fits, block, bar):
    """Work through the batch on `threads` worker threads.

    The calling thread only waits (and draws the progress bar), so Ctrl-C reaches it at
    once; on any exception the workers are cancelled, which stops each at the next
    request of its fit, and waited for before the exception propagates.  A batch of one
    block (which one thread would fit anyway) runs in the calling thread.
    """

    def show():
        if bar is not None:
            bar.update(batch.done - bar.n)

    if n_fits <= block:
        batch.work(0)
    else:
        workers = Workers(batch.work, range(threads))
        try:
            workers.start()
            workers.wait(show)
        except BaseException:
            workers.stop(batch.cancel)
            raise
    show()


class _PythonModel:
    """A vectorised Python model (and Jacobian) evaluated for many parameter rows."""

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


def _run_python(make_batch, model, n_fits, group, threads, bar):
    """Advance groups of fits in rounds, one model call per round for a whole group.

    With several threads, each works through its own groups (NumPy releases the GIL
    inside its array loops, the engine steps without it); the calling thread is one of
    them and serves Ctrl-C and the progress bar.  The first exception raised in any
    thread stops the others and propagates unchanged.
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
