"""One fit on the LM engine: start, compiled-model requests, outcome (see the .pxd)."""
import numpy as np

cimport numpy as cnp
from libc.math cimport NAN, INFINITY, fabs, fmin, fmax, isnan, sqrt
from libc.string cimport memcmp, memcpy

from lmfast._blas cimport blas_int, ddot, dtrmv
from lmfast._constants cimport DBL_EPSILON
from lmfast._engine cimport (
    LM_DONE, LM_INFO_P0_OUTSIDE, LM_NEED_F, LM_NEED_J, lm_covariance, lm_fd_column,
    lm_fd_step, lm_init, lm_step, lm_work_doubles, r_covariance,
)
from lmfast._estimator cimport (
    ESTIMATOR_LEAST_SQUARES, ESTIMATOR_POISSON, Estimator, cache_at, cache_doubles,
    cache_fill, cache_next, cache_reset, covariance_row, estimator_residual, scale_rows,
    scaled_difference,
)
from lmfast._linalg cimport qrfac
from lmfast._problem cimport Problem, fit_param_map
from lmfast._transform cimport (
    chain_jacobian, fd_step, gradient, map_covariance, resolve_kinds, to_external,
    to_internal,
)

cnp.import_array()

# A parameter is on a bound when within this fraction of max(1, |bound|) of it (and of
# the width of its two bounds): the change of variables reaches a bound only in the limit.
cdef double AT_BOUND_RTOL = 1e-6


cdef inline Py_ssize_t _engine_doubles(const ProblemData *p) noexcept nogil:
    return lm_work_doubles(p.m, p.n_free, p.settings.fast)


cdef Py_ssize_t fit_work_doubles(const ProblemData *p, bint with_model) noexcept nogil:
    # engine | dtrtri scratch (nf^2) | cov of u (nf^2) | grad (nf) | QR scratch (4 nf)
    # | base-value cache | kinds (nf bytes in nf doubles) | [p (n) | jac (m n) | fh (m)]
    cdef Py_ssize_t nf = p.n_free
    cdef Py_ssize_t size = (_engine_doubles(p) + 2 * nf * nf + 6 * nf
                            + cache_doubles(p.m, nf))
    if with_model:
        size += p.n + p.m * p.n + p.m
        if _joint(p):
            size += p.m * p.n + nf + 1
    return (size + 7) // 8 * 8


cdef inline bint _joint(const ProblemData *p) noexcept nogil:
    """Whether the fits evaluate the model's value and Jacobian together (model.fj): the
    model has both, and the engine asks for its Jacobian (not differences)."""
    return p.has_model and p.model.fj != NULL and p.model.jac != NULL and not p.settings.use_fd


cdef inline double *_cov_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return fit_work + _engine_doubles(p)


cdef inline double *_cov_u(const ProblemData *p, double *fit_work) noexcept nogil:
    return fit_work + _engine_doubles(p) + p.n_free * p.n_free


cdef double *grad_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return fit_work + _engine_doubles(p) + 2 * p.n_free * p.n_free


cdef inline double *_qr_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return grad_scratch(p, fit_work) + p.n_free


cdef double *cache_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return _qr_scratch(p, fit_work) + 4 * p.n_free


cdef inline signed char *_kinds(const ProblemData *p, double *fit_work) noexcept nogil:
    return <signed char *>(cache_scratch(p, fit_work) + cache_doubles(p.m, p.n_free))


cdef void fit_map(const ProblemData *p, Py_ssize_t i, double *fit_work,
                  ParamMap *pm) noexcept nogil:
    fit_param_map(p, i, pm)
    if p.mapped:
        pm.kinds = _kinds(p, fit_work)


cdef double *step_scratch(const ProblemData *p, double *fit_work) noexcept nogil:
    return _cov_scratch(p, fit_work)


