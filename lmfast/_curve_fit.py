"""``curve_fit`` with the behaviour of SciPy 1.17's Levenberg-Marquardt path.

The fit itself is :func:`lmfast.leastsq`; this module only turns a model
``f(xdata, *params)`` and data into a residual function, picks SciPy's defaults,
validates the inputs in SciPy's order (so the same input raises the same error),
and scales ``cov_x`` into ``pcov``.

Bounded fits (SciPy's ``'trf'`` and ``'dogbox'``) are not available yet: asking for
them raises ``ValueError`` instead of silently doing something else.

Per-call overhead is kept small because a fit of a few parameters to a hundred
points costs only a hundred microseconds or so, most of it in the user's model: the
model signature is inspected only when ``p0`` is omitted, each input is converted
and checked once, the Cholesky factor of a 2-D ``sigma`` is inverted once (not
solved against on every evaluation), and the model is called once at ``p0`` although leastsq needs its
value twice (to learn the output shape, then to start).
"""

import inspect
import math
import sys
import warnings

import numpy as np

from ._leastsq import leastsq, leastsq_model
from ._linalg import invert_upper
from .models import Model

__all__ = ["OptimizeWarning", "curve_fit"]


class OptimizeWarning(UserWarning):
    """Warning about the result of an optimization, e.g. an undefined covariance.

    The counterpart of ``scipy.optimize.OptimizeWarning``, and like it a direct
    subclass of :class:`UserWarning`.
    """


# The default `bounds`; compared by identity so the common call skips bound parsing.
_NO_BOUNDS = (-np.inf, np.inf)

# ``ier`` values for which leastsq found a solution.
_LEASTSQ_SUCCESS = frozenset((1, 2, 3, 4))

_LM_ONLY_MESSAGE = (
    "lmfast.curve_fit runs the unbounded Levenberg-Marquardt method ('lm') only; "
    "{what} is not supported yet (bounded fitting comes later). Remove the bounds, "
    "or use scipy.optimize.curve_fit for this problem."
)


