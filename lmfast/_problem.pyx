"""The problem description handed to the compiled drivers (see ``_problem.pxd``).

``lmfast._validate`` converts and checks the user's arguments; ``Problem`` only records
them: it takes C-contiguous float64 arrays of the documented shapes and derives the
strides between fits from those shapes, so no driver works them out again.
"""
import numpy as np

cimport numpy as cnp

from lmfast._models cimport CompiledModel

cnp.import_array()


cdef const double *_doubles(object arr, str name, tuple shapes) except? NULL:
    """The data of a C-contiguous float64 array of one of shapes (NULL for None)."""
    if arr is None:
        return NULL
    if (not isinstance(arr, np.ndarray) or arr.dtype != np.float64
            or not arr.flags.c_contiguous or arr.shape not in shapes):
        raise ValueError(f"internal: Problem.{name} must be a C-contiguous float64 array "
                         f"of shape {' or '.join(map(str, shapes))}; got "
                         f"{getattr(arr, 'shape', type(arr).__name__)}")
    return <const double *>cnp.PyArray_DATA(arr)


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
    lower, upper, fixed : ndarray or None
        Reserved for bounds and fixed parameters; must be None for now.
    estimator : int
        ``ESTIMATOR_LEAST_SQUARES`` (0); others are reserved.
    ftol, xtol, gtol, maxfev, epsfcn, factor : number
        The engine's settings (maxfev: the limit the engine applies).
    use_fd : bool
        Forward-difference Jacobian instead of an analytic one.
    absolute_sigma : bool
        As in curve_fit (batch covariance scaling).
    model : CompiledModel or None
        The compiled model; None when residuals come from Python.
    """

    def __init__(self, *, Py_ssize_t m, Py_ssize_t n, p0, Py_ssize_t n_fits=1,
                 xdata=None, bint x_per_fit=False, ydata=None, weights=None, whiten=None,
                 diag=None, lower=None, upper=None, fixed=None, int estimator=0,
                 double ftol, double xtol, double gtol, long maxfev, double epsfcn,
                 double factor, bint use_fd, bint absolute_sigma=False,
                 CompiledModel model=None):
        cdef ProblemData *d = &self.data
        if m < 0 or n < 0 or n_fits < 0:
            raise ValueError("internal: negative Problem sizes")
        if estimator != ESTIMATOR_LEAST_SQUARES:
            raise NotImplementedError("only the least-squares estimator is implemented")
        if lower is not None or upper is not None or fixed is not None:
            raise NotImplementedError("bounds and fixed parameters are not implemented yet")
        d.n_fits, d.m, d.n = n_fits, m, n
        d.settings.ftol = ftol
        d.settings.xtol = xtol
        d.settings.gtol = gtol
        d.settings.maxfev = maxfev
        d.settings.epsfcn = epsfcn
        d.settings.factor = factor
        d.settings.use_fd = use_fd
        d.absolute_sigma = absolute_sigma
        d.estimator = estimator

        d.p0 = _doubles(p0, "p0", ((n,), (n_fits, n)))
        d.p0_fit_stride = n if np.ndim(p0) == 2 else 0
        d.y = _doubles(ydata, "ydata", ((m,), (n_fits, m)))
        d.y_fit_stride = m if np.ndim(ydata) == 2 else 0
        d.w = _doubles(weights, "weights", ((m,), (n_fits, m)))
        d.w_fit_stride = m if np.ndim(weights) == 2 else 0
        d.whiten = _doubles(whiten, "whiten", ((m, m),))
        d.diag = _doubles(diag, "diag", ((n,),))
        d.lower = d.upper = NULL
        d.fixed = NULL
        d.bounds_fit_stride = d.fixed_fit_stride = 0

        d.has_model = model is not None
        d.x = NULL
        d.x_fit_stride = 0
        d.x_row_stride = m
        if model is not None:
            d.model = model.funcs
            k = model.funcs.x_dims
            one = (m,) if k == 1 else (k, m)
            d.x = _doubles(xdata, "xdata", ((n_fits, *one),) if x_per_fit else (one,))
            d.x_fit_stride = k * m if x_per_fit else 0
            if d.y == NULL:
                raise ValueError("internal: a compiled model needs ydata")
            if d.model.jac == NULL and not use_fd:
                raise ValueError("internal: this compiled model has no Jacobian")

        self.xdata, self.x_per_fit, self.ydata = xdata, x_per_fit, ydata
        self.weights, self.whiten, self.p0, self.diag = weights, whiten, p0, diag
        self.lower, self.upper, self.fixed, self.model = lower, upper, fixed, model

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
    def use_fd(self):
        """Whether the Jacobian is taken by forward differences."""
        return bool(self.data.settings.use_fd)