cdef int start_fit(const ProblemData *p, Py_ssize_t i, LMWork *ws, double *dwork,
                   int *iwork) noexcept nogil:
    cdef ParamMap pm
    lm_init(ws, p.m, p.n_free, dwork, iwork, &p.settings, 1 if p.diag == NULL else 2)
    cache_reset(cache_scratch(p, dwork))
    if p.status != NULL and p.status[i] != 0:
        ws.info = p.status[i]
        return -1
    if p.n_free and p.diag != NULL:
        memcpy(ws.diag, p.diag, p.n_free * sizeof(double))
    if not p.mapped:
        if p.n:
            memcpy(ws.x, p.p0 + i * p.p0_fit_stride, p.n * sizeof(double))
        return 0
    fit_param_map(p, i, &pm)
    resolve_kinds(&pm, _kinds(p, dwork))   # once per fit
    pm.kinds = _kinds(p, dwork)
    if to_internal(&pm, p.p0 + i * p.p0_fit_stride, ws.x) != 0:
        ws.info = LM_INFO_P0_OUTSIDE
        return -1
    return 0


cdef void bind_compiled_fit(const ProblemData *p, Py_ssize_t i, double *fit_work,
                   CompiledFit *d) noexcept nogil:
    cdef double *scratch = cache_scratch(p, fit_work) + cache_doubles(p.m, p.n_free) + p.n_free
    d.model = p.model
    d.m = p.m
    d.n = p.n
    d.xdata = p.xdata + i * p.xdata_fit_stride if p.xdata != NULL else NULL
    d.xdata_stride = p.xdata_row_stride
    d.y = p.y + i * p.y_fit_stride
    d.w = p.w + i * p.w_fit_stride if p.w != NULL else NULL
    d.whiten = p.whiten
    d.mapped = p.mapped
    fit_map(p, i, fit_work, &d.pm)
    d.grad = grad_scratch(p, fit_work)
    d.p = scratch
    d.jac = d.p + p.n
    d.fh = d.jac + p.m * p.n
    d.pending = NULL
    d.pending_u = NULL
    if _joint(p):
        d.pending = d.fh + p.m
        d.pending_u = d.pending + p.m * p.n
        d.pending_u[p.n_free] = 0.0
    d.cache = cache_scratch(p, fit_work)
    d.steps = step_scratch(p, fit_work)
    d.est = p.estimator


cdef inline void _whiten(const CompiledFit *d, double *v, Py_ssize_t incv) noexcept nogil:
    """v := whiten @ v (v: m values, incv apart).  The row-major lower-triangular matrix
    is, read column-major, its upper-triangular transpose: hence uplo 'U', trans 'T'."""
    cdef blas_int mm = <blas_int>d.m, inc = <blas_int>incv
    dtrmv(b"U", b"T", b"N", &mm, d.whiten, &mm, v, &inc, 1, 1, 1)


cdef inline void _model_values(const CompiledFit *d, const double *u,
                               double *out) noexcept nogil:
    """The model's values at P(u) (no residual formed); with a joint model also its
    Jacobian there, kept in d.pending for the step that takes u."""
    cdef const double *p = u
    cdef Py_ssize_t nf = d.pm.n_free
    if d.mapped:
        to_external(&d.pm, u, d.p)
        p = d.p
    if d.pending != NULL:
        d.model.fj(p, d.n, d.xdata, d.xdata_stride, d.m, out, d.pending, d.model.ctx)
        memcpy(d.pending_u, u, nf * sizeof(double))
        d.pending_u[nf] = 1.0
    else:
        d.model.f(p, d.n, d.xdata, d.xdata_stride, d.m, out, d.model.ctx)


cdef inline double *_pending_at(const CompiledFit *d, const double *u) noexcept nogil:
    """The model's Jacobian at P(u) if the last evaluation left it (then handed over: the
    caller may overwrite it), else NULL."""
    cdef Py_ssize_t nf = d.pm.n_free
    if d.pending == NULL or d.pending_u[nf] == 0.0:
        return NULL
    if memcmp(d.pending_u, u, nf * sizeof(double)) != 0:
        return NULL
    d.pending_u[nf] = 0.0
    return d.pending


cdef inline void _weigh(const CompiledFit *d, double *values) noexcept nogil:
    """values := w * (values - y), whiten @ (values - y) or values - y (curve_fit's
    residual, in its order of operations)."""
    cdef Py_ssize_t i
    if d.w != NULL:
        for i in range(d.m):
            values[i] = d.w[i] * (values[i] - d.y[i])
    else:
        for i in range(d.m):
            values[i] = values[i] - d.y[i]
        if d.whiten != NULL and d.m:
            _whiten(d, values, 1)


