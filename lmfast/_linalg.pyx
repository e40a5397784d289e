"""Dense kernels of the MINPACK Levenberg-Marquardt method.

qrfac, qrsolv and lmpar follow their published descriptions (Moré 1977, sections 3-5;
ANL-80-74, chapter 2); the ``_test_*`` functions expose them to the test suite.
See ``_linalg.pxd`` for the storage convention (row-major Jacobian).
"""
import numpy as np

from libc.math cimport fmax, fmin, fabs, sqrt

from lmfast._blas cimport (
    blas_int, dtrtri, openblas_get_num_threads, openblas_set_num_threads,
)
from lmfast._constants cimport LM_P1, LM_P5, LM_P25, LM_P001


cdef inline int _outside(double x, double agiant) noexcept nogil:
    """1 when enorm would not add x * x to its sum of intermediate squares (x is nonzero
    and not strictly between LM_RDWARF and agiant in magnitude, or NaN), else 0."""
    cdef double xabs = fabs(x)
    return (xabs != 0.0) & (1 - ((xabs > LM_RDWARF) & (xabs < agiant)))


cdef void qrfac(Py_ssize_t m, Py_ssize_t n, double *a, Py_ssize_t lda, int *ipvt,
                double *rdiag, double *acnorm, double *wa) noexcept nogil:
    """Householder QR with column pivoting: A P = Q R.

    a      in: m-by-n matrix.  out: R in the upper triangle, the Householder vectors v_j
           (scaled so that the reflector is I - v v^T / v_j[j]) on and below the diagonal.
    ipvt   out: P as column indices (column j of A P is column ipvt[j] of A).
    rdiag  out: diagonal of R.   acnorm  out: norms of the columns of A.
    wa     scratch (n): the column norms at the last recomputation.
    Remaining column norms are downdated rather than recomputed, and recomputed when
    cancellation makes the downdate unreliable (ANL-80-74, qrfac).
    """
    cdef Py_ssize_t i, j, k, kmax, minmn
    cdef double ajnorm, ajj, temp, ratio, epsmch = DBL_EPSILON
    cdef double t0, t1, t2, t3, v, agiant
    cdef int plain
    cdef double *row
    cdef int itemp

    # The column norms, four columns per pass over the rows.  Where every entry of a
    # column is zero or of intermediate size, enorm reduces to sqrt of its plain sum of
    # squares (same order, bit for bit): those four sums run side by side in registers,
    # and a column with a tiny or huge entry is redone by enorm itself.
    agiant = enorm_agiant(m)
    k = 0
    while k + 4 <= n:
        t0 = 0.0
        t1 = 0.0
        t2 = 0.0
        t3 = 0.0
        plain = 0
        for i in range(m):
            row = a + i * lda + k
            t0 = t0 + row[0] * row[0]
            t1 = t1 + row[1] * row[1]
            t2 = t2 + row[2] * row[2]
            t3 = t3 + row[3] * row[3]
            plain = (plain | _outside(row[0], agiant) | _outside(row[1], agiant) << 1
                     | _outside(row[2], agiant) << 2 | _outside(row[3], agiant) << 3)
        acnorm[k] = enorm(m, a + k, lda) if plain & 1 else sqrt(t0)
        acnorm[k + 1] = enorm(m, a + k + 1, lda) if plain & 2 else sqrt(t1)
        acnorm[k + 2] = enorm(m, a + k + 2, lda) if plain & 4 else sqrt(t2)
        acnorm[k + 3] = enorm(m, a + k + 3, lda) if plain & 8 else sqrt(t3)
        k += 4
    while k < n:
        acnorm[k] = enorm(m, a + k, lda)
        k += 1
    for j in range(n):
        rdiag[j] = acnorm[j]
        wa[j] = rdiag[j]
        ipvt[j] = <int>j
    minmn = m if m < n else n
    for j in range(minmn):
        # Bring the column of largest remaining norm into the pivot position.
        kmax = j
        for k in range(j, n):
            if rdiag[k] > rdiag[kmax]:
                kmax = k
        if kmax != j:
            for i in range(m):
                row = a + i * lda
                temp = row[j]
                row[j] = row[kmax]
                row[kmax] = temp
            rdiag[kmax] = rdiag[j]
            wa[kmax] = wa[j]
            itemp = ipvt[j]
            ipvt[j] = ipvt[kmax]
            ipvt[kmax] = itemp

        # Householder reflector that maps a[j:, j] to a multiple of e_j.
        ajnorm = enorm(m - j, a + j * lda + j, lda)
        if ajnorm != 0.0:
            if a[j * lda + j] < 0.0:
                ajnorm = -ajnorm
            for i in range(j, m):
                a[i * lda + j] = a[i * lda + j] / ajnorm
            a[j * lda + j] = a[j * lda + j] + 1.0
            ajj = a[j * lda + j]

            # Apply it to the remaining columns: a_k -= (v^T a_k / v_j) v, four columns
            # at a time (then two, then one).  Each v^T a_k is still summed over i in order (the published
            # arithmetic, bit for bit); the four sums only run side by side.
            k = j + 1
            while k + 4 <= n:
                t0 = 0.0
                t1 = 0.0
                t2 = 0.0
                t3 = 0.0
                for i in range(j, m):
                    row = a + i * lda
                    v = row[j]
                    t0 = t0 + row[k] * v
                    t1 = t1 + row[k + 1] * v
                    t2 = t2 + row[k + 2] * v
                    t3 = t3 + row[k + 3] * v
                t0 = t0 / ajj
                t1 = t1 / ajj
                t2 = t2 / ajj
                t3 = t3 / ajj
                for i in range(j, m):
                    row = a + i * lda
                    v = row[j]
                    row[k] = row[k] - t0 * v
                    row[k + 1] = row[k + 1] - t1 * v
                    row[k + 2] = row[k + 2] - t2 * v
                    row[k + 3] = row[k + 3] - t3 * v
                k += 4
            if k + 2 <= n:
                t0 = 0.0
                t1 = 0.0
                for i in range(j, m):
                    row = a + i * lda
                    v = row[j]
                    t0 = t0 + row[k] * v
                    t1 = t1 + row[k + 1] * v
                t0 = t0 / ajj
                t1 = t1 / ajj
                for i in range(j, m):
                    row = a + i * lda
                    v = row[j]
                    row[k] = row[k] - t0 * v
                    row[k + 1] = row[k + 1] - t1 * v
                k += 2
            if k < n:
                t0 = 0.0
                for i in range(j, m):
                    t0 = t0 + a[i * lda + k] * a[i * lda + j]
                t0 = t0 / ajj
                for i in range(j, m):
                    a[i * lda + k] = a[i * lda + k] - t0 * a[i * lda + j]
            for k in range(j + 1, n):
                if rdiag[k] != 0.0:
                    temp = a[j * lda + k] / rdiag[k]
                    temp = 1.0 - temp * temp
                    rdiag[k] = rdiag[k] * sqrt(temp if temp > 0.0 else 0.0)
                    ratio = rdiag[k] / wa[k]
                    if 0.05 * (ratio * ratio) <= epsmch:
                        rdiag[k] = enorm(m - j - 1, a + (j + 1) * lda + k, lda)
                        wa[k] = rdiag[k]
        rdiag[j] = -ajnorm


