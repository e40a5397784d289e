"""Bounds and fixed parameters: the change of variables of ``_transform.pxd``.

The transforms follow their published description (F. James, MINUIT reference manual,
"parameter limits"; lmfit's documentation, "Bounds Implementation"), written exactly as
lmfit documents them so that a bounded fit takes lmfit's steps.  Two refinements keep
the arithmetic meaningful where those formulas lose every digit of p:

* Two bounds more than ``WIDE`` times max(|p0|, 1) away (say +-1e8 around a parameter of
  order 1): ``lo + (sin u + 1) (hi - lo) / 2`` resolves p only to eps * |bound|.  Then p
  is formed from whichever of lo, the middle, hi is smallest in magnitude:
  ``mid + (w/2) sin u``, or ``lo + w sin^2(v/2)`` (``hi - w sin^2(v/2)``) iterating
  v = u + pi/2 (pi/2 - u) itself, which keeps its digits where u, next to -pi/2, would
  not.  One far bound alone, or two whose nearest anchor is far, cannot be written so:
  ``lmfast._validate.bounds_resolvable`` refuses them.  One far bound alone cannot be written so:
  the validator refuses it (``lmfast._validate``).
* Forward differences are taken in u.  Between two bounds narrower than 1e-4 of their
  magnitude, where u's step would move p by less than 1e-6 of the step MINPACK takes in
  p itself (or u = 0 at the middle), and between wide bounds, ``fd_step`` takes u's
  step that moves p by MINPACK's step instead.

``_test_*`` functions expose the transforms to the test suite.
"""
import numpy as np

from libc.math cimport asin, cos, fabs, fmax, fmin, isinf, sin, sqrt

# Kinds of parameter.
cdef enum:
    FREE = 0          # no bound: p = u
    LOWER = 1         # lower bound only
    UPPER = 2         # upper bound only
    BOTH = 3          # both, lmfit's formula
    BOTH_MID = 4      # both, wide, anchored at the middle: p = mid + (w/2) sin u
    BOTH_LOW = 5      # both, wide, anchored at lo: p = lo + w sin^2(v/2)
    BOTH_HIGH = 6     # both, wide, anchored at hi: p = hi - w sin^2(v/2)

#: Bounds farther than this times max(|p0|, 1) are "wide" (see the module docstring).
WIDE_BOUNDS = 1e6
cdef double WIDE = WIDE_BOUNDS

# A p0 exactly on a bound starts a little inside it: there dp/du = 0 and the parameter
# could never leave the bound.  Between two bounds 1% of their distance inside (u = 0.2
# from +-pi/2: nearer, fits from such starts were seen to stop short); against one bound
# 0.01 inside, where the square-root transform is flat on a unit scale
# (p - bound = sqrt(u^2 + 1) - 1, so u = 0.14).
cdef double TWO_SIDED_STEP = 1e-2
cdef double ONE_SIDED_STEP = 1e-2
# fd_step: between two bounds this much narrower than their magnitude, a step in u that
# moves p by less than FD_RESOLUTION of MINPACK's step in p is enlarged (at most to
# FD_MAX_STEP in u).
cdef double NARROW = 1e-4
# Between two bounds with lmfit's formula (kind BOTH), a start whose u lies within this
# of 0 starts at u = 0, as lmfit's setup_bounds does: a p0 in the middle of its bounds
# maps to a u of a few 1e-16 by rounding, and MINPACK's difference step eps |u| would
# then move p by nothing, leaving the parameter where it started.  (Not for the other
# kinds: there a u that small is a genuine position, or the bound itself.)
cdef double TINY_INTERNAL = 1e-15
cdef double FD_RESOLUTION = 1e-6
cdef double FD_MAX_STEP = 0.5


cdef inline int _kind(const ParamMap *pm, Py_ssize_t j) noexcept nogil:
    cdef double lo, hi, scale, mid
    if pm.lower == NULL:
        return FREE
    lo = pm.lower[j]
    hi = pm.upper[j]
    if isinf(lo):
        return FREE if isinf(hi) else UPPER
    if isinf(hi):
        return LOWER
    scale = WIDE * fmax(fabs(pm.values[j]), 1.0)
    if fmax(fabs(lo), fabs(hi)) <= scale:
        return BOTH
    mid = 0.5 * lo + 0.5 * hi
    if fabs(mid) <= fabs(lo) and fabs(mid) <= fabs(hi):
        return BOTH_MID
    return BOTH_LOW if fabs(lo) <= fabs(hi) else BOTH_HIGH


cdef inline int _kind_of(const ParamMap *pm, Py_ssize_t a, Py_ssize_t j) noexcept nogil:
    """The kind of internal variable a (external parameter j), resolved or not."""
    return pm.kinds[a] if pm.kinds != NULL else _kind(pm, j)


cdef void resolve_kinds(const ParamMap *pm, signed char *kinds) noexcept nogil:
    cdef Py_ssize_t a
    for a in range(pm.n_free):
        kinds[a] = <signed char>_kind(pm, pm.free[a])


