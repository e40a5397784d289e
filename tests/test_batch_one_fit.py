"""curve_fit_batch(..., vectorized=False): a Python model that cannot broadcast, called one
fit at a time as curve_fit calls it.

Each fit equals scipy.optimize.curve_fit on that fit alone (same MINPACK arithmetic, same
forward differences); status per fit, the progress bar, exceptions and interruption
behave as for a vectorised model.
"""

import threading

import numpy as np
import pytest
import scipy.optimize

from lmfast import curve_fit_batch, models

X = np.linspace(-5, 5, 101)
# An instrument response: a one-sided exponential tail, normalised.
KERNEL = np.exp(-np.arange(15) / 4.0)
KERNEL /= KERNEL.sum()


def convolved(x, amplitude, center, width, offset):
    """A Gaussian seen through KERNEL: np.convolve takes 1-D arrays only, so it cannot
    broadcast over parameter columns."""
    peak = amplitude * np.exp(-0.5 * ((x - center) / width) ** 2)
    return np.convolve(peak, KERNEL, mode="full")[: x.size] + offset


def convolved_jac(x, amplitude, center, width, offset):
    g = np.exp(-0.5 * ((x - center) / width) ** 2)
    parts = [g, amplitude * g * (x - center) / width**2,
             amplitude * g * (x - center) ** 2 / width**3]
    cols = [np.convolve(p, KERNEL, mode="full")[: x.size] for p in parts]
    return np.column_stack([*cols, np.ones_like(x)])


TRUTHS = np.array([[1.0, -1.0, 0.8, 0.1], [2.0, 0.0, 1.0, 0.2], [1.5, 1.2, 0.6, 0.0],
                   [3.0, 0.5, 1.4, -0.1], [0.8, -0.3, 0.9, 0.3], [2.5, 2.0, 0.7, 0.05]])
P0 = [1.5, 0.0, 1.0, 0.0]


def _data(x=X, seed=3):
    rng = np.random.default_rng(seed)
    rows = [convolved(x if x.ndim == 1 else x[i], *t) for i, t in enumerate(TRUTHS)]
    return np.array(rows) + 0.01 * rng.standard_normal((len(TRUTHS), X.size))


def _assert_scipy(res, x, y, p0, **kwargs):
    for i in range(len(y)):
        xi = x if x.ndim == 1 else x[i]
        p0i = p0 if np.ndim(p0) == 1 else p0[i]
        sigma = kwargs.get("sigma")
        scipy_kwargs = dict(kwargs, sigma=None if sigma is None else sigma[i])
        popt, pcov, info, _, ier = scipy.optimize.curve_fit(
            convolved, xi, y[i], p0i, full_output=True, **scipy_kwargs)
        np.testing.assert_allclose(res.popt[i], popt, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.pcov[i], pcov, rtol=1e-6, atol=1e-15)
        assert res.ier[i] == ier
        assert res.nfev[i] == info["nfev"]


def test_each_fit_equals_scipy_curve_fit():
    y = _data()
    shapes = set()

    def model(x, *p):
        shapes.add((x.shape, *(np.shape(v) for v in p)))
        return convolved(x, *p)

    res = curve_fit_batch(model, X, y, P0, vectorized=False)
    assert shapes == {((X.size,), (), (), (), ())}  # one fit's x, scalar parameters
    assert res.success.all()
    _assert_scipy(res, X, y, P0)


def test_per_fit_x_p0_and_sigma_and_threads():
    rng = np.random.default_rng(4)
    x = X + rng.uniform(-0.05, 0.05, (len(TRUTHS), X.size))  # each fit its own grid
    y = _data(x)
    p0 = TRUTHS * (1 + 0.1 * rng.uniform(-1, 1, TRUTHS.shape))
    sigma = 0.01 * (1 + rng.uniform(0, 1, y.shape))
    res = curve_fit_batch(convolved, x, y, p0, sigma=sigma, vectorized=False, x_dims=1,
                          threads=2, chunk_size=2)
    _assert_scipy(res, x, y, p0, sigma=sigma)


def test_a_jacobian_called_one_fit_at_a_time():
    y = _data()
    res = curve_fit_batch(convolved, X, y, P0, jac=convolved_jac, vectorized=False)
    for i in range(len(y)):
        popt, pcov = scipy.optimize.curve_fit(convolved, X, y[i], P0, jac=convolved_jac)
        np.testing.assert_allclose(res.popt[i], popt, rtol=1e-9)
        np.testing.assert_allclose(res.pcov[i], pcov, rtol=1e-6)
    assert (res.njev > 0).all()


def test_a_bad_fit_gets_its_own_status():
    y = _data()
    y[2, 10] = np.nan
    res = curve_fit_batch(convolved, X, y, P0, vectorized=False, maxfev=200)
    assert res.ier[2] < 0 and np.isnan(res.popt[2]).all()
    good = np.arange(len(y)) != 2
    _assert_scipy(res[good], X, y[good], P0, maxfev=200)


def test_fixed_by_name_and_names_from_the_signature():
    y = _data()
    res = curve_fit_batch(convolved, X, y, [1.5, 0.0, 1.0, 0.0], fixed=["offset"],
                          vectorized=False)
    assert res.param_names == ("amplitude", "center", "width", "offset")
    for i in (0, 3):
        popt, _ = scipy.optimize.curve_fit(lambda x, a, c, w: convolved(x, a, c, w, 0.0),
                                           X, y[i], [1.5, 0.0, 1.0])
        np.testing.assert_allclose(res.popt[i, :3], popt, rtol=1e-9)
    assert (res.popt[:, 3] == 0.0).all()


