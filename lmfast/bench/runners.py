"""Runners: measure one workload and return its result; :func:`run_all` prints the tables.

Every runner takes ``(workload, modules, config)``: the workload, ``{"lmfast": lmfast,
"scipy": scipy.optimize}`` and a :class:`~lmfast.bench.config.BenchConfig`. It runs each
implementation once (warm-up and agreement checks), then times them in interleaved
rounds. A failing workload gives an ``"error"`` or ``"skipped"`` result; the run goes on.
"""

import functools
import importlib
import statistics
import sys
import time
import warnings

import numpy as np

from lmfast.bench.bridge import run_bridge_fit
from lmfast.bench.checks import FitOutcome, batch_agreement, batch_costs, compare
from lmfast.bench.environment import import_problem, installed, usable_cpus
from lmfast.bench.patched import run_patched_fit
from lmfast.bench.peers import lmfit_bounded, lmfit_fit
from lmfast.bench.problems import poisson_deviance_jacobian, poisson_deviance_residuals
from lmfast.bench.results import (
    BatchFitResult,
    EstimatorFitResult,
    KernelResult,
    MapFitResult,
    PeerFitResult,
    ScaleOutResult,
    SingleFitResult,
)
from lmfast.bench.tables import TABLES, format_us, micro
from lmfast.bench.timing import (
    busy_note,
    calibrate,
    interleaved_times,
    noise_note,
    relative_spread,
    timed_rounds,
)

IMPLEMENTATIONS = ("lmfast", "scipy")


class FitFailed(Exception):
    """A workload could not be run by one implementation (message names which).

    Parameters
    ----------
    message : str
        ``"<impl>: <exception type>: <exception>"``.
    impl : str, optional
        The implementation that failed.
    """

    def __init__(self, message, impl=None):
        super().__init__(message)
        self.impl = impl


