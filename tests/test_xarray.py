"""DataArray.lmfast.curvefit against xarray.DataArray.curvefit (SciPy's curve_fit per
pixel) on the same inputs: coefficients and covariance to 1e-8 relative, the same NaN,
the same Dataset layout; Dask-backed data stay lazy and give the same Dataset."""

import numpy as np
import pytest

xr = pytest.importorskip("xarray", reason="xarray is not installed (the 'xarray' extra)")
from batch_helpers import np_gaussian, np_gaussian_2d

import lmfast.xarray
from lmfast import models

RTOL = 1e-8
P0 = {"amplitude": 2.0, "center": 5.0, "sigma": 1.0, "offset": 0.0}


def assert_close(ours, reference, rtol=RTOL):
    """Elementwise |ours - reference| <= rtol |reference|, NaN exactly where NaN."""
    a, b = np.asarray(ours), np.asarray(reference)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b)), (a, b)
    both = ~np.isnan(b)
    assert (np.abs(a[both] - b[both]) <= rtol * np.abs(b[both])).all(), \
        np.max(np.abs(a[both] - b[both]) / np.abs(b[both]))


def assert_same_fit(ours, reference, rtol=RTOL):
    """Coefficients (each to rtol) and covariance (each entry to rtol of
    sqrt(C_ii C_jj), the scale of its row and column) as xarray's, with xarray's
    dimensions, coordinates and attributes."""
    for name in ("curvefit_coefficients", "curvefit_covariance"):
        assert ours[name].dims == reference[name].dims, name
        for dim in ours[name].dims:
            assert np.array_equal(ours[name][dim].values, reference[name][dim].values), dim
    assert_close(ours.curvefit_coefficients, reference.curvefit_coefficients, rtol)
    a, b = ours.curvefit_covariance.values, reference.curvefit_covariance.values
    assert np.array_equal(np.isnan(a), np.isnan(b))
    scale = np.sqrt(np.abs(np.einsum("...ii->...i", b)))
    scale = scale[..., :, None] * scale[..., None, :]
    both = ~np.isnan(b)
    assert (np.abs(a - b)[both] <= rtol * scale[both]).all(), \
        np.max(np.abs(a - b)[both] / scale[both])
    assert set(ours.coords) == set(reference.coords)
    assert ours.attrs == reference.attrs