def curve_fit(
    f,
    xdata,
    ydata,
    p0=None,
    sigma=None,
    absolute_sigma=False,
    check_finite=None,
    bounds=_NO_BOUNDS,
    method=None,
    jac=None,
    *,
    full_output=False,
    nan_policy=None,
    **kwargs,
):
    """Use non-linear least squares to fit a function, f, to data.

    Assumes ``ydata = f(xdata, *params) + eps`` and minimizes the sum of squared
    (weighted) residuals with the Levenberg-Marquardt method of :func:`lmfast.leastsq`.
    A drop-in for ``scipy.optimize.curve_fit`` (SciPy 1.17) for unbounded problems.

    Parameters
    ----------
    f : callable
        The model function, ``f(x, ...)``. It must take the independent variable as
        the first argument and the parameters to fit as separate remaining arguments.
    xdata : array_like or object
        The independent variable where the data is measured. Usually an M-length
        sequence or a (k, M)-shaped array for functions with k predictors. Lists,
        tuples and arrays are converted to float64 arrays; any other object is
        passed to `f` unchanged.
    ydata : array_like
        The dependent data, a length M array, nominally ``f(xdata, ...)``.
        Converted to a float64 array.
    p0 : array_like, optional
        Initial guess for the parameters (length N). If None, all initial values are
        1, with N taken from the signature of `f` (a ``ValueError`` is raised if that
        is not possible, e.g. for ``f(x, *p)``).
    sigma : None or scalar or M-length sequence or MxM array, optional
        Uncertainty in `ydata`. With ``r = ydata - f(xdata, *popt)``:

        - a scalar or 1-D `sigma` holds standard deviations of the errors in
          `ydata`; the fit minimizes ``sum((r / sigma) ** 2)``.
        - a 2-D `sigma` is the covariance matrix of the errors in `ydata`; the fit
          minimizes ``r.T @ inv(sigma) @ r``.

        None (default) is the same as a 1-D `sigma` of ones.
    absolute_sigma : bool, optional
        If True, `sigma` is used in an absolute sense and `pcov` reflects these
        absolute values. If False (default), only the relative magnitudes of `sigma`
        matter: `pcov` is scaled so that the reduced chi-square at `popt` is one,
        ``pcov(absolute_sigma=False) = pcov(absolute_sigma=True) * chisq(popt)/(M-N)``.
    check_finite : bool, optional
        If True, raise ``ValueError`` if `xdata` (when it is a list, tuple or array)
        or `ydata` contains NaN or inf. Default is True if `nan_policy` is None and
        False otherwise.
    bounds : 2-tuple of array_like or Bounds, optional
        Lower and upper bounds on the parameters. Only infinite bounds (the
        default, ``(-np.inf, np.inf)``) are supported; any finite bound raises
        ``ValueError``, as bounded methods are not implemented yet.
    method : {None, 'lm'}, optional
        Optimization method. Only ``'lm'`` (Levenberg-Marquardt, the default for
        unbounded problems) is implemented; ``'trf'`` and ``'dogbox'`` raise
        ``ValueError``. ``'lm'`` needs at least as many data points as parameters.
    jac : callable or None, optional
        Function with signature ``jac(x, ...)`` returning the Jacobian of the model
        with respect to the parameters as an (M, N) array_like; it is scaled
        according to `sigma`. If None (default), the Jacobian is estimated by
        forward differences. As in SciPy, the finite-difference strings of the
        bounded methods are not accepted by ``'lm'`` (``TypeError``).
    full_output : bool, optional
        If True, also return `infodict`, `mesg` and `ier`.
    nan_policy : {'raise', 'omit', None}, optional
        How to handle NaN in the input: ``'raise'`` raises ``ValueError``,
        ``'omit'`` drops the points where `xdata` or `ydata` is NaN (and the matching
        entries of `sigma`), None (default) does nothing beyond `check_finite`.
        Setting it makes `check_finite` default to False; ``'propagate'`` is
        rejected.
    **kwargs
        Keyword arguments passed to :func:`lmfast.leastsq`: `ftol`, `xtol`, `gtol`,
        `maxfev`, `epsfcn`, `factor`, `diag`, `col_deriv`.

    Returns
    -------
    popt : ndarray
        Optimal values of the parameters, minimizing the sum of squared residuals
        of ``f(xdata, *popt) - ydata``.
    pcov : ndarray
        The estimated approximate covariance of `popt`, shape (N, N); its diagonal
        holds the variances of the estimates, so ``np.sqrt(np.diag(pcov))`` gives
        one-standard-deviation errors. It is filled with ``np.inf`` (and an
        `OptimizeWarning` is issued) when the Jacobian at the solution is rank
        deficient, or when ``absolute_sigma`` is False and M <= N.
    infodict : dict
        Returned only if `full_output` is True. ``nfev`` (number of function calls,
        finite-difference calls included), ``fvec`` (the weighted residuals at the
        solution), ``fjac``, ``ipvt`` and ``qtf`` (the final QR factorization, as
        returned by :func:`lmfast.leastsq`).
    mesg : str
        Returned only if `full_output` is True. Why the iteration stopped.
    ier : int
        Returned only if `full_output` is True. 1, 2, 3 or 4 when a solution was
        found (otherwise `curve_fit` raises).

    Raises
    ------
    ValueError
        If `xdata` or `ydata` contain NaNs or infs (with `check_finite`), if an
        input is empty or has the wrong shape, or if a bounded fit is requested.
    TypeError
        If there are more parameters than data points, or the model's output has
        the wrong shape.
    RuntimeError
        If the least-squares minimization fails.

    Warns
    -----
    OptimizeWarning
        If the covariance of the parameters cannot be estimated.

    See Also
    --------
    lmfast.leastsq : The underlying Levenberg-Marquardt solver.
    scipy.optimize.curve_fit : The reference implementation, with bounded methods.

    Notes
    -----
    The residual handed to :func:`lmfast.leastsq` is ``f(xdata, *p) - ydata``,
    multiplied by ``1 / sigma`` for a scalar or 1-D `sigma`, and multiplied by
    ``inv(L)`` for a 2-D `sigma` with Cholesky factor ``sigma = L @ L.T`` (SciPy
    solves with ``L`` on every evaluation instead; the results agree to rounding).

    Examples
    --------
    >>> import numpy as np
    >>> from lmfast import curve_fit
    >>> def decay(x, a, b, c):
    ...     return a * np.exp(-b * x) + c
    >>> xdata = np.linspace(0, 4, 50)
    >>> ydata = decay(xdata, 2.5, 1.3, 0.5) + 0.01 * np.sin(20 * xdata)
    >>> popt, pcov = curve_fit(decay, xdata, ydata)
    >>> np.round(popt, 2)
    array([2.5, 1.3, 0.5])
    >>> perr = np.sqrt(np.diag(pcov))
    >>> bool(np.all(perr < 0.01))
    True
    """
    if p0 is None:
        n = _count_parameters(f)
    else:
        p0 = np.atleast_1d(p0)
        n = p0.size

    if bounds is _NO_BOUNDS:
        bounded, p0_shape = False, (n,)
    else:
        bounded, p0_shape = _parse_bounds(bounds, n)
    if p0 is None:
        p0 = np.ones(p0_shape)
    if bounded or not (method is None or method == "lm"):
        _reject_method(method, bounded)

    if check_finite is None:
        check_finite = nan_policy is None
    ydata = _as_float_array(ydata, check_finite)
    if isinstance(xdata, (list, tuple, np.ndarray)):
        # Anything else goes to `f` untouched, e.g. None or a model-specific object.
        xdata = _as_float_array(xdata, check_finite)
    m = ydata.size
    if m == 0:
        raise ValueError("`ydata` must not be empty!")

    if nan_policy is not None and not check_finite:
        xdata, ydata, sigma = _apply_nan_policy(nan_policy, xdata, ydata, sigma)
        m = ydata.size

    weights, whiten = _transform_from_sigma(sigma, m)
    user_jac = jac
    fun = _residual_function(f, xdata, ydata, weights, whiten)
    # A jac that is not callable (the bounded methods' '2-point', ...) goes to leastsq
    # as is and fails there as `Dfun`, with SciPy's TypeError.
    if callable(jac):
        jac = _jacobian_function(jac, xdata, weights, whiten)
    if p0.dtype != np.float64:
        # lmfast.leastsq starts from the value of its shape check when x0 is float64.
        # Otherwise it evaluates at x0 twice (as given, then as float64): answer the
        # second call from memory, as SciPy does, so the model sees p0 once.
        fun = _remember_first_call(fun)
        if callable(jac):
            jac = _remember_first_call(jac)

    if "args" in kwargs:
        # `f` receives the parameters only; extra arguments belong in a closure.
        raise ValueError("'args' is not a supported keyword argument.")
    # A single data point may be broadcast by `f`, so it is left to leastsq.
    if m != 1 and n > m:
        raise TypeError(
            f"The number of func parameters={n} must not exceed the number of data points={m}"
        )

    compiled = _compiled_problem(f, user_jac, xdata, ydata, weights, whiten, p0, kwargs)
    if compiled is not None:
        popt, pcov, infodict, mesg, ier = leastsq_model(f, *compiled, **kwargs)
    else:
        popt, pcov, infodict, mesg, ier = leastsq(fun, p0, Dfun=jac, full_output=1, **kwargs)
    if ier not in _LEASTSQ_SUCCESS:
        raise RuntimeError("Optimal parameters not found: " + mesg)

    pcov = _scale_covariance(pcov, infodict["fvec"], popt.size, n, absolute_sigma)
    if full_output:
        return popt, pcov, infodict, mesg, ier
    return popt, pcov


