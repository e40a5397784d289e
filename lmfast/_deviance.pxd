# The Poisson deviance residual and its slope: the Poisson row of the estimator table
# (lmfast/_estimator.pxd), used by every driver.
#
# For counts y and a model value f > 0 the deviance of one point is
#   d = 2 (f - y - y ln(f / y))   (y ln(y / f) read as 0 where y = 0: d = 2 f),
# and the residual r = sign(f - y) sqrt(d), so that sum r^2 is the deviance and the LM
# engine, minimising it, finds the Poisson maximum-likelihood estimate.  With
# t = (f - y) / y, d = 2 y (t - log1p(t)): its series is used for small |t|, where the
# difference would cancel.  f <= 0 (or NaN) gives r = inf: a rejected trial step.

from libc.math cimport INFINITY, copysign, fabs, log1p, sqrt

cdef inline double _phi(double t) noexcept nogil:
    """t - log1p(t); below |t| = 0.01 by its series sum_{k=2..10} (-1)^k t^k / k
    (|t|^11/11 < 1e-23), by Horner's rule."""
    cdef double acc
    if fabs(t) >= 0.01:
        return t - log1p(t)
    acc = 0.1
    acc = acc * t - 1.0 / 9.0
    acc = acc * t + 0.125
    acc = acc * t - 1.0 / 7.0
    acc = acc * t + 1.0 / 6.0
    acc = acc * t - 0.2
    acc = acc * t + 0.25
    acc = acc * t - 1.0 / 3.0
    acc = acc * t + 0.5
    return acc * t * t


cdef inline double deviance_residual(double f, double y) noexcept nogil:
    """sign(f - y) sqrt(2 (f - y - y ln(f/y))); inf where f <= 0 or f is NaN."""
    cdef double t
    if not f > 0.0:
        return INFINITY
    if y == 0.0:
        return sqrt(2.0 * f)
    t = (f - y) / y
    return copysign(sqrt(2.0 * y * _phi(t)), t)


cdef inline double deviance_slope(double f, double y, double r) noexcept nogil:
    """dr/df at f (r = deviance_residual(f, y)): (1 - y/f) / r, and its limit 1/sqrt(y)
    at f = y."""
    if y == 0.0:
        return 1.0 / r
    if r == 0.0:
        return 1.0 / sqrt(y)
    return (f - y) / (f * r)
