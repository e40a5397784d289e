"""``DataArray.lmfast.curvefit``: xarray's ``curvefit``, fitted by lmfast's batch.

``import lmfast.xarray`` registers the accessor ``lmfast`` on ``xarray.DataArray`` (``import
lmfast`` never imports xarray).  ``da.lmfast.curvefit(...)`` takes the arguments of
``xarray.DataArray.curvefit`` and returns the same Dataset, with two more variables: all
pixels (the slices along the fitted dimensions) are fitted in one
:func:`lmfast.curve_fit_batch` call, compiled and threaded for an ``lmfast.models``
model, vectorised for a NumPy function, instead of one ``scipy.optimize.curve_fit`` call
per pixel.  Dask-backed data stay lazy: one task per chunk of pixels (``lmfast.dask``).

Missing values (``skipna=True``): xarray drops a pixel's NaN points before its fit, so
pixels have different numbers of points.  Here the pixels with the same number of valid
points are fitted as one batch, each reduced to its valid points in their order (xdata
then per pixel if they keep different points): every fit is exactly the fit of its
valid points, in at most M + 1 batches however the NaN are spread.
"""

import inspect
import math
from collections.abc import Iterable

import numpy as np

try:
    import xarray as xr
except ImportError as exc:  # pragma: no cover (the tests skip without xarray)
    raise ImportError(
        "lmfast.xarray needs xarray: pip install xarray 'dask[array]' (or the 'xarray' "
        "extra: pip install 'fastminpack[xarray]')") from exc

from lmfast import _batch, _map, _validate
from lmfast._outcomes import SUCCESS, message
from lmfast._records import record_dtype, records_of

__all__ = ["LmfastAccessor", "curvefit"]

#: curve_fit_batch keywords that curvefit's ``kwargs`` may hold (the rest it sets).
BATCH_KEYWORDS = ("sigma", "absolute_sigma", "jac", "fixed", "estimator", "loss", "f_scale",
                  "ftol", "xtol", "gtol", "maxfev", "epsfcn", "factor", "threads",
                  "chunk_size")


@xr.register_dataarray_accessor("lmfast")
class LmfastAccessor:
    """lmfast's methods on a DataArray: ``da.lmfast.curvefit(...)``.

    Parameters
    ----------
    obj : xarray.DataArray
        The data.
    """

    def __init__(self, obj):
        self._obj = obj

    def curvefit(self, coords, func, reduce_dims=None, skipna=True, p0=None, bounds=None,
                 param_names=None, errors="raise", kwargs=None, *, reseed=False):
        # The docstring is curvefit's below, without its obj (set after it).
        return curvefit(self._obj, coords, func, reduce_dims=reduce_dims, skipna=skipna,
                        p0=p0, bounds=bounds, param_names=param_names, errors=errors,
                        kwargs=kwargs, reseed=reseed)