# --------------------------------------------------------------------------------------
# Validation and preparation, in the order SciPy performs them
# --------------------------------------------------------------------------------------


def _count_parameters(f):
    """Number of fit parameters of ``f(x, p1, ..., pN)`` from its positional arguments."""
    if sys.version_info >= (3, 14):
        import annotationlib

        # Do not evaluate annotations: a forward reference must not break curve_fit.
        signature = inspect.signature(f, annotation_format=annotationlib.Format.FORWARDREF)
    else:
        signature = inspect.signature(f)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    count = sum(1 for p in signature.parameters.values() if p.kind in positional)
    if count < 2:
        raise ValueError("Unable to determine number of fit parameters.")
    return count - 1


def _parse_bounds(bounds, n):
    """Return (any bound finite, shape of the default ``p0``) for a `bounds` argument.

    Accepts a 2-sequence (lower, upper) of scalars or arrays, or an object with
    ``lb`` and ``ub`` attributes such as ``scipy.optimize.Bounds``. Like SciPy, a
    scalar bound in a 2-sequence stands for all N parameters, and the default
    ``p0`` takes the shape of the lower bound.
    """
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb = np.asarray(bounds.lb, dtype=float)
        ub = np.asarray(bounds.ub, dtype=float)
    else:
        lb, ub = bounds
        lb = np.asarray(lb, dtype=float)
        ub = np.asarray(ub, dtype=float)
        if lb.ndim == 0:
            lb = np.full(n, lb)
        if ub.ndim == 0:
            ub = np.full(n, ub)
    # NaN compares False both ways, so a NaN (or None) bound counts as no bound.
    # Combining both tests also rejects lower and upper bounds of different shapes.
    bounded = bool(np.any((lb > -np.inf) | (ub < np.inf)))
    return bounded, lb.shape


