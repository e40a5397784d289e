"""Compiled models: the built-in kernels, the registry of every compiled model lmfast
ships, CompiledModel and its one evaluator.

Every model is a pair of plain C functions (``model_eval_t``: value, Jacobian) with the
layout described in ``_models.pxd``.  The built-in models' kernels are here, with the
formulas of the batch API contract and of the NumPy twins in ``lmfast.models``, evaluated
in the same order so both agree to rounding; the lineshapes' kernels are in
``_lineshapes.pyx``.  The registry holds both: id -> (value, Jacobian, n_params, x_dims),
and the names of the ids.  ``model_funcs`` looks an entry up by id once, before any
``nogil`` loop; ``CompiledModel(name)`` by name, for Python.  ``CompiledModel.evaluate``
is the one evaluator of any compiled model at rows of parameters; ``_test_eval`` exposes
it to the tests.
"""
import numpy as np

cimport cython
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_IsValid, PyCapsule_GetPointer

from lmfast cimport _lineshapes as ls
from lmfast._simd cimport simd_kernels

# ln 2, correctly rounded (== math.log(2.0)).
cdef double LN2 = 0.6931471805599453

# Every kernel is decorated @cython.cdivision(True): a zero width must give inf/NaN as in
# IEEE arithmetic (the batch driver reports non-finite values per fit), also in the
# LMFAST_DEBUG build, where cdivision is otherwise off and a noexcept nogil function could
# only print the ZeroDivisionError and return with its output unwritten.


# --------------------------------------------------------------------------------------
# gaussian(x, amplitude, center, sigma, offset)
#     = amplitude * exp(-(x - center)**2 / (2 * sigma**2)) + offset
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef inline void _gaussian_exp(const double *p, const double *x, Py_ssize_t m,
                               double *e) noexcept nogil:
    """e_i = exp(d^2 q),  d = x_i - c,  q = -1 / (2 s^2): the exponents, then one vector
    exp over all of them."""
    cdef double c = p[1], s = p[2], q = -0.5 / (s * s), d
    cdef Py_ssize_t i
    for i in range(m):
        d = x[i] - c
        e[i] = (d * d) * q
    simd_kernels().exp_array(e, e, m)


cdef inline void _gaussian_row(double a, double c, double inv_s2, double inv_s, double xi,
                               double e, double *row) noexcept nogil:
    """df/da = e,  df/dc = a e d / s^2,  df/ds = (df/dc) d / s,  df/do = 1, with the
    reciprocals of s^2 and s formed once per call."""
    cdef double d = xi - c
    cdef double dc = a * e * d * inv_s2
    row[0] = e
    row[1] = dc
    row[2] = dc * d * inv_s
    row[3] = 1.0


cdef void gaussian_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *f,
                     void *ctx) noexcept nogil:
    """f_i = a exp(d^2 q) + o."""
    cdef double a = p[0], o = p[3]
    cdef Py_ssize_t i
    _gaussian_exp(p, x, m, f)
    for i in range(m):
        f[i] = a * f[i] + o


@cython.cdivision(True)
cdef void gaussian_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *jac,
                       void *ctx) noexcept nogil:
    """The rows of _gaussian_row.  The m exponentials go to jac[0:m] first; the rows are
    then filled from the last one back, so row i (at jac[i n:], n >= 1) overwrites only
    exponentials already used."""
    cdef double a = p[0], c = p[1], s = p[2], inv_s2 = 1.0 / (s * s), inv_s = 1.0 / s
    cdef Py_ssize_t i
    _gaussian_exp(p, x, m, jac)
    for i in range(m - 1, -1, -1):
        _gaussian_row(a, c, inv_s2, inv_s, x[i], jac[i], jac + i * n)


@cython.cdivision(True)
cdef void gaussian_fj(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                      Py_ssize_t m, double *f, double *jac, void *ctx) noexcept nogil:
    """gaussian_f and gaussian_jac from one pass of exponentials."""
    cdef double a = p[0], c = p[1], s = p[2], o = p[3], e
    cdef double inv_s2 = 1.0 / (s * s), inv_s = 1.0 / s
    cdef Py_ssize_t i
    _gaussian_exp(p, x, m, f)
    for i in range(m):
        e = f[i]
        _gaussian_row(a, c, inv_s2, inv_s, x[i], e, jac + i * n)
        f[i] = a * e + o


