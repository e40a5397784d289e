"""One validator: user arguments in, one problem description (``_problem.Problem``) out.

The front ends build the Problem from what these functions return.

Every front end converts and checks its inputs here, so the rules are the same wherever
they apply: float64 conversion, sigma to weights, the shapes of xdata, ydata and p0,
tolerances and limits, threads and chunk sizes.  ``leastsq`` and ``curve_fit`` keep
SciPy's behaviour where SciPy defines it (its exception classes and messages);
``curve_fit_batch`` raises for batch-wide mistakes before any work.
"""
import inspect
import math
import operator
import os
import sys

import numpy as np

from lmfast import _defaults
from lmfast._linalg import invert_upper
from lmfast._transform import WIDE_BOUNDS

_REAL_KINDS = "biuf"


def real_array(name, value):
    """``value`` as a C-contiguous float64 array.

    Booleans, integers and floats of any width are converted; complex numbers, objects
    and strings raise TypeError naming the argument (``real_dtype``).
    """
    arr = np.asarray(value)
    real_dtype(name, arr.dtype)
    return np.asarray(arr, dtype=np.float64, order="C")  # keeps a 0-d array 0-d


def real_dtype(name, dtype):
    """TypeError naming the argument unless ``dtype`` holds real numbers (booleans,
    integers or floats of any width)."""
    if dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers; got {_dtype_words(dtype)}")


def _dtype_words(dtype):
    return "complex values" if dtype.kind == "c" else f"dtype {dtype}"


def check_finite(arr):
    """Raise ValueError (SciPy's message) if the float array has a NaN or inf."""
    flat = arr if arr.ndim == 1 else arr.ravel()
    # A finite sum of squares proves every entry finite (one BLAS call); NaN, inf or an
    # overflow (entries beyond 1e154) fall through to the exact test.
    if not math.isfinite(flat.dot(flat)) and not np.isfinite(flat).all():
        raise ValueError("array must not contain infs or NaNs")


