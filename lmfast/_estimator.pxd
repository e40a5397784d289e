# The estimators: what the engine's residual vector is, how a Jacobian row is scaled to
# match it, and how the covariance at the solution weights each row.  One row of this
# table per estimator; lmfast/_estimator.py is its NumPy twin (same formulas, same
# order of operations) for the Python-model paths.
#
# Each residual starts from a "base" value b_i, formed by the driver from one model
# evaluation: the weighted (or whitened) residual e_i for least squares and the robust
# losses, the model value f_i for Poisson.  The table turns it into the engine's
# residual r_i (sum r_i^2 is the objective the fit minimises) and dr_i/db_i (the slope
# that scales row i of db/dp into the engine's Jacobian).
#
#   least squares   r = e                                   slope 1
#   Poisson         r = sign(f - y) sqrt(2 (f - y - y ln(f/y)))   (lmfast/_deviance.pxd)
#   robust rho      r = sign(e) C sqrt(rho(z)),  z = (e / C)^2,  C = f_scale
#
# so that sum r^2 = C^2 sum rho(z) = 2 cost, the cost SciPy's least_squares minimises
# with loss=rho (Triggs et al. 2000, "Bundle Adjustment: A Modern Synthesis": a robust
# cost written as a sum of squares by taking square roots of its terms).  Then
# dr/de = rho'(z) sqrt(z / rho(z)), which tends to rho'(0) = 1 at e = 0, and
# J^T r = sum rho'(z) e de/dp: the gradient of the cost, so the stationary points are
# the robust cost's.  SciPy's definitions of rho (z >= 0):
#   soft_l1  2 (sqrt(1 + z) - 1)        huber   z (z <= 1), 2 sqrt(z) - 1
#   cauchy   ln(1 + z)                  arctan  arctan(z)
#
# The covariance at the solution, as SciPy's curve_fit forms it from the Jacobian
# least_squares returns, weights row i by c_i: 1 for least squares, 1/sqrt(f) for
# Poisson (the Fisher information J^T diag(1/f) J), and
# sqrt(max(rho'(z) + 2 z rho''(z), eps)) for a robust loss (Triggs et al.: the
# Gauss-Newton approximation of the robust cost's Hessian).

from libc.math cimport atan, copysign, fabs, log1p, sqrt
from libc.string cimport memcmp, memcpy

from lmfast._constants cimport DBL_EPSILON
from lmfast._deviance cimport deviance_residual, deviance_slope

cdef enum EstimatorKind:
    ESTIMATOR_LEAST_SQUARES = 0
    ESTIMATOR_POISSON = 1
    ESTIMATOR_SOFT_L1 = 2
    ESTIMATOR_HUBER = 3
    ESTIMATOR_CAUCHY = 4
    ESTIMATOR_ARCTAN = 5

ctypedef struct Estimator:
    int kind             # an EstimatorKind
    double f_scale       # C of the robust losses (1 otherwise)


cdef inline bint is_robust(const Estimator *e) noexcept nogil:
    return e.kind >= ESTIMATOR_SOFT_L1


cdef inline void _rho(int kind, double z, double *rho, double *d1, double *d2) noexcept nogil:
    """rho(z), rho'(z), rho''(z) of a robust loss, z >= 0 (rho in forms that keep their
    digits for small z)."""
    cdef double s, t
    if kind == ESTIMATOR_SOFT_L1:
        s = sqrt(1.0 + z)
        rho[0] = 2.0 * z / (s + 1.0)         # 2 (sqrt(1 + z) - 1), without cancellation
        d1[0] = 1.0 / s
        d2[0] = -0.5 / (s * (1.0 + z))
    elif kind == ESTIMATOR_HUBER:
        if z <= 1.0:
            rho[0] = z
            d1[0] = 1.0
            d2[0] = 0.0
        else:
            s = sqrt(z)
            rho[0] = 2.0 * s - 1.0
            d1[0] = 1.0 / s
            d2[0] = -0.5 / (s * z)
    elif kind == ESTIMATOR_CAUCHY:
        rho[0] = log1p(z)
        d1[0] = 1.0 / (1.0 + z)
        d2[0] = -d1[0] * d1[0]
    else:  # ESTIMATOR_ARCTAN
        t = 1.0 + z * z
        rho[0] = atan(z)
        d1[0] = 1.0 / t
        d2[0] = -2.0 * z / (t * t)


cdef inline double _robust_residual(const Estimator *e, double b, double *slope) noexcept nogil:
    cdef double c = e.f_scale, z, rho, d1, d2
    if e.kind == ESTIMATOR_HUBER and fabs(b) <= c:
        slope[0] = 1.0   # rho(z) = z: r = e exactly
        return b
    z = (b / c) * (b / c)
    if z == 0.0:
        slope[0] = 1.0
        return b
    _rho(e.kind, z, &rho, &d1, &d2)
    slope[0] = d1 * sqrt(z / rho)
    return copysign(c * sqrt(rho), b)


