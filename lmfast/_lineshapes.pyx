"""Compiled lineshapes with lmfit's parameters and normalisations.

Every lineshape is a pair of plain C functions with the model signature of
``lmfast/_models.pxd`` (value, row-major Jacobian); the formulas are those documented for
``lmfit.lineshapes`` and are listed, with the parameter order, in ``lmfast/lineshapes.py``
(whose NumPy twins follow the same order of operations).  They enter the registry of
compiled models in ``_models.pyx`` as ``"lineshapes.<name>"``, through which Python,
the tests and the NumPy twins reach them.  The Voigt profile uses the vector Faddeeva
kernel of the fast-kernel tables (``faddeeva_re``, ``lmfast/src/simd_faddeeva.inc``), the
exponentially modified Gaussian the scalar Faddeeva function of ``lmfast/_faddeeva.pyx``.
"""
import numpy as np

cimport cython
from lmfast._simd cimport simd_kernels
from libc.math cimport NAN, atan, cos, erf, erfc, exp, log, log1p, pow, sin, tgamma

from lmfast._faddeeva cimport faddeeva, faddeeva_deriv
from lmfast._simd cimport LMSimdKernels, simd_kernels

cdef extern from "math.h" nogil:
    double lgamma_r(double x, int *sign)  # the reentrant lgamma (glibc, _GNU_SOURCE)

cdef double PI = 3.141592653589793
cdef double SQRT2 = 1.4142135623730951
cdef double SQRTPI = 1.7724538509055159
cdef double SQRT2PI = 2.5066282746310002       # sqrt(2 pi)
cdef double SQRT2LN2 = 1.1774100225154747      # sqrt(2 ln 2): lmfit's sigma / sigma_g
cdef double TWO_OVER_SQRTPI = 1.1283791670955126


# --------------------------------------------------------------------------------------
# Special functions of the lineshapes (w itself is in lmfast/_faddeeva.pyx and, for
# vectors of points, lmfast/src/simd_faddeeva.inc)
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef double _erfcx(double v) noexcept nogil:
    """exp(v^2) erfc(v) = w(i v), for v > 0."""
    cdef double re, im
    faddeeva(0.0, v, &re, &im)
    return re


@cython.cdivision(True)
cdef double _digamma(double v) noexcept nogil:
    """psi(v) for v > 0 (NaN otherwise): recurrence up to v >= 10, then the asymptotic
    series ln v - 1/(2v) - sum B_2k / (2k v^2k), k <= 6 (error < 1e-15)."""
    cdef double r = 0.0, f
    if not v > 0.0:
        return NAN
    while v < 10.0:
        r -= 1.0 / v
        v += 1.0
    f = 1.0 / (v * v)
    return r + log(v) - 0.5 / v - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (
        1.0 / 252.0 - f * (1.0 / 240.0 - f * (1.0 / 132.0 - f * (691.0 / 32760.0))))))


@cython.cdivision(True)
cdef double _inv_beta(double m) noexcept nogil:
    """1 / B(m - 1/2, 1/2) = Gamma(m) / (sqrt(pi) Gamma(m - 1/2))."""
    cdef int sign
    if m < 170.0:
        return tgamma(m) / (SQRTPI * tgamma(m - 0.5))
    return exp(lgamma_r(m, &sign) - lgamma_r(m - 0.5, &sign)) / SQRTPI


# --------------------------------------------------------------------------------------
# gaussian(amplitude, center, sigma) = amplitude / (sqrt(2 pi) sigma) exp(-d^2 / (2 sigma^2))
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef inline void _gaussian_exp(double c, double two_s2, const double *x, Py_ssize_t m,
                               double *e) noexcept nogil:
    """e_i = exp(-d^2 / (2 s^2)),  d = x_i - c: the exponents, then one vector exp."""
    cdef double d
    cdef Py_ssize_t i
    for i in range(m):
        d = x[i] - c
        e[i] = -(d * d) / two_s2
    simd_kernels().exp_array(e, e, m)


@cython.cdivision(True)
cdef inline void _gaussian_row(double a, double c, double s, double k, double s2, double xi,
                               double e, double *row) noexcept nogil:
    """df/da = g,  df/dc = f d / s^2,  df/ds = f (d^2 / s^2 - 1) / s;  g = k e, f = a g."""
    cdef double d = xi - c, g = k * e, f = a * g
    row[0] = g
    row[1] = f * d / s2
    row[2] = f * ((d * d) / s2 - 1.0) / s