cdef void qrsolv(Py_ssize_t n, double *r, Py_ssize_t ldr, const int *ipvt,
                 const double *diag, const double *qtb, double *x, double *sdiag,
                 double *wa) noexcept nogil:
    """Solve A x = b, D x = 0 in the least-squares sense, given A P = Q R and Q^T b.

    r      in: R in the upper triangle.  out: upper triangle unchanged; the strict lower
           triangle holds S^T, where P^T (A^T A + D D) P = S^T S.
    ipvt   in: P.   diag  in: the diagonal of D.   qtb  in: first n entries of Q^T b.
    x      out: the solution.   sdiag  out: the diagonal of S.   wa  scratch (n).
    D is eliminated from [R; P^T D P] by Givens rotations (Moré 1977, section 3).
    """
    cdef Py_ssize_t i, j, k, nsing, l
    cdef double qtbpj, cotan, tan_, sin_, cos_, temp, rkk, total

    for j in range(n):
        for i in range(j, n):
            r[i * ldr + j] = r[j * ldr + i]
        x[j] = r[j * ldr + j]
        wa[j] = qtb[j]

    for j in range(n):
        l = ipvt[j]
        if diag[l] != 0.0:
            for k in range(j, n):
                sdiag[k] = 0.0
            sdiag[j] = diag[l]
            qtbpj = 0.0
            for k in range(j, n):
                if sdiag[k] == 0.0:
                    continue
                rkk = r[k * ldr + k]
                if fabs(rkk) < fabs(sdiag[k]):
                    cotan = rkk / sdiag[k]
                    sin_ = LM_P5 / sqrt(LM_P25 + LM_P25 * (cotan * cotan))
                    cos_ = sin_ * cotan
                else:
                    tan_ = sdiag[k] / rkk
                    cos_ = LM_P5 / sqrt(LM_P25 + LM_P25 * (tan_ * tan_))
                    sin_ = cos_ * tan_
                r[k * ldr + k] = cos_ * rkk + sin_ * sdiag[k]
                temp = cos_ * wa[k] + sin_ * qtbpj
                qtbpj = -sin_ * wa[k] + cos_ * qtbpj
                wa[k] = temp
                for i in range(k + 1, n):
                    temp = cos_ * r[i * ldr + k] + sin_ * sdiag[i]
                    sdiag[i] = -sin_ * r[i * ldr + k] + cos_ * sdiag[i]
                    r[i * ldr + k] = temp
        sdiag[j] = r[j * ldr + j]
        r[j * ldr + j] = x[j]

    # Back substitution with S; a singular S gives a least-squares solution.
    nsing = n
    for j in range(n):
        if sdiag[j] == 0.0 and nsing == n:
            nsing = j
        if nsing < n:
            wa[j] = 0.0
    for k in range(nsing):
        j = nsing - 1 - k
        total = 0.0
        for i in range(j + 1, nsing):
            total = total + r[i * ldr + j] * wa[i]
        wa[j] = (wa[j] - total) / sdiag[j]
    for j in range(n):
        x[ipvt[j]] = wa[j]


