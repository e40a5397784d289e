"""One fit on the LM engine: start, compiled-model requests, outcome (see the .pxd)."""
import numpy as np

cimport numpy as cnp
from libc.math cimport NAN, INFINITY, isnan
from libc.string cimport memcpy

from lmfast._blas cimport blas_int, ddot, dtrmv
from lmfast._engine cimport (
    LM_DONE, LM_INFO_P0_OUTSIDE, LM_NEED_F, LM_NEED_J, lm_covariance, lm_fd_column,
    lm_fd_step, lm_init, lm_step, lm_work_doubles,
)
from lmfast._deviance cimport deviance_residual, deviance_slope
from lmfast._problem cimport ESTIMATOR_POISSON, fit_param_map
from lmfast._transform cimport (
    chain_jacobian, fd_step, gradient, map_covariance, to_external, to_internal,
)

cnp.import_array()


cdef inline Py_ssize_t _engine_doubles(const ProblemData *p) noexcept nogil:
    return lm_work_doubles(p.m, p.n_free)


cdef Py_ssize_t fit_work_doubles(const ProblemData *p, bint with_model) noexcept nogil:
    # engine | dtrtri scratch (nf^2) | cov of u (nf^2) | grad (nf) | [p (n) | jac (m n) | f (m)]
    cdef Py_ssize_t nf = p.n_free
    cdef Py_ssize_t size = _engine_doubles(p) + 2 * nf * nf + nf
    if with_model:
        size += p.n + p.m * p.n + p.m
    return (size + 7) // 8 * 8


cdef inline double *_cov_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return fit_work + _engine_doubles(p)


cdef inline double *_cov_u(const ProblemData *p, double *fit_work) noexcept nogil:
    return fit_work + _engine_doubles(p) + p.n_free * p.n_free


cdef double *grad_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return fit_work + _engine_doubles(p) + 2 * p.n_free * p.n_free


cdef double *step_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return _cov_scratch(p, fit_work)


cdef int start_fit(const ProblemData *p, Py_ssize_t i, LMWork *ws, double *dwork,
                   int *iwork) noexcept nogil:
    cdef ParamMap pm
    lm_init(ws, p.m, p.n_free, dwork, iwork, &p.settings, 1 if p.diag == NULL else 2)
    if p.n_free and p.diag != NULL:
        memcpy(ws.diag, p.diag, p.n_free * sizeof(double))
    if not p.mapped:
        if p.n:
            memcpy(ws.x, p.p0 + i * p.p0_fit_stride, p.n * sizeof(double))
        return 0
    fit_param_map(p, i, &pm)
    if to_internal(&pm, p.p0 + i * p.p0_fit_stride, ws.x) != 0:
        ws.info = LM_INFO_P0_OUTSIDE
        return -1
    return 0


cdef void fit_data(const ProblemData *p, Py_ssize_t i, double *fit_work,
                   FitData *d) noexcept nogil:
    cdef double *scratch = grad_scratch(p, fit_work)
    d.model = p.model
    d.m = p.m
    d.n = p.n
    d.x = p.x + i * p.x_fit_stride if p.x != NULL else NULL
    d.xstride = p.x_row_stride
    d.y = p.y + i * p.y_fit_stride
    d.w = p.w + i * p.w_fit_stride if p.w != NULL else NULL
    d.whiten = p.whiten
    d.mapped = p.mapped
    fit_param_map(p, i, &d.pm)
    d.grad = scratch
    d.p = scratch + p.n_free
    d.jac = d.p + p.n
    d.f = d.jac + p.m * p.n
    d.poisson = p.estimator == ESTIMATOR_POISSON


cdef inline void _whiten(const FitData *d, double *v, Py_ssize_t incv) noexcept nogil:
    """v := whiten @ v (v: m values, incv apart).  The row-major lower-triangular matrix
    is, read column-major, its upper-triangular transpose: hence uplo 'U', trans 'T'."""
    cdef blas_int mm = <blas_int>d.m, inc = <blas_int>incv
    dtrmv(b"U", b"T", b"N", &mm, d.whiten, &mm, v, &inc, 1, 1, 1)


cdef inline void _model_values(const FitData *d, const double *u,
                               double *out) noexcept nogil:
    """The model's values at P(u) (no residual formed)."""
    cdef const double *p = u
    if d.mapped:
        to_external(&d.pm, u, d.p)
        p = d.p
    d.model.f(p, d.n, d.x, d.xstride, d.m, out, d.model.ctx)


