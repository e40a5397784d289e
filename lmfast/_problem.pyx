"""The problem description handed to the compiled drivers (see ``_problem.pxd``).

``lmfast._validate`` converts and checks the user's arguments; ``Problem`` only records
them: it takes C-contiguous float64 arrays of the documented shapes and derives the
strides between fits from those shapes, so no driver works them out again.
"""
import numpy as np

cimport numpy as cnp

from lmfast._estimator cimport (
    ESTIMATOR_ARCTAN, ESTIMATOR_CAUCHY, ESTIMATOR_HUBER, ESTIMATOR_LEAST_SQUARES,
    ESTIMATOR_POISSON, ESTIMATOR_SOFT_L1,
)
from lmfast._models cimport CompiledModel

cnp.import_array()

#: The estimator kinds, for the front ends (``Problem(estimator=...)``).
LEAST_SQUARES = ESTIMATOR_LEAST_SQUARES
POISSON = ESTIMATOR_POISSON
#: The robust losses by SciPy's names ('linear' is least squares).
LOSSES = {"linear": ESTIMATOR_LEAST_SQUARES, "soft_l1": ESTIMATOR_SOFT_L1,
          "huber": ESTIMATOR_HUBER, "cauchy": ESTIMATOR_CAUCHY, "arctan": ESTIMATOR_ARCTAN}


cdef const double *_doubles(object arr, str name, tuple shape, Py_ssize_t n_fits,
                            Py_ssize_t *fit_stride) except? NULL:
    """The data of a C-contiguous float64 array of ``shape`` (shared) or of
    ``(n_fits, *shape)`` (one per fit, when fit_stride is not NULL); NULL for None.
    Sets *fit_stride to the doubles between two fits' rows (0 when shared)."""
    cdef cnp.ndarray a
    cdef int k = len(shape), ndim, lead, i
    cdef cnp.npy_intp *dims
    cdef Py_ssize_t size = 1
    if fit_stride != NULL:
        fit_stride[0] = 0
    if arr is None:
        return NULL
    if (cnp.PyArray_Check(arr) and cnp.PyArray_TYPE(<cnp.ndarray>arr) == cnp.NPY_DOUBLE
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>arr)):
        a = <cnp.ndarray>arr
        ndim = cnp.PyArray_NDIM(a)
        dims = cnp.PyArray_DIMS(a)
        lead = ndim - k
        if lead == 0 or (lead == 1 and fit_stride != NULL and dims[0] == n_fits):
            for i in range(k):
                if dims[lead + i] != <Py_ssize_t>shape[i]:
                    break
                size *= dims[lead + i]
            else:
                if lead and fit_stride != NULL:
                    fit_stride[0] = size
                return <const double *>cnp.PyArray_DATA(a)
    raise ValueError(f"internal: Problem.{name} must be a C-contiguous float64 array of "
                     f"shape {shape}{' or (n_fits, ...)' if fit_stride != NULL else ''}; "
                     f"got {getattr(arr, 'shape', type(arr).__name__)}")