@cython.cdivision(True)
cdef void gaussian_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef double a = p[0], c = p[1], s = p[2]
    cdef double norm = a / (SQRT2PI * s)
    cdef Py_ssize_t i
    _gaussian_exp(c, 2.0 * (s * s), x, m, out)
    for i in range(m):
        out[i] = norm * out[i]


@cython.cdivision(True)
cdef void gaussian_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """The rows of _gaussian_row, filled from the last one back over the exponentials in
    out[0:m] (row i, at out[i n:], overwrites only exponentials already used)."""
    cdef double a = p[0], c = p[1], s = p[2]
    cdef double k = 1.0 / (SQRT2PI * s), s2 = s * s
    cdef Py_ssize_t i
    _gaussian_exp(c, 2.0 * s2, x, m, out)
    for i in range(m - 1, -1, -1):
        _gaussian_row(a, c, s, k, s2, x[i], out[i], out + i * n)


@cython.cdivision(True)
cdef void gaussian_fj(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                      Py_ssize_t m, double *f, double *jac, void *ctx) noexcept nogil:
    """gaussian_f and gaussian_jac from one pass of exponentials."""
    cdef double a = p[0], c = p[1], s = p[2]
    cdef double k = 1.0 / (SQRT2PI * s), s2 = s * s, norm = a / (SQRT2PI * s), e
    cdef Py_ssize_t i
    _gaussian_exp(c, 2.0 * s2, x, m, f)
    for i in range(m):
        e = f[i]
        _gaussian_row(a, c, s, k, s2, x[i], e, jac + i * n)
        f[i] = norm * e


# --------------------------------------------------------------------------------------
# lorentzian(amplitude, center, sigma) = (amplitude / (1 + u^2)) / (pi sigma),  u = d / sigma
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef void lorentzian_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef double a = p[0], c = p[1], s = p[2], ps = PI * s, u
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / s
        out[i] = (a / (1.0 + u * u)) / ps


@cython.cdivision(True)
cdef void lorentzian_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                         Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """df/da = L / (pi s),  df/dc = 2 u L f / s,  df/ds = (2 u^2 L - 1) f / s;
    L = 1 / (1 + u^2)."""
    cdef double a = p[0], c = p[1], s = p[2], ps = PI * s, u, L, g, f
    cdef double *row
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / s
        L = 1.0 / (1.0 + u * u)
        g = L / ps
        f = a * g
        row = out + i * n
        row[0] = g
        row[1] = 2.0 * u * L * f / s
        row[2] = (2.0 * (u * u) * L - 1.0) * f / s


# --------------------------------------------------------------------------------------
# pseudo_voigt(amplitude, center, sigma, fraction)
#     = (1 - fraction) gaussian(amplitude, center, sigma_g) + fraction lorentzian(amplitude,
#       center, sigma),  sigma_g = sigma / sqrt(2 ln 2)
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef inline void _pseudo_voigt_row(double a, double c, double s, double fr, double xi,
                                   double G, double *row) noexcept nogil:
    """g, l: the unit-amplitude Gaussian (sigma_g) and Lorentzian (sigma), g = k G;
    df/da = (1-fr) g + fr l,  df/dc = a ((1-fr) g d / sg^2 + fr l 2 u L / s),
    df/ds = a ((1-fr) g (d^2 / sg^2 - 1) + fr l (2 u^2 L - 1)) / s,  df/dfr = a (l - g)."""
    cdef double sg = s / SQRT2LN2, k = 1.0 / (SQRT2PI * sg), sg2 = sg * sg
    cdef double ps = PI * s, cfr = 1.0 - fr, d = xi - c, u, L, g, l
    u = d / s
    L = 1.0 / (1.0 + u * u)
    g = k * G
    l = L / ps
    row[0] = cfr * g + fr * l
    row[1] = a * (cfr * g * d / sg2 + fr * l * 2.0 * u * L / s)
    row[2] = a * (cfr * g * ((d * d) / sg2 - 1.0) + fr * l * (2.0 * (u * u) * L - 1.0)) / s
    row[3] = a * (l - g)


@cython.cdivision(True)
cdef inline double _pseudo_voigt_value(double a, double c, double s, double fr, double xi,
                                       double G) noexcept nogil:
    cdef double sg = s / SQRT2LN2, gnorm = a / (SQRT2PI * sg), ps = PI * s
    cdef double d = xi - c, u = d / s
    return (1.0 - fr) * (gnorm * G) + fr * ((a / (1.0 + u * u)) / ps)


