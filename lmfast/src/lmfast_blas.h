/* Prototypes of the BLAS/LAPACK routines lmfast calls, under the symbol names the
 * scipy-openblas32 wheel exports (prefix "scipy_", Fortran trailing underscore, LP64).
 * The wheel's own f77blas.h/lapack.h declare unprefixed names, which do not link. */
#ifndef LMFAST_BLAS_H
#define LMFAST_BLAS_H

#ifndef BLAS_SYMBOL_PREFIX
#define BLAS_SYMBOL_PREFIX scipy_
#endif
#define LMF_CAT(p, n) p##n##_
#define LMF_XCAT(p, n) LMF_CAT(p, n)
#define LMFAST_BLAS(n) LMF_XCAT(BLAS_SYMBOL_PREFIX, n)
#define LMF_CAT2(p, n) p##n
#define LMF_XCAT2(p, n) LMF_CAT2(p, n)
#define LMFAST_OPENBLAS(n) LMF_XCAT2(BLAS_SYMBOL_PREFIX, n)

void LMFAST_BLAS(dtrtri)(const char *uplo, const char *diag, const int *n, double *a,
                         const int *lda, int *info, size_t uplo_len, size_t diag_len);
void LMFAST_BLAS(dgeqrf)(const int *m, const int *n, double *a, const int *lda, double *tau,
                         double *work, const int *lwork, int *info);
void LMFAST_BLAS(dtrmv)(const char *uplo, const char *trans, const char *diag, const int *n,
                        const double *a, const int *lda, double *x, const int *incx,
                        size_t uplo_len, size_t trans_len, size_t diag_len);
double LMFAST_BLAS(ddot)(const int *n, const double *x, const int *incx, const double *y,
                         const int *incy);
void LMFAST_OPENBLAS(openblas_set_num_threads)(int num_threads);
int LMFAST_OPENBLAS(openblas_get_num_threads)(void);

#endif
