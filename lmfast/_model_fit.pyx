"""One fit on the LM engine: start, compiled-model requests, outcome (see the .pxd)."""
import numpy as np

cimport numpy as cnp
from libc.math cimport NAN, INFINITY, isnan
from libc.string cimport memcpy

from lmfast._blas cimport blas_int, ddot, dtrmv
from lmfast._engine cimport (
    LM_DONE, LM_NEED_F, LM_NEED_J, lm_covariance, lm_fd_column, lm_fd_step, lm_init,
    lm_step, lm_work_doubles,
)

cnp.import_array()


cdef Py_ssize_t fit_work_doubles(Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t size = lm_work_doubles(m, n) + n * n
    return (size + 7) // 8 * 8


cdef double *cov_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return fit_work + lm_work_doubles(p.m, p.n)


cdef void start_fit(const ProblemData *p, Py_ssize_t i, LMWork *ws, double *dwork,
                    int *iwork) noexcept nogil:
    lm_init(ws, p.m, p.n, dwork, iwork, &p.settings, 1 if p.diag == NULL else 2)
    if p.n:
        memcpy(ws.x, p.p0 + i * p.p0_fit_stride, p.n * sizeof(double))
        if p.diag != NULL:
            memcpy(ws.diag, p.diag, p.n * sizeof(double))


cdef void fit_data(const ProblemData *p, Py_ssize_t i, FitData *d) noexcept nogil:
    d.model = p.model
    d.m = p.m
    d.n = p.n
    d.x = p.x + i * p.x_fit_stride if p.x != NULL else NULL
    d.xstride = p.x_row_stride
    d.y = p.y + i * p.y_fit_stride
    d.w = p.w + i * p.w_fit_stride if p.w != NULL else NULL
    d.whiten = p.whiten


cdef inline void _whiten(const FitData *d, double *v, Py_ssize_t incv) noexcept nogil:
    """v := whiten @ v (v: m values, incv apart).  The row-major lower-triangular matrix
    is, read column-major, its upper-triangular transpose: hence uplo 'U', trans 'T'."""
    cdef blas_int mm = <blas_int>d.m, inc = <blas_int>incv
    dtrmv(b"U", b"T", b"N", &mm, d.whiten, &mm, v, &inc, 1, 1, 1)


cdef inline void _residuals(const FitData *d, const double *p, double *out) noexcept nogil:
    """out = w * (model(x, p) - y): curve_fit's residual, in its order of operations."""
    cdef Py_ssize_t i
    d.model.f(p, d.n, d.x, d.xstride, d.m, out, d.model.ctx)
    if d.w != NULL:
        for i in range(d.m):
            out[i] = d.w[i] * (out[i] - d.y[i])
    else:
        for i in range(d.m):
            out[i] = out[i] - d.y[i]
        if d.whiten != NULL and d.m:
            _whiten(d, out, 1)


cdef inline void _jacobian(const FitData *d, const double *p, double *jac) noexcept nogil:
    """jac = the model's Jacobian with its rows weighted (or whitened) like the residuals."""
    cdef Py_ssize_t i, j, n = d.n
    d.model.jac(p, n, d.x, d.xstride, d.m, jac, d.model.ctx)
    if d.w != NULL:
        for i in range(d.m):
            for j in range(n):
                jac[i * n + j] = d.w[i] * jac[i * n + j]
    elif d.whiten != NULL and d.m:
        for j in range(n):
            _whiten(d, jac + j, n)


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
            for j in range(ws.n):
                h = lm_fd_step(ws, j)
                xj = ws.x[j]
                ws.x[j] = xj + h
                _residuals(d, ws.x, ws.wa4)
                ws.x[j] = xj
                lm_fd_column(ws, j, h, ws.wa4)
        request = lm_step(ws)
    return request


cdef void finish_fit(const ProblemData *p, Py_ssize_t i, const LMWork *ws,
                     const FitOutputs *out, double *scratch) noexcept nogil:
    """Store fit i's outcome: popt, chisq and pcov as curve_fit forms them.

    Converged (info 1-4): pcov = cov_x scaled by chisq / (m - n) unless absolute_sigma,
    inf where curve_fit gives inf (R singular, NaN in cov_x, m <= n).  Stopped (5-8): the
    last iterate, pcov NaN.  No answer (0 or negative): NaN throughout.
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
        memcpy(popt, ws.x, n * sizeof(double))
        # BLAS, as curve_fit sums fvec.dot(fvec): the same rounding, so the same pcov.
        chisq = ddot(&m_int, ws.fvec, &one, ws.fvec, &one)
        out.chisq[i] = chisq
    if 1 <= info <= 4:
        fill = INFINITY
        if lm_covariance(ws, pcov, scratch) == 0:
            scale = 1.0
            if not p.absolute_sigma:
                scale = chisq / <double>(p.m - n) if p.m > n else NAN
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
