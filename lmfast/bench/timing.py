"""Timing harness: repeat counts, interleaved rounds, noise and machine-load checks.

Every timing runs with the garbage collector off, after a full collection. Implementations
compared in one row are timed in interleaved rounds whose order reverses every other
round, so neither always runs first (caches, turbo, frequency scaling).
"""

import gc
import math
import os
import statistics
import time
import warnings

#: Upper bound of the inner repeat count.
MAX_NUMBER = 1_000_000
#: A row gets a "noisy timings" note when the round times of an implementation spread more
#: than this (median absolute deviation / median) ...
NOISY_SPREAD = 0.05
#: ... or when the per-round ratios SciPy/lmfast range more than this (max / min - 1).
NOISY_RATIO_RANGE = 0.10
#: Other processes using more CPUs than this during a batch row's timings get a note.
BUSY_CPUS = 0.25


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


def freeze_heap():
    """Leave every object alive now out of later garbage collections (``gc.freeze``).

    :func:`time_calls` runs a full collection before each timing. With SciPy and lmfast
    imported one takes 10-20 ms, more than a short timing itself; the objects made by the
    imports are never garbage, so freezing them makes those collections cheap without
    touching what is timed.
    """
    gc.collect()
    gc.freeze()


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


def timed_rounds(calls, rounds):
    """One call of each callable per round, interleaved, warnings ignored; with the load.

    Parameters
    ----------
    calls : dict of str to callable
        One zero-argument callable per implementation (a whole batch each).
    rounds : int
        Number of rounds.

    Returns
    -------
    times : dict of str to list of float
        Seconds of each call, one entry per round.
    load : float or None
        :func:`other_load` over the rounds.
    """
    before, start = busy_seconds(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's OptimizeWarning must not be timed
        times = interleaved_times(calls, dict.fromkeys(calls, 1), rounds)
    return times, other_load(before, busy_seconds(), time.perf_counter() - start)


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


def busy_seconds():
    """``(busy CPU seconds of the whole machine, CPU seconds of this process)``.

    Machine figures come from ``/proc/stat`` (Linux); ``None`` elsewhere.
    """
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    ours = usage.ru_utime + usage.ru_stime
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None, ours
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), ours


def other_load(before, after, seconds):
    """Average number of CPUs used by other processes between two :func:`busy_seconds`.

    Returns ``None`` when the machine figures are unavailable.
    """
    if before[0] is None or after[0] is None or seconds <= 0:
        return None
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / seconds)


def busy_note(load):
    """Note for a row timed while other processes were busy, or ``""``."""
    if load is None or load < BUSY_CPUS:
        return ""
    return (
        f"other processes used {load:.1f} CPUs during the timings: fits/s and thread "
        "scaling are unreliable"
    )