cdef double lmpar(Py_ssize_t n, double *r, Py_ssize_t ldr, const int *ipvt,
                  const double *diag, const double *qtb, double delta, double par,
                  double *x, double *sdiag, double *wa1, double *wa2) noexcept nogil:
    """Levenberg-Marquardt parameter: returns par >= 0 with ||D x|| close to delta.

    x solves (J^T J + par D D) x = J^T f in the least-squares sense (Moré 1977, (5.2)),
    par = 0 when the Gauss-Newton step already satisfies ||D x|| <= 1.1 delta; otherwise
    par is found by the safeguarded Newton iteration on phi(par) = ||D x(par)|| - delta
    with bounds parl <= par <= paru (Moré 1977, algorithm 5.5), at most 10 iterations.
    r, ipvt, qtb as for qrsolv (r's strict lower triangle is overwritten);
    sdiag out: diagonal of S; wa1, wa2 scratch (n).
    """
    cdef Py_ssize_t i, j, k, l, nsing
    cdef int it = 0
    cdef double dwarf = DBL_MIN
    cdef double dxnorm, fp, parl, paru, parc, gnorm, temp, total

    # Gauss-Newton direction (least-squares solution if R is singular).
    nsing = n
    for j in range(n):
        wa1[j] = qtb[j]
        if r[j * ldr + j] == 0.0 and nsing == n:
            nsing = j
        if nsing < n:
            wa1[j] = 0.0
    for k in range(nsing):
        j = nsing - 1 - k
        wa1[j] = wa1[j] / r[j * ldr + j]
        temp = wa1[j]
        for i in range(j):
            wa1[i] = wa1[i] - r[i * ldr + j] * temp
    for j in range(n):
        x[ipvt[j]] = wa1[j]

    for j in range(n):
        wa2[j] = diag[j] * x[j]
    dxnorm = enorm(n, wa2, 1)
    fp = dxnorm - delta
    if fp <= LM_P1 * delta:
        return 0.0

    # Lower bound parl from the Newton step at par = 0 (zero if J is rank deficient).
    parl = 0.0
    if nsing >= n:
        for j in range(n):
            l = ipvt[j]
            wa1[j] = diag[l] * (wa2[l] / dxnorm)
        for j in range(n):
            total = 0.0
            for i in range(j):
                total = total + r[i * ldr + j] * wa1[i]
            wa1[j] = (wa1[j] - total) / r[j * ldr + j]
        temp = enorm(n, wa1, 1)
        parl = ((fp / delta) / temp) / temp

    # Upper bound paru = ||(J D^-1)^T f|| / delta.
    for j in range(n):
        total = 0.0
        for i in range(j + 1):
            total = total + r[i * ldr + j] * qtb[i]
        l = ipvt[j]
        wa1[j] = total / diag[l]
    gnorm = enorm(n, wa1, 1)
    paru = gnorm / delta
    if paru == 0.0:
        paru = dwarf / (delta if delta < LM_P1 else LM_P1)

    # par = min(max(par, parl), paru), max and min as fmax and fmin take them (a NaN
    # operand is ignored): a NaN par left by an earlier step that went through NaN (a
    # Gauss-Newton step that overflowed, say) restarts from the bounds.
    par = fmin(fmax(par, parl), paru)
    if par == 0.0:
        par = gnorm / dxnorm

    while True:
        it += 1
        if par == 0.0:
            par = fmax(dwarf, LM_P001 * paru)
        temp = sqrt(par)
        for j in range(n):
            wa1[j] = temp * diag[j]
        qrsolv(n, r, ldr, ipvt, wa1, qtb, x, sdiag, wa2)
        for j in range(n):
            wa2[j] = diag[j] * x[j]
        dxnorm = enorm(n, wa2, 1)
        temp = fp
        fp = dxnorm - delta
        if fabs(fp) <= LM_P1 * delta or (parl == 0.0 and fp <= temp and temp < 0.0) or it == 10:
            break

        # Newton correction parc = -phi / phi' (Moré 1977, (5.8)).
        for j in range(n):
            l = ipvt[j]
            wa1[j] = diag[l] * (wa2[l] / dxnorm)
        for j in range(n):
            wa1[j] = wa1[j] / sdiag[j]
            temp = wa1[j]
            for i in range(j + 1, n):
                wa1[i] = wa1[i] - r[i * ldr + j] * temp
        temp = enorm(n, wa1, 1)
        parc = ((fp / delta) / temp) / temp

        if fp > 0.0:
            parl = fmax(parl, par)
        if fp < 0.0:
            paru = fmin(paru, par)
        # max(parl, par + parc) as fmax takes it: a NaN correction (0/0 when the step
        # underflowed to zero) leaves par at its lower bound instead of poisoning it.
        par = fmax(parl, par + parc)
    return par


