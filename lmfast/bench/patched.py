"""Rows of packages built on SciPy (lmfit, astropy), timed with and without ``lmfast.patch()``.

The package's fit runs unchanged; only ``with lmfast.patched():`` around some of its
repetitions differs. Both sides run in this process in interleaved rounds (order
alternating), the patched ones inside one ``patched()`` block per timing, so the cost of
entering the patch is not timed. Each row checks that the patched fits reached lmfast
(``lmfast.patch_calls()`` grows by one call per fit, the unpatched ones do not add to it)
and gave the unpatched parameters. Each round also times as many fits again under a
:class:`~lmfast.bench.packages.SolverClock`, which splits a fit's time into the package's
own work around the solver call, its work in the callbacks, the model's evaluations
(bare evaluations timed apart, times the number of callbacks) and the solver.
"""

import contextlib
import gc
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from lmfast.bench.checks import PATCHED_X_RTOL, relative_difference
from lmfast.bench.environment import import_problem
from lmfast.bench.packages import SolverClock, astropy_gauss128, lmfit_gauss128
from lmfast.bench.results import PatchedFitResult
from lmfast.bench.timing import (
    BUSY_CPUS,
    busy_seconds,
    calibrate,
    freeze_heap,
    noise_note,
    other_load,
    relative_spread,
    time_calls,
)

SIDES = ("unpatched", "patched")
#: What the clocked timings of a side add up.
CLOCK_TOTALS = ("elapsed", "solver", "callbacks", "calls", "jacobians")


@dataclass(frozen=True)
class PatchedFit:
    """A package's fit, timed with and without ``lmfast.patch()``.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    package : str
        Top-level module of the package (``"lmfit"``, ``"astropy"``); the row is skipped
        when it does not import. Also the caller counted by ``lmfast.patch_calls()``.
    function : str
        SciPy function the package calls (``"leastsq"``, ``"least_squares"``); the row is
        skipped while ``lmfast`` has no function of that name.
    api : str
        What the user calls, shown by ``--list``.
    m, n : int
        Number of data points and of parameters.
    description : str
        One line for ``--list``.
    make_fit : callable
        ``make_fit()`` imports the package and returns a
        :class:`~lmfast.bench.packages.PackageFit`.
    """

    kind: ClassVar[str] = "patch"
    name: str
    package: str
    function: str
    api: str
    m: int
    n: int
    description: str
    make_fit: Callable = field(repr=False)


def patched_workloads():
    """The rows timing lmfit and astropy with and without ``lmfast.patch()``."""
    return (
        PatchedFit(
            "lmfit-gauss128", "lmfit", "leastsq", "Model.fit", 128, 4,
            "lmfit Model.fit (leastsq), Gaussian + offset, no bounds",
            lambda: lmfit_gauss128(bounded=False),
        ),
        PatchedFit(
            "lmfit-gauss128-bounded", "lmfit", "leastsq", "Model.fit", 128, 4,
            "lmfit Model.fit (leastsq), Gaussian + offset, min/max on 3 parameters",
            lambda: lmfit_gauss128(bounded=True),
        ),
        PatchedFit(
            "astropy-gauss128-leastsq", "astropy", "leastsq", "LevMarLSQFitter", 128, 3,
            "astropy LevMarLSQFitter on Gaussian1D (calls leastsq, analytic fit_deriv)",
            lambda: astropy_gauss128("LevMarLSQFitter"),
        ),
        PatchedFit(
            "astropy-gauss128-least-squares", "astropy", "least_squares", "LMLSQFitter", 128, 3,
            "astropy LMLSQFitter on Gaussian1D (calls least_squares(method='lm'))",
            lambda: astropy_gauss128("LMLSQFitter"),
        ),
    )  # fmt: skip


class _Patch:
    """``side`` "patched": ``lmfast.patched()``; "unpatched": no patch (a null context)."""

    def __init__(self, lmfast, side):
        self._context = lmfast.patched() if side == "patched" else None

    def __enter__(self):
        if self._context is not None:
            self._context.__enter__()

    def __exit__(self, *exc_info):
        if self._context is not None:
            return self._context.__exit__(*exc_info)
        return False