def curvefit(obj, coords, func, reduce_dims=None, skipna=True, p0=None, bounds=None,
             param_names=None, errors="raise", kwargs=None, *, reseed=False):
    """Fit ``func`` along the dimensions of ``coords`` at every other index of ``obj``.

    The arguments, defaults and result of ``xarray.DataArray.curvefit``; every pixel is
    fitted by :func:`lmfast.curve_fit_batch` (Levenberg-Marquardt, as curve_fit's
    default method).

    Parameters
    ----------
    obj : xarray.DataArray
        The data (NumPy- or Dask-backed).
    coords : str, DataArray or sequence of them
        The independent variable(s): names of coordinates of ``obj`` or DataArrays; a
        coordinate equal to one of ``obj``'s dimension coordinates makes that dimension a
        fitted one.  Several coordinates reach ``func`` stacked, shape (k, M).
    func : lmfast.models.Model or callable
        An lmfast model (compiled: ``lmfast.models``, ``lmfast.lineshapes.model``,
        composites) or a curve_fit-style ``func(x, *params)`` written with NumPy
        broadcasting (each parameter a column (K, 1), returning (K, M); see
        :func:`lmfast.curve_fit_batch`).
    reduce_dims : str or sequence of str, optional
        More dimensions to fit over (their points join each fit).  The points of several
        fitted dimensions are taken in the data's order of dimensions (xarray takes them
        in the order of a Python set, which changes with the string hash seed; with
        forward differences that moves its results by about 1e-8 relative from run to
        run).
    skipna : bool
        Leave out NaN values (and points where every coordinate is NaN) of each pixel.
    p0 : dict of str to float or DataArray, optional
        Starting values by parameter name, scalars or DataArrays over the other
        dimensions (one per pixel).  Missing ones: the default of ``func``'s signature,
        else 1, else (when that is outside the bounds) a point inside them, as xarray does.
    bounds : dict of str to (lower, upper), optional
        Bounds by parameter name, scalars or DataArrays per pixel (lmfast's bounded
        Levenberg-Marquardt; SciPy runs 'trf' then, so results agree to its tolerance).
    param_names : sequence of str, optional
        The parameters, when ``func``'s signature cannot tell (``*args``).
    errors : {"raise", "ignore"}
        "raise": a pixel whose fit fails (no convergence, NaN data without skipna, fewer
        points than parameters) raises RuntimeError (ValueError for too few points),
        naming it (for Dask-backed data when computed, by its place in its chunk).
        "ignore": its coefficients and covariance are NaN (its ``curvefit_ier`` says
        why), fewer points than parameters included (where xarray raises TypeError
        whatever ``errors`` says).
    kwargs : dict, optional
        Keywords of :func:`lmfast.curve_fit_batch`: ``sigma`` (scalar, or a DataArray
        over ``obj``'s dimensions, per pixel if it has the others), ``absolute_sigma``,
        ``jac``, ``fixed``, ``estimator``, ``loss``, ``f_scale`` (a robust loss),
        ``ftol``, ``xtol``, ``gtol``, ``maxfev``,
        ``epsfcn``, ``factor``, ``threads``, ``chunk_size``; ``method`` only as
        ``'lm'``.
    reseed : bool or dict
        True: fit the pixels with :func:`lmfast.curve_fit_map` over the grid of the other
        dimensions (in their order): after the batch, pixels that failed or whose
        chi-square stands out from their neighbours' are refitted from their best
        converged neighbour's solution (for maps whose peaks drift far from ``p0``).  A
        dict passes ``threshold`` and ``max_passes`` to it.  Needs NumPy-backed data
        (neighbours cross Dask chunks) and, with ``skipna``, the same valid points in
        every pixel.  The Dataset gains ``curvefit_settled_pass``.

    Returns
    -------
    xarray.Dataset
        ``curvefit_coefficients`` (other dimensions, ``param``) and
        ``curvefit_covariance`` (other dimensions, ``cov_i``, ``cov_j``) as xarray gives
        them, plus ``curvefit_ier`` (why each fit stopped: :class:`lmfast.BatchResult`'s
        codes; 0 also for a pixel with fewer valid points than free parameters, which is
        not fitted) and ``curvefit_chisq`` (weighted sum of squared residuals).  Lazy if
        ``obj`` is Dask-backed: one task per chunk of pixels (the fitted dimensions are
        rechunked to one chunk), ``threads`` per task as in ``lmfast.dask``; on a
        process scheduler ``func`` must pickle (see ``lmfast.models.from_factory``).

    Raises
    ------
    ValueError, TypeError
        Mistakes in the arguments, as xarray and curve_fit_batch raise them.

    See Also
    --------
    xarray.DataArray.curvefit : the same fit, one ``scipy.optimize.curve_fit`` per pixel.
    lmfast.curve_fit_batch : the batch each call runs.

    Examples
    --------
    Three pixels along ``x``, each a Gaussian along ``t``:

    >>> import numpy as np
    >>> import xarray as xr
    >>> import lmfast.xarray
    >>> from lmfast import models
    >>> t = np.linspace(0.0, 10.0, 64)
    >>> heights = np.array([[1.0], [2.0], [3.0]])
    >>> cube = xr.DataArray(models.gaussian(t, heights, 5.0, 1.0, 0.1), dims=("x", "t"),
    ...                     coords={"t": t})
    >>> fit = cube.lmfast.curvefit("t", models.gaussian, p0={"amplitude": 2.0, "center": 4.5},
    ...                            bounds={"sigma": (0.1, 5.0)})
    >>> fit.curvefit_coefficients.sel(param="amplitude").values.round(6)
    array([1., 2., 3.])
    >>> bool(np.isin(fit.curvefit_ier, [1, 2, 3, 4]).all())  # 1-4: converged
    True
    """
    if errors not in ("raise", "ignore"):
        raise ValueError('errors must be either "raise" or "ignore"')
    p0 = dict(p0 or {})
    bounds = dict(bounds or {})
    options = _batch_options(dict(kwargs or {}))
    threads = options.pop("threads", None)
    sigma = options.pop("sigma", None)
    coords = [obj[c] if isinstance(c, str) else c for c in _as_list(coords)]
    reduce, preserved = _fit_dims(obj, coords, reduce_dims)
    _check_per_pixel_dims(p0, bounds, preserved)
    params, signature = _parameters(func, param_names)
    template = _pixels(obj, preserved, reduce)
    starts, lower, upper = _starts_and_bounds(params, signature, p0, bounds, template)
    fit_ndim = len(preserved)

    y = _flat_points(obj.transpose(*preserved, *reduce).data, fit_ndim)
    x, x_per_fit = _coordinates(coords, obj, preserved, reduce)
    inputs = {"xdata": x, "p0": starts, "lb": lower, "ub": upper}
    per_fit = {"xdata": x_per_fit, "p0": starts.ndim > 1, "lb": lower is not None and
               lower.ndim > 1, "ub": upper is not None and upper.ndim > 1}
    if sigma is not None:
        inputs["sigma"], per_fit["sigma"] = _sigma(sigma, obj, preserved, reduce)
    options["x_dims"] = len(coords)
    fixed = _validate.fixed_mask(options.get("fixed"), len(params), params)
    options["fixed"] = fixed  # names of a NumPy function's parameters -> mask
    settings = {"f": func, "options": options, "n_params": len(params),
                "n_free": len(_validate.free_parameters(fixed, len(params))),
                "skipna": bool(skipna), "errors": errors,
                "per_fit": frozenset(k for k, v in per_fit.items() if v)}
    shared = {k: v for k, v in inputs.items() if v is not None and not per_fit[k]}
    blocks = {k: v for k, v in inputs.items() if v is not None and per_fit[k]}
    map_options = _map_options(reseed)
    if map_options is not None:
        if _is_dask(y):
            raise ValueError("reseed needs the data in memory (a pixel's neighbours may lie "
                             "in other Dask chunks): call .load() or .compute() first")
        blocks = {k: np.asarray(v) for k, v in blocks.items()}
        records, settled = _map_block(y, blocks, shared, settings, threads, map_options)
        result = _dataset(obj, template, records, params, preserved)
        result["curvefit_settled_pass"] = (preserved, settled)
        return result
    if _is_dask(y):
        import lmfast.dask

        lmfast.dask.check_now(func, y, fit_ndim, shared, blocks, threads, options)
        records = _lazy_records(y, fit_ndim, blocks, shared, settings, threads)
    else:  # NumPy data: a Dask-backed p0, bound or sigma is brought in memory
        blocks = {k: np.asarray(v) for k, v in blocks.items()}
        records = _pixel_block(y, *blocks.values(), names=tuple(blocks), fit_ndim=fit_ndim,
                               shared=shared, settings=settings, threads=threads)
    return _dataset(obj, template, records, params, preserved)


