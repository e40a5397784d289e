"""least_squares: scipy.optimize.least_squares (SciPy 1.17), method 'lm' run by lmfast.

SciPy's method 'lm' is MINPACK's lmder, fed by residual and Jacobian functions that
remember the last point (``lmfast._lsq_functions``).  Here lmder is lmfast's engine, fed by
the same functions, so the iterates, counts and results are SciPy's.  Everything else
(methods 'trf' and 'dogbox', ``workers``, finite differences over ``jac_sparsity``, SciPy
``Bounds`` objects, and fits lmfast's engine stops for its own reasons) is SciPy's own
function's work.
"""
import sys
import warnings

import numpy as np

from lmfast import _estimator, _model_fit, _scipy, _single
from lmfast._defaults import tolerances
from lmfast._lsq_functions import DIFFERENCE_SCHEMES, Evaluations
from lmfast._optimize_result import optimize_result
from lmfast import _problem
from lmfast._problem import Problem

EPS = sys.float_info.epsilon  # np.finfo(float).eps
LINEAR = _problem.LEAST_SQUARES

#: SciPy's status for each MINPACK info code (6-8 cannot occur: tolerances are >= EPS).
STATUS_OF_INFO = {0: -1, 1: 2, 2: 3, 3: 4, 4: 1, 5: 0}

#: least_squares' message for each status.
MESSAGES = {
    -2: "Stopped because `callback` function raised `StopIteration` or returned `True`",
    -1: "Improper input parameters status returned from `leastsq`",
    0: "The maximum number of function evaluations is exceeded.",
    1: "`gtol` termination condition is satisfied.",
    2: "`ftol` termination condition is satisfied.",
    3: "`xtol` termination condition is satisfied.",
    4: "Both `ftol` and `xtol` termination conditions are satisfied.",
}

METHODS = ("trf", "dogbox", "lm")
LOSSES = dict.fromkeys(("linear", "huber", "soft_l1", "cauchy", "arctan"))
TR_SOLVERS = (None, "exact", "lsmr")
# MINPACK's initial step bound factor, as least_squares sets it.
FACTOR = 100.0
_OPEN = (-np.inf, np.inf)


