/* The fast kernels of the compiled-model fits, one table per instruction set.

   lmfast_simd.c builds simd_kernels.inc once per instruction set the compiler can target
   (baseline: the architecture's minimum, SSE2 on x86-64; on x86-64 also AVX2 with FMA and
   AVX-512F) and picks, at run time, the best one the CPU has.  Unlike the MINPACK-exact
   kernels in _linalg.pyx, these reassociate sums (several accumulators, FMA where the
   instruction set has it), so their results differ from the exact ones by rounding and
   from one instruction set to another; within one table they depend only on the sizes,
   never on where the arrays lie, so a fit gives the same bits wherever it runs. */
#ifndef LMFAST_SIMD_H
#define LMFAST_SIMD_H
#include <stddef.h>

typedef struct LMSimdKernels {
    const char *name;   /* "baseline", "avx2", "avx512" */
    /* out[i] = exp(in[i]), i < n (out may be in); within 2 ulp, inf/0 beyond the range,
       NaN for NaN. */
    void (*exp_array)(const double *in, double *out, ptrdiff_t n);
    /* The Euclidean norm of x[0..n-1], free of destructive over- and underflow. */
    double (*norm2)(ptrdiff_t n, const double *x);
    /* Householder QR with column pivoting of the m-by-n row-major J (row stride n), and
       Q^T f: the published qrfac (ANL-80-74) on a column-major copy, with reassociated
       sums.  r (n-by-n row-major, may be J itself) gets R above its diagonal; rdiag, acnorm,
       ipvt as qrfac's; qtf the first n entries of Q^T f.  work: qr_work_doubles(m, n). */
    void (*qr_factor)(ptrdiff_t m, ptrdiff_t n, const double *jac, const double *f,
                      double *r, int *ipvt, double *rdiag, double *acnorm, double *qtf,
                      double *work);
    /* The Faddeeva function w(z) = exp(-z^2) erfc(-iz) at z_i = zx[i] + i zy, i < m, for
       the Voigt profile (zy >= 0 shared): wr[i] = Re w(z_i) (wr may be zx), and when dwr,
       dwi, dzw are not NULL, w'(z_i) = dwr[i] + i dwi[i] and dzw[i] = Re (z w)'(z_i) =
       Re(w + z w') (without the cancellation of that sum at large |z|).  Re w within
       about 2e-15 relative (also where Re w << Im w; exp(-x^2) on the real axis within
       1 ulp), the others within about 1e-14 of their largest value along the line; NaN
       for NaN.  Re w is the same bits with or without the rest.  The method:
       simd_faddeeva.inc. */
    void (*faddeeva_re)(ptrdiff_t m, const double *zx, double zy, double *wr, double *dwr,
                        double *dwi, double *dzw);
} LMSimdKernels;

/* Doubles of qr_factor's work: its column-major copy of J and f (n + 1 columns of m rows
   and up to 8 rows of zeros), then n + 1 norms. */
static inline ptrdiff_t lmfast_qr_work_doubles(ptrdiff_t m, ptrdiff_t n) {
    return (n + 1) * (m + 8) + n + 1;
}

/* The active table (never NULL once lmfast_simd_select has run). */
const LMSimdKernels *lmfast_simd_active(void);
/* Make the named table active ("auto": the best the CPU has): 0, or -1 when the name is
   unknown or the CPU (or the build) lacks it. */
int lmfast_simd_select(const char *name);
/* The i-th table this CPU can run, best last, or NULL past the end. */
const LMSimdKernels *lmfast_simd_available(int i);

#endif
