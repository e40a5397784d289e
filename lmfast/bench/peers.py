"""Peer fitters (cminpack-numba, lumafit, lmfit), compared with lmfast.

Peers are optional: each solver factory imports its library (and numba) when its row
runs, and a peer that is missing or fails gives a skipped row.
"""

import numpy as np


def lmfit_bounded(f, p0, bounds, model=None):
    """(lmfit ``Model`` of f, its parameters set to p0 with bounds as min/max); pass
    ``model`` to reuse one.  Fit with :func:`lmfit_fit`."""
    import lmfit

    model = lmfit.Model(f) if model is None else model
    params = model.make_params()
    for name, value, low, high in zip(model.param_names, p0, *bounds, strict=True):
        params[name].set(value=value, min=low, max=high)
    return model, params


def lmfit_fit(model, params, x, y):
    """lmfit's ``Model.fit(method='leastsq')``: (result, popt in the model's order)."""
    result = model.fit(y, params, method="leastsq", **{model.independent_vars[0]: x})
    return result, np.array([result.params[name].value for name in model.param_names])


def _numba_threads(numba, threads):
    """Set numba's thread count for the next parallel call (at most its pool size)."""
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _cminpack_solve(residual):
    """``solve(x, y, p0, threads)``: cminpack-numba's ``lmder`` per fit, ``prange`` over fits.

    ``residual(signature)`` builds the numba ``cfunc`` of cminpack's ``lmder`` signature
    (``signature`` given) for one fit: the user-data pointer carries the fit's abscissae
    (``x`` raveled: ``m`` values, or the 2-D model's X then Y) followed by its ``m`` data
    values; ``iflag == 2`` asks for the analytic Jacobian, column-major with leading
    dimension ``ldfjac``, else the residuals model - data. Tolerances are cminpack-numba's
    defaults (MINPACK's ``ftol = xtol = 1.49012e-8``, ``gtol = 0``).
    """
    import cminpack_numba
    import numba
    from numba import njit, prange, types

    address = residual(cminpack_numba.CminpackSignature.lmder(types.CPointer(types.float64)))
    lmder = cminpack_numba.lmder

    @njit(parallel=True)
    def fit_all(x, y, p0, popt, info):  # pragma: no cover
        n_fits, m = y.shape
        nx = x.size
        for k in prange(n_fits):
            udata = np.empty(nx + m)
            udata[:nx] = x
            udata[nx:] = y[k]
            out = lmder(address, np.int32(m), p0[k].copy(), udata=udata)
            popt[k] = out[0]
            info[k] = out[7]

    def solve(x, y, p0, threads):
        _numba_threads(numba, threads)
        popt = np.empty_like(p0)
        info = np.zeros(y.shape[0], dtype=np.int32)
        fit_all(np.ascontiguousarray(x).ravel(), y, p0, popt, info)
        return popt, (info >= 1) & (info <= 4)

    return solve


def cminpack_numba_solver():
    """Batch Gaussian fits with cminpack-numba: MINPACK ``lmder`` per fit, ``prange``.

    The model and its analytic Jacobian are those of ``lmfast.models.gaussian``
    (amplitude, center, sigma, offset), as in ``curve_fit_batch(models.gaussian, ...)``.

    Returns
    -------
    callable
        ``solve(x, y, p0, threads) -> (popt, success)``.
    """
    import math

    from numba import carray, cfunc

    def residual(signature):
        @cfunc(signature)
        def gaussian_lmder(udata, m, n, p, fvec, fjac, ldfjac, iflag):  # pragma: no cover
            data = carray(udata, (2 * m,))  # x of the fit, then its y
            a, c, s, off = p[0], p[1], p[2], p[3]
            for i in range(m):
                d = data[i] - c
                g = math.exp(-0.5 * d * d / (s * s))
                if iflag == 2:  # column-major Jacobian, leading dimension ldfjac
                    fjac[i] = g
                    fjac[i + ldfjac] = a * g * d / (s * s)
                    fjac[i + 2 * ldfjac] = a * g * d * d / (s * s * s)
                    fjac[i + 3 * ldfjac] = 1.0
                else:
                    fvec[i] = a * g + off - data[m + i]
            return 0

        return gaussian_lmder.address

    return _cminpack_solve(residual)


