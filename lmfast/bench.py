"""Smoke benchmark of lmfast against SciPy: ``python -m lmfast.bench``.

Every workload is a problem definition plus one callable per implementation. Both
implementations run in the same process, interleaved: each round times lmfast then SciPy,
and the next round SciPy then lmfast. The inner repeat count of each implementation is
calibrated once so that one timing lasts at least ``min_time`` seconds; the table reports
the median time per fit over the rounds, the ratio SciPy time / lmfast time, ``nfev`` of
both and whether both returned the same ``ier``, ``nfev`` and ``x``.

This module imports only NumPy and the standard library at import time; SciPy and lmfast
are imported inside :func:`main`, so ``--help`` and ``--list`` work without SciPy.

Adding a workload
-----------------
Append an instance to the tuple built by :func:`default_workloads`. A workload class
declares a ``kind``; :data:`RUNNERS` maps the kind to the function that measures it and
:data:`TABLES` to the table that prints its rows. A new kind of row (for instance batch
fitting: fits per second of ``curve_fit_batch`` against a loop of SciPy ``curve_fit``
over a subset of the fits) is a new workload class, a runner and a table, with no change
to the existing ones.
"""

import argparse
import dataclasses
import fnmatch
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

SCIPY_MISSING = (
    "SciPy is not installed: pip install scipy (or install the 'bench' extra) to compare against it"
)

#: Default number of interleaved rounds (``--quick`` uses :data:`QUICK_ROUNDS`).
DEFAULT_ROUNDS = 7
QUICK_ROUNDS = 3
#: Minimum duration of one timing, in seconds; sets the inner repeat count.
DEFAULT_MIN_TIME = 0.020
QUICK_MIN_TIME = 0.010
#: Upper bound of the inner repeat count.
MAX_NUMBER = 1_000_000
#: Relative tolerance of the ``x`` comparison between the implementations.
X_RTOL = 1e-6
#: A row gets a "noisy timings" note when the round times of an implementation spread more
#: than this (median absolute deviation / median) ...
NOISY_SPREAD = 0.05
#: ... or when the per-round ratios SciPy/lmfast range more than this (max / min - 1).
NOISY_RATIO_RANGE = 0.10

IMPLEMENTATIONS = ("lmfast", "scipy")


# --------------------------------------------------------------------------------------
# Problem definitions (pure NumPy, shared by both implementations)
# --------------------------------------------------------------------------------------


def trivial_residual(x):
    """Residuals of the trivial problem, ``m = 3``, ``n = 2``.

    Parameters
    ----------
    x : ndarray, shape (2,)
        Parameters.

    Returns
    -------
    ndarray, shape (3,)
        ``[x0 - 1, x1 - 2, x0 * x1 - 3]`` (the last term keeps the residual nonzero at
        the solution, so termination does not hinge on an exact zero).
    """
    return np.array([x[0] - 1.0, x[1] - 2.0, x[0] * x[1] - 3.0])


def peaks_model(p, t):
    """Sum of ``k`` Gaussians plus a constant offset.

    Parameters
    ----------
    p : ndarray, shape (3 * k + 1,)
        ``[a_1, mu_1, s_1, ..., a_k, mu_k, s_k, c]``: amplitude, centre and width of
        every peak, then the offset.
    t : ndarray, shape (m,)
        Abscissae.

    Returns
    -------
    ndarray, shape (m,)
        ``sum_j a_j exp(-(t - mu_j)^2 / (2 s_j^2)) + c``.
    """
    a, mu, s = p[:-1].reshape(-1, 3).T
    z = (t - mu[:, None]) / s[:, None]
    return a @ np.exp(-0.5 * z * z) + p[-1]


def peaks_jacobian(p, t):
    """Jacobian of :func:`peaks_model` with respect to ``p``.

    Parameters
    ----------
    p : ndarray, shape (3 * k + 1,)
        Parameters, ordered as in :func:`peaks_model`.
    t : ndarray, shape (m,)
        Abscissae.

    Returns
    -------
    ndarray, shape (m, 3 * k + 1)
        C-ordered; row ``i`` is the gradient of the model at ``t[i]``.
    """
    a, mu, s = p[:-1].reshape(-1, 3).T
    z = (t - mu[:, None]) / s[:, None]
    g = np.exp(-0.5 * z * z)
    dmu = (a / s)[:, None] * g * z
    jac = np.empty((t.size, p.size))
    jac[:, 0:-1:3] = g.T
    jac[:, 1:-1:3] = dmu.T
    jac[:, 2:-1:3] = (dmu * z).T
    jac[:, -1] = 1.0
    return jac


