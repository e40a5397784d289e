"""Bounds and fixed parameters: the change of variables of ``_transform.pxd``.

The transforms follow their published description (F. James, MINUIT reference manual,
"parameter limits"; lmfit's documentation, "Bounds Implementation").  ``_test_*``
functions expose them to the test suite.
"""
import numpy as np

from libc.math cimport asin, cos, fabs, fmax, isinf, sin, sqrt


cdef inline int _kind(const ParamMap *pm, Py_ssize_t j) noexcept nogil:
    """0: unbounded, 1: lower only, 2: upper only, 3: both."""
    if pm.lower == NULL:
        return 0
    return (0 if isinf(pm.lower[j]) else 1) | (0 if isinf(pm.upper[j]) else 2)


# A p0 exactly on a bound starts a little inside it: there dp/du = 0 and the parameter
# could never leave the bound.  Between two bounds, 1e-10 * max(1, |bound|) inside, as
# SciPy's trf makes its start strictly feasible.  Against one bound the square-root
# transform is flat on a unit scale (p - bound = sqrt(u^2 + 1) - 1), so the start moves
# 0.01 inside (u = 0.14), where forward differences and Gauss-Newton steps still work.
cdef double TWO_SIDED_STEP = 1e-10
cdef double ONE_SIDED_STEP = 1e-2


cdef inline double _inside(double v, double lo, double hi, int kind) noexcept nogil:
    """v moved strictly inside its bounds when it lies on one (the middle of bounds
    too narrow for the step)."""
    cdef double w = v
    if kind == 3:
        if v == lo:
            w = lo + TWO_SIDED_STEP * fmax(1.0, fabs(lo))
        elif v == hi:
            w = hi - TWO_SIDED_STEP * fmax(1.0, fabs(hi))
        if not (lo < w < hi):
            w = 0.5 * (lo + hi)
    elif kind == 1 and v == lo:
        w = lo + ONE_SIDED_STEP
    elif kind == 2 and v == hi:
        w = hi - ONE_SIDED_STEP
    return w


cdef int to_internal(const ParamMap *pm, const double *p, double *u) noexcept nogil:
    cdef Py_ssize_t a, j
    cdef int kind
    cdef double lo, hi, v
    for a in range(pm.n_free):
        j = pm.free[a]
        v = p[j]
        kind = _kind(pm, j)
        if kind == 0:
            u[a] = v
            continue
        lo = pm.lower[j]
        hi = pm.upper[j]
        if not ((kind & 1 == 0 or v >= lo) and (kind & 2 == 0 or v <= hi)):
            return -1  # outside, or NaN
        v = _inside(v, lo, hi, kind)
        if kind == 3:
            u[a] = asin(2.0 * (v - lo) / (hi - lo) - 1.0)
        elif kind == 1:
            u[a] = sqrt((v - lo + 1.0) * (v - lo + 1.0) - 1.0)
        else:
            u[a] = sqrt((hi - v + 1.0) * (hi - v + 1.0) - 1.0)
    return 0


cdef void to_external(const ParamMap *pm, const double *u, double *p) noexcept nogil:
    cdef Py_ssize_t a, j
    cdef int kind
    cdef double lo, hi
    for j in range(pm.n):
        p[j] = pm.values[j]
    for a in range(pm.n_free):
        j = pm.free[a]
        kind = _kind(pm, j)
        if kind == 0:
            p[j] = u[a]
        elif kind == 3:
            lo = pm.lower[j]
            hi = pm.upper[j]
            p[j] = lo + (sin(u[a]) + 1.0) * (hi - lo) / 2.0
        elif kind == 1:
            p[j] = pm.lower[j] - 1.0 + sqrt(u[a] * u[a] + 1.0)
        else:
            p[j] = pm.upper[j] + 1.0 - sqrt(u[a] * u[a] + 1.0)


cdef void gradient(const ParamMap *pm, const double *u, double *grad) noexcept nogil:
    cdef Py_ssize_t a, j
    cdef int kind
    for a in range(pm.n_free):
        j = pm.free[a]
        kind = _kind(pm, j)
        if kind == 0:
            grad[a] = 1.0
        elif kind == 3:
            grad[a] = cos(u[a]) * (pm.upper[j] - pm.lower[j]) / 2.0
        elif kind == 1:
            grad[a] = u[a] / sqrt(u[a] * u[a] + 1.0)
        else:
            grad[a] = -u[a] / sqrt(u[a] * u[a] + 1.0)


cdef void chain_jacobian(const ParamMap *pm, const double *grad, Py_ssize_t m,
                         const double *jac, Py_ssize_t row, Py_ssize_t col,
                         double *out) noexcept nogil:
    cdef Py_ssize_t i, a, nf = pm.n_free
    for i in range(m):
        for a in range(nf):
            out[i * nf + a] = jac[i * row + pm.free[a] * col] * grad[a]


cdef void map_covariance(const ParamMap *pm, const double *grad, const double *cov_u,
                         double *cov_p) noexcept nogil:
    cdef Py_ssize_t a, b, n = pm.n, nf = pm.n_free
    for a in range(n * n):
        cov_p[a] = 0.0
    for a in range(nf):
        for b in range(nf):
            cov_p[pm.free[a] * n + pm.free[b]] = cov_u[a * nf + b] * (grad[a] * grad[b])


cdef ParamMap _test_map(const double[::1] lower, const double[::1] upper,
                        const Py_ssize_t[::1] free, const double[::1] values):
    cdef ParamMap pm
    pm.n = values.shape[0]
    pm.n_free = free.shape[0]
    pm.free = &free[0] if pm.n_free else NULL
    pm.lower = &lower[0] if lower.shape[0] else NULL
    pm.upper = &upper[0] if upper.shape[0] else NULL
    pm.values = &values[0] if pm.n else NULL
    return pm


def _test_transform(lower, upper, free, values, p=None, u=None):
    """(u, p, grad): the internal variables of p (or the given u), their external
    values and the gradient dp/du (test shim).  Empty lower/upper: no bounds."""
    lower = np.ascontiguousarray(lower, dtype=np.float64)
    upper = np.ascontiguousarray(upper, dtype=np.float64)
    free = np.ascontiguousarray(free, dtype=np.intp)
    values = np.ascontiguousarray(values, dtype=np.float64)
    cdef ParamMap pm = _test_map(lower, upper, free, values)
    cdef double[::1] uv = np.zeros(max(pm.n_free, 1))
    cdef double[::1] pv = np.zeros(max(pm.n, 1))
    cdef double[::1] gv = np.zeros(max(pm.n_free, 1))
    cdef const double[::1] given
    if u is None:
        given = np.ascontiguousarray(p, dtype=np.float64)
        if to_internal(&pm, &given[0], &uv[0]) != 0:
            raise ValueError("p is outside the bounds")
    else:
        given = np.ascontiguousarray(u, dtype=np.float64)
        uv[:pm.n_free] = given
    to_external(&pm, &uv[0], &pv[0])
    gradient(&pm, &uv[0], &gv[0])
    return (np.asarray(uv)[:pm.n_free].copy(), np.asarray(pv)[:pm.n].copy(),
            np.asarray(gv)[:pm.n_free].copy())
