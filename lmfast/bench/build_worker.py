"""Worker of ``bench/ab_builds.py``: times ``curve_fit_batch`` of one build of lmfast.

Two builds of lmfast cannot be imported in one process, so the A/B script starts one of
these per build, with ``PYTHONPATH`` set to that build's checkout, and sends it commands,
one JSON object per line on stdin; every command gets one JSON line on stdout:

``{"cmd": "hello"}``
    ``{"lmfast": <lmfast.__file__>, "version": ...}``: which lmfast this process imported.
``{"cmd": "load", "data": NPZ, "model": NAME, "threads": T, "options": {...}, "out": NPZ}``
    Load ``x``, ``y``, ``p0`` from ``data`` (written by the parent), run
    ``curve_fit_batch(models.NAME, x, y, p0, threads=T, **options)`` once (warm-up) and
    save its ``popt``, ``ier``, ``perr`` and ``chisq`` to ``out`` for the agreement check;
    ``{"seconds": <warm-up>, "n_fits": N, "warnings": [...]}``.
``{"cmd": "time"}``
    One timed call on the loaded row (garbage collector off after a full collection,
    warnings ignored):
    ``{"seconds": ..., "cpu": <CPU seconds of this process during the call>}``.
``{"cmd": "quit"}``
    Exit (no answer).

A command that raises is answered ``{"error": "<type>: <message>"}`` and the worker goes
on. The module imports only the standard library at import time and, when a row is
loaded, NumPy and the public ``lmfast.curve_fit_batch`` and ``lmfast.models``, the API
both builds have: it is run from the parent's checkout (by path, see
:func:`lmfast.bench.builds.worker_command`), never imported from the build under test.
"""

import gc
import json
import resource
import sys
import time
import warnings


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Worker:
    """State of one worker: the loaded row and how to call it."""

    def __init__(self):
        self.call = None

    def hello(self, cmd):
        import lmfast

        return {"lmfast": lmfast.__file__, "version": getattr(lmfast, "__version__", None)}

    def load(self, cmd):
        import numpy as np

        from lmfast import curve_fit_batch, models

        self.call = None  # free the previous row first
        gc.collect()
        with np.load(cmd["data"]) as data:
            x, y, p0 = data["x"], data["y"], data["p0"]
        model = getattr(models, cmd["model"])
        options = dict(cmd.get("options") or {})

        def call():
            return curve_fit_batch(model, x, y, p0, threads=cmd["threads"], **options)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            result = call()
            seconds = time.perf_counter() - start
        np.savez(cmd["out"], popt=np.asarray(result.popt), ier=np.asarray(result.ier),
                 perr=np.asarray(result.perr), chisq=np.asarray(result.chisq))
        del result
        self.call = call
        return {"seconds": seconds, "n_fits": int(y.shape[0]),
                "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught})}

    def time(self, cmd):
        if self.call is None:
            raise RuntimeError("no row loaded")
        gc.collect()
        gc.disable()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the warning machinery must not be timed
                cpu = _cpu_seconds()
                start = time.perf_counter()
                self.call()
                seconds = time.perf_counter() - start
                cpu = _cpu_seconds() - cpu
        finally:
            gc.enable()
        return {"seconds": seconds, "cpu": cpu}


#: The commands answered besides ``quit``.
COMMANDS = ("hello", "load", "time")


def serve(stdin, stdout):
    """Answer commands from ``stdin`` until ``quit`` or end of input."""
    worker = Worker()
    for line in stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            if cmd["cmd"] == "quit":
                break
            if cmd["cmd"] not in COMMANDS:
                raise ValueError(f"unknown command {cmd['cmd']!r}")
            answer = getattr(worker, cmd["cmd"])(cmd)
        except Exception as exc:  # noqa: BLE001  (reported to the parent, which decides)
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


if __name__ == "__main__":
    answers = sys.stdout
    sys.stdout = sys.stderr  # a stray print must not break the protocol
    serve(sys.stdin, answers)