def _accessor_doc(doc):
    """curvefit's docstring for ``DataArray.lmfast.curvefit``: the data are the DataArray
    the accessor is on, so the ``obj`` entry goes and ``obj`` becomes "the DataArray"."""
    lines = doc.splitlines()
    first = lines.index("    obj : xarray.DataArray")
    last = first + 1
    while lines[last].startswith("        "):  # the entry's description
        last += 1
    lines[:1] = ["Fit ``func`` along the dimensions of ``coords`` at every other index of "
                 "the DataArray."]
    text = "\n".join(lines[:first - 1 + 1] + lines[last:]) + "\n"
    return text.replace("``obj``", "the DataArray")


LmfastAccessor.curvefit.__doc__ = _accessor_doc(curvefit.__doc__)


def _batch_options(kwargs):
    """curvefit's kwargs as curve_fit_batch keywords (TypeError for others)."""
    method = kwargs.pop("method", None)
    if method not in (None, "lm"):
        raise ValueError(f"kwargs: method={method!r}; lmfast fits by Levenberg-Marquardt "
                         "('lm') only, with or without bounds")
    unknown = sorted(set(kwargs) - set(BATCH_KEYWORDS))
    if unknown:
        raise TypeError(f"kwargs: lmfast.curve_fit_batch takes no argument {unknown[0]!r} "
                        f"(it takes {', '.join(BATCH_KEYWORDS)})")
    return kwargs