# --------------------------------------------------------------------------------------
# lorentzian(x, amplitude, center, gamma, offset)
#     = amplitude / (1 + ((x - center) / gamma)**2) + offset
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef void lorentzian_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *f,
                       void *ctx) noexcept nogil:
    """f_i = a / (1 + u^2) + o,  u = (x_i - c) / g."""
    cdef double a = p[0], c = p[1], g = p[2], o = p[3], u
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / g
        f[i] = a / (1.0 + u * u) + o


@cython.cdivision(True)
cdef void lorentzian_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                         Py_ssize_t m, double *jac,
                         void *ctx) noexcept nogil:
    """df/da = L,  df/dc = 2 a u L^2 / g,  df/dg = u (df/dc),  df/do = 1;  L = 1/(1 + u^2)."""
    cdef double a = p[0], c = p[1], g = p[2], u, L, dc
    cdef double *row
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / g
        L = 1.0 / (1.0 + u * u)
        dc = 2.0 * a * u * (L * L) / g
        row = jac + i * n
        row[0] = L
        row[1] = dc
        row[2] = dc * u
        row[3] = 1.0


# --------------------------------------------------------------------------------------
# pseudo_voigt(x, amplitude, center, fwhm, eta, offset),  u = (x - center) / fwhm
#     = amplitude * (eta / (1 + 4 u**2) + (1 - eta) * exp(-4 ln2 u**2)) + offset
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef inline void _pseudo_voigt_exp(double c, double w, const double *x, Py_ssize_t m,
                                   double *G) noexcept nogil:
    """G_i = exp(-4 ln2 u^2),  u = (x_i - c) / w: the exponents, then one vector exp."""
    cdef double k = 4.0 * LN2, u
    cdef Py_ssize_t i
    for i in range(m):
        u = (x[i] - c) / w
        G[i] = -(k * (u * u))
    simd_kernels().exp_array(G, G, m)


@cython.cdivision(True)
cdef void pseudo_voigt_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                         Py_ssize_t m, double *f,
                         void *ctx) noexcept nogil:
    """f_i = a (eta L + (1 - eta) G) + o,  L = 1/(1 + 4 u^2),  G = exp(-4 ln2 u^2)."""
    cdef double a = p[0], c = p[1], w = p[2], eta = p[3], o = p[4]
    cdef double ceta = 1.0 - eta, u, u2
    cdef Py_ssize_t i
    _pseudo_voigt_exp(c, w, x, m, f)
    for i in range(m):
        u = (x[i] - c) / w
        u2 = u * u
        f[i] = a * (eta / (1.0 + 4.0 * u2) + ceta * f[i]) + o


@cython.cdivision(True)
cdef void pseudo_voigt_jac(const double *p, Py_ssize_t n, const double *x,
                           Py_ssize_t xstride, Py_ssize_t m, double *jac,
                           void *ctx) noexcept nogil:
    """df/da = eta L + (1-eta) G,  df/dc = 8 a u (eta L^2 + (1-eta) ln2 G) / w,
    df/dw = u (df/dc),  df/deta = a (L - G),  df/do = 1; the rows filled from the last one
    back over the exponentials in jac[0:m] (row i overwrites only ones already used)."""
    cdef double a = p[0], c = p[1], w = p[2], eta = p[3]
    cdef double ceta = 1.0 - eta, u, u2, L, G, dc
    cdef double *row
    cdef Py_ssize_t i
    _pseudo_voigt_exp(c, w, x, m, jac)
    for i in range(m - 1, -1, -1):
        G = jac[i]
        u = (x[i] - c) / w
        u2 = u * u
        L = 1.0 / (1.0 + 4.0 * u2)
        dc = 8.0 * a * u * (eta * (L * L) + ceta * LN2 * G) / w
        row = jac + i * n
        row[0] = eta * L + ceta * G
        row[1] = dc
        row[2] = dc * u
        row[3] = a * (L - G)
        row[4] = 1.0


