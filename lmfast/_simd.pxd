# The fast kernels of the compiled-model fits (lmfast/src/lmfast_simd.h): one table per
# instruction set, the best the CPU has chosen at import (LMFAST_SIMD overrides it).

cdef extern from "lmfast_simd.h" nogil:
    ctypedef struct LMSimdKernels:
        const char *name
        void (*exp_array)(const double *inp, double *out, Py_ssize_t n) noexcept nogil
        double (*norm2)(Py_ssize_t n, const double *x) noexcept nogil
        void (*qr_factor)(Py_ssize_t m, Py_ssize_t n, const double *jac, const double *f,
                          double *r, int *ipvt, double *rdiag, double *acnorm, double *qtf,
                          double *work) noexcept nogil
        void (*faddeeva_re)(Py_ssize_t m, const double *zx, double zy, double *wr,
                            double *dwr, double *dwi, double *dzw) noexcept nogil
    Py_ssize_t lmfast_qr_work_doubles(Py_ssize_t m, Py_ssize_t n)

# The active table.
cdef const LMSimdKernels *simd_kernels() noexcept nogil
