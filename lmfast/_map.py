"""``curve_fit_map``: a batch over the pixels of a grid, then neighbour reseeding.

The first pass fits every pixel from the given p0 with one :func:`lmfast.curve_fit_batch`
call.  Each reseeding pass then refits, again in one batch call, every pixel that looks
wrong next to its neighbours, starting from the solution of its best converged
neighbour, and keeps a refit only where it lowers the pixel's chi-square.  Good
solutions so spread across the map one ring of pixels per pass, all pixels of a ring at
once (the serpentine path of hyperspy or pyspeckit visits them one at a time).
"""

import itertools
import math

import numpy as np

from lmfast import _batch, _validate
from lmfast._batch_result import RESULT_FIELDS
from lmfast._map_result import MapResult
from lmfast._outcomes import NOT_COUNTS

__all__ = ["curve_fit_map"]

#: curve_fit_batch keywords that curve_fit_map passes on as they are.
BATCH_OPTIONS = ("estimator", "loss", "f_scale", "ftol", "xtol", "gtol", "maxfev", "epsfcn",
                 "factor", "threads", "progress", "chunk_size")
#: A refit replaces a converged fit only if it lowers chi-square by more than this
#: fraction: a refit that lands on the same minimum (within the tolerances) is not news
#: for the neighbours.
IMPROVEMENT = 1e-9


