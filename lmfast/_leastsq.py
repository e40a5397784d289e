"""leastsq: the front end with scipy.optimize.leastsq's signature, defaults and results."""
import numpy as np

from lmfast import _defaults, _single, _validate
from lmfast._outcomes import (
    NONFINITE_JACOBIAN, NONFINITE_RESIDUALS, SUCCESS, message, report,
)
from lmfast._problem import Problem

_FLOAT64 = np.dtype(np.float64)


def _check_output(argname, thefunc, x0, args, output_shape=None):
    """Call ``thefunc(x0, *args)`` once and check the shape of what it returns.

    Returns the result as the callback returned it, the shape and the floating dtype
    (float64 if not inexact) of the result made at least 1-D.  Raises TypeError naming
    the argument and both shapes when ``output_shape`` is given and does not match (the
    cases SciPy tolerates, a single output row or a single column, pass).  The result
    itself is handed on unchanged, so that the driver's conversion sees what a later call
    would return (a scalar Jacobian is refused there, as SciPy refuses it).
    """
    out = thefunc(x0, *args)
    res = np.atleast_1d(out)
    shape = np.shape(res)
    if output_shape is not None and shape != output_shape:
        if output_shape[0] != 1 and not (len(output_shape) > 1 and output_shape[1] == 1):
            name = getattr(thefunc, "__name__", None)
            msg = (f"leastsq: there is a mismatch between the input and output shape "
                   f"of the '{argname}' argument")
            msg += f" '{name}'." if name else "."
            msg += f"Shape should be {output_shape} but it is {shape}."
            raise TypeError(msg)
    dtype = res.dtype if res.dtype.kind in "fc" else _FLOAT64
    return out, shape, dtype


def leastsq(func, x0, args=(), Dfun=None, full_output=False, col_deriv=False,
            ftol=_defaults.FTOL, xtol=_defaults.XTOL, gtol=_defaults.GTOL,
            maxfev=_defaults.MAXFEV, epsfcn=None, factor=_defaults.FACTOR, diag=None, *,
            raise_nonfinite=False):
    """Minimize the sum of squares of a set of equations (MINPACK lmdif / lmder).

    A drop-in for :func:`scipy.optimize.leastsq`: the same signature, defaults,
    return values, messages, warnings and exceptions, and the same answers.

    Parameters
    ----------
    func : callable
        ``func(x, *args)`` returning the M residuals at the N-vector x (M >= N).
    x0 : array_like
        Starting estimate; flattened to 1-D.
    args : tuple, optional
        Extra arguments for func and Dfun (a non-tuple is wrapped in one).
    Dfun : callable, optional
        ``Dfun(x, *args)``: the Jacobian, shape (M, N) (or (N, M) with col_deriv).
        If None, it is estimated by forward differences.
    full_output : bool, optional
        Return all optional outputs, not just x and ier.
    col_deriv : bool, optional
        Dfun returns derivatives down the columns, shape (N, M).
    ftol, xtol, gtol : float, optional
        Relative error in the sum of squares, relative error in x, and the
        orthogonality between func(x) and the columns of the Jacobian.
    maxfev : int, optional
        Maximum number of calls to func; 0 means 200*(N+1), or 100*(N+1) with Dfun.
    epsfcn : float, optional
        Step length for the forward-difference Jacobian is sqrt(epsfcn)*|x|;
        default: the machine precision of func's output dtype.
    factor : float, optional
        Initial step bound, factor * ||diag * x0|| (in (0.1, 100)).
    diag : sequence, optional
        N positive scale factors for the variables (default: internal scaling).
    raise_nonfinite : bool, optional
        lmfast only.  If True, raise ``ValueError`` when func returns NaN or inf at x0,
        or the Jacobian has NaN or inf.  False (default) does what SciPy does: the
        arithmetic carries on (with NaN at x0 the fit stops at once with ier 4, x = x0,
        and NaN in ``fjac``, ``qtf`` and ``cov_x``).

    Returns
    -------
    x : ndarray
        The solution (always 1-D float64).
    cov_x : ndarray or None
        Inverse of J^T J at the solution (None if singular); multiply by the residual
        variance to get the covariance of x.  Only with full_output.
    infodict : dict
        ``nfev``, ``njev`` (with Dfun), ``fvec``, ``fjac``, ``ipvt`` (0-based int32),
        ``qtf``, as scipy.optimize.leastsq returns them.  Only with full_output.
    mesg : str
        Why the fit stopped.  Only with full_output.
    ier : int
        1, 2, 3 or 4 if a solution was found, else 5-8 (a RuntimeWarning is issued
        without full_output) or 0 (improper input: TypeError without full_output).

    Raises
    ------
    TypeError
        N > M, or func/Dfun return an array of the wrong shape.
    ValueError
        With ``raise_nonfinite``: func returns NaN or inf at x0, or the Jacobian has NaN
        or inf.  NaN or inf at a trial point is never an error: the step is rejected,
        exactly as MINPACK's arithmetic does.

    Examples
    --------
    >>> import numpy as np
    >>> from lmfast import leastsq
    >>> leastsq(lambda x: 2 * (x - 3) ** 2 + 1, 0)
    (array([2.99999999]), 1)
    """
    fit, tol = run(func, x0, args, Dfun, col_deriv, ftol, xtol, gtol, maxfev, epsfcn,
                   factor, diag, full_output, raise_nonfinite=raise_nonfinite)
    if fit.info == NONFINITE_RESIDUALS:
        raise ValueError("leastsq: func returned non-finite values (nan or inf) at the "
                         "starting point x0; the sum of squares is undefined there")
    source = "Dfun" if Dfun is not None else "the forward differences of func"
    return results(fit, tol, source, Dfun is not None, full_output)


