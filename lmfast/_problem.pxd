# The one problem description that crosses from the Python front ends into the compiled
# drivers: sizes, data, settings and the model, filled once by lmfast._validate.

from lmfast._engine cimport LMSettings
from lmfast._estimator cimport Estimator
from lmfast._models cimport ModelFuncs
from lmfast._transform cimport ParamMap

ctypedef struct ProblemData:
    # n parameters per fit, of which n_free are iterated (the engine's n).
    Py_ssize_t n_fits, m, n, n_free
    LMSettings settings
    int absolute_sigma
    Estimator estimator        # what the residuals are (lmfast/_estimator.pxd)
    # Fit i reads: its independent variable at xdata + i*xdata_fit_stride (rows
    # xdata_row_stride apart), y + i*y_fit_stride,
    # w + i*w_fit_stride (w NULL: unweighted), p0 + i*p0_fit_stride.  A shared array has
    # fit stride 0.
    const double *xdata
    Py_ssize_t xdata_fit_stride, xdata_row_stride
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
    # Bounds (n per fit, +-inf where a side is open; NULL: no bounds) and the external
    # index of each free parameter (n_free).  mapped: bounds or fixed parameters, so
    # the drivers map between the engine's variables and the parameters.
    const double *lower
    const double *upper
    Py_ssize_t bounds_fit_stride
    const Py_ssize_t *free
    int mapped
    # A status per fit decided before any work (0: run it; else the fit's ier, e.g. the
    # counts check of Poisson), or NULL: run every fit.
    const int *status
    # The compiled model (has_model 0 for a Python callable).
    ModelFuncs model
    int has_model


cdef inline void fit_param_map(const ProblemData *p, Py_ssize_t i, ParamMap *pm) noexcept nogil:
    """The change of variables of fit i (its bounds, and its p0 for fixed values); its
    kinds unresolved (see _model_fit.fit_map for the fit's resolved ones)."""
    pm.n = p.n
    pm.n_free = p.n_free
    pm.free = p.free
    pm.lower = p.lower + i * p.bounds_fit_stride if p.lower != NULL else NULL
    pm.upper = p.upper + i * p.bounds_fit_stride if p.upper != NULL else NULL
    pm.values = p.p0 + i * p.p0_fit_stride
    pm.kinds = NULL


cdef class Problem:
    cdef ProblemData data
    # The arrays behind the pointers above, as the validator made them.
    cdef readonly object xdata, ydata, weights, whiten, p0, diag, lower, upper, fixed
    cdef readonly object free, status
    cdef readonly object model
    cdef readonly bint x_per_fit
