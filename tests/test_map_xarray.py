"""``da.lmfast.curvefit(..., reseed=True)``: the pixels fitted by curve_fit_map over the
grid of the other dimensions."""

import numpy as np
import pytest

xr = pytest.importorskip("xarray", reason="xarray is not installed (the 'xarray' extra)")
from test_map import P0, drifting_map, right_fraction, scipy_right_minimum

import lmfast.xarray  # noqa: F401 (registers the accessor)
from lmfast import curve_fit_map, models

START = dict(zip(models.gaussian.param_names, P0))


def drifting_array(shape=(14, 12), seed=11):
    x, y, truth = drifting_map(shape=shape, m=120, seed=seed)
    dims = ("row", "col")[: len(shape)]
    coords = {"t": x, **{d: np.arange(s) for d, s in zip(dims, shape)}}
    return xr.DataArray(y, dims=(*dims, "t"), coords=coords), x, y, truth


def test_reseed_is_curve_fit_map_over_the_other_dimensions():
    da, x, y, truth = drifting_array()
    reference = scipy_right_minimum(x, y, truth)
    plain = da.lmfast.curvefit("t", models.gaussian, p0=START, errors="ignore")
    fitted = da.lmfast.curvefit("t", models.gaussian, p0=START, reseed=True)
    direct = curve_fit_map(models.gaussian, x, y, P0)
    coefficients = fitted.curvefit_coefficients.values
    assert np.array_equal(coefficients, direct.popt)
    assert np.array_equal(fitted.curvefit_chisq.values, direct.chisq)
    assert np.array_equal(fitted.curvefit_settled_pass.values, direct.settled_pass)
    assert fitted.curvefit_settled_pass.dims == ("row", "col")
    assert right_fraction(coefficients, reference) == 1.0
    assert right_fraction(plain.curvefit_coefficients.values, reference) < 0.85
    assert "curvefit_settled_pass" not in plain


def test_reseed_options_per_pixel_start_and_a_line_of_pixels():
    da, x, y, truth = drifting_array(shape=(30,), seed=12)
    p0 = {**START, "center": xr.DataArray(np.full(30, 15.0), dims="row")}
    fitted = da.lmfast.curvefit("t", models.gaussian, p0=p0,
                                reseed={"threshold": 3.0, "max_passes": 4})
    direct = curve_fit_map(models.gaussian, x, y, P0, threshold=3.0, max_passes=4)
    assert np.array_equal(fitted.curvefit_coefficients.values, direct.popt)
    assert fitted.curvefit_settled_pass.values.max() <= 4


def test_reseed_mistakes():
    da, _, _, _ = drifting_array(shape=(4, 3))
    with pytest.raises(TypeError, match="reseed must be"):
        da.lmfast.curvefit("t", models.gaussian, p0=START, reseed="yes")
    with pytest.raises(TypeError, match="'radius'"):
        da.lmfast.curvefit("t", models.gaussian, p0=START, reseed={"radius": 2})
    with pytest.raises(ValueError, match="threshold"):
        da.lmfast.curvefit("t", models.gaussian, p0=START, reseed={"threshold": 0.1})
    holed = da.copy()
    holed[1, 2, 5] = np.nan
    with pytest.raises(ValueError, match=r"pixel \(1, 2\) has NaN"):
        holed.lmfast.curvefit("t", models.gaussian, p0=START, reseed=True)
    pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="in memory"):
        da.chunk({"row": 2}).lmfast.curvefit("t", models.gaussian, p0=START, reseed=True)