def peaks_cube(shape=(3, 4), m=50, seed=0):
    """Noisy Gaussian peaks along t at every (a, b), with coordinates and attributes."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 10.0, m)
    amplitude = rng.uniform(1.0, 4.0, shape)[..., None]
    center = rng.uniform(4.0, 6.0, shape)[..., None]
    y = np_gaussian(t, amplitude, center, 1.1, 0.1) + rng.normal(0, 0.05, (*shape, m))
    coords = {"t": t, "a": np.arange(shape[0]) * 10, "b": list("pqrstuvw"[: shape[1]]),
              "label": ("a", [f"row{i}" for i in range(shape[0])]), "t2": ("t", 2 * t)}
    return xr.DataArray(y, dims=("a", "b", "t"), coords=coords, attrs={"units": "counts"},
                        name="signal")


def test_numpy_function_gives_xarrays_fits():
    data = peaks_cube()
    reference = data.curvefit("t", np_gaussian, p0=P0)
    ours = data.lmfast.curvefit("t", np_gaussian, p0=P0)
    assert_same_fit(ours, reference)
    assert (ours.curvefit_ier > 0).all() and (ours.curvefit_ier <= 4).all()
    assert ours.label.equals(data.label)


def test_compiled_model_gives_xarrays_fits_with_the_same_jacobian():
    data = peaks_cube(seed=1)
    reference = data.curvefit("t", np_gaussian, p0=P0, kwargs={"jac": models.gaussian.jac})
    ours = data.lmfast.curvefit("t", models.gaussian, p0=P0,
                                kwargs={"jac": models.gaussian.jac})
    assert_same_fit(ours, reference)
    # without jac the compiled model uses its analytic Jacobian: the same minimum
    analytic = data.lmfast.curvefit("t", models.gaussian, p0=P0)
    assert_close(analytic.curvefit_coefficients, reference.curvefit_coefficients, 1e-6)


def test_chisq_is_the_weighted_sum_of_squares_at_the_coefficients():
    data = peaks_cube(seed=2)
    ours = data.lmfast.curvefit("t", models.gaussian, p0=P0)
    p = ours.curvefit_coefficients.transpose("a", "b", "param").values
    residuals = np_gaussian(data.t.values, *np.moveaxis(p, -1, 0)[..., None]) - data.values
    np.testing.assert_allclose(ours.curvefit_chisq.values, (residuals**2).sum(-1), rtol=1e-10)


def test_two_dimensional_coordinates():
    rng = np.random.default_rng(3)
    xs, ys = np.arange(7.0), np.arange(6.0)
    grid = np.stack(np.meshgrid(xs, ys, indexing="ij"))  # (2, 7, 6)
    truth = np.column_stack([rng.uniform(4, 8, 5), rng.uniform(2, 4, 5),
                             rng.uniform(2, 3, 5), rng.uniform(1, 1.6, 5), rng.uniform(0, 1, 5)])
    y = np_gaussian_2d(grid[:, None], *truth.T[:, :, None, None])
    y = y + rng.normal(0, 0.05, y.shape)
    data = xr.DataArray(y, dims=("frame", "x", "y"), coords={"x": xs, "y": ys})
    p0 = {"amplitude": 5.0, "x0": 3.0, "y0": 2.5, "sigma": 1.0, "offset": 0.5}
    jac = {"jac": models.gaussian_2d.jac}
    reference = data.curvefit(["x", "y"], np_gaussian_2d, p0=p0, kwargs=jac)
    assert_same_fit(data.lmfast.curvefit(["x", "y"], np_gaussian_2d, p0=p0, kwargs=jac),
                    reference)
    assert_same_fit(data.lmfast.curvefit(["x", "y"], models.gaussian_2d, p0=p0, kwargs=jac),
                    reference)
    # Forward differences: xarray takes the points of several fitted dimensions in the
    # order of a Python set (it changes with PYTHONHASHSEED), lmfast in the data's order;
    # the rounding then moves the fit by about 1e-8..1e-6, as it moves xarray's own.
    assert_same_fit(data.lmfast.curvefit(["x", "y"], np_gaussian_2d, p0=p0),
                    data.curvefit(["x", "y"], np_gaussian_2d, p0=p0), rtol=1e-5)


@pytest.mark.parametrize("f", [np_gaussian, models.gaussian], ids=["numpy", "compiled"])
def test_nan_pixels_with_skipna_fit_their_valid_points(f):
    data = peaks_cube(shape=(4, 5), seed=4)
    y = data.values.copy()
    y[0, 0, 5:14] = np.nan  # a gap
    y[1, 2, :] = np.nan  # nothing to fit: NaN, no error
    y[2, 3, ::3] = np.nan  # every third point
    y[3, 1, [0, 7, 49]] = np.nan
    y[3, 4, 20:] = np.nan  # another number of points, as y[0, 0]
    y[0, 4, 25:34] = np.nan  # same count as y[0, 0], other points
    data = data.copy(data=y)
    kwargs = {} if f is np_gaussian else {"jac": models.gaussian.jac}
    reference = data.curvefit("t", np_gaussian, p0=P0, kwargs=kwargs)
    ours = data.lmfast.curvefit("t", f, p0=P0, kwargs=kwargs)
    assert_same_fit(ours, reference)
    assert np.isnan(ours.curvefit_coefficients[1, 2]).all()
    assert ours.curvefit_ier[1, 2] == 0 and ours.curvefit_ier.where(
        np.isfinite(ours.curvefit_chisq)).isin([1, 2, 3, 4]).sum() == 19
    # skipna=False: the NaN pixels fail
    with pytest.raises(RuntimeError, match=r"pixel \(0, 0\).*ier=-2"):
        data.lmfast.curvefit("t", f, p0=P0, skipna=False, kwargs=kwargs)


def test_nan_in_a_shared_coordinate_drops_that_point_everywhere():
    data = peaks_cube(seed=5)
    t = data.t.values.copy()
    t[[3, 17]] = np.nan
    data = data.assign_coords(tn=("t", t))
    reference = data.curvefit("tn", np_gaussian, reduce_dims="t", p0=P0)
    assert_same_fit(data.lmfast.curvefit("tn", np_gaussian, reduce_dims="t", p0=P0),
                    reference)


def test_errors_ignore_gives_nan_where_xarray_does():
    data = peaks_cube(shape=(4, 5), seed=5)
    y = data.values.copy()
    y[3, 0] = 0.1 + np.random.default_rng(0).normal(0, 0.05, y.shape[-1])  # no peak
    data = data.copy(data=y)
    kwargs = {"maxfev": 60}
    reference = data.curvefit("t", np_gaussian, p0=P0, errors="ignore", kwargs=kwargs)
    ours = data.lmfast.curvefit("t", np_gaussian, p0=P0, errors="ignore", kwargs=kwargs)
    assert np.isnan(reference.curvefit_coefficients[3, 0]).all()
    assert_same_fit(ours, reference)
    assert ours.curvefit_ier[3, 0] == 5
    with pytest.raises(RuntimeError, match="Optimal parameters not found"):
        data.curvefit("t", np_gaussian, p0=P0, kwargs=kwargs)
    with pytest.raises(RuntimeError, match=r"pixel \(3, 0\) failed \(ier=5: .*maxfev = 60"):
        data.lmfast.curvefit("t", np_gaussian, p0=P0, kwargs=kwargs)


def test_per_pixel_p0_and_the_default_start():
    data = peaks_cube(seed=6)
    rng = np.random.default_rng(7)
    amplitude = xr.DataArray(rng.uniform(1.5, 3.0, 3), dims="a", coords={"a": data.a})
    center = xr.DataArray(rng.uniform(4.5, 5.5, (4, 3)), dims=("b", "a"),
                          coords={"a": data.a, "b": data.b})
    p0 = {"amplitude": amplitude, "center": center, "sigma": 1.2}  # offset: default 1
    assert_same_fit(data.lmfast.curvefit("t", np_gaussian, p0=p0),
                    data.curvefit("t", np_gaussian, p0=p0))
    misaligned = amplitude.assign_coords(a=amplitude.a + 1)
    with pytest.raises(ValueError, match="coordinates do not match"):
        data.lmfast.curvefit("t", np_gaussian, p0={**p0, "amplitude": misaligned})
    with pytest.raises(ValueError, match="Initial guess for 'center' has unexpected dim"):
        data.lmfast.curvefit("t", np_gaussian, p0={"center": data.t})


def test_bounds_reach_xarrays_trf_minimum():
    data = peaks_cube(seed=8)
    low = xr.DataArray([0.5, 0.6, 0.7], dims="a", coords={"a": data.a})
    bounds = {"amplitude": (low, 10.0), "sigma": (0.5, 3.0), "offset": (-1.0, 1.0)}
    p0 = {"amplitude": 2.0, "center": 5.0}  # sigma and offset: 1, inside their bounds
    reference = data.curvefit("t", np_gaussian, p0=p0, bounds=bounds)
    ours = data.lmfast.curvefit("t", np_gaussian, p0=p0, bounds=bounds)
    assert_close(ours.curvefit_coefficients, reference.curvefit_coefficients, 1e-5)
    # a default start outside the bounds is moved inside them, as xarray does
    shifted = {"offset": (2.0, 3.0)}  # default 1 < 2: starts at 2.5
    far = data + 2.4
    assert_close(far.lmfast.curvefit("t", np_gaussian, bounds=shifted,
                                     p0={"amplitude": 2.0, "center": 5.0}).curvefit_coefficients,
                 far.curvefit("t", np_gaussian, bounds=shifted,
                              p0={"amplitude": 2.0, "center": 5.0}).curvefit_coefficients, 1e-5)


def test_reduce_dims_sigma_and_per_pixel_coordinates():
    rng = np.random.default_rng(9)
    t = np.linspace(0, 10, 30)
    y = np_gaussian(t, 3.0, 5.0, 1.0, 0.2) + rng.normal(0, 0.05, (2, 3, 30))  # (a, rep, t)
    data = xr.DataArray(y, dims=("a", "rep", "t"), coords={"t": t})
    jac = {"jac": models.gaussian.jac}  # the order of the points: see the 2-D test
    reference = data.curvefit("t", np_gaussian, reduce_dims="rep", p0=P0, kwargs=jac)
    assert_same_fit(data.lmfast.curvefit("t", models.gaussian, reduce_dims=["rep"], p0=P0,
                                         kwargs=jac), reference)
    sigma = xr.DataArray(rng.uniform(0.5, 2.0, 30), dims="t")
    flat = data.isel(rep=0)
    assert_same_fit(
        flat.lmfast.curvefit("t", models.gaussian, p0=P0, kwargs={"sigma": sigma, **jac}),
        flat.curvefit("t", np_gaussian, p0=P0, kwargs={"sigma": sigma.values, **jac}))
    # a coordinate that differs per pixel: each pixel its own x
    shift = xr.DataArray([0.0, 0.5], dims="a")
    x = (data.t + shift).rename("x")
    assert_same_fit(data.isel(rep=0).lmfast.curvefit(x, np_gaussian, reduce_dims="t", p0=P0),
                    data.isel(rep=0).curvefit(x, np_gaussian, reduce_dims="t", p0=P0))


def test_too_few_points_raise_or_give_nan():
    data = peaks_cube(seed=10)
    y = data.values.copy()
    y[1, 1, 3:] = np.nan  # 3 points, 4 parameters
    data = data.copy(data=y)
    with pytest.raises(ValueError, match=r"pixel \(1, 1\) has 3 valid points for 4 free"):
        data.lmfast.curvefit("t", np_gaussian, p0=P0)
    ours = data.lmfast.curvefit("t", np_gaussian, p0=P0, errors="ignore")
    assert np.isnan(ours.curvefit_coefficients[1, 1]).all() and ours.curvefit_ier[1, 1] == 0
    assert np.isfinite(ours.curvefit_coefficients[0]).all()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"errors": "warn"}, ValueError, "errors must be either"),
    ({"kwargs": {"method": "trf"}}, ValueError, "Levenberg-Marquardt"),
    ({"kwargs": {"full_output": True}}, TypeError, "takes no argument 'full_output'"),
    ({"reduce_dims": "z"}, ValueError, "not dimensions of the data"),
    ({"p0": {"center": np.ones(3)}}, ValueError, "must be a scalar or a DataArray"),
])
def test_argument_mistakes(kwargs, error, match):
    with pytest.raises(error, match=match):
        peaks_cube().lmfast.curvefit("t", np_gaussian, **kwargs)


def test_no_fitted_dimension_raises_as_xarray():
    data = peaks_cube()
    other = xr.DataArray(np.arange(50.0), dims="t")
    with pytest.raises(ValueError, match="No arguments to `coords`"):
        data.lmfast.curvefit(other, np_gaussian)


def test_dask_backed_data_stay_lazy_and_give_the_same_dataset(monkeypatch):
    pytest.importorskip("dask.array", reason="dask is not installed")
    import dask

    data = peaks_cube(shape=(5, 6), seed=11)
    y = data.values.copy()
    y[2, 2, ::4] = np.nan
    data = data.copy(data=y)
    center = xr.DataArray(np.linspace(4.8, 5.2, 6), dims="b", coords={"b": data.b})
    p0 = {**P0, "center": center.chunk({"b": 4})}
    expected = data.lmfast.curvefit("t", models.gaussian, p0=p0)
    calls = []
    block = lmfast.xarray._pixel_block

    def counted(*args, **kwargs):
        calls.append(args[0].shape[:2])
        return block(*args, **kwargs)

    monkeypatch.setattr(lmfast.xarray, "_pixel_block", counted)
    chunked = data.chunk({"a": 2, "b": 4, "t": 25})
    with dask.config.set(scheduler="threads"):
        lazy = chunked.lmfast.curvefit("t", models.gaussian, p0=p0)
        assert calls == []
        assert lazy.curvefit_coefficients.chunks == ((2, 2, 1), (4, 2), (4,))
        computed = lazy.compute()
    assert len(calls) == 6  # one task per chunk of pixels, for all four variables
    xr.testing.assert_identical(computed, expected)
    with dask.config.set({"lmfast.slice-fits": 3, "scheduler": "threads"}):  # in slices
        sliced = chunked.lmfast.curvefit("t", models.gaussian, p0=p0).compute()
    xr.testing.assert_identical(sliced, expected)
    assert_same_fit(expected, data.curvefit("t", np_gaussian, p0=p0,
                                            kwargs={"jac": models.gaussian.jac}))


def test_a_failing_pixel_of_dask_data_raises_when_computed():
    pytest.importorskip("dask.array", reason="dask is not installed")
    data = peaks_cube(seed=12)
    y = data.values.copy()
    y[2, 1, :] = 0.1
    lazy = data.copy(data=y).chunk({"a": 2}).lmfast.curvefit(
        "t", np_gaussian, p0=P0, kwargs={"maxfev": 60})
    with pytest.raises(RuntimeError, match=r"pixel \(0, 1\) of its chunk failed"):
        lazy.compute(scheduler="sync")


def test_dask_backed_data_are_checked_at_the_call():
    pytest.importorskip("dask.array", reason="dask is not installed")
    chunked = peaks_cube().chunk({"a": 1})
    with pytest.raises(ValueError, match="x_dims=1 but the model gaussian_2d reads 2"):
        chunked.lmfast.curvefit("t", models.gaussian_2d)
    with pytest.raises(ValueError, match="ftol must be a number >= 0"):
        chunked.lmfast.curvefit("t", models.gaussian, kwargs={"ftol": -1.0})


def test_fixed_parameters_by_name_of_a_numpy_function():
    data = peaks_cube(seed=13)
    ours = data.lmfast.curvefit("t", np_gaussian, p0={**P0, "offset": 0.1},
                                kwargs={"fixed": ["offset"]})
    assert (ours.curvefit_coefficients.sel(param="offset") == 0.1).all()
    assert (ours.curvefit_covariance.sel(cov_i="offset") == 0).all()

    def three(x, amplitude, center, sigma):  # the same model with the offset held
        return np_gaussian(x, amplitude, center, sigma, 0.1)

    reference = data.curvefit("t", three, p0={k: P0[k] for k in ("amplitude", "center",
                                                                 "sigma")})
    assert_close(ours.curvefit_coefficients.isel(param=slice(0, 3)),
                 reference.curvefit_coefficients, 1e-6)


def test_user_guide_xarray_example_runs():
    pytest.importorskip("dask.array", reason="dask is not installed")
    import pathlib
    import re

    guide = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "user_guide"
             / "dask_xarray.md")
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), re.DOTALL)
    first = next(b for b in blocks if "lmfast.dask.curve_fit_batch(models.gaussian" in b)
    code = next(b for b in blocks if "cube.lmfast.curvefit" in b)
    namespace = {}
    exec(compile(first, "dask_xarray.md", "exec"), namespace)  # noqa: S102 - the guide's example
    exec(compile(code, "dask_xarray.md", "exec"), namespace)  # noqa: S102
    fit, truth = namespace["fit"], namespace["truth"]
    assert fit.curvefit_coefficients.chunks is not None  # lazy
    centers = fit.curvefit_coefficients.sel(param="center").values.reshape(-1)
    np.testing.assert_allclose(centers, truth[:, 1], rtol=1e-6)


def test_robust_loss_through_kwargs_is_the_batchs():
    """kwargs={'loss': ..., 'f_scale': ...} fits each pixel with the robust loss: the
    coefficients are curve_fit_batch's with that loss, which differ from least squares
    on spiky pixels."""
    data = peaks_cube()
    spiky = data.copy()
    spiky[..., ::7] = spiky[..., ::7] + 2.0
    ours = spiky.lmfast.curvefit("t", models.gaussian, p0=P0,
                                 kwargs={"loss": "cauchy", "f_scale": 0.1})
    rows = spiky.values.reshape(-1, spiky.sizes["t"])
    batch = lmfast.curve_fit_batch(models.gaussian, spiky.t.values, rows,
                                   list(P0.values()), loss="cauchy", f_scale=0.1)
    np.testing.assert_array_equal(
        ours.curvefit_coefficients.values.reshape(-1, 4), batch.popt)
    plain = lmfast.curve_fit_batch(models.gaussian, spiky.t.values, rows, list(P0.values()))
    assert np.all(np.abs(plain.popt[:, 3] - batch.popt[:, 3]) > 0.1)