@cython.cdivision(True)
cdef void pseudo_voigt_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                         Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """G = exp(-d^2 / (2 sg^2)) for all points (one vector exp), then the values."""
    cdef double a = p[0], c = p[1], s = p[2], fr = p[3], sg = s / SQRT2LN2
    cdef Py_ssize_t i
    _gaussian_exp(c, 2.0 * (sg * sg), x, m, out)
    for i in range(m):
        out[i] = _pseudo_voigt_value(a, c, s, fr, x[i], out[i])


@cython.cdivision(True)
cdef void pseudo_voigt_jac(const double *p, Py_ssize_t n, const double *x,
                           Py_ssize_t xstride, Py_ssize_t m, double *out,
                           void *ctx) noexcept nogil:
    """The rows of _pseudo_voigt_row, from the last one back over the exponentials in
    out[0:m] (as gaussian_jac)."""
    cdef double a = p[0], c = p[1], s = p[2], fr = p[3], sg = s / SQRT2LN2
    cdef Py_ssize_t i
    _gaussian_exp(c, 2.0 * (sg * sg), x, m, out)
    for i in range(m - 1, -1, -1):
        _pseudo_voigt_row(a, c, s, fr, x[i], out[i], out + i * n)


@cython.cdivision(True)
cdef void pseudo_voigt_fj(const double *p, Py_ssize_t n, const double *x,
                          Py_ssize_t xstride, Py_ssize_t m, double *f, double *jac,
                          void *ctx) noexcept nogil:
    """pseudo_voigt_f and pseudo_voigt_jac from one pass of exponentials."""
    cdef double a = p[0], c = p[1], s = p[2], fr = p[3], sg = s / SQRT2LN2, G
    cdef Py_ssize_t i
    _gaussian_exp(c, 2.0 * (sg * sg), x, m, f)
    for i in range(m):
        G = f[i]
        _pseudo_voigt_row(a, c, s, fr, x[i], G, jac + i * n)
        f[i] = _pseudo_voigt_value(a, c, s, fr, x[i], G)


# --------------------------------------------------------------------------------------
# voigt(amplitude, center, sigma, gamma) = amplitude Re w(z) / (sigma sqrt(2 pi)),
#     z = (x - center + i gamma) / (sigma sqrt 2)
# --------------------------------------------------------------------------------------

cdef enum:
    VOIGT_CHUNK = 256      # points per call of the Faddeeva kernel in voigt_jac/voigt_fj


@cython.cdivision(True)
cdef void voigt_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                  Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """Re w from the vector kernel (faddeeva_re of lmfast/_simd.pxd, in place: zx is
    written to out, then replaced by Re w and scaled); zy < 0 (gamma and sigma of opposite
    signs) or NaN by the scalar w of lmfast/_faddeeva.pyx."""
    cdef double a = p[0], c = p[1], s = p[2], g = p[3]
    cdef double s2 = s * SQRT2, den = s * SQRT2PI, zy = g / s2, wr, wi
    cdef Py_ssize_t i
    if not zy >= 0.0:
        for i in range(m):
            faddeeva((x[i] - c) / s2, zy, &wr, &wi)
            out[i] = a * wr / den
        return
    for i in range(m):
        out[i] = (x[i] - c) / s2
    simd_kernels().faddeeva_re(m, out, zy, out, NULL, NULL, NULL)
    for i in range(m):
        out[i] = a * out[i] / den


