"""``curve_fit_batch``: many independent curve fits in one call, on the one LM engine.

A compiled model (:mod:`lmfast.models`) runs with the GIL released on every thread; a
curve_fit-style Python model written with NumPy broadcasting is evaluated for all
pending fits of a group at once, so Python is paid per round of the algorithm, not per
fit.  Each fit's result is what :func:`lmfast.curve_fit` gives for it alone, whatever
the number of threads or the chunk size.
"""

import contextvars
import operator
import os
import signal
import threading
import warnings

import numpy as np

from . import _batch_core
from ._leastsq import _maxfev_limits, default_epsfcn
from ._messages import LEASTSQ_SUCCESS, fit_message
from .models import Model

__all__ = ["BatchResult", "curve_fit_batch"]

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


class BatchResult:
    """The outcome of :func:`curve_fit_batch`, one entry per fit.

    Attributes
    ----------
    popt : ndarray, shape (N, n)
        Fitted parameters; the last iterate for fits that stopped without converging
        (ier 5-8), NaN for fits with no answer (ier 0 or negative).
    pcov : ndarray, shape (N, n, n)
        Covariance of popt as :func:`lmfast.curve_fit` computes it (inf where it is
        indeterminate), NaN for fits that did not converge.
    chisq : ndarray, shape (N,)
        Sum of squared weighted residuals at popt.
    ier : ndarray of int32, shape (N,)
        MINPACK's code (1-4 converged, 5-8 stopped, 0 improper input) or lmfast's:
        -2 residuals not finite at p0, -3 Jacobian not finite.
    nfev, njev : ndarray of int64, shape (N,)
        Model evaluations and Jacobian evaluations, counted as leastsq counts them.
    """

    def __init__(self, popt, pcov, chisq, ier, nfev, njev, tolerances):
        self.popt = popt
        self.pcov = pcov
        self.chisq = chisq
        self.ier = ier
        self.nfev = nfev
        self.njev = njev
        self._tolerances = tolerances

    @property
    def perr(self):
        """One-standard-deviation errors, ``sqrt(diag(pcov))`` per fit, shape (N, n)."""
        return np.sqrt(np.diagonal(self.pcov, axis1=1, axis2=2))

    @property
    def success(self):
        """Boolean array: True where the fit converged (ier 1-4)."""
        return np.isin(self.ier, LEASTSQ_SUCCESS)

    def message(self, i):
        """Why fit `i` stopped, in leastsq's words (or lmfast's, for negative codes)."""
        ftol, xtol, gtol, maxfev = self._tolerances
        return fit_message(int(self.ier[i]), ftol, xtol, gtol, maxfev)

    def __len__(self):
        return len(self.ier)

    def __repr__(self):
        n_fits = len(self)
        converged = int(np.count_nonzero(self.success))
        return f"<BatchResult: {n_fits} fits, {converged} converged>"