def invert_upper(double[::1, :] r not None):
    """Invert an upper-triangular matrix in place with LAPACK dtrtri.

    Parameters
    ----------
    r : ndarray, shape (n, n), Fortran order
        Upper-triangular matrix; overwritten by its inverse.

    Returns
    -------
    info : int
        0 on success, k > 0 when r[k-1, k-1] is exactly zero (r is singular).
    """
    cdef blas_int n = <blas_int>r.shape[0], lda, info = 0
    if r.shape[1] != n:
        raise ValueError(f"r must be square, got shape ({r.shape[0]}, {r.shape[1]})")
    if n == 0:
        return 0
    lda = n
    dtrtri(b"U", b"N", &n, &r[0, 0], &lda, &info, 1, 1)
    return info


def blas_threads():
    """The number of threads OpenBLAS uses."""
    return openblas_get_num_threads()


def set_blas_threads(int count):
    """Set the number of threads OpenBLAS uses."""
    openblas_set_num_threads(count)


def _test_enorm(double[::1] x not None):
    """enorm of a vector (test shim)."""
    return enorm(x.shape[0], &x[0] if x.shape[0] else NULL, 1)


def _test_qrfac(a):
    """qrfac of a copy of ``a`` (m, n); returns (a_out, ipvt, rdiag, acnorm) (test shim)."""
    cdef double[:, ::1] work = np.array(a, dtype=np.float64, order="C", copy=True)
    cdef Py_ssize_t m = work.shape[0], n = work.shape[1]
    ipvt = np.zeros(n, dtype=np.int32)
    vectors = np.zeros((4, n))
    cdef int[::1] ip = ipvt
    cdef double[:, ::1] v = vectors
    if m and n:
        qrfac(m, n, &work[0, 0], n, &ip[0], &v[0, 0], &v[1, 0], &v[2, 0])
    return np.asarray(work), ipvt, vectors[0].copy(), vectors[1].copy()


def _test_lmpar(r, ipvt, diag, qtb, double delta, double par):
    """lmpar on copies of its inputs; returns (par, x, sdiag) (test shim)."""
    cdef double[:, ::1] rr = np.array(r, dtype=np.float64, order="C", copy=True)
    cdef Py_ssize_t n = rr.shape[0]
    cdef int[::1] ip = np.array(ipvt, dtype=np.int32, copy=True)
    cdef double[::1] d = np.array(diag, dtype=np.float64, copy=True)
    cdef double[::1] q = np.array(qtb, dtype=np.float64, copy=True)
    out = np.zeros((4, n))
    cdef double[:, ::1] o = out
    par = lmpar(n, &rr[0, 0], n, &ip[0], &d[0], &q[0], delta, par,
                &o[0, 0], &o[1, 0], &o[2, 0], &o[3, 0])
    return par, out[0].copy(), out[1].copy()