@cython.cdivision(True)
cdef void _voigt_eval(const double *p, Py_ssize_t n, const double *x, Py_ssize_t m,
                      double *f, double *jac) noexcept nogil:
    """The value (f, unless NULL; the same bits as voigt_f) and the Jacobian (jac, unless
    NULL; row stride n) from one evaluation of w and w'.  With w = U + iV, w' = U' + iV' at
    z = zx + i zy, k = 1 / (s sqrt(2 pi)):  f = a k U,  df/da = k U,
    df/dc = -a k U' / (s sqrt 2),  df/dgamma = -a k V' / (s sqrt 2),
    df/ds = -a k G / s,  G = Re (z w)' = U + U' zx - V' zy  (dz/ds = -z/s), which the
    kernel gives without the cancellation of that sum at large |z| (sigma << gamma).
    The kernel's inputs and outputs (zx, U, U', V', G) go through a stack buffer
    VOIGT_CHUNK points at a time (jac's rows interleave what the kernel writes as
    arrays); each point's result does not depend on the chunking."""
    cdef double a = p[0], c = p[1], s = p[2], g = p[3]
    cdef double s2 = s * SQRT2, den = s * SQRT2PI, k = 1.0 / den, zy = g / s2
    cdef double ak = a * k, wi
    cdef double buf[5 * VOIGT_CHUNK]
    cdef double *zx = buf
    cdef double *wr = buf + VOIGT_CHUNK
    cdef double *dr = buf + 2 * VOIGT_CHUNK
    cdef double *di = buf + 3 * VOIGT_CHUNK
    cdef double *gr = buf + 4 * VOIGT_CHUNK
    cdef double *row
    cdef const LMSimdKernels *kernels = simd_kernels()
    cdef Py_ssize_t i0 = 0, i, cnt
    while i0 < m:
        cnt = min(<Py_ssize_t>VOIGT_CHUNK, m - i0)
        for i in range(cnt):
            zx[i] = (x[i0 + i] - c) / s2
        if zy >= 0.0:
            kernels.faddeeva_re(cnt, zx, zy, wr, dr, di, gr)
        else:
            for i in range(cnt):
                faddeeva_deriv(zx[i], zy, &wr[i], &wi, &dr[i], &di[i])
                gr[i] = wr[i] + dr[i] * zx[i] - di[i] * zy
        if f != NULL:
            for i in range(cnt):
                f[i0 + i] = a * wr[i] / den
        if jac != NULL:
            for i in range(cnt):
                row = jac + (i0 + i) * n
                row[0] = k * wr[i]
                row[1] = -(ak * dr[i] / s2)
                row[2] = -(ak * gr[i] / s)
                row[3] = -(ak * di[i] / s2)
        i0 += cnt


cdef void voigt_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                    Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    _voigt_eval(p, n, x, m, NULL, out)


cdef void voigt_fj(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                   Py_ssize_t m, double *f, double *jac, void *ctx) noexcept nogil:
    _voigt_eval(p, n, x, m, f, jac)


# --------------------------------------------------------------------------------------
# pearson7(amplitude, center, sigma, expon)
#     = amplitude (1 + u^2)^(-expon) / (sigma B(expon - 1/2, 1/2)),  u = d / sigma
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef void pearson7_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef double a = p[0], c = p[1], s = p[2], e = p[3]
    cdef double scale = a * _inv_beta(e), u
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / s
        out[i] = scale * pow(1.0 + u * u, -e) / s


@cython.cdivision(True)
cdef void pearson7_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """df/da = f / a,  df/dc = 2 e u f / (s q),  df/ds = (2 e u^2 / q - 1) f / s,
    df/de = f (psi(e) - psi(e - 1/2) - log1p(u^2));  q = 1 + u^2."""
    cdef double a = p[0], c = p[1], s = p[2], e = p[3]
    cdef double ib = _inv_beta(e), dpsi = _digamma(e) - _digamma(e - 0.5), u, q, g, f
    cdef double *row
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / s
        q = 1.0 + u * u
        g = ib * pow(q, -e) / s
        f = a * g
        row = out + i * n
        row[0] = g
        row[1] = 2.0 * e * u * f / (s * q)
        row[2] = (2.0 * e * (u * u) / q - 1.0) * f / s
        row[3] = f * (dpsi - log1p(u * u))


# --------------------------------------------------------------------------------------
# doniach(amplitude, center, sigma, gamma)
#     = amplitude / sigma^(1-gamma) cos(pi gamma / 2 + (1-gamma) atan(u))
#       / (1 + u^2)^((1-gamma)/2),  u = d / sigma
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef void doniach_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                    Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef double a = p[0], c = p[1], s = p[2], g = p[3]
    cdef double g1 = 1.0 - g, scale = a / pow(s, g1), phase = PI * g / 2.0, half = g1 / 2.0, u
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / s
        out[i] = scale * cos(phase + g1 * atan(u)) / pow(1.0 + u * u, half)


