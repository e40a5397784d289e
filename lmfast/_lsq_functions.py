"""The user's ``fun`` and ``jac`` as ``scipy.optimize.least_squares`` evaluates them.

SciPy 1.16+ hands MINPACK's lmder a residual function and a Jacobian function that
remember the last point they were asked about: the same point again costs no call, and a
Jacobian by finite differences reuses the residuals already known there.  The differences
are taken in Python with the step rule of ``scipy.optimize.approx_derivative``:

    h_j = r * s_j * max(1, |x_j|)       r = sqrt(eps) ('2-point', 'cs'), eps**(1/3) ('3-point')
    h_j = diff_step_j * s_j * |x_j|     if diff_step is given and x_j + h_j != x_j

with s_j = +1 where x_j >= 0, else -1, and eps that of float64 unless the residuals are a
narrower float.  Column j is (f(x + h_j e_j) - f(x)) / dx_j for '2-point', with
dx_j = (x_j + h_j) - x_j; (f(x + h_j e_j) - f(x - h_j e_j)) / dx_j for '3-point' (|h_j|,
dx_j = (x_j + h_j) - (x_j - h_j)); and Im f(x + i h_j e_j) / h_j for 'cs'.  The arithmetic
is done in that order, so the Jacobian is SciPy's to the last bit.
"""
import numpy as np

#: The finite-difference schemes ``jac`` may name.
DIFFERENCE_SCHEMES = ("2-point", "3-point", "cs")

_FLOAT64 = np.dtype(np.float64)
_COMPLEX128 = np.dtype(np.complex128)
_RELATIVE_STEPS: dict[tuple[np.dtype, str], float] = {}


def relative_step(f_dtype, scheme):
    """The default relative step of ``scheme`` for residuals of dtype ``f_dtype``
    (the parameters are float64)."""
    key = (f_dtype, scheme)
    step = _RELATIVE_STEPS.get(key)
    if step is None:
        eps = np.finfo(np.float64).eps
        if np.issubdtype(f_dtype, np.inexact) and np.dtype(f_dtype).itemsize < 8:
            eps = np.finfo(f_dtype).eps
        step = _RELATIVE_STEPS[key] = eps ** (1 / 3) if scheme == "3-point" else eps**0.5
    return step


def absolute_steps(x, f_dtype, scheme, diff_step):
    """The steps h (shape (n,)) of ``scheme`` at the float64 point ``x``."""
    negative = ~(x >= 0)  # s_j = -1 (NaN included)
    # r * s_j * max(1, |x_j|): multiplying by s_j = +-1 only sets the sign, exactly.
    default = relative_step(f_dtype, scheme) * np.maximum(1.0, np.abs(x))
    if diff_step is None:
        if scheme != "3-point":
            np.negative(default, out=default, where=negative)
        return default
    np.negative(default, out=default, where=negative)
    sign = np.where(negative, -1.0, 1.0)
    h = diff_step * sign * np.abs(x)
    # A step lost to rounding (diff_step 0, x_j 0, or x_j huge) falls back to the default.
    h = np.where((x + h) - x == 0, default, h)
    if scheme == "3-point":
        h = np.abs(h)
    return h


def _residuals_at(fun, x):
    """fun(x) as a 1-D array, as SciPy's differencing checks it."""
    f = fun(x)
    if type(f) is not np.ndarray or f.ndim == 0:
        f = np.atleast_1d(f)
    if f.ndim > 1:
        raise RuntimeError("`fun` return value has more than 1 dimension.")
    return f


def _all_plain(values, m, dtype):
    """Whether every array of ``values`` has shape (m,) and exactly ``dtype``."""
    shape = (m,)
    for v in values:
        if v.dtype != dtype or v.shape != shape:
            return False
    return True


def _points(x, n, diagonal):
    """n copies of x as rows, with row j's entry j replaced by diagonal[j]."""
    points = np.empty((n, n), dtype=x.dtype)
    points[...] = x
    points.flat[:: n + 1] = diagonal
    return points