def curve_fit_batch(
    f,
    xdata,
    ydata,
    p0,
    sigma=None,
    absolute_sigma=False,
    jac=None,
    *,
    ftol=1.49012e-08,
    xtol=1.49012e-08,
    gtol=0.0,
    maxfev=0,
    epsfcn=None,
    factor=100,
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
        (N, M) or (N, k, M).  With a Python model, a 2-D xdata whose first length is N
        is taken as one row per fit.
    ydata : array_like, shape (N, M)
        One data set per row.
    p0 : array_like, shape (n,) or (N, n)
        Starting parameters, shared or one row per fit.
    sigma : None or array_like, shape (M,) or (N, M)
        Standard deviations of ydata: residuals are ``(f(x, *p) - y) / sigma``.
    absolute_sigma : bool
        As for curve_fit: True takes sigma as absolute, False scales pcov by the
        reduced chi-square of each fit.
    jac : callable or None
        None: a compiled model's analytic Jacobian, or forward differences for a Python
        model.  For a Python model, ``jac(x, p1, ..., pn)`` called like f must return
        (K, M, n).
    ftol, xtol, gtol, maxfev, epsfcn, factor
        As for :func:`lmfast.leastsq`, for each fit.
    threads : int or None
        Worker threads for a compiled model; None: every core available to the
        process.  Results do not depend on it.
    progress : bool
        Show a tqdm progress bar (needs the ``tqdm`` package).
    chunk_size : int or None
        Fits handled as one unit of work: for a Python model, the fits whose requests
        share one model call (bounds memory); for a compiled model, the fits a thread
        claims at once.  None chooses.  Results do not depend on it.

    Returns
    -------
    BatchResult
        popt, pcov, perr, chisq, ier, nfev, njev, success and message(i) per fit.  One
        fit failing (NaN data, singular Jacobian, maxfev reached) never affects the
        others: it gets its own ier, and NaN where it has no answer.

    Raises
    ------
    TypeError, ValueError
        Batch-level mistakes (shapes, dtypes, a model that does not broadcast), before
        any fitting.  An exception raised by a Python model propagates unchanged.

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
    compiled = isinstance(f, Model) and (jac is None or jac == f.jac)
    if not callable(f):
        raise TypeError(f"f must be a lmfast.models model or a callable, not {type(f).__name__}")
    if jac is not None and not callable(jac):
        raise TypeError(f"jac must be None or a callable, not {type(jac).__name__}")

    ydata = _float_array("ydata", ydata)
    if ydata.ndim != 2:
        raise ValueError(f"ydata must be 2-D, (N fits, M points); got shape {ydata.shape}")
    n_fits, m = ydata.shape
    if m == 0:
        raise ValueError(f"ydata must have at least one point per fit; got shape {ydata.shape}")
    p0 = _float_array("p0", p0)
    if p0.ndim == 1:
        p0_stride = 0
    elif p0.ndim == 2 and p0.shape[0] == n_fits:
        p0_stride = p0.shape[1]
    else:
        raise ValueError(f"p0 must have shape (n,) or (N, n) = ({n_fits}, n); got {p0.shape}")
    n = p0.shape[-1]
    if n == 0:
        raise ValueError(f"p0 must hold at least one parameter; got shape {p0.shape}")
    if isinstance(f, Model) and n != f.n_params:
        raise ValueError(
            f"p0 has {n} parameters but the model {f.name} takes {f.n_params} "
            f"({', '.join(f.param_names)})"
        )
    x_dims = f.x_dims if isinstance(f, Model) else None
    xdata, x_stride, x_row_stride, x_rows = _shape_xdata(xdata, n_fits, m, x_dims)
    weights, w_stride = _weights(sigma, n_fits, m)

    ftol, xtol, gtol, factor = (float(v) for v in (ftol, xtol, gtol, factor))
    # A compiled model's own Jacobian is used unless it has none (forward differences).
    use_fd = jac is None and not (compiled and f.has_jacobian)
    # maxfev as leastsq reads it (messages quote the first, the engine uses the second).
    maxfev, limit = _maxfev_limits(maxfev, 200 * (n + 1) if use_fd else 100 * (n + 1))
    epsfcn = default_epsfcn() if epsfcn is None else float(epsfcn)
    threads = _resolve_threads(threads)
    if chunk_size is not None:
        chunk_size = operator.index(chunk_size)
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer or None, not {chunk_size}")

    outputs = (
        np.empty((n_fits, n)),
        np.empty((n_fits, n, n)),
        np.empty(n_fits),
        np.empty(n_fits, dtype=np.int32),
        np.empty(n_fits, dtype=np.int64),
        np.empty(n_fits, dtype=np.int64),
    )
    result = BatchResult(*outputs, tolerances=(ftol, xtol, gtol, maxfev))
    if n_fits == 0:
        return result

    inputs = (xdata, ydata, weights, p0)
    strides = (n_fits, m, n, x_stride, x_row_stride, w_stride, p0_stride)
    settings = (ftol, xtol, gtol, limit, epsfcn, factor, int(use_fd), int(bool(absolute_sigma)))
    if not compiled:
        model = _PythonModel(f, jac, n, m, x_rows, ydata, weights)
        model.probe(p0 if p0.ndim == 2 else p0[np.newaxis])
    bar = _progress_bar(progress, n_fits)
    blas_threads = _batch_core.set_blas_threads(1)
    try:
        if compiled:
            block = chunk_size or _compiled_block(m, n)
            batch = _batch_core.CompiledBatch(
                f._compiled_spec, inputs, outputs, strides, settings, threads, block
            )
            _run_compiled(batch, threads, n_fits, block, bar)
        else:
            group = chunk_size or max(1, min(n_fits, PYTHON_ROUND_DOUBLES // ((n + 1) * m)))
            _run_python(
                lambda: _batch_core.VectorBatch(inputs, outputs, strides, settings, group),
                model, n_fits, group, min(threads, -(-n_fits // group)), bar,
            )
    finally:
        _batch_core.set_blas_threads(blas_threads)
        if bar is not None:
            bar.close()
    return result


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------


def _float_array(name, value):
    """value as a C-contiguous float64 array, or TypeError naming the argument."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64, order="C")


def _shape_xdata(xdata, n_fits, m, x_dims):
    """Return (x array, stride between fits, stride between rows, x_rows(idx)).

    x_rows(idx) is what a Python model receives for the fits idx: the shared xdata
    itself, or the rows of the per-fit xdata, with the fit axis second to last.
    """
    x = _float_array("xdata", xdata)
    if x.ndim == 0 or x.shape[-1] != m:
        raise ValueError(
            f"xdata must end with the M={m} points of ydata (shape (M,), (k, M), (N, M) "
            f"or (N, k, M)); got shape {x.shape}"
        )
    per_fit = x.ndim == 3 or (x.ndim == 2 and x_dims in (None, 1) and x.shape[0] == n_fits)
    if x_dims is not None:
        expected = (m,) if x_dims == 1 else (x_dims, m)
        if x.shape not in (expected, (n_fits, *expected)):
            raise ValueError(
                f"xdata for a {x_dims}-D model must have shape {expected} (shared) or "
                f"{(n_fits, *expected)} (one per fit); got {x.shape}"
            )
    elif x.ndim > 3 or (x.ndim == 3 and x.shape[0] != n_fits):
        raise ValueError(f"xdata of shape {x.shape} does not match N={n_fits} fits")
    if not per_fit:
        return x, 0, m, lambda idx: x
    if x.ndim == 2:
        return x, m, m, lambda idx: x[idx]
    by_row = x.transpose(1, 0, 2)
    return x, x.shape[1] * m, m, lambda idx: by_row[:, idx]


def _weights(sigma, n_fits, m):
    """Return (1 / sigma as float64 or None, stride between fits)."""
    if sigma is None:
        return None, 0
    sigma = _float_array("sigma", sigma)
    if sigma.shape in ((m,), (n_fits, m)):
        # A zero sigma gives an infinite weight: that fit alone ends with ier -2.
        with np.errstate(divide="ignore"):
            return 1.0 / sigma, 0 if sigma.ndim == 1 else m
    raise ValueError(
        f"sigma must have shape (M,) = ({m},) or (N, M) = ({n_fits}, {m}); got {sigma.shape}"
    )


def _resolve_threads(threads):
    """Number of worker threads: None means every core this process may use."""
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    threads = operator.index(threads)
    if threads < 1:
        raise ValueError(f"threads must be a positive integer or None, not {threads}")
    return threads


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


class _Workers:
    """Threads running ``target(slot)``, started and waited for safely under Ctrl-C.

    Completion is tracked with an event per thread rather than Thread.join(timeout): on
    Python 3.11 a join interrupted by KeyboardInterrupt can mark a running thread as
    stopped, after which join() no longer waits for it.
    """

    def __init__(self, target, slots, context=False):
        # context: run each thread in a copy of the caller's contextvars context.
        self.done = [threading.Event() for _ in slots]

        def run(slot, done):
            try:
                target(slot)
            finally:
                done.set()

        self.threads = []
        for slot, done in zip(slots, self.done):
            if context:
                # In a copy of the caller's context: its np.errstate holds in the thread.
                call, args = contextvars.copy_context().run, (run, slot, done)
            else:
                call, args = run, (slot, done)
            self.threads.append(threading.Thread(target=call, args=args, daemon=True))

    def start(self):
        """Start every thread, with SIGINT held back (in the main thread, where Python
        delivers it) until all have started, then handed to the previous handler: a
        KeyboardInterrupt inside Thread.start() could leave a thread nobody waits for."""
        previous = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is not threading.main_thread() or previous is None:
            self._start_each()
            return
        held = []
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
        try:
            self._start_each()
        finally:
            signal.signal(signal.SIGINT, previous)
        if held:
            if callable(previous):
                previous(signal.SIGINT, held[0])
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)

    def _start_each(self):
        for thread, done in zip(self.threads, self.done):
            try:
                thread.start()
            except BaseException:
                done.set()  # never started: nothing to wait for
                raise

    def wait(self, poll=None, interval=0.05):
        """Wait until every thread has finished, calling poll() every interval seconds."""
        for done in self.done:
            while not done.wait(interval):
                if poll is not None:
                    poll()

    def stop(self, cancel):
        """cancel(), then wait for every started thread to finish and exit."""
        cancel()
        for thread, done in zip(self.threads, self.done):
            if thread.ident is None:
                done.set()
            done.wait()
            if thread.ident is not None:
                thread.join()


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
        workers = _Workers(batch.work, range(threads))
        try:
            workers.start()
            workers.wait(show)
        except BaseException:
            workers.stop(batch.cancel)
            raise
    show()


class _PythonModel:
    """A vectorised Python model (and Jacobian) evaluated for many parameter rows."""

    def __init__(self, f, jac, n, m, x_rows, ydata, weights):
        self.f = f
        self.jac = jac
        self.n = n
        self.m = m
        self.x_rows = x_rows
        self.ydata = ydata
        self.weights = weights

    def _columns(self, rows):
        return [rows[:, j : j + 1] for j in range(self.n)]

    def residuals(self, rows, idx):
        """``weights * (f(x, *rows.T) - y)`` for the fits idx, as C-contiguous float64."""
        values = np.asarray(self.f(self.x_rows(idx), *self._columns(rows)))
        if values.shape != (len(idx), self.m):
            raise TypeError(
                f"the model returned shape {values.shape} for {len(idx)} parameter rows, "
                f"expected ({len(idx)}, {self.m}): {_BROADCAST_HINT}"
            )
        res = values - self.ydata[idx]
        if self.weights is not None:
            res = (self.weights[idx] if self.weights.ndim == 2 else self.weights) * res
        return np.ascontiguousarray(res, dtype=np.float64)

    def jacobians(self, rows, idx):
        """The weighted Jacobians (len(idx), M, n) at rows, as C-contiguous float64."""
        values = np.asarray(self.jac(self.x_rows(idx), *self._columns(rows)))
        expected = (len(idx), self.m, self.n)
        if values.shape != expected:
            raise TypeError(
                f"jac returned shape {values.shape} for {len(idx)} parameter rows, "
                f"expected {expected}: {_BROADCAST_HINT}"
            )
        if self.weights is not None:
            w = self.weights[idx] if self.weights.ndim == 2 else self.weights[np.newaxis]
            values = w[:, :, np.newaxis] * values
        return np.ascontiguousarray(values, dtype=np.float64)

    def probe(self, p0_rows):
        """Evaluate at two starting points first, so a model that does not broadcast is
        reported before any work."""
        idx = np.array([0, len(p0_rows) - 1], dtype=np.intp)
        rows = np.ascontiguousarray(p0_rows[idx])
        for name, call in (("f", self.residuals), ("jac", self.jacobians)):
            if name == "jac" and self.jac is None:
                continue
            try:
                call(rows, idx)
            except (TypeError, ValueError, IndexError) as exc:
                if isinstance(exc, TypeError) and _BROADCAST_HINT in str(exc):
                    raise
                raise TypeError(
                    f"{name} failed when called with parameter columns of shape (2, 1) "
                    f"({type(exc).__name__}: {exc}): {_BROADCAST_HINT}"
                ) from exc


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

    helpers = _Workers(helper, range(1, threads), context=True)
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