@cython.cdivision(True)
cdef void doniach_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                      Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """theta = pi g/2 + g1 atan(u), D = (1 + u^2)^(g1/2), S = a / s^g1, g1 = 1 - g:
    df/da = f / a,  df/du = -S g1 (sin theta + u cos theta) / (q D),
    df/dc = -(df/du) / s,  df/ds = -(g1 f + u df/du) / s,
    df/dg = f (ln s + ln(q) / 2) - S sin(theta) (pi/2 - atan u) / D;  q = 1 + u^2."""
    cdef double a = p[0], c = p[1], s = p[2], g = p[3]
    cdef double g1 = 1.0 - g, inv_sg1 = 1.0 / pow(s, g1), phase = PI * g / 2.0
    cdef double half = g1 / 2.0, log_s = log(s), u, at, th, cth, sth, q, D, base, f, dfdu
    cdef double *row
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / s
        at = atan(u)
        th = phase + g1 * at
        cth = cos(th)
        sth = sin(th)
        q = 1.0 + u * u
        D = pow(q, half)
        base = inv_sg1 * cth / D
        f = a * base
        dfdu = -(a * inv_sg1 * g1 * (sth + u * cth) / (q * D))
        row = out + i * n
        row[0] = base
        row[1] = -dfdu / s
        row[2] = -(g1 * f + u * dfdu) / s
        row[3] = f * (log_s + 0.5 * log1p(u * u)) - a * inv_sg1 * sth * (PI / 2.0 - at) / D


# --------------------------------------------------------------------------------------
# exponential_gaussian(amplitude, center, sigma, gamma)
#     = amplitude gamma/2 exp(a1) erfc(a2),  a1 = gamma (center + gamma sigma^2/2 - x),
#       a2 = (center + gamma sigma^2 - x) / (sqrt 2 sigma)
# where exp(a1) would overflow or erfc(a2) underflow (a1 > 700 or a2 > 25), the same value
# as exp(-(x - center)^2 / (2 sigma^2)) erfcx(a2)  (a1 - a2^2 = -(x - center)^2 / (2 sigma^2)).
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef inline double _expgauss_core(double d, double a1, double a2, double two_s2) noexcept nogil:
    """exp(a1) erfc(a2), scaled where either factor leaves the double range."""
    if (a1 > 700.0 or a2 > 25.0) and a2 > 0.0:
        return exp(-(d * d) / two_s2) * _erfcx(a2)
    return exp(a1) * erfc(a2)


@cython.cdivision(True)
cdef void exponential_gaussian_f(const double *p, Py_ssize_t n, const double *x,
                                 Py_ssize_t xstride, Py_ssize_t m, double *out,
                                 void *ctx) noexcept nogil:
    cdef double a = p[0], c = p[1], s = p[2], g = p[3]
    cdef double gss = g * s * s, scale = a * (g / 2.0), s2 = SQRT2 * s, two_s2 = 2.0 * (s * s)
    cdef double a1, a2
    cdef Py_ssize_t i
    for i in range(m):
        a1 = g * (c + gss / 2.0 - x[i])
        a2 = (c + gss - x[i]) / s2
        out[i] = scale * _expgauss_core(x[i] - c, a1, a2, two_s2)


@cython.cdivision(True)
cdef void exponential_gaussian_jac(const double *p, Py_ssize_t n, const double *x,
                                   Py_ssize_t xstride, Py_ssize_t m, double *out,
                                   void *ctx) noexcept nogil:
    """E = exp(a1) erfc(a2),  G = 2/sqrt(pi) exp(a1 - a2^2) = 2/sqrt(pi) exp(-d^2/(2 s^2)):
    df/da = g/2 E,  df/dc = a g/2 (g E - G / (sqrt2 s)),
    df/ds = a g/2 (g^2 s E - G (g / sqrt2 + d / (sqrt2 s^2))),
    df/dg = a/2 E + a g/2 ((c + g s^2 - x) E - G s / sqrt2);  d = x - c."""
    cdef double a = p[0], c = p[1], s = p[2], g = p[3]
    cdef double gss = g * s * s, hg = g / 2.0, s2 = SQRT2 * s, two_s2 = 2.0 * (s * s)
    cdef double d, a1, a2, E, G
    cdef double *row
    cdef Py_ssize_t i
    for i in range(m):
        d = x[i] - c
        a1 = g * (c + gss / 2.0 - x[i])
        a2 = (c + gss - x[i]) / s2
        E = _expgauss_core(d, a1, a2, two_s2)
        G = TWO_OVER_SQRTPI * exp(-(d * d) / two_s2)
        row = out + i * n
        row[0] = hg * E
        row[1] = a * hg * (g * E - G / s2)
        row[2] = a * hg * (g * g * s * E - G * (g / SQRT2 + d / (s2 * s)))
        row[3] = a / 2.0 * E + a * hg * ((c + gss - x[i]) * E - G * s / SQRT2)


