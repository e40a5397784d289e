"""The single-fit driver: runs the engine, answering its requests with Python callables.

The loop holds the GIL (it calls Python at every request); everything between two
callbacks happens in the engine.  An exception raised by a callback propagates as is:
the loop simply stops.
"""
import numpy as np

cimport numpy as cnp
from cpython.ref cimport Py_REFCNT
from libc.string cimport memcpy

from lmfast._engine cimport (
    LMWork, LMRequest, LM_DONE, LM_NEED_F, LM_NEED_J, LM_NEED_FD,
    lm_step,
)
from lmfast._estimator cimport (
    ESTIMATOR_LEAST_SQUARES, cache_at, cache_fill, cache_next, scale_rows,
)
from lmfast._model_fit cimport (
    CompiledFit, bound_flags, cache_scratch, difference_column, difference_steps,
    fit_covariance, bind_compiled_fit, fit_map, fit_parameters, fit_work_doubles, step_scratch,
    fresh_covariance, grad_scratch, model_covariance, run_model_fit, start_fit,
)
from lmfast._problem cimport Problem, ProblemData
from lmfast._transform cimport ParamMap, chain_jacobian, gradient, to_external

from lmfast._blas_threads import single_blas_thread
from lmfast._outcomes import exception_class, NOT_FLOATS, CHANGED_SIZE

cnp.import_array()

cdef object _float64 = np.dtype(np.float64)


cdef cnp.ndarray _vector(const double *values, Py_ssize_t n):
    """A new float64 array holding a copy of values[0:n]."""
    cdef cnp.npy_intp size = n
    cdef cnp.ndarray out = cnp.PyArray_SimpleNew(1, &size, cnp.NPY_DOUBLE)
    if n:
        memcpy(cnp.PyArray_DATA(out), values, n * sizeof(double))
    return out


cdef class _PointBuffer:
    """The x arrays handed to the user's callbacks.

    Each call gets an array of its own unless the previous one was not kept by the
    callback (its reference count is back to ours alone): then it is refilled, which
    saves an allocation per call on small problems.
    """
    cdef cnp.ndarray last
    cdef Py_ssize_t n

    def __cinit__(self, Py_ssize_t n):
        self.n = n
        self.last = None

    cdef cnp.ndarray point(self, const double *values):
        cdef cnp.ndarray arr = self.last
        if arr is not None and Py_REFCNT(arr) == 2 and cnp.PyArray_ISWRITEABLE(arr):
            if self.n:
                memcpy(cnp.PyArray_DATA(arr), values, self.n * sizeof(double))
            return arr
        arr = _vector(values, self.n)
        self.last = arr
        return arr


cdef inline object _call(object f, _PointBuffer points, const double *x, tuple args):
    """f(x, *args) with a fresh-looking x array (one or two extra arguments are passed
    directly, without building a tuple for the call)."""
    cdef Py_ssize_t count = len(args)
    if count == 0:
        return f(points.point(x))
    if count == 1:
        return f(points.point(x), <object>args[0])
    if count == 2:
        return f(points.point(x), <object>args[0], <object>args[1])
    return f(points.point(x), *args)


cdef cnp.ndarray _as_float_array(object result, int min_ndim, int max_ndim):
    """result as a C-contiguous float64 array of min_ndim to max_ndim dimensions, or
    MinpackError as SciPy raises it (residuals: 0 to 1, a Jacobian: 1 to 2; a scalar
    Jacobian is refused even for one parameter and one residual, as in SciPy)."""
    cdef cnp.ndarray arr
    if (cnp.PyArray_CheckExact(result)
            and cnp.PyArray_TYPE(<cnp.ndarray>result) == cnp.NPY_DOUBLE
            and min_ndim <= cnp.PyArray_NDIM(<cnp.ndarray>result) <= max_ndim
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>result)):
        return <cnp.ndarray>result
    try:
        arr = np.asarray(result)
        if arr.dtype == object:
            # As SciPy converts: None becomes NaN, numbers their value.
            arr = arr.astype(_float64)
        if arr.ndim > max_ndim:
            raise ValueError("object too deep for desired array")
        if arr.ndim < min_ndim:
            raise ValueError("object of too small depth for desired array")
        if not np.can_cast(arr.dtype, _float64, "safe"):
            raise TypeError(f"Cannot cast array data from {arr.dtype!r} to "
                            f"{_float64!r} according to the rule 'safe'")
        return np.ascontiguousarray(arr, dtype=_float64)
    except (TypeError, ValueError) as exc:
        raise exception_class("MinpackError")(NOT_FLOATS) from exc