def _lmfast_calls(lmfast, workload):
    """Calls that reached lmfast from the workload's package through the patch so far."""
    return lmfast.patch_calls().get((workload.package, workload.function), 0)


def _why_skipped(workload, lmfast):
    """Why the row cannot run, or ``""``."""
    if missing := import_problem(workload.package):
        return missing
    if not hasattr(lmfast, workload.function):
        return (
            f"lmfast.{workload.function} not available yet: the patch has nothing to "
            f"send {workload.api}'s {workload.function} calls to"
        )
    return ""


def _warm_up(lmfast, workload, fit, res):
    """Run the fit once per side; check calls and agreement. Returns an error or ``""``."""
    outs, first, seen = {}, {}, {}
    for side in SIDES:
        before = _lmfast_calls(lmfast, workload)
        with warnings.catch_warnings(record=True) as caught, _Patch(lmfast, side):
            warnings.simplefilter("always")
            start = time.perf_counter()
            try:
                outs[side] = fit()
            except Exception as exc:  # noqa: BLE001  (reported in the row; the run goes on)
                return f"{side}: {type(exc).__name__}: {exc}", first
            first[side] = time.perf_counter() - start
        added = _lmfast_calls(lmfast, workload) - before
        if (side == "patched") != (added > 0):
            return (
                f"{side} fit: {added} {workload.function} calls from {workload.package} "
                "reached lmfast"
            ), first
        seen[side] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if seen["unpatched"] == seen["patched"]:  # the package's own warnings, said once
        res.warnings += [f"both sides: {w}" for w in seen["patched"]]
    else:
        res.warnings += [f"{side}: {w}" for side in SIDES for w in seen[side]]
    for side, (x, nfev) in outs.items():
        res.x[side], res.nfev[side] = x.tolist(), nfev
    res.xdiff = relative_difference(outs["patched"][0], outs["unpatched"][0])
    res.same = res.xdiff <= PATCHED_X_RTOL
    return "", first