cdef inline void _base(const CompiledFit *d, const double *u, double *out) noexcept nogil:
    """The base values at P(u): the model's values for Poisson, else the weighted
    residuals (for least squares, the engine's residuals themselves)."""
    _model_values(d, u, out)
    if d.est.kind != ESTIMATOR_POISSON:
        _weigh(d, out)


cdef void _residuals(const CompiledFit *d, const double *u, double *out) noexcept nogil:
    """out = the engine's residuals at u (beyond least squares, through the cache)."""
    cdef Py_ssize_t nf = d.pm.n_free
    if d.est.kind == ESTIMATOR_LEAST_SQUARES:
        _base(d, u, out)
        return
    _base(d, u, cache_next(d.cache, d.m, nf))
    cache_fill(d.cache, d.m, nf, &d.est, u, d.y, out)


cdef const double *_base_at(const CompiledFit *d, const double *u) noexcept nogil:
    """The cache slot at u (base values, then slopes), evaluating there if needed."""
    cdef Py_ssize_t nf = d.pm.n_free
    cdef const double *slot = cache_at(d.cache, d.m, nf, u)
    if slot != NULL:
        return slot
    _base(d, u, cache_next(d.cache, d.m, nf))
    cache_fill(d.cache, d.m, nf, &d.est, u, d.y, d.fh)
    return cache_at(d.cache, d.m, nf, u)


cdef inline const double *_jacobian(const CompiledFit *d, const double *u,
                                    double *jac) noexcept nogil:
    """d residuals / du: the model's Jacobian at P(u) (chained through the change of
    variables), with its rows weighted (or whitened) like the residuals and scaled by the
    estimator's slopes dr/db.  Formed in jac, or in place in the Jacobian a joint
    evaluation at u left (d.pending); returns where."""
    cdef Py_ssize_t i, j, n = d.pm.n_free
    cdef const double *slot = NULL
    cdef double *model_jac
    if d.est.kind != ESTIMATOR_LEAST_SQUARES:
        # First: should u's base values have to be evaluated again, that evaluation
        # leaves its own Jacobian in d.pending.
        slot = _base_at(d, u)
    model_jac = _pending_at(d, u)
    if model_jac != NULL and (not d.mapped or n == d.n):
        jac = model_jac
    if d.mapped:
        to_external(&d.pm, u, d.p)
        gradient(&d.pm, u, d.grad)
        if n == d.n:
            # Every parameter free (bounds only): the columns scaled in place, the same
            # products as chain_jacobian forms.
            if model_jac == NULL:
                d.model.jac(d.p, d.n, d.xdata, d.xdata_stride, d.m, jac, d.model.ctx)
            for i in range(d.m):
                for j in range(n):
                    jac[i * n + j] = jac[i * n + j] * d.grad[j]
        else:
            if model_jac == NULL:
                model_jac = d.jac
                d.model.jac(d.p, d.n, d.xdata, d.xdata_stride, d.m, model_jac, d.model.ctx)
            chain_jacobian(&d.pm, d.grad, d.m, model_jac, d.n, 1, jac)
    elif model_jac == NULL:
        d.model.jac(u, n, d.xdata, d.xdata_stride, d.m, jac, d.model.ctx)
    if d.w != NULL:
        for i in range(d.m):
            for j in range(n):
                jac[i * n + j] = d.w[i] * jac[i * n + j]
    elif d.whiten != NULL and d.m:
        for j in range(n):
            _whiten(d, jac + j, n)
    if slot != NULL:
        scale_rows(d.m, n, slot + d.m, jac)
    return jac


cdef void difference_steps(LMWork *ws, const ParamMap *pm, bint mapped, double *p,
                           double *grad, double *steps) noexcept nogil:
    cdef Py_ssize_t j
    if mapped:
        to_external(pm, ws.x, p)
        gradient(pm, ws.x, grad)
    for j in range(ws.n):
        steps[j] = lm_fd_step(ws, j)
        if mapped:
            steps[j] = fd_step(pm, j, steps[j], p, grad, ws.epsfcn)


cdef void difference_column(LMWork *ws, Py_ssize_t j, double h, double *column,
                            const double *slot) noexcept nogil:
    if slot != NULL:
        scaled_difference(ws.m, ws.fvec, slot, column)
    lm_fd_column(ws, j, h, column)