# --------------------------------------------------------------------------------------
# Baselines: constant(c) = c,  linear(slope, intercept) = slope x + intercept,
# exponential(amplitude, decay) = amplitude exp(-x / decay)
# --------------------------------------------------------------------------------------

cdef void constant_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(m):
        out[i] = p[0]


cdef void constant_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(m):
        out[i * n] = 1.0


cdef void linear_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                   Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef double k = p[0], b = p[1]
    cdef Py_ssize_t i
    for i in range(m):
        out[i] = k * x[i] + b


cdef void linear_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(m):
        out[i * n] = x[i]
        out[i * n + 1] = 1.0


@cython.cdivision(True)
cdef inline void _exponential_exp(double tau, const double *x, Py_ssize_t m,
                                  double *e) noexcept nogil:
    """e_i = exp(-x_i / tau), one vector exp."""
    cdef Py_ssize_t i
    for i in range(m):
        e[i] = -x[i] / tau
    simd_kernels().exp_array(e, e, m)


@cython.cdivision(True)
cdef void exponential_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                        Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    cdef double a = p[0]
    cdef Py_ssize_t i
    _exponential_exp(p[1], x, m, out)
    for i in range(m):
        out[i] = a * out[i]


@cython.cdivision(True)
cdef void exponential_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                          Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """df/da = e,  df/dtau = a e x / tau^2;  e = exp(-x / tau) (rows from the last one
    back over the exponentials in out[0:m])."""
    cdef double a = p[0], tau = p[1], e
    cdef Py_ssize_t i
    _exponential_exp(tau, x, m, out)
    for i in range(m - 1, -1, -1):
        e = out[i]
        out[i * n] = e
        out[i * n + 1] = a * e * x[i] / (tau * tau)


# --------------------------------------------------------------------------------------
# skewed_gaussian(amplitude, center, sigma, gamma) = gaussian(amplitude, center, sigma)
#     * (1 + erf(z)),  z = gamma d / (sqrt 2 sigma);  1 + erf(z) taken as erfc(-z)
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef inline void _skewed_gaussian_eval(const double *p, Py_ssize_t n, const double *x,
                                       Py_ssize_t m, double *f,
                                       double *jac) noexcept nogil:
    """The value (f, unless NULL) and the Jacobian (jac, unless NULL; row stride n).
    With G = k exp(-d^2 / (2 s^2)), k = 1 / (sqrt(2 pi) s), g = a G, A = erfc(-z),
    A' = dA/dz = 2 exp(-z^2) / sqrt(pi):  df/da = A G,
    df/dc = A g d / s^2 - g A' gamma / (sqrt 2 s),  df/ds = A g (d^2 / s^2 - 1) / s
    - g A' z / s,  df/dgamma = g A' d / (sqrt 2 s)."""
    cdef double a = p[0], c = p[1], s = p[2], gm = p[3]
    cdef double k = 1.0 / (SQRT2PI * s), s2 = s * s, rs = SQRT2 * s, d, z, G, g, A, dA
    cdef double *row
    cdef Py_ssize_t i
    for i in range(m):
        d = x[i] - c
        z = gm * d / rs
        G = k * exp(-(d * d) / (2.0 * s2))
        A = erfc(-z)
        g = a * G
        if f != NULL:
            f[i] = A * g
        if jac != NULL:
            dA = TWO_OVER_SQRTPI * exp(-(z * z))
            row = jac + i * n
            row[0] = A * G
            row[1] = A * g * d / s2 - g * dA * gm / rs
            row[2] = A * g * ((d * d) / s2 - 1.0) / s - g * dA * z / s
            row[3] = g * dA * d / rs


cdef void skewed_gaussian_f(const double *p, Py_ssize_t n, const double *x,
                            Py_ssize_t xstride, Py_ssize_t m, double *out,
                            void *ctx) noexcept nogil:
    _skewed_gaussian_eval(p, n, x, m, out, NULL)


cdef void skewed_gaussian_jac(const double *p, Py_ssize_t n, const double *x,
                              Py_ssize_t xstride, Py_ssize_t m, double *out,
                              void *ctx) noexcept nogil:
    _skewed_gaussian_eval(p, n, x, m, NULL, out)


cdef void skewed_gaussian_fj(const double *p, Py_ssize_t n, const double *x,
                             Py_ssize_t xstride, Py_ssize_t m, double *f, double *jac,
                             void *ctx) noexcept nogil:
    _skewed_gaussian_eval(p, n, x, m, f, jac)


