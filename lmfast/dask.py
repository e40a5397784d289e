"""``curve_fit_batch`` on Dask arrays: one task per chunk of fits, the compiled batch inside.

``lmfast.dask.curve_fit_batch`` takes the arguments of :func:`lmfast.curve_fit_batch`
as Dask (or NumPy) arrays and returns at once a :class:`DaskBatchResult` whose arrays
are lazy.  Each chunk of fits becomes one task that runs the local batch on its rows
and returns one record per fit (popt, pcov, chisq, ier, nfev, njev together), so a
chunk is fitted once however many of the result's arrays are computed together.  Fits
are independent, so each fit's result is bit for bit what the local batch gives it,
whatever the chunks, the scheduler or the workers.

Importing this module needs ``dask[array]`` (the ``dask`` extra); ``import lmfast``
never imports it.
"""

import string
import sys
import threading
import uuid

import numpy as np

try:
    import dask
    import dask.array as da
    import dask.callbacks
except ImportError as exc:  # pragma: no cover (the tests skip without dask)
    raise ImportError(
        "lmfast.dask needs dask: pip install 'dask[array]' distributed (or the 'dask' "
        "extra: pip install 'fastminpack[dask]')") from exc

from lmfast import _batch, _defaults, _validate
from lmfast._outcomes import SUCCESS
from lmfast._records import batch_result_of, record_dtype, records_of

__all__ = ["DaskBatchResult", "curve_fit_batch", "record_dtype"]

#: A task fits its chunk this many fits at a time, and between two slices gives up if
#: its computation was cancelled (Ctrl-C in compute(), client.cancel, futures released);
#: the Dask setting ``lmfast.slice-fits`` (when the graph is built) overrides it.
SLICE_FITS = 16384

#: How many computations on Dask's local schedulers Ctrl-C has interrupted in this
#: process: a task fitting a chunk here gives up at its next slice when it changes.
_interrupts = 0
_interrupts_lock = threading.Lock()


class _InterruptWatch(dask.callbacks.Callback):
    """Counts the computations Ctrl-C interrupts on Dask's local schedulers (those of
    ``DaskBatchResult.compute()`` and of ``xarray``'s ``compute()`` alike): their
    ``_finish`` runs while the KeyboardInterrupt propagates."""

    def _finish(self, dsk, state, errored):
        global _interrupts
        if errored and isinstance(sys.exc_info()[1], KeyboardInterrupt):
            with _interrupts_lock:
                _interrupts += 1


_InterruptWatch().register()


class ChunkCancelled(Exception):
    """A task gave up its chunk: its computation was cancelled (its result is unused)."""

