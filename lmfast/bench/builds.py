"""A/B of two builds of lmfast (``bench/ab_builds.py``): the same batches, interleaved.

Two builds of one package cannot be imported in one process, so each build gets a
persistent worker process (:mod:`lmfast.bench.build_worker`, run with ``PYTHONPATH`` set
to the build's checkout) that answers JSON commands on its stdin. For each row this
process generates the data once with the generators of *its own* ``lmfast.bench`` (so a
base build that lacks them still fits the same numbers), writes them to a temporary
``.npz`` that both workers load, asks each worker for one warm-up fit (whose ``popt``,
``ier``, ``perr`` and ``chisq`` give the agreement), then asks for one timed
``curve_fit_batch`` call per build and round: base then new, the next round new then
base, one process running at a time.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lmfast.bench import build_worker
from lmfast.bench.checks import batch_agreement
from lmfast.bench.results import BuildsResult
from lmfast.bench.timing import busy_note, busy_seconds, noise_note, relative_spread
from lmfast.bench.workloads import batch_workloads, select_workloads

#: The two builds, in the order of the first round.
BUILDS = ("base", "new")
#: Rows of a run without ``--only``.
DEFAULT_ROWS = ("batch-gauss128", "batch-gauss2d-5x5")
#: Runs the worker file given as its argument as ``__main__`` without putting that file's
#: folder (``lmfast/bench``, whose module names could shadow others) on ``sys.path``.
_BOOT = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


class WorkerError(RuntimeError):
    """A worker answered with an error, or died."""


def worker_command(python=sys.executable):
    """The command line of a worker: this checkout's :mod:`build_worker`, run by path."""
    return [python, "-c", _BOOT, build_worker.__file__]


class BuildWorker:
    """A worker process importing the lmfast of one checkout.

    Parameters
    ----------
    label : str
        ``"base"`` or ``"new"`` (error messages).
    path : path-like
        Source checkout with its extensions built in place; the worker's ``PYTHONPATH``
        is exactly this path.
    cwd : path-like
        Working directory of the worker (a temporary one: nothing there is imported).
    python : str, optional
        Interpreter of the worker.
    """

    def __init__(self, label, path, cwd, python=sys.executable):
        self.label, self.path = label, Path(path).resolve()
        env = dict(os.environ, PYTHONPATH=str(self.path))
        self.process = subprocess.Popen(
            worker_command(python), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            bufsize=1, cwd=cwd, env=env,
        )  # fmt: skip

    def request(self, cmd, **fields):
        """Send one command and return its answer (a dict).

        Raises
        ------
        WorkerError
            When the worker answers an error or exits.
        """
        try:
            self.process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerError(f"{self.label} worker: {exc}") from None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait(timeout=30)
            raise WorkerError(f"{self.label} worker exited with code {code} (see its stderr)")
        answer = json.loads(line)
        if "error" in answer:
            raise WorkerError(f"{self.label} build: {answer['error']}")
        return answer

    def hello(self):
        """``{"lmfast": file, "version": ...}`` of the worker's lmfast, checked to be the
        one under ``path``.

        Raises
        ------
        WorkerError
            When lmfast does not import there, or is imported from elsewhere (an
            installed lmfast shadowing a checkout that is not built).
        """
        answer = self.request("hello")
        imported = answer["lmfast"]  # None for a bare folder (a namespace package)
        if imported is None or not Path(imported).resolve().is_relative_to(self.path):
            raise WorkerError(
                f"{self.label}: PYTHONPATH={self.path} imports lmfast from "
                f"{answer['lmfast']}, not from that checkout (is it built in place?)"
            )
        return answer

    def close(self):
        """Ask the worker to quit; kill it if it does not."""
        if self.process.poll() is None:
            try:
                self.process.stdin.write('{"cmd": "quit"}\n')
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()


def alternate(workers, rounds):
    """Time one call per worker and round, the order reversed every other round.

    Parameters
    ----------
    workers : dict of str to worker
        Objects with ``request("time") -> {"seconds", "cpu"}``, in first-round order.
        Each call returns before the next starts: one worker runs at a time.
    rounds : int
        Number of rounds.

    Returns
    -------
    times : dict of str to list of float
        Seconds of each call, one entry per round.
    cpu : float
        CPU seconds the workers reported for those calls, added up.
    """
    labels = list(workers)
    times = {label: [] for label in labels}
    cpu = 0.0
    for r in range(rounds):
        for label in labels if r % 2 == 0 else labels[::-1]:
            answer = workers[label].request("time")
            times[label].append(answer["seconds"])
            cpu += answer.get("cpu", 0.0)
    return times, cpu


def supported_rows():
    """The batch rows a build can run: a ``lmfast.models`` model by name, no composite."""
    return [w for w in batch_workloads()
            if w.kind == "batch" and isinstance(w.model, str) and w.make_model is None]