def peaks_residual(p, t, y):
    """Residuals ``peaks_model(p, t) - y`` (``func`` of ``leastsq``)."""
    return peaks_model(p, t) - y


def peaks_residual_jacobian(p, t, y):
    """Jacobian of :func:`peaks_residual`, shape ``(m, n)`` (``Dfun`` of ``leastsq``)."""
    return peaks_jacobian(p, t)


def peaks_problem(m, k, seed=0, noise=0.05):
    """Synthetic data of ``k`` well separated Gaussian peaks plus an offset.

    Parameters
    ----------
    m : int
        Number of data points.
    k : int
        Number of peaks; the problem has ``n = 3 * k + 1`` parameters.
    seed : int, optional
        Seed of the noise generator.
    noise : float, optional
        Standard deviation of the additive Gaussian noise.

    Returns
    -------
    t : ndarray, shape (m,)
        Abscissae, evenly spaced on ``[0, 10 k]``.
    y : ndarray, shape (m,)
        Noisy data.
    p0 : ndarray, shape (3 * k + 1,)
        Starting point: amplitudes 20 % low, centres shifted by 0.15, widths 30 % wide,
        offset 0.
    """
    rng = np.random.default_rng(seed)
    j = np.arange(k)
    amp = 3.0 + 2.0 * np.cos(j)  # 1 .. 5
    centre = 10.0 * j + 5.0 + 0.3 * np.sin(3.0 * j)
    width = 0.8 + 0.1 * (j % 4)
    p_true = np.append(np.column_stack([amp, centre, width]).ravel(), 0.5)
    t = np.linspace(0.0, 10.0 * k, m)
    y = peaks_model(p_true, t) + noise * rng.standard_normal(m)
    p0 = np.append(np.column_stack([0.8 * amp, centre + 0.15, 1.3 * width]).ravel(), 0.0)
    return t, y, p0


def gauss1d(t, a, mu, s, c):
    """One Gaussian plus offset, written as a typical ``curve_fit`` user would."""
    return a * np.exp(-0.5 * ((t - mu) / s) ** 2) + c


def gauss1d_jac(t, a, mu, s, c):
    """Jacobian of :func:`gauss1d`, shape ``(m, 4)`` (``jac`` of ``curve_fit``)."""
    z = (t - mu) / s
    g = np.exp(-0.5 * z * z)
    dmu = a * g * z / s
    return np.column_stack([g, dmu, dmu * z, np.ones_like(t)])


