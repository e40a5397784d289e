"""lmfast: MINPACK's Levenberg-Marquardt method, compiled, as a drop-in for SciPy.

``lmfast.leastsq`` and ``lmfast.curve_fit`` take the same arguments and give the same
answers as ``scipy.optimize.leastsq`` and ``scipy.optimize.curve_fit`` (method 'lm'),
in a fraction of the time.  ``lmfast.curve_fit_batch`` fits one model to many data sets
at once, on every core, with the compiled models of ``lmfast.models`` or a vectorised
Python model.  Fits of compiled models run kernels built for the CPU's vector units,
chosen when lmfast is imported (``simd_path``).
"""
# Loads libscipy_openblas with RTLD_GLOBAL: the compiled modules resolve their BLAS and
# LAPACK symbols against it, wherever the package is installed.
import scipy_openblas32  # noqa: F401

from lmfast import models
from lmfast._batch import curve_fit_batch
from lmfast._batch_result import BatchResult, FitResult
from lmfast._curve_fit import curve_fit
from lmfast._least_squares import least_squares
from lmfast._leastsq import leastsq
from lmfast._map import curve_fit_map
from lmfast._map_result import MapResult
from lmfast._outcomes import exception_class as _exception_class
from lmfast._patching import patch, patch_calls, patched, patched_names, unpatch
from lmfast._simd import set_simd_path, simd_path, simd_paths

__version__ = "0.6.0"
__all__ = [
    "leastsq",
    "least_squares",
    "curve_fit",
    "curve_fit_batch",
    "BatchResult",
    "FitResult",
    "curve_fit_map",
    "MapResult",
    "models",
    "MinpackError",
    "OptimizeWarning",
    "patch",
    "unpatch",
    "patched",
    "patched_names",
    "patch_calls",
    "simd_paths",
    "simd_path",
    "set_simd_path",
]


def __getattr__(name):
    # MinpackError and OptimizeWarning subclass SciPy's classes: made on first use, so
    # that ``import lmfast`` does not import SciPy.
    if name in ("MinpackError", "OptimizeWarning"):
        return _exception_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
