"""The Poisson maximum-likelihood estimator on the LM engine (``estimator='poisson'``).

The engine minimises the sum of squared Poisson deviance residuals
``r = sign(f - y) sqrt(2 (f - y - y ln(f / y)))`` (``y ln(y/f)`` read as 0 where y = 0),
whose sum is the deviance: its minimum is the maximum of the Poisson likelihood.  The
compiled drivers form them in C (``lmfast/_deviance.pxd``); this module is their NumPy
twin for Python models, the check that ydata holds counts, and the covariance: the
inverse Fisher information ``(J^T diag(1/f) J)^-1`` at the optimum.
"""
import numpy as np

# Below this |t| = |f - y| / y, t - log1p(t) by its series (as _deviance.pxd).
SERIES_T = 0.01


def _phi(t):
    """t - log1p(t), elementwise, with the series for small |t|."""
    direct = t - np.log1p(t)
    small = np.abs(t) < SERIES_T
    if not small.any():
        return direct
    ts = t[small]
    total = np.zeros_like(ts)
    for k in range(10, 1, -1):
        power = ts**k
        total = total + (power / k if k % 2 == 0 else -power / k)
    direct[small] = total
    return direct


def deviance_residuals(f, y):
    """The deviance residuals of counts y under model values f (inf where f <= 0)."""
    f = np.asarray(f, dtype=np.float64)
    f, y = np.broadcast_arrays(f, y)
    out = np.full(f.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = f > 0
        zero = ok & (y == 0)
        out[zero] = np.sqrt(2.0 * f[zero])
        rest = ok & (y != 0)
        yr = y[rest]
        t = (f[rest] - yr) / yr
        out[rest] = np.copysign(np.sqrt(2.0 * yr * _phi(t)), t)
    return out


def deviance_slopes(f, y, r):
    """dr/df: (1 - y/f) / r, 1/sqrt(y) where r = 0, 1/r where y = 0."""
    f, y, r = np.broadcast_arrays(np.asarray(f, dtype=np.float64), y, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = ((f - y) / f) / r
        slope = np.where(r == 0.0, 1.0 / np.sqrt(y), slope)
        slope = np.where(y == 0.0, 1.0 / r, slope)
    return slope


def bad_counts(y):
    """Boolean per row (the last axis holds the points): not all finite, non-negative
    integers."""
    y = np.asarray(y)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(y) & (y >= 0) & (y == np.floor(y))
    return ~good.all(axis=-1)


def fisher_covariance(f, jac, free):
    """(J^T diag(1/f) J)^-1 for each fit, in the n parameters (rows and columns of
    fixed ones 0); inf where it is singular or undefined.

    Parameters
    ----------
    f : ndarray, (N, m)
        Model values at the optimum.
    jac : ndarray, (N, m, n)
        The model's Jacobian there.
    free : ndarray of intp
        Indices of the free parameters.
    """
    n_fits, _m, n = jac.shape
    cov = np.zeros((n_fits, n, n))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        weighted = jac[:, :, free] / np.sqrt(f)[:, :, np.newaxis]
    for k in range(n_fits):
        # fit by fit, each from a fresh (equally aligned) copy: BLAS then takes the same
        # path whatever the number of fits, so a batch's pcov is its single fits' bit for bit
        w = weighted[k].copy()
        info = w.T @ w
        try:
            inner = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            inner = None
        if inner is None or not np.isfinite(inner).all():
            cov[k] = np.inf
        else:
            cov[k][np.ix_(free, free)] = inner
    return cov


#: Fits whose Fisher information is formed at once (bounds the (K, m, n) Jacobians).
COVARIANCE_CHUNK = 1024


def model_covariance(values_and_jacobian, popt, free):
    """fisher_covariance for the fits of popt (K, n), in chunks:
    ``values_and_jacobian(rows, idx)`` returns the model values (k, m) and its Jacobian
    (k, m, n) at the parameter rows of the fits idx."""
    cov = np.empty((len(popt), popt.shape[1], popt.shape[1]))
    for start in range(0, len(popt), COVARIANCE_CHUNK):
        idx = np.arange(start, min(start + COVARIANCE_CHUNK, len(popt)))
        values, jacobian = values_and_jacobian(popt[idx], idx)
        cov[idx] = fisher_covariance(values, jacobian, free)
    return cov


def forward_jacobian(evaluate, popt, epsfcn=None):
    """The model's Jacobian at the rows of popt (N, n) by forward differences, as MINPACK
    steps (sqrt(eps) |p|, or sqrt(eps) at 0); ``evaluate(rows)`` returns (N, m)."""
    eps = np.sqrt(max(epsfcn or 0.0, np.finfo(float).eps))
    base = evaluate(popt)
    cols = []
    for j in range(popt.shape[1]):
        h = eps * np.abs(popt[:, j])
        h[h == 0] = eps
        rows = popt.copy()
        rows[:, j] += h
        cols.append((evaluate(rows) - base) / h[:, np.newaxis])
    return base, np.stack(cols, axis=-1)


def compiled_evaluation(model, x, x_per_fit, epsfcn):
    """values_and_jacobian (see model_covariance) of a compiled model: its C functions,
    or forward differences of its values when it has no Jacobian.  x is (1, k, m) shared
    or (N, k, m) per fit."""
    compiled = model._compiled

    def xs(idx):
        return x[idx] if x_per_fit else x

    def values_and_jacobian(rows, idx):
        rows = np.ascontiguousarray(rows)
        m = x.shape[-1]
        if not compiled.has_jacobian:
            return forward_jacobian(lambda r: compiled.evaluate(np.ascontiguousarray(r),
                                                                xs(idx), False), rows, epsfcn)
        values = compiled.evaluate(rows, xs(idx), False)
        jac = compiled.evaluate(rows, xs(idx), True).reshape(len(rows), m, rows.shape[1])
        return values, jac

    return values_and_jacobian


def python_evaluation(f, jac, x_rows, epsfcn, single=False):
    """values_and_jacobian of a Python model: called with parameter columns (K, 1) and
    x_rows(idx) (a batch), or with scalar parameters (``single``, one fit)."""

    def call(func, rows, idx):
        if single:
            return np.asarray(func(x_rows(idx), *rows[0]), dtype=np.float64)[np.newaxis]
        return np.asarray(func(x_rows(idx), *[rows[:, j:j + 1] for j in range(rows.shape[1])]),
                          dtype=np.float64)

    jacobian = jac if callable(jac) else difference_jacobian(f, epsfcn)

    def values_and_jacobian(rows, idx):
        return call(f, rows, idx), call(jacobian, rows, idx)

    return values_and_jacobian


def difference_jacobian(f, epsfcn=None):
    """``jac(x, *params)``: forward differences of the model f itself (not of its
    deviance residuals, which are infinite wherever a step makes the model <= 0), with
    MINPACK's steps.  Parameters are scalars (one fit, returns (m, n)) or (K, 1) columns
    (a batch, returns (K, m, n))."""

    def jacobian(x, *params):
        columns = [np.asarray(p, dtype=np.float64) for p in params]
        single = all(c.ndim == 0 for c in columns)
        rows = np.column_stack([np.broadcast_to(c, np.broadcast_shapes(*(c.shape for c in
                                                                          columns))).reshape(-1)
                                for c in columns])

        def evaluate(r):
            if single:
                return np.asarray(f(x, *r[0]), dtype=np.float64)[np.newaxis]
            return np.asarray(f(x, *[r[:, j:j + 1] for j in range(r.shape[1])]),
                              dtype=np.float64)

        _, jac = forward_jacobian(evaluate, rows, epsfcn)
        return jac[0] if single else jac

    return jacobian