cdef void _differences(const CompiledFit *d, LMWork *ws, double *steps) noexcept nogil:
    """The Jacobian by forward differences at ws.x, column by column into the engine
    (difference_steps, difference_column)."""
    cdef Py_ssize_t j
    cdef double xj
    cdef const double *slot = NULL
    if d.est.kind != ESTIMATOR_LEAST_SQUARES:
        slot = _base_at(d, ws.x)
    difference_steps(ws, &d.pm, d.mapped, d.p, d.grad, steps)
    for j in range(ws.n):
        xj = ws.x[j]
        ws.x[j] = xj + steps[j]
        _base(d, ws.x, ws.wa4)
        ws.x[j] = xj
        difference_column(ws, j, steps[j], ws.wa4, slot)


cdef LMRequest run_model_fit(LMWork *ws, const CompiledFit *d,
                             const Py_ssize_t *cancel) noexcept nogil:
    cdef LMRequest request = lm_step(ws)
    while request != LM_DONE:
        if cancel != NULL and atomic_load(cancel):
            return request
        if request == LM_NEED_F:
            _residuals(d, ws.req_x, ws.req_f)
        elif request == LM_NEED_J:
            ws.jac = _jacobian(d, ws.x, ws.fjac)
        else:
            _differences(d, ws, d.steps)
        request = lm_step(ws)
    return request


cdef void fit_parameters(const ProblemData *p, Py_ssize_t i, const LMWork *ws,
                         double *popt, double *fit_work) noexcept nogil:
    cdef ParamMap pm
    if p.mapped:
        fit_map(p, i, fit_work, &pm)
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
    fit_map(p, i, fit_work, &pm)
    grad = grad_scratch(p, fit_work)
    gradient(&pm, ws.x, grad)
    map_covariance(&pm, grad, _cov_u(p, fit_work), cov)
    return 0


cdef Py_ssize_t bound_flags(const ProblemData *p, Py_ssize_t i, const double *popt,
                            cnp.npy_bool *flags) noexcept nogil:
    cdef Py_ssize_t a, j, count = 0
    cdef double lo, hi, width, v
    cdef const double *lower
    cdef const double *upper
    for j in range(p.n):
        flags[j] = 0
    if p.lower == NULL:
        return 0
    lower = p.lower + i * p.bounds_fit_stride
    upper = p.upper + i * p.bounds_fit_stride
    for a in range(p.n_free):
        j = p.free[a] if p.free != NULL else a
        lo = lower[j]
        hi = upper[j]
        v = popt[j]
        width = hi - lo
        if lo > -INFINITY and v - lo <= AT_BOUND_RTOL * fmin(fmax(1.0, fabs(lo)), width):
            flags[j] = 1
        elif hi < INFINITY and hi - v <= AT_BOUND_RTOL * fmin(fmax(1.0, fabs(hi)), width):
            flags[j] = 1
        count += flags[j]
    return count


cdef bint fresh_covariance(const ProblemData *p, Py_ssize_t n_at_bound) noexcept nogil:
    return p.estimator.kind != ESTIMATOR_LEAST_SQUARES or n_at_bound > 0


cdef int rows_covariance(Py_ssize_t m, Py_ssize_t nf, double *a, double *cov,
                         double *scratch, double *tri) noexcept nogil:
    cdef double *rdiag = scratch
    cdef double *acnorm = scratch + nf
    cdef double *wa = scratch + 2 * nf
    cdef int *ipvt = <int *>(scratch + 3 * nf)   # nf ints in nf doubles
    cdef Py_ssize_t j
    qrfac(m, nf, a, nf, ipvt, rdiag, acnorm, wa)
    for j in range(nf):
        a[j * nf + j] = rdiag[j]
    return r_covariance(nf, a, ipvt, cov, tri)


