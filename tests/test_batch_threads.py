"""curve_fit_batch and threads: the progress bar, the GIL, Ctrl-C, helper threads.

The progress bar (tqdm, or a warning when tqdm is missing) changes no result and
reaches N/N; a compiled batch releases the GIL while it fits (another Python thread
sees it part-way done); Ctrl-C stops a compiled batch, leaves no thread running and the
next batch works; a Python model run on helper threads raises there as in the caller
(the exception reaches the caller unchanged) and sees the caller's ``np.errstate``. No
duration is asserted.
"""

import _thread
import sys
import threading
import warnings

import numpy as np
import pytest
from batch_helpers import (
    PROBLEMS,
    assert_bitwise,
    check_against_singles,
    make_batch,
    np_gaussian,
    py_gaussian,
)

import lmfast
from lmfast import curve_fit_batch, models

# --------------------------------------------------------------------------------------
# Progress bar
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_progress_with_tqdm(path, capsys):
    pytest.importorskip("tqdm")
    batch = make_batch(PROBLEMS["gaussian"], 12, seed=71)
    f = models.gaussian if path == "compiled" else py_gaussian
    plain = curve_fit_batch(f, *batch.args())
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when tqdm is there
        shown = curve_fit_batch(f, *batch.args(), progress=True, chunk_size=2)
    err = capsys.readouterr().err
    assert "12/12" in err, err  # a bar was drawn on stderr, and it reached every fit
    assert_bitwise(plain, shown)


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_progress_without_tqdm(path, monkeypatch):
    for name in [k for k in sys.modules if k == "tqdm" or k.startswith("tqdm.")] + [
        "tqdm",
        "tqdm.auto",
        "tqdm.std",
        "tqdm.autonotebook",
    ]:
        monkeypatch.setitem(sys.modules, name, None)  # `import tqdm` raises ImportError
    with pytest.raises(ImportError):
        import tqdm  # noqa: F401
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=72)
    f = models.gaussian if path == "compiled" else py_gaussian
    with pytest.warns(UserWarning, match="pip install tqdm"):
        res = curve_fit_batch(f, *batch.args(), progress=True)
    assert_bitwise(res, curve_fit_batch(f, *batch.args()))
    single_jac = models.gaussian.jac if path == "compiled" else None
    check_against_singles(f, batch, res, single_jac=single_jac, njev=path == "compiled")


# --------------------------------------------------------------------------------------
# Threads: the GIL, Ctrl-C
# --------------------------------------------------------------------------------------


def _large_gaussian_batch(n_fits, m, seed):
    rng = np.random.default_rng(seed)
    x = np.linspace(-5, 5, m)
    truths = np.array([3.0, 0.4, 1.2, 0.5]) * (1 + 0.1 * rng.uniform(-1, 1, (n_fits, 4)))
    y = np_gaussian(x, *truths.T[:, :, None]) + 0.03 * rng.standard_normal((n_fits, m))
    p0 = truths * (1 + 0.1 * rng.uniform(-1, 1, (n_fits, 4)))
    return x, y, p0


def test_gil_released_during_compiled_batch(monkeypatch):
    # A Python thread watches the count of finished fits while a compiled batch runs on
    # its worker threads. The switch interval is made far longer than the batch, so the
    # watcher gets the GIL during the fitting only if the workers release it: only then
    # can it see the batch part-way done (0 < done < N). No timing is asserted.
    x, y, p0 = _large_gaussian_batch(4000, 200, seed=101)
    curve_fit_batch(models.gaussian, x, y[:2], p0[:2])  # warm up (imports, first calls)
    batches = []
    run_compiled = lmfast._batch._run_compiled

    def spy(batch, *args):
        batches.append(batch)
        return run_compiled(batch, *args)

    monkeypatch.setattr(lmfast._batch, "_run_compiled", spy)
    seen = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            if batches:
                seen.add(batches[0].done)
            threading.Event().wait(1e-5)  # really blocks: lets the main thread back in

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    watcher = threading.Thread(target=watch, daemon=True)
    try:
        watcher.start()
        res = curve_fit_batch(models.gaussian, x, y, p0, threads=2)
    finally:
        stop.set()
        watcher.join()
        sys.setswitchinterval(old)
    assert np.all(res.success)
    assert any(0 < done < len(y) for done in seen), sorted(seen)


