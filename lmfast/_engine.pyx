"""MINPACK's lmdif/lmder as a reverse-communication state machine.

The iteration is the one published in Moré (1977), section 7, and the MINPACK-1 user
guide (ANL-80-74): at each outer iteration the Jacobian is factored (qrfac) and Q^T f
formed; then trial steps from lmpar are tried, shrinking the trust region until the
actual reduction is at least 1e-4 of the predicted one.  ws.info ends as MINPACK's info
(0 improper input, 1-4 converged, 5 maxfev reached, 6-8 tolerances too small) or as a
negative LMInfo code.
"""
from libc.math cimport fabs, sqrt, isfinite
from libc.string cimport memcpy

from lmfast._blas cimport blas_int, dgeqrf, dtrtri
from lmfast._constants cimport DBL_EPSILON, LM_P1, LM_P5, LM_P25, LM_P75, LM_P0001
from lmfast._linalg cimport enorm, qrfac, lmpar
from lmfast._simd cimport lmfast_qr_work_doubles, simd_kernels

# Problems with at least this many Jacobian entries (and m >= 4n) factor J by TSQR.
cdef Py_ssize_t TSQR_MIN_ENTRIES = 8192
# Rows of J per LAPACK block factorization in the TSQR pass (W stays in L2).
cdef Py_ssize_t TSQR_BLOCK_ROWS = 2048
# LAPACK workspace per column of W.
cdef Py_ssize_t TSQR_LWORK_PER_COL = 64

# Internal states: where lm_step resumes.
cdef enum:
    ST_START = 0
    ST_HAVE_F0 = 1
    ST_HAVE_J = 2
    ST_HAVE_TRIAL = 3
    ST_DONE = 4