def test_a_broadcasting_model_fails_without_it_and_works_with_it():
    y = _data()
    with pytest.raises(TypeError, match="broadcast"):
        curve_fit_batch(convolved, X, y, P0)  # np.convolve of (K, M) arrays
    assert curve_fit_batch(convolved, X, y, P0, vectorized=False).success.all()


def test_wrong_shape_is_a_typeerror_naming_the_mode():
    def short(x, a, b):
        return a * x[:-1] + b

    with pytest.raises(TypeError, match=r"shape \(100,\), expected \(101,\).*vectorized=False"):
        curve_fit_batch(short, X, _data(), [1.0, 0.0], vectorized=False)


def test_settings_errors():
    with pytest.raises(ValueError, match="vectorized=False is for Python models"):
        curve_fit_batch(models.gaussian, X, _data(), P0, vectorized=False)
    with pytest.raises(TypeError, match="vectorized must be True or False"):
        curve_fit_batch(convolved, X, _data(), P0, vectorized="no")


def test_an_exception_in_the_model_propagates_unchanged_and_no_thread_is_left():
    class Boom(Exception):
        pass

    raised = Boom("from the model")
    calls = []

    def model(x, *p):
        calls.append(1)
        if len(calls) == 40:
            raise raised
        return convolved(x, *p)

    before = threading.active_count()
    with pytest.raises(Boom) as info:
        curve_fit_batch(model, X, _data(), P0, vectorized=False, threads=2, chunk_size=2)
    assert info.value is raised
    assert threading.active_count() == before


def test_keyboard_interrupt_in_the_model_stops_the_batch():
    # Ctrl-C lands in whatever Python code runs, here the model: the batch stops with it,
    # leaves no thread running, and the next batch works.
    calls = []

    def model(x, *p):
        calls.append(1)
        if len(calls) == 30:
            raise KeyboardInterrupt
        return convolved(x, *p)

    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        curve_fit_batch(model, X, _data(), P0, vectorized=False, threads=2, chunk_size=2)
    assert threading.active_count() == before
    y = _data()
    _assert_scipy(curve_fit_batch(convolved, X, y, P0, vectorized=False), X, y, P0)


def test_progress_bar_reaches_every_fit(capsys):
    pytest.importorskip("tqdm", reason="tqdm is not installed (the 'test' extra)")
    y = _data()
    res = curve_fit_batch(convolved, X, y, P0, vectorized=False, progress=True, chunk_size=2)
    assert f"{len(y)}/{len(y)}" in capsys.readouterr().err
    _assert_scipy(res, X, y, P0)


def test_a_two_dimensional_model_with_xdata_per_fit():
    def spot(xy, amplitude, x0, y0, s):
        a, x0, y0, s = (float(v) for v in (amplitude, x0, y0, s))  # scalars only
        return a * np.exp(-((xy[0] - x0) ** 2 + (xy[1] - y0) ** 2) / (2 * s * s))

    rng = np.random.default_rng(5)
    g = np.linspace(-2, 2, 9)
    grid = np.array(np.meshgrid(g, g)).reshape(2, -1)
    xy = grid + rng.uniform(-0.02, 0.02, (4, *grid.shape))  # (N, 2, M)
    truths = [[1.0, 0.1, -0.2, 0.7], [2.0, -0.3, 0.0, 0.9], [1.5, 0.5, 0.4, 0.6],
              [0.7, 0.0, 0.2, 1.1]]
    y = np.array([spot(xy[i], *t) for i, t in enumerate(truths)])
    y += 0.01 * rng.standard_normal(y.shape)
    res = curve_fit_batch(spot, xy, y, [1.0, 0.0, 0.0, 1.0], vectorized=False)
    for i in range(4):
        popt, pcov = scipy.optimize.curve_fit(spot, xy[i], y[i], [1.0, 0.0, 0.0, 1.0])
        np.testing.assert_allclose(res.popt[i], popt, rtol=1e-9)
        np.testing.assert_allclose(res.pcov[i], pcov, rtol=1e-6)


def test_bounds_one_of_them_active():
    y = _data()
    # width capped at 0.9: the fits of true width 1.0 and 1.4 end on it
    lower, upper = [0.0, -3.0, 0.3, -1.0], [5.0, 3.0, 0.9, 1.0]
    res = curve_fit_batch(convolved, X, y, [1.5, 0.0, 0.5, 0.0], bounds=(lower, upper),
                          vectorized=False)
    assert res.success.all()
    for i in range(len(y)):
        popt, _ = scipy.optimize.curve_fit(convolved, X, y[i], [1.5, 0.0, 0.5, 0.0],
                                           bounds=(lower, upper), xtol=1e-12, ftol=1e-12)
        pressed = abs(popt[2] - 0.9) < 1e-8
        assert res.at_bound[i, 2] == pressed
        # on a bound, LM in the transformed variable and SciPy's trf stop at slightly
        # different points within their tolerances: the same cost, popt close
        cost = np.sum((convolved(X, *popt) - y[i]) ** 2)
        np.testing.assert_allclose(res.chisq[i], cost, rtol=1e-6)
        np.testing.assert_allclose(res.popt[i], popt, rtol=1e-3 if pressed else 1e-5,
                                   atol=1e-6)
    assert res.at_bound[:, 2].sum() == 2
    assert np.isfinite(res.pcov).all()