class DaskBatchResult:
    """The lazy outcome of :func:`lmfast.dask.curve_fit_batch`.

    Every array is a Dask array over the chunks of ``ydata``'s fits; nothing runs until
    it is computed.  :meth:`compute` fits every chunk once and returns a plain
    :class:`lmfast.BatchResult`; computing single arrays (``res.popt.compute()``) fits
    the chunks again for each call, so compute them together
    (``dask.compute(res.popt, res.pcov)``) or :meth:`persist` the result first.

    Attributes
    ----------
    records : dask.array.Array, shape (N,)
        One record per fit (dtype :func:`record_dtype`): the task graph itself.
    popt, pcov, perr, chisq, ier, nfev, njev, success : dask.array.Array
        As in :class:`lmfast.BatchResult`, shapes (N, n), (N, n, n), (N, n), (N,)...
    param_names : tuple of str
        The parameters' names, as :class:`lmfast.BatchResult` gives them.
    """

    def __init__(self, records, tolerances, param_names=None):
        self.records = records
        self._tolerances = tolerances
        self.param_names = param_names

    @property
    def popt(self):
        """Fitted parameters, shape (N, n)."""
        return self.records["popt"]

    @property
    def pcov(self):
        """Covariance of popt, shape (N, n, n)."""
        return self.records["pcov"]

    @property
    def perr(self):
        """One-standard-deviation errors ``sqrt(diag(pcov))``, shape (N, n)."""
        return da.sqrt(da.diagonal(self.pcov, axis1=1, axis2=2))

    @property
    def chisq(self):
        """Sum of squared weighted residuals at popt, shape (N,)."""
        return self.records["chisq"]

    @property
    def ier(self):
        """Why each fit stopped (``lmfast.BatchResult``'s codes), int32, shape (N,)."""
        return self.records["ier"]

    @property
    def nfev(self):
        """Model evaluations per fit, int64, shape (N,)."""
        return self.records["nfev"]

    @property
    def njev(self):
        """Jacobian evaluations per fit, int64, shape (N,)."""
        return self.records["njev"]

    @property
    def success(self):
        """True where the fit converged (ier 1-4), shape (N,)."""
        return da.isin(self.ier, sorted(SUCCESS))

    def compute(self, **kwargs):
        """Fit every chunk (once) and gather the fits.

        Parameters
        ----------
        **kwargs
            Passed to ``dask.compute`` (``scheduler=``, ...).

        Returns
        -------
        lmfast.BatchResult
            Every fit's outcome, in memory.

        Notes
        -----
        Ctrl-C raises KeyboardInterrupt at once; the tasks already fitting a chunk in this
        process stop at their next slice of :data:`SLICE_FITS` fits.
        """
        # The chunks' records, filled into the result one by one: concatenating
        # structured arrays first costs several times more.
        chunks = dask.compute(*self.records.to_delayed().ravel(), **kwargs)
        return batch_result_of(chunks, self._tolerances, self.records.dtype["popt"].shape[0],
                               self.param_names)

    def persist(self, **kwargs):
        """The same result with its records computed and kept by the scheduler (in the
        workers' memory on a cluster): later computations start from them.

        Parameters
        ----------
        **kwargs
            Passed to ``dask.persist``.

        Returns
        -------
        DaskBatchResult
            Its records are the persisted ones.
        """
        (records,) = dask.persist(self.records, **kwargs)
        return DaskBatchResult(records, self._tolerances, self.param_names)

    def __len__(self):
        return self.records.shape[0]

    def __repr__(self):
        chunks = len(self.records.chunks[0])
        return f"<DaskBatchResult: {len(self)} fits in {chunks} chunks, lazy>"


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
    """:func:`lmfast.curve_fit_batch` on Dask arrays, lazily: one task per chunk of fits.

    Takes the arguments of :func:`lmfast.curve_fit_batch`, any of them as Dask arrays
    (NumPy arrays are wrapped), and returns at once: the fits run when the result is
    computed, on whatever scheduler Dask uses then (threads, processes or a
    ``dask.distributed`` cluster).  Each fit's result is bit for bit what
    :func:`lmfast.curve_fit_batch` gives on the same data.

    Parameters
    ----------
    f : lmfast.models.Model or callable
        As for :func:`lmfast.curve_fit_batch`.  On a scheduler with other processes
        (``dask.distributed``, ``scheduler='processes'``) they must pickle: the built-in
        models, lineshape, prefixed and composite models do; a ``from_cfunc`` model
        cannot (C function addresses), build it with :func:`lmfast.models.from_factory`.
    xdata : dask.array.Array or array_like
        Shared, (M,) or (k, M), or per fit, (N, M) or (N, k, M).  Shared inputs
        (here and below) are brought into memory now and sent with every task; per-fit
        ones (NumPy or Dask) are rechunked along N like ``ydata``.
    ydata : dask.array.Array or array_like, shape (N, M)
        Chunked along N (the fits) only: a chunk is a task.  If M is split into several
        chunks it is rechunked to one (each task needs whole fits).  A NumPy array is
        chunked by Dask's ``"auto"`` rule.
    p0 : dask.array.Array or array_like
        Shared, (n,), or per fit, (N, n).
    sigma : None, scalar, dask.array.Array or array_like
        Shared, scalar or (M,), or per fit, (N, M).
    absolute_sigma : bool
        As for :func:`lmfast.curve_fit_batch`.
    jac : callable or None
        As for :func:`lmfast.curve_fit_batch`; must pickle like ``f``.
    bounds : None or (lb, ub)
        Shared, scalars or (n,), or per fit, (N, n) (Dask arrays or array_like).
    fixed, estimator, loss, f_scale, x_dims, ftol, xtol, gtol, maxfev, epsfcn, factor : object
        As for :func:`lmfast.curve_fit_batch`, for every chunk.
    threads : int or None
        Threads of each task's batch.  None: on a ``dask.distributed`` worker, the
        worker's thread count (give workers one thread each, ``nthreads=1``, with one
        worker process per core: a worker with T threads runs T tasks at once, each
        then using T threads); elsewhere 1, since Dask's local schedulers already run
        one task per core.  Results never depend on it.
    progress : bool
        Must be False: use Dask's progress bars (``dask.diagnostics.ProgressBar``,
        ``distributed.progress``).
    chunk_size : int or None
        As for :func:`lmfast.curve_fit_batch`, within each task.

    Returns
    -------
    DaskBatchResult
        Lazy ``popt``, ``pcov``, ``perr``, ``chisq``, ``ier``, ``nfev``, ``njev``,
        ``success``; ``.compute()`` gives a :class:`lmfast.BatchResult`.

    Raises
    ------
    TypeError, ValueError
        What :func:`lmfast.curve_fit_batch` raises for the whole batch (shapes, dtypes,
        settings, fewer points than parameters, a model that cannot be pickled for the
        scheduler in use), now; checks that need the data (a per-fit lower bound not
        below its upper bound, a Python model that does not broadcast) raise when the
        chunk is computed.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from lmfast import models
    >>> import lmfast.dask
    >>> x = np.linspace(-3, 3, 64)
    >>> Y = da.from_array(np.array([models.gaussian(x, a, 0.1, 1.0, 0.5)
    ...                             for a in (1.0, 2.0, 3.0, 4.0)]), chunks=(2, 64))
    >>> res = lmfast.dask.curve_fit_batch(models.gaussian, x, Y, [1.0, 0.0, 1.5, 0.0])
    >>> np.round(res.compute().popt[:, 0], 6)
    array([1., 2., 3., 4.])
    """
    if progress:
        raise ValueError("progress=True is not available on Dask arrays: use Dask's "
                         "progress bars (dask.diagnostics.ProgressBar, distributed.progress)")
    # The batch's shape rules, on the arrays' shapes and dtypes (any N, no data read),
    # in curve_fit_batch's order; the rest, on an empty batch below.
    model, _, x_dims = _validate.batch_model(f, jac, x_dims)
    ydata = _fits_array(ydata)
    n_fits, m = ydata.shape
    p0 = _array(p0)
    n = _validate.batch_p0_shape(p0, n_fits, model)
    xdata = _array(xdata)
    x_per_fit, x_dims = _validate.x_layout(xdata, n_fits, m, x_dims)
    if sigma is not None:
        sigma = _array(sigma)
        _validate.batch_sigma_shape(sigma, n_fits, m)
    lower = upper = None
    if bounds is not None:
        lower, upper = (_array(side) for side in _validate.bounds_sides(bounds))
        _validate.batch_bounds_shape(lower, upper, n_fits, n)
    inputs = {"xdata": xdata, "p0": p0, "sigma": sigma, "lb": lower, "ub": upper}
    per_fit = {name: x_per_fit if name == "xdata" else value.ndim == 2
               for name, value in inputs.items() if value is not None}
    options = {"absolute_sigma": absolute_sigma, "jac": jac, "fixed": fixed,
               "estimator": estimator, "loss": loss, "f_scale": f_scale,
               "x_dims": x_dims, "ftol": ftol, "xtol": xtol,
               "gtol": gtol, "maxfev": maxfev, "epsfcn": epsfcn, "factor": factor,
               "chunk_size": chunk_size}
    shared = {name: np.asarray(value) for name, value in inputs.items()
              if value is not None and not per_fit[name]}
    probe = check_now(f, ydata, 1, shared, {name: inputs[name] for name, per
                                           in per_fit.items() if per}, threads, options)
    check_travels(f, jac)
    fit_chunks = ydata.chunks[0]
    blocks = {name: _chunked_like(inputs[name], fit_chunks)
              for name, per in per_fit.items() if per}
    records = blockwise_records(
        _batch_block, ydata, 1, blocks, record_dtype(probe.popt.shape[1]),
        f=f, shared=shared, options=options, threads=threads, slice_size=slice_fits())
    return DaskBatchResult(records, probe._tolerances, probe.param_names)