def _reject_method(method, bounded):
    """Raise for a request that is not an unbounded Levenberg-Marquardt fit."""
    if method is None or method == "lm":
        if method == "lm":
            raise ValueError(
                "Method 'lm' only works for unconstrained problems. Use 'trf' or 'dogbox' instead."
            )
        raise ValueError(_LM_ONLY_MESSAGE.format(what="a problem with finite bounds"))
    if method in ("trf", "dogbox"):
        raise ValueError(_LM_ONLY_MESSAGE.format(what=f"method={method!r}"))
    raise ValueError("`method` must be 'trf', 'dogbox' or 'lm'.")


def _as_float_array(a, check_finite):
    """Convert to float64 (no copy when already float64), optionally rejecting NaN/inf."""
    a = np.asarray(a, dtype=float)
    if check_finite:
        flat = a if a.ndim == 1 else a.ravel()
        # A finite sum of squares proves every entry finite (one BLAS call); NaN, inf
        # or an overflow (entries beyond 1e154) fall through to the exact test.
        if not math.isfinite(flat.dot(flat)) and not np.isfinite(flat).all():
            raise ValueError("array must not contain infs or NaNs")
    return a


def _contains_nan(a, nan_policy):
    """Whether float array `a` has a NaN; raise for ``nan_policy='raise'``."""
    if a.size == 0:
        return False
    found = bool(np.isnan(a.max()))  # max propagates NaN and is cheaper than any(isnan)
    if found and nan_policy == "raise":
        raise ValueError("The input contains nan values")
    return found


def _apply_nan_policy(nan_policy, xdata, ydata, sigma):
    """Validate `nan_policy`; for ``'omit'`` drop points with a NaN in x or y."""
    if nan_policy == "propagate":
        raise ValueError("`nan_policy='propagate'` is not supported by this function.")
    if nan_policy not in ("raise", "omit"):
        raise ValueError("nan_policy must be one of {None, 'raise', 'omit'}")
    # An xdata that is not an array went to `f` as is; there is nothing to inspect
    # in it (SciPy fails with AttributeError there).
    x_is_array = isinstance(xdata, np.ndarray)
    x_has_nan = x_is_array and _contains_nan(xdata, nan_policy)
    y_has_nan = _contains_nan(ydata, nan_policy)
    if nan_policy == "omit" and (x_has_nan or y_has_nan):
        if not x_is_array:
            raise ValueError(
                "nan_policy='omit' needs `xdata` as a list, tuple or array, "
                "to drop the same points from it as from `ydata`."
            )
        # A point is the last axis of xdata: for a (k, M) xdata, a NaN in any of
        # the k predictors drops the point.
        x_nan = np.isnan(xdata)
        bad = x_nan.any(axis=tuple(range(x_nan.ndim - 1))) | np.isnan(ydata)
        keep = ~bad
        xdata = xdata[..., keep]
        ydata = ydata[keep]
        if sigma is not None:
            sigma = np.asarray(sigma)
            if sigma.ndim == 1:
                sigma = sigma[keep]
            elif sigma.ndim == 2:
                sigma = sigma[np.ix_(keep, keep)]
    return xdata, ydata, sigma


def _transform_from_sigma(sigma, m):
    """Return ``(weights, whiten)``, at most one of them not None.

    `weights` multiplies the residual elementwise (``1 / sigma``, scalar or
    M-vector); `whiten` is ``inv(L)`` for a covariance ``sigma = L @ L.T`` and
    multiplies it as a matrix.
    """
    if sigma is None:
        return None, None
    sigma = np.asarray(sigma)
    if sigma.size == 1 or sigma.shape == (m,):
        return 1.0 / sigma, None
    if sigma.shape != (m, m):
        raise ValueError("`sigma` has incorrect shape.")
    # float64 even for a float32 sigma (SciPy factors that in float32).
    sigma = np.asarray(sigma, dtype=float)
    if not np.isfinite(sigma).all():
        raise ValueError("array must not contain infs or NaNs")
    try:
        lower = np.linalg.cholesky(sigma)  # reads the lower triangle only, as SciPy's
    except np.linalg.LinAlgError as exc:
        raise ValueError("`sigma` must be positive definite.") from exc
    # One triangular inverse (LAPACK dtrtri) here instead of a triangular solve on every
    # evaluation: inv(L) = inv(L.T).T, and L.T copied to Fortran order is what dtrtri
    # overwrites. It cannot fail, the diagonal of a Cholesky factor being positive.
    upper = lower.T.copy(order="F")
    invert_upper(upper)
    return None, upper.T


# Keyword arguments the compiled-model path understands (the others go to leastsq).
_COMPILED_KWARGS = frozenset(("ftol", "xtol", "gtol", "maxfev", "epsfcn", "factor", "diag"))