cdef int model_covariance(const ProblemData *p, LMWork *ws, const CompiledFit *d,
                          const double *popt, double *cov, double *fit_work) noexcept nogil:
    cdef Py_ssize_t i, j, a, k, m = p.m, n = p.n, nf = p.n_free
    cdef double *f = ws.wa4          # model values at popt
    cdef double *fh = d.fh           # model values at a stepped point
    cdef double *A = d.jac           # the m-by-nf rows
    cdef double *cov_u = _cov_u(p, fit_work)
    cdef double h, pj, eps = sqrt(fmax(p.settings.epsfcn, DBL_EPSILON))
    d.model.f(popt, n, d.xdata, d.xdata_stride, m, f, d.model.ctx)
    if d.model.jac != NULL:
        # The model's own Jacobian whenever it has one, even for a fit run by
        # differences: the covariance is the better for it.
        d.model.jac(popt, n, d.xdata, d.xdata_stride, m, A, d.model.ctx)
        if nf != n:
            for i in range(m):
                for a in range(nf):
                    A[i * nf + a] = A[i * n + d.pm.free[a]]
    else:
        # Forward differences in the parameters themselves, MINPACK's step, taken
        # towards the inside of an upper bound (as _estimator.difference_rows).
        memcpy(d.p, popt, n * sizeof(double))
        for a in range(nf):
            j = d.pm.free[a] if d.pm.free != NULL else a
            pj = popt[j]
            h = eps * fabs(pj)
            if h == 0.0:
                h = eps
            if d.pm.upper != NULL and pj + h > d.pm.upper[j]:
                h = -h
            d.p[j] = pj + h
            d.model.f(d.p, n, d.xdata, d.xdata_stride, m, fh, d.model.ctx)
            d.p[j] = pj
            for i in range(m):
                A[i * nf + a] = (fh[i] - f[i]) / h
    # Rows weighted like the residuals, then by the estimator's c_i at popt.
    if d.w != NULL:
        for i in range(m):
            for a in range(nf):
                A[i * nf + a] = d.w[i] * A[i * nf + a]
    elif d.whiten != NULL and m:
        for a in range(nf):
            _whiten(d, A + a, nf)
    if p.estimator.kind != ESTIMATOR_POISSON:
        _weigh(d, f)
    return _estimator_covariance(p, f, A, cov, fit_work)


cdef int _estimator_covariance(const ProblemData *p, const double *base, double *A,
                               double *cov, double *fit_work) noexcept nogil:
    """cov (n by n): the inverse of A^T diag(c^2) A for the rows A (m by n_free) of db/dp
    at the solution, c the estimator's covariance_row of the base values; 0 for fixed
    parameters.  0, or -1 when singular."""
    cdef Py_ssize_t i, a, k, m = p.m, n = p.n, nf = p.n_free
    cdef double *cov_u = _cov_u(p, fit_work)
    cdef double c
    if p.estimator.kind != ESTIMATOR_LEAST_SQUARES:
        for i in range(m):
            c = covariance_row(&p.estimator, base[i])
            for a in range(nf):
                A[i * nf + a] = c * A[i * nf + a]
    if rows_covariance(m, nf, A, cov_u, _qr_scratch(p, fit_work),
                       _cov_scratch(p, fit_work)) != 0:
        return -1
    for k in range(n * n):
        cov[k] = 0.0
    for a in range(nf):
        for k in range(nf):
            cov[(p.free[a] if p.free != NULL else a) * n
                + (p.free[k] if p.free != NULL else k)] = cov_u[a * nf + k]
    return 0