def model_values(name, values, shape):
    """What a Python model returned, as float64 of ``shape``; complex values raise
    TypeError and a wrong shape TypeError (the caller adds how to fix it)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} returned {_dtype_words(arr.dtype)}; the model must return "
                        "real numbers")
    if arr.shape != shape:
        raise ValueError(f"{name} returned shape {arr.shape}, expected {shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


# --------------------------------------------------------------------------------------
# sigma
# --------------------------------------------------------------------------------------


def single_weights(sigma, m):
    """(weights, whiten) for one fit's sigma, at most one not None.

    A scalar or (m,) sigma gives ``weights = 1 / sigma`` as an (m,) array; an (m, m)
    covariance gives ``whiten = inv(L)`` with ``sigma = L @ L.T``.  Other shapes raise
    ValueError (SciPy's message).
    """
    if sigma is None:
        return None, None
    sigma = np.asarray(sigma)
    if sigma.size == 1 or sigma.shape == (m,):
        real_dtype("sigma", sigma.dtype)
        # 1 / sigma in sigma's own precision, as SciPy forms it (exact in float64 after).
        weights = np.asarray(1.0 / sigma, dtype=np.float64).reshape(-1)
        return np.ascontiguousarray(np.broadcast_to(weights, (m,))), None
    if sigma.shape != (m, m):
        raise ValueError("`sigma` has incorrect shape.")
    return None, whitening(real_array("sigma", sigma))


def whitening(covariance):
    """inv(L) for a covariance matrix ``L @ L.T`` (ValueError if not positive definite)."""
    check_finite(covariance)
    try:
        lower = np.linalg.cholesky(covariance)  # reads the lower triangle only, as SciPy's
    except np.linalg.LinAlgError as exc:
        raise ValueError("`sigma` must be positive definite.") from exc
    # One triangular inverse (LAPACK dtrtri) instead of a triangular solve per evaluation:
    # inv(L) = inv(L.T).T, and L.T copied to Fortran order is what dtrtri overwrites.
    upper = lower.T.copy(order="F")
    invert_upper(upper)
    return np.ascontiguousarray(upper.T)


def batch_weights(sigma, n_fits, m):
    """1 / sigma for a batch: None, or (m,) shared, or (N, m) per fit.

    sigma may be a scalar, (m,) or (N, m) standard deviations (``batch_sigma_shape``).
    """
    if sigma is None:
        return None
    sigma = real_array("sigma", sigma)
    batch_sigma_shape(sigma, n_fits, m)
    if sigma.ndim == 0:
        sigma = np.full(m, sigma)
    # A zero sigma gives an infinite weight: that fit alone ends with ier -2.
    with np.errstate(divide="ignore"):
        return 1.0 / sigma


# --------------------------------------------------------------------------------------
# Shapes of a batch
#
# Each array argument of a batch has a shape-only check (``batch_*_shape``,
# ``x_layout``) that reads nothing but its ``dtype`` and ``shape``: the eager function
# runs it on the converted array, lmfast.dask on a lazy (Dask) one before any chunk is
# computed, so both raise the same errors in the same words.
# --------------------------------------------------------------------------------------


def batch_ydata(ydata):
    """ydata as (N, M) float64, M >= 1 (``batch_ydata_shape``)."""
    ydata = real_array("ydata", ydata)
    batch_ydata_shape(ydata)
    return ydata


def batch_ydata_shape(ydata):
    """(N, M) of a batch's ydata (any array), from its dtype and shape alone: real
    numbers, 2-D, M >= 1."""
    real_dtype("ydata", ydata.dtype)
    if ydata.ndim != 2:
        raise ValueError(f"ydata must be 2-D, (N fits, M points); got shape {ydata.shape}")
    if ydata.shape[1] == 0:
        raise ValueError(f"ydata must have at least one point per fit; got shape "
                         f"{ydata.shape}")
    return ydata.shape


def batch_p0(p0, n_fits, model):
    """p0 as (n,) shared or (N, n) per fit, float64 (``batch_p0_shape``)."""
    p0 = real_array("p0", p0)
    batch_p0_shape(p0, n_fits, model)
    return p0


def batch_p0_shape(p0, n_fits, model):
    """n of a batch's p0 (any array), from its dtype and shape alone: real numbers, (n,)
    shared or (N, n) per fit, n >= 1 and a compiled model's own n."""
    real_dtype("p0", p0.dtype)
    if p0.ndim not in (1, 2) or (p0.ndim == 2 and p0.shape[0] != n_fits):
        raise ValueError(f"p0 must have shape (n,) or (N, n) = ({n_fits}, n); got {p0.shape}")
    if p0.shape[-1] == 0:
        raise ValueError(f"p0 must hold at least one parameter; got shape {p0.shape}")
    if model is not None:
        model_p0_length(model, p0.shape[-1])
    return p0.shape[-1]


def batch_sigma_shape(sigma, n_fits, m):
    """Whether a batch's sigma (any array) is one row per fit, from its dtype and shape
    alone: real numbers, a scalar or (M,) shared, or (N, M) per fit.  A covariance sigma
    is not supported in batches (an (N, M) sigma with N == M is read as one row per
    fit)."""
    real_dtype("sigma", sigma.dtype)
    if sigma.ndim and sigma.shape not in ((m,), (n_fits, m)):
        if sigma.shape == (m, m):
            raise ValueError(
                f"sigma of shape ({m}, {m}) looks like a covariance matrix, which "
                "curve_fit_batch does not support: pass standard deviations, (M,) or "
                f"(N, M) = ({n_fits}, {m})")
        raise ValueError(f"sigma must be a scalar or have shape (M,) = ({m},) or "
                         f"(N, M) = ({n_fits}, {m}); got {sigma.shape}")
    return sigma.ndim == 2


def compiled_model(f, jac):
    """The lmfast model ``f`` when it runs compiled (jac None, or the model's own jac),
    else None.  Asking for the Jacobian of a model that has none raises ValueError."""
    if getattr(f, "_compiled", None) is None or not (jac is None or jac == f.jac):
        return None
    if jac is not None and not f.has_jacobian:
        raise ValueError(f"the model {f.name} has no Jacobian (from_cfunc without jac): "
                         "leave jac=None to use forward differences")
    return f


def batch_model(f, jac, x_dims):
    """(model, compiled, x_dims) of curve_fit_batch's f, jac and x_dims: the lmfast Model
    f (None for another callable), whether it runs compiled (``compiled_model``), and the
    rows of x it reads (a Model's own; for another callable x_dims as given, maybe None).

    TypeError unless f is callable and jac None or callable; ValueError for an x_dims
    other than a Model's own.
    """
    from lmfast.models import Model  # lmfast.models imports this module

    model = f if isinstance(f, Model) else None
    compiled = compiled_model(f, jac) is not None
    if not callable(f):
        raise TypeError(f"f must be a lmfast.models model or a callable, not {type(f).__name__}")
    if jac is not None and not callable(jac):
        raise TypeError(f"jac must be None or a callable, not {type(jac).__name__}")
    if model is not None:
        if x_dims is not None and x_dims != model.x_dims:
            raise ValueError(f"x_dims={x_dims} but the model {model.name} reads "
                             f"{model.x_dims} row(s) of x")
        x_dims = model.x_dims
    return model, compiled, x_dims


def model_p0_length(model, n):
    """ValueError unless a compiled model takes n parameters."""
    if n != model.n_params:
        raise ValueError(
            f"p0 has {n} parameters but the model {model.name} takes {model.n_params} "
            f"({', '.join(model.param_names)})")


def batch_xdata(xdata, n_fits, m, x_dims):
    """Return (xdata as float64, whether it is one per fit, x_dims) (``x_layout``)."""
    x = real_array("xdata", xdata)
    return (x, *x_layout(x, n_fits, m, x_dims))


def x_layout(xdata, n_fits, m, x_dims):
    """(whether a batch's xdata (any array) is one per fit, x_dims), from its dtype and
    shape alone.

    Shared: (M,) or (k, M); one per fit: (N, M) or (N, k, M).  ``x_dims`` (k) is known
    for a compiled model and may be given for a Python one; a 2-D xdata whose first
    length is N cannot be told apart from a shared k-D one without it, and raises.
    """
    real_dtype("xdata", xdata.dtype)
    shape = tuple(xdata.shape)
    if not shape or shape[-1] != m:
        raise ValueError(
            f"xdata must end with the M={m} points of ydata (shape (M,), (k, M), (N, M) "
            f"or (N, k, M)); got shape {shape}")
    if x_dims is not None:
        x_dims = operator.index(x_dims)
        if x_dims < 1:
            raise ValueError(f"x_dims must be a positive integer, not {x_dims}")
        one = x_shape(x_dims, m)
        if shape == one:
            return False, x_dims
        if shape == (n_fits, *one):
            return True, x_dims
        raise ValueError(f"xdata for a model of x_dims={x_dims} must have shape {one} "
                         f"(shared) or {(n_fits, *one)} (one per fit); got {shape}")
    if len(shape) == 1:
        return False, 1
    if len(shape) == 3:
        if shape[0] != n_fits:
            raise ValueError(f"xdata of shape {shape} does not match N={n_fits} fits")
        return True, shape[1]
    if len(shape) > 3:
        raise ValueError(f"xdata must have 1 to 3 dimensions; got shape {shape}")
    if shape[0] != n_fits:
        return False, shape[0]
    if n_fits <= 1:
        return True, 1  # (1, M) or (0, M): the same data read either way
    raise ValueError(
        f"xdata of shape {shape} can be one row per fit (N={n_fits}) or a shared "
        f"{shape[0]}-D coordinate: pass x_dims=1 for one row per fit, or "
        f"x_dims={shape[0]} for shared coordinates")


def x_shape(x_dims, m):
    """The shape of one fit's xdata for a model that reads x_dims rows of M points:
    (M,) for one row, else (x_dims, M)."""
    return (m,) if x_dims == 1 else (x_dims, m)


# --------------------------------------------------------------------------------------
# Bounds and fixed parameters
# --------------------------------------------------------------------------------------


def bounds_pair(bounds):
    """(lb, ub) of ``bounds_sides`` as float64 arrays (not yet broadcast)."""
    lb, ub = bounds_sides(bounds)
    return real_array("bounds", lb), real_array("bounds", ub)


def bounds_sides(bounds):
    """(lb, ub) from a 2-sequence or an object with ``lb`` and ``ub`` (such as
    ``scipy.optimize.Bounds``), unconverted (a Dask array stays one); None leaves a side
    open, as in SciPy."""
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb, ub = bounds.lb, bounds.ub
    else:
        lb, ub = bounds  # SciPy's own ValueError/TypeError for anything else
    return (-np.inf if lb is None else lb), (np.inf if ub is None else ub)


def single_bounds(bounds, n):
    """(lb, ub) as (n,) float64 arrays for one fit, or (None, None) when no side of
    any parameter is bounded.  SciPy's rules: scalars stand for all n parameters; each
    lower bound must be strictly below its upper bound."""
    lb, ub = bounds_pair(bounds)
    try:
        lb = np.ascontiguousarray(np.broadcast_to(lb, (n,)))
        ub = np.ascontiguousarray(np.broadcast_to(ub, (n,)))
    except ValueError:
        raise ValueError(f"bounds must be scalars or have one entry per parameter "
                         f"(n={n}); got shapes {lb.shape} and {ub.shape}") from None
    return _checked_bounds(lb, ub)


def batch_bounds(bounds, n_fits, n):
    """(lb, ub) for a batch: (n,) shared or (N, n) per fit, or (None, None)."""
    if bounds is None:
        return None, None
    lb, ub = bounds_pair(bounds)
    shape = batch_bounds_shape(lb, ub, n_fits, n)
    lb = np.ascontiguousarray(np.broadcast_to(lb, shape))
    ub = np.ascontiguousarray(np.broadcast_to(ub, shape))
    return _checked_bounds(lb, ub)


def batch_bounds_shape(lb, ub, n_fits, n):
    """The shape of a batch's bounds, (n,) shared or (N, n) per fit, from the dtypes and
    shapes of lb and ub (any arrays) alone: real numbers, each a scalar, (n,) or (N, n)."""
    real_dtype("bounds", lb.dtype)
    real_dtype("bounds", ub.dtype)
    shapes = ((), (n,), (n_fits, n))
    if lb.shape not in shapes or ub.shape not in shapes:
        raise ValueError(f"bounds must be scalars, (n,) = ({n},) or (N, n) = ({n_fits}, "
                         f"{n}); got shapes {lb.shape} and {ub.shape}")
    return (n_fits, n) if (n_fits, n) in (lb.shape, ub.shape) else (n,)


def _checked_bounds(lb, ub):
    bad = ~(lb < ub)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise ValueError(f"Each lower bound must be strictly less than each upper bound: "
                         f"lb = {lb[tuple(where)]} and ub = {ub[tuple(where)]} for "
                         f"{'parameter' if lb.ndim == 1 else '(fit, parameter)'} "
                         f"{int(where[0]) if lb.ndim == 1 else tuple(int(k) for k in where)}")
    if np.isinf(lb).all() and np.isinf(ub).all() and (lb < 0).all() and (ub > 0).all():
        return None, None
    return lb, ub


def feasible_start(lb, ub):
    """SciPy's default p0 within bounds: the middle of two finite bounds, one inside a
    single finite bound, 1 where a parameter is unbounded.  Elementwise, for scalars and
    NumPy or Dask arrays alike (a float64 array of their broadcast shape)."""
    low, high = np.isfinite(lb), np.isfinite(ub)
    with np.errstate(invalid="ignore"):  # -inf + inf where unbounded (not taken)
        return np.where(low, np.where(high, 0.5 * (lb + ub), lb + 1.0),
                        np.where(high, ub - 1.0, 1.0))


def p0_within(p0, lb, ub, names=None):
    """ValueError naming the first parameter of p0 outside [lb, ub] (or NaN)."""
    bad = ~((p0 >= lb) & (p0 <= ub))
    if bad.any():
        raise ValueError(p0_outside_message(p0, lb, ub, int(np.argmax(bad)), names))


def p0_outside(p0, lb, ub):
    """Per fit, the index of the first parameter of p0 outside [lb, ub] (or NaN), -1
    where there is none; p0, lb, ub broadcast to (N, n)."""
    with np.errstate(invalid="ignore"):
        bad = ~((p0 >= lb) & (p0 <= ub))
    bad = np.atleast_2d(bad)
    return np.where(bad.any(axis=-1), np.argmax(bad, axis=-1), -1)


def p0_outside_message(p0, lb, ub, j, names=None):
    """The words for parameter j of p0 outside its bounds, the same for one fit (a
    ValueError) and for a fit of a batch (its message)."""
    name = f" ({names[j]})" if names else ""
    return (f"p0 is outside the bounds: parameter {j}{name} = {p0[j]} is not "
            f"in [{lb[j]}, {ub[j]}]")


def bounds_resolvable(p0, lb, ub, names=None):
    """ValueError when a bound is too far from p0 for the change of variables to resolve
    the parameter (lmfast._transform): one finite bound, or the nearest of two bounds
    and their middle, more than WIDE_BOUNDS * max(|p0|, 1) away.  p0, lb, ub broadcast
    ((n,) or (N, n))."""
    scale = WIDE_BOUNDS * np.maximum(np.abs(p0), 1.0)
    low, high = np.isfinite(lb), np.isfinite(ub)
    with np.errstate(invalid="ignore", over="ignore"):
        nearest = np.where(low & high,
                           np.minimum(np.minimum(np.abs(lb), np.abs(ub)),
                                      np.abs(0.5 * lb + 0.5 * ub)),
                           np.where(low, np.abs(lb), np.where(high, np.abs(ub), 0.0)))
    bad = nearest > scale
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        j = where[-1]
        name = f" ({names[j]})" if names else ""
        raise ValueError(
            f"the bounds of parameter {j}{name} ({np.broadcast_to(lb, bad.shape)[where]}, "
            f"{np.broadcast_to(ub, bad.shape)[where]}) are more than {WIDE_BOUNDS:g} times "
            f"max(|p0|, 1) away from p0 = {np.broadcast_to(p0, bad.shape)[where]}: the "
            "change of variables cannot resolve the parameter there; use -np.inf or "
            "np.inf for a side that cannot bind")


def fixed_mask(fixed, n, names=None):
    """The fixed parameters as a bool mask (n,), or None when none is fixed.

    ``fixed`` is a boolean mask of length n, or a sequence of parameter names (of
    ``parameter_names``).  Fixing every parameter leaves nothing to fit: ValueError.
    """
    if fixed is None:
        return None
    if isinstance(fixed, str):
        fixed = [fixed]
    values = list(fixed) if not isinstance(fixed, np.ndarray) else fixed
    if len(values) and all(isinstance(v, str) for v in values):
        if names is None:
            raise ValueError("fixed names parameters, but the model has no parameter names "
                             "(neither param_names nor n named arguments after x): pass a "
                             "boolean mask of length n")
        unknown = [v for v in values if v not in names]
        if unknown:
            raise ValueError(f"fixed names unknown parameters {unknown}; the model's are "
                             f"{list(names)}")
        mask = np.array([name in values for name in names])
    else:
        mask = np.asarray(values)
        if mask.dtype != np.bool_ or mask.shape != (n,):
            raise ValueError(f"fixed must be a boolean mask of length n={n} or a sequence of "
                             f"parameter names; got {mask.dtype} of shape {mask.shape}")
    if mask.all():
        raise ValueError("every parameter is fixed: nothing is left to fit")
    return mask if mask.any() else None


def signature_names(f):
    """The names of the positional arguments of ``f(x, p1, ..., pn)``, x included, as
    curve_fit reads them for ``p0=None`` (annotations are not evaluated).  Raises what
    ``inspect.signature`` raises for a callable it cannot inspect."""
    if sys.version_info >= (3, 14):
        import annotationlib

        # Do not evaluate annotations: a forward reference must not break the fit.
        signature = inspect.signature(f, annotation_format=annotationlib.Format.FORWARDREF)
    else:
        signature = inspect.signature(f)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in signature.parameters.values() if p.kind in positional]