def least_squares(fun, x0, jac="2-point", bounds=_OPEN, method="lm", ftol=1e-8,
                  xtol=1e-8, gtol=1e-8, x_scale=None, loss="linear", f_scale=1.0,
                  diff_step=None, tr_solver=None, tr_options=None, jac_sparsity=None,
                  max_nfev=None, verbose=0, args=(), kwargs=None, callback=None,
                  workers=None):
    """Solve a nonlinear least-squares problem: scipy.optimize.least_squares, method
    'lm' compiled.

    The signature of :func:`scipy.optimize.least_squares` (SciPy 1.17), with one
    difference: the default method is 'lm'.  With method 'lm' the result is SciPy's
    (the same ``x``, ``cost``, ``fun``, ``jac``, ``grad``, ``optimality``, ``nfev``,
    ``njev``, ``status``, ``message``, ``success``), and so are the errors for bad
    input.  Methods 'trf' and 'dogbox', and ``workers``, run SciPy's own function with
    every argument unchanged (a ValueError if SciPy is not installed).

    Parameters
    ----------
    fun : callable
        ``fun(x, *args, **kwargs)``: the m residuals at the n-vector x (m >= n for 'lm').
    x0 : array_like, shape (n,) or float
        Starting point.
    jac : {'2-point', '3-point', 'cs'} or callable, optional
        Finite-difference scheme (steps as scipy.optimize.approx_derivative takes them),
        or ``jac(x, *args, **kwargs)`` returning the (m, n) Jacobian.
    bounds : 2-tuple of array_like, optional
        Method 'lm' takes none (only infinite ones).
    method : {'lm', 'trf', 'dogbox'}, optional
        'lm' (default here; SciPy's default is 'trf') is lmfast's.
    ftol, xtol, gtol : float, optional
        MINPACK's tolerances; for 'lm' each must be at least the machine epsilon.
    x_scale : None, 'jac' or array_like, optional
        None or 'jac': MINPACK's scaling by the Jacobian's column norms; an array: the
        fixed scales x_scale (MINPACK's diag = 1 / x_scale).
    loss, f_scale : optional
        A robust loss by SciPy's names ('linear', 'soft_l1', 'huber', 'cauchy',
        'arctan') and its scale: lmfast's 'lm' minimises the cost SciPy's 'trf'
        minimises, ``0.5 * f_scale**2 * sum(rho((f / f_scale)**2))`` (an extension:
        SciPy's 'lm' takes only 'linear'); a callable loss is SciPy's only.
    diff_step : None or array_like, optional
        Relative finite-difference step.
    tr_solver, tr_options, jac_sparsity : optional
        Used by 'trf' and 'dogbox'; 'lm' checks tr_solver's value and ignores the rest
        (finite differences over jac_sparsity go to SciPy, which refuses them for 'lm').
    max_nfev : None or int, optional
        Maximum number of calls to fun outside finite differences; default 100 * n.
    verbose : {0, 1, 2}, optional
        1 or 2: print the termination report.
    args, kwargs : tuple and dict, optional
        Extra arguments for fun and jac.
    callback : callable, optional
        Not used by 'lm' (a warning says so, as SciPy's does).
    workers : map-like callable or int, optional
        Parallel finite differences: SciPy's function runs the fit.

    Returns
    -------
    OptimizeResult
        SciPy's class when SciPy is installed, else a dict with attribute access:
        ``x, cost, fun, jac, grad, optimality, active_mask, nfev, njev, status,
        message, success`` (nfev excludes finite-difference calls; njev is None
        without a callable jac).

    Raises
    ------
    ValueError
        Bad arguments (the messages are SciPy's), bounds or a robust loss with 'lm',
        m < n, residuals not finite at x0, a Jacobian of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from lmfast import least_squares
    >>> t = np.linspace(0, 1, 20)
    >>> res = least_squares(lambda p: p[0] * np.exp(p[1] * t) - np.exp(-t), [2.0, 0.0])
    >>> print(res.status, res.message, res.nfev)
    3 `xtol` termination condition is satisfied. 7
    >>> print(np.round(res.x, 6))
    [ 1. -1.]
    """
    given = {"jac": jac, "bounds": bounds, "method": method, "ftol": ftol, "xtol": xtol,
             "gtol": gtol, "x_scale": x_scale, "loss": loss, "f_scale": f_scale,
             "diff_step": diff_step, "tr_solver": tr_solver, "tr_options": tr_options,
             "jac_sparsity": jac_sparsity, "max_nfev": max_nfev, "verbose": verbose,
             "args": args, "kwargs": kwargs, "callback": callback, "workers": workers}
    scipy_reason = _scipy_only(method, jac, bounds, jac_sparsity, workers)
    if scipy_reason is not None:
        return _scipy.require("least_squares", scipy_reason)(fun, x0, **given)
    x0 = _check_options(jac, tr_solver, loss, verbose, max_nfev, x0)
    est = _estimator.estimator_from(None, loss, f_scale)
    _check_bounds(bounds, x0)
    x_scale = _check_x_scale(x_scale, x0)
    ftol, xtol, gtol = _check_tolerances(ftol, xtol, gtol)

    functions = Evaluations(fun, jac, args, kwargs or {}, diff_step, x0)
    f0 = functions.fun(x0)
    J0 = functions.jac(x0)
    if f0.ndim != 1:
        raise ValueError(f"`fun` must return at most 1-d array_like. f0.shape: {f0.shape}")
    if not np.all(np.isfinite(f0)):
        raise ValueError("Residuals are not finite in the initial point.")
    n, m = x0.size, f0.size
    if m < n:
        raise ValueError("Method 'lm' doesn't work when the number of residuals is less "
                         "than the number of variables.")
    initial_cost = 0.5 * np.dot(f0, f0)
    if J0.shape != (m, n):
        raise ValueError(f"The return value of `jac` has wrong shape: expected {(m, n)}, "
                         f"actual {J0.shape}.")
    if not isinstance(J0, np.ndarray):
        raise ValueError("method='lm' works only with dense Jacobian matrices.")  # noqa: TRY004
    if callback is not None:
        warnings.warn("Callback function specified, but not supported with `lm` method.",
                      stacklevel=2)

    functions.started = True
    fit = _run_lmder(functions, x0, m, n, ftol, xtol, gtol, max_nfev, x_scale, est)
    status = STATUS_OF_INFO[fit.info]
    result = _result(functions, fit, status, x0, callable(jac))
    if not est.least_squares:
        r0 = _model_fit.estimator_values(fit.problem, f0)[0]
        initial_cost = 0.5 * np.dot(r0, r0)
    if verbose >= 1:
        print(result.message)
        print(f"Function evaluations {result.nfev}, initial cost {initial_cost:.4e}, "
              f"final cost {result.cost:.4e}, "
              f"first-order optimality {result.optimality:.2e}.")
    return result