cdef class Problem:
    """Sizes, data, settings and model of one fit or of a batch of N fits.

    Every argument is keyword-only.  Arrays are C-contiguous float64 (``fixed``: bool),
    shared by all fits or one row per fit (a leading axis of length ``n_fits``).

    Parameters
    ----------
    m, n : int
        Residuals and parameters per fit.
    n_fits : int
        Number of fits (1 for the single-fit front ends).
    p0 : ndarray, (n,) or (n_fits, n)
        Starting points.
    xdata : ndarray or None
        The independent variable as the compiled model reads it: (m,) or (k, m) shared, or
        (n_fits, m) or (n_fits, k, m) when ``x_per_fit``.  None without a compiled model.
    ydata : ndarray or None
        (m,) or (n_fits, m).  None for a Python residual function.
    weights : ndarray or None
        1 / sigma: (m,) or (n_fits, m).
    whiten : ndarray or None
        (m, m) lower-triangular inv(L) of a covariance sigma = L L^T.
    diag : ndarray or None
        (n,) variable scales (MINPACK mode 2).
    lower, upper : ndarray or None
        Bounds, (n,) or (n_fits, n), -inf/+inf where a side is open; both or neither.
    fixed : ndarray of bool or None
        (n,): parameters held at their p0 (at least one must stay free).
    estimator : int
        ``LEAST_SQUARES``, ``POISSON`` (Poisson deviance residuals of ydata, counts) or
        a robust loss of ``LOSSES`` (see lmfast/_estimator.pxd).
    f_scale : float
        The robust loss's scale C (> 0).
    status : ndarray of int32 or None
        (n_fits,): 0 for a fit to run, else the ier it gets without running (a status
        the validator decided, e.g. rows that are not counts).
    tolerances : lmfast._defaults.Tolerances
        ftol, xtol, gtol and limit (the maxfev the engine applies).
    epsfcn, factor : float
        The engine's other settings.
    use_fd : bool
        Forward-difference Jacobian instead of an analytic one.
    stop_nonfinite : bool
        Stop a fit whose residuals at p0, or whose Jacobian, are not finite (codes -2 and
        -3); False carries on through NaN arithmetic exactly as MINPACK (and SciPy) do.
    absolute_sigma : bool
        As in curve_fit (batch covariance scaling).
    model : CompiledModel or None
        The compiled model; None when residuals come from Python.
    """

    def __init__(self, *, Py_ssize_t m, Py_ssize_t n, p0, Py_ssize_t n_fits=1,
                 xdata=None, bint x_per_fit=False, ydata=None, weights=None, whiten=None,
                 diag=None, lower=None, upper=None, fixed=None, int estimator=0,
                 double f_scale=1.0, status=None,
                 tolerances, double epsfcn, double factor, bint use_fd,
                 bint stop_nonfinite=True,
                 bint absolute_sigma=False, CompiledModel model=None):
        cdef ProblemData *d = &self.data
        cdef tuple x_shape
        cdef Py_ssize_t stride = 0
        if m < 0 or n < 0 or n_fits < 0:
            raise ValueError("internal: negative Problem sizes")
        if not ESTIMATOR_LEAST_SQUARES <= estimator <= ESTIMATOR_ARCTAN:
            raise ValueError(f"internal: unknown estimator {estimator}")
        if not f_scale > 0:
            raise ValueError("internal: f_scale must be > 0")
        if estimator == ESTIMATOR_POISSON and (weights is not None or whiten is not None):
            raise ValueError("internal: Poisson fits take no weights")
        if (lower is None) != (upper is None):
            raise ValueError("internal: Problem needs both bounds or neither")
        d.n_fits, d.m, d.n = n_fits, m, n
        # The free parameters' indices, needed only when the drivers map (bounds or
        # fixed parameters); a plain problem skips the allocation.
        free = None
        d.n_free = n
        d.free = NULL
        if fixed is not None:
            if (not isinstance(fixed, np.ndarray) or fixed.dtype != np.bool_
                    or fixed.shape != (n,)):
                raise ValueError("internal: Problem.fixed must be a bool array of shape (n,)")
            free = np.flatnonzero(~fixed).astype(np.intp)
            if free.size == 0:
                raise ValueError("internal: Problem needs at least one free parameter")
        elif lower is not None:
            free = np.arange(n, dtype=np.intp)
        if free is not None:
            d.n_free = free.shape[0]
            d.free = <const Py_ssize_t *>cnp.PyArray_DATA(free)
        d.settings.ftol = tolerances.ftol
        d.settings.xtol = tolerances.xtol
        d.settings.gtol = tolerances.gtol
        d.settings.maxfev = tolerances.limit
        d.settings.epsfcn = epsfcn
        d.settings.factor = factor
        d.settings.use_fd = use_fd
        d.settings.stop_nonfinite = stop_nonfinite
        d.absolute_sigma = absolute_sigma
        d.estimator.kind = estimator
        d.estimator.f_scale = f_scale

        d.p0 = _doubles(p0, "p0", (n,), n_fits, &d.p0_fit_stride)
        d.y = _doubles(ydata, "ydata", (m,), n_fits, &d.y_fit_stride)
        d.w = _doubles(weights, "weights", (m,), n_fits, &d.w_fit_stride)
        d.whiten = _doubles(whiten, "whiten", (m, m), 1, NULL)
        d.diag = _doubles(diag, "diag", (d.n_free,), 1, NULL)
        d.lower = _doubles(lower, "lower", (n,), n_fits, &d.bounds_fit_stride)
        d.upper = _doubles(upper, "upper", (n,), n_fits, &stride)
        if stride != d.bounds_fit_stride:
            raise ValueError("internal: Problem.lower and upper must have one shape")
        d.mapped = d.lower != NULL or d.n_free != n

        d.has_model = model is not None
        # The one choice of kernels: a fit whose model is compiled runs the fast kernels
        # (lmfast/_simd.pxd); a Python callback's fit keeps MINPACK's arithmetic, which
        # matches SciPy's leastsq answer for answer.
        d.settings.fast = d.has_model
        d.xdata = NULL
        d.xdata_fit_stride = 0
        d.xdata_row_stride = m
        if model is not None:
            d.model = model.funcs
            k = model.funcs.x_dims
            x_shape = (m,)
            if k != 1:
                x_shape = (k, m)
            d.xdata = _doubles(xdata, "xdata", x_shape, n_fits, &d.xdata_fit_stride)
            if (d.xdata_fit_stride != 0) != x_per_fit:
                raise ValueError("internal: Problem.xdata is not laid out as x_per_fit says")
            if d.y == NULL:
                raise ValueError("internal: a compiled model needs ydata")
            if d.model.jac == NULL and not use_fd:
                raise ValueError("internal: this compiled model has no Jacobian")

        self.xdata, self.x_per_fit, self.ydata = xdata, x_per_fit, ydata
        self.weights, self.whiten, self.p0, self.diag = weights, whiten, p0, diag
        self.lower, self.upper, self.fixed, self.model = lower, upper, fixed, model
        self.free = free
        d.status = NULL
        if status is not None:
            if (not isinstance(status, np.ndarray) or status.dtype != np.int32
                    or status.shape != (n_fits,) or not status.flags.c_contiguous):
                raise ValueError("internal: Problem.status must be an int32 array (n_fits,)")
            d.status = <const int *>cnp.PyArray_DATA(status)
        self.status = status

    @property
    def n_fits(self):
        """Number of fits."""
        return self.data.n_fits

    @property
    def m(self):
        """Residuals per fit."""
        return self.data.m

    @property
    def n(self):
        """Parameters per fit."""
        return self.data.n

    @property
    def n_free(self):
        """Parameters iterated (not fixed) per fit."""
        return self.data.n_free

    @property
    def use_fd(self):
        """Whether the Jacobian is taken by forward differences."""
        return bool(self.data.settings.use_fd)

    @property
    def estimator(self):
        """The estimator kind (LEAST_SQUARES, POISSON or a value of LOSSES)."""
        return self.data.estimator.kind

    @property
    def f_scale(self):
        """The robust loss's scale C."""
        return self.data.estimator.f_scale

    @property
    def absolute_sigma(self):
        """Whether the batch's covariance is used without the reduced chi-square."""
        return bool(self.data.absolute_sigma)