def parameter_names(f, n):
    """The names of the n parameters of the model f, or None when it has none.

    A model's ``param_names`` (the :mod:`lmfast.models`), else the positional arguments
    that follow x in f's signature, the first n of them (curve_fit passes p0 positionally,
    so later arguments keep their defaults); None for a signature that cannot be read or
    has fewer than n such arguments (``f(x, *p)``).
    """
    names = getattr(f, "param_names", None)
    if names is not None and len(names) == n:
        return tuple(names)
    try:
        names = signature_names(f)[1:]
    except (TypeError, ValueError):
        return None
    return tuple(names[:n]) if len(names) >= n else None


def default_names(n):
    """``("p0", ..., "p{n-1}")``: the names of parameters whose model names none."""
    return tuple(f"p{j}" for j in range(n))


def free_parameters(fixed, n):
    """The indices of the free parameters, increasing: ``range(n)`` when ``fixed`` is None
    (no array to allocate on leastsq's path), else the int array of those a
    ``fixed_mask`` leaves free.  Its length is n_free, the engine's number of variables."""
    return range(n) if fixed is None else np.flatnonzero(~fixed)


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


def batch_settings(ftol, xtol, gtol, factor, epsfcn):
    """The batch's float settings (a dict); values MINPACK would reject raise ValueError
    here (a batch-wide mistake, not a per-fit outcome)."""
    values = {
        "ftol": float(ftol), "xtol": float(xtol), "gtol": float(gtol),
        "factor": float(factor),
        "epsfcn": _defaults.default_epsfcn() if epsfcn is None else float(epsfcn),
    }
    for name in ("ftol", "xtol", "gtol"):
        if not values[name] >= 0.0:  # also NaN
            raise ValueError(f"{name} must be a number >= 0; got {values[name]}")
    if not 0.0 < values["factor"] < math.inf:
        raise ValueError(f"factor must be positive and finite; got {values['factor']}")
    if math.isnan(values["epsfcn"]):
        raise ValueError("epsfcn must be a number; got nan")
    return values