# --------------------------------------------------------------------------------------
# Smooth steps, lmfit's step and rectangle in their forms 'erf', 'atan', 'logistic':
#   step(amplitude, center, sigma) = amplitude F(u),  u = (x - center) / sigma,
#     F = (1 + erf u) / 2,  1/2 + atan(u) / pi,  1 - 1 / (1 + exp u)
#   rectangle(amplitude, center1, sigma1, center2, sigma2) = amplitude R(u1, u2),
#     u1 = (x - center1) / sigma1,  u2 = (center2 - x) / sigma2,
#     R = (erf u1 + erf u2) / 2,  (atan u1 + atan u2) / pi,
#         1 - 1 / (1 + exp u1) - 1 / (1 + exp u2)
# --------------------------------------------------------------------------------------

cdef enum StepForm:
    FORM_ERF = 0
    FORM_ATAN = 1
    FORM_LOGISTIC = 2


@cython.cdivision(True)
cdef inline double _step_slope(int form, double u) noexcept nogil:
    """dF/du of the step F of ``form`` (the logistic's e / (1 + e)^2 with e = exp(-|u|),
    which cannot overflow)."""
    cdef double e
    if form == FORM_ERF:
        return exp(-(u * u)) / SQRTPI
    if form == FORM_ATAN:
        return 1.0 / (PI * (1.0 + u * u))
    e = exp(-abs(u))
    return e / ((1.0 + e) * (1.0 + e))


@cython.cdivision(True)
cdef inline double _step_value(int form, double u) noexcept nogil:
    if form == FORM_ERF:
        return 0.5 * (1.0 + erf(u))
    if form == FORM_ATAN:
        return 0.5 + atan(u) / PI
    return 1.0 - 1.0 / (1.0 + exp(u))


@cython.cdivision(True)
cdef inline void _step_eval(int form, const double *p, Py_ssize_t n, const double *x,
                            Py_ssize_t m, double *f, double *jac) noexcept nogil:
    """df/da = F,  df/dc = -a F' / s,  df/ds = -a F' u / s."""
    cdef double a = p[0], c = p[1], s = p[2], u, F, dF
    cdef double *row
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / s
        F = _step_value(form, u)
        if f != NULL:
            f[i] = a * F
        if jac != NULL:
            dF = _step_slope(form, u)
            row = jac + i * n
            row[0] = F
            row[1] = -(a * dF / s)
            row[2] = -(a * dF * u / s)


@cython.cdivision(True)
cdef inline void _rectangle_eval(int form, const double *p, Py_ssize_t n, const double *x,
                                 Py_ssize_t m, double *f, double *jac) noexcept nogil:
    """df/da = R,  df/dc1 = -a F'(u1) / s1,  df/ds1 = -a F'(u1) u1 / s1,
    df/dc2 = a F'(u2) / s2,  df/ds2 = -a F'(u2) u2 / s2."""
    cdef double a = p[0], c1 = p[1], s1 = p[2], c2 = p[3], s2 = p[4], u1, u2, R, d1, d2
    cdef double *row
    cdef Py_ssize_t i
    for i in range(m):
        u1 = (x[i] - c1) / s1
        u2 = (c2 - x[i]) / s2
        if form == FORM_ERF:
            R = 0.5 * (erf(u1) + erf(u2))
        elif form == FORM_ATAN:
            R = (atan(u1) + atan(u2)) / PI
        else:
            R = 1.0 - 1.0 / (1.0 + exp(u1)) - 1.0 / (1.0 + exp(u2))
        if f != NULL:
            f[i] = a * R
        if jac != NULL:
            d1 = _step_slope(form, u1)
            d2 = _step_slope(form, u2)
            row = jac + i * n
            row[0] = R
            row[1] = -(a * d1 / s1)
            row[2] = -(a * d1 * u1 / s1)
            row[3] = a * d2 / s2
            row[4] = -(a * d2 * u2 / s2)


cdef void step_erf_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    _step_eval(FORM_ERF, p, n, x, m, out, NULL)


cdef void step_erf_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    _step_eval(FORM_ERF, p, n, x, m, NULL, out)


cdef void step_atan_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                      Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    _step_eval(FORM_ATAN, p, n, x, m, out, NULL)


cdef void step_atan_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                        Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    _step_eval(FORM_ATAN, p, n, x, m, NULL, out)


