"""``curve_fit`` with the behaviour of SciPy 1.17's Levenberg-Marquardt path.

The fit itself is lmfast's leastsq: on a residual closure for a Python model, or
entirely in C for a compiled model of :mod:`lmfast.models` (any sigma; only a Python
``jac`` of the user's own makes it call Python).  This module picks SciPy's defaults,
validates the inputs in SciPy's order (so the same input raises the same error) with
the rules of :mod:`lmfast._validate`, and scales ``cov_x`` into ``pcov``.

Bounds and fixed parameters run in lmfast's Levenberg-Marquardt through a change of
variables (``lmfast._transform``); ``method='trf'`` or ``'dogbox'`` is SciPy's own
curve_fit.

Per-call overhead is kept small because a fit of a few parameters to a hundred
points costs only a hundred microseconds or so, most of it in the user's model: the
model signature is inspected only when ``p0`` is omitted, each input is converted
and checked once, the Cholesky factor of a 2-D ``sigma`` is inverted once (not
solved against on every evaluation), and the model is called once at ``p0`` although
leastsq needs its value twice (to learn the output shape, then to start).
"""

import math
import warnings

import numpy as np

from lmfast import (
    _defaults, _estimator, _leastsq, _scipy, _single, _validate, _weighting,
)
from lmfast._outcomes import NONFINITE_RESIDUALS, SUCCESS, exception_class, report
from lmfast._problem import Problem

__all__ = ["curve_fit"]


