"""lmfast.dask.curve_fit_batch: lazy, one task per chunk, each fit bit for bit the local
batch's (which test_batch_* check against SciPy and lmfast.curve_fit), on Dask's threads
and on a LocalCluster of worker processes, a worker killed in the middle included."""

import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="dask[array] is not installed (the 'dask' extra)")
dask = pytest.importorskip("dask")
import scipy.optimize
from batch_helpers import np_gaussian

import lmfast
import lmfast.dask
from lmfast import lineshapes, models

FIELDS = ("popt", "pcov", "chisq", "ier", "nfev", "njev")


def gaussian_data(n_fits, m=48, seed=0):
    """Noisy Gaussians on x = linspace(0, 10, m) and perturbed starts, (N, 4) each."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, m)
    truth = np.column_stack([rng.uniform(2, 8, n_fits), rng.uniform(4, 6, n_fits),
                             rng.uniform(0.6, 1.2, n_fits), rng.uniform(-0.3, 0.3, n_fits)])
    y = np_gaussian(x, *truth.T[:, :, None]) + rng.normal(0, 0.05, (n_fits, m))
    p0 = truth * rng.uniform(0.8, 1.2, truth.shape)
    return x, y, p0


def assert_same_fits(result, reference):
    """Every array of two BatchResults equal bit for bit (NaN where NaN)."""
    assert len(result) == len(reference)
    for name in FIELDS:
        got, want = getattr(result, name), getattr(reference, name)
        assert got.dtype == want.dtype, name
        assert np.array_equal(got, want, equal_nan=True), name


@pytest.fixture(autouse=True)
def threaded_scheduler():
    """Dask's local threads unless a test sets up a cluster."""
    with dask.config.set(scheduler="threads"):
        yield


# --------------------------------------------------------------------------------------
# Local schedulers
# --------------------------------------------------------------------------------------


def test_chunked_batch_is_the_local_batch_bit_for_bit():
    x, y, p0 = gaussian_data(1000)
    reference = lmfast.curve_fit_batch(models.gaussian, x, y, p0)
    # the local batch itself is SciPy's answer on these fits
    for i in (0, 500, 999):
        popt = scipy.optimize.curve_fit(np_gaussian, x, y[i], p0[i])[0]
        np.testing.assert_allclose(reference.popt[i], popt, rtol=1e-6)
    ydata = da.from_array(y, chunks=(137, 16))  # uneven fits, points split (rechunked)
    p0_dask = da.from_array(p0, chunks=(300, 4))  # other chunks than ydata
    res = lmfast.dask.curve_fit_batch(models.gaussian, x, ydata, p0_dask)
    assert isinstance(res.popt, da.Array) and res.popt.shape == (1000, 4)
    assert res.records.chunks == ydata.chunks[:1]
    assert_same_fits(res.compute(), reference)
    popt, perr, success = dask.compute(res.popt, res.perr, res.success)
    assert np.array_equal(popt, reference.popt)
    assert np.array_equal(perr, reference.perr)
    assert np.array_equal(success, reference.success)


def test_numpy_ydata_per_fit_sigma_bounds_and_python_model():
    x, y, p0 = gaussian_data(300)
    sigma = np.random.default_rng(1).uniform(0.5, 2.0, y.shape)
    lower = np.tile([0.0, 0.0, 0.1, -1.0], (300, 1))
    upper = np.full(4, 20.0)
    kwargs = {"bounds": (lower, upper), "absolute_sigma": True}
    for f in (models.gaussian, np_gaussian):
        reference = lmfast.curve_fit_batch(f, x, y, p0, sigma, **kwargs)
        res = lmfast.dask.curve_fit_batch(
            f, x, da.from_array(y, chunks=(64, -1)), p0, da.from_array(sigma, chunks=50),
            bounds=(da.from_array(lower, chunks=(70, 4)), upper), absolute_sigma=True)
        assert_same_fits(res.compute(), reference)
    res = lmfast.dask.curve_fit_batch(models.gaussian, x, y, p0)  # NumPy ydata
    assert_same_fits(res.compute(), lmfast.curve_fit_batch(models.gaussian, x, y, p0))


