"""Affine parameter maps: a compiled model seen through ``p_full = A p_free + b``.

A tied model's ``ctx`` points at a table holding the inner model's functions and the
map: ``b`` (the n_full values the map adds: fixed parameters, the constants of ties) and
the nonzero entries of ``A`` (n_full by n_free) as (row j, column a, coefficient).  The
tied model's value is the inner value at ``A p + b``; its Jacobian is the inner Jacobian
times ``A``, formed from the nonzero entries only (most rows of ``A`` hold a single 1).
Each call allocates its scratch (plain malloc, no GIL); if that fails the output is NaN,
which a fit reports as a non-finite outcome.  This is how ``lmfast.lmfit`` puts lmfit's
``expr`` ties inside the fit: the engine iterates on the free parameters only.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport NAN
from libc.stdlib cimport free, malloc

from lmfast._models cimport CompiledModel, model_eval_t, model_fj_t

cnp.import_array()


ctypedef struct AffineTable:
    model_eval_t f
    model_eval_t jac       # NULL: the inner model has no analytic Jacobian
    model_fj_t fj          # NULL: value and Jacobian apart
    void *ctx
    Py_ssize_t n_full      # the inner model's parameters
    Py_ssize_t nnz         # nonzero entries of A
    const double *b        # n_full
    const Py_ssize_t *rows     # nnz: j of each entry
    const Py_ssize_t *cols     # nnz: a of each entry
    const double *coefs        # nnz: A[j, a]


cdef inline void _fill_nan(double *out, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(size):
        out[i] = NAN


cdef inline void _full(const AffineTable *t, const double *p, double *full) noexcept nogil:
    """full = A p + b."""
    cdef Py_ssize_t j, k
    for j in range(t.n_full):
        full[j] = t.b[j]
    for k in range(t.nnz):
        full[t.rows[k]] += t.coefs[k] * p[t.cols[k]]


cdef inline void _contract(const AffineTable *t, Py_ssize_t m, Py_ssize_t n,
                           const double *jfull, double *out) noexcept nogil:
    """out (m by n, row-major) = jfull (m by n_full) A."""
    cdef Py_ssize_t i, a, k, nf = t.n_full
    cdef const double *row
    cdef double *o
    for i in range(m):
        row = jfull + i * nf
        o = out + i * n
        for a in range(n):
            o[a] = 0.0
        for k in range(t.nnz):
            o[t.cols[k]] += row[t.rows[k]] * t.coefs[k]


cdef void affine_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                   Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """out = inner(x, A p + b)."""
    cdef const AffineTable *t = <const AffineTable *>ctx
    cdef double *full
    if m <= 0:
        return
    full = <double *>malloc(t.n_full * sizeof(double))
    if full == NULL:
        _fill_nan(out, m)
        return
    _full(t, p, full)
    t.f(full, t.n_full, x, xstride, m, out, t.ctx)
    free(full)


cdef void affine_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """out = inner_jac(x, A p + b) A."""
    cdef const AffineTable *t = <const AffineTable *>ctx
    cdef double *full
    if m <= 0:
        return
    full = <double *>malloc((t.n_full + m * t.n_full) * sizeof(double))
    if full == NULL:
        _fill_nan(out, m * n)
        return
    _full(t, p, full)
    t.jac(full, t.n_full, x, xstride, m, full + t.n_full, t.ctx)
    _contract(t, m, n, full + t.n_full, out)
    free(full)


cdef void affine_fj(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                    Py_ssize_t m, double *out, double *jac, void *ctx) noexcept nogil:
    """affine_f and affine_jac from one joint evaluation of the inner model (its fj)."""
    cdef const AffineTable *t = <const AffineTable *>ctx
    cdef double *full
    if m <= 0:
        return
    full = <double *>malloc((t.n_full + m * t.n_full) * sizeof(double))
    if full == NULL:
        _fill_nan(out, m)
        _fill_nan(jac, m * n)
        return
    _full(t, p, full)
    t.fj(full, t.n_full, x, xstride, m, out, full + t.n_full, t.ctx)
    _contract(t, m, n, full + t.n_full, jac)
    free(full)


cdef class AffineMap:
    """The table a tied model's ``ctx`` points at (kept alive by its owner).

    Parameters
    ----------
    inner : CompiledModel
        The model of the n_full parameters.
    matrix : array_like, shape (n_full, n_free)
        A of ``p_full = A p_free + b``.
    offset : array_like, shape (n_full,)
        b.
    """
    cdef AffineTable table
    cdef object arrays      # the arrays behind the table's pointers
    cdef object inner       # the inner CompiledModel (its ctx stays valid)
    cdef readonly Py_ssize_t n_full
    cdef readonly Py_ssize_t n_free
    cdef readonly bint has_jacobian
    cdef readonly bint has_joint

    def __init__(self, CompiledModel inner not None, matrix, offset):
        matrix = np.asarray(matrix, dtype=np.float64)
        b = np.ascontiguousarray(offset, dtype=np.float64)
        if matrix.ndim != 2 or b.shape != (matrix.shape[0],):
            raise ValueError(f"an affine map needs A (n_full, n_free) and b (n_full,), got "
                             f"{matrix.shape} and {b.shape}")
        rows, cols = np.nonzero(matrix)
        rows = np.ascontiguousarray(rows, dtype=np.intp)
        cols = np.ascontiguousarray(cols, dtype=np.intp)
        coefs = np.ascontiguousarray(matrix[rows, cols], dtype=np.float64)
        # Non-empty arrays, so that every pointer below is valid.
        self.arrays = tuple(np.append(a, np.zeros(1, dtype=a.dtype))
                            for a in (b, rows, cols, coefs))
        self.inner = inner
        self.n_full, self.n_free = matrix.shape
        self.table.f = inner.funcs.f
        self.table.jac = inner.funcs.jac
        self.table.fj = inner.funcs.fj
        self.table.ctx = inner.funcs.ctx
        self.table.n_full = self.n_full
        self.table.nnz = rows.shape[0]
        self.table.b = <const double *>cnp.PyArray_DATA(self.arrays[0])
        self.table.rows = <const Py_ssize_t *>cnp.PyArray_DATA(self.arrays[1])
        self.table.cols = <const Py_ssize_t *>cnp.PyArray_DATA(self.arrays[2])
        self.table.coefs = <const double *>cnp.PyArray_DATA(self.arrays[3])
        self.has_jacobian = inner.funcs.jac != NULL
        self.has_joint = inner.funcs.fj != NULL

    @property
    def address(self):
        """The address of the table, the tied model's ctx."""
        return <size_t>&self.table


def functions():
    """(value, Jacobian, joint) addresses of the affine kernels."""
    return <size_t>affine_f, <size_t>affine_jac, <size_t>affine_fj
