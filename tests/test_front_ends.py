"""The three front ends agree on the rules they share, and the defects a new user found
stay fixed.

curve_fit, curve_fit_batch and leastsq read their inputs through one validator: a scalar
sigma is standard deviations everywhere; a compiled model runs compiled in curve_fit
whatever its sigma (a silent detour through its NumPy twin would be a slow path) and a
p0 of the wrong length is an error in both; a shape that can mean two things is never
guessed; a model's own exception is never rewritten.  References are SciPy's fits or
lmfast's fits of the same data written differently, never stored numbers.
"""

import threading

import numpy as np
import pytest
import scipy.optimize
from batch_helpers import py_gaussian

import lmfast
from lmfast import _linalg, _validate, curve_fit, curve_fit_batch, models

RNG = np.random.default_rng(2026)
X = np.linspace(-3.0, 3.0, 40)
TRUTH = np.column_stack([RNG.uniform(1, 3, 6), RNG.uniform(-0.3, 0.3, 6),
                         RNG.uniform(0.6, 1.0, 6), RNG.uniform(0, 0.5, 6)])
Y = models.gaussian(X, *TRUTH.T[:, :, None]) + RNG.normal(0, 0.02, (6, X.size))
P0 = np.array([1.5, 0.0, 0.9, 0.2])


@pytest.fixture
def twin_calls(monkeypatch):
    """Counts calls of the NumPy twin of models.gaussian (the slow path)."""
    calls = []
    func = models.gaussian._func

    def counted(*args):
        calls.append(1)
        return func(*args)

    monkeypatch.setattr(models.gaussian, "_func", counted)
    return calls


COVARIANCE = 0.02**2 * np.exp(-np.abs(np.subtract.outer(X, X)) / 0.3)


@pytest.mark.parametrize("sigma", [0.05, np.full(X.size, 0.05), COVARIANCE],
                         ids=["scalar", "1d", "covariance"])
@pytest.mark.parametrize("use_jac", [False, True])
def test_compiled_model_runs_compiled_with_every_sigma(twin_calls, sigma, use_jac):
    jac = models.gaussian.jac if use_jac else None
    popt, pcov = curve_fit(models.gaussian, X, Y[0], P0, sigma=sigma, jac=jac)
    assert not twin_calls, "curve_fit evaluated the NumPy twin: the slow path"
    # SciPy (fed a 1-D sigma for the scalar, its own scalar-with-jac path being broken)
    sp_sigma = np.full(X.size, sigma) if np.ndim(sigma) == 0 else sigma
    sp_popt, sp_pcov = scipy.optimize.curve_fit(models.gaussian, X, Y[0], P0, sigma=sp_sigma,
                                                jac=jac)
    np.testing.assert_allclose(popt, sp_popt, rtol=1e-7)
    np.testing.assert_allclose(pcov, sp_pcov, rtol=2e-4 if jac is None else 1e-9)


def test_compiled_model_with_wrong_length_p0_raises_in_both():
    for call in (lambda: curve_fit(models.gaussian, X, Y[0], P0[:3]),
                 lambda: curve_fit_batch(models.gaussian, X, Y, P0[:3])):
        with pytest.raises(ValueError, match=r"p0 has 3 parameters.*gaussian takes 4"):
            call()


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_scalar_sigma_in_batch_is_curve_fits_scalar_sigma(path):
    f = models.gaussian if path == "compiled" else py_gaussian
    res = curve_fit_batch(f, X, Y, P0, sigma=0.05, jac=models.gaussian.jac)
    same = curve_fit_batch(f, X, Y, P0, sigma=np.full(X.size, 0.05), jac=models.gaussian.jac)
    for name in ("popt", "pcov", "ier", "nfev"):
        np.testing.assert_array_equal(getattr(res, name), getattr(same, name))
    for i in (0, 3):
        popt, pcov = curve_fit(models.gaussian, X, Y[i], P0, sigma=0.05, jac=models.gaussian.jac)
        np.testing.assert_allclose(res.popt[i], popt, rtol=1e-9)
        np.testing.assert_allclose(res.pcov[i], pcov, rtol=1e-7)