def _scipy_only(method, jac, bounds, jac_sparsity, workers):
    """Why SciPy's own function must run this call (a phrase for the error raised
    without SciPy), or None when lmfast runs it."""
    if not (isinstance(method, str) and method == "lm"):
        if isinstance(method, str) and method in METHODS:
            return f"method={method!r}"
        raise ValueError("`method` must be 'trf', 'dogbox' or 'lm'.")
    if workers is not None:
        return "least_squares(workers=...)"
    if jac_sparsity is not None and not callable(jac):
        return "least_squares(jac_sparsity=...)"
    bounds_type = type(bounds)
    if bounds_type.__name__ == "Bounds" and bounds_type.__module__.startswith("scipy."):
        return "a scipy.optimize.Bounds object"
    return None


def _check_options(jac, tr_solver, loss, verbose, max_nfev, x0):
    """SciPy's checks of jac, tr_solver, loss, verbose, max_nfev and x0, in its order;
    returns x0 as a 1-D float64 array (a copy)."""
    if not callable(jac) and jac not in DIFFERENCE_SCHEMES:
        raise ValueError("`jac` must be '2-point', '3-point', 'cs' or callable.")
    if tr_solver not in TR_SOLVERS:
        raise ValueError("`tr_solver` must be None, 'exact' or 'lsmr'.")
    if not callable(loss) and loss not in LOSSES:
        raise ValueError(f"`loss` must be one of {LOSSES.keys()} or a callable.")
    if callable(loss):
        raise ValueError("lmfast's method='lm' takes SciPy's named losses, not a callable "
                         "one (SciPy's 'trf' and 'dogbox' take it).")
    if verbose not in (0, 1, 2):
        raise ValueError("`verbose` must be in [0, 1, 2].")
    if max_nfev is not None and max_nfev <= 0:
        raise ValueError("`max_nfev` must be None or positive integer.")
    if np.iscomplexobj(x0):
        raise ValueError("`x0` must be real.")
    x0 = np.atleast_1d(x0).astype(float)
    if x0.ndim > 1:
        raise ValueError("`x0` must have at most 1 dimension.")
    return x0


def _check_bounds(bounds, x0):
    """Method 'lm' takes only infinite bounds (SciPy's checks and messages)."""
    if bounds is _OPEN and not np.isnan(x0).any():
        return  # the default: nothing to check
    if len(bounds) != 2:
        raise ValueError("`bounds` must contain 2 elements.")
    lb, ub = (np.asarray(b, dtype=float) for b in bounds)
    if lb.ndim == 0:
        lb = np.resize(lb, x0.shape[0])
    if ub.ndim == 0:
        ub = np.resize(ub, x0.shape[0])
    if not np.all((lb == -np.inf) & (ub == np.inf)):
        raise ValueError("Method 'lm' doesn't support bounds.")
    if lb.shape != x0.shape or ub.shape != x0.shape:
        raise ValueError("Inconsistent shapes between bounds and `x0`.")
    if not np.all((x0 >= lb) & (x0 <= ub)):  # a NaN in x0
        raise ValueError("Initial guess is outside of provided bounds")