def _compiled_problem(f, jac, xdata, ydata, weights, whiten, p0, kwargs):
    """Arguments of leastsq_model when `f` is a compiled model (lmfast.models) that can
    run without Python calls, else None.

    That is the case for data it reads directly: xdata of shape (M,) or (k, M), ydata
    of shape (M,), no 2-D sigma, and jac None (forward differences, as SciPy would take
    them) or the model's own jac (its analytic Jacobian).
    """
    if not isinstance(f, Model) or whiten is not None or not _COMPILED_KWARGS.issuperset(kwargs):
        return None
    if jac is not None and jac != f.jac:
        return None
    m = ydata.size
    if ydata.ndim != 1 or p0.shape != (f.n_params,) or m < f.n_params:
        return None
    if not isinstance(xdata, np.ndarray) or xdata.shape[-1:] != (m,):
        return None
    if xdata.shape != ((m,) if f.x_dims == 1 else (f.x_dims, m)):
        return None
    if weights is not None and np.shape(weights) != (m,):
        return None
    x_rows = np.ascontiguousarray(xdata.reshape(f.x_dims, m), dtype=np.float64)
    ydata = np.ascontiguousarray(ydata, dtype=np.float64)
    if weights is not None:
        weights = np.ascontiguousarray(weights, dtype=np.float64)
    return x_rows, ydata, weights, np.array(p0, dtype=np.float64), jac is not None


# --------------------------------------------------------------------------------------
# Residual and Jacobian callables for leastsq
# --------------------------------------------------------------------------------------


def _remember_first_call(fun):
    """Wrap ``fun(params)`` so that repeated calls at the first point reuse its value.

    The stored value is served until the first call at a different point, after which
    every call goes straight to `fun`.
    """
    # memo is [first params as a list, first value] while lookups are still useful.
    memo = []

    # The name is SciPy's: leastsq's shape-mismatch messages quote it.
    def _memoized_func(params):
        if not memo:
            return fun(params)
        if memo[0] is None:
            value = fun(params)
            memo[:] = [np.asarray(params).tolist(), value]
            return value
        if np.asarray(params).tolist() == memo[0]:
            return memo[1]
        memo.clear()
        return fun(params)

    memo.append(None)
    return _memoized_func


def _residual_function(f, xdata, ydata, weights, whiten):
    """``params -> (f(xdata, *params) - ydata)``, weighted or whitened."""
    if whiten is not None:

        def residuals(params):
            return whiten @ (f(xdata, *params) - ydata)

    elif weights is not None:

        def residuals(params):
            return weights * (f(xdata, *params) - ydata)

    else:

        def residuals(params):
            return f(xdata, *params) - ydata

    return residuals


def _jacobian_function(jac, xdata, weights, whiten):
    """``params -> jac(xdata, *params)`` with rows scaled like the residuals."""
    if whiten is not None:

        def jacobian(params):
            return whiten @ np.asarray(jac(xdata, *params))

    elif weights is not None:
        # One weight per row; a scalar weight scales the whole matrix.
        row_weights = weights[:, np.newaxis] if weights.ndim == 1 else weights

        def jacobian(params):
            return row_weights * np.asarray(jac(xdata, *params))

    else:

        def jacobian(params):
            return jac(xdata, *params)

    # leastsq quotes this name when the Jacobian has the wrong shape; SciPy's wrapper
    # has it, so the message is the same word for word.
    jacobian.__name__ = "_memoized_func"
    return jacobian


# --------------------------------------------------------------------------------------
# Covariance
# --------------------------------------------------------------------------------------


def _scale_covariance(cov_x, fvec, n_popt, n, absolute_sigma):
    """Turn leastsq's ``cov_x`` into ``pcov``, warning when it is undefined."""
    if cov_x is not None:
        flat = cov_x.ravel()
        # A sum of squares is NaN exactly when one of its terms is.
        has_nan = math.isnan(flat.dot(flat))
    if cov_x is None or has_nan:
        # Singular R: the Jacobian at the solution is rank deficient.
        pcov = np.full((n_popt, n_popt), np.inf)
    elif absolute_sigma:
        return cov_x
    else:
        dof = len(fvec) - n
        if dof > 0:
            if fvec.ndim != 1:
                fvec = fvec.ravel()
            # Residual variance: chi-square over degrees of freedom.
            return cov_x * (fvec.dot(fvec) / dof)
        pcov = cov_x
        pcov.fill(np.inf)
    warnings.warn(
        "Covariance of the parameters could not be estimated",
        category=OptimizeWarning,
        stacklevel=3,
    )
    return pcov