def gauss128_problem(seed=1):
    """One noisy Gaussian plus offset on 128 points.

    Returns
    -------
    t, y : ndarray, shape (128,)
        Abscissae on ``[-5, 5]`` and data (``a=3, mu=0.4, s=1.1, c=0.5``, noise 0.05).
    p0 : ndarray, shape (4,)
        Starting point ``[2, -0.5, 1.8, 0]``.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(-5.0, 5.0, 128)
    y = gauss1d(t, 3.0, 0.4, 1.1, 0.5) + 0.05 * rng.standard_normal(t.size)
    return t, y, np.array([2.0, -0.5, 1.8, 0.0])


def gauss2d(xy, a, x0, y0, s, c):
    """Symmetric 2-D Gaussian plus offset; ``xy`` has shape ``(2, npix)``."""
    r2 = (xy[0] - x0) ** 2 + (xy[1] - y0) ** 2
    return a * np.exp(-0.5 * r2 / (s * s)) + c


def gauss2d_problem(size=5, seed=2):
    """Make a spot on a ``size x size`` pixel grid with shot-like noise.

    Returns
    -------
    xy : ndarray, shape (2, size * size)
        Pixel coordinates (row, column).
    z : ndarray, shape (size * size,)
        Data (``a=100, x0=2.2, y0=1.8, s=1, c=10``, noise ``sqrt(model)``).
    p0 : ndarray, shape (5,)
        The usual guess: peak-to-peak amplitude, centre pixel, width 1.5, minimum.
    """
    rng = np.random.default_rng(seed)
    xy = np.indices((size, size), dtype=float).reshape(2, -1)
    model = gauss2d(xy, 100.0, 2.2, 1.8, 1.0, 10.0)
    z = model + np.sqrt(model) * rng.standard_normal(model.size)
    c = (size - 1) / 2.0
    return xy, z, np.array([np.ptp(z), c, c, 1.5, z.min()])


# --------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SingleFit:
    """A workload of one fit per call, timed per fit against SciPy.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    api : {"leastsq", "curve_fit"}
        Function under test; looked up by name in ``lmfast`` and ``scipy.optimize``.
    m, n : int
        Number of residuals and of parameters.
    description : str
        One line for ``--list``.
    make_call : callable
        ``make_call(fit)`` builds the problem and returns a zero-argument callable that
        runs one fit with ``fit`` (the ``leastsq`` or ``curve_fit`` of one
        implementation) with ``full_output=True`` and returns its raw result.
    """

    kind: ClassVar[str] = "single"
    name: str
    api: str
    m: int
    n: int
    description: str
    make_call: Callable[[Callable], Callable[[], Any]] = field(repr=False)


def _leastsq_call(problem, func, Dfun=None):
    """Return ``make_call`` running ``leastsq(func, x0, args, Dfun=Dfun, full_output=True)``.

    Parameters
    ----------
    problem : callable
        ``problem()`` returns ``(x0, args)``; called only when the workload runs.
    func, Dfun : callable
        Residuals and (optionally) their Jacobian, shape ``(m, n)``.
    """

    def make_call(fit):
        x0, args = problem()
        return lambda: fit(func, x0, args=args, Dfun=Dfun, full_output=True)

    return make_call


def _curve_fit_call(problem, f, jac=None):
    """Return ``make_call`` running ``curve_fit(f, xdata, ydata, p0, jac=jac, full_output=True)``.

    Parameters
    ----------
    problem : callable
        ``problem()`` returns ``(xdata, ydata, p0)``; called only when the workload runs.
    f, jac : callable
        Model and (optionally) its Jacobian, shape ``(m, n)``; ``jac`` is not passed when
        ``None``.
    """
    kwargs = {} if jac is None else {"jac": jac}

    def make_call(fit):
        xdata, ydata, p0 = problem()
        return lambda: fit(f, xdata, ydata, p0=p0, full_output=True, **kwargs)

    return make_call


def _as_leastsq(problem, *problem_args):
    """Adapt ``problem(*problem_args) -> (t, y, p0)`` to ``() -> (p0, (t, y))``."""

    def leastsq_problem():
        t, y, p0 = problem(*problem_args)
        return p0, (t, y)

    return leastsq_problem


def trivial_problem():
    """Start ``x0 = [0.5, 0.5]`` and no extra arguments, for :func:`trivial_residual`."""
    return np.array([0.5, 0.5]), ()


def default_workloads():
    """Return the workloads of ``python -m lmfast.bench``, in table order.

    Returns
    -------
    tuple of SingleFit
        The workloads; problem data is generated only when a workload runs.
    """
    gauss128 = _as_leastsq(gauss128_problem)
    peaks20k = _as_leastsq(peaks_problem, 20_000, 4)
    return (
        SingleFit(
            "trivial", "leastsq", 3, 2, "r = [x0-1, x1-2, x0*x1-3]: per-call overhead",
            _leastsq_call(trivial_problem, trivial_residual),
        ),
        SingleFit(
            "gauss128-lmdif", "leastsq", 128, 4, "Gaussian + offset, forward differences",
            _leastsq_call(gauss128, peaks_residual),
        ),
        SingleFit(
            "gauss128-lmder", "leastsq", 128, 4, "Gaussian + offset, analytic Dfun (m, n)",
            _leastsq_call(gauss128, peaks_residual, peaks_residual_jacobian),
        ),
        SingleFit(
            "peaks20k-lmder", "leastsq", 20_000, 13, "4 Gaussians + offset, analytic Dfun",
            _leastsq_call(peaks20k, peaks_residual, peaks_residual_jacobian),
        ),
        SingleFit(
            "peaks20k-lmdif", "leastsq", 20_000, 13, "4 Gaussians + offset, forward differences",
            _leastsq_call(peaks20k, peaks_residual),
        ),
        SingleFit(
            "cf-gauss128", "curve_fit", 128, 4, "curve_fit, Gaussian + offset, no jac",
            _curve_fit_call(gauss128_problem, gauss1d),
        ),
        SingleFit(
            "cf-gauss128-jac", "curve_fit", 128, 4, "curve_fit, Gaussian + offset, jac (m, n)",
            _curve_fit_call(gauss128_problem, gauss1d, gauss1d_jac),
        ),
        SingleFit(
            "cf-gauss2d-5x5", "curve_fit", 25, 5, "curve_fit, 2-D Gaussian on 5x5 pixels",
            _curve_fit_call(gauss2d_problem, gauss2d),
        ),
    )  # fmt: skip


def select_workloads(workloads, only):
    """Filter workloads by ``--only``.

    Parameters
    ----------
    workloads : sequence
        Candidate workloads.
    only : str or None
        Comma-separated patterns. A pattern containing ``*``, ``?`` or ``[`` is a glob
        matched against the whole name, otherwise a substring; matching ignores case.

    Returns
    -------
    list
        Workloads matching any pattern, in their original order (all if ``only`` is empty).
    """
    patterns = [p.strip().lower() for p in (only or "").split(",") if p.strip()]
    if not patterns:
        return list(workloads)

    def matches(name):
        name = name.lower()
        return any(
            fnmatch.fnmatchcase(name, p) if any(ch in p for ch in "*?[") else p in name
            for p in patterns
        )

    return [w for w in workloads if matches(w.name)]


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    """How to time: number of interleaved rounds and minimum duration of one timing."""

    rounds: int = DEFAULT_ROUNDS
    min_time: float = DEFAULT_MIN_TIME


def time_calls(fn, number):
    """Seconds taken by ``number`` calls of ``fn()``, garbage collector disabled.

    Parameters
    ----------
    fn : callable
        Zero-argument callable.
    number : int
        Number of calls.

    Returns
    -------
    float
        Elapsed wall-clock time (``time.perf_counter``) for all calls.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()


def calibrate(fn, min_time, first_call_time=None):
    """Choose the inner repeat count so that one timing lasts about ``1.2 * min_time``.

    Parameters
    ----------
    fn : callable
        Zero-argument callable (already warmed up).
    min_time : float
        Minimum duration of one timing, in seconds.
    first_call_time : float, optional
        Duration of the warm-up call, used as the first estimate.

    Returns
    -------
    int
        Repeat count, at most :data:`MAX_NUMBER`. It is scaled from the faster of two
        timings of at least ``min_time`` each, so that the implementations being
        compared get timings of similar length.
    """
    number = 1
    if first_call_time is not None:  # the first call may be slow: an estimate only
        number = min(MAX_NUMBER, max(1, math.ceil(1.1 * min_time / max(first_call_time, 1e-9))))
    while True:
        elapsed = time_calls(fn, number)
        if elapsed >= min_time or number >= MAX_NUMBER:
            break
        # Aim 10 % above the target, at least double, so the loop ends quickly.
        guess = math.ceil(1.1 * number * min_time / max(elapsed, 1e-9))
        number = min(MAX_NUMBER, max(2 * number, guess))
    # A second timing guards against one slow (disturbed) calibration run.
    per_call = min(elapsed, time_calls(fn, number)) / number
    return min(MAX_NUMBER, max(1, math.ceil(1.2 * min_time / per_call)))


def interleaved_times(calls, numbers, rounds):
    """Per-fit times of several callables, measured in interleaved rounds.

    Parameters
    ----------
    calls : dict of str to callable
        One zero-argument callable per implementation.
    numbers : dict of str to int
        Inner repeat count per implementation.
    rounds : int
        Number of rounds; the order of the implementations is reversed every other round,
        so neither always runs first (caches, turbo, frequency scaling).

    Returns
    -------
    dict of str to list of float
        Seconds per call, one entry per round.
    """
    names = list(calls)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(time_calls(calls[name], numbers[name]) / numbers[name])
    return times


# --------------------------------------------------------------------------------------
# Checking results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitOutcome:
    """The parts of a fit result compared between implementations."""

    x: np.ndarray
    ier: int
    nfev: int

    @classmethod
    def from_full_output(cls, out):
        """Read ``x``, ``ier`` and ``nfev`` from a ``full_output=True`` result.

        Both ``leastsq`` and ``curve_fit`` return ``(x, cov, infodict, mesg, ier)``.
        """
        return cls(np.asarray(out[0], dtype=float).ravel(), int(out[4]), int(out[2]["nfev"]))


def relative_difference(x, ref):
    """Largest elementwise ``|x - ref| / |ref|``, guarded against zero entries of ``ref``.

    Parameters
    ----------
    x, ref : ndarray
        Parameter vectors of equal shape.

    Returns
    -------
    float
        ``inf`` for different shapes or non-finite values.
    """
    if x.shape != ref.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(ref))):
        return math.inf
    if x.size == 0:
        return 0.0
    scale = np.abs(ref) + 1e-6 * np.max(np.abs(ref)) + np.finfo(float).tiny
    return float(np.max(np.abs(x - ref) / scale))


