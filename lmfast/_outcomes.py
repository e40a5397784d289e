"""The one table of outcomes: info code -> message, and what each front end does with it.

MINPACK's codes 0-8 keep SciPy's wording; lmfast's own negative codes say why a fit
stopped without an answer.  ``leastsq`` raises or warns with the class in the table's
``leastsq`` column (without full_output), ``curve_fit`` with the ``curve_fit`` column,
``curve_fit_batch`` only records the code per fit (``BatchResult.message(i)``).
"""
import threading
import warnings
from dataclasses import dataclass

_MINPACK_ERROR_DOC = """A callback returned something that is not an array of floats.

    lmfast raises it where SciPy's MINPACK wrappers raise their ``error`` (with the same
    message), and it is a subclass of that error whenever SciPy can be imported.
    """

_OPTIMIZE_WARNING_DOC = """Warning about the result of an optimization, e.g. an undefined covariance.

    A subclass of ``scipy.optimize.OptimizeWarning`` whenever SciPy can be imported (so
    warning filters and ``pytest.warns`` written for SciPy catch it), else of
    :class:`UserWarning`.
    """

_classes = {}
_classes_lock = threading.Lock()


def _scipy_bases():
    """SciPy's OptimizeWarning and MINPACK error, or UserWarning and Exception."""
    try:
        from scipy.optimize import OptimizeWarning as scipy_warning
        from scipy.optimize._minpack import error as scipy_error
    except ImportError:
        return {"MinpackError": Exception, "OptimizeWarning": UserWarning}
    return {"MinpackError": scipy_error, "OptimizeWarning": scipy_warning}


def exception_class(name):
    """lmfast's ``MinpackError`` or ``OptimizeWarning``, made on first use.

    They are made when first needed, not at ``import lmfast``, so that SciPy is imported
    only if lmfast has to raise or warn (or a user asks for the class): each subclasses
    SciPy's counterpart when SciPy can be imported.

    Parameters
    ----------
    name : {'MinpackError', 'OptimizeWarning'}

    Returns
    -------
    type
    """
    cls = _classes.get(name)
    if cls is not None:
        return cls
    with _classes_lock:
        if not _classes:
            bases = _scipy_bases()
            for key, doc in (("MinpackError", _MINPACK_ERROR_DOC),
                             ("OptimizeWarning", _OPTIMIZE_WARNING_DOC)):
                _classes[key] = type(key, (bases[key],),
                                     {"__doc__": doc, "__module__": "lmfast"})
    return _classes[name]


def __getattr__(name):
    if name in ("MinpackError", "OptimizeWarning"):
        return exception_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


NOT_FLOATS = "Result from function call is not a proper array of floats."
CHANGED_SIZE = "The array returned by a function changed size between calls"

#: lmfast's own codes (negative: the fit stopped without an answer).
NONFINITE_RESIDUALS = -2
NONFINITE_JACOBIAN = -3
P0_OUTSIDE_BOUNDS = -4
NOT_COUNTS = -5

#: Codes for which a fit converged (1-4), and for which it stopped with its last iterate.
SUCCESS = frozenset((1, 2, 3, 4))
STOPPED = frozenset((5, 6, 7, 8))


@dataclass(frozen=True)
class Outcome:
    """One row of the table.

    Attributes
    ----------
    message : str
        Why the fit stopped; ``{ftol}``, ``{xtol}``, ``{gtol}``, ``{maxfev}`` are filled in.
    leastsq : type or None
        The exception (or warning) class leastsq raises (or issues) without full_output.
    curve_fit : type or None
        The exception class curve_fit raises.
    """

    message: str
    leastsq: type | None
    curve_fit: type | None


OUTCOMES = {
    0: Outcome("Improper input parameters.", TypeError, RuntimeError),
    1: Outcome("Both actual and predicted relative reductions in the sum of squares\n"
               "  are at most {ftol:f}", None, None),
    2: Outcome("The relative error between two consecutive iterates is at most {xtol:f}",
               None, None),
    3: Outcome("Both actual and predicted relative reductions in the sum of squares\n"
               "  are at most {ftol:f} and the relative error between two consecutive "
               "iterates is at \n  most {xtol:f}", None, None),
    4: Outcome("The cosine of the angle between func(x) and any column of the\n"
               "  Jacobian is at most {gtol:f} in absolute value", None, None),
    5: Outcome("Number of calls to function has reached maxfev = {maxfev}.",
               RuntimeWarning, RuntimeError),
    6: Outcome("ftol={ftol:f} is too small, no further reduction in the sum of squares\n"
               "  is possible.", RuntimeWarning, RuntimeError),
    7: Outcome("xtol={xtol:f} is too small, no further improvement in the approximate\n"
               "  solution is possible.", RuntimeWarning, RuntimeError),
    8: Outcome("gtol={gtol:f} is too small, func(x) is orthogonal to the columns of\n"
               "  the Jacobian to machine precision.", RuntimeWarning, RuntimeError),
    NONFINITE_RESIDUALS: Outcome(
        "The residuals are not finite (nan or inf) at the starting point: check this "
        "fit's data, sigma, p0 and the model's value there.", ValueError, ValueError),
    NONFINITE_JACOBIAN: Outcome(
        "The Jacobian has non-finite values (nan or inf); the fit stopped without an "
        "answer.", ValueError, ValueError),
    P0_OUTSIDE_BOUNDS: Outcome(
        "p0 is outside this fit's bounds (or NaN where bounded); the fit was not run.",
        ValueError, ValueError),
    NOT_COUNTS: Outcome(
        "estimator='poisson' needs counts, but this fit's ydata has negative, non-integer "
        "or non-finite values; the fit was not run.", ValueError, ValueError),
}

#: The codes, with one line each, for documentation (BatchResult, README).
CODES_DOC = """\
1-4  converged (MINPACK's tests on ftol, xtol, gtol)
5    maxfev reached: popt is the last iterate
6-8  ftol, xtol or gtol too small for further progress: popt is the last iterate
0    improper input (e.g. fewer data points than parameters)
-2   residuals not finite at p0 (NaN data, zero sigma, NaN p0, model NaN there)
-3   Jacobian not finite
-4   p0 outside this fit's bounds: the fit was not run
-5   estimator='poisson' and this fit's ydata are not counts: the fit was not run"""


def message(info, tolerances):
    """The message for an outcome code.

    Parameters
    ----------
    info : int
        A code of :data:`OUTCOMES`.
    tolerances : Tolerances
        ftol, xtol, gtol and maxfev (as messages quote it).

    Returns
    -------
    str
    """
    try:
        outcome = OUTCOMES[info]
    except KeyError:
        raise ValueError(f"unknown outcome code {info}") from None
    return outcome.message.format(ftol=tolerances.ftol, xtol=tolerances.xtol,
                                  gtol=tolerances.gtol, maxfev=tolerances.maxfev)


def report(info, front_end, text, stacklevel=3):
    """Raise or warn as ``front_end`` ('leastsq' or 'curve_fit') does for ``info``.

    Parameters
    ----------
    info : int
        The outcome code.
    front_end : str
        Column of the table to apply.
    text : str
        The message of the exception or warning.
    stacklevel : int
        For a warning: the caller of the front end.
    """
    cls = getattr(OUTCOMES[info], front_end)
    if cls is None:
        return
    if issubclass(cls, Warning):
        warnings.warn(text, cls, stacklevel=stacklevel + 1)
    else:
        raise cls(text)