cdef int _store_residuals(object result, double *out, Py_ssize_t m) except -1:
    """Copy what func returned (m values) into out."""
    cdef cnp.ndarray arr = _as_float_array(result, 0, 1)
    if cnp.PyArray_SIZE(arr) != m:
        raise ValueError(CHANGED_SIZE)
    memcpy(out, cnp.PyArray_DATA(arr), m * sizeof(double))
    return 0


ctypedef struct _Mapping:
    # The change of variables of a single fit, and scratch for it.
    int mapped
    ParamMap pm
    double *p       # n parameters
    double *grad    # n_free dp/du
    # Beyond least squares func returns base values (lmfast/_estimator.pxd): the
    # problem (its estimator and ydata) and the fit's base-value cache.
    const ProblemData *problem
    double *cache
    double *steps   # n_free forward-difference steps


cdef inline const double *_parameters(const _Mapping *mapping, const double *u) noexcept:
    """The parameters the user's function sees at the engine's u."""
    if not mapping.mapped:
        return u
    to_external(&mapping.pm, u, mapping.p)
    return mapping.p


cdef inline bint _scaled(const _Mapping *mapping) noexcept:
    return mapping.problem.estimator.kind != ESTIMATOR_LEAST_SQUARES


cdef int _store_evaluation(object result, double *out, const double *u,
                           const _Mapping *mapping, Py_ssize_t m) except -1:
    """Store func's values at u as the engine's residuals out: as they are, or as base
    values through the estimator (kept in the cache for a Jacobian at u)."""
    if not _scaled(mapping):
        return _store_residuals(result, out, m)
    _store_residuals(result, cache_next(mapping.cache, m, mapping.pm.n_free), m)
    cache_fill(mapping.cache, m, mapping.pm.n_free, &mapping.problem.estimator, u,
               mapping.problem.y, out)
    return 0


cdef const double *_slot_at(LMWork *ws, const _Mapping *mapping, func, tuple args,
                            _PointBuffer points) except NULL:
    """The cache slot at ws.x (base values, slopes), calling func there if needed."""
    cdef Py_ssize_t m = ws.m, nf = mapping.pm.n_free
    cdef const double *slot = cache_at(mapping.cache, m, nf, ws.x)
    if slot == NULL:
        _store_evaluation(_call(func, points, _parameters(mapping, ws.x), args), ws.wa4,
                          ws.x, mapping, m)
        slot = cache_at(mapping.cache, m, nf, ws.x)
    return slot


cdef cnp.ndarray _store_jacobian(object result, LMWork *ws, bint col_deriv,
                                 const _Mapping *mapping):
    """Hand what Dfun returned to the engine as its m-by-n row-major Jacobian.

    Dfun gives (m, n) rows-are-residuals, or (n, m) with col_deriv; as in SciPy only the
    number of values is checked, the values are read in C order.  With bounds or fixed
    parameters it is the Jacobian in the n parameters, chained to the engine's
    variables.  When the engine only reads J (TSQR), an (m, n) float64 array is used in
    place: the array is returned and must be kept alive until the next lm_step returns.
    """
    cdef cnp.ndarray arr = _as_float_array(result, 1, 2)
    cdef const double *src
    cdef Py_ssize_t i, j, m = ws.m, n = mapping.pm.n
    if cnp.PyArray_SIZE(arr) != m * n:
        raise ValueError(CHANGED_SIZE)
    src = <const double *>cnp.PyArray_DATA(arr)
    if mapping.mapped:
        gradient(&mapping.pm, ws.x, mapping.grad)
        chain_jacobian(&mapping.pm, mapping.grad, m, src, 1 if col_deriv else n,
                       m if col_deriv else 1, ws.fjac)
        return None
    if not col_deriv:
        if ws.tsqr_rows and not _scaled(mapping):
            ws.jac = src
            return arr
        memcpy(ws.fjac, src, m * n * sizeof(double))
    else:
        for j in range(n):
            for i in range(m):
                ws.fjac[i * n + j] = src[j * m + i]
    return None