cdef void step_logistic_f(const double *p, Py_ssize_t n, const double *x,
                          Py_ssize_t xstride, Py_ssize_t m, double *out,
                          void *ctx) noexcept nogil:
    _step_eval(FORM_LOGISTIC, p, n, x, m, out, NULL)


cdef void step_logistic_jac(const double *p, Py_ssize_t n, const double *x,
                            Py_ssize_t xstride, Py_ssize_t m, double *out,
                            void *ctx) noexcept nogil:
    _step_eval(FORM_LOGISTIC, p, n, x, m, NULL, out)


cdef void rectangle_erf_f(const double *p, Py_ssize_t n, const double *x,
                          Py_ssize_t xstride, Py_ssize_t m, double *out,
                          void *ctx) noexcept nogil:
    _rectangle_eval(FORM_ERF, p, n, x, m, out, NULL)


cdef void rectangle_erf_jac(const double *p, Py_ssize_t n, const double *x,
                            Py_ssize_t xstride, Py_ssize_t m, double *out,
                            void *ctx) noexcept nogil:
    _rectangle_eval(FORM_ERF, p, n, x, m, NULL, out)


cdef void rectangle_atan_f(const double *p, Py_ssize_t n, const double *x,
                           Py_ssize_t xstride, Py_ssize_t m, double *out,
                           void *ctx) noexcept nogil:
    _rectangle_eval(FORM_ATAN, p, n, x, m, out, NULL)


cdef void rectangle_atan_jac(const double *p, Py_ssize_t n, const double *x,
                             Py_ssize_t xstride, Py_ssize_t m, double *out,
                             void *ctx) noexcept nogil:
    _rectangle_eval(FORM_ATAN, p, n, x, m, NULL, out)


cdef void rectangle_logistic_f(const double *p, Py_ssize_t n, const double *x,
                               Py_ssize_t xstride, Py_ssize_t m, double *out,
                               void *ctx) noexcept nogil:
    _rectangle_eval(FORM_LOGISTIC, p, n, x, m, out, NULL)


cdef void rectangle_logistic_jac(const double *p, Py_ssize_t n, const double *x,
                                 Py_ssize_t xstride, Py_ssize_t m, double *out,
                                 void *ctx) noexcept nogil:
    _rectangle_eval(FORM_LOGISTIC, p, n, x, m, NULL, out)


# --------------------------------------------------------------------------------------
# Parameter names
# --------------------------------------------------------------------------------------

# name: parameter names, in the order of p (lmfit's names and order).
PARAMS = {
    "gaussian": ("amplitude", "center", "sigma"),
    "lorentzian": ("amplitude", "center", "sigma"),
    "pseudo_voigt": ("amplitude", "center", "sigma", "fraction"),
    "voigt": ("amplitude", "center", "sigma", "gamma"),
    "pearson7": ("amplitude", "center", "sigma", "expon"),
    "doniach": ("amplitude", "center", "sigma", "gamma"),
    "exponential_gaussian": ("amplitude", "center", "sigma", "gamma"),
    "constant": ("c",),
    "linear": ("slope", "intercept"),
    "exponential": ("amplitude", "decay"),
    "skewed_gaussian": ("amplitude", "center", "sigma", "gamma"),
    "step_erf": ("amplitude", "center", "sigma"),
    "step_atan": ("amplitude", "center", "sigma"),
    "step_logistic": ("amplitude", "center", "sigma"),
    "rectangle_erf": ("amplitude", "center1", "sigma1", "center2", "sigma2"),
    "rectangle_atan": ("amplitude", "center1", "sigma1", "center2", "sigma2"),
    "rectangle_logistic": ("amplitude", "center1", "sigma1", "center2", "sigma2"),
}


def _test_voigt_fj(p, x):
    """(f, jac) of the Voigt profile at p (4,) and x (m,) from voigt_fj, one evaluation
    (test shim; voigt_f and voigt_jac are reached through lmfast._models._test_eval)."""
    pa = np.ascontiguousarray(p, dtype=np.float64).reshape(4)
    xa = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    f = np.empty(xa.shape[0])
    jac = np.empty((xa.shape[0], 4))
    cdef const double[::1] pm = pa, xm = xa
    cdef double[::1] fm = f
    cdef double[:, ::1] jm = jac
    if xa.shape[0]:
        voigt_fj(&pm[0], 4, &xm[0], xm.shape[0], xm.shape[0], &fm[0], &jm[0, 0], NULL)
    return f, jac