def cminpack_numba_2d_solver():
    """Batch 2-D Gaussian fits with cminpack-numba: MINPACK ``lmder`` per fit, ``prange``.

    The model and its analytic Jacobian are those of ``lmfast.models.gaussian_2d``
    (amplitude, x0, y0, sigma, offset; ``a exp(-((X-x0)**2 + (Y-y0)**2)/(2 sigma**2)) +
    offset``), the pixel coordinates X then Y in the user data before the fit's pixels.

    Returns
    -------
    callable
        ``solve(xy, z, p0, threads) -> (popt, success)``, ``xy`` of shape (2, m).
    """
    import math

    from numba import carray, cfunc

    def residual(signature):
        @cfunc(signature)
        def gaussian_2d_lmder(udata, m, n, p, fvec, fjac, ldfjac, iflag):  # pragma: no cover
            data = carray(udata, (3 * m,))  # X, Y of the pixels, then the fit's z
            a, x0, y0, s, off = p[0], p[1], p[2], p[3], p[4]
            inv_s2 = 1.0 / (s * s)
            for i in range(m):
                dx = data[i] - x0
                dy = data[m + i] - y0
                r2 = dx * dx + dy * dy
                e = math.exp(-0.5 * r2 * inv_s2)
                if iflag == 2:  # column-major Jacobian, leading dimension ldfjac
                    ae = a * e
                    fjac[i] = e
                    fjac[i + ldfjac] = ae * dx * inv_s2
                    fjac[i + 2 * ldfjac] = ae * dy * inv_s2
                    fjac[i + 3 * ldfjac] = ae * r2 * inv_s2 / s
                    fjac[i + 4 * ldfjac] = 1.0
                else:
                    fvec[i] = a * e + off - data[2 * m + i]
            return 0

        return gaussian_2d_lmder.address

    return _cminpack_solve(residual)


def lumafit_solver():
    """Batch Gaussian fits with lumafit's ``levenberg_marquardt_core`` in a ``prange``.

    lumafit's own batch entry point (``levenberg_marquardt_pixelwise``) takes one global
    ``p0``; the per-fit starting points of this benchmark need its single-fit core in a
    ``prange`` loop instead. The Jacobian is analytic; tolerances are lumafit's defaults
    (its own LM variant: ``max_iter=100``, gradient/step/chi-square tolerances 1e-8).

    Returns
    -------
    callable
        ``solve(x, y, p0, threads) -> (popt, converged)``.
    """
    import lumafit
    import numba
    from numba import njit, prange

    @njit
    def gaussian(p, x):  # pragma: no cover
        z = (x - p[1]) / p[2]
        return p[0] * np.exp(-0.5 * z * z) + p[3]

    @njit
    def gaussian_jac(p, x):  # pragma: no cover
        z = (x - p[1]) / p[2]
        g = np.exp(-0.5 * z * z)
        jac = np.empty((x.size, 4))
        jac[:, 0] = g
        jac[:, 1] = p[0] * g * z / p[2]
        jac[:, 2] = jac[:, 1] * z
        jac[:, 3] = 1.0
        return jac

    core = lumafit.levenberg_marquardt_core

    @njit(parallel=True)
    def fit_all(x, y, p0, popt, ok):  # pragma: no cover
        for k in prange(y.shape[0]):
            p, _, _, _, conv = core(gaussian, p0[k].copy(), y[k], jac_func=gaussian_jac, args=(x,))
            popt[k] = p
            ok[k] = conv

    def solve(x, y, p0, threads):
        _numba_threads(numba, threads)
        popt = np.empty_like(p0)
        ok = np.zeros(y.shape[0], dtype=np.bool_)
        fit_all(x, y, p0, popt, ok)
        return popt, ok

    return solve