def _time_sides(lmfast, workload, package_fit, first, config, res):
    """Calibrate, then time both sides in interleaved rounds and count the patched calls.

    In each round a side runs inside one ``patched()`` block (or none): first the timing
    reported, then the same number of fits under a :class:`SolverClock`, whose totals
    over the rounds give ``res.split``.
    """
    fit = package_fit.fit
    clocked = {side: dict.fromkeys(CLOCK_TOTALS, 0.0) for side in SIDES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning machinery must not be timed
        for side in SIDES:
            with _Patch(lmfast, side):
                res.number[side] = calibrate(fit, config.min_time, first[side])
        res.times = {side: [] for side in SIDES}
        before = _lmfast_calls(lmfast, workload)
        busy_before, start = busy_seconds(), time.perf_counter()
        for r in range(config.rounds):
            for side in SIDES if r % 2 == 0 else SIDES[::-1]:
                number = res.number[side]
                with _Patch(lmfast, side):
                    res.times[side].append(time_calls(fit, number) / number)
                    with SolverClock(package_fit) as clock:  # its calls count as lmfast's
                        elapsed = time_calls(fit, number)
                _add_clock(clocked[side], elapsed, clock)
        res.other_load = other_load(busy_before, busy_seconds(), time.perf_counter() - start)
        calls = _lmfast_calls(lmfast, workload) - before
        res.calls_per_fit = calls / (config.rounds * res.number["patched"])
        res.model_seconds = _model_seconds(package_fit, config)
    res.seconds = {side: statistics.median(t) for side, t in res.times.items()}
    res.spread = {side: relative_spread(t) for side, t in res.times.items()}
    pairs = zip(res.times["patched"], res.times["unpatched"], strict=True)
    res.round_ratios = [unp / pat for pat, unp in pairs]
    for side, totals in clocked.items():
        _store_split(totals, config.rounds * res.number[side], side, res)


def _store_split(totals, fits, side, res):
    """``res.split[side]`` and ``res.callbacks_per_fit[side]`` from the clock's ``totals``
    over ``fits`` fits; the model's share is its bare cost times its evaluations."""
    res.callbacks_per_fit[side] = totals["calls"] / fits
    bare = res.model_seconds
    model = (totals["calls"] - totals["jacobians"]) / fits * bare["function"]
    if totals["jacobians"] and bare["jacobian"] is not None:
        model += totals["jacobians"] / fits * bare["jacobian"]
    callbacks = totals["callbacks"] / fits
    model = min(model, callbacks)
    res.split[side] = {
        "outside": (totals["elapsed"] - totals["solver"]) / fits,
        "callbacks": callbacks - model,
        "model": model,
        "solver": (totals["solver"] - totals["callbacks"]) / fits,
    }


def _add_clock(totals, elapsed, clock):
    """Add one clocked timing (``elapsed`` seconds, the clock's figures) to ``totals``."""
    totals["elapsed"] += elapsed
    totals["solver"] += clock.solver_seconds
    totals["callbacks"] += clock.callback_seconds
    totals["calls"] += clock.callback_calls
    totals["jacobians"] += clock.jacobian_calls


def _model_seconds(package_fit, config):
    """Seconds of one bare evaluation of the model (``"function"``) and of its Jacobian
    (``"jacobian"``, ``None`` without one): the fastest of three timings."""
    seconds = {"function": package_fit.model, "jacobian": package_fit.model_jacobian}
    for part, evaluate in seconds.items():
        if evaluate is not None:
            number = calibrate(evaluate, config.min_time)
            seconds[part] = min(time_calls(evaluate, number) for _ in range(3)) / number
    return seconds


@contextlib.contextmanager
def _frozen_heap():
    """Objects alive now left out of garbage collections while the block runs.

    Every timing starts with a full collection (:func:`~lmfast.bench.timing.time_calls`);
    with lmfit or astropy imported one takes about 80 ms, longer than the timing itself.
    As in ``--quick`` (:func:`~lmfast.bench.timing.freeze_heap`), objects alive now are
    frozen; they are unfrozen afterwards unless something was frozen before.
    """
    was_frozen = gc.get_freeze_count() > 0
    freeze_heap()
    try:
        yield
    finally:
        if not was_frozen:
            gc.unfreeze()


def _time_patch_toggle(lmfast):
    """Seconds of entering and leaving ``lmfast.patched()`` once (it scans sys.modules)."""
    start = time.perf_counter()
    with lmfast.patched():
        pass
    return time.perf_counter() - start


def run_patched_fit(workload, modules, config):
    """Measure one :class:`PatchedFit`: the package's fit without and with the patch.

    Parameters
    ----------
    workload : PatchedFit
        The row.
    modules : dict of str to module
        ``{"lmfast": lmfast, "scipy": scipy.optimize}``.
    config : BenchConfig
        Rounds and minimum timing duration.

    Returns
    -------
    PatchedFitResult
        ``status`` is ``"skipped"`` when the package (or the lmfast function the patch
        needs) is missing and ``"error"`` when a fit raised or the calls did not reach
        lmfast (or did without the patch).
    """
    lmfast = modules["lmfast"]
    res = PatchedFitResult(
        workload.name, workload.package, workload.function, workload.m, workload.n
    )
    if reason := _why_skipped(workload, lmfast):
        res.status, res.note = "skipped", reason
        return res
    try:
        package_fit = workload.make_fit()
    except Exception as exc:  # noqa: BLE001  (a broken package install is a failed row)
        res.status, res.note = "error", f"setup: {type(exc).__name__}: {exc}"
        return res
    error, first = _warm_up(lmfast, workload, package_fit.fit, res)
    if error:
        res.status, res.note = "error", error
        return res
    with _frozen_heap():
        _time_sides(lmfast, workload, package_fit, first, config, res)
    res.patch_seconds = _time_patch_toggle(lmfast)
    notes = []
    if not res.same:
        notes.append(
            f"patched parameters differ by {res.xdiff:.2g} (relative), more than {PATCHED_X_RTOL:g}"
        )
    if res.calls_per_fit != 1:
        notes.append(f"{res.calls_per_fit:g} calls reached lmfast per patched fit (expected 1)")
    notes.append(noise_note(res.spread, res.round_ratios))
    if res.other_load is not None and res.other_load >= BUSY_CPUS:
        notes.append(f"other processes used {res.other_load:.1f} CPUs during the timings")
    res.note = "; ".join(filter(None, notes))
    return res