def _map_options(reseed):
    """curve_fit_map's options of ``reseed`` (None: no reseeding)."""
    if reseed is None or reseed is False:
        return None
    if reseed is True:
        return {}
    if not isinstance(reseed, dict):
        raise TypeError(f"reseed must be True, False or a dict of curve_fit_map options, "
                        f"not {type(reseed).__name__}")
    unknown = sorted(set(reseed) - {"threshold", "max_passes"})
    if unknown:
        raise TypeError(f"reseed: curve_fit_map takes no option {unknown[0]!r} here (only "
                        "threshold and max_passes)")
    return dict(reseed)


def _as_list(value):
    """A str, DataArray or scalar as a one-item list; other iterables as lists."""
    if value is None:
        return []
    if isinstance(value, str | xr.DataArray) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _fit_dims(obj, coords, reduce_dims):
    """(fitted dimensions, the others), both in obj's order."""
    reduce = set(_as_list(reduce_dims))
    unknown = reduce - set(obj.dims)
    if unknown:
        raise ValueError(f"reduce_dims {sorted(map(str, unknown))} are not dimensions of the "
                         f"data {tuple(obj.dims)}")
    for coord in coords:
        reduce.update(d for d in obj.dims if coord.equals(obj[d]))
    if not reduce:
        raise ValueError(
            "No arguments to `coords` were identified as a dimension on the calling "
            "object, and no dims were supplied to `reduce_dims`. This would result "
            "in fitting on scalar data.")
    return [d for d in obj.dims if d in reduce], [d for d in obj.dims if d not in reduce]


def _check_per_pixel_dims(p0, bounds, preserved):
    """ValueError for a per-pixel p0 or bound with a dimension that is fitted over."""
    values = [("Initial guess", name, v) for name, v in p0.items()]
    for name, pair in bounds.items():
        values += [(f"{side} bound", name, v) for side, v in zip(("Lower", "Upper"), pair)]
    for what, name, value in values:
        if isinstance(value, xr.DataArray):
            unexpected = set(value.dims) - set(preserved)
            if unexpected:
                raise ValueError(
                    f"{what} for '{name}' has unexpected dimensions {tuple(unexpected)}. It "
                    f"should only have dimensions that are in data dimensions {preserved}.")


def _parameters(func, param_names):
    """(parameter names, signature parameters of func), as xarray finds them."""
    try:
        signature = inspect.signature(func).parameters
    except (TypeError, ValueError) as exc:
        if not param_names:
            raise ValueError("Unable to inspect `func` signature, and `param_names` was "
                             "not provided.") from exc
        signature = {}
    if param_names:
        return list(param_names), signature
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if any(p.kind in kinds for p in signature.values()):
        raise ValueError("`param_names` must be provided because `func` takes variable "
                         "length arguments.")
    return list(signature)[1:], signature


def _pixels(obj, preserved, reduce):
    """A DataArray over the pixels (the preserved dimensions) with obj's coordinates
    that do not involve a fitted dimension: what per-pixel values align with."""
    coords = {k: v for k, v in obj.coords.items() if set(v.dims) <= set(preserved)}
    shape = [obj.sizes[d] for d in preserved]
    return xr.DataArray(np.broadcast_to(np.float64(0.0), shape), dims=preserved, coords=coords)