def test_2d_model_with_per_fit_coordinates_and_fixed_parameters():
    rng = np.random.default_rng(3)
    n_fits, side = 90, 6
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side))).reshape(2, -1) * 1.0
    xy = grid[np.newaxis] + rng.uniform(-0.2, 0.2, (n_fits, 1, 1))  # (N, 2, m)
    truth = np.column_stack([rng.uniform(5, 9, n_fits), rng.uniform(2, 3, n_fits),
                             rng.uniform(2, 3, n_fits), rng.uniform(1, 1.5, n_fits),
                             np.full(n_fits, 0.5)])
    y = models.gaussian_2d(xy.transpose(1, 0, 2), *truth.T[:, :, None])
    y += rng.normal(0, 0.02, y.shape)
    p0 = truth * 1.1
    p0[:, 4] = 0.5
    reference = lmfast.curve_fit_batch(models.gaussian_2d, xy, y, p0, fixed=["offset"])
    res = lmfast.dask.curve_fit_batch(models.gaussian_2d, da.from_array(xy, chunks=(25, 2, 36)),
                                      da.from_array(y, chunks=(40, 36)), p0, fixed=["offset"])
    assert_same_fits(res.compute(), reference)


def test_each_chunk_is_fitted_once_and_only_when_computed(monkeypatch):
    calls = []
    block = lmfast.dask._batch_block

    def counted(*args, **kwargs):
        calls.append(args[0].shape[0])
        return block(*args, **kwargs)

    monkeypatch.setattr(lmfast.dask, "_batch_block", counted)
    x, y, p0 = gaussian_data(100)
    res = lmfast.dask.curve_fit_batch(models.gaussian, x, da.from_array(y, chunks=30), p0)
    assert calls == []  # lazy
    dask.compute(res.popt, res.pcov, res.chisq, res.ier, res.nfev, res.njev)
    assert sorted(calls) == [10, 30, 30, 30]
    calls.clear()
    res.compute()
    assert sorted(calls) == [10, 30, 30, 30]


def wait_until_idle(is_busy, quiet=1.0, timeout=60.0):
    """Wait until is_busy() has stayed False for ``quiet`` seconds (or the timeout)."""
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        if is_busy():
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= quiet:
            return True
        time.sleep(0.01)
    return False


def test_ctrl_c_in_compute_stops_the_chunks_running_here(monkeypatch, ctrl_c):
    # 2 chunks of 20 slices of 10 fits, each slice ~0.3 s: Ctrl-C (a SIGINT sent by a
    # timer; Dask's scheduler waits in a blocking queue.get, which only a real signal
    # interrupts) after 0.3 s must leave most slices unfitted; no duration asserted.
    slices, running = [], []
    batch = lmfast._batch.curve_fit_batch

    def counted(f, *args, **kwargs):
        if f is not slow_gaussian:
            return batch(f, *args, **kwargs)
        running.append(1)
        try:
            slices.append(1)
            return batch(f, *args, **kwargs)
        finally:
            running.pop()

    monkeypatch.setattr(lmfast._batch, "curve_fit_batch", counted)
    x, y, p0 = gaussian_data(400)
    with dask.config.set({"lmfast.slice-fits": 10}):
        res = lmfast.dask.curve_fit_batch(slow_gaussian, x, da.from_array(y, chunks=200), p0)
    slices.clear()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            res.compute()
    finally:
        timer.cancel()
        timer.join()
    assert wait_until_idle(lambda: bool(running))
    assert 0 < len(slices) < 40


def test_ctrl_c_stops_the_xarray_accessors_chunks_running_here(monkeypatch, ctrl_c):
    # As above, through xarray's own compute() of a Dask-backed DataArray: lmfast's
    # Dask callback sees the KeyboardInterrupt, the running tasks stop at their next slice.
    xr = pytest.importorskip("xarray")
    import lmfast.xarray  # noqa: F401  (registers the accessor)

    slices, running = [], []
    batch = lmfast._batch.curve_fit_batch

    def counted(f, *args, **kwargs):
        running.append(1)
        try:
            slices.append(1)
            return batch(f, *args, **kwargs)
        finally:
            running.pop()

    x, y, p0 = gaussian_data(400)
    cube = xr.DataArray(da.from_array(y, chunks=(200, -1)), dims=("pixel", "t"),
                        coords={"t": x})
    names = ["amplitude", "center", "sigma", "offset"]
    with dask.config.set({"lmfast.slice-fits": 10}):
        lazy = cube.lmfast.curvefit("t", slow_gaussian, p0=dict(zip(names, p0[0])))
    monkeypatch.setattr(lmfast._batch, "curve_fit_batch", counted)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            lazy.compute(scheduler="threads")
    finally:
        timer.cancel()
        timer.join()
    assert wait_until_idle(lambda: bool(running))
    assert 0 < len(slices) < 40