cdef inline void _residuals(const FitData *d, const double *u, double *out) noexcept nogil:
    """out = w * (model(x, P(u)) - y): curve_fit's residual, in its order of operations."""
    cdef Py_ssize_t i
    _model_values(d, u, out)
    if d.poisson:
        for i in range(d.m):
            out[i] = deviance_residual(out[i], d.y[i])
    elif d.w != NULL:
        for i in range(d.m):
            out[i] = d.w[i] * (out[i] - d.y[i])
    else:
        for i in range(d.m):
            out[i] = out[i] - d.y[i]
        if d.whiten != NULL and d.m:
            _whiten(d, out, 1)


cdef inline void _jacobian(const FitData *d, const double *u, double *jac) noexcept nogil:
    """jac = d residuals / du: the model's Jacobian at P(u) (chained through the change
    of variables), with its rows weighted (or whitened) like the residuals."""
    cdef Py_ssize_t i, j, n = d.pm.n_free
    if d.mapped:
        to_external(&d.pm, u, d.p)
        gradient(&d.pm, u, d.grad)
        if n == d.n:
            # Every parameter free (bounds only): the columns scaled in place, the same
            # products as chain_jacobian forms.
            d.model.jac(d.p, d.n, d.x, d.xstride, d.m, jac, d.model.ctx)
            for i in range(d.m):
                for j in range(n):
                    jac[i * n + j] = jac[i * n + j] * d.grad[j]
        else:
            d.model.jac(d.p, d.n, d.x, d.xstride, d.m, d.jac, d.model.ctx)
            chain_jacobian(&d.pm, d.grad, d.m, d.jac, d.n, 1, jac)
    else:
        d.model.jac(u, n, d.x, d.xstride, d.m, jac, d.model.ctx)
    if d.poisson:
        _poisson_rows(d, u, jac)
        return
    if d.w != NULL:
        for i in range(d.m):
            for j in range(n):
                jac[i * n + j] = d.w[i] * jac[i * n + j]
    elif d.whiten != NULL and d.m:
        for j in range(n):
            _whiten(d, jac + j, n)


cdef void _poisson_rows(const FitData *d, const double *u, double *jac) noexcept nogil:
    """Scale row i of the model's Jacobian by d r_i / d f_i (chain rule of the deviance
    residual), from the model values at the same point."""
    cdef Py_ssize_t i, j, n = d.pm.n_free
    cdef double r, slope
    _model_values(d, u, d.f)
    for i in range(d.m):
        r = deviance_residual(d.f[i], d.y[i])
        slope = deviance_slope(d.f[i], d.y[i], r)
        for j in range(n):
            jac[i * n + j] = slope * jac[i * n + j]


cdef void _poisson_differences(const FitData *d, LMWork *ws) noexcept nogil:
    """The Poisson Jacobian by forward differences of the model (not of the deviance
    residuals, infinite wherever a step makes the model <= 0), rows scaled by dr/df: each
    column is handed to the engine as residuals fvec + slope * (f(x + h e_j) - f(x))."""
    cdef Py_ssize_t i, j
    cdef double h, xj
    _model_values(d, ws.x, d.f)  # f(x); ws.fvec holds the deviance residuals there
    if d.mapped:
        gradient(&d.pm, ws.x, d.grad)
    for j in range(ws.n):
        h = lm_fd_step(ws, j)
        if d.mapped:
            to_external(&d.pm, ws.x, d.p)
            h = fd_step(&d.pm, j, h, d.p, d.grad, ws.epsfcn)
        xj = ws.x[j]
        ws.x[j] = xj + h
        _model_values(d, ws.x, ws.wa4)
        ws.x[j] = xj
        for i in range(d.m):
            ws.wa4[i] = ws.fvec[i] + deviance_slope(d.f[i], d.y[i], ws.fvec[i]) * (
                ws.wa4[i] - d.f[i])
        lm_fd_column(ws, j, h, ws.wa4)


cdef LMRequest run_model_fit(LMWork *ws, const FitData *d,
                             const Py_ssize_t *cancel) noexcept nogil:
    cdef LMRequest request = lm_step(ws)
    cdef Py_ssize_t j
    cdef double h, xj
    while request != LM_DONE:
        if cancel != NULL and lmfast_load(cancel):
            return request
        if request == LM_NEED_F:
            _residuals(d, ws.req_x, ws.req_f)
        elif request == LM_NEED_J:
            _jacobian(d, ws.x, ws.fjac)
        else:
            if d.mapped:
                # P(x) and dp/du for fd_step; _residuals below changes one component
                # of d.p at a time, and only the one already differenced.
                to_external(&d.pm, ws.x, d.p)
                gradient(&d.pm, ws.x, d.grad)
            if d.poisson:
                _poisson_differences(d, ws)
            else:
                for j in range(ws.n):
                    h = lm_fd_step(ws, j)
                    if d.mapped:
                        h = fd_step(&d.pm, j, h, d.p, d.grad, ws.epsfcn)
                    xj = ws.x[j]
                    ws.x[j] = xj + h
                    _residuals(d, ws.x, ws.wa4)
                    ws.x[j] = xj
                    lm_fd_column(ws, j, h, ws.wa4)
        request = lm_step(ws)
    return request