def compare(lm, sp):
    """Compare the outcomes of lmfast and SciPy.

    Returns
    -------
    same : bool
        Same ``ier``, same ``nfev`` and ``x`` within :data:`X_RTOL`.
    xdiff : float
        :func:`relative_difference` of the two ``x``.
    problems : list of str
        Human-readable differences, empty when ``same``.
    """
    xdiff = relative_difference(lm.x, sp.x)
    problems = []
    if lm.ier != sp.ier:
        problems.append(f"ier {lm.ier} vs {sp.ier}")
    if lm.nfev != sp.nfev:
        problems.append(f"nfev {lm.nfev} vs {sp.nfev}")
    if not xdiff <= X_RTOL:
        problems.append(f"x differs by {xdiff:.2g} (relative)")
    return not problems, xdiff, problems


# --------------------------------------------------------------------------------------
# Running workloads
# --------------------------------------------------------------------------------------


@dataclass
class SingleFitResult:
    """Measurements of one :class:`SingleFit` workload (one table row, one JSON record)."""

    kind: ClassVar[str] = "single"
    name: str
    api: str
    m: int
    n: int
    status: str = "ok"  # "ok", "skipped" or "error"
    note: str = ""
    seconds: dict = field(default_factory=dict)  # median seconds per fit, by implementation
    times: dict = field(default_factory=dict)  # seconds per fit of every round
    number: dict = field(default_factory=dict)  # inner repeat count
    ier: dict = field(default_factory=dict)
    nfev: dict = field(default_factory=dict)
    x: dict = field(default_factory=dict)
    spread: dict = field(default_factory=dict)  # MAD / median of the round times
    round_ratios: list = field(default_factory=list)  # SciPy / lmfast, per round
    xdiff: float | None = None
    same: bool | None = None
    warnings: list = field(default_factory=list)

    @property
    def ratio(self):
        """SciPy time / lmfast time (higher is better), or ``None``."""
        if self.status != "ok":
            return None
        return self.seconds["scipy"] / self.seconds["lmfast"]

    def to_json(self):
        """JSON-serialisable record."""
        rec = dataclasses.asdict(self)
        rec["kind"] = self.kind
        rec["ratio"] = self.ratio
        if rec["xdiff"] is not None and not math.isfinite(rec["xdiff"]):
            rec["xdiff"] = None
        return rec