def curve_fit_map(f, xdata, ydata, p0, sigma=None, absolute_sigma=False, jac=None, *,
                  bounds=None, fixed=None, x_dims=None, threshold=2.0, max_passes=None,
                  **options):
    """Fit every pixel of a map, then refit doubtful pixels from their neighbours' solutions.

    One :func:`lmfast.curve_fit_batch` call fits every pixel from ``p0``.  Then, pass
    after pass, the pixels that are doubtful are refitted (one batch call per pass, all
    of them at once), each starting from the solution of a converged *neighbour* (one of
    the ``3**d - 1`` pixels that differ from it by at most one along each of the d grid
    axes), the one with the lowest chi-square first.  A pixel is doubtful when

    * its fit did not converge (ier not 1-4), or
    * its chi-square is more than ``threshold`` times a converged neighbour's,

    and it starts from the solution of the best such neighbour whose current solution it
    has not tried yet (so each pass tries the next one when the best did not help).  A
    refit is kept only if it converged and lowers the chi-square (or the pixel had not
    converged).  The passes stop when a pass keeps no refit, or after ``max_passes``.
    Pixels that are never refitted, or whose refits are not kept, hold exactly their
    first-pass fit.

    Parameters
    ----------
    f : lmfast.models.Model or callable
        The model, as for :func:`lmfast.curve_fit_batch`.
    xdata : array_like
        Shared, (M,) or (k, M); or one per pixel, ``(*grid, M)`` or ``(*grid, k, M)``.
    ydata : array_like, shape ``(*grid, M)``
        One data set per pixel of a grid of one or more dimensions.
    p0 : array_like, shape (n,) or ``(*grid, n)``
        Starting parameters of the first pass, shared or one per pixel.
    sigma : None, scalar or array_like, shape (M,) or ``(*grid, M)``
        Standard deviations of ydata, as for curve_fit_batch.
    absolute_sigma : bool
        As for :func:`lmfast.curve_fit_batch`.
    jac : callable, optional
        A Python model's Jacobian, as for :func:`lmfast.curve_fit_batch`.
    bounds : None or (lb, ub)
        Each of lb and ub a scalar, (n,) or ``(*grid, n)``.  A start outside a pixel's own
        bounds (a neighbour's solution under other bounds) leaves that pixel as it was.
    fixed : sequence of bool or of str, optional
        Parameters held at the pixel's own p0, in the reseeding passes as well (only the
        free parameters are taken from the neighbour).
    x_dims : int or None
        As for curve_fit_batch.
    threshold : float
        A converged pixel is refitted when its chi-square exceeds ``threshold`` times
        its best converged neighbour's.  The chi-squares of two neighbouring correct
        fits of M points and n parameters with the same noise differ by about
        ``2 / sqrt(M - n)`` relative (one standard deviation), so the default 2 flags
        wrong minima (a missed peak: many times the noise chi-square) and, unless M is
        small, few correct fits; a flagged correct fit costs one refit and is kept as it
        was.  Must be >= 1.
    max_passes : int or None
        At most this many reseeding passes after the first pass; 0 runs the first pass
        alone.  None: the sum of the grid's lengths (a solution spreads one pixel per
        pass, also around corners).
    **options
        ``estimator``, ``loss``, ``f_scale``, ``ftol``, ``xtol``, ``gtol``, ``maxfev``,
        ``epsfcn``, ``factor``, ``threads``, ``chunk_size`` for every pass, as for
        curve_fit_batch; ``progress`` shows the first pass's bar.

    Returns
    -------
    MapResult
        popt, perr, pcov, chisq, ier, success, nfev, njev and at_bound shaped like the
        grid, ``settled_pass`` (the pass that settled each pixel, 0 for the first), the
        number of reseeding ``passes`` and of ``refits``, and ``fits``: the same fits
        as a flat :class:`lmfast.BatchResult`.

    Raises
    ------
    TypeError, ValueError
        The mistakes curve_fit_batch raises for, before any fit; ydata without a grid
        (1-D); a threshold below 1; a max_passes that is not an integer >= 0; a keyword
        curve_fit_batch does not take.  An exception raised by a Python model
        propagates unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from lmfast import curve_fit_map, models
    >>> x = np.linspace(0.0, 100.0, 200)
    >>> centres = np.linspace(20.0, 80.0, 40)  # the peak drifts by 40 widths
    >>> Y = np.array([models.gaussian(x, 1.0, c, 1.5, 0.0) for c in centres])
    >>> res = curve_fit_map(models.gaussian, x, Y, [1.0, 20.0, 1.5, 0.0])
    >>> bool(np.allclose(res.popt[:, 1], centres))
    True
    """
    ydata = _validate.real_array("ydata", ydata)
    if ydata.ndim < 2:
        raise ValueError(f"ydata must be (*grid, M), a grid of one or more dimensions of "
                         f"M points each; got shape {ydata.shape} (one fit: use curve_fit)")
    grid = ydata.shape[:-1]
    count, m = math.prod(grid), ydata.shape[-1]
    threshold = float(threshold)
    if not 1.0 <= threshold < math.inf:
        raise ValueError(f"threshold must be a number >= 1 (a chi-square ratio); got "
                         f"{threshold}")
    max_passes = (sum(grid) if max_passes is None
                  else _validate.integer("max_passes", max_passes, 0))
    unknown = sorted(set(options) - set(BATCH_OPTIONS))
    if unknown:
        raise TypeError(f"curve_fit_map got an unexpected keyword argument {unknown[0]!r} "
                        f"(it passes on {', '.join(BATCH_OPTIONS)})")
    _, _, x_dims = _validate.batch_model(f, jac, x_dims)
    xdata, x_dims = _pixel_xdata(xdata, grid, x_dims)
    p0, sigma = _pixels_first(p0, grid), _pixels_first(sigma, grid)
    if bounds is not None:
        bounds = tuple(_pixels_first(side, grid) for side in _validate.bounds_sides(bounds))
    ydata = ydata.reshape(count, m)

    first = _batch.curve_fit_batch(f, xdata, ydata, p0, sigma, absolute_sigma, jac,
                                   bounds=bounds, fixed=fixed, x_dims=x_dims, **options)
    # The first pass validated everything: read the per-pixel layout from the same checks.
    n = first.popt.shape[1]
    xdata, x_per_pixel, x_dims = _validate.batch_xdata(xdata, count, m, x_dims)
    inputs = {"xdata": xdata, "p0": np.broadcast_to(_validate.real_array("p0", p0), (count, n))}
    per_pixel = {"xdata"} if x_per_pixel else set()
    per_pixel.add("p0")
    if sigma is not None:
        inputs["sigma"] = _validate.real_array("sigma", sigma)
        if inputs["sigma"].ndim == 2:
            per_pixel.add("sigma")
    lower, upper = _validate.batch_bounds(bounds, count, n)
    if lower is not None:
        inputs["lb"], inputs["ub"] = lower, upper
        if lower.ndim == 2:
            per_pixel.update(("lb", "ub"))
    names = _validate.parameter_names(f, n) or _validate.default_names(n)
    mask = _validate.fixed_mask(fixed, n, names)
    options.pop("progress", None)

    def refit(rows, starts):
        """The batch of the pixels ``rows`` from ``starts`` (K, n)."""
        part = {k: v[rows] if k in per_pixel else v for k, v in inputs.items()}
        if mask is not None:
            starts[:, mask] = part["p0"][:, mask]
        return _batch.curve_fit_batch(
            f, part["xdata"], ydata[rows], starts, part.get("sigma"), absolute_sigma, jac,
            bounds=(part["lb"], part["ub"]) if "lb" in part else None, fixed=mask,
            x_dims=x_dims, **options)

    settled, passes, refits = _reseed(first, neighbour_table(grid), refit, threshold,
                                      max_passes)
    return MapResult(first, grid, settled, passes, refits)