# --------------------------------------------------------------------------------------
# exponential(x, amplitude, rate, offset) = amplitude * exp(-rate * x) + offset
# --------------------------------------------------------------------------------------

cdef inline void _exponential_exp(double k, const double *x, Py_ssize_t m,
                                  double *e) noexcept nogil:
    """e_i = exp(-k x_i), one vector exp."""
    cdef Py_ssize_t i
    for i in range(m):
        e[i] = -(k * x[i])
    simd_kernels().exp_array(e, e, m)


@cython.cdivision(True)
cdef void exponential_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                        Py_ssize_t m, double *f,
                        void *ctx) noexcept nogil:
    """f_i = a exp(-k x_i) + o."""
    cdef double a = p[0], o = p[2]
    cdef Py_ssize_t i
    _exponential_exp(p[1], x, m, f)
    for i in range(m):
        f[i] = a * f[i] + o


@cython.cdivision(True)
cdef void exponential_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                          Py_ssize_t m, double *jac,
                          void *ctx) noexcept nogil:
    """df/da = e,  df/dk = -a e x,  df/do = 1;  e = exp(-k x) (rows from the last one back
    over the exponentials in jac[0:m])."""
    cdef double a = p[0], e
    cdef double *row
    cdef Py_ssize_t i
    _exponential_exp(p[1], x, m, jac)
    for i in range(m - 1, -1, -1):
        e = jac[i]
        row = jac + i * n
        row[0] = e
        row[1] = -(a * e * x[i])
        row[2] = 1.0


# --------------------------------------------------------------------------------------
# gaussian_2d(xy, amplitude, x0, y0, sigma, offset)
#     = amplitude * exp(-((X - x0)**2 + (Y - y0)**2) / (2 * sigma**2)) + offset
# --------------------------------------------------------------------------------------

cdef inline void _gaussian_2d_exp(const double *p, const double *x, Py_ssize_t xstride,
                                  Py_ssize_t m, double *e) noexcept nogil:
    """e_i = exp((dx^2 + dy^2) q),  q = -1 / (2 s^2): the exponents, then one vector exp."""
    cdef double x0 = p[1], y0 = p[2], s = p[3], q = -0.5 / (s * s), dx, dy
    cdef const double *y = x + xstride
    cdef Py_ssize_t i
    for i in range(m):
        dx = x[i] - x0
        dy = y[i] - y0
        e[i] = (dx * dx + dy * dy) * q
    simd_kernels().exp_array(e, e, m)


cdef inline void _gaussian_2d_row(double a, double x0, double y0, double inv_s2,
                                  double inv_s3, double xi, double yi, double e,
                                  double *row) noexcept nogil:
    """df/da = e,  df/dx0 = a e dx / s^2,  df/dy0 = a e dy / s^2,
    df/ds = a e r^2 / s^3,  df/do = 1;  r^2 = dx^2 + dy^2."""
    cdef double dx = xi - x0, dy = yi - y0, ae = a * e
    row[0] = e
    row[1] = ae * dx * inv_s2
    row[2] = ae * dy * inv_s2
    row[3] = ae * (dx * dx + dy * dy) * inv_s3
    row[4] = 1.0


@cython.cdivision(True)
cdef void gaussian_2d_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                        Py_ssize_t m, double *f,
                        void *ctx) noexcept nogil:
    """f_i = a exp((dx^2 + dy^2) q) + o."""
    cdef double a = p[0], o = p[4]
    cdef Py_ssize_t i
    _gaussian_2d_exp(p, x, xstride, m, f)
    for i in range(m):
        f[i] = a * f[i] + o