def run(func, x0, args, Dfun, col_deriv, ftol, xtol, gtol, maxfev, epsfcn, factor, diag,
        full_output, lower=None, upper=None, fixed=None, raise_nonfinite=False,
        estimator=None, ydata=None):
    """Validate leastsq's arguments as SciPy does and run the fit.

    ``lower``/``upper`` (bounds) and ``fixed`` (a mask) are curve_fit's, already
    validated: the fit then iterates on the free parameters, through the change of
    variables of ``lmfast._transform``; func still receives all n parameters.
    ``raise_nonfinite`` stops the fit (codes -2, -3) on non-finite residuals at x0 or a
    non-finite Jacobian, instead of carrying on as SciPy does.  ``estimator`` (an
    ``lmfast._estimator.Estimator``; None: least squares) makes func and Dfun return
    base values and their Jacobian, turned into the engine's residuals in C (Poisson
    reads the counts ``ydata``).

    Returns (lmfast._single.SingleFit, lmfast._defaults.Tolerances).
    """
    x0 = np.asarray(x0).flatten()
    n = len(x0)
    if not isinstance(args, tuple):
        args = (args,)
    f0, shape, dtype = _check_output("func", func, x0, args)
    m = shape[0]
    if n > m:
        raise TypeError(f"Improper input: func input vector length N={n} must"
                        f" not exceed func output vector length M={m}")
    if epsfcn is None:
        epsfcn = _defaults.default_epsfcn(dtype)
    # func(x0) at a float64 x0 is the engine's first evaluation: it is not made twice.
    J0 = None
    if Dfun is not None:
        J0, _, _ = _check_output("Dfun", Dfun, x0, args, (n, m) if col_deriv else (m, n))
    # As in SciPy, x0 is converted to float64 after the shape checks of func and Dfun.
    reuse = x0.dtype == _FLOAT64
    if not reuse and not np.can_cast(x0.dtype, _FLOAT64, "safe"):
        raise TypeError(f"Cannot cast array data from {x0.dtype!r} to {_FLOAT64!r} "
                        "according to the rule 'safe'")
    x_start = x0 if reuse else np.asarray(x0, dtype=np.float64)  # flatten() copied: contiguous
    free = _validate.free_parameters(fixed, n)
    tol = _defaults.tolerances(ftol, xtol, gtol, maxfev, len(free), Dfun is None)
    diag = _validate.free_diag(diag, n, free)
    problem = Problem(m=m, n=n, p0=x_start, tolerances=tol, epsfcn=epsfcn, factor=factor,
                      use_fd=Dfun is None, stop_nonfinite=raise_nonfinite, diag=diag,
                      lower=lower, upper=upper, fixed=fixed,
                      estimator=0 if estimator is None else estimator.kind,
                      f_scale=1.0 if estimator is None else estimator.f_scale,
                      ydata=ydata)
    fit = _single.fit(problem, func, args, Dfun, col_deriv, f0 if reuse else None,
                      J0 if reuse else None, full_output)
    return fit, tol


def results(fit, tol, jacobian_source, with_njev, full_output):
    """leastsq's return value (and its warnings and errors) from a finished fit.

    A non-finite Jacobian raises ValueError; the caller reports non-finite residuals at
    the starting point (it knows what to blame).
    """
    if fit.info == NONFINITE_JACOBIAN:
        raise ValueError(f"leastsq: the Jacobian from {jacobian_source} has non-finite "
                         f"values (nan or inf) at x = {fit.x!r}")
    if full_output:
        infodict = {"fvec": fit.fvec, "nfev": fit.nfev}
        if with_njev:
            infodict["njev"] = fit.njev
        infodict.update(fjac=fit.fjac, ipvt=fit.ipvt, qtf=fit.qtf)
        return fit.x, fit.cov_x, infodict, message(fit.info, tol), fit.info
    if fit.info not in SUCCESS:
        report(fit.info, "leastsq", message(fit.info, tol), stacklevel=3)
    return fit.x, fit.info