def _per_pixel(value, template, name):
    """A scalar as a float, a DataArray as an array over the pixels (exactly aligned with
    them, broadcast, in their order); NumPy or Dask as the DataArray is."""
    if not isinstance(value, xr.DataArray):
        scalar = np.asarray(value, dtype=np.float64)
        if scalar.ndim:
            raise ValueError(f"{name} must be a scalar or a DataArray over the other "
                             f"dimensions; got an array of shape {scalar.shape}")
        return float(scalar)
    try:
        aligned, _ = xr.align(value, template, join="exact")
    except ValueError as exc:
        raise ValueError(f"{name}: its coordinates do not match the data's: {exc}") from None
    return aligned.broadcast_like(template).transpose(*template.dims).data


def _starts_and_bounds(params, signature, p0, bounds, template):
    """p0 as (n,) or (pixels..., n), and lb, ub likewise or None (no bounds): xarray's
    defaults (signature default, else 1; a default outside the bounds moved inside)."""
    starts, lows, highs = [], [], []
    for name in params:
        default = signature[name].default if name in signature else inspect.Parameter.empty
        start = 1.0 if default is inspect.Parameter.empty else float(default)
        low, high = -math.inf, math.inf
        if name in bounds:
            low, high = (_per_pixel(v, template, f"bounds[{name!r}]") for v in bounds[name])
            start = np.where((start < low) | (start > high),
                             _validate.feasible_start(low, high), start)
        if name in p0:
            start = _per_pixel(p0[name], template, f"p0[{name!r}]")
        starts.append(start)
        lows.append(low)
        highs.append(high)
    shape = template.shape
    lower, upper = _stacked(lows, shape), _stacked(highs, shape)
    unbounded = all(np.ndim(v) == 0 and v == -math.inf for v in lows) and \
        all(np.ndim(v) == 0 and v == math.inf for v in highs)
    return _stacked(starts, shape), (None if unbounded else lower), \
        (None if unbounded else upper)


def _stacked(values, shape):
    """Per-parameter values as (n,) when all are scalars, else (pixels..., n)."""
    if all(np.ndim(v) == 0 for v in values):
        return np.array([float(v) for v in values])
    if any(_is_dask(v) for v in values):
        import dask.array as da

        return da.stack([da.broadcast_to(v, shape) for v in values], axis=-1)
    return np.stack([np.broadcast_to(v, shape) for v in values], axis=-1)


def _coordinates(coords, obj, preserved, reduce):
    """(x, per pixel?): (M,) or (k, M) shared; (pixels..., M) or (pixels..., k, M) when a
    coordinate varies over the pixels too."""
    coords = xr.broadcast(*coords)
    coords = [c.broadcast_like(obj, exclude=preserved) for c in coords]
    for c in coords:
        extra = set(c.dims) - set(obj.dims)
        if extra:
            raise ValueError(f"coordinate {c.name!r} has dimensions {tuple(extra)} that the "
                             "data does not have")
    fit_ndim = len(preserved)
    if any(set(c.dims) & set(preserved) for c in coords):
        values = [_flat_points(c.broadcast_like(obj).transpose(*preserved, *reduce).data,
                               fit_ndim) for c in coords]
        return (values[0] if len(values) == 1 else _stack_axis(values, fit_ndim)), True
    values = [np.asarray(c.transpose(*reduce).values, dtype=np.float64).reshape(-1)
              for c in coords]
    return (values[0] if len(values) == 1 else np.stack(values)), False


def _stack_axis(values, axis):
    if any(_is_dask(v) for v in values):
        import dask.array as da

        return da.stack(values, axis=axis)
    return np.stack(values, axis=axis)


def _sigma(sigma, obj, preserved, reduce):
    """(sigma, per pixel?): a scalar; a DataArray over obj's dimensions as (M,), or
    (pixels..., M) when it varies over the pixels too."""
    if not isinstance(sigma, xr.DataArray):
        value = np.asarray(sigma)
        if value.ndim:
            raise ValueError("kwargs: sigma must be a scalar or a DataArray over the data's "
                             f"dimensions; got an array of shape {value.shape}")
        return value, False
    extra = set(sigma.dims) - set(obj.dims)
    if extra:
        raise ValueError(f"kwargs: sigma has dimensions {tuple(extra)} that the data does "
                         "not have")
    if set(sigma.dims) & set(preserved):
        full = sigma.broadcast_like(obj).transpose(*preserved, *reduce).data
        return _flat_points(full, len(preserved)), True
    full = sigma.broadcast_like(obj, exclude=preserved).transpose(*reduce)
    return np.asarray(full.values, dtype=np.float64).reshape(-1), False


