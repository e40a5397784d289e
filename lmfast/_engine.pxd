# The Levenberg-Marquardt engine: MINPACK's lmdif/lmder as one reverse-communication
# state machine.  lm_step() never calls a model and never allocates: it advances one fit
# until it needs something and returns a request; the driver (a Python callback loop, a
# vectorised batch, a compiled model) fulfils it and calls lm_step() again.

from lmfast._simd cimport LMSimdKernels

cdef enum LMRequest:
    LM_DONE = 0      # finished: ws.info holds the outcome
    LM_NEED_F = 1    # write f(ws.req_x) into ws.req_f (m values)
    LM_NEED_J = 2    # write the Jacobian at ws.x into ws.fjac (m-by-n, row-major)
    LM_NEED_FD = 3   # fill ws.fjac by forward differences at ws.x (lm_fd_step/lm_fd_column)

# ws.info codes beyond MINPACK's 0-8 (negative: the fit stopped without an answer).
cdef enum LMInfo:
    LM_INFO_NONFINITE_F = -2   # f(x0) has a NaN or inf (only with stop_nonfinite)
    LM_INFO_NONFINITE_J = -3   # the Jacobian has a NaN or inf (only with stop_nonfinite)
    LM_INFO_P0_OUTSIDE = -4    # p0 outside the fit's bounds (set by the drivers)

# The options of one fit, as leastsq takes them (already validated and defaulted).
ctypedef struct LMSettings:
    double ftol, xtol, gtol, epsfcn, factor
    long maxfev
    int use_fd         # 1: forward-difference Jacobian (lmdif), 0: analytic (lmder)
    int stop_nonfinite # 1: stop with LM_INFO_NONFINITE_F/J; 0: carry on as MINPACK does
    int fast           # 1: the fast kernels (lmfast/_simd.pxd); 0: MINPACK's arithmetic

ctypedef struct LMWork:
    Py_ssize_t m, n
    # Problem arrays (caller-owned): x (n), fvec (m), fjac (m*n), diag (n).
    double *x
    double *fvec
    double *fjac
    double *diag
    # Outputs and scratch (caller-owned): qtf (n), wa1..wa3 (n), wa4 (m), ipvt (n).
    double *qtf
    double *wa1
    double *wa2
    double *wa3
    double *wa4
    int *ipvt
    # Settings.
    double ftol, xtol, gtol, epsfcn, factor
    long maxfev
    int mode           # 1: variables scaled internally, 2: diag given by the caller
    int use_fd         # 1: forward-difference Jacobian (lmdif), 0: analytic (lmder)
    int stop_nonfinite # see LMSettings
    # The Jacobian to factor (row-major, row stride n): ws.fjac unless the driver points
    # it at its own read-only buffer when answering LM_NEED_J.
    const double *jac
    # Tall problems: R0 of J = Q0 R0 is built block by block first (TSQR, see lm_tsqr_rows)
    # and the pivoted factorization runs on R0 only.  tsqr_rows == 0: off.
    Py_ssize_t tsqr_rows
    double *tsqr_w
    double *tsqr_tau
    double *tsqr_work
    # The fast kernels (settings.fast), or NULL for MINPACK's own arithmetic; their QR's
    # scratch (lmfast_qr_work_doubles(m, n)).
    const LMSimdKernels *simd
    double *simd_work
    # Request: evaluate f at req_x into req_f.
    double *req_x
    double *req_f
    # Progress and outcome.
    long nfev, njev
    int info, iter, state
    double par, delta, fnorm, xnorm, pnorm, gnorm


cdef Py_ssize_t lm_tsqr_rows(Py_ssize_t m, Py_ssize_t n) noexcept nogil
cdef Py_ssize_t lm_work_doubles(Py_ssize_t m, Py_ssize_t n, bint fast) noexcept nogil
cdef void lm_init(LMWork *ws, Py_ssize_t m, Py_ssize_t n, double *dwork, int *iwork,
                  const LMSettings *settings, int mode) noexcept nogil
cdef LMRequest lm_step(LMWork *ws) noexcept nogil
cdef double lm_fd_step(const LMWork *ws, Py_ssize_t j) noexcept nogil
cdef void lm_fd_column(LMWork *ws, Py_ssize_t j, double h, const double *fh) noexcept nogil
cdef int lm_covariance(const LMWork *ws, double *cov, double *scratch) noexcept nogil
cdef int r_covariance(Py_ssize_t n, const double *r, const int *ipvt, double *cov,
                      double *scratch) noexcept nogil