@cython.cdivision(True)
cdef void gaussian_2d_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                          Py_ssize_t m, double *jac,
                          void *ctx) noexcept nogil:
    """The rows of _gaussian_2d_row (reciprocals once per call), filled from the last one
    back over the exponentials in jac[0:m] (as gaussian_jac)."""
    cdef double a = p[0], x0 = p[1], y0 = p[2], s = p[3]
    cdef double inv_s2 = 1.0 / (s * s), inv_s3 = inv_s2 / s
    cdef Py_ssize_t i
    _gaussian_2d_exp(p, x, xstride, m, jac)
    for i in range(m - 1, -1, -1):
        _gaussian_2d_row(a, x0, y0, inv_s2, inv_s3, x[i], x[xstride + i], jac[i],
                         jac + i * n)


@cython.cdivision(True)
cdef void gaussian_2d_fj(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                         Py_ssize_t m, double *f, double *jac, void *ctx) noexcept nogil:
    """gaussian_2d_f and gaussian_2d_jac from one pass of exponentials."""
    cdef double a = p[0], x0 = p[1], y0 = p[2], s = p[3], o = p[4], e
    cdef double inv_s2 = 1.0 / (s * s), inv_s3 = inv_s2 / s
    cdef Py_ssize_t i
    _gaussian_2d_exp(p, x, xstride, m, f)
    for i in range(m):
        e = f[i]
        _gaussian_2d_row(a, x0, y0, inv_s2, inv_s3, x[i], x[xstride + i], e, jac + i * n)
        f[i] = a * e + o


# --------------------------------------------------------------------------------------
# gaussian_2d_elliptic(xy, amplitude, x0, y0, sigma_x, sigma_y, offset)
#     = amplitude * exp(-(X - x0)**2 / (2 sigma_x**2) - (Y - y0)**2 / (2 sigma_y**2)) + offset
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef inline void _elliptic_exp(const double *p, const double *x, Py_ssize_t xstride,
                               Py_ssize_t m, double *e) noexcept nogil:
    """e_i = exp(-dx^2 / (2 sx^2) - dy^2 / (2 sy^2)), one vector exp."""
    cdef double x0 = p[1], y0 = p[2], sx = p[3], sy = p[4]
    cdef double two_sx2 = 2.0 * (sx * sx), two_sy2 = 2.0 * (sy * sy), dx, dy
    cdef const double *y = x + xstride
    cdef Py_ssize_t i
    for i in range(m):
        dx = x[i] - x0
        dy = y[i] - y0
        e[i] = -(dx * dx) / two_sx2 - (dy * dy) / two_sy2
    simd_kernels().exp_array(e, e, m)


@cython.cdivision(True)
cdef void gaussian_2d_elliptic_f(const double *p, Py_ssize_t n, const double *x,
                                 Py_ssize_t xstride, Py_ssize_t m, double *f,
                                 void *ctx) noexcept nogil:
    """f_i = a exp(-dx^2 / (2 sx^2) - dy^2 / (2 sy^2)) + o."""
    cdef double a = p[0], o = p[5]
    cdef Py_ssize_t i
    _elliptic_exp(p, x, xstride, m, f)
    for i in range(m):
        f[i] = a * f[i] + o


@cython.cdivision(True)
cdef void gaussian_2d_elliptic_jac(const double *p, Py_ssize_t n, const double *x,
                                   Py_ssize_t xstride, Py_ssize_t m,
                                   double *jac,
                                   void *ctx) noexcept nogil:
    """df/da = e,  df/dx0 = a e dx / sx^2,  df/dy0 = a e dy / sy^2,
    df/dsx = (df/dx0) dx / sx,  df/dsy = (df/dy0) dy / sy,  df/do = 1 (rows from the last
    one back over the exponentials in jac[0:m])."""
    cdef double a = p[0], x0 = p[1], y0 = p[2], sx = p[3], sy = p[4]
    cdef double sx2 = sx * sx, sy2 = sy * sy
    cdef double dx, dy, e, ae, ddx, ddy
    cdef const double *y = x + xstride
    cdef double *row
    cdef Py_ssize_t i
    _elliptic_exp(p, x, xstride, m, jac)
    for i in range(m - 1, -1, -1):
        e = jac[i]
        dx = x[i] - x0
        dy = y[i] - y0
        ae = a * e
        ddx = ae * dx / sx2
        ddy = ae * dy / sy2
        row = jac + i * n
        row[0] = e
        row[1] = ddx
        row[2] = ddy
        row[3] = ddx * dx / sx
        row[4] = ddy * dy / sy
        row[5] = 1.0