cdef int _run(LMWork *ws, const _Mapping *mapping, func, tuple args, Dfun, bint col_deriv,
              f0, J0) except -1:
    """Answer the engine's requests until it is done (f0/J0: known values at x0)."""
    cdef Py_ssize_t j, m = ws.m, n = ws.n
    cdef LMRequest request
    cdef double h, xj
    # An (m, n) array returned by Dfun that the engine reads in place until its next step.
    cdef object jac_in_use = None
    cdef _PointBuffer points = _PointBuffer(mapping.pm.n)
    # func(x0) is taken before the engine checks its inputs, as SciPy's compiled layer
    # does, so that an unusable result is reported first.
    cdef const double *slot = NULL
    if f0 is None:
        f0 = _call(func, points, _parameters(mapping, ws.x), args)
    _store_evaluation(f0, ws.fvec, ws.x, mapping, m)
    while True:
        request = lm_step(ws)
        if request == LM_NEED_F:
            if f0 is not None:
                f0 = None
            else:
                _store_evaluation(_call(func, points, _parameters(mapping, ws.req_x), args),
                                  ws.req_f, ws.req_x, mapping, m)
        elif request == LM_NEED_FD:
            if _scaled(mapping):
                slot = _slot_at(ws, mapping, func, args, points)
            difference_steps(ws, &mapping.pm, mapping.mapped, mapping.p, mapping.grad,
                             mapping.steps)
            for j in range(n):
                xj = ws.x[j]
                ws.x[j] = xj + mapping.steps[j]
                try:
                    _store_residuals(_call(func, points, _parameters(mapping, ws.x), args),
                                     ws.wa4, m)
                finally:
                    ws.x[j] = xj
                difference_column(ws, j, mapping.steps[j], ws.wa4, slot)
        elif request == LM_NEED_J:
            if J0 is not None:
                jac_in_use = _store_jacobian(J0, ws, col_deriv, mapping)
                J0 = None
            else:
                jac_in_use = _store_jacobian(
                    _call(Dfun, points, _parameters(mapping, ws.x), args), ws, col_deriv,
                    mapping)
            if _scaled(mapping):
                scale_rows(m, n, _slot_at(ws, mapping, func, args, points) + m, ws.fjac)
        else:
            break

    return 0


def fit(Problem problem not None, func, tuple args, Dfun, bint col_deriv, f0, J0,
        bint full_output):
    """Run one Levenberg-Marquardt fit (MINPACK lmdif if Dfun is None, else lmder).

    Parameters
    ----------
    problem : Problem
        One fit (its m, n, p0, diag and settings; no data: func computes residuals).
    func, args, Dfun, col_deriv
        As for scipy.optimize.leastsq.
    f0 : ndarray or None
        func(x0) if the caller already has it (it is not evaluated again), else None;
        ignored with bounds or fixed parameters (the engine starts from P(u0)).
    J0 : object or None
        Dfun(x0) if the caller already has it, else None (ignored likewise).
    full_output : bool
        Whether to return fjac, ipvt and qtf.

    Returns
    -------
    SingleFit
    """
    cdef LMWork ws
    cdef _Mapping mapping
    work = _start(problem, &ws)
    mapping.mapped = problem.data.mapped
    fit_map(&problem.data, 0, <double *>cnp.PyArray_DATA(work[0]), &mapping.pm)
    p_buffer = None
    mapping.p = NULL
    if mapping.mapped:  # the parameters the callbacks see: P(u), formed here
        p_buffer = np.empty(max(problem.data.n, 1))
        mapping.p = <double *>cnp.PyArray_DATA(p_buffer)
    mapping.grad = grad_scratch(&problem.data, <double *>cnp.PyArray_DATA(work[0]))
    mapping.problem = &problem.data
    mapping.cache = cache_scratch(&problem.data, <double *>cnp.PyArray_DATA(work[0]))
    mapping.steps = step_scratch(&problem.data, <double *>cnp.PyArray_DATA(work[0]))
    if mapping.mapped:
        f0 = J0 = None
    if ws.tsqr_rows:
        with single_blas_thread():
            _run(&ws, &mapping, func, args, Dfun, col_deriv, f0, J0)
    else:
        _run(&ws, &mapping, func, args, Dfun, col_deriv, f0, J0)
    return _result(problem, &ws, work, full_output, NULL)


def fit_model(Problem problem not None, bint full_output):
    """Run one fit of the problem's compiled model (residuals weighted or whitened as the
    problem says), GIL released; returns what :func:`fit` returns."""
    cdef LMWork ws
    cdef CompiledFit d
    if not problem.data.has_model or problem.data.n_fits != 1:
        raise ValueError("internal: fit_model needs one fit of a compiled model")
    work = _start(problem, &ws)
    bind_compiled_fit(&problem.data, 0, <double *>cnp.PyArray_DATA(work[0]), &d)
    if ws.tsqr_rows:
        with single_blas_thread():
            with nogil:
                run_model_fit(&ws, &d, NULL)
    else:
        with nogil:
            run_model_fit(&ws, &d, NULL)
    return _result(problem, &ws, work, full_output, &d)


