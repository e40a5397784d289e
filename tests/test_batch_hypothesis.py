"""Property test: whatever shapes, dtypes and values reach curve_fit_batch, the outcome
is a result of the right shape or a TypeError/ValueError raised before any work, never a
crash; and every fit of a result is the fit of its row alone."""

import numpy as np
from batch_helpers import py_gaussian
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmfast import curve_fit_batch, models

SPECIAL = st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, 1e300, 5e-324])
FINITE = st.floats(-10, 10, allow_nan=False)


@st.composite
def batches(draw):
    """(f, xdata, ydata, p0, sigma, kwargs): a valid batch, or one with one thing broken."""
    f = draw(st.sampled_from(["compiled", "python"]))
    broken = draw(st.sampled_from([None] * 6 + ["x", "y", "p0", "dtype", "sigma", "option"]))
    n_fits = draw(st.integers(0, 6))
    m = draw(st.integers(1, 12))
    n = 4
    x_shape = draw(st.sampled_from([(m,), (n_fits, m)]))
    y_shape = (n_fits, m)
    p0_shape = draw(st.sampled_from([(n,), (n_fits, n)]))
    if broken == "x":
        x_shape = draw(st.sampled_from([(m + 1,), (n_fits + 1, m), (2, m, 1)]))
    elif broken == "y":
        y_shape = draw(st.sampled_from([(m,), (n_fits, 0), (n_fits, m, 1)]))
    elif broken == "p0":
        p0_shape = draw(st.sampled_from([(n_fits + 1, n), (0,), (n, 1, 1)]))
    dtype = complex if broken == "dtype" else draw(st.sampled_from(
        [np.float64, np.float64, np.float32, np.int64]))

    def array(shape):
        values = draw(st.lists(st.one_of(FINITE, SPECIAL), min_size=int(np.prod(shape)),
                               max_size=int(np.prod(shape))))
        return np.array(values, dtype=float).reshape(shape)

    xdata = np.linspace(-3, 3, int(np.prod(x_shape))).reshape(x_shape)
    ydata = array(y_shape)
    with np.errstate(all="ignore"):  # NaN, inf and huge values cast to integers
        ydata = ydata.astype(dtype) if dtype is complex else np.abs(ydata).astype(dtype)
    p0 = array(p0_shape)
    sigma = draw(st.sampled_from([None, "shared", "per_fit"]))
    sigma = {None: None, "shared": np.full(m, 0.5), "per_fit": np.full((n_fits, m), 0.5)}[sigma]
    if broken == "sigma":
        sigma = np.ones(m + 2)
    kwargs = draw(st.fixed_dictionaries({}, optional={
        "threads": st.integers(1, 3),
        "chunk_size": st.integers(1, 3),
        "maxfev": st.integers(0, 50),
        "absolute_sigma": st.booleans(),
    }))
    if broken == "option":
        kwargs[draw(st.sampled_from(["threads", "chunk_size"]))] = draw(st.integers(-2, 0))
    model = models.gaussian if f == "compiled" else py_gaussian
    return model, xdata, ydata, p0, sigma, kwargs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_result_or_clear_error_never_a_crash(case):
    f, xdata, ydata, p0, sigma, kwargs = case
    inputs = [np.copy(a) if a is not None else None for a in (xdata, ydata, p0, sigma)]
    with np.errstate(all="ignore"):
        try:
            res = curve_fit_batch(f, xdata, ydata, p0, sigma=sigma, **kwargs)
        except (TypeError, ValueError) as exc:
            assert str(exc)
            return
    for before, after in zip(inputs, (xdata, ydata, p0, sigma)):
        if before is not None:
            np.testing.assert_array_equal(before, after)  # inputs untouched
    n_fits = np.shape(ydata)[0]
    n = np.shape(p0)[-1]
    assert res.popt.shape == (n_fits, n) and res.pcov.shape == (n_fits, n, n)
    assert res.ier.shape == (n_fits,)
    assert set(np.unique(res.ier)) <= {-3, -2, 0, 1, 2, 3, 4, 5, 6, 7, 8}
    # Every row is the fit of that row alone.
    per_fit_x = np.ndim(xdata) == 2 and np.shape(xdata)[0] == n_fits
    for i in range(n_fits):
        with np.errstate(all="ignore"):
            alone = curve_fit_batch(
                f,
                xdata[i : i + 1] if per_fit_x else xdata,
                ydata[i : i + 1],
                p0[i : i + 1] if np.ndim(p0) == 2 else p0,
                sigma=sigma[i : i + 1] if sigma is not None and np.ndim(sigma) == 2 else sigma,
                **kwargs,
            )
        for name in ("popt", "pcov", "ier", "nfev"):
            np.testing.assert_array_equal(getattr(res, name)[i], getattr(alone, name)[0])


def test_strategy_reaches_both_outcomes():
    """The strategy above produces valid batches and invalid ones (so the property test
    exercises both branches)."""
    outcomes = set()

    @settings(max_examples=100, deadline=None)
    @given(batches())
    def probe(case):
        f, xdata, ydata, p0, sigma, kwargs = case
        with np.errstate(all="ignore"):
            try:
                curve_fit_batch(f, xdata, ydata, p0, sigma=sigma, **kwargs)
                outcomes.add("result")
            except (TypeError, ValueError):
                outcomes.add("error")

    probe()
    assert outcomes == {"result", "error"}