def relative_spread(times):
    """Median absolute deviation of ``times`` divided by their median."""
    med = statistics.median(times)
    return statistics.median(abs(t - med) for t in times) / med if med > 0 else 0.0


def noise_note(spread, round_ratios):
    """Describe unreliable timings, or return ``""``.

    Parameters
    ----------
    spread : dict of str to float
        :func:`relative_spread` of each implementation's round times.
    round_ratios : list of float
        SciPy time / lmfast time of each round. Contention that lasts longer than a
        round can slow one implementation in most rounds without spreading its times;
        it then shows here as ratios that disagree.

    Returns
    -------
    str
    """
    lo, hi = min(round_ratios), max(round_ratios)
    if max(spread.values()) <= NOISY_SPREAD and hi <= lo * (1 + NOISY_RATIO_RANGE):
        return ""
    spreads = ", ".join(f"{impl} {100 * v:.0f}%" for impl, v in spread.items())
    return f"noisy timings (spread {spreads}; ratio per round {lo:.2f}..{hi:.2f})"


def _warm_up(fn):
    """Run ``fn()`` once, recording warnings; return ``(result, seconds, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - start
    return out, elapsed, sorted({f"{w.category.__name__}: {w.message}" for w in caught})


class FitFailed(Exception):
    """A workload could not be run by one implementation (message names which)."""


def run_single_fit(workload, modules, config):
    """Measure one :class:`SingleFit` workload with every implementation.

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
            calls[impl] = workload.make_call(fits[impl])
            out, first[impl], caught = _warm_up(calls[impl])
            outcomes[impl] = FitOutcome.from_full_output(out)
        except Exception as exc:
            raise FitFailed(f"{impl}: {type(exc).__name__}: {exc}") from exc
        res.warnings += [f"{impl}: {w}" for w in caught]
    res.same, res.xdiff, problems = compare(outcomes["lmfast"], outcomes["scipy"])
    res.note = "; ".join(problems)
    for impl, oc in outcomes.items():
        res.ier[impl], res.nfev[impl], res.x[impl] = oc.ier, oc.nfev, oc.x.tolist()
    return calls, first