# --------------------------------------------------------------------------------------
# polynomial of degree n - 1:  c0 + c1 x + ... + c_{n-1} x**(n-1)
# --------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef void polynomial_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *f,
                       void *ctx) noexcept nogil:
    """Horner: f_i = (...(c_{n-1} x + c_{n-2}) x + ...) x + c_0;  0 when n == 0."""
    cdef double xi, v
    cdef Py_ssize_t i, j
    for i in range(m):
        if n == 0:
            f[i] = 0.0
            continue
        xi = x[i]
        v = p[n - 1]
        for j in range(n - 2, -1, -1):
            v = v * xi + p[j]
        f[i] = v


@cython.cdivision(True)
cdef void polynomial_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                         Py_ssize_t m, double *jac,
                         void *ctx) noexcept nogil:
    """df/dc_j = x^j, formed by repeated multiplication (x^0 = 1, also at x = 0)."""
    cdef double xi, power
    cdef double *row
    cdef Py_ssize_t i, j
    for i in range(m):
        xi = x[i]
        power = 1.0
        row = jac + i * n
        for j in range(n):
            row[j] = power
            power = power * xi


# --------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------

# Entry model_id of every compiled model lmfast ships (entry 0 stays empty: no model).
cdef ModelFuncs _REGISTRY[REGISTRY_SIZE]
# {name: model_id}, the one place where names meet ids (registry() shows it to Python).
cdef dict _IDS = {}


cdef void _register(int model_id, str name, model_eval_t f, model_eval_t jac,
                    Py_ssize_t n_params, Py_ssize_t x_dims, model_fj_t fj=NULL):
    _REGISTRY[model_id].f = f
    _REGISTRY[model_id].jac = jac
    _REGISTRY[model_id].fj = fj
    _REGISTRY[model_id].ctx = NULL
    _REGISTRY[model_id].n_params = n_params
    _REGISTRY[model_id].x_dims = x_dims
    _IDS[name] = model_id


_register(MODEL_GAUSSIAN, "gaussian", gaussian_f, gaussian_jac, 4, 1, gaussian_fj)
_register(MODEL_LORENTZIAN, "lorentzian", lorentzian_f, lorentzian_jac, 4, 1)
_register(MODEL_PSEUDO_VOIGT, "pseudo_voigt", pseudo_voigt_f, pseudo_voigt_jac, 5, 1)
_register(MODEL_EXPONENTIAL, "exponential", exponential_f, exponential_jac, 3, 1)
_register(MODEL_GAUSSIAN_2D, "gaussian_2d", gaussian_2d_f, gaussian_2d_jac, 5, 2,
          gaussian_2d_fj)
_register(MODEL_GAUSSIAN_2D_ELLIPTIC, "gaussian_2d_elliptic", gaussian_2d_elliptic_f,
          gaussian_2d_elliptic_jac, 6, 2)
_register(MODEL_POLYNOMIAL, "polynomial", polynomial_f, polynomial_jac, 0, 1)
_register(MODEL_LINESHAPES_GAUSSIAN, "lineshapes.gaussian", ls.gaussian_f, ls.gaussian_jac,
          3, 1, ls.gaussian_fj)
_register(MODEL_LINESHAPES_LORENTZIAN, "lineshapes.lorentzian", ls.lorentzian_f,
          ls.lorentzian_jac, 3, 1)
_register(MODEL_LINESHAPES_PSEUDO_VOIGT, "lineshapes.pseudo_voigt", ls.pseudo_voigt_f,
          ls.pseudo_voigt_jac, 4, 1, ls.pseudo_voigt_fj)
_register(MODEL_LINESHAPES_VOIGT, "lineshapes.voigt", ls.voigt_f, ls.voigt_jac, 4, 1,
          ls.voigt_fj)