# --------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------


def blockwise_records(block_function, ydata, fit_ndim, per_fit, dtype, **kwargs):
    """One task per chunk of fits: a Dask array of records over the fit axes.

    Parameters
    ----------
    block_function : callable
        ``block_function(y, *per_fit_blocks, names=..., **kwargs)`` returns the records
        of the block's fits, of shape ``y.shape[:fit_ndim]``.
    ydata : dask.array.Array
        The fit axes first (``fit_ndim`` of them, chunked at will), then the points of
        one fit (one chunk each).
    fit_ndim : int
        Number of fit axes.
    per_fit : dict of str to dask.array.Array
        Arrays with the same fit axes and chunks as ydata, then their own axes (one
        chunk each); the block function receives their blocks in this order.
    dtype : numpy.dtype
        The records' dtype.
    **kwargs
        Passed to every call of block_function (models, shared arrays, settings).

    Returns
    -------
    dask.array.Array
        Shape ``ydata.shape[:fit_ndim]``, chunks ``ydata.chunks[:fit_ndim]``.
    """
    letters = iter(string.ascii_letters)
    fit_index = "".join(next(letters) for _ in range(fit_ndim))

    def index(array):
        return fit_index + "".join(next(letters) for _ in range(array.ndim - fit_ndim))

    arguments = [ydata, index(ydata)]
    for array in per_fit.values():
        arguments += [array, index(array)]
    return da.blockwise(
        block_function, fit_index, *arguments, dtype=dtype,
        meta=np.empty((0,) * fit_ndim, dtype=dtype), concatenate=True,
        name=f"lmfast-fits-{uuid.uuid4().hex}", names=tuple(per_fit), fit_ndim=fit_ndim,
        **kwargs)


