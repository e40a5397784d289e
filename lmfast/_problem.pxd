# The one problem description that crosses from the Python front ends into the compiled
# drivers: sizes, data, settings and the model, filled once by lmfast._validate.

from lmfast._engine cimport LMSettings
from lmfast._models cimport ModelFuncs

cdef enum EstimatorKind:
    ESTIMATOR_LEAST_SQUARES = 0
    ESTIMATOR_POISSON = 1      # reserved: not implemented yet

ctypedef struct ProblemData:
    Py_ssize_t n_fits, m, n
    LMSettings settings
    int absolute_sigma
    int estimator              # an EstimatorKind
    # Fit i reads: x at x + i*x_fit_stride (rows x_row_stride apart), y + i*y_fit_stride,
    # w + i*w_fit_stride (w NULL: unweighted), p0 + i*p0_fit_stride.  A shared array has
    # fit stride 0.
    const double *x
    Py_ssize_t x_fit_stride, x_row_stride
    const double *y
    Py_ssize_t y_fit_stride
    const double *w
    Py_ssize_t w_fit_stride
    # inv(L) for a covariance sigma = L L^T: m-by-m lower triangular, row-major, shared by
    # all fits; NULL when sigma is not a covariance.
    const double *whiten
    const double *p0
    Py_ssize_t p0_fit_stride
    # MINPACK's diag (n scales, mode 2), or NULL for internal scaling (mode 1).
    const double *diag
    # Reserved for bounds and fixed parameters: NULL when absent.
    const double *lower
    const double *upper
    Py_ssize_t bounds_fit_stride
    const unsigned char *fixed
    Py_ssize_t fixed_fit_stride
    # The compiled model (has_model 0 for a Python callable).
    ModelFuncs model
    int has_model


cdef class Problem:
    cdef ProblemData data
    # The arrays behind the pointers above, as the validator made them.
    cdef readonly object xdata, ydata, weights, whiten, p0, diag, lower, upper, fixed
    cdef readonly object model
    cdef readonly bint x_per_fit