# The default `bounds`; compared by identity so the common call skips bound parsing.
_NO_BOUNDS = (-np.inf, np.inf)

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
    fixed=None,
    estimator=None,
    loss="linear",
    f_scale=1.0,
    **kwargs,
):
    """Use non-linear least squares to fit a function, f, to data.

    Assumes ``ydata = f(xdata, *params) + eps`` and minimizes the sum of squared
    (weighted) residuals, a robust loss of them, or the Poisson deviance, with the
    Levenberg-Marquardt method of :func:`lmfast.leastsq`, bounded or not.  A drop-in
    for ``scipy.optimize.curve_fit`` (SciPy 1.17): the same answers where SciPy runs
    'lm', SciPy's bounded conventions where it would run 'trf'.

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
        Lower and upper bounds on the parameters: scalars (for every parameter) or
        length-N sequences, as a pair ``(lb, ub)`` or an object with ``lb`` and ``ub``
        (``scipy.optimize.Bounds``); ``np.inf`` with the right sign opens a side.
        lmfast's Levenberg-Marquardt handles them by a change of variables (arcsine for
        two-sided bounds, square root for one-sided ones, as MINUIT and lmfit do); an
        unbounded parameter is iterated as is.  Each lower bound must be strictly less
        than its upper bound, and `p0` must lie within the bounds.  `pcov` is the
        covariance in the parameters at `popt` (SciPy's bounded convention): a parameter
        that ends on its bound keeps a finite error, from the Jacobian there.
    method : {None, 'lm', 'trf', 'dogbox'}, optional
        None and ``'lm'``: lmfast's Levenberg-Marquardt, bounded or not. ``'trf'`` and
        ``'dogbox'`` call SciPy's own ``curve_fit`` (SciPy must be installed).
        ``'lm'`` needs at least as many data points as free parameters.
    jac : callable or None, optional
        Function with signature ``jac(x, ...)`` returning the Jacobian of the model
        with respect to the parameters as an (M, N) array_like; it is scaled
        according to `sigma`. If None (default), the Jacobian is estimated by
        forward differences. As in SciPy, the finite-difference strings of the
        bounded methods are not accepted by ``'lm'`` (``TypeError``).
    full_output : bool, optional
        If True, also return `infodict`, `mesg` and `ier`.  With bounds or fixed
        parameters, ``fjac``, ``ipvt`` and ``qtf`` are those of the iterated variables;
        with bounds, ``infodict['at_bound']`` says which parameters ended on a bound.
    nan_policy : {'raise', 'omit', None}, optional
        How to handle NaN in the input: ``'raise'`` raises ``ValueError``,
        ``'omit'`` drops the points where `xdata` or `ydata` is NaN (and the matching
        entries of `sigma`), None (default) does nothing beyond `check_finite`.
        Setting it makes `check_finite` default to False; ``'propagate'`` is
        rejected.
    fixed : sequence of bool or of str, optional
        Parameters held at their `p0` value: a boolean mask of length N, or parameter
        names (a model's ``param_names``, as the :mod:`lmfast.models` have, or the
        names of the arguments after x in the signature of ``f(x, a, b, ...)``, or
        ``p0``, ``p1``, ... for ``f(x, *p)``).
        The fit iterates on the others only (they set the default `maxfev` and the
        degrees of freedom); the rows and columns of `pcov` of a fixed parameter are 0.
    estimator : {None, 'least_squares', 'poisson'}, optional
        What is minimised: None and ``'least_squares'``, the sum of squared (weighted)
        residuals; ``'poisson'``, the Poisson deviance of `ydata` as counts (the maximum
        likelihood estimate for Poisson data), by the same Levenberg-Marquardt engine on
        deviance residuals.  With ``'poisson'``: `ydata` must hold non-negative integers,
        `sigma` must be None, and `pcov` is the inverse Fisher information
        ``(J^T diag(1/f) J)^-1`` at `popt` (not scaled); a trial point where the model
        is <= 0 anywhere is a rejected step.  Not with a robust `loss` (ValueError).
    loss : {'linear', 'soft_l1', 'huber', 'cauchy', 'arctan'}, optional
        A robust loss, by SciPy's names and with SciPy's rho: the fit minimises
        ``0.5 * f_scale**2 * sum(rho((r / f_scale)**2))`` of the weighted residuals r,
        the cost ``scipy.optimize.least_squares(method='trf', loss=...)`` minimises, by
        Levenberg-Marquardt on residuals ``sign(r) f_scale sqrt(rho)``.  `pcov` is what
        SciPy's ``curve_fit(method='trf', loss=...)`` returns there: the inverse of
        ``J^T diag(rho' + 2 z rho'') J`` at `popt`, scaled by the minimised cost over
        the degrees of freedom unless `absolute_sigma`.  An lmfast extension (SciPy's
        'lm' takes no loss).  Default 'linear' (least squares).
    f_scale : float, optional
        The robust loss's soft margin between inlier and outlier residuals (> 0);
        default 1.0.
    **kwargs
        Keyword arguments passed to :func:`lmfast.leastsq`: `ftol`, `xtol`, `gtol`,
        `maxfev` (or SciPy's bounded spelling `max_nfev`), `epsfcn`, `factor`, `diag`,
        `col_deriv`, and lmfast's `raise_nonfinite`: True raises ``ValueError`` (naming
        `ydata`, `sigma` or `p0`) when the residuals at `p0` are not finite, where SciPy
        (and the default, False) returns `p0` with an infinite `pcov` and an
        `OptimizeWarning`.

    Returns
    -------
    popt : ndarray
        Optimal values of the parameters, minimizing the sum of squared residuals
        of ``f(xdata, *popt) - ydata`` (or the robust cost, or the Poisson deviance).
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
        input is empty or has the wrong shape, if a bound or `p0` is out of order
        (``lb >= ub``, `p0` outside the bounds), if the residuals are not finite at `p0`
        and `raise_nonfinite` is True, if a compiled model gets a `p0` of another
        length than its parameters, or for an unknown `loss`, ``f_scale <= 0``, or a
        loss with ``estimator='poisson'``.
    TypeError
        If there are more parameters than data points, the model's output has the
        wrong shape, or an input holds complex numbers, objects or strings.
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
    if method in ("trf", "dogbox"):
        return _scipy_curve_fit(f, xdata, ydata, p0, sigma, absolute_sigma, check_finite,
                                bounds, method, jac, full_output, nan_policy, fixed, kwargs)
    if method not in (None, "lm"):
        raise ValueError("`method` must be 'trf', 'dogbox' or 'lm'.")
    if "max_nfev" in kwargs:
        if "maxfev" in kwargs:
            raise TypeError("pass maxfev or its bounded spelling max_nfev, not both")
        max_nfev = kwargs.pop("max_nfev")
        kwargs["maxfev"] = 0 if max_nfev is None else max_nfev

    if p0 is None:
        n = _count_parameters(f)
    else:
        p0 = np.atleast_1d(p0)
        n = p0.size
    names = getattr(f, "param_names", None)
    lower = upper = None
    if bounds is not _NO_BOUNDS:
        lower, upper = _validate.single_bounds(bounds, n)
    if p0 is None:
        p0 = np.ones(n) if lower is None else _validate.feasible_start(lower, upper)
    elif lower is not None:
        _validate.p0_within(_validate.real_array("p0", p0).ravel(), lower, upper, names)
    if lower is not None:
        _validate.bounds_resolvable(np.asarray(p0, dtype=np.float64).ravel(), lower, upper,
                                    names)
    if fixed is not None and names is None:
        # fixed by name: f's signature, as curve_fit_batch names them
        names = _validate.parameter_names(f, n) or _validate.default_names(n)
    fixed = _validate.fixed_mask(fixed, n, names)
    n_free = len(_validate.free_parameters(fixed, n))
    bounds = (lower, upper, fixed)

    if check_finite is None:
        check_finite = nan_policy is None
    ydata = _as_float_array("ydata", ydata, check_finite)
    if isinstance(xdata, (list, tuple, np.ndarray)):
        # Anything else goes to `f` untouched, e.g. None or a model-specific object.
        xdata = _as_float_array("xdata", xdata, check_finite)
    m = ydata.size
    if m == 0:
        raise ValueError("`ydata` must not be empty!")

    if nan_policy is not None and not check_finite:
        xdata, ydata, sigma = _apply_nan_policy(nan_policy, xdata, ydata, sigma)
        m = ydata.size

    est = _estimator.estimator_from(estimator, loss, f_scale)
    _validate.estimator_sigma(est, sigma)
    if est.poisson and _validate.bad_counts(ydata):
        raise ValueError("ydata must hold counts (non-negative integers) with "
                         "estimator='poisson'")
    weights, whiten = _validate.single_weights(sigma, m)
    if "args" in kwargs:
        # `f` receives the parameters only; extra arguments belong in a closure.
        raise ValueError("'args' is not a supported keyword argument.")
    # A single data point may be broadcast by `f`, so it is left to leastsq.
    if m != 1 and n_free > m:
        raise TypeError(f"The number of func parameters={n_free} must not exceed the "
                        f"number of data points={m}")

    compiled = _validate.compiled_model(f, jac) is not None
    if compiled:
        fit, tol = _fit_compiled(f, jac is not None, xdata, ydata, weights, whiten, p0,
                                 bounds, kwargs, est)
        source = f"{f.name}.jac" if jac is not None else "the forward differences of func"
    else:
        fit, tol = _fit_python(f, jac, xdata, ydata, weights, whiten, p0, bounds, kwargs,
                               est)
        source = "Dfun" if callable(jac) else "the forward differences of func"
    if fit.info == NONFINITE_RESIDUALS:
        raise ValueError(_nonfinite_start(ydata, weights, p0))
    popt, cov_x, infodict, mesg, ier = _leastsq.results(fit, tol, source, jac is not None,
                                                        full_output=True)
    if ier not in SUCCESS:
        report(ier, "curve_fit", "Optimal parameters not found: " + mesg)
    if fit.fresh and not compiled and cov_x is None:
        cov_x = _python_covariance(fit, f, jac, xdata, ydata, weights, whiten, est, bounds,
                                   kwargs.get("epsfcn"))
    pcov = _scale_covariance(cov_x, infodict["fvec"], popt.size, n_free,
                             absolute_sigma or est.absolute)
    if lower is not None:
        infodict["at_bound"] = fit.at_bound
    if full_output:
        return popt, pcov, infodict, mesg, ier
    return popt, pcov


def _fit_python(f, jac, xdata, ydata, weights, whiten, p0, bounds, kwargs, est):
    """leastsq on the weighted residuals of a Python model (their base values beyond
    least squares: the engine applies the estimator); (fit, tolerances).  bounds is
    (lower, upper, fixed), each None or validated."""
    fun = _base_function(f, xdata, ydata, weights, whiten, est)
    # A jac that is not callable (the bounded methods' '2-point', ...) goes to leastsq
    # as is and fails there as `Dfun`, with SciPy's TypeError.
    if callable(jac):
        jac = _jacobian_function(jac, xdata, None if est.poisson else weights,
                                 None if est.poisson else whiten)
    if p0.dtype != np.float64:
        # leastsq starts from the value of its shape check when x0 is float64.  Otherwise
        # it evaluates at x0 twice (as given, then as float64): answer the second call
        # from memory, as SciPy does, so the model sees p0 once.
        fun = _remember_first_call(fun)
        if callable(jac):
            jac = _remember_first_call(jac)
    options = _leastsq_options(**kwargs)
    lower, upper, fixed = bounds
    return _leastsq.run(fun, p0, (), jac, full_output=True, lower=lower, upper=upper,
                        fixed=fixed, estimator=est,
                        ydata=np.ascontiguousarray(ydata) if est.poisson else None,
                        **options)


def _base_function(f, xdata, ydata, weights, whiten, est):
    """params -> the base values the engine's estimator reads: the model's values for
    Poisson, else the weighted residuals."""
    if est.poisson:

        def values(params):
            return f(xdata, *params)

        return values
    return _weighting.residual_function(f, xdata, ydata, weights, whiten)


def _python_covariance(fit, f, jac, xdata, ydata, weights, whiten, est, bounds, epsfcn):
    """The covariance at popt of a Python model's fit, from a fresh Jacobian there (a
    parameter on a bound, or an estimator beyond least squares); None where singular."""
    lower, upper, fixed = bounds
    popt = fit.x
    free = _validate.free_parameters(fixed, popt.size)
    fun = _base_function(f, xdata, ydata, weights, whiten, est)

    def base(rows):
        return np.asarray(fun(rows[0]), dtype=np.float64).ravel()[np.newaxis]

    if epsfcn is None:
        epsfcn = _defaults.default_epsfcn()
    if callable(jac):
        at = base(popt[np.newaxis])[0]
        rows = np.asarray(jac(xdata, *popt), dtype=np.float64)
        if not est.poisson:
            rows = _weighting.jacobian(rows, weights, whiten)
        rows = rows[:, free]
    else:
        at, rows = _estimator.difference_rows(base, popt[np.newaxis], free, upper, epsfcn)
        at, rows = at[0], rows[0]
    return _estimator.python_covariance(fit.problem, at, rows)


_LEASTSQ_OPTIONS = {
    "ftol": _defaults.FTOL, "xtol": _defaults.XTOL, "gtol": _defaults.GTOL,
    "maxfev": _defaults.MAXFEV, "epsfcn": None, "factor": _defaults.FACTOR, "diag": None,
    "col_deriv": False, "raise_nonfinite": False,
}


def _leastsq_options(**kwargs):
    """The leastsq keyword arguments curve_fit passes on, with leastsq's defaults; any
    other raises leastsq's TypeError."""
    for name in kwargs:
        if name not in _LEASTSQ_OPTIONS:
            raise TypeError(f"leastsq() got an unexpected keyword argument '{name}'")
    return {**_LEASTSQ_OPTIONS, **kwargs}