def _batch_block(ydata, *blocks, names, fit_ndim, f, shared, options, threads, slice_size):
    """The records of one chunk of fits: lmfast.curve_fit_batch on its rows, a slice at a
    time."""
    threads = block_threads(threads)

    def fit(rows):
        arguments = {**shared, **{name: block[rows] for name, block in zip(names, blocks)}}
        result = _batch.curve_fit_batch(f, ydata=ydata[rows], threads=threads,
                                        **_batch_arguments(arguments), **options)
        return records_of(result)

    return in_slices(len(ydata), fit, slice_size)


def slice_fits():
    """Fits per slice of a task: the Dask setting ``lmfast.slice-fits``, else
    :data:`SLICE_FITS`."""
    return max(1, int(dask.config.get("lmfast.slice-fits", SLICE_FITS)))


def in_slices(count, fit, size=SLICE_FITS):
    """``fit(rows)`` for the slices ``rows`` of ``count`` fits (``size`` fits each), the
    records concatenated.  Raises :class:`ChunkCancelled` between two slices if the
    computation was cancelled."""
    interrupts = _interrupts
    parts = []
    for start in range(0, count, size) if count else (0,):
        if start and cancelled(interrupts):
            raise ChunkCancelled("lmfast.dask: the computation of this chunk was cancelled")
        parts.append(fit(slice(start, min(start + size, count))))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def cancelled(interrupts=None):
    """Whether the task running in this thread is no longer wanted: Ctrl-C interrupted a
    computation on a local scheduler of this process since the task started (when it
    counted ``interrupts``), or its dask.distributed worker no longer runs it
    (cancelled, released, forgotten)."""
    if interrupts is not None and _interrupts != interrupts:
        return True
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        worker = distributed.get_worker()
        key = distributed.worker.thread_state.key
    except (ValueError, AttributeError):  # not a worker's task thread
        return False
    task = worker.state.tasks.get(key)
    return task is None or task.state in ("cancelled", "released", "forgotten")


