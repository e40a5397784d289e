# Dense kernels of the MINPACK Levenberg-Marquardt method (Moré 1977; ANL-80-74, ch. 2).
#
# Storage: the m-by-n Jacobian is row-major, a[i*lda + j] (lda >= n), the layout of the
# (m, n) C-ordered array a Python Dfun returns.  R is its leading n-by-n block.  Loops that
# reduce over rows run over i in the outer loop and over columns k in the inner one, so
# each column sum is accumulated in the same order as the published column-wise
# algorithm while the inner loop is contiguous (and vectorisable).

from libc.math cimport fabs, sqrt

cdef extern from "float.h":
    double DBL_EPSILON
    double DBL_MIN

cdef inline double enorm(Py_ssize_t n, const double *x, Py_ssize_t incx) noexcept nogil:
    """Euclidean norm of x[0], x[incx], ..., free of destructive over- and underflow.

    Sums small, intermediate and large components separately, each large or small
    sum scaled by its largest element (ANL-80-74, enorm).
    """
    cdef double s1 = 0.0, s2 = 0.0, s3 = 0.0, x1max = 0.0, x3max = 0.0
    cdef double xabs, ratio, agiant
    cdef Py_ssize_t i
    # Squares of values between rdwarf and rgiant/n neither underflow nor overflow.
    cdef double rdwarf = 3.834e-20, rgiant = 1.304e19
    agiant = rgiant / <double>n
    for i in range(n):
        xabs = fabs(x[i * incx])
        if xabs > rdwarf and xabs < agiant:
            s2 = s2 + xabs * xabs
        elif xabs <= rdwarf:
            if xabs > x3max:
                ratio = x3max / xabs
                s3 = 1.0 + s3 * (ratio * ratio)
                x3max = xabs
            elif xabs != 0.0:
                ratio = xabs / x3max
                s3 = s3 + ratio * ratio
        else:
            if xabs > x1max:
                ratio = x1max / xabs
                s1 = 1.0 + s1 * (ratio * ratio)
                x1max = xabs
            else:
                ratio = xabs / x1max
                s1 = s1 + ratio * ratio
    if s1 != 0.0:
        return x1max * sqrt(s1 + (s2 / x1max) / x1max)
    if s2 != 0.0:
        if s2 >= x3max:
            return sqrt(s2 * (1.0 + (x3max / s2) * (x3max * s3)))
        return sqrt(x3max * ((s2 / x3max) + (x3max * s3)))
    return x3max * sqrt(s3)


cdef void qrfac(Py_ssize_t m, Py_ssize_t n, double *a, Py_ssize_t lda, int *ipvt,
                double *rdiag, double *acnorm, double *wa) noexcept nogil

cdef void qrsolv(Py_ssize_t n, double *r, Py_ssize_t ldr, const int *ipvt,
                 const double *diag, const double *qtb, double *x, double *sdiag,
                 double *wa) noexcept nogil

cdef double lmpar(Py_ssize_t n, double *r, Py_ssize_t ldr, const int *ipvt,
                  const double *diag, const double *qtb, double delta, double par,
                  double *x, double *sdiag, double *wa1, double *wa2) noexcept nogil
