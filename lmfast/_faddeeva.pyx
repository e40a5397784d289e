"""The Faddeeva function w(z) = exp(-z^2) erfc(-iz), and its derivative, in C.

``faddeeva`` and ``faddeeva_deriv`` (declared in ``lmfast/_faddeeva.pxd``) are cimported by
the lineshapes (``lmfast/_lineshapes.pyx``: the Voigt profile, and erfcx = w(i v) for the
exponentially modified Gaussian); ``_test_faddeeva`` exposes them to the tests.

For Im z >= 0 and |z| < 30, w(z) = exp(-z^2) erfc(-iz) is computed as the
trapezoidal rule applied to w(z) = (i/pi) int exp(-t^2) / (z - t) dt with step h = 1/2 on
nodes t = x + (k + 1/2) h, placed half a step from Re z, plus the residue of the pole
t = z (the pole correction of Chiarella & Reichel, Math. Comp. 22 (1968) 137-143, and
Matta & Reichel, Math. Comp. 25 (1971) 339-344, which is also the starting point of
Zaghloul & Ali, ACM TOMS 38 (2011), Algorithm 916):

    w(z) ~ (i h / pi) sum_k exp(-(x + s_k)^2) / (i y - s_k)
           + 2 exp(-z^2) / (exp(2 pi y / h) + 1),        s_k = (k + 1/2) h,  z = x + i y.

Moving the contour of the error integral to Im s = +-pi/h bounds the error by about
exp(-pi^2 / h^2) = 7e-18 times the size of w (the Gaussian factor is evaluated at the
nodes near s = -x, so it holds for any x); the pole correction is added while y < pi/h and
is negligible (< 1e-17 |w|) near that threshold.  With the nodes half a step from the
pole, the pole correction never cancels a large node term, and Re w is a sum of positive
terms plus exp(-x^2)-sized correction: relative accuracy in Re w even where Re w is far
smaller than Im w (Voigt tails with gamma << sigma).  Nodes with |x + s_k| > 6.75
(weight < 3e-20) are left out: 27 nodes.  For |z| >= 30 the asymptotic series
w(z) = i / (sqrt(pi) z) sum_k (2k - 1)!! / (2 z^2)^k (8 terms, remainder < 3e-18) is used;
for Im z < 0, w(z) = 2 exp(-z^2) - w(-z).
"""
import numpy as np

cimport cython
from libc.math cimport cos, exp, fabs, floor, sin

cdef double INV_SQRTPI = 0.5641895835477563

# The trapezoidal rule: step h = 1/2, nodes s_k = (k + 1/2)/2 for |k - k0| <= NODES.
cdef double H_OVER_PI = 0.15915494309189535    # h / pi = 1 / (2 pi)
cdef double TWO_PI_OVER_H = 12.566370614359172 # 2 pi / h = 4 pi
cdef double POLE_Y = 6.283185307179586         # pi / h: below, add the pole correction
cdef int NODES = 13
cdef double ASYMPTOTIC_R2 = 900.0              # |z|^2 from which the series is used


@cython.cdivision(True)
cdef inline void _reciprocal(double x, double y, double *re, double *im) noexcept nogil:
    """1 / (x + i y) by Smith's algorithm (no overflow of x^2 + y^2)."""
    cdef double r, d
    if fabs(x) >= fabs(y):
        r = y / x
        d = x + y * r
        re[0] = 1.0 / d
        im[0] = -r / d
    else:
        r = x / y
        d = x * r + y
        re[0] = r / d
        im[0] = -1.0 / d


@cython.cdivision(True)
cdef void _w_asymptotic(double x, double y, double *re, double *im, double *dre, double *dim,
                        bint deriv) noexcept nogil:
    """w and w' for |z| >= 30:  w = i a S / sqrt(pi),  w' = -i a^2 T / sqrt(pi),
    a = 1/z,  u = a^2 / 2,  T = sum_k (2k + 1)!! u^k,  S = 1 + u T (Horner, k <= 7)."""
    cdef double ar, ai, ur, ui, tr, ti, sr, si, c, t
    cdef int k
    _reciprocal(x, y, &ar, &ai)
    ur = 0.5 * (ar * ar - ai * ai)
    ui = ar * ai
    # T = 1 + 3u(1 + 5u(1 + ... (1 + 15u)))
    tr = 1.0
    ti = 0.0
    for k in range(7, 0, -1):
        c = 2.0 * k + 1.0
        t = c * (ur * tr - ui * ti)
        ti = c * (ur * ti + ui * tr)
        tr = 1.0 + t
    sr = 1.0 + (ur * tr - ui * ti)
    si = ur * ti + ui * tr
    # i a S = i (ar + i ai)(sr + i si) = -(ar si + ai sr) + i (ar sr - ai si)
    re[0] = -(ar * si + ai * sr) * INV_SQRTPI
    im[0] = (ar * sr - ai * si) * INV_SQRTPI
    if deriv:
        # a^2 = 2u;  -i (2u) T = 2 (u T)_i - 2 i (u T)_r
        dre[0] = 2.0 * (ur * ti + ui * tr) * INV_SQRTPI
        dim[0] = -2.0 * (ur * tr - ui * ti) * INV_SQRTPI