_register(MODEL_LINESHAPES_PEARSON7, "lineshapes.pearson7", ls.pearson7_f, ls.pearson7_jac,
          4, 1)
_register(MODEL_LINESHAPES_DONIACH, "lineshapes.doniach", ls.doniach_f, ls.doniach_jac, 4, 1)
_register(MODEL_LINESHAPES_EXPONENTIAL_GAUSSIAN, "lineshapes.exponential_gaussian",
          ls.exponential_gaussian_f, ls.exponential_gaussian_jac, 4, 1)
_register(MODEL_LINESHAPES_CONSTANT, "lineshapes.constant", ls.constant_f, ls.constant_jac,
          1, 1)
_register(MODEL_LINESHAPES_LINEAR, "lineshapes.linear", ls.linear_f, ls.linear_jac, 2, 1)
_register(MODEL_LINESHAPES_EXPONENTIAL, "lineshapes.exponential", ls.exponential_f,
          ls.exponential_jac, 2, 1)
_register(MODEL_LINESHAPES_SKEWED_GAUSSIAN, "lineshapes.skewed_gaussian", ls.skewed_gaussian_f,
          ls.skewed_gaussian_jac, 4, 1, ls.skewed_gaussian_fj)
_register(MODEL_LINESHAPES_STEP_ERF, "lineshapes.step_erf", ls.step_erf_f, ls.step_erf_jac,
          3, 1)
_register(MODEL_LINESHAPES_STEP_ATAN, "lineshapes.step_atan", ls.step_atan_f,
          ls.step_atan_jac, 3, 1)
_register(MODEL_LINESHAPES_STEP_LOGISTIC, "lineshapes.step_logistic", ls.step_logistic_f,
          ls.step_logistic_jac, 3, 1)
_register(MODEL_LINESHAPES_RECTANGLE_ERF, "lineshapes.rectangle_erf", ls.rectangle_erf_f,
          ls.rectangle_erf_jac, 5, 1)
_register(MODEL_LINESHAPES_RECTANGLE_ATAN, "lineshapes.rectangle_atan", ls.rectangle_atan_f,
          ls.rectangle_atan_jac, 5, 1)
_register(MODEL_LINESHAPES_RECTANGLE_LOGISTIC, "lineshapes.rectangle_logistic",
          ls.rectangle_logistic_f, ls.rectangle_logistic_jac, 5, 1)


cdef int model_funcs(int model_id, ModelFuncs *out) noexcept nogil:
    """Fill ``out`` with the registry entry ``model_id``; 0, or -1 if unknown."""
    if model_id < 1 or model_id >= REGISTRY_SIZE or _REGISTRY[model_id].f == NULL:
        out.f, out.jac, out.ctx, out.n_params, out.x_dims = NULL, NULL, NULL, 0, 0
        return -1
    out[0] = _REGISTRY[model_id]
    return 0


def registry():
    """{name: (model_id, n_params, x_dims)} of every compiled model lmfast ships, in id
    order (n_params 0: the caller chooses, as for the polynomial)."""
    return {name: (model_id, _REGISTRY[model_id].n_params, _REGISTRY[model_id].x_dims)
            for name, model_id in sorted(_IDS.items(), key=lambda item: item[1])}


cdef int _registry_id(str name) except -1:
    """The id of a registry name; KeyError for an unknown one."""
    model_id = _IDS.get(name)
    if model_id is None:
        raise KeyError(f"unknown compiled model {name!r}; known: {', '.join(_IDS)}")
    return model_id