def test_default_threads_per_task():
    assert lmfast.dask.block_threads(3) == 3
    assert lmfast.dask.block_threads(None) == 1  # not on a distributed worker


def test_empty_chunks_and_an_empty_batch():
    x, y, p0 = gaussian_data(5)
    ydata = da.from_array(y, chunks=((0, 5, 0), (48,)))
    assert_same_fits(lmfast.dask.curve_fit_batch(models.gaussian, x, ydata, p0).compute(),
                     lmfast.curve_fit_batch(models.gaussian, x, y, p0))
    empty = lmfast.dask.curve_fit_batch(models.gaussian, x, da.zeros((0, 48)), p0[0]).compute()
    assert len(empty) == 0 and empty.popt.shape == (0, 4)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(models.gaussian, x, y, p0[:, :3]),
     ValueError, "p0 has 3 parameters but the model gaussian takes 4"),
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(models.gaussian, x, y[:, :, None], p0),
     ValueError, "ydata must be 2-D"),
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(models.gaussian, x, y * 1j, p0),
     TypeError, "ydata must hold real numbers"),
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(models.gaussian, x[:-1], y, p0),
     ValueError, "xdata must end with the M=48 points of ydata"),
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(models.gaussian, x, y, p0[:-1]),
     ValueError, r"p0 must have shape \(n,\) or \(N, n\) = \(40, n\); got \(39, 4\)"),
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(np_gaussian, np.tile(x, (40, 1)), y, p0),
     ValueError, "pass x_dims=1"),
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(models.gaussian, x, y, p0, ftol=-1),
     ValueError, "ftol must be a number >= 0"),
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(models.gaussian, x, y[:, :3], p0),
     ValueError, "xdata must end with the M=3 points of ydata"),
    (lambda x, y, p0: lmfast.dask.curve_fit_batch(models.gaussian, x, y, p0, progress=True),
     ValueError, "Dask's progress bars"),
])
def test_batch_mistakes_raise_at_the_call(call, error, match):
    x, y, p0 = gaussian_data(40)
    with pytest.raises(error, match=match):
        call(x, da.from_array(y, chunks=10), p0)


def test_a_python_model_error_propagates_when_computed():
    def broken(x, a, c, s, o):
        raise ZeroDivisionError("model says no")

    x, y, p0 = gaussian_data(20)
    res = lmfast.dask.curve_fit_batch(broken, x, da.from_array(y, chunks=10), p0)
    with pytest.raises(ZeroDivisionError, match="model says no"):
        res.compute()


def test_from_cfunc_model_fails_early_on_a_process_scheduler():
    f, jac = lmfast._models._capsules("gaussian")
    raw = models.from_cfunc("my_gaussian", models.gaussian.param_names, f, jac)
    x, y, p0 = gaussian_data(20)
    ydata = da.from_array(y, chunks=10)
    assert_same_fits(lmfast.dask.curve_fit_batch(raw, x, ydata, p0).compute(),
                     lmfast.curve_fit_batch(models.gaussian, x, y, p0))  # threads: fine
    with dask.config.set(scheduler="processes"), \
            pytest.raises(TypeError, match="f cannot be sent.*from_factory"):
        lmfast.dask.curve_fit_batch(raw, x, ydata, p0)


def test_persist_keeps_the_records():
    x, y, p0 = gaussian_data(50)
    res = lmfast.dask.curve_fit_batch(models.gaussian, x, da.from_array(y, chunks=20), p0)
    kept = res.persist()
    assert len(kept.records.dask) == len(kept.records.chunks[0])  # no fit task left
    assert_same_fits(kept.compute(), lmfast.curve_fit_batch(models.gaussian, x, y, p0))
    assert "50 fits in 3 chunks" in repr(res)


# --------------------------------------------------------------------------------------
# A LocalCluster of two single-thread worker processes
# --------------------------------------------------------------------------------------