def _time_single_fit(calls, first, config, res):
    """Calibrate, time in interleaved rounds and store times, spread and notes in ``res``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning machinery must not be timed
        for impl in IMPLEMENTATIONS:
            res.number[impl] = calibrate(calls[impl], config.min_time, first[impl])
        res.times = interleaved_times(calls, res.number, config.rounds)
    res.seconds = {impl: statistics.median(t) for impl, t in res.times.items()}
    res.spread = {impl: relative_spread(t) for impl, t in res.times.items()}
    pairs = zip(res.times["lmfast"], res.times["scipy"], strict=True)
    res.round_ratios = [sp / lm for lm, sp in pairs]
    res.note = "; ".join(filter(None, [res.note, noise_note(res.spread, res.round_ratios)]))


#: kind -> function(workload, modules, config) returning a result object.
RUNNERS = {"single": run_single_fit}


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _mu():
    """``"µ"`` if stdout can encode it, else ``"u"``."""
    try:
        "µ".encode(sys.stdout.encoding or "ascii")
        return "µ"
    except (UnicodeEncodeError, LookupError):
        return "u"


def _fmt_us(seconds):
    """Seconds as microseconds with at least three significant digits."""
    us = seconds * 1e6
    return f"{us:.2f}" if us < 100 else f"{us:.1f}" if us < 10_000 else f"{us:.0f}"


class SingleFitTable:
    """Fixed-width table of :class:`SingleFitResult` rows, printed row by row."""

    def __init__(self, name_width=16):
        mu = _mu()
        self.columns = [
            ("workload", max(name_width, 8), "<"),
            ("m", 6, ">"),
            ("n", 3, ">"),
            (f"lmfast {mu}s/fit", 15, ">"),
            (f"SciPy {mu}s/fit", 14, ">"),
            ("ratio", 7, ">"),
            ("nfev lm/sp", 11, ">"),
            ("ier lm/sp", 9, ">"),
            ("same", 4, "<"),
        ]

    def _line(self, cells):
        return "  ".join(
            f"{c:{a}{w}}" for c, (_, w, a) in zip(cells, self.columns, strict=True)
        ).rstrip()

    def header(self):
        """Title line and rule."""
        line = self._line([c[0] for c in self.columns])
        return line + "\n" + "-" * len(line)

    def row(self, r):
        """One line for a result (skipped and failed rows show their status)."""
        if r.status != "ok":
            return self._line([r.name, r.m, r.n, r.status, "", "", "", "", ""])
        return self._line(
            [
                r.name,
                r.m,
                r.n,
                _fmt_us(r.seconds["lmfast"]),
                _fmt_us(r.seconds["scipy"]),
                f"{r.ratio:.2f}",
                f"{r.nfev['lmfast']}/{r.nfev['scipy']}",
                f"{r.ier['lmfast']}/{r.ier['scipy']}",
                "yes" if r.same else "NO",
            ]
        )

    @staticmethod
    def notes(results):
        """Note lines for skipped, failed and mismatching rows, and caught warnings."""
        lines = []
        for r in results:
            if r.note:
                lines.append(f"note: {r.name}: {r.note}")
            lines += [f"note: {r.name}: warning from {w}" for w in r.warnings]
        return lines

    footer = (
        "ratio = SciPy time / lmfast time per fit: higher is better, > 1 means lmfast is faster.\n"
        "Times are medians over the rounds; each round times lmfast and SciPy back to back in\n"
        "this process (order alternating), repeating each call for at least the minimum time.\n"
        "same = same ier, same nfev and x equal to 1e-6 relative (calls use full_output=True)."
    )


#: kind -> table class printing results of that kind.
TABLES = {"single": SingleFitTable}


def versions(lmfast_module=None, scipy_module=None):
    """Versions and machine facts for the header and the JSON file.

    Parameters
    ----------
    lmfast_module, scipy_module : module, optional
        The imported packages (versions are ``None`` when not given).

    Returns
    -------
    dict
    """
    lm_version = None
    if lmfast_module is not None:
        lm_version = getattr(lmfast_module, "__version__", None)
        if lm_version is None:
            try:
                from importlib.metadata import version

                lm_version = version("fastminpack")
            except Exception:
                lm_version = "unknown"
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "lmfast": lm_version,
        "lmfast_path": getattr(lmfast_module, "__file__", None),
        "numpy": np.__version__,
        "scipy": getattr(scipy_module, "__version__", None),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
    }


THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_model():
    """CPU model name from ``/proc/cpuinfo`` (Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_header(info, config):
    """Header lines: versions, machine and timing settings."""
    env = " ".join(f"{k}={v}" for k, v in info["env"].items())
    return (
        f"lmfast {info['lmfast']} ({info['lmfast_path']})\n"
        f"numpy {info['numpy']}, scipy {info['scipy']}, Python {info['python']}, "
        f"{info['cpu_count']} CPUs ({info['cpu_usable']} usable), {info['cpu']}"
        + (f"\n{env}" if env else "")
        + f"\n{config.rounds} rounds, each timing >= {config.min_time * 1e3:g} ms\n"
    )


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def parse_args(argv=None):
    """Parse the command line of ``python -m lmfast.bench``."""
    p = argparse.ArgumentParser(
        prog="python -m lmfast.bench",
        description="Time lmfast against scipy.optimize on a few fits (same process, interleaved).",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROUNDS} rounds and shorter timings, for a quick look",
    )
    p.add_argument(
        "--only",
        metavar="PATTERN[,PATTERN]",
        help="run workloads whose name contains PATTERN (or matches it as a glob)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        metavar="N",
        help=f"interleaved rounds (default {DEFAULT_ROUNDS}, --quick {QUICK_ROUNDS})",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = p.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def list_workloads(workloads):
    """Print one line per workload for ``--list``."""
    for w in workloads:
        print(f"{w.name:<16}  {w.kind:<6}  {w.api:<9}  m={w.m:<6} n={w.n:<3}  {w.description}")


def run_all(workloads, modules, config, out=sys.stdout):
    """Run workloads, printing each kind's table row by row.

    Returns
    -------
    list
        Result objects, in workload order.
    """
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


def write_json(path, info, config, results):
    """Write header facts, settings and results to ``path``."""
    doc = {
        "versions": info,
        "config": dataclasses.asdict(config),
        "results": [r.to_json() for r in results],
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")


def main(argv=None):
    """Entry point of ``python -m lmfast.bench``.

    Returns
    -------
    int
        0 on success, 1 if SciPy is missing or a workload raised, 2 for bad arguments.
    """
    args = parse_args(argv)
    workloads = select_workloads(default_workloads(), args.only)
    if args.list:
        list_workloads(workloads)
        return 0
    if not workloads:
        print(f"no workload matches --only {args.only!r} (see --list)", file=sys.stderr)
        return 2
    try:
        import scipy
        import scipy.optimize
    except ImportError:
        print(SCIPY_MISSING, file=sys.stderr)
        return 1
    import lmfast

    config = BenchConfig(
        rounds=args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS),
        min_time=QUICK_MIN_TIME if args.quick else DEFAULT_MIN_TIME,
    )
    info = versions(lmfast, scipy)
    print(format_header(info, config), flush=True)
    results = run_all(workloads, {"lmfast": lmfast, "scipy": scipy.optimize}, config)
    if args.json:
        write_json(args.json, info, config, results)
        print(f"results written to {args.json}")
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