cdef class CompiledModel:
    """The C functions of a model, its user data pointer and its sizes.

    Parameters
    ----------
    name : str or None
        A registry name (``registry()``): a built-in model (``"gaussian"``, ...,
        ``"polynomial"``) or a lineshape (``"lineshapes.voigt"``, ...).  None for a
        user's C functions or a composite, given by the arguments below.
    f_address, jac_address : int
        Without a name: the addresses of the model function and of its Jacobian (0: none).
    x_dims : int
        Without a name: rows of the independent variable.
    ctx_address : int
        The user data pointer handed to both functions (0: NULL).
    fj_address : int
        Without a name: a function giving the values and the Jacobian at once
        (``model_fj_t``; 0: none, and ignored without jac_address).
    owners : tuple
        The objects the addresses point into; kept alive as long as this object.
    """

    def __init__(self, str name=None, *, size_t f_address=0, size_t jac_address=0,
                 Py_ssize_t x_dims=1, size_t ctx_address=0, tuple owners=(),
                 size_t fj_address=0):
        self.owners = owners
        if name is not None:
            self.model_id = _registry_id(name)
            self.name = name
            model_funcs(self.model_id, &self.funcs)
        else:
            if f_address == 0 or x_dims < 1:
                raise ValueError("a user's compiled model needs a function address and "
                                 "x_dims >= 1")
            self.model_id = 0
            self.funcs.f = <model_eval_t>f_address
            self.funcs.jac = <model_eval_t>jac_address if jac_address else NULL
            # A joint evaluation only beside an analytic Jacobian.
            self.funcs.fj = <model_fj_t>fj_address if fj_address and jac_address else NULL
            self.funcs.n_params = 0
            self.funcs.x_dims = x_dims
        self.funcs.ctx = <void *>ctx_address

    @property
    def x_dims(self):
        """Rows of the independent variable the model reads."""
        return self.funcs.x_dims

    @property
    def n_params(self):
        """Parameters the model takes; 0 when the caller chooses (polynomial, user models,
        composites)."""
        return self.funcs.n_params

    @property
    def has_jacobian(self):
        """Whether the model has an analytic Jacobian."""
        return self.funcs.jac != NULL

    def evaluate(self, const double[:, ::1] p not None, const double[:, :, :] x not None,
                 bint jacobian):
        """Evaluate the model (or its Jacobian) for each row of ``p`` (K, n).

        ``x`` is (1, x_dims, m), shared by all rows, or (K, x_dims, m), its points
        contiguous (its rows may lie further apart: the model gets their stride as
        ``xstride``).  Returns (K, m), or (K, m * n) holding each row's Jacobian row-major.
        """
        cdef Py_ssize_t k, rows = p.shape[0], n = p.shape[1], m = x.shape[2]
        cdef Py_ssize_t xstep = 0 if x.shape[0] == 1 else 1
        cdef Py_ssize_t xstride = x.strides[1] // sizeof(double) if x.shape[1] > 1 else m
        cdef Py_ssize_t width = n if jacobian else 1
        cdef model_eval_t func = self.funcs.jac if jacobian else self.funcs.f
        if func == NULL:
            raise TypeError("this compiled model has no Jacobian")
        if self.funcs.n_params and n != self.funcs.n_params:
            raise ValueError(f"{self.name} takes {self.funcs.n_params} parameters, got p of "
                             f"shape ({rows}, {n})")
        if ((xstep and x.shape[0] != rows) or x.shape[1] < self.funcs.x_dims
                or (m > 1 and x.strides[2] != sizeof(double))):
            raise ValueError("internal: CompiledModel.evaluate arguments do not agree")
        out = np.zeros((rows, m * width))
        cdef double[:, ::1] ov = out
        if m == 0 or rows == 0 or n == 0:
            return out
        with nogil:
            for k in range(rows):
                func(&p[k, 0], n, &x[k * xstep, 0, 0], xstride, m, &ov[k, 0], self.funcs.ctx)
        return out


    def evaluate_joint(self, const double[:, ::1] p not None,
                       const double[:, :, :] x not None):
        """Values and Jacobian together for each row of ``p``, as a fit asks for them:
        the model's joint evaluation (``fj``) when it has one, else its value and its
        Jacobian one after the other.  Arguments as :meth:`evaluate`; returns
        ``(values (K, m), jacobian (K, m * n))``, the same numbers :meth:`evaluate` gives.
        """
        cdef Py_ssize_t k, rows = p.shape[0], n = p.shape[1], m = x.shape[2]
        cdef Py_ssize_t xstep = 0 if x.shape[0] == 1 else 1
        cdef Py_ssize_t xstride = x.strides[1] // sizeof(double) if x.shape[1] > 1 else m
        if self.funcs.jac == NULL:
            raise TypeError("this compiled model has no Jacobian")
        if self.funcs.fj == NULL:
            return self.evaluate(p, x, False), self.evaluate(p, x, True)
        if self.funcs.n_params and n != self.funcs.n_params:
            raise ValueError(f"{self.name} takes {self.funcs.n_params} parameters, got p of "
                             f"shape ({rows}, {n})")
        if ((xstep and x.shape[0] != rows) or x.shape[1] < self.funcs.x_dims
                or (m > 1 and x.strides[2] != sizeof(double))):
            raise ValueError("internal: CompiledModel.evaluate_joint arguments do not agree")
        values = np.zeros((rows, m))
        jacobian = np.zeros((rows, m * n))
        cdef double[:, ::1] fv = values
        cdef double[:, ::1] jv = jacobian
        if m == 0 or rows == 0 or n == 0:
            return values, jacobian
        with nogil:
            for k in range(rows):
                self.funcs.fj(&p[k, 0], n, &x[k * xstep, 0, 0], xstride, m, &fv[k, 0],
                              &jv[k, 0], self.funcs.ctx)
        return values, jacobian