def gaussian_factory():
    """A from_cfunc model built in each process (the gaussian's own C functions)."""
    f, jac = lmfast._models._capsules("gaussian")
    return models.from_cfunc("gaussian_c", models.gaussian.param_names, f, jac)


def slow_gaussian(x, amplitude, center, sigma, offset):
    """np_gaussian taking 20 ms a call, so that chunks are still running when a worker is
    killed."""
    time.sleep(0.02)
    return np_gaussian(x, amplitude, center, sigma, offset)


class CountingGaussian:
    """np_gaussian appending a byte to a file at each call (from any process), taking
    ``delay`` seconds a call."""

    def __init__(self, path, delay=0.01):
        self.path = path
        self.delay = delay

    def __call__(self, x, amplitude, center, sigma, offset):
        with open(self.path, "a", encoding="ascii") as fh:
            fh.write(".")
        time.sleep(self.delay)
        return np_gaussian(x, amplitude, center, sigma, offset)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed", reason="distributed is not installed "
                                      "(the 'dask' extra)")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def on_cluster(client, threaded_scheduler):
    with dask.config.set(scheduler=client.get):
        yield client


def test_default_threads_on_a_worker_are_its_threads(client):
    distributed = pytest.importorskip("distributed")
    assert client.submit(lmfast.dask.block_threads, None, pure=False).result() == 1
    with distributed.LocalCluster(n_workers=1, threads_per_worker=3, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as threaded:
        assert threaded.submit(lmfast.dask.block_threads, None).result() == 3
        assert threaded.submit(lmfast.dask.block_threads, 2).result() == 2


def test_cluster_fits_built_in_composite_and_factory_models_like_the_local_batch(on_cluster):
    x, y, p0 = gaussian_data(600)
    ydata = da.from_array(y, chunks=(100, -1))
    res = lmfast.dask.curve_fit_batch(models.gaussian, x, ydata, p0)
    assert_same_fits(res.compute(), lmfast.curve_fit_batch(models.gaussian, x, y, p0))
    # a composite of a lineshape and a prefixed baseline, with bounds
    peak = lineshapes.model("gaussian") + lineshapes.model("constant", prefix="b_")
    start = np.column_stack([p0[:, 0] * 2.5, p0[:, 1], p0[:, 2], p0[:, 3]])
    bounds = ([0, 0, 0.1, -1], [100, 10, 5, 1])
    res = lmfast.dask.curve_fit_batch(peak, x, ydata, start, bounds=bounds)
    assert_same_fits(res.compute(), lmfast.curve_fit_batch(peak, x, y, start, bounds=bounds))
    factory_made = models.from_factory(gaussian_factory)
    res = lmfast.dask.curve_fit_batch(factory_made, x, ydata, p0)
    assert_same_fits(res.compute(), lmfast.curve_fit_batch(models.gaussian, x, y, p0))


def test_cluster_refuses_a_from_cfunc_model_at_the_call(on_cluster):
    raw = gaussian_factory()
    x, y, p0 = gaussian_data(10)
    with pytest.raises(TypeError, match=r"f cannot be sent.*C functions.*from_factory"):
        lmfast.dask.curve_fit_batch(raw, x, da.from_array(y, chunks=5), p0)
    with pytest.raises(TypeError, match="from_factory"):
        pickle.dumps(raw)


def test_a_worker_killed_mid_computation_costs_only_recomputation(on_cluster):
    client = on_cluster
    x, y, p0 = gaussian_data(240, m=32)
    res = lmfast.dask.curve_fit_batch(slow_gaussian, x, da.from_array(y, chunks=(30, -1)), p0)
    future = client.compute(res.records)
    deadline = time.monotonic() + 60
    while not all(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.01)  # until both workers run a chunk
    time.sleep(0.2)
    before = client.run(os.getpid)
    busy = [w for w, tasks in client.processing().items() if tasks]
    assert busy, "no chunk was running"
    os.kill(before[busy[0]], signal.SIGKILL)
    records = future.result(timeout=120)
    after = client.run(os.getpid)
    assert before[busy[0]] not in after.values()  # that process is gone
    result = lmfast.dask.batch_result_of(records, None)
    assert_same_fits(result, lmfast.curve_fit_batch(np_gaussian, x, y, p0))


def test_client_cancel_stops_running_chunks(on_cluster, tmp_path):
    client = on_cluster
    path = tmp_path / "calls"
    path.write_text("")
    x, y, p0 = gaussian_data(400, m=32)
    # model calls of the whole computation, slice by slice (10 fits)
    counting = CountingGaussian(str(tmp_path / "local"), delay=0.0)
    for start in range(0, 400, 10):
        lmfast.curve_fit_batch(counting, x, y[start:start + 10], p0[start:start + 10])
    calls_of_all = len((tmp_path / "local").read_text())
    # Two chunks, one per worker: without cancellation both would run to their end.
    with dask.config.set({"lmfast.slice-fits": 10}):
        res = lmfast.dask.curve_fit_batch(CountingGaussian(str(path)), x,
                                          da.from_array(y, chunks=(200, -1)), p0)
    future = client.compute(res.records)
    deadline = time.monotonic() + 60
    while not all(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    client.cancel(future)
    assert wait_until_idle(lambda: any(client.processing().values()))
    sizes = [len(path.read_text())]
    assert wait_until_idle(lambda: sizes.append(len(path.read_text())) or
                           sizes[-1] != sizes[-2])  # no model call any more
    assert 0 < sizes[-1] < calls_of_all / 2


def test_docstring_example():
    import doctest

    failures, tried = doctest.testmod(lmfast.dask, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


def test_user_guide_dask_example_runs():
    import pathlib
    import re

    guide = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "user_guide"
             / "dask_xarray.md")
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), re.DOTALL)
    code = next(b for b in blocks if "lmfast.dask.curve_fit_batch(models.gaussian" in b)
    namespace = {}
    exec(compile(code, "dask_xarray.md", "exec"), namespace)  # noqa: S102 - the guide's example
    out, truth = namespace["out"], namespace["truth"]
    assert isinstance(out, lmfast.BatchResult) and out.success.all()
    np.testing.assert_allclose(out.popt, truth, rtol=1e-6)  # noiseless data