def block_threads(threads):
    """Threads for one task's batch: the user's, else the thread count of the
    dask.distributed worker running it, else 1 (Dask's local schedulers run one task
    per core already)."""
    if threads is not None:
        return threads
    distributed = sys.modules.get("distributed")  # never imported here: not a worker
    if distributed is None:
        return 1
    try:
        worker = distributed.get_worker()
    except ValueError:  # not in a worker
        return 1
    return max(1, int(getattr(getattr(worker, "state", worker), "nthreads", 1)))


def check_now(f, ydata, fit_ndim, shared, per_fit, threads, options):
    """curve_fit_batch's checks that read no per-fit data (the model, the settings, the
    shared arrays' values), run now: the batch itself on no fits, with the shared arrays
    and an empty stand-in (no fits, the same trailing shape and dtype) for ydata and for
    each per-fit array, whose first ``fit_ndim`` axes are the fits.  Returns its (empty)
    BatchResult."""

    def empty(value):
        return np.empty((0, *value.shape[fit_ndim:]), dtype=value.dtype)

    arguments = {**shared, **{name: empty(value) for name, value in per_fit.items()}}
    return _batch.curve_fit_batch(f, ydata=empty(ydata), threads=threads,
                                  **_batch_arguments(arguments), **options)


def check_travels(*functions):
    """TypeError now, naming the argument, if the scheduler Dask would use runs tasks in
    other processes and one of ``functions`` (f, jac) cannot be pickled there."""
    scheduler = dask.base.get_scheduler(cls=da.Array)
    if scheduler in (dask.threaded.get, dask.local.get_sync):
        return
    import cloudpickle  # a dependency of dask; what its schedulers pickle with

    for name, function in zip(("f", "jac"), functions):
        if function is None:
            continue
        try:
            cloudpickle.dumps(function)
        except Exception as exc:  # whatever pickling raises, say it now
            raise TypeError(
                f"{name} cannot be sent to the worker processes of the Dask scheduler in "
                f"use: {exc}") from exc


# --------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------


def _array(value):
    """A Dask array as it is, anything else as a NumPy array: what the validator's
    shape-only checks read (dtype and shape)."""
    return value if isinstance(value, da.Array) else np.asarray(value)


def _fits_array(ydata):
    """ydata as a Dask array (N, M) with M in one chunk, checked by the batch's rule."""
    ydata = _array(ydata)
    _validate.batch_ydata_shape(ydata)
    if not isinstance(ydata, da.Array):
        return da.from_array(ydata, chunks=("auto", -1))
    if len(ydata.chunks[1]) > 1:
        ydata = ydata.rechunk({1: -1})
    return ydata


def _batch_arguments(arguments):
    """Keyword arguments of lmfast.curve_fit_batch from xdata, p0, sigma, lb, ub."""
    out = {"xdata": arguments["xdata"], "p0": arguments["p0"],
           "sigma": arguments.get("sigma")}
    if "lb" in arguments:
        out["bounds"] = (arguments["lb"], arguments["ub"])
    return out


def _chunked_like(value, fit_chunks):
    """A per-fit argument (N rows, checked) as a Dask array chunked along its fits like
    ydata."""
    chunks = (fit_chunks, *((size,) for size in value.shape[1:]))
    if isinstance(value, da.Array):
        return value.rechunk(chunks)
    return da.from_array(value, chunks=chunks)