def _flat_points(array, fit_ndim):
    """(pixels..., fitted dims...) -> (pixels..., M): the fitted dimensions as one (in one
    chunk each for a Dask array)."""
    shape = array.shape[:fit_ndim] + (math.prod(array.shape[fit_ndim:]),)
    if _is_dask(array):
        array = array.rechunk({axis: -1 for axis in range(fit_ndim, array.ndim)})
    return array.reshape(shape)


def _is_dask(array):
    return type(array).__module__.startswith("dask.")


# --------------------------------------------------------------------------------------
# Fitting the pixels
# --------------------------------------------------------------------------------------


def _lazy_records(y, fit_ndim, blocks, shared, settings, threads):
    """The Dask array of the pixels' records: one task per chunk of pixels."""
    import dask.array as da

    import lmfast.dask

    lmfast.dask.check_travels(settings["f"], settings["options"].get("jac"))
    chunks = y.chunks[:fit_ndim]
    chunked = {}
    for name, value in blocks.items():
        own = tuple((size,) for size in value.shape[fit_ndim:])
        if _is_dask(value):
            chunked[name] = value.rechunk(chunks + own)
        else:
            chunked[name] = da.from_array(value, chunks=chunks + own)
    return lmfast.dask.blockwise_records(
        _dask_pixel_block, y, fit_ndim, chunked, record_dtype(settings["n_params"]),
        shared=shared, settings=settings, threads=threads,
        slice_size=lmfast.dask.slice_fits())


def _dask_pixel_block(y, *blocks, names, fit_ndim, shared, settings, threads, slice_size):
    """One Dask task: the records of a chunk of pixels, a slice at a time (it gives up
    between two slices when its computation is cancelled on a dask.distributed worker)."""
    import lmfast.dask

    return _pixel_block(y, *blocks, names=names, fit_ndim=fit_ndim, shared=shared,
                        settings=settings, threads=lmfast.dask.block_threads(threads),
                        where="of its chunk ", slice_size=slice_size)


def _pixel_block(y, *blocks, names, fit_ndim, shared, settings, threads, where="",
                 slice_size=None):
    """The records (pixels...) of the pixels of y (pixels..., M); with ``slice_size`` (see
    lmfast.dask.in_slices) in slices."""
    shape = y.shape[:fit_ndim]
    count = math.prod(shape)
    inputs = dict(shared)
    for name, block in zip(names, blocks):
        inputs[name] = block.reshape((count, *block.shape[fit_ndim:]))
    y = y.reshape(count, y.shape[-1])
    points, tolerances = [], []

    def fit(rows):
        records, valid_points, tol = _fit_pixels(
            y[rows], _rows_of(inputs, settings["per_fit"], rows), settings, threads)
        points.append(valid_points)
        tolerances.append(tol)
        return records

    if slice_size is None:
        records = fit(slice(None))
    else:
        import lmfast.dask

        records = lmfast.dask.in_slices(count, fit, slice_size)
    tolerance = next((t for t in tolerances if t is not None), None)
    _apply_errors(records, np.concatenate(points), tolerance, settings, shape, where)
    return records.reshape(shape)