class _InterruptingBar:
    """A progress bar whose first update (the calling thread's first poll while the
    workers fit) simulates Ctrl-C: the interrupt lands while the batch runs, however fast
    or loaded the machine."""

    def __init__(self):
        self.n = 0
        self.interrupted = False

    def update(self, k):
        self.n += k
        if not self.interrupted:
            self.interrupted = True
            _thread.interrupt_main()

    def close(self):
        pass


def test_keyboard_interrupt_stops_compiled_batch(monkeypatch, ctrl_c):
    # Ctrl-C (simulated with _thread.interrupt_main from the progress poll of the calling
    # thread) stops a compiled batch, raising KeyboardInterrupt in the caller; the next
    # batch then works.  (A timer could fire after the batch on a fast or busy machine.)
    x, y, p0 = _large_gaussian_batch(40000, 300, seed=102)  # ~0.6 s with 2 threads here
    bar = _InterruptingBar()
    monkeypatch.setattr(lmfast._batch, "_progress_bar", lambda progress, total: bar)
    n_threads = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        curve_fit_batch(models.gaussian, x, y, p0, threads=2, ftol=0.0, xtol=0.0,
                        maxfev=2000)
    assert bar.interrupted and 0 <= bar.n < len(y)
    monkeypatch.undo()
    assert threading.active_count() == n_threads, [
        (t.name, t.daemon) for t in threading.enumerate()]
    batch = make_batch(PROBLEMS["gaussian"], 3, seed=103)
    res = curve_fit_batch(models.gaussian, *batch.args(), threads=2)
    check_against_singles(models.gaussian, batch, res, single_jac=models.gaussian.jac)


# --------------------------------------------------------------------------------------
# Python models on helper threads
# --------------------------------------------------------------------------------------


def test_exception_in_a_helper_thread_propagates_unchanged():
    # With several groups and threads, a Python model also runs on helper threads: an
    # exception raised there reaches the caller as is, and no thread is left running.
    class Boom(Exception):
        pass

    raised = Boom("from a helper thread")
    helper_called = threading.Event()
    main_calls = []

    def model(x, a, c, s, o):
        if threading.current_thread() is not threading.main_thread():
            helper_called.set()
            raise raised
        main_calls.append(1)
        if len(main_calls) > 1:  # after the probe: make sure a helper takes a group
            helper_called.wait(10)
        return py_gaussian(x, a, c, s, o)

    x = np.linspace(-3, 3, 40)
    y = np.asarray(models.gaussian(x, np.linspace(1, 2, 400)[:, None], 0.1, 0.8, 0.3))
    before = threading.active_count()
    with pytest.raises(Boom) as info:
        curve_fit_batch(model, x, y, [1.5, 0.0, 1.0, 0.0], threads=2, chunk_size=20)
    assert info.value is raised
    assert threading.active_count() == before


def test_callers_errstate_holds_in_helper_threads():
    # Helper threads run in a copy of the caller's context: np.errstate(divide="raise")
    # around the call makes a division by zero in the model raise there too.
    helper_called = threading.Event()
    main_calls = []

    def model(x, a, c, s, o):
        if threading.current_thread() is not threading.main_thread():
            helper_called.set()
            np.ones(1) / np.zeros(1)
        else:
            main_calls.append(1)
            if len(main_calls) > 1:
                helper_called.wait(10)
        return py_gaussian(x, a, c, s, o)

    x = np.linspace(-3, 3, 40)
    y = np.asarray(models.gaussian(x, np.linspace(1, 2, 400)[:, None], 0.1, 0.8, 0.3))
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        curve_fit_batch(model, x, y, [1.5, 0.0, 1.0, 0.0], threads=2, chunk_size=20)
