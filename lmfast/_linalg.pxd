# Dense kernels of the MINPACK Levenberg-Marquardt method (Moré 1977; ANL-80-74, ch. 2).
#
# Storage: the m-by-n Jacobian is row-major, a[i*lda + j] (lda >= n), the layout of the
# (m, n) C-ordered array a Python Dfun returns.  R is its leading n-by-n block.  Loops that
# reduce over rows run over i in the outer loop and over columns k in the inner one, so
# each column sum is accumulated in the same order as the published column-wise
# algorithm while the inner loop is contiguous (and vectorisable).

from libc.math cimport fabs, sqrt

from lmfast._constants cimport DBL_EPSILON, DBL_MIN, LM_RDWARF, LM_RGIANT

# enorm's running sums (ANL-80-74, enorm): squares of small, intermediate and large
# components kept apart, the small and large sums scaled by their largest element.
ctypedef struct EnormSums:
    double s1, s2, s3, x1max, x3max

cdef inline double enorm_agiant(Py_ssize_t n) noexcept nogil:
    """Bound of the intermediate components of an n-vector: squares of values between
    3.834e-20 and 1.304e19 / n neither underflow nor overflow in a sum of n."""
    return LM_RGIANT / <double>n


cdef inline void enorm_start(EnormSums *e) noexcept nogil:
    e.s1 = 0.0
    e.s2 = 0.0
    e.s3 = 0.0
    e.x1max = 0.0
    e.x3max = 0.0


cdef inline void enorm_add(EnormSums *e, double value, double agiant) noexcept nogil:
    """Add one component (agiant = enorm_agiant(n) for a vector of n components)."""
    cdef double xabs = fabs(value), ratio, rdwarf = LM_RDWARF
    if xabs > rdwarf and xabs < agiant:
        e.s2 = e.s2 + xabs * xabs
    elif xabs <= rdwarf:
        if xabs > e.x3max:
            ratio = e.x3max / xabs
            e.s3 = 1.0 + e.s3 * (ratio * ratio)
            e.x3max = xabs
        elif xabs != 0.0:
            ratio = xabs / e.x3max
            e.s3 = e.s3 + ratio * ratio
    else:
        if xabs > e.x1max:
            ratio = e.x1max / xabs
            e.s1 = 1.0 + e.s1 * (ratio * ratio)
            e.x1max = xabs
        else:
            ratio = xabs / e.x1max
            e.s1 = e.s1 + ratio * ratio


cdef inline double enorm_value(const EnormSums *e) noexcept nogil:
    """The norm from the sums."""
    if e.s1 != 0.0:
        return e.x1max * sqrt(e.s1 + (e.s2 / e.x1max) / e.x1max)
    if e.s2 != 0.0:
        if e.s2 >= e.x3max:
            return sqrt(e.s2 * (1.0 + (e.x3max / e.s2) * (e.x3max * e.s3)))
        return sqrt(e.x3max * ((e.s2 / e.x3max) + (e.x3max * e.s3)))
    return e.x3max * sqrt(e.s3)


cdef inline double enorm(Py_ssize_t n, const double *x, Py_ssize_t incx) noexcept nogil:
    """Euclidean norm of x[0], x[incx], ..., free of destructive over- and underflow."""
    cdef EnormSums e
    cdef double agiant = enorm_agiant(n)
    cdef Py_ssize_t i
    enorm_start(&e)
    for i in range(n):
        enorm_add(&e, x[i * incx], agiant)
    return enorm_value(&e)


cdef void qrfac(Py_ssize_t m, Py_ssize_t n, double *a, Py_ssize_t lda, int *ipvt,
                double *rdiag, double *acnorm, double *wa) noexcept nogil

cdef void qrsolv(Py_ssize_t n, double *r, Py_ssize_t ldr, const int *ipvt,
                 const double *diag, const double *qtb, double *x, double *sdiag,
                 double *wa) noexcept nogil

cdef double lmpar(Py_ssize_t n, double *r, Py_ssize_t ldr, const int *ipvt,
                  const double *diag, const double *qtb, double delta, double par,
                  double *x, double *sdiag, double *wa1, double *wa2) noexcept nogil