def usable_cores():
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def estimator_sigma(est, sigma):
    """ValueError for a sigma with a Poisson estimator ``est`` (an
    ``lmfast._estimator.Estimator``): its likelihood weights each point itself."""
    if est.poisson and sigma is not None:
        raise ValueError("sigma must be None with estimator='poisson': the Poisson "
                         "likelihood weights each point by its model value")


def integer(name, value, minimum):
    """value as an int >= minimum, else TypeError (not an integer; bool is not one) or
    ValueError naming it."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def positive_int(name, value):
    """value as a positive int (None passes), else TypeError/ValueError naming it."""
    return None if value is None else integer(name, value, 1)


def threads_for(threads, units):
    """Worker threads for ``units`` pieces of work: None means every usable core; never
    more than the cores or the pieces of work."""
    threads = positive_int("threads", threads)
    cores = usable_cores()
    return max(1, min(threads or cores, cores, units))


# --------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------


def diag_scales(diag, n):
    """leastsq's diag as n float64 scales, read as SciPy reads it.

    A 1-D sequence: its first n entries (fewer than n gives non-positive scales, which the
    engine reports as improper input, info 0).  Anything else: ValueError.
    """
    if diag is None:
        return None
    diag = np.asarray(diag)
    if diag.ndim != 1:
        raise ValueError(f"diag must be a 1-D sequence of N={n} scale factors, "
                         f"got an array of shape {diag.shape}")
    if diag.shape[0] < n:
        return np.zeros(n)
    return np.array(diag[:n], dtype=np.float64)


def free_diag(diag, n, free):
    """leastsq's diag (read by ``diag_scales``) for the engine: the scales of the free
    parameters ``free`` (from ``free_parameters``) only, or None."""
    diag = diag_scales(diag, n)
    if diag is None or len(free) == n:
        return diag
    return diag[free]


def bad_counts(y):
    """estimator='poisson': boolean per row (the last axis holds the points), True where
    the row is not all finite, non-negative integers."""
    y = np.asarray(y)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(y) & (y >= 0) & (y == np.floor(y))
    return ~good.all(axis=-1)
