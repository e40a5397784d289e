"""lmfast: MINPACK's Levenberg-Marquardt method, compiled, as a drop-in for SciPy.

``lmfast.leastsq`` and ``lmfast.curve_fit`` take the same arguments and give the same
answers as ``scipy.optimize.leastsq`` and ``scipy.optimize.curve_fit`` (method 'lm'),
in a fraction of the time.  ``lmfast.curve_fit_batch`` fits one model to many data sets
at once, on every core, with the compiled models of ``lmfast.models`` or a vectorised
Python model.
"""
# Loads libscipy_openblas with RTLD_GLOBAL: the compiled modules resolve their BLAS and
# LAPACK symbols against it, wherever the package is installed.
import scipy_openblas32  # noqa: F401

from lmfast import models
from lmfast._batch import BatchResult, curve_fit_batch
from lmfast._curve_fit import curve_fit
from lmfast._least_squares import least_squares
from lmfast._leastsq import leastsq
from lmfast._outcomes import MinpackError, OptimizeWarning

__version__ = "0.2.0"
__all__ = [
    "leastsq",
    "least_squares",
    "curve_fit",
    "curve_fit_batch",
    "BatchResult",
    "models",
    "MinpackError",
    "OptimizeWarning",
]