def _fit_pixels(y, inputs, settings, threads):
    """(records (count,), valid points per pixel, tolerances) of the fits of y (count, M).

    With skipna each pixel is fitted to its valid points alone, in their order: pixels
    with the same number of valid points form one batch of compacted data (at most M + 1
    batches, however the NaN are spread), so each fit is exactly the fit xarray makes.
    """
    count = y.shape[0]
    records = np.zeros(count, dtype=record_dtype(settings["n_params"]))
    y = np.asarray(y, dtype=np.float64)
    per_fit = settings["per_fit"]
    valid = None
    if settings["skipna"]:
        y, inputs, valid = _without_dropped_points(y, inputs, per_fit)
    m = y.shape[1]
    points = np.full(count, m) if valid is None else valid.sum(axis=1)
    enough = points >= max(settings["n_free"], 1)
    _not_fitted(records, ~enough)
    tolerances = None
    for size in np.unique(points[enough]):
        rows = np.flatnonzero(points == size)
        if rows.size == count:
            rows = slice(None)
        if size == m:
            group_y, group = y[rows], _rows_of(inputs, per_fit, rows)
        else:
            group_y, group = _compacted(y, inputs, per_fit, valid, rows, size)
        result = _batch.curve_fit_batch(
            settings["f"], group["xdata"], group_y, group["p0"], group.get("sigma"),
            bounds=None if group.get("lb") is None else (group["lb"], group["ub"]),
            threads=threads, **settings["options"])
        records[rows] = records_of(result)
        tolerances = result._tolerances
    return records, points, tolerances


def _map_block(y, blocks, shared, settings, threads, map_options):
    """(records (pixels...), settled pass (pixels...)) of every pixel of y (pixels..., M)
    fitted by curve_fit_map over the grid of the pixels (one pixel: a grid of one)."""
    fit_ndim = y.ndim - 1
    shape = y.shape[:fit_ndim]
    grid = shape or (1,)
    count = math.prod(shape)
    inputs = dict(shared)
    for name, block in blocks.items():
        inputs[name] = block.reshape((count, *block.shape[fit_ndim:]))
    y = np.asarray(y, dtype=np.float64).reshape(count, y.shape[-1])
    per_fit = settings["per_fit"]
    valid = None
    if settings["skipna"]:
        y, inputs, valid = _without_dropped_points(y, inputs, per_fit)
        if not valid.all():
            first = int(np.argmax(~valid.all(axis=1)))
            raise ValueError(
                f"reseed fits every pixel on the same points, but pixel "
                f"{_index(first, shape)} has NaN values: remove those points, or pass "
                "skipna=False (such a pixel's fit then fails)")
    m = y.shape[1]
    records = np.zeros(count, dtype=record_dtype(settings["n_params"]))
    settled = np.zeros(count, dtype=np.int64)
    tolerances = None
    if m < max(settings["n_free"], 1):
        _not_fitted(records, slice(None))
    else:
        def gridded(name):
            value = inputs.get(name)
            if name not in per_fit or value is None:
                return value
            return value.reshape(grid + value.shape[1:])

        result = _map.curve_fit_map(
            settings["f"], gridded("xdata"), y.reshape(grid + (m,)), gridded("p0"),
            gridded("sigma"), bounds=None if inputs.get("lb") is None
            else (gridded("lb"), gridded("ub")),
            threads=threads, **settings["options"], **map_options)
        records = records_of(result.fits)
        settled = result.settled_pass.reshape(count)
        tolerances = result.fits._tolerances
    _apply_errors(records, np.full(count, m), tolerances, settings, shape, "")
    return records.reshape(shape), settled.reshape(shape)


def _rows_of(inputs, per_fit, rows):
    """The inputs of the pixels ``rows`` (per-pixel ones sliced, shared ones as they are)."""
    return {name: value[rows] if name in per_fit else value
            for name, value in inputs.items()}


def _compacted(y, inputs, per_fit, valid, rows, size):
    """(y, inputs) of the pixels ``rows``, each reduced to its ``size`` valid points in
    their order; xdata and sigma follow (per pixel, unless all these pixels keep the
    same points)."""
    keep = valid[rows]
    group = _rows_of(inputs, per_fit, rows)
    if (keep == keep[0]).all():
        columns = np.flatnonzero(keep[0])
        for name in ("xdata", "sigma"):
            if np.ndim(group.get(name)):
                group[name] = group[name][..., columns]
        return y[rows][:, columns], group
    columns = np.nonzero(keep)[1].reshape(len(keep), size)  # each row's, in order
    x = group["xdata"]
    if "xdata" in per_fit:
        at = columns if x.ndim == 2 else columns[:, np.newaxis, :]
        group["xdata"] = np.take_along_axis(x, at, axis=-1)
    else:  # shared (M,) or (k, M) -> per pixel (count, size) or (count, k, size)
        group["xdata"] = x[columns] if x.ndim == 1 else x[:, columns].transpose(1, 0, 2)
    sigma = group.get("sigma")
    if np.ndim(sigma):
        group["sigma"] = (np.take_along_axis(sigma, columns, axis=1) if "sigma" in per_fit
                          else sigma[columns])
    return np.take_along_axis(y[rows], columns, axis=1), group