def test_covariance_sigma_in_a_batch_is_refused_clearly():
    with pytest.raises(ValueError, match="covariance"):
        curve_fit_batch(models.gaussian, X, Y[:2], P0, sigma=COVARIANCE)


# --------------------------------------------------------------------------------------
# Messages that name the input to blame
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", [models.gaussian, py_gaussian], ids=["compiled", "python"])
def test_curve_fit_names_zero_sigma_and_nan_ydata(f):
    """By default a non-finite start does what SciPy does (p0 back, infinite pcov,
    OptimizeWarning); raise_nonfinite=True names the input to blame."""
    sigma = np.ones(X.size)
    sigma[5] = 0.0
    y = Y[0].copy()
    y[3] = np.nan
    for kw, blame in (({"sigma": sigma}, "sigma contains zeros"),
                      ({"check_finite": False}, "ydata contains NaN")):
        data = y if "check_finite" in kw else Y[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            with pytest.warns(scipy.optimize.OptimizeWarning):
                expected = scipy.optimize.curve_fit(py_gaussian, X, data, P0, full_output=True,
                                                    **kw)
            with pytest.warns(scipy.optimize.OptimizeWarning):
                got = curve_fit(f, X, data, P0, full_output=True, **kw)
            assert got[4] == expected[4] == 4
            assert np.array_equal(got[0], expected[0]) and np.array_equal(got[0], P0)
            assert np.isinf(got[1]).all() and np.isinf(expected[1]).all()
            with pytest.raises(ValueError, match=blame):
                curve_fit(f, X, data, P0, raise_nonfinite=True, **kw)


# --------------------------------------------------------------------------------------
# A shape that can mean two things is never guessed
# --------------------------------------------------------------------------------------


def gauss2d(xy, a, x0, y0, s, o):
    return a * np.exp(-((xy[0] - x0) ** 2 + (xy[1] - y0) ** 2) / (2 * s**2)) + o


def test_ambiguous_2d_xdata_asks_for_x_dims():
    """Shared xy (2, 25) with N = 2 fits: read as one row per fit, it gave ier 2 and
    y0 = -0.0003 where the truth is -0.2.  Now it raises, and x_dims=2 fits it right."""
    g = np.linspace(-2, 2, 5)
    xy = np.array(np.meshgrid(g, g)).reshape(2, 25)
    truth = np.array([[1.0, 0.3, -0.2, 0.7, 0.1], [2.0, -0.1, 0.2, 0.9, 0.0]])
    y = np.array([gauss2d(xy, *t) for t in truth])
    p0 = [1.5, 0.0, 0.0, 0.8, 0.0]
    with pytest.raises(ValueError, match="x_dims"):
        curve_fit_batch(gauss2d, xy, y, p0)
    res = curve_fit_batch(gauss2d, xy, y, p0, x_dims=2)
    assert res.success.all()
    np.testing.assert_allclose(res.popt, truth, atol=1e-6)
    compiled = curve_fit_batch(models.gaussian_2d, xy, y, p0)  # knows its x_dims
    np.testing.assert_allclose(compiled.popt, truth, atol=1e-6)
    with pytest.raises(ValueError, match="x_dims"):
        curve_fit_batch(models.gaussian_2d, xy, y, p0, x_dims=1)


# --------------------------------------------------------------------------------------
# A model's own exceptions, and what a model must return
# --------------------------------------------------------------------------------------


def test_models_own_exception_at_the_probe_propagates_unchanged():
    error = ValueError("width must be positive")

    def model(x, a, c, w):
        if np.any(np.asarray(w) <= 0):
            raise error
        return a * np.exp(-((x - c) ** 2) / w)

    with pytest.raises(ValueError) as caught:
        curve_fit_batch(model, X, Y[:, :], [1.0, 0.0, -1.0])
    assert caught.value is error


def test_complex_model_values_are_refused_like_complex_data():
    def model(x, a, c, s, o):
        return py_gaussian(x, a, c, s, o) + 0j

    with pytest.raises(TypeError, match="complex"):
        curve_fit_batch(model, X, Y, P0)
    with pytest.raises(TypeError, match="ydata"):
        curve_fit_batch(py_gaussian, X, Y + 0j, P0)
    with pytest.raises(TypeError, match="ydata"):
        curve_fit(py_gaussian, X, Y[0] + 0j, P0)
    with pytest.raises(lmfast.MinpackError):  # as SciPy's curve_fit refuses it
        curve_fit(model, X, Y[0], P0)


# --------------------------------------------------------------------------------------
# Threads and chunks: capped at what can be used
# --------------------------------------------------------------------------------------


def test_threads_never_exceed_cores_or_work():
    cores = _validate.usable_cores()
    assert _validate.threads_for(10**6, 10**9) == cores
    assert _validate.threads_for(10**6, 3) == min(3, cores)
    assert _validate.threads_for(None, 1) == 1


@pytest.mark.parametrize("f", [models.gaussian, py_gaussian], ids=["compiled", "python"])
def test_huge_threads_and_chunk_size_run_like_the_defaults(f):
    ref = curve_fit_batch(f, X, Y, P0, jac=models.gaussian.jac)
    res = curve_fit_batch(f, X, Y, P0, jac=models.gaussian.jac, threads=10**6,
                          chunk_size=10**12)
    for name in ("popt", "pcov", "ier", "nfev"):
        np.testing.assert_array_equal(getattr(res, name), getattr(ref, name))


@pytest.mark.parametrize("value, exc_type, what", [
    (0, ValueError, "must be >= 1, got 0"),
    (-1, ValueError, "must be >= 1, got -1"),
    (1.5, TypeError, "must be an integer, not float"),
    (True, TypeError, "must be an integer, not bool"),  # a bool is not a count
])
def test_threads_and_chunk_size_must_be_positive_integers(value, exc_type, what):
    """Not an integer: TypeError; an integer below 1: ValueError; naming the argument."""
    for name in ("threads", "chunk_size"):
        with pytest.raises(exc_type, match=f"^{name} {what}$") as info:
            curve_fit_batch(models.gaussian, X, Y, P0, **{name: value})
        assert type(info.value) is exc_type


def test_concurrent_batches_restore_openblas_threads():
    """Each batch pins OpenBLAS to one thread; two at once used to be able to restore
    each other's 1.  Whatever the interleaving, the count comes back."""
    before = _linalg.blas_threads()
    _linalg.set_blas_threads(2)
    try:
        barrier = threading.Barrier(4)
        errors = []

        def run():
            try:
                barrier.wait()
                for _ in range(20):
                    curve_fit_batch(models.gaussian, X, Y, P0, threads=1)
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert _linalg.blas_threads() == 2
    finally:
        _linalg.set_blas_threads(before)


@pytest.mark.parametrize("spelling", ["maxfev", "max_nfev"])
def test_max_nfev_is_the_bounded_spelling_of_maxfev(spelling):
    with pytest.raises(RuntimeError, match="maxfev = 5"):
        curve_fit(py_gaussian, X, Y[0], P0, bounds=(0, 10), **{spelling: 5})
    with pytest.raises(RuntimeError, match="maxfev = 5"):
        curve_fit(models.gaussian, X, Y[0], P0, **{spelling: 5})


def test_maxfev_and_max_nfev_together_are_refused():
    with pytest.raises(TypeError, match="max_nfev"):
        curve_fit(py_gaussian, X, Y[0], P0, maxfev=5, max_nfev=5)