def choose_rows(only):
    """Rows named by ``--only``: a pattern equal to a row's name selects that row alone,
    any other is matched as by ``python -m lmfast.bench --only`` (substring or glob).
    Without ``only``: :data:`DEFAULT_ROWS`."""
    rows = supported_rows()
    by_name = {w.name: w for w in rows}
    patterns = [p.strip() for p in (only or ",".join(DEFAULT_ROWS)).split(",") if p.strip()]
    chosen = set()
    for p in patterns:
        chosen |= {p} if p in by_name else {w.name for w in select_workloads(rows, p)}
    return [w for w in rows if w.name in chosen]


def _options(workload):
    """The row's extra keyword arguments of ``curve_fit_batch``, as JSON values."""
    options = dict(workload.fit_options or {})
    if workload.bounds is not None:
        options["bounds"] = [np.asarray(b, dtype=float).tolist() for b in workload.bounds]
    return options


def measure_row(workload, workers, n_fits, threads, rounds, tmpdir):
    """Fit one row with both builds: warm-up, agreement, interleaved timings.

    Parameters
    ----------
    workload : BatchFit
        The row (a compiled model by name).
    workers : dict of str to BuildWorker
        ``{"base": ..., "new": ...}``.
    n_fits, threads, rounds : int
        Fits of the batch, ``threads`` of ``curve_fit_batch``, interleaved rounds.
    tmpdir : path-like
        Where the data and the warm-up results are written.

    Returns
    -------
    BuildsResult
        ``status`` is ``"error"`` when a build could not fit the row (its note says why).
    """
    data = workload.make_data(n_fits)
    res = BuildsResult(workload.name, workload.model, data.y.shape[1], data.p0.shape[1],
                       n_fits, threads)
    path = Path(tmpdir) / f"{workload.name}.npz"
    np.savez(path, x=data.x, y=data.y, p0=data.p0)
    del data
    outs = {}
    try:
        for label, worker in workers.items():
            outs[label] = Path(tmpdir) / f"{workload.name}-{label}.npz"
            answer = worker.request("load", data=str(path), model=workload.model,
                                    threads=threads, options=_options(workload),
                                    out=str(outs[label]))
            res.warnings += [f"{label}: {w}" for w in answer.get("warnings", ())]
    except WorkerError as exc:
        res.status, res.note = "error", str(exc)
        return res
    finally:
        path.unlink(missing_ok=True)
    with np.load(outs["new"]) as new, np.load(outs["base"]) as base:
        res.agreement, res.agree = batch_agreement(
            new["popt"], new["ier"], base["popt"], base["ier"], stderr=new["perr"],
            lm_cost=new["chisq"], ref_cost=base["chisq"])
    for out in outs.values():
        out.unlink(missing_ok=True)
    before, start = busy_seconds(), time.perf_counter()
    try:
        res.times, worker_cpu = alternate(workers, rounds)
    except WorkerError as exc:
        res.status, res.note = "error", str(exc)
        return res
    after, wall = busy_seconds(), time.perf_counter() - start
    if before[0] is not None and after[0] is not None:
        others = (after[0] - before[0]) - (after[1] - before[1]) - worker_cpu
        res.other_load = max(0.0, others / wall)
    res.seconds = {label: statistics.median(t) for label, t in res.times.items()}
    res.spread = {label: relative_spread(t) for label, t in res.times.items()}
    res.round_ratios = [b / n for b, n in zip(res.times["base"], res.times["new"], strict=True)]
    res.note = "; ".join(filter(None, [busy_note(res.other_load),
                                       noise_note(res.spread, res.round_ratios)]))
    return res


def start_workers(paths, tmpdir, python=sys.executable):
    """One :class:`BuildWorker` per build, each checked by :meth:`BuildWorker.hello`.

    Returns
    -------
    workers : dict of str to BuildWorker
    hello : dict of str to dict
        What each worker imported.
    """
    workers, hello = {}, {}
    try:
        for label in BUILDS:
            workers[label] = BuildWorker(label, paths[label], tmpdir, python)
            hello[label] = workers[label].hello()
    except BaseException:
        for w in workers.values():
            w.close()
        raise
    return workers, hello


def run_builds(rows, paths, n_fits, threads, rounds, on_start=None, on_row=None):
    """Measure every row with both builds.

    Parameters
    ----------
    rows : sequence of BatchFit
        From :func:`choose_rows`.
    paths : dict of str to path-like
        ``{"base": checkout, "new": checkout}``.
    n_fits : callable
        ``n_fits(workload)``: fits of the row in this run.
    threads, rounds : int
        As in :func:`measure_row`.
    on_start : callable, optional
        Called with ``hello`` (below) once both workers answered.
    on_row : callable, optional
        Called with each result as it is measured (to print it).

    Returns
    -------
    hello : dict of str to dict
        What each worker imported (lmfast's file and version).
    results : list of BuildsResult
    """
    with tempfile.TemporaryDirectory(prefix="lmfast-ab-") as tmpdir:
        workers, hello = start_workers(paths, tmpdir)
        results = []
        try:
            if on_start is not None:
                on_start(hello)
            for w in rows:
                results.append(measure_row(w, workers, n_fits(w), threads, rounds, tmpdir))
                if on_row is not None:
                    on_row(results[-1])
        finally:
            for worker in workers.values():
                worker.close()
    return hello, results
