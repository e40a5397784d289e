"""The one table of outcomes: MINPACK info code -> message (and what leastsq raises)."""

#: info codes for which leastsq has converged.
LEASTSQ_SUCCESS = (1, 2, 3, 4)
#: info codes for which leastsq warns (full_output=False) but still returns x.
LEASTSQ_FAILURE = (5, 6, 7, 8)


class MinpackError(Exception):
    """A callback returned something that is not an array of floats.

    Plays the part of SciPy's ``scipy.optimize._minpack.error`` (also an ``Exception``
    subclass), with the same message.
    """


NOT_FLOATS = "Result from function call is not a proper array of floats."
CHANGED_SIZE = "The array returned by a function changed size between calls"


def leastsq_message(info, ftol, xtol, gtol, maxfev):
    """Message for MINPACK's ``info`` code, worded as scipy.optimize.leastsq words it.

    Parameters
    ----------
    info : int
        MINPACK's termination code, 0 to 8.
    ftol, xtol, gtol : float
        The tolerances of the fit (formatted into the message).
    maxfev : int
        The effective maximum number of function calls.

    Returns
    -------
    str
    """
    if info == 0:
        return "Improper input parameters."
    if info == 1:
        return ("Both actual and predicted relative reductions "
                f"in the sum of squares\n  are at most {ftol:f}")
    if info == 2:
        return ("The relative error between two consecutive "
                f"iterates is at most {xtol:f}")
    if info == 3:
        return ("Both actual and predicted relative reductions in "
                f"the sum of squares\n  are at most {ftol:f} and the "
                "relative error between two consecutive "
                f"iterates is at \n  most {xtol:f}")
    if info == 4:
        return ("The cosine of the angle between func(x) and any "
                f"column of the\n  Jacobian is at most {gtol:f} in "
                "absolute value")
    if info == 5:
        return f"Number of calls to function has reached maxfev = {maxfev}."
    if info == 6:
        return (f"ftol={ftol:f} is too small, no further reduction "
                "in the sum of squares\n  is possible.")
    if info == 7:
        return (f"xtol={xtol:f} is too small, no further improvement in "
                "the approximate\n  solution is possible.")
    if info == 8:
        return (f"gtol={gtol:f} is too small, func(x) is orthogonal to the "
                "columns of\n  the Jacobian to machine precision.")
    raise ValueError(f"unknown MINPACK info code {info}")


#: lmfast's own outcome codes (negative: the fit stopped without an answer).
NONFINITE_RESIDUALS = -2
NONFINITE_JACOBIAN = -3

_LMFAST_MESSAGES = {
    NONFINITE_RESIDUALS: "The residuals are not finite (nan or inf) at the starting point: "
    "check this fit's data, sigma, p0 and the model's value there.",
    NONFINITE_JACOBIAN: "The Jacobian has non-finite values (nan or inf); the fit stopped "
    "without an answer.",
}


def fit_message(info, ftol, xtol, gtol, maxfev):
    """Message for an outcome code: MINPACK's 0-8 as leastsq words them, or lmfast's.

    Parameters
    ----------
    info : int
        MINPACK's code, or a negative lmfast code.
    ftol, xtol, gtol, maxfev
        As for :func:`leastsq_message`.

    Returns
    -------
    str
    """
    if info in _LMFAST_MESSAGES:
        return _LMFAST_MESSAGES[info]
    return leastsq_message(info, ftol, xtol, gtol, maxfev)