def _warm_up(fn):
    """Run ``fn()`` once, recording warnings; return ``(result, seconds, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - start
    return out, elapsed, sorted({f"{w.category.__name__}: {w.message}" for w in caught})


def _warm_up_each(calls, res):
    """Run every call once, adding its warnings to ``res.warnings``; return the results.

    Raises
    ------
    FitFailed
        When a call raised (``impl`` names it).
    """
    outs = {}
    for impl, call in calls.items():
        try:
            outs[impl], _, caught = _warm_up(call)
        except Exception as exc:
            raise FitFailed(f"{impl}: {type(exc).__name__}: {exc}", impl) from exc
        res.warnings += [f"{impl}: {w}" for w in caught]
    return outs


def _join_notes(*notes):
    """Non-empty notes joined by ``"; "``."""
    return "; ".join(filter(None, notes))


def run_single_fit(workload, modules, config):
    """Measure one :class:`~lmfast.bench.workloads.SingleFit` with every implementation.

    Parameters
    ----------
    workload : SingleFit
        The workload.
    modules : dict of str to module
        ``{"lmfast": lmfast, "scipy": scipy.optimize}``.
    config : BenchConfig
        Rounds and minimum timing duration.

    Returns
    -------
    SingleFitResult
        ``status`` is ``"skipped"`` when lmfast lacks ``workload.api`` and ``"error"``
        when a fit raised; the benchmark goes on in both cases.
    """
    res = SingleFitResult(workload.name, workload.api, workload.m, workload.n)
    fits = {impl: getattr(modules[impl], workload.api, None) for impl in IMPLEMENTATIONS}
    if fits["lmfast"] is None:
        res.status, res.note = "skipped", f"lmfast.{workload.api} not available yet"
        return res
    if workload.requires and (missing := import_problem(workload.requires)):
        res.status, res.note = "skipped", missing
        return res
    try:
        calls, first = _check_single_fit(workload, fits, res)
    except FitFailed as exc:  # report and go on with the next workload
        res.status, res.note = "error", str(exc)
        return res
    _time_single_fit(calls, first, config, res)
    return res


def _check_single_fit(workload, fits, res):
    """Run each implementation once, compare the outcomes and store them in ``res``.

    Returns
    -------
    calls : dict of str to callable
        The zero-argument fit of each implementation.
    first : dict of str to float
        Seconds taken by each first call.
    """
    calls, outcomes, first = {}, {}, {}
    for impl in IMPLEMENTATIONS:
        try:
            if impl == "scipy" and workload.reference is not None:
                calls[impl] = workload.reference()
            elif impl == "scipy" and workload.scipy_options:
                calls[impl] = workload.make_call(functools.partial(fits[impl],
                                                                   **workload.scipy_options))
            else:
                calls[impl] = workload.make_call(fits[impl])
            out, first[impl], caught = _warm_up(calls[impl])
            outcomes[impl] = FitOutcome.from_full_output(out)
        except Exception as exc:
            raise FitFailed(f"{impl}: {type(exc).__name__}: {exc}", impl) from exc
        res.warnings += [f"{impl}: {w}" for w in caught]
    costs = None
    if workload.same_solution:
        cost = workload.make_cost()
        costs = (cost(outcomes["lmfast"].x), cost(outcomes["scipy"].x))
    res.same, res.xdiff, problems = compare(outcomes["lmfast"], outcomes["scipy"],
                                            workload.same_solution, costs)
    if workload.reference is not None:
        problems.insert(0, "the reference column is lmfit, not SciPy")
    res.note = "; ".join(problems)
    for impl, oc in outcomes.items():
        res.ier[impl], res.nfev[impl], res.x[impl] = oc.ier, oc.nfev, oc.x.tolist()
    return calls, first


def _time_single_fit(calls, first, config, res):
    """Calibrate, time in interleaved rounds and store times, spread and notes in ``res``.

    ``calls`` has two entries, lmfast's first; ``round_ratios`` are the second's time
    over lmfast's.
    """
    lmfast, reference = calls
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning machinery must not be timed
        for impl in calls:
            res.number[impl] = calibrate(calls[impl], config.min_time, first[impl])
        res.times = interleaved_times(calls, res.number, config.rounds)
    res.seconds = {impl: statistics.median(t) for impl, t in res.times.items()}
    res.spread = {impl: relative_spread(t) for impl, t in res.times.items()}
    pairs = zip(res.times[lmfast], res.times[reference], strict=True)
    res.round_ratios = [ref / lm for lm, ref in pairs]
    res.note = _join_notes(res.note, noise_note(res.spread, res.round_ratios))


def lmfit_fit_loop(f, data, count, bounds):
    """Fit the first ``count`` rows with lmfit's ``Model.fit(method='leastsq')``, the same
    bounds as min/max; returns the fitted parameters (count, n)."""
    popt = np.full((count, data.p0.shape[1]), np.nan)
    model = None
    for i in range(count):
        model, params = lmfit_bounded(f, data.p0[i], bounds, model)
        popt[i] = lmfit_fit(model, params, data.x, data.y[i])[1]
    return popt


def scipy_fit_loop(curve_fit, f, data, count, **options):
    """Fit the first ``count`` rows of ``data`` one by one with SciPy's ``curve_fit``.

    Parameters
    ----------
    curve_fit : callable
        ``scipy.optimize.curve_fit``.
    f : callable
        Model, called as ``f(x, *params)``.
    data : BatchData
        The batch.
    count : int
        Number of fits, from the first row.
    **options
        More keyword arguments of curve_fit (``bounds``).

    Returns
    -------
    popt : ndarray, shape (count, n)
        NaN rows where SciPy raised ``RuntimeError`` (``ier`` not in 1..4: SciPy raises
        then, even with ``full_output=True``).
    ier : ndarray of int, shape (count,)
        SciPy's ``ier``, 0 where it raised.
    """
    popt = np.full((count, data.p0.shape[1]), np.nan)
    ier = np.zeros(count, dtype=int)
    for i in range(count):
        try:
            out = curve_fit(f, data.x, data.y[i], p0=data.p0[i], full_output=True, **options)
        except RuntimeError:
            continue
        popt[i], ier[i] = out[0], out[4]
    return popt, ier


def scipy_poisson_loop(leastsq, f, jac, data, count):
    """Poisson maximum-likelihood fits of the first ``count`` rows by SciPy's ``leastsq``
    on the deviance residuals (:func:`lmfast.bench.problems.poisson_deviance_residuals`),
    with their analytic Jacobian: the same minimum as ``estimator='poisson'``.

    Parameters
    ----------
    leastsq : callable
        ``scipy.optimize.leastsq``.
    f, jac : callable
        The model ``f(x, *params)`` and its Jacobian ``(m, n)``.
    data : BatchData
        Counts, one fit per row.
    count : int
        Number of fits, from the first row.

    Returns
    -------
    popt : ndarray, shape (count, n)
    ier : ndarray of int, shape (count,)
        0 where ``leastsq`` raised.
    """
    popt = np.full((count, data.p0.shape[1]), np.nan)
    ier = np.zeros(count, dtype=int)
    for i in range(count):
        y = data.y[i]

        def residuals(p, y=y):
            return poisson_deviance_residuals(f(data.x, *p), y)

        def jacobian(p, y=y):
            return poisson_deviance_jacobian(f(data.x, *p), y, jac(data.x, *p))

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a trial with f <= 0
                out = leastsq(residuals, data.p0[i], Dfun=jacobian, full_output=True)
        except (RuntimeError, ValueError):
            continue
        popt[i], ier[i] = out[0], out[4]
    return popt, ier


def _batch_inputs(workload, modules):
    """``(curve_fit_batch, model)`` of a batch or peer row, or why it is skipped."""
    batch = getattr(modules["lmfast"], "curve_fit_batch", None)
    if batch is None:
        return "lmfast.curve_fit_batch not available yet"
    model = workload.model
    if getattr(workload, "make_model", None) is not None:
        return batch, workload.make_model()
    if isinstance(model, str):
        if missing := import_problem("lmfast.models"):
            return missing
        model = getattr(importlib.import_module("lmfast.models"), model, None)
        if model is None:
            return f"lmfast.models.{workload.model} not available yet"
    return batch, model


def _start_batch(workload, modules, config, make_result):
    """The start shared by the batch, peer and estimator runners.

    ``make_result(threads, n_fits)`` builds the row's result (``threads`` resolved from
    ``config.threads``, ``n_fits`` from ``config``). Returns ``(res, None)`` when lmfast
    lacks the batch API or the model (``res`` is ``"skipped"``, its note says why), else
    ``(res, (curve_fit_batch, model, data))`` with the workload's data for ``n_fits`` fits.
    """
    threads = config.threads or usable_cpus()
    inputs = _batch_inputs(workload, modules)
    n_fits = config.n_fits(workload)
    res = make_result(threads, n_fits)
    if isinstance(inputs, str):
        res.status, res.note = "skipped", inputs
        return res, None
    batch, model = inputs
    return res, (batch, model, workload.make_data(n_fits))


def _time_batch(calls, counts, config, res, reference):
    """Time whole-batch calls in interleaved rounds; store times and noise notes in ``res``.

    Parameters
    ----------
    calls : dict of str to callable
        One zero-argument callable per implementation.
    counts : dict of str to int
        Fits done by one call of each implementation.
    config : BenchConfig
        Rounds.
    res : BatchFitResult or PeerFitResult
        Receives ``times``, ``seconds``, ``spread`` (all per fit), ``other_load`` and
        ``round_ratios`` (``reference`` / lmfast).
    reference : str
        The implementation compared with ``"lmfast"``.

    Returns
    -------
    list of str
        The busy-machine and noisy-timings notes (empty strings when there are none).
    """
    raw, res.other_load = timed_rounds(calls, config.rounds)
    res.times = {impl: [t / counts[impl] for t in ts] for impl, ts in raw.items()}
    res.seconds = {impl: statistics.median(t) for impl, t in res.times.items()}
    res.spread = {impl: relative_spread(t) for impl, t in res.times.items()}
    pairs = zip(res.times["lmfast"], res.times[reference], strict=True)
    res.round_ratios = [ref / lm for lm, ref in pairs]
    return [busy_note(res.other_load), noise_note(res.spread, res.round_ratios)]


def _residuals(f, data):
    """``residuals(i, p)`` of fit ``i`` of ``data``: ``f(x, *p) - y_i``."""
    return lambda i, p: f(data.x, *p) - data.y[i]


def _agreement_on_data(lm, ref_popt, ref_ier, count, residuals, **loss):
    """:func:`~lmfast.bench.checks.batch_agreement` of the first ``count`` fits of the
    lmfast batch result ``lm`` with a reference's; both sides' costs from ``residuals``
    (and the row's ``loss``, ``f_scale``), standard errors from lmfast's ``perr``."""
    popt, ier = np.asarray(lm.popt)[:count], np.asarray(lm.ier)[:count]
    return batch_agreement(popt, ier, ref_popt, ref_ier, stderr=np.asarray(lm.perr)[:count],
                           lm_cost=batch_costs(residuals, popt, **loss),
                           ref_cost=batch_costs(residuals, ref_popt, **loss))


def run_batch_fit(workload, modules, config):
    """Measure one :class:`~lmfast.bench.workloads.BatchFit` workload.

    One round times ``curve_fit_batch`` on all fits (with ``config.threads``, and for
    compiled models also with ``threads=1``) and SciPy's ``curve_fit`` in a loop over the
    first fits; the order reverses every other round. Before timing, each runs once: the
    outcomes give the agreement on the subset and whether ``threads=1`` returned bitwise
    the same ``popt`` and ``ier``.

    Returns
    -------
    BatchFitResult
        ``status`` is ``"skipped"`` when lmfast lacks the batch API or the model and
        ``"error"`` when a call raised.
    """
    def result(threads, n_fits):
        subset = min(config.subset(n_fits), workload.scipy_subset or n_fits)
        return BatchFitResult(workload.name, workload.m, workload.n, n_fits, subset, threads,
                              target=workload.target)

    res, inputs = _start_batch(workload, modules, config, result)
    if inputs is None:
        return res
    batch, model, data = inputs
    threads, n_fits, subset = res.threads, res.n_fits, res.subset
    unbounded = dict(workload.fit_options or {})
    options = unbounded if workload.bounds is None else {"bounds": workload.bounds, **unbounded}
    scipy_options = dict(options)
    if workload.scipy_method is not None:
        scipy_options["method"] = workload.scipy_method
    calls = {"lmfast": lambda: batch(model, data.x, data.y, data.p0, threads=config.threads,
                                     **options)}
    if workload.compiled and threads > 1:
        calls["lmfast_1t"] = lambda: batch(model, data.x, data.y, data.p0, threads=1,
                                           **options)
    if workload.bounds is not None and workload.make_model is None:
        calls["lmfast_unbounded"] = lambda: batch(model, data.x, data.y, data.p0,
                                                  threads=config.threads, **unbounded)
    curve_fit = modules["scipy"].curve_fit
    scipy_model = workload.plain if workload.make_model is not None else model
    calls["scipy"] = lambda: scipy_fit_loop(curve_fit, scipy_model, data, subset,
                                            **scipy_options)
    if workload.make_model is not None and installed("lmfit"):
        calls["lmfit"] = lambda: lmfit_fit_loop(workload.plain, data, subset, workload.bounds)
    if workload.compiled and workload.plain is not None and workload.make_model is None:
        calls["scipy_plain"] = lambda: scipy_fit_loop(curve_fit, workload.plain, data, subset,
                                                      **scipy_options)
    try:
        outs = _warm_up_each(calls, res)
    except FitFailed as exc:
        res.status, res.note = "error", str(exc)
        return res
    lm, (sp_popt, sp_ier) = outs.pop("lmfast"), outs.pop("scipy")
    outs.pop("scipy_plain", None)
    outs.pop("lmfast_unbounded", None)
    outs.pop("lmfit", None)
    notes = []
    if "lmfast_1t" in outs:
        one = outs.pop("lmfast_1t")
        res.threads_identical = bool(
            np.array_equal(lm.popt, one.popt, equal_nan=True) and np.array_equal(lm.ier, one.ier)
        )
        if not res.threads_identical:
            notes.append(f"threads=1 and threads={threads} results differ (must be bitwise equal)")
        del one
    loss = {k: v for k, v in unbounded.items() if k in ("loss", "f_scale")}
    res.agreement, res.agree = _agreement_on_data(lm, sp_popt, sp_ier, subset,
                                                  _residuals(scipy_model, data), **loss)
    res.agreement["success_all_lmfast"] = float(np.mean(lm.success))
    del lm  # free the warm-up result before timing
    counts = {impl: subset if impl.startswith(("scipy", "lmfit")) else n_fits
              for impl in calls}
    notes += _time_batch(calls, counts, config, res, "scipy")
    if res.ratio_plain is not None:
        notes.append(
            f"SciPy with the plain NumPy function {workload.plain.__name__}: "
            f"{format_us(res.seconds['scipy_plain'])} {micro()}s/fit, "
            f"ratio {res.ratio_plain:.1f}"
        )
    if "lmfit" in res.seconds:
        ratio = res.seconds["lmfit"] / res.seconds["lmfast"]
        res.agreement["ratio_lmfit"] = ratio
        notes.append(f"lmfit Model.fit (leastsq, same bounds): "
                     f"{format_us(res.seconds['lmfit'])} {micro()}s/fit, ratio {ratio:.1f}")
    if "lmfast_unbounded" in res.seconds:
        bounded = res.seconds["lmfast_unbounded"] / res.seconds["lmfast"]
        res.agreement["bounded_vs_unbounded"] = bounded
        notes.append(f"bounded fits/s = {bounded:.2f}x the unbounded batch's on the same data")
    res.note = _join_notes(*notes)
    return res


def run_peer_fit(workload, modules, config):
    """Measure one :class:`~lmfast.bench.workloads.PeerFit`: the peer and lmfast, all fits.

    Both use ``config.threads`` (numba's ``set_num_threads`` for the peer). The peer is
    compiled on four fits before anything is timed. Agreement is measured against lmfast
    over all fits. A peer that cannot be imported, compiled or run gives a ``"skipped"``
    row: peers never make the benchmark fail.

    Returns
    -------
    PeerFitResult
    """
    def result(threads, n_fits):
        return PeerFitResult(workload.name, workload.base, workload.library, workload.model,
                             workload.m, workload.n, n_fits, threads)

    res, inputs = _start_batch(workload, modules, config, result)
    if inputs is None:
        return res
    batch, model, data = inputs
    threads, n_fits = res.threads, res.n_fits
    try:
        solve = workload.make_solver()
        solve(data.x, data.y[:4].copy(), data.p0[:4].copy(), threads)  # numba compiles here
    except Exception as exc:  # noqa: BLE001  (a broken peer is a skipped row, never a failure)
        res.status = "skipped"
        res.note = f"{workload.library} unusable: {type(exc).__name__}: {exc}"
        return res
    calls = {
        "lmfast": lambda: batch(model, data.x, data.y, data.p0, threads=config.threads),
        "peer": lambda: solve(data.x, data.y, data.p0, threads),
    }
    try:
        outs = _warm_up_each(calls, res)
    except FitFailed as exc:
        res.status = "error" if exc.impl == "lmfast" else "skipped"
        res.note = str(exc)
        return res
    peer_popt, peer_ok = outs["peer"]
    res.agreement, res.agree = _agreement_on_data(outs["lmfast"], peer_popt,
                                                  peer_ok.astype(int), n_fits,
                                                  _residuals(model, data))
    del outs
    notes = _time_batch(calls, dict.fromkeys(calls, n_fits), config, res, "peer")
    res.note = _join_notes(*notes)
    return res


def run_estimator_fit(workload, modules, config):
    """Measure one :class:`~lmfast.bench.workloads.EstimatorFit`: the same data fitted by
    ``curve_fit_batch`` with ``estimator`` and with ``reference_estimator``.

    Both batches fit all ``N`` fits with ``config.threads``, timed in interleaved rounds
    (order alternating). Before timing, the first ``subset`` fits of the estimator's batch
    are compared with SciPy's ``leastsq`` on the deviance residuals (untimed).

    Returns
    -------
    EstimatorFitResult
        ``status`` is ``"skipped"`` when lmfast lacks the batch API or the model and
        ``"error"`` when a call raised.
    """
    def result(threads, n_fits):
        return EstimatorFitResult(workload.name, workload.estimator, workload.reference_estimator,
                                  workload.m, workload.n, n_fits, config.subset(n_fits), threads,
                                  target=workload.target)

    res, inputs = _start_batch(workload, modules, config, result)
    if inputs is None:
        return res
    batch, model, data = inputs
    n_fits, subset = res.n_fits, res.subset
    calls = {
        "lmfast": lambda: batch(model, data.x, data.y, data.p0, threads=config.threads,
                                estimator=workload.estimator),
        "reference": lambda: batch(model, data.x, data.y, data.p0, threads=config.threads,
                                   estimator=workload.reference_estimator),
    }
    try:
        outs = _warm_up_each(calls, res)
    except FitFailed as exc:
        res.status, res.note = "error", str(exc)
        return res
    lm = outs.pop("lmfast")
    reference_success = float(np.mean(outs.pop("reference").success))
    sp_popt, sp_ier = scipy_poisson_loop(modules["scipy"].leastsq, workload.plain,
                                         workload.plain_jac, data, subset)

    def deviance_residuals(i, p):
        return poisson_deviance_residuals(workload.plain(data.x, *p), data.y[i])

    res.agreement, res.agree = _agreement_on_data(lm, sp_popt, sp_ier, subset,
                                                  deviance_residuals)
    res.agreement["success_all_lmfast"] = float(np.mean(lm.success))
    res.agreement["success_all_reference"] = reference_success
    del lm  # free the warm-up result before timing
    notes = _time_batch(calls, dict.fromkeys(calls, n_fits), config, res, "reference")
    res.note = _join_notes(*notes)
    return res


def run_kernel(workload, modules, config):
    """Measure one :class:`~lmfast.bench.workloads.KernelTiming`: lmfast's kernel and the
    reference, each called once (warm-up; the accuracy is measured while the calls are
    built), then calibrated and timed in interleaved rounds as a single-fit row.

    Returns
    -------
    KernelResult
        Times per ``unit``; ``status`` is ``"skipped"`` when lmfast (or SciPy) lacks what
        the row evaluates and ``"error"`` when a call raised.
    """
    res = KernelResult(workload.name, workload.unit, workload.m, workload.m, workload.n,
                       workload.reference_label, workload.lower_is_better, workload.target,
                       workload.accuracy_target)
    try:
        kernel = workload.make_calls(config.quick)
    except (ImportError, AttributeError, KeyError) as exc:  # an older lmfast, say
        res.status, res.note = "skipped", f"{type(exc).__name__}: {exc}"
        return res
    except Exception as exc:  # noqa: BLE001  (report and go on with the next workload)
        res.status, res.note = "error", f"{type(exc).__name__}: {exc}"
        return res
    res.units, res.accuracy = kernel.units, kernel.accuracy
    if workload.unit == "point":
        res.m = kernel.units  # fewer with --quick
    first = {}
    try:
        for impl, call in kernel.calls.items():
            _, first[impl], caught = _warm_up(call)
            res.warnings += [f"{impl}: {w}" for w in caught]
    except Exception as exc:  # noqa: BLE001
        res.status, res.note = "error", f"{impl}: {type(exc).__name__}: {exc}"
        return res
    _time_single_fit(kernel.calls, first, config, res)
    res.times = {impl: [t / res.units for t in ts] for impl, ts in res.times.items()}
    res.seconds = {impl: s / res.units for impl, s in res.seconds.items()}
    if workload.lower_is_better:  # per-round ratios in the direction of the row's ratio
        res.round_ratios = [1.0 / r for r in res.round_ratios]
        res.note = noise_note(res.spread, res.round_ratios)
    notes = [res.note, *kernel.notes]
    if (workload.accuracy_target is not None
            and not (res.accuracy is not None and res.accuracy <= workload.accuracy_target)):
        notes.append(f"max relative difference above the documented {workload.accuracy_target:g}")
    res.note = _join_notes(*notes)
    return res


def run_scale_out(workload, modules, config):
    """Measure one :class:`~lmfast.bench.workloads.ScaleOutFit` (see
    :mod:`lmfast.bench.scaleout`).

    Returns
    -------
    ScaleOutResult
        ``status`` is ``"skipped"`` when a required module is missing (the note says
        which) and ``"error"`` when the measurement raised.
    """
    from lmfast.bench.scaleout import required_modules

    res = ScaleOutResult(workload.name, workload.reference, workload.reference_label,
                         workload.m, workload.n, config.n_fits(workload),
                         target=workload.target)
    if missing := required_modules(workload):
        res.status, res.note = "skipped", missing
        return res
    try:
        notes = workload.measure(workload, config, res)
    except Exception as exc:  # noqa: BLE001  (report and go on with the next workload)
        res.status, res.note = "error", f"{type(exc).__name__}: {exc}"
        return res
    res.note = _join_notes(*notes)
    return res


def run_map_fit(workload, modules, config):
    """Measure one :class:`~lmfast.bench.workloads.MapFit`: ``curve_fit_map`` and one
    ``curve_fit_batch`` pass over the same map, each once (warm-up; the shares of right
    and converged pixels), then timed in interleaved rounds.

    Returns
    -------
    MapFitResult
        Times per pixel; ``status`` is ``"skipped"`` when lmfast lacks curve_fit_map and
        ``"error"`` when a call raised.
    """
    threads = config.threads or usable_cpus()
    side = workload.quick_side if config.quick else workload.side
    res = MapFitResult(workload.name, workload.m, workload.n, side * side, side, threads,
                       bounded=workload.bounds is not None)
    lmfast = modules["lmfast"]
    fit_map = getattr(lmfast, "curve_fit_map", None)
    if fit_map is None:
        res.status, res.note = "skipped", "lmfast.curve_fit_map not available yet"
        return res
    model = getattr(importlib.import_module("lmfast.models"), workload.model)
    x, y, truth, p0 = workload.make_data(side)
    flat = y.reshape(-1, y.shape[-1])
    calls = {
        "lmfast": lambda: fit_map(model, x, y, p0, bounds=workload.bounds, threads=threads),
        "one_pass": lambda: lmfast.curve_fit_batch(model, x, flat, p0, bounds=workload.bounds,
                                                   threads=threads),
    }
    try:
        outs = _warm_up_each(calls, res)
    except FitFailed as exc:
        res.status, res.note = "error", str(exc)
        return res
    for impl, out in outs.items():
        res.right[impl] = workload.right(np.asarray(out.popt), truth)
        res.success[impl] = float(np.mean(out.success))
    res.passes, res.refits = outs["lmfast"].passes, outs["lmfast"].refits
    del outs
    notes = _time_batch(calls, dict.fromkeys(calls, side * side), config, res, "one_pass")
    res.note = _join_notes(*notes)
    return res


#: kind -> function(workload, modules, config) returning a result object.
RUNNERS = {"single": run_single_fit, "batch": run_batch_fit, "peer": run_peer_fit}
RUNNERS["estimator"] = run_estimator_fit
RUNNERS["patch"] = run_patched_fit
RUNNERS["scaleout"] = run_scale_out
RUNNERS["kernel"] = run_kernel
RUNNERS["map"] = run_map_fit
RUNNERS["bridge"] = run_bridge_fit


def run_all(workloads, modules, config, out=None):
    """Run workloads, printing each kind's table row by row.

    Parameters
    ----------
    workloads : sequence
        Workloads of any kinds; each kind gets its table, in order of first appearance.
    modules : dict of str to module
        ``{"lmfast": lmfast, "scipy": scipy.optimize}``.
    config : BenchConfig
        How to time.
    out : file, optional
        Where the tables go (default ``sys.stdout``).

    Returns
    -------
    list
        Result objects, grouped by kind in table order.
    """
    out = sys.stdout if out is None else out
    results = []
    kinds = list(dict.fromkeys(w.kind for w in workloads))
    for kind in kinds:
        group = [w for w in workloads if w.kind == kind]
        table = TABLES[kind](name_width=max(len(w.name) for w in group))
        print(table.header(), file=out, flush=True)
        done = []
        for w in group:
            r = RUNNERS[kind](w, modules, config)
            print(table.row(r), file=out, flush=True)
            done.append(r)
        for line in table.notes(done):
            print(line, file=out)
        print("\n" + table.footer + "\n", file=out, flush=True)
        results += done
    return results