def test_xarray_accessor_on_the_cluster_gives_the_numpy_backed_dataset(on_cluster):
    xr = pytest.importorskip("xarray", reason="xarray is not installed")
    import lmfast.xarray  # noqa: F401  (registers the accessor)

    x, y, p0 = gaussian_data(60, m=40)
    cube = xr.DataArray(y.reshape(6, 10, 40), dims=("a", "b", "t"), coords={"t": x})
    cube[2, 3, ::5] = np.nan
    peak = lineshapes.model("gaussian") + lineshapes.model("constant")  # a composite
    area = xr.DataArray(2.5 * p0[:, 0].reshape(6, 10), dims=("a", "b"))
    start = {"amplitude": area, "center": 5.0, "sigma": 1.0, "c": 0.0}
    expected = cube.lmfast.curvefit("t", peak, p0=start)
    lazy = cube.chunk({"a": 2, "b": 5}).lmfast.curvefit("t", peak, p0=start)
    xr.testing.assert_identical(lazy.compute(), expected)
    assert (expected.curvefit_ier > 0).all() and (expected.curvefit_ier <= 4).all()


def test_robust_loss_and_at_bound_travel_with_the_chunks():
    """loss= and f_scale= reach every chunk: the chunked batch is the local robust
    batch bit for bit (at_bound too), and that batch is at SciPy trf's minimum with the
    same loss."""
    x, y, p0 = gaussian_data(60, seed=3)
    y[:, ::9] += 3.0  # spikes
    bounds = ([0, 0, 0.1, -0.3], [10, 10, 3, 0.3])
    kw = {"loss": "soft_l1", "f_scale": 0.1, "bounds": bounds, "ftol": 1e-12, "xtol": 1e-12}
    reference = lmfast.curve_fit_batch(models.gaussian, x, y, p0, **kw)
    res = lmfast.dask.curve_fit_batch(models.gaussian, x, da.from_array(y, chunks=(25, 48)),
                                      p0, **kw).compute()
    assert_same_fits(res, reference)
    assert np.array_equal(res.at_bound, reference.at_bound)
    for i in (0, 31):
        ref = scipy.optimize.least_squares(
            lambda p, i=i: np_gaussian(x, *p) - y[i], reference.popt[i], method="trf",
            bounds=bounds, loss="soft_l1", f_scale=0.1, ftol=1e-12, xtol=1e-12, gtol=1e-12)
        np.testing.assert_allclose(reference.popt[i], ref.x, rtol=1e-5, atol=1e-7)