cdef inline double estimator_residual(const Estimator *e, double b, double y,
                                      double *slope) noexcept nogil:
    """The engine's residual from base value b (observation y); *slope = dr/db."""
    cdef double r
    if e.kind == ESTIMATOR_LEAST_SQUARES:
        slope[0] = 1.0
        return b
    if e.kind == ESTIMATOR_POISSON:
        r = deviance_residual(b, y)
        slope[0] = deviance_slope(b, y, r)
        return r
    return _robust_residual(e, b, slope)


cdef inline void estimator_residuals(const Estimator *e, Py_ssize_t m, const double *b,
                                     const double *y, double *r,
                                     double *slope) noexcept nogil:
    """estimator_residual over m base values (the kind chosen once, not per point)."""
    cdef Py_ssize_t i
    if e.kind == ESTIMATOR_LEAST_SQUARES:
        for i in range(m):
            r[i] = b[i]
            slope[i] = 1.0
    elif e.kind == ESTIMATOR_POISSON:
        for i in range(m):
            r[i] = deviance_residual(b[i], y[i])
            slope[i] = deviance_slope(b[i], y[i], r[i])
    else:
        for i in range(m):
            r[i] = _robust_residual(e, b[i], &slope[i])


cdef inline double covariance_row(const Estimator *e, double b) noexcept nogil:
    """c_i: the weight of row i of db/dp in the covariance at the solution."""
    cdef double c = e.f_scale, z, rho, d1, d2, s
    if e.kind == ESTIMATOR_LEAST_SQUARES:
        return 1.0
    if e.kind == ESTIMATOR_POISSON:
        return 1.0 / sqrt(b)
    z = (b / c) * (b / c)
    _rho(e.kind, z, &rho, &d1, &d2)
    s = d1 + 2.0 * z * d2
    return sqrt(s if s > DBL_EPSILON else DBL_EPSILON)


# --- The base-value cache of one fit ---------------------------------------------------
# Beyond least squares a Jacobian needs the slopes dr/db at its point, and forward
# differences need b there too.  The engine asks for a Jacobian at x, and x is the point
# of its last evaluation or, after a rejected step, of the evaluation that made it x
# (MINPACK changes x only to an accepted trial point).  So two slots suffice: each
# evaluation is stored in the slot not holding x, and at a Jacobian request the slot
# holding the engine's x is found by its u.  Layout: [current slot (1 double) | slot 0
# | slot 1], a slot being base (m) | slope (m) | u (nf).

cdef inline Py_ssize_t cache_doubles(Py_ssize_t m, Py_ssize_t nf) noexcept nogil:
    return 1 + 2 * (2 * m + nf)


cdef inline double *_slot(double *cache, Py_ssize_t m, Py_ssize_t nf, int k) noexcept nogil:
    return cache + 1 + k * (2 * m + nf)


cdef inline void cache_reset(double *cache) noexcept nogil:
    cache[0] = 0.0


cdef inline double *cache_next(double *cache, Py_ssize_t m, Py_ssize_t nf) noexcept nogil:
    """Where the next evaluation's base values go (m doubles; then cache_fill)."""
    return _slot(cache, m, nf, 1 - <int>cache[0])


cdef inline void cache_fill(double *cache, Py_ssize_t m, Py_ssize_t nf,
                            const Estimator *e, const double *u, const double *y,
                            double *r) noexcept nogil:
    """The engine's residuals r from the base values just written at cache_next, whose
    point is u; the slopes and u are kept.  y: the observations (Poisson; else unread)."""
    cdef double *slot = cache_next(cache, m, nf)
    estimator_residuals(e, m, slot, y, r, slot + m)
    if nf:
        memcpy(slot + 2 * m, u, nf * sizeof(double))


cdef inline double *cache_at(double *cache, Py_ssize_t m, Py_ssize_t nf,
                             const double *u) noexcept nogil:
    """The slot evaluated at u (base values, then the slopes at + m), or NULL."""
    cdef int k = <int>cache[0]
    cdef double *other = _slot(cache, m, nf, 1 - k)
    if nf == 0 or memcmp(other + 2 * m, u, nf * sizeof(double)) == 0:
        cache[0] = 1 - k
        return other
    if memcmp(_slot(cache, m, nf, k) + 2 * m, u, nf * sizeof(double)) == 0:
        return _slot(cache, m, nf, k)
    return NULL


cdef inline void scale_rows(Py_ssize_t m, Py_ssize_t n, const double *slope,
                            double *jac) noexcept nogil:
    """jac := diag(slope) jac (m-by-n, row-major): the chain rule dr/dp = dr/db db/dp."""
    cdef Py_ssize_t i, j
    cdef double s
    for i in range(m):
        s = slope[i]
        for j in range(n):
            jac[i * n + j] = s * jac[i * n + j]


cdef inline void scaled_difference(Py_ssize_t m, const double *fvec, const double *slot,
                                   double *column) noexcept nogil:
    """column (b at a stepped point) := fvec + slope (b_h - b): what the engine's
    forward-difference column of the residuals is formed from."""
    cdef Py_ssize_t i
    for i in range(m):
        column[i] = fvec[i] + slot[m + i] * (column[i] - slot[i])