def difference_jacobian(fun, x, f0, scheme, diff_step):
    """The Jacobian (m, n) of ``fun`` at the float64 point ``x`` by finite differences.

    Parameters
    ----------
    fun : callable
        ``fun(x)`` -> residuals, array_like (extra arguments already bound).
    x : ndarray
        Float64 point, shape (n,).
    f0 : array_like
        fun(x).
    scheme : {'2-point', '3-point', 'cs'}
    diff_step : None or array_like
        Relative steps, as least_squares takes them.

    Returns
    -------
    ndarray
        float64, shape (m, n) (Fortran order: it is the transpose of the rows formed).
    """
    f0 = np.atleast_1d(f0)
    if f0.ndim > 1:
        raise ValueError("`f0` passed has more than 1 dimension.")
    n, m = x.size, f0.size
    h = absolute_steps(x, f0.dtype, scheme, diff_step)
    rows = np.empty((n, m))
    if n == 0:
        return rows.T
    if scheme == "cs":
        xc = x.astype(complex)
        points = _points(xc, n, xc + h * 1j)
        values = [_residuals_at(fun, p) for p in points]
        if _all_plain(values, m, _COMPLEX128):
            rows[...] = np.array(values).imag
            rows /= h[:, None]
        else:
            for j, v in enumerate(values):
                rows[j] = v.imag / h[j]
        return rows.T
    if scheme == "2-point":
        x_plus = x + h
        dx = x_plus - x
        upper = [_residuals_at(fun, p) for p in _points(x, n, x_plus)]
        lower = None
    else:
        x_minus, x_plus = x - h, x + h
        below, above = _points(x, n, x_minus), _points(x, n, x_plus)
        dx = x_plus - x_minus
        upper, lower = [], []
        for j in range(n):  # SciPy's order: x - h_j e_j, then x + h_j e_j
            lower.append(_residuals_at(fun, below[j]))
            upper.append(_residuals_at(fun, above[j]))
    if lower is None:  # '2-point': differences from f0
        plain = f0.dtype == _FLOAT64 and _all_plain(upper, m, _FLOAT64)
    else:
        plain = _all_plain(upper, m, _FLOAT64) and _all_plain(lower, m, _FLOAT64)
    if plain:
        np.subtract(upper, f0 if lower is None else lower, out=rows)
        rows /= dx[:, None]
    else:
        # Differences in the residuals' own dtype, then divided, one column at a time.
        for j in range(n):
            rows[j] = (upper[j] - (f0 if lower is None else lower[j])) / dx[j]
    return rows.T


class Evaluations:
    """fun and jac of one least_squares call, remembering the last point (SciPy's
    ``VectorFunction`` semantics): a call at the same point returns what is known there.

    Parameters
    ----------
    fun, jac : callable, or jac one of DIFFERENCE_SCHEMES
        As least_squares takes them.
    args : sequence
    kwargs : dict
    diff_step : None or array_like
    x0 : ndarray
        The float64 starting point (copied).
    """

    def __init__(self, fun, jac, args, kwargs, diff_step, x0):
        self._fun = fun
        self._jac = jac
        self._args = args
        self._kwargs = kwargs
        self._diff_step = diff_step
        self._analytic = callable(jac)
        self.x = x0.copy()
        # x as a list: list equality is array_equal's for 1-D floats (NaN unequal, -0 == 0)
        # at a fraction of its cost.
        self._x_list = self.x.tolist()
        self.f = None
        self.J = None
        #: Set once the starting point has been checked and the fit runs.
        self.started = False

    def _call_fun(self, x):
        return self._fun(x, *self._args, **self._kwargs)

    def _move(self, x):
        """Make x the current point (forgetting f and J) unless it equals it."""
        values = x.tolist()
        if values != self._x_list:
            self.x = np.array(x, dtype=np.float64)
            self._x_list = values
            self.f = None
            self.J = None

    def fun(self, x):
        """The residuals at x (1-D, in the dtype fun returns)."""
        self._move(x)
        if self.f is None:
            f = self._call_fun(self.x.copy())
            self.f = f if type(f) is np.ndarray and f.ndim else np.atleast_1d(f)
        return self.f

    def jac(self, x):
        """The Jacobian at x: jac's value (made at least 2-D) or finite differences."""
        self._move(x)
        if self.J is None:
            if self._analytic:
                J = self._jac(self.x.copy(), *self._args, **self._kwargs)
                self.J = J if type(J) is np.ndarray and J.ndim == 2 else self._array(J)
            else:
                if self.f is None:
                    self.fun(self.x)
                self.J = difference_jacobian(self._call_fun, self.x, self.f,
                                             self._jac, self._diff_step)
        return self.J

    def _array(self, J):
        """jac's value as SciPy keeps it: a sparse matrix or LinearOperator as returned at
        the starting point (method 'lm' refuses them), a sparse matrix as an array once
        the fit runs, anything else through np.atleast_2d."""
        if _sparse_or_operator(J):
            if self.started and hasattr(J, "toarray"):
                return J.toarray()
            return J
        return np.atleast_2d(J)


def _sparse_or_operator(J):
    """Whether J is a SciPy sparse array/matrix or a LinearOperator (which only exist
    when SciPy does: it is imported only for values that are not plain arrays)."""
    if isinstance(J, (np.ndarray, list, tuple, int, float, complex)):
        return False
    try:
        from scipy.sparse import issparse
        from scipy.sparse.linalg import LinearOperator
    except ImportError:
        return False
    return issparse(J) or isinstance(J, LinearOperator)