# The C signature of every model function, as the name of the PyCapsules that carry one
# (scipy.LowLevelCallable's convention).
MODEL_SIGNATURE = (b"void (double const *, Py_ssize_t, double const *, Py_ssize_t, "
                   b"Py_ssize_t, double *, void *)")
cdef const char *_SIGNATURE = MODEL_SIGNATURE


def _capsules(str name):
    """(f, jac) of a registry model as PyCapsules named MODEL_SIGNATURE."""
    cdef ModelFuncs funcs
    model_funcs(_registry_id(name), &funcs)
    return (PyCapsule_New(<void *>funcs.f, _SIGNATURE, NULL),
            PyCapsule_New(<void *>funcs.jac, _SIGNATURE, NULL))


def _capsule_address(capsule):
    """The function pointer in a PyCapsule named MODEL_SIGNATURE, as an int."""
    if not PyCapsule_IsValid(capsule, _SIGNATURE):
        raise TypeError(f"a model function capsule must be named {MODEL_SIGNATURE.decode()!r}")
    return <size_t>PyCapsule_GetPointer(capsule, _SIGNATURE)


def _test_eval(str name, p, x, bint with_jac):
    """Run the registry model ``name`` on ``p`` (n,) and ``x`` (m,) or (x_dims, m) through
    ``CompiledModel.evaluate`` (test shim).

    Returns f (m,), or (f, jac) with jac (m, n) when ``with_jac``.  For the polynomial n is
    ``len(p)`` (>= 1); otherwise it must be the model's n_params.  ``x`` is read as float64
    rows; a view whose rows are contiguous but further apart (``big[:, :m]``) is passed
    as is, with ``xstride`` its row stride, so the tests can check that models honour it.
    """
    model = CompiledModel(name)
    p = np.ascontiguousarray(p, dtype=np.float64).reshape(1, -1)
    if model.n_params == 0 and p.shape[1] < 1:
        raise ValueError("the polynomial needs at least one coefficient")
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim == 1 and model.x_dims == 1:
        xa = xa.reshape(1, -1)
    if xa.ndim != 2 or xa.shape[0] != model.x_dims:
        raise ValueError(f"{name} needs x of shape "
                         f"{'(m,) or (1, m)' if model.x_dims == 1 else '(2, m)'}, "
                         f"got {xa.shape}")
    if xa.strides[1] != 8 or xa.strides[0] % 8 != 0 or xa.strides[0] < 8 * xa.shape[1]:
        xa = np.ascontiguousarray(xa)
    f = model.evaluate(p, xa[np.newaxis], False)[0]
    if not with_jac:
        return f
    return f, model.evaluate(p, xa[np.newaxis], True).reshape(xa.shape[1], p.shape[1])