@cython.cdivision(True)
cdef void _w_upper(double x, double y, double *re, double *im, double *dre, double *dim,
                   bint deriv) noexcept nogil:
    """w(z) and (if deriv) w'(z) for y >= 0 (see the module docstring)."""
    if x * x + y * y >= ASYMPTOTIC_R2:
        _w_asymptotic(x, y, re, im, dre, dim, deriv)
        return
    cdef double k0 = floor(-2.0 * x)    # node s = (k0 + 1/2)/2 lies within 1/4 of -x
    cdef double y2 = y * y, s, t, e, den, q
    cdef double sum_q = 0.0, sum_qs = 0.0, sum_r2 = 0.0, sum_rs = 0.0
    cdef double E, a, b, pm, pr, pi_, cr, ci
    cdef int j
    for j in range(-NODES, NODES + 1):
        s = (k0 + j + 0.5) * 0.5        # exact; x + s is exact for |x| >= 13.5 (Sterbenz)
        t = x + s
        e = exp(-(t * t))
        den = s * s + y2
        q = e / den
        sum_q += q                      # Re: (h/pi) y sum e / den
        sum_qs += q * s                 # Im: -(h/pi) sum e s / den
        if deriv:
            q = q / den
            sum_rs += q * s             # Re w': (h/pi) 2 y sum e s / den^2
            sum_r2 += q * ((y - s) * (y + s))  # Im w': (h/pi) sum e (y^2 - s^2) / den^2
    re[0] = H_OVER_PI * (y * sum_q)
    im[0] = -(H_OVER_PI * sum_qs)
    if deriv:
        dre[0] = H_OVER_PI * (2.0 * y * sum_rs)
        dim[0] = H_OVER_PI * sum_r2
    if y < POLE_Y:
        # + 2 exp(-z^2) E / (1 + E),  E = exp(-2 pi y / h);  exp(-z^2) = P (cos 2xy - i sin 2xy)
        E = exp(-(TWO_PI_OVER_H * y))
        a = E / (1.0 + E)
        pm = exp((y - x) * (y + x))
        pr = pm * cos(2.0 * x * y)
        pi_ = -(pm * sin(2.0 * x * y))
        re[0] += 2.0 * a * pr
        im[0] += 2.0 * a * pi_
        if deriv:
            # d/dz: -4 a z exp(-z^2) + 2 i (2 pi / h) b exp(-z^2),  b = E / (1 + E)^2
            b = a / (1.0 + E)
            cr = x * pr - y * pi_       # z exp(-z^2)
            ci = x * pi_ + y * pr
            dre[0] += -4.0 * a * cr - 2.0 * TWO_PI_OVER_H * b * pi_
            dim[0] += -4.0 * a * ci + 2.0 * TWO_PI_OVER_H * b * pr


cdef void _w(double x, double y, double *re, double *im, double *dre, double *dim,
             bint deriv) noexcept nogil:
    """w(z), and w'(z) if deriv, for any z; Im z < 0 by w(z) = 2 exp(-z^2) - w(-z)."""
    cdef double pm, pr, pi_
    if y >= 0.0 or y != y:
        _w_upper(x, y, re, im, dre, dim, deriv)
        return
    _w_upper(-x, -y, re, im, dre, dim, deriv)
    pm = exp((y - x) * (y + x))
    pr = pm * cos(2.0 * x * y)
    pi_ = -(pm * sin(2.0 * x * y))
    re[0] = 2.0 * pr - re[0]
    im[0] = 2.0 * pi_ - im[0]
    if deriv:
        # d/dz [2 exp(-z^2) - w(-z)] = -4 z exp(-z^2) + w'(-z)
        dre[0] = dre[0] - 4.0 * (x * pr - y * pi_)
        dim[0] = dim[0] - 4.0 * (x * pi_ + y * pr)


cdef void faddeeva(double x, double y, double *re, double *im) noexcept nogil:
    cdef double unused
    _w(x, y, re, im, &unused, &unused, False)


cdef void faddeeva_deriv(double x, double y, double *re, double *im,
                         double *dre, double *dim) noexcept nogil:
    _w(x, y, re, im, dre, dim, True)


def _test_faddeeva(x, y):
    """w(z) and w'(z) at z = x + i y (arrays, broadcast): (re, im, dre, dim) (test shim)."""
    xb, yb = np.broadcast_arrays(np.asarray(x, dtype=np.float64),
                                 np.asarray(y, dtype=np.float64))
    xa = np.ascontiguousarray(xb).reshape(-1)
    ya = np.ascontiguousarray(yb).reshape(-1)
    res = np.empty((4, xa.size))
    cdef const double[::1] xv = xa, yv = ya
    cdef double[:, ::1] rv = res
    cdef Py_ssize_t i
    with nogil:
        for i in range(xv.shape[0]):
            faddeeva_deriv(xv[i], yv[i], &rv[0, i], &rv[1, i], &rv[2, i], &rv[3, i])
    return tuple(r.reshape(xb.shape) for r in res)
