# Every BLAS, LAPACK and OpenBLAS routine lmfast calls, declared once.  The symbols are
# those the scipy-openblas32 wheel exports (prefix scipy_, LP64); lmfast/src/lmfast_blas.h
# holds their C prototypes.

ctypedef int blas_int

cdef extern from "lmfast_blas.h" nogil:
    double ddot "LMFAST_BLAS(ddot)"(const blas_int *n, const double *x, const blas_int *incx,
                                    const double *y, const blas_int *incy)
    void dgeqrf "LMFAST_BLAS(dgeqrf)"(const blas_int *m, const blas_int *n, double *a,
                                      const blas_int *lda, double *tau, double *work,
                                      const blas_int *lwork, blas_int *info)
    void dtrtri "LMFAST_BLAS(dtrtri)"(const char *uplo, const char *diag, const blas_int *n,
                                      double *a, const blas_int *lda, blas_int *info,
                                      size_t uplo_len, size_t diag_len)
    void dtrmv "LMFAST_BLAS(dtrmv)"(const char *uplo, const char *trans, const char *diag,
                                    const blas_int *n, const double *a, const blas_int *lda,
                                    double *x, const blas_int *incx, size_t uplo_len,
                                    size_t trans_len, size_t diag_len)
    void openblas_set_num_threads "LMFAST_OPENBLAS(openblas_set_num_threads)"(int n)
    int openblas_get_num_threads "LMFAST_OPENBLAS(openblas_get_num_threads)"()