cdef Py_ssize_t lm_tsqr_rows(Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    """Rows per TSQR block for an m-by-n problem, or 0 for the direct factorization."""
    if m * n >= TSQR_MIN_ENTRIES and m >= 4 * n:
        return TSQR_BLOCK_ROWS if m > TSQR_BLOCK_ROWS else m
    return 0


cdef Py_ssize_t lm_work_doubles(Py_ssize_t m, Py_ssize_t n, bint fast) noexcept nogil:
    """Number of doubles lm_init needs in dwork (it also needs n ints in iwork), with the
    fast kernels' scratch when fast."""
    cdef Py_ssize_t size = m * n + 2 * m + 8 * n
    cdef Py_ssize_t bs = lm_tsqr_rows(m, n)
    if bs:
        size += (n + bs) * (n + 1) + (n + 1) + TSQR_LWORK_PER_COL * (n + 1)
    if fast:
        size += lmfast_qr_work_doubles(m, n)
    return size


cdef void lm_init(LMWork *ws, Py_ssize_t m, Py_ssize_t n, double *dwork, int *iwork,
                  const LMSettings *settings, int mode) noexcept nogil:
    """Point ws into dwork/iwork and set its options; the caller then fills ws.x (and
    ws.diag when mode == 2) and calls lm_step until it returns LM_DONE."""
    ws.m = m
    ws.n = n
    ws.x = dwork
    ws.diag = dwork + n
    ws.qtf = dwork + 2 * n
    ws.wa1 = dwork + 3 * n
    ws.wa2 = dwork + 4 * n
    ws.wa3 = dwork + 5 * n
    ws.fvec = dwork + 8 * n
    ws.wa4 = ws.fvec + m
    ws.fjac = ws.wa4 + m
    ws.ipvt = iwork
    ws.jac = ws.fjac
    ws.tsqr_rows = lm_tsqr_rows(m, n)
    ws.tsqr_w = ws.fjac + m * n
    ws.tsqr_tau = ws.tsqr_w + (n + ws.tsqr_rows) * (n + 1)
    ws.tsqr_work = ws.tsqr_tau + (n + 1)
    ws.simd = NULL
    ws.simd_work = NULL
    if settings.fast:
        ws.simd = simd_kernels()
        ws.simd_work = dwork + (lm_work_doubles(m, n, True) - lmfast_qr_work_doubles(m, n))
    ws.ftol = settings.ftol
    ws.xtol = settings.xtol
    ws.gtol = settings.gtol
    ws.maxfev = settings.maxfev
    ws.epsfcn = settings.epsfcn
    ws.factor = settings.factor
    ws.mode = mode
    ws.use_fd = settings.use_fd
    ws.stop_nonfinite = settings.stop_nonfinite
    ws.req_x = ws.x
    ws.req_f = ws.fvec
    ws.nfev = 0
    ws.njev = 0
    ws.info = 0
    ws.iter = 0
    ws.state = ST_START
    ws.par = 0.0
    ws.delta = 0.0
    ws.fnorm = 0.0
    ws.xnorm = 0.0
    ws.pnorm = 0.0
    ws.gnorm = 0.0


cdef double lm_fd_step(const LMWork *ws, Py_ssize_t j) noexcept nogil:
    """Forward-difference step for x[j]: sqrt(max(epsfcn, eps)) * |x[j]| (or the root
    itself when x[j] == 0), as in MINPACK's fdjac2."""
    cdef double eps = ws.epsfcn if ws.epsfcn > DBL_EPSILON else DBL_EPSILON
    cdef double h
    eps = sqrt(eps)
    h = eps * fabs(ws.x[j])
    if h == 0.0:
        h = eps
    return h


cdef void lm_fd_column(LMWork *ws, Py_ssize_t j, double h, const double *fh) noexcept nogil:
    """Store column j of the difference Jacobian from fh = f(x + h e_j)."""
    cdef Py_ssize_t i, n = ws.n
    cdef double *fjac = ws.fjac
    cdef const double *fvec = ws.fvec
    for i in range(ws.m):
        fjac[i * n + j] = (fh[i] - fvec[i]) / h


cdef int lm_covariance(const LMWork *ws, double *cov, double *scratch) noexcept nogil:
    """(R^T R)^-1 in the original variable order, from a finished fit's R and ipvt
    (r_covariance on ws.fjac)."""
    return r_covariance(ws.n, ws.fjac, ws.ipvt, cov, scratch)


cdef int r_covariance(Py_ssize_t n, const double *r, const int *ipvt, double *cov,
                      double *scratch) noexcept nogil:
    """(R^T R)^-1 in the original variable order, for J P = Q R.

    r holds R in its upper triangle (row-major, row stride n, diagonal included).
    R^-1 comes from LAPACK dtrtri, as SciPy forms it; the covariance is
    P R^-1 R^-T P^T.  cov (n*n, row-major) receives it; scratch holds n*n doubles.
    Returns 0, or -1 when R has an exact zero on its diagonal (cov is then untouched).
    """
    cdef Py_ssize_t i, j, k
    cdef blas_int nn = <blas_int>n, info = 0
    cdef double total
    # R^-1, column-major, upper triangle only (dtrtri reads and writes nothing else).
    for j in range(n):
        for i in range(j + 1):
            scratch[i + j * n] = r[i * n + j]
    dtrtri(b"U", b"N", &nn, scratch, &nn, &info, 1, 1)
    if info != 0:
        return -1
    for i in range(n):
        for j in range(i, n):
            total = 0.0
            for k in range(j, n):
                total = total + scratch[i + k * n] * scratch[j + k * n]
            cov[ipvt[i] * n + ipvt[j]] = total
            cov[ipvt[j] * n + ipvt[i]] = total
    return 0


cdef inline double _norm_m(const LMWork *ws, const double *v) noexcept nogil:
    """The norm of an m-vector (f): the fast kernels' or enorm."""
    if ws.simd != NULL:
        return ws.simd.norm2(ws.m, v)
    return enorm(ws.m, v, 1)


cdef inline LMRequest _done(LMWork *ws, int info) noexcept nogil:
    ws.info = info
    ws.state = ST_DONE
    return LM_DONE


cdef inline LMRequest _ask_jacobian(LMWork *ws) noexcept nogil:
    ws.jac = ws.fjac
    ws.state = ST_HAVE_J
    return LM_NEED_FD if ws.use_fd else LM_NEED_J


cdef LMRequest _ask_trial(LMWork *ws) noexcept nogil:
    """Compute the next trial point x + p (p from lmpar) into wa2 and ask for f there."""
    cdef Py_ssize_t j, n = ws.n
    ws.par = lmpar(n, ws.fjac, n, ws.ipvt, ws.diag, ws.qtf, ws.delta, ws.par,
                   ws.wa1, ws.wa2, ws.wa3, ws.wa4)
    for j in range(n):
        ws.wa1[j] = -ws.wa1[j]
        ws.wa2[j] = ws.x[j] + ws.wa1[j]
        ws.wa3[j] = ws.diag[j] * ws.wa1[j]
    ws.pnorm = enorm(n, ws.wa3, 1)
    # On the first iteration the initial step bound is adjusted to the step length.
    if ws.iter == 1 and ws.pnorm < ws.delta:
        ws.delta = ws.pnorm
    ws.req_x = ws.wa2
    ws.req_f = ws.wa4
    ws.state = ST_HAVE_TRIAL
    return LM_NEED_F


cdef bint _improper_input(const LMWork *ws) noexcept nogil:
    cdef Py_ssize_t j
    if (ws.n <= 0 or ws.m < ws.n or ws.ftol < 0.0 or ws.xtol < 0.0 or ws.gtol < 0.0
            or ws.maxfev <= 0 or ws.factor <= 0.0):
        return True
    if ws.mode == 2:
        for j in range(ws.n):
            if ws.diag[j] <= 0.0:
                return True
    return False


cdef void _tsqr(LMWork *ws) noexcept nogil:
    """R0 and z = (Q0^T fvec)[:n] of [J | fvec] = Q0 [R0 | z; 0], block by block.

    Each block of rows is stacked under the current [R0 | z] and factored with LAPACK
    dgeqrf; Q0 is orthogonal, so the pivoted QR of R0 has the R, column norms and
    pivots of the pivoted QR of J (to rounding) and Q^T fvec = Q1^T z.  R0 goes to the
    top n rows of fjac, z to wa4[:n].  J (ws.jac) is only read.
    """
    cdef Py_ssize_t n = ws.n, m = ws.m, bs = ws.tsqr_rows
    cdef Py_ssize_t ldw = n + bs, i, k, r0 = 0, rows
    cdef double *w = ws.tsqr_w
    cdef const double *src
    cdef blas_int mm, nc = <blas_int>(n + 1), lda = <blas_int>ldw, info = 0
    cdef blas_int lwork = <blas_int>(TSQR_LWORK_PER_COL * (n + 1))
    for k in range(n + 1):
        for i in range(n):
            w[i + k * ldw] = 0.0
    while r0 < m:
        rows = bs if m - r0 > bs else m - r0
        for i in range(rows):
            src = ws.jac + (r0 + i) * n
            for k in range(n):
                w[n + i + k * ldw] = src[k]
            w[n + i + n * ldw] = ws.fvec[r0 + i]
        mm = <blas_int>(n + rows)
        dgeqrf(&mm, &nc, w, &lda, ws.tsqr_tau, ws.tsqr_work, &lwork, &info)
        for k in range(n):
            for i in range(k + 1, n):
                w[i + k * ldw] = 0.0
        r0 += rows
    for i in range(n):
        for k in range(n):
            ws.fjac[i * n + k] = w[i + k * ldw] if k >= i else 0.0
        ws.wa4[i] = w[i + n * ldw]


cdef LMRequest _after_jacobian(LMWork *ws) noexcept nogil:
    """Factor the new Jacobian, form Q^T f, test gtol, then start the inner loop."""
    cdef Py_ssize_t i, j, l, m = ws.m, n = ws.n, mq = ws.m
    cdef double total, temp, gnorm
    cdef double *fjac = ws.fjac
    if ws.use_fd:
        ws.nfev += n
    else:
        ws.njev += 1

    # Q^T fvec is formed in wa4 (its first n entries become qtf).
    if ws.tsqr_rows:
        _tsqr(ws)
        mq = n
    if ws.simd != NULL:
        # The fast kernels factor J (or R0 and z after TSQR) and form qtf in one call.
        if ws.tsqr_rows:
            ws.simd.qr_factor(n, n, fjac, ws.wa4, fjac, ws.ipvt, ws.wa1, ws.wa2, ws.qtf,
                              ws.simd_work)
        else:
            ws.simd.qr_factor(m, n, ws.jac, ws.fvec, fjac, ws.ipvt, ws.wa1, ws.wa2,
                              ws.qtf, ws.simd_work)
    else:
        if not ws.tsqr_rows:
            if ws.jac != fjac:
                memcpy(fjac, ws.jac, m * n * sizeof(double))
            memcpy(ws.wa4, ws.fvec, m * sizeof(double))
        qrfac(mq, n, fjac, n, ws.ipvt, ws.wa1, ws.wa2, ws.wa3)
    if ws.stop_nonfinite:
        for j in range(n):
            if not isfinite(ws.wa2[j]):
                return _done(ws, LM_INFO_NONFINITE_J)

    if ws.iter == 1:
        # Scale by the initial column norms (mode 1); first step bound factor*||D x||.
        if ws.mode == 1:
            for j in range(n):
                ws.diag[j] = ws.wa2[j] if ws.wa2[j] != 0.0 else 1.0
        for j in range(n):
            ws.wa3[j] = ws.diag[j] * ws.x[j]
        ws.xnorm = enorm(n, ws.wa3, 1)
        ws.delta = ws.factor * ws.xnorm
        if ws.delta == 0.0:
            ws.delta = ws.factor

    # qtf = first n entries of Q^T fvec; the diagonal of fjac becomes R's.
    for j in range(n):
        if ws.simd == NULL:
            temp = fjac[j * n + j]
            if temp != 0.0:
                total = 0.0
                for i in range(j, mq):
                    total = total + fjac[i * n + j] * ws.wa4[i]
                total = -total / temp
                for i in range(j, mq):
                    ws.wa4[i] = ws.wa4[i] + fjac[i * n + j] * total
            ws.qtf[j] = ws.wa4[j]
        fjac[j * n + j] = ws.wa1[j]

    # gnorm: largest cosine between f and a scaled column of J.
    gnorm = 0.0
    if ws.fnorm != 0.0:
        for j in range(n):
            l = ws.ipvt[j]
            if ws.wa2[l] != 0.0:
                total = 0.0
                for i in range(j + 1):
                    total = total + fjac[i * n + j] * (ws.qtf[i] / ws.fnorm)
                temp = fabs(total / ws.wa2[l])
                if temp > gnorm:
                    gnorm = temp
    ws.gnorm = gnorm
    if gnorm <= ws.gtol:
        return _done(ws, 4)

    if ws.mode == 1:
        for j in range(n):
            if ws.wa2[j] > ws.diag[j]:
                ws.diag[j] = ws.wa2[j]
    return _ask_trial(ws)


cdef LMRequest _after_trial(LMWork *ws) noexcept nogil:
    """Judge the trial step in wa2/wa4: update the trust region, accept or reject the
    step, and apply the convergence tests (Moré 1977, section 7)."""
    cdef Py_ssize_t i, j, l, m = ws.m, n = ws.n
    cdef double fnorm1, actred, prered, dirder, ratio, temp, temp1, temp2
    cdef double epsmch = DBL_EPSILON
    cdef double *fjac = ws.fjac
    cdef int info = 0
    ws.nfev += 1
    fnorm1 = _norm_m(ws, ws.wa4)

    # Actual and predicted relative reductions, and the directional derivative.
    actred = -1.0
    if LM_P1 * fnorm1 < ws.fnorm:
        temp = fnorm1 / ws.fnorm
        actred = 1.0 - temp * temp
    for j in range(n):
        ws.wa3[j] = 0.0
        l = ws.ipvt[j]
        temp = ws.wa1[l]
        for i in range(j + 1):
            ws.wa3[i] = ws.wa3[i] + fjac[i * n + j] * temp
    temp1 = enorm(n, ws.wa3, 1) / ws.fnorm
    temp2 = (sqrt(ws.par) * ws.pnorm) / ws.fnorm
    prered = temp1 * temp1 + temp2 * temp2 / LM_P5
    dirder = -(temp1 * temp1 + temp2 * temp2)
    ratio = 0.0
    if prered != 0.0:
        ratio = actred / prered

    # Trust-region update.
    if ratio <= LM_P25:
        if actred >= 0.0:
            temp = LM_P5
        else:
            temp = LM_P5 * dirder / (dirder + LM_P5 * actred)
        if LM_P1 * fnorm1 >= ws.fnorm or temp < LM_P1:
            temp = LM_P1
        ws.delta = temp * (ws.delta if ws.delta < ws.pnorm / LM_P1 else ws.pnorm / LM_P1)
        ws.par = ws.par / temp
    elif ws.par == 0.0 or ratio >= LM_P75:
        ws.delta = ws.pnorm / LM_P5
        ws.par = LM_P5 * ws.par

    if ratio >= LM_P0001:
        # Successful iteration: take the step.
        for j in range(n):
            ws.x[j] = ws.wa2[j]
            ws.wa2[j] = ws.diag[j] * ws.x[j]
        memcpy(ws.fvec, ws.wa4, m * sizeof(double))
        ws.xnorm = enorm(n, ws.wa2, 1)
        ws.fnorm = fnorm1
        ws.iter += 1

    if fabs(actred) <= ws.ftol and prered <= ws.ftol and LM_P5 * ratio <= 1.0:
        info = 1
    if ws.delta <= ws.xtol * ws.xnorm:
        info = 3 if info == 1 else 2
    if info != 0:
        return _done(ws, info)
    if ws.nfev >= ws.maxfev:
        info = 5
    if fabs(actred) <= epsmch and prered <= epsmch and LM_P5 * ratio <= 1.0:
        info = 6
    if ws.delta <= epsmch * ws.xnorm:
        info = 7
    if ws.gnorm <= epsmch:
        info = 8
    if info != 0:
        return _done(ws, info)

    # The inner loop repeats while ratio < 0.0001: a NaN ratio (from NaN arithmetic that
    # stop_nonfinite let through) ends it, and the Jacobian is taken again, as in MINPACK.
    if ratio < LM_P0001:
        return _ask_trial(ws)
    return _ask_jacobian(ws)


cdef LMRequest lm_step(LMWork *ws) noexcept nogil:
    """Advance the fit in ws to its next request (see LMRequest)."""
    if ws.state == ST_START:
        if _improper_input(ws):
            return _done(ws, 0)
        ws.req_x = ws.x
        ws.req_f = ws.fvec
        ws.state = ST_HAVE_F0
        return LM_NEED_F
    if ws.state == ST_HAVE_F0:
        ws.nfev = 1
        ws.fnorm = _norm_m(ws, ws.fvec)
        if ws.stop_nonfinite and not isfinite(ws.fnorm):
            return _done(ws, LM_INFO_NONFINITE_F)
        ws.par = 0.0
        ws.iter = 1
        return _ask_jacobian(ws)
    if ws.state == ST_HAVE_J:
        return _after_jacobian(ws)
    if ws.state == ST_HAVE_TRIAL:
        return _after_trial(ws)
    return LM_DONE