cdef tuple _start(Problem problem, LMWork *ws):
    """Allocate the arrays behind ws and start the problem's one fit; returns
    (dwork, iwork), to be kept alive as long as ws is used."""
    cdef cnp.ndarray dwork = np.zeros(fit_work_doubles(&problem.data, problem.data.has_model),
                                      dtype=np.float64)
    cdef cnp.ndarray iwork = np.zeros(max(problem.data.n_free, 1), dtype=np.int32)
    if start_fit(&problem.data, 0, ws, <double *>cnp.PyArray_DATA(dwork),
                 <int *>cnp.PyArray_DATA(iwork)) != 0:
        raise ValueError("internal: p0 is outside the bounds")
    return dwork, iwork


cdef class SingleFit:
    """A finished fit, as leastsq reports it.

    Attributes: x, at_bound (n flags: the parameter ended on a bound), info, nfev, njev,
    fvec; and with full_output fjac (MINPACK's (n, m) column-major R/Householder array),
    ipvt, qtf and cov_x (None unless info is 1-4 and R is nonsingular; also None when
    the covariance must come from a fresh Jacobian at x and the fit had no compiled
    model: see ``fresh``); without full_output those four are None.  fresh: whether
    cov_x is (or is to be) taken from a fresh Jacobian at x (a parameter on a bound, or
    an estimator other than least squares).
    """
    cdef readonly object x, at_bound, fvec, fjac, ipvt, qtf, cov_x, problem
    cdef readonly bint fresh
    cdef readonly int info
    cdef readonly long nfev, njev


cdef SingleFit _result(Problem problem, LMWork *ws, tuple work, bint full_output,
                       const CompiledFit *d):
    """fit()'s result from a finished fit: x and cov_x in the problem's n parameters;
    fjac, ipvt and qtf are the engine's (in its n_free variables).  d: the compiled
    model's fit data, or NULL."""
    cdef Py_ssize_t m = ws.m, n = ws.n, i, j, rows, n_at_bound
    cdef cnp.npy_intp dims[2]
    cdef cnp.ndarray fjac, iwork = work[1], cov
    cdef double *out
    cdef SingleFit fit = SingleFit.__new__(SingleFit)
    cdef cnp.npy_intp n_params = problem.data.n
    x = cnp.PyArray_SimpleNew(1, &n_params, cnp.NPY_DOUBLE)
    fit_parameters(&problem.data, 0, ws, <double *>cnp.PyArray_DATA(x),
                   <double *>cnp.PyArray_DATA(work[0]))
    fit.x = x
    fit.problem = problem
    at_bound = np.zeros(n_params, dtype=np.bool_)
    n_at_bound = bound_flags(&problem.data, 0, <double *>cnp.PyArray_DATA(x),
                             <cnp.npy_bool *>cnp.PyArray_DATA(at_bound))
    fit.at_bound = at_bound
    fit.fresh = fresh_covariance(&problem.data, n_at_bound)
    fit.fvec = _vector(ws.fvec, m)
    fit.info = ws.info
    fit.nfev = ws.nfev
    fit.njev = ws.njev
    if not full_output:
        return fit
    fit.cov_x = None
    if 1 <= ws.info <= 4 and n:
        cov = np.empty((problem.data.n, problem.data.n))
        if not fit.fresh:
            if fit_covariance(&problem.data, 0, ws, <double *>cnp.PyArray_DATA(cov),
                              <double *>cnp.PyArray_DATA(work[0])) == 0:
                fit.cov_x = cov
        elif d != NULL:
            if model_covariance(&problem.data, ws, d, <double *>cnp.PyArray_DATA(x),
                                <double *>cnp.PyArray_DATA(cov),
                                <double *>cnp.PyArray_DATA(work[0])) == 0:
                fit.cov_x = cov
    # MINPACK's fjac is column-major m-by-n: as a C array, shape (n, m), the transpose.
    dims[0] = n
    dims[1] = m
    fjac = cnp.PyArray_ZEROS(2, dims, cnp.NPY_DOUBLE, 0)
    out = <double *>cnp.PyArray_DATA(fjac)
    # With TSQR only R was formed (from R0): there are no Householder vectors to report.
    rows = n if ws.tsqr_rows and n < m else m
    for j in range(n):
        for i in range(rows):
            out[j * m + i] = ws.fjac[i * n + j]
    fit.fjac = fjac
    fit.ipvt = iwork[:n].copy()
    fit.qtf = _vector(ws.qtf, n)
    return fit
