"""leastsq: the front end with scipy.optimize.leastsq's signature, defaults and results."""
import operator
import warnings

import numpy as np

from lmfast import _single
from lmfast._messages import (
    LEASTSQ_FAILURE, NONFINITE_JACOBIAN, NONFINITE_RESIDUALS, leastsq_message,
)

_FLOAT64 = np.dtype(np.float64)
_INT_MAX = 2**31 - 1
# Machine epsilon by dtype, the default epsfcn (np.finfo is slow to call).
_EPS = {}


def default_epsfcn(dtype=_FLOAT64):
    """leastsq's default epsfcn: the machine epsilon of the residuals' dtype."""
    eps = _EPS.get(dtype)
    if eps is None:
        eps = _EPS[dtype] = float(np.finfo(dtype).eps)
    return eps


def _check_output(argname, thefunc, x0, args, output_shape=None):
    """Call ``thefunc(x0, *args)`` once and check the shape of what it returns.

    Returns the result (at least 1-D), its shape and its floating dtype (float64 if the
    result is not inexact).  Raises TypeError naming the argument and both shapes when
    ``output_shape`` is given and does not match (the cases SciPy tolerates, a single
    output row or a single column, pass).
    """
    res = np.atleast_1d(thefunc(x0, *args))
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
    return res, shape, dtype


def _scales(diag, n):
    """diag as N float64 scales, read as SciPy reads it.

    A 1-D sequence: its first N entries (fewer than N gives non-positive scales, which
    the engine reports as improper input, info 0).  Anything else: ValueError.
    """
    diag = np.asarray(diag)
    if diag.ndim != 1:
        raise ValueError(f"diag must be a 1-D sequence of N={n} scale factors, "
                         f"got an array of shape {diag.shape}")
    if diag.shape[0] < n:
        return np.zeros(n)
    return np.array(diag[:n], dtype=np.float64)


def leastsq(func, x0, args=(), Dfun=None, full_output=False, col_deriv=False,
            ftol=1.49012e-8, xtol=1.49012e-8, gtol=0.0, maxfev=0, epsfcn=None,
            factor=100, diag=None):
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
        func returns NaN or inf at x0, or the Jacobian has NaN or inf (SciPy would
        return a meaningless result there).  NaN or inf at a trial point is not an
        error: the step is rejected, exactly as MINPACK's arithmetic does.

    Examples
    --------
    >>> import numpy as np
    >>> from lmfast import leastsq
    >>> leastsq(lambda x: 2 * (x - 3) ** 2 + 1, 0)
    (array([2.99999999]), 1)
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
        epsfcn = default_epsfcn(dtype)
    # func(x0) at a float64 x0 is the engine's first evaluation: it is not made twice.
    J0 = None
    if Dfun is None:
        default_maxfev = 200 * (n + 1)
    else:
        J0, _, _ = _check_output("Dfun", Dfun, x0, args, (n, m) if col_deriv else (m, n))
        default_maxfev = 100 * (n + 1)
    # As in SciPy, x0 is converted to float64 after the shape checks of func and Dfun.
    reuse = x0.dtype == _FLOAT64
    if not reuse and not np.can_cast(x0.dtype, _FLOAT64, "safe"):
        raise TypeError(f"Cannot cast array data from {x0.dtype!r} to {_FLOAT64!r} "
                        "according to the rule 'safe'")
    x_start = x0 if reuse else np.asarray(x0, dtype=np.float64)
    maxfev, limit = _maxfev_limits(maxfev, default_maxfev)
    if diag is not None:
        diag = _scales(diag, n)

    fit = _single.fit(
        func, x_start, args, Dfun, col_deriv, m, ftol, xtol, gtol, limit, epsfcn,
        factor, diag, f0 if reuse else None, J0 if reuse else None, full_output)
    source = "Dfun" if Dfun is not None else "the forward differences of func"
    return _outcome(fit, source, Dfun is not None, full_output, ftol, xtol, gtol, maxfev)


def _maxfev_limits(maxfev, default_maxfev):
    """(maxfev as messages show it, the engine's limit): 0 means the default, and the
    engine also uses the default for maxfev < 0, as SciPy's compiled layer does."""
    limit = operator.index(maxfev)
    if limit > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if maxfev == 0:
        maxfev = default_maxfev
    if limit <= 0:
        limit = default_maxfev
    return maxfev, limit


def _outcome(fit, jacobian_source, with_njev, full_output, ftol, xtol, gtol, maxfev):
    """leastsq's return value (and its warnings and errors) from a driver's fit tuple."""
    x, info, nfev, njev, fvec, fjac, ipvt, qtf, cov_x = fit
    if info == NONFINITE_RESIDUALS:
        raise ValueError("leastsq: func returned non-finite values (nan or inf) at the "
                         "starting point x0; the sum of squares is undefined there")
    if info == NONFINITE_JACOBIAN:
        raise ValueError(f"leastsq: the Jacobian from {jacobian_source} has non-finite "
                         f"values (nan or inf) at x = {x!r}")
    if full_output:
        mesg = leastsq_message(info, ftol, xtol, gtol, maxfev)
        infodict = {"fvec": fvec, "nfev": nfev}
        if with_njev:
            infodict["njev"] = njev
        infodict.update(fjac=fjac, ipvt=ipvt, qtf=qtf)
        return x, cov_x, infodict, mesg, info
    if info in LEASTSQ_FAILURE:
        warnings.warn(leastsq_message(info, ftol, xtol, gtol, maxfev), RuntimeWarning,
                      stacklevel=3)
    elif info == 0:
        raise TypeError(leastsq_message(info, ftol, xtol, gtol, maxfev))
    return x, info


def leastsq_model(model, xdata, ydata, weights, x0, use_jac, ftol=1.49012e-08,
                  xtol=1.49012e-08, gtol=0.0, maxfev=0, epsfcn=None, factor=100,
                  diag=None):
    """leastsq(full_output=True) on the residuals ``weights * (model(xdata, *p) - ydata)``
    of a compiled model (lmfast.models), without a Python call per evaluation.

    xdata is a float64 (x_dims, M) array, ydata (M,), weights (M,) or None, x0 (n,);
    use_jac: the model's analytic Jacobian (lmder) instead of forward differences.
    """
    n = x0.shape[0]
    if epsfcn is None:
        epsfcn = default_epsfcn()
    maxfev, limit = _maxfev_limits(maxfev, 100 * (n + 1) if use_jac else 200 * (n + 1))
    if diag is not None:
        diag = _scales(diag, n)
    fit = _single.fit_model(model._compiled_spec, n, xdata, ydata, weights, x0, not use_jac,
                            ftol, xtol, gtol, limit, epsfcn, factor, diag, True)
    source = f"{model.name}.jac" if use_jac else "the forward differences of func"
    return _outcome(fit, source, use_jac, True, ftol, xtol, gtol, maxfev)