cdef void finish_fit(const ProblemData *p, Py_ssize_t i, LMWork *ws, const CompiledFit *d,
                     const FitOutputs *out, double *fit_work) noexcept nogil:
    """Store fit i's outcome: popt, at_bound, chisq and pcov as curve_fit forms them.

    Converged (info 1-4): pcov = the covariance of the engine's R (least squares, no
    parameter on a bound: cov_x mapped through the change of variables) or of a fresh
    Jacobian at popt (fresh_covariance), scaled by chisq / (m - n_free) unless
    absolute_sigma or Poisson; inf where curve_fit gives inf (R singular, NaN in
    cov_x, m <= n_free).  Stopped (5-8): the last iterate, pcov NaN.  No answer (0 or
    negative): NaN throughout.
    """
    cdef Py_ssize_t j, n = p.n, nn = p.n * p.n, n_at_bound = 0
    cdef double *popt = out.popt + i * n
    cdef double *pcov = out.pcov + i * nn
    cdef double chisq = 0.0, scale, fill = NAN
    cdef int info = ws.info, singular
    cdef blas_int one = 1, m_int = <blas_int>p.m
    out.ier[i] = info
    out.nfev[i] = ws.nfev
    out.njev[i] = ws.njev
    if info <= 0:
        for j in range(n):
            popt[j] = NAN
            out.at_bound[i * n + j] = 0
        out.chisq[i] = NAN
    else:
        fit_parameters(p, i, ws, popt, fit_work)
        n_at_bound = bound_flags(p, i, popt, out.at_bound + i * n)
        # BLAS, as curve_fit sums fvec.dot(fvec): the same rounding, so the same pcov.
        chisq = ddot(&m_int, ws.fvec, &one, ws.fvec, &one)
        out.chisq[i] = chisq
    if 1 <= info <= 4:
        fill = INFINITY
        if fresh_covariance(p, n_at_bound):
            if d == NULL:
                fill = NAN   # a Python model: the caller forms it
                singular = 1
            else:
                singular = model_covariance(p, ws, d, popt, pcov, fit_work) != 0
        else:
            singular = fit_covariance(p, i, ws, pcov, fit_work) != 0
        if not singular:
            scale = 1.0
            if not p.absolute_sigma and p.estimator.kind != ESTIMATOR_POISSON:
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
    out.at_bound = <cnp.npy_bool *>_output(result, "at_bound", cnp.NPY_BOOL, (N, n))
    out.pcov = <double *>_output(result, "pcov", cnp.NPY_DOUBLE, (N, n, n))
    out.chisq = <double *>_output(result, "chisq", cnp.NPY_DOUBLE, (N,))
    out.ier = <int *>_output(result, "ier", cnp.NPY_INT32, (N,))
    out.nfev = <cnp.int64_t *>_output(result, "nfev", cnp.NPY_INT64, (N,))
    out.njev = <cnp.int64_t *>_output(result, "njev", cnp.NPY_INT64, (N,))
    return (result.popt, result.at_bound, result.pcov, result.chisq, result.ier,
            result.nfev, result.njev)


def solution_covariance(Problem problem not None, base, rows):
    """The covariance at the solution of a fit of a Python model, as model_covariance
    forms it for a compiled one: the n-by-n inverse of A^T diag(c^2) A, from the base
    values b (m,) at popt and the rows A (m, n_free) of db/dp there (the free
    parameters' columns, weighted like the residuals); None when singular.
    Not scaled (the caller applies curve_fit's chisq / (m - n_free))."""
    cdef const ProblemData *p = &problem.data
    cdef cnp.ndarray b = np.ascontiguousarray(base, dtype=np.float64)
    cdef cnp.ndarray a = np.array(rows, dtype=np.float64, order="C", copy=True)
    if (<object>b).shape != (p.m,) or (<object>a).shape != (p.m, p.n_free):
        raise ValueError("internal: solution_covariance needs base (m,) and rows (m, n_free)")
    cdef cnp.ndarray cov = np.empty((p.n, p.n))
    cdef cnp.ndarray work = np.zeros(fit_work_doubles(p, False))
    if _estimator_covariance(p, <double *>cnp.PyArray_DATA(b), <double *>cnp.PyArray_DATA(a),
                             <double *>cnp.PyArray_DATA(cov),
                             <double *>cnp.PyArray_DATA(work)) != 0:
        return None
    return cov


def estimator_values(Problem problem not None, base):
    """The problem's estimator applied to base values b (m,) (of its one fit): the
    engine's residuals r, the slopes dr/db and the covariance row weights c, as arrays
    (see lmfast/_estimator.pxd)."""
    cdef const ProblemData *p = &problem.data
    cdef cnp.ndarray b = np.ascontiguousarray(base, dtype=np.float64)
    if (<object>b).shape != (p.m,):
        raise ValueError("internal: estimator_values needs base values of shape (m,)")
    cdef double[::1] bv = b
    cdef cnp.ndarray r = np.empty(p.m), slope = np.empty(p.m), c = np.empty(p.m)
    cdef double[::1] rv = r, sv = slope, cv = c
    cdef Py_ssize_t i
    for i in range(p.m):
        rv[i] = estimator_residual(&p.estimator, bv[i], p.y[i] if p.y != NULL else 0.0,
                                   &sv[i])
        cv[i] = covariance_row(&p.estimator, bv[i])
    return r, slope, c