def _fit_compiled(model, use_jac, xdata, ydata, weights, whiten, p0, bounds, kwargs, est):
    """One fit of a compiled model (lmfast.models), evaluated in C; (fit, tolerances).

    Every input a compiled model can take runs here; anything else is a clear error,
    never a silent detour through Python.
    """
    options = _leastsq_options(**kwargs)
    if options["col_deriv"] and use_jac:
        raise TypeError(f"col_deriv=True describes a Jacobian returned as (N, M); "
                        f"{model.name}.jac returns (M, N): leave col_deriv False")
    n = model.n_params
    _validate.model_p0_length(model, p0.size)
    m = ydata.size
    if ydata.ndim != 1:
        raise ValueError(f"ydata must be 1-D (M,) for the compiled model {model.name}; "
                         f"got shape {ydata.shape}")
    expected = _validate.x_shape(model.x_dims, m)
    if not isinstance(xdata, np.ndarray) or xdata.shape != expected:
        raise ValueError(f"xdata for the compiled model {model.name} must be an array of "
                         f"shape {expected}; got {getattr(xdata, 'shape', type(xdata).__name__)}")
    epsfcn = options["epsfcn"]
    lower, upper, fixed = bounds
    free = _validate.free_parameters(fixed, n)
    tol = _defaults.tolerances(options["ftol"], options["xtol"], options["gtol"],
                               options["maxfev"], len(free), not use_jac)
    diag = _validate.free_diag(options["diag"], n, free)
    problem = Problem(
        m=m, n=n, p0=np.array(p0, dtype=np.float64).ravel(), tolerances=tol,
        epsfcn=_defaults.default_epsfcn() if epsfcn is None else epsfcn,
        factor=options["factor"], use_fd=not use_jac,
        stop_nonfinite=options["raise_nonfinite"], diag=diag, model=model._compiled,
        xdata=np.ascontiguousarray(xdata), ydata=np.ascontiguousarray(ydata),
        weights=weights, whiten=whiten, lower=lower, upper=upper, fixed=fixed,
        estimator=est.kind, f_scale=est.f_scale)
    return _single.fit_model(problem, True), tol