cdef void fit_parameters(const ProblemData *p, Py_ssize_t i, const LMWork *ws,
                         double *popt) noexcept nogil:
    cdef ParamMap pm
    if p.mapped:
        fit_param_map(p, i, &pm)
        to_external(&pm, ws.x, popt)
    elif p.n:
        memcpy(popt, ws.x, p.n * sizeof(double))


cdef int fit_covariance(const ProblemData *p, Py_ssize_t i, const LMWork *ws, double *cov,
                        double *fit_work) noexcept nogil:
    cdef ParamMap pm
    cdef double *grad
    if not p.mapped:
        return lm_covariance(ws, cov, _cov_scratch(p, fit_work))
    if lm_covariance(ws, _cov_u(p, fit_work), _cov_scratch(p, fit_work)) != 0:
        return -1
    fit_param_map(p, i, &pm)
    grad = grad_scratch(p, fit_work)
    gradient(&pm, ws.x, grad)
    map_covariance(&pm, grad, _cov_u(p, fit_work), cov)
    return 0


cdef void finish_fit(const ProblemData *p, Py_ssize_t i, const LMWork *ws,
                     const FitOutputs *out, double *fit_work) noexcept nogil:
    """Store fit i's outcome: popt, chisq and pcov as curve_fit forms them.

    Converged (info 1-4): pcov = cov_x scaled by chisq / (m - n_free) unless
    absolute_sigma, inf where curve_fit gives inf (R singular, NaN in cov_x,
    m <= n_free).  Stopped (5-8): the last iterate, pcov NaN.  No answer (0 or
    negative): NaN throughout.
    """
    cdef Py_ssize_t j, n = p.n, nn = p.n * p.n
    cdef double *popt = out.popt + i * n
    cdef double *pcov = out.pcov + i * nn
    cdef double chisq = 0.0, scale, fill = NAN
    cdef int info = ws.info
    cdef blas_int one = 1, m_int = <blas_int>p.m
    out.ier[i] = info
    out.nfev[i] = ws.nfev
    out.njev[i] = ws.njev
    if info <= 0:
        for j in range(n):
            popt[j] = NAN
        out.chisq[i] = NAN
    else:
        fit_parameters(p, i, ws, popt)
        # BLAS, as curve_fit sums fvec.dot(fvec): the same rounding, so the same pcov.
        chisq = ddot(&m_int, ws.fvec, &one, ws.fvec, &one)
        out.chisq[i] = chisq
    if 1 <= info <= 4:
        fill = INFINITY
        if fit_covariance(p, i, ws, pcov, fit_work) == 0:
            scale = 1.0
            if not p.absolute_sigma:
                scale = chisq / <double>(p.m - p.n_free) if p.m > p.n_free else NAN
            fill = 0.0
            for j in range(nn):
                fill = fill + pcov[j] * pcov[j]
            if isnan(fill) or isnan(scale):
                fill = INFINITY
            else:
                if scale != 1.0:
                    for j in range(nn):
                        pcov[j] = pcov[j] * scale
                return
    for j in range(nn):
        pcov[j] = fill


cdef void *_output(object result, str name, int typenum, tuple shape) except? NULL:
    arr = getattr(result, name)
    if (not isinstance(arr, np.ndarray) or cnp.PyArray_TYPE(arr) != typenum
            or not arr.flags.c_contiguous or not arr.flags.writeable or arr.shape != shape):
        raise ValueError(f"internal: result.{name} must be a writeable C-contiguous array "
                         f"of shape {shape}")
    return cnp.PyArray_DATA(arr)


cdef object bind_outputs(FitOutputs *out, object result, const ProblemData *p):
    cdef Py_ssize_t N = p.n_fits, n = p.n
    out.popt = <double *>_output(result, "popt", cnp.NPY_DOUBLE, (N, n))
    out.pcov = <double *>_output(result, "pcov", cnp.NPY_DOUBLE, (N, n, n))
    out.chisq = <double *>_output(result, "chisq", cnp.NPY_DOUBLE, (N,))
    out.ier = <int *>_output(result, "ier", cnp.NPY_INT32, (N,))
    out.nfev = <cnp.int64_t *>_output(result, "nfev", cnp.NPY_INT64, (N,))
    out.njev = <cnp.int64_t *>_output(result, "njev", cnp.NPY_INT64, (N,))
    return (result.popt, result.pcov, result.chisq, result.ier, result.nfev, result.njev)