cdef inline double _inside(double v, double lo, double hi, int kind) noexcept nogil:
    """v moved strictly inside its bounds when it lies on one (the middle of bounds
    too narrow for the step)."""
    cdef double w = v
    if kind >= BOTH:
        if v == lo:
            w = lo + TWO_SIDED_STEP * (hi - lo)
        elif v == hi:
            w = hi - TWO_SIDED_STEP * (hi - lo)
        if not (lo < w < hi):
            w = 0.5 * lo + 0.5 * hi
    elif kind == LOWER and v == lo:
        w = lo + ONE_SIDED_STEP
    elif kind == UPPER and v == hi:
        w = hi - ONE_SIDED_STEP
    return w


cdef int to_internal(const ParamMap *pm, const double *p, double *u) noexcept nogil:
    cdef Py_ssize_t a, j
    cdef int kind
    cdef double lo, hi, v, w
    for a in range(pm.n_free):
        j = pm.free[a]
        v = p[j]
        kind = _kind_of(pm, a, j)
        if kind == FREE:
            u[a] = v
            continue
        lo = pm.lower[j]
        hi = pm.upper[j]
        if not ((kind == UPPER or v >= lo) and (kind == LOWER or v <= hi)):
            return -1  # outside, or NaN
        v = _inside(v, lo, hi, kind)
        w = hi - lo
        if kind == BOTH:
            u[a] = asin(2.0 * (v - lo) / (hi - lo) - 1.0)
            if fabs(u[a]) < TINY_INTERNAL:
                u[a] = 0.0
        elif kind == LOWER:
            u[a] = sqrt((v - lo + 1.0) * (v - lo + 1.0) - 1.0)
        elif kind == UPPER:
            u[a] = sqrt((hi - v + 1.0) * (hi - v + 1.0) - 1.0)
        elif kind == BOTH_MID:
            u[a] = asin((v - (0.5 * lo + 0.5 * hi)) / (0.5 * w))
        elif kind == BOTH_LOW:
            u[a] = 2.0 * asin(sqrt((v - lo) / w))
        else:
            u[a] = 2.0 * asin(sqrt((hi - v) / w))
    return 0


cdef void to_external(const ParamMap *pm, const double *u, double *p) noexcept nogil:
    cdef Py_ssize_t a, j
    cdef int kind
    cdef double lo, hi, s
    for j in range(pm.n):
        p[j] = pm.values[j]
    for a in range(pm.n_free):
        j = pm.free[a]
        kind = _kind_of(pm, a, j)
        if kind == FREE:
            p[j] = u[a]
            continue
        lo = pm.lower[j]
        hi = pm.upper[j]
        if kind == BOTH:
            p[j] = lo + (sin(u[a]) + 1.0) * (hi - lo) / 2.0
        elif kind == LOWER:
            p[j] = lo - 1.0 + sqrt(u[a] * u[a] + 1.0)
        elif kind == UPPER:
            p[j] = hi + 1.0 - sqrt(u[a] * u[a] + 1.0)
        elif kind == BOTH_MID:
            p[j] = (0.5 * lo + 0.5 * hi) + (0.5 * (hi - lo)) * sin(u[a])
        elif kind == BOTH_LOW:
            s = sin(0.5 * u[a])
            p[j] = lo + (hi - lo) * (s * s)
        else:
            s = sin(0.5 * u[a])
            p[j] = hi - (hi - lo) * (s * s)


cdef void gradient(const ParamMap *pm, const double *u, double *grad) noexcept nogil:
    cdef Py_ssize_t a, j
    cdef int kind
    for a in range(pm.n_free):
        j = pm.free[a]
        kind = _kind_of(pm, a, j)
        if kind == FREE:
            grad[a] = 1.0
        elif kind == BOTH:
            grad[a] = cos(u[a]) * (pm.upper[j] - pm.lower[j]) / 2.0
        elif kind == LOWER:
            grad[a] = u[a] / sqrt(u[a] * u[a] + 1.0)
        elif kind == UPPER:
            grad[a] = -u[a] / sqrt(u[a] * u[a] + 1.0)
        elif kind == BOTH_MID:
            grad[a] = (0.5 * (pm.upper[j] - pm.lower[j])) * cos(u[a])
        elif kind == BOTH_LOW:
            grad[a] = (0.5 * (pm.upper[j] - pm.lower[j])) * sin(u[a])  # d(w sin^2(v/2))/dv
        else:
            grad[a] = -(0.5 * (pm.upper[j] - pm.lower[j])) * sin(u[a])


cdef double fd_step(const ParamMap *pm, Py_ssize_t a, double h, const double *p,
                    const double *grad, double epsfcn) noexcept nogil:
    cdef Py_ssize_t j = pm.free[a]
    cdef int kind = _kind_of(pm, a, j)
    cdef double eps, hp, g = fabs(grad[a])
    if kind < BOTH or g == 0.0:
        return h
    if (kind == BOTH and pm.upper[j] - pm.lower[j]
            >= NARROW * fmax(fabs(pm.lower[j]), fabs(pm.upper[j]))):
        return h  # lmfit's case: MINPACK's step in u, as lmfit takes it
    eps = sqrt(fmax(epsfcn, 2.220446049250313e-16))
    hp = eps * fabs(p[j])
    if hp == 0.0:
        hp = eps
    if kind == BOTH and g * h >= FD_RESOLUTION * hp:
        return h
    # Narrow bounds, or wide ones (whose u is scaled by the bounds, not by p): the step
    # in u that moves p by MINPACK's step in p.
    return fmin(hp / g, FD_MAX_STEP)


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
    pm.kinds = NULL
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