def _without_dropped_points(y, inputs, per_fit):
    """(y, inputs, valid): valid (count, M) marks the points each pixel keeps, as xarray
    keeps them (y not NaN, and some coordinate not NaN); points where no shared
    coordinate is a number are removed for every pixel at once."""
    x = inputs["xdata"]
    valid = ~np.isnan(y)
    if "xdata" in per_fit:
        valid &= ~np.isnan(x) if x.ndim == 2 else (~np.isnan(x)).any(axis=1)
        return y, inputs, valid
    has_x = ~np.isnan(x) if x.ndim == 1 else (~np.isnan(x)).any(axis=0)
    if not has_x.all():
        keep = np.flatnonzero(has_x)
        inputs = {**inputs, "xdata": x[..., keep]}
        if np.ndim(inputs.get("sigma")) and "sigma" not in per_fit:
            inputs["sigma"] = inputs["sigma"][keep]
        elif "sigma" in per_fit:
            inputs["sigma"] = inputs["sigma"][:, keep]
        y, valid = y[:, keep], valid[:, keep]
    return y, inputs, valid


def _not_fitted(records, rows):
    """Pixels with fewer valid points than free parameters: no fit, ier 0 (improper
    input, MINPACK's code for M < n), NaN."""
    for name in ("popt", "pcov", "chisq"):
        records[name][rows] = np.nan
    records["ier"][rows] = 0
    records["nfev"][rows] = records["njev"][rows] = 0


def _apply_errors(records, points, tolerances, settings, shape, where):
    """errors='raise': raise for the first pixel that failed; 'ignore': NaN coefficients
    and covariance where a fit failed.  Pixels without a single valid point are NaN
    either way (as xarray leaves them)."""
    failed = ~np.isin(records["ier"], sorted(SUCCESS))
    if settings["errors"] == "ignore":
        records["popt"][failed] = np.nan
        records["pcov"][failed] = np.nan
        return
    n_free = settings["n_free"]
    too_few = (points > 0) & (points < n_free)
    if too_few.any():
        i = int(np.argmax(too_few))
        raise ValueError(
            f"curvefit: pixel {_index(i, shape)} {where}has {points[i]} valid points for "
            f"{n_free} free parameters; pass errors='ignore' to get NaN for it")
    bad = failed & (points > 0)
    if bad.any():
        i = int(np.argmax(bad))
        ier = int(records["ier"][i])
        raise RuntimeError(
            f"curvefit: the fit of pixel {_index(i, shape)} {where}failed (ier={ier}: "
            f"{message(ier, tolerances)}); pass errors='ignore' to get NaN for it")


def _index(i, shape):
    return tuple(int(k) for k in np.unravel_index(i, shape)) if shape else ()


def _dataset(obj, template, records, params, preserved):
    """The Dataset of xarray's curvefit (plus ier and chisq) from the pixels' records."""

    def field(name):
        values = records[name]
        return values if _is_dask(values) else np.array(values)  # a compact copy

    data = {
        "curvefit_coefficients": ([*preserved, "param"], field("popt")),
        "curvefit_covariance": ([*preserved, "cov_i", "cov_j"], field("pcov")),
        "curvefit_ier": (preserved, field("ier")),
        "curvefit_chisq": (preserved, field("chisq")),
    }
    result = xr.Dataset(data, coords=template.coords)
    result = result.assign_coords(param=params, cov_i=params, cov_j=params)
    result.attrs = {}  # as xarray: a DataArray's attributes stay on the DataArray
    return result