def _check_x_scale(x_scale, x0):
    """None or 'jac' (returned as None: MINPACK's own scaling), or positive finite
    scales of x0's shape (an array)."""
    if x_scale is None or (isinstance(x_scale, str) and x_scale == "jac"):
        return None
    try:
        x_scale = np.asarray(x_scale, dtype=float)
        valid = np.all(np.isfinite(x_scale)) and np.all(x_scale > 0)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise ValueError("`x_scale` must be 'jac' or array_like with positive numbers.")
    if x_scale.ndim == 0:
        x_scale = np.resize(x_scale, x0.shape)
    if x_scale.shape != x0.shape:
        raise ValueError("Inconsistent shapes between `x_scale` and `x0`.")
    return x_scale


def _check_tolerances(ftol, xtol, gtol):
    """The tolerances (None counts as 0); each must be at least EPS for 'lm' (after a
    warning for each one below it, as SciPy gives)."""
    checked = []
    for name, tol in (("ftol", ftol), ("xtol", xtol), ("gtol", gtol)):
        if tol is None:
            tol = 0
        elif tol < EPS:
            warnings.warn(f"Setting `{name}` below the machine epsilon ({EPS:.2e}) "
                          "effectively disables the corresponding termination condition.",
                          stacklevel=3)
        checked.append(tol)
    if any(tol < EPS for tol in checked):
        raise ValueError("All tolerances must be higher than machine epsilon "
                         f"({EPS:.2e}) for method 'lm'.")
    return checked


def _run_lmder(functions, x0, m, n, ftol, xtol, gtol, max_nfev, x_scale, est):
    """MINPACK's lmder on lmfast's engine, called back through ``functions``; returns
    the lmfast._single.SingleFit.  A robust loss (``est``) is applied by the engine to
    the residuals functions return (lmfast/_estimator.pxd)."""
    maxfev = 100 * n if max_nfev is None else max_nfev
    tol = tolerances(ftol, xtol, gtol, maxfev, n, False)
    diag = None if x_scale is None else np.ascontiguousarray(1 / x_scale)
    problem = Problem(m=m, n=n, p0=x0, tolerances=tol, epsfcn=EPS, factor=FACTOR,
                      use_fd=False, stop_nonfinite=False, diag=diag, estimator=est.kind,
                      f_scale=est.f_scale)
    return _single.fit(problem, functions.fun, (), functions.jac, False, None, None, False)


def _result(functions, fit, status, x0, analytic):
    """least_squares' OptimizeResult, formed as SciPy forms it for 'lm'.  With a robust
    loss, as SciPy's 'trf' forms it: fun the residuals, cost 0.5 f_scale^2 sum rho, jac
    the Jacobian scaled by sqrt(rho' + 2 z rho'') (the Gauss-Newton Hessian's factor),
    grad the cost's gradient J^T (rho' f)."""
    x, f = fit.x, fit.fvec
    J = functions.jac(x)
    if hasattr(J, "astype"):
        J = J.astype(J.dtype)  # a copy, as SciPy hands out
    cost = 0.5 * np.dot(f, f)
    if fit.problem.estimator == LINEAR:
        g = J.T.dot(f)
    else:
        f = functions.fun(x)
        r, slope, c = _model_fit.estimator_values(fit.problem, f)
        g = J.T.dot(r * slope)   # r dr/df = rho'(z) f
        J = J * c[:, np.newaxis]
    return optimize_result({
        "x": x,
        "cost": cost,
        "fun": f,
        "jac": J,
        "grad": g,
        "optimality": np.linalg.norm(g, ord=np.inf),
        "active_mask": np.zeros_like(x0, dtype=int),
        "nfev": fit.nfev,
        "njev": fit.njev if analytic else None,
        "status": status,
        "message": MESSAGES[status],
        "success": status > 0,
    })