def _nonfinite_start(ydata, weights, p0):
    """Why the residuals are not finite at p0, naming the input to blame."""
    if not np.isfinite(ydata).all():
        what = "ydata contains NaN or inf (check_finite=False let them through)"
    elif weights is not None and not np.isfinite(weights).all():
        what = "sigma contains zeros, so some weights 1/sigma are infinite"
    elif not np.isfinite(p0).all():
        what = "p0 contains NaN or inf"
    else:
        what = "f returned non-finite values (nan or inf) at p0"
    return f"curve_fit: the residuals are non-finite values at the starting point: {what}"


# --------------------------------------------------------------------------------------
# Validation and preparation, in the order SciPy performs them
# --------------------------------------------------------------------------------------


def _count_parameters(f):
    """Number of fit parameters of ``f(x, p1, ..., pN)`` from its positional arguments."""
    count = len(_validate.signature_names(f))
    if count < 2:
        raise ValueError("Unable to determine number of fit parameters.")
    return count - 1


def _scipy_curve_fit(f, xdata, ydata, p0, sigma, absolute_sigma, check_finite, bounds,
                     method, jac, full_output, nan_policy, fixed, kwargs):
    """SciPy's own curve_fit for its bounded methods 'trf' and 'dogbox'."""
    if fixed is not None:
        raise ValueError(f"fixed= is lmfast's and runs with method='lm' (the default); "
                         f"SciPy's {method!r} has no fixed parameters")
    scipy_curve_fit = _scipy.require("curve_fit", f"method={method!r}")
    return scipy_curve_fit(f, xdata, ydata, p0=p0, sigma=sigma,
                           absolute_sigma=absolute_sigma, check_finite=check_finite,
                           bounds=bounds, method=method, jac=jac, full_output=full_output,
                           nan_policy=nan_policy, **kwargs)


def _as_float_array(name, a, check_finite):
    """Convert with the validator's one rule (real numbers to float64; complex, objects
    and strings raise TypeError), optionally rejecting NaN/inf as SciPy does."""
    a = _validate.real_array(name, a)
    if check_finite:
        _validate.check_finite(a)
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


def _jacobian_function(jac, xdata, weights, whiten):
    """``params -> jac(xdata, *params)`` with rows scaled like the residuals."""
    if weights is None and whiten is None:

        def jacobian(params):
            return jac(xdata, *params)

    else:

        def jacobian(params):
            return _weighting.jacobian(np.asarray(jac(xdata, *params)), weights, whiten)

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
        category=exception_class("OptimizeWarning"),
        stacklevel=3,
    )
    return pcov
