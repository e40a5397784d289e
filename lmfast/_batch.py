"""``curve_fit_batch``: many independent curve fits in one call, on the one LM engine.

A compiled model (:mod:`lmfast.models`) runs with the GIL released on every thread; a
curve_fit-style Python model written with NumPy broadcasting is evaluated for all
pending fits of a group at once, so Python is paid per round of the algorithm, not per
fit (a model that cannot broadcast, ``vectorized=False``, is called per fit in the same
rounds).  Each fit's result is what :func:`lmfast.curve_fit` gives for it alone, whatever
the number of threads or the chunk size.

This module checks the arguments, sizes the units of work and runs the compiled driver
(``lmfast/_batch_core.pyx``) on worker threads (``lmfast/_thread_pool.py``); the
Python-model driver is ``lmfast/_python_batch.py``, the result ``lmfast/_batch_result.py``.
"""

import warnings

import numpy as np

from lmfast import _batch_core, _defaults, _estimator, _validate
from lmfast._batch_result import BatchResult
from lmfast._blas_threads import single_blas_thread
from lmfast._outcomes import NOT_COUNTS, P0_OUTSIDE_BOUNDS
from lmfast._problem import Problem
from lmfast._python_batch import (
    OneFitModel, PythonModel, python_pcov, run_python, x_fit, x_rows,
)
from lmfast._thread_pool import Workers

__all__ = ["curve_fit_batch"]

#: Doubles of model output one round of a group of fits may produce: small enough for the
#: group's arrays to stay in cache (and bounds memory), large enough to amortise Python.
PYTHON_ROUND_DOUBLES = 1 << 18
#: Jacobian entries a block of compiled fits should cover (a block is what a worker
#: claims at once).
COMPILED_BLOCK_ENTRIES = 1 << 16
MAX_COMPILED_BLOCK = 64


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
    vectorized=True,
):
    """Fit one model to many data sets, each independently, by Levenberg-Marquardt.

    Parameters
    ----------
    f : lmfast.models.Model or callable
        A compiled model from :mod:`lmfast.models` (runs with the GIL released on
        `threads` threads), or a curve_fit-style model ``f(x, p1, ..., pn)`` written
        with NumPy broadcasting: it is called with each parameter as a column of shape
        (K, 1) and must return (K, M), K fits at a time.  With ``vectorized=False`` it
        is called as curve_fit calls it instead, one fit at a time.
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
        (K, M, n); (M, n) with ``vectorized=False``.
    bounds : None or (lb, ub)
        Bounds on the parameters, as curve_fit takes them: each of lb and ub a scalar,
        (n,) or (N, n) for bounds per fit (or an object with ``lb``/``ub``).  A fit
        whose p0 lies outside its bounds gets ier -4 and NaN; every lower bound must
        be strictly less than its upper bound (ValueError, before any work).
    fixed : sequence of bool or of str, optional
        Parameters held at their p0 (per fit): a boolean mask of length n, or parameter
        names (``BatchResult.param_names``: a model's own, or the arguments of
        ``f(x, a, b, ...)``).  The fits iterate on the others; rows and columns of a
        fixed parameter in pcov are 0.
    estimator : {None, 'least_squares', 'poisson'}
        As for :func:`lmfast.curve_fit`: ``'poisson'`` fits each row of ydata as counts by
        maximum likelihood (sigma must be None; pcov is the inverse Fisher information).
        A row that is not counts (negative, non-integer or not finite) gets ier -5.
    loss : str
        A robust loss for every fit, as :func:`lmfast.curve_fit` takes them (SciPy's
        names and rho); ``chisq`` is then the minimised ``f_scale**2 * sum(rho)``.
    f_scale : float
        The robust loss's soft margin between inlier and outlier residuals (> 0).
    x_dims : int or None
        Rows k of the independent variable of a Python model (a compiled model knows its
        own): needed only when a 2-D xdata's first length equals N.
    ftol, xtol, gtol, maxfev, epsfcn, factor : float, int or None
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
    vectorized : bool
        False for a Python model that cannot broadcast (a convolution with an instrument
        response by ``np.convolve``, a loop, a call into another library): it is then
        called once per request of each fit, as curve_fit calls it, ``f(x, p1, ...,
        pn)`` with that fit's x (M,) or (k, M) and scalar parameters, returning (M,).
        The fits, their status, progress and Ctrl-C are as for a vectorised model; only
        the Python cost is per fit.  A compiled model raises ValueError.

    Returns
    -------
    BatchResult
        popt, pcov, perr, chisq, ier, nfev, njev, success and message(i) per fit,
        param_names; ``result[i]`` one fit, ``summary()``, ``to_pandas()``,
        ``to_xarray()``.  One fit failing (NaN data, singular Jacobian, maxfev reached)
        never affects the others: it gets its own ier, and NaN where it has no answer.

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
    if vectorized not in (True, False):
        raise TypeError(f"vectorized must be True or False, not {vectorized!r}")
    if compiled and not vectorized:
        raise ValueError(f"vectorized=False is for Python models; the model {model.name} "
                         "runs compiled, all fits at once")
    ydata = _validate.batch_ydata(ydata)
    n_fits, m = ydata.shape
    p0 = _validate.batch_p0(p0, n_fits, model)
    n = p0.shape[-1]
    xdata, x_per_fit, x_dims = _validate.batch_xdata(xdata, n_fits, m, x_dims)
    weights = _validate.batch_weights(sigma, n_fits, m)
    est = _estimator.estimator_from(estimator, loss, f_scale)
    _validate.estimator_sigma(est, sigma)
    lower, upper = _validate.batch_bounds(bounds, n_fits, n)
    names = _validate.parameter_names(f, n) or _validate.default_names(n)
    if lower is not None:
        _validate.bounds_resolvable(p0, lower, upper, names)
    fixed = _validate.fixed_mask(fixed, n, names)
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
    result = BatchResult(n_fits, n, tol, names)
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
            result._outside = (outside, p0, lower, upper, names)
    if est.poisson:
        status[(status == 0) & _validate.bad_counts(ydata)] = NOT_COUNTS
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
        model_class = PythonModel if vectorized else OneFitModel
        x_of = x_rows if vectorized else x_fit
        python_model = model_class(f, jac, n, m, x_of(xdata, x_per_fit), ydata, weights,
                                   est.poisson)
        python_model.probe(p0 if p0.ndim == 2 else p0[np.newaxis])
    bar = _progress_bar(progress, n_fits)
    try:
        with single_blas_thread():
            if compiled:
                batch = _batch_core.CompiledBatch(problem, result, threads, block)
                _run_compiled(batch, threads, n_fits, block, bar)
            else:
                run_python(lambda: _batch_core.VectorBatch(problem, result, group),
                           python_model, n_fits, group, threads, bar)
    finally:
        if bar is not None:
            bar.close()
    if not compiled:
        python_pcov(result, problem, python_model, est, upper, settings["epsfcn"])
    return result


def _compiled_block(m, n):
    """Fits a compiled worker claims at once: about COMPILED_BLOCK_ENTRIES Jacobian
    entries (m * (n + 1) per fit), at least 1, at most MAX_COMPILED_BLOCK."""
    return max(1, min(MAX_COMPILED_BLOCK, COMPILED_BLOCK_ENTRIES // (m * (n + 1))))


def _progress_bar(progress, total):
    """A tqdm bar of `total` fits if `progress` (None without it, or without tqdm)."""
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
# The compiled driver (the Python-model one is lmfast/_python_batch.py)
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