def _reseed(fits, neighbours, refit, threshold, max_passes):
    """Run the reseeding passes on ``fits`` (a BatchResult, updated in place).

    Returns (pass that settled each pixel, passes run, fits run).
    """
    count = len(fits)
    settled = np.zeros(count, dtype=np.int64)
    outside = neighbours < 0
    around = np.where(outside, 0, neighbours)
    # For each pixel and neighbour, the pass of the neighbour's solution the pixel last
    # started from (-1: none): a pixel tries each solution once, the best first, so a
    # neighbour whose solution does not help (a dead pixel, say) does not hold it back.
    tried = np.full(neighbours.shape, -1, dtype=np.int32)
    refittable = fits.ier != NOT_COUNTS  # data that no start can fit
    passes = refits = 0
    for current in range(1, max_passes + 1):
        converged = fits.success & np.isfinite(fits.chisq)
        chisq = np.where(converged, fits.chisq, np.inf)
        around_chisq = np.where(outside, np.inf, chisq[around])
        with np.errstate(invalid="ignore"):
            # doubtful next to this neighbour: not converged, or chi-square above
            # threshold times the neighbour's (never next to a non-converged one)
            worse = (~converged)[:, np.newaxis] | (
                fits.chisq[:, np.newaxis] > threshold * around_chisq)
        usable = worse & np.isfinite(around_chisq) & refittable[:, np.newaxis]
        usable &= tried != settled[around]
        column = np.argmin(np.where(usable, around_chisq, np.inf), axis=1)
        todo = np.flatnonzero(usable[np.arange(count), column])
        if not todo.size:
            break
        source = around[todo, column[todo]]
        tried[todo, column[todo]] = settled[source]
        result = refit(todo, fits.popt[source])
        passes, refits = current, refits + todo.size
        was = fits.chisq[todo]
        with np.errstate(invalid="ignore"):
            better = result.success & np.isfinite(result.chisq) & (
                ~converged[todo] | (result.chisq < was - IMPROVEMENT * np.abs(was)))
        if not better.any():
            break
        keep = todo[better]
        for name in RESULT_FIELDS:
            getattr(fits, name)[keep] = getattr(result, name)[better]
        settled[keep] = current
    return settled, passes, refits


def neighbour_table(grid):
    """(pixels, 3**d - 1) flat indices of each pixel's neighbours on a grid of shape
    ``grid`` (C order), -1 past the grid's edges."""
    grid = tuple(grid)
    index = np.indices(grid).reshape(len(grid), -1)
    offsets = [o for o in itertools.product((-1, 0, 1), repeat=len(grid)) if any(o)]
    table = np.full((index.shape[1], len(offsets)), -1, dtype=np.intp)
    size = np.array(grid)[:, np.newaxis]
    for k, offset in enumerate(offsets):
        moved = index + np.array(offset)[:, np.newaxis]
        inside = ((moved >= 0) & (moved < size)).all(axis=0)
        table[inside, k] = np.ravel_multi_index(tuple(moved[:, inside]), grid)
    return table


def _pixels_first(value, grid):
    """A per-pixel argument (*grid, ...) of a grid of 2 or more dimensions as (pixels,
    ...); anything else as it is (curve_fit_batch checks it).  A shared value has
    fewer dimensions than a per-pixel one, so the two cannot be confused."""
    if value is None or len(grid) < 2:
        return value
    arr = np.asarray(value)
    if arr.ndim > len(grid) and arr.shape[:len(grid)] == grid:
        return arr.reshape(math.prod(grid), *arr.shape[len(grid):])
    return value


def _pixel_xdata(xdata, grid, x_dims):
    """(xdata with its pixels first, x_dims): per-pixel xdata of a grid of 2 or more
    dimensions says its own x_dims (a flattened (pixels, M) array would be ambiguous)."""
    flat = _pixels_first(xdata, grid)
    if flat is xdata or x_dims is not None:
        return flat, x_dims
    return flat, 1 if flat.ndim == 2 else flat.shape[1]
