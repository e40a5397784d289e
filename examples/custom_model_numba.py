"""Your own compiled model, with numba
===================================

Your own compiled model for curve_fit_batch, written in Python with numba.

Needs numba, which lmfast itself does not depend on. From a clone of the repository:

    pip install -e ".[numba]"
    python examples/custom_model_numba.py

(or ``pip install "fastminpack[numba]"`` for the released package).

A numba ``cfunc`` with the model signature runs with the GIL released on every thread,
like the built-in models.  The last argument, ``ctx``, points to data you pass to
``models.from_cfunc(..., ctx=...)``: here the doublet's splitting and intensity ratio,
which are known and held fixed while the fit finds amplitude, center, width and offset.
"""

import time

import numpy as np
from numba import carray, cfunc, types

from lmfast import curve_fit_batch, models

# void f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
#        Py_ssize_t m, double *out, void *ctx)
SIGNATURE = types.void(
    types.CPointer(types.float64), types.intp,
    types.CPointer(types.float64), types.intp, types.intp,
    types.CPointer(types.float64), types.voidptr,
)


@cfunc(SIGNATURE, nopython=True)
def lorentz_doublet(p, n, x, xstride, m, out, ctx):
    """Two Lorentzians of one width: amplitude, center, gamma, offset; the second line
    sits ctx[0] above the first with ctx[1] times its amplitude."""
    splitting, ratio = carray(ctx, 2, np.float64)  # view the void* as 2 doubles
    for i in range(m):
        u1 = (x[i] - p[1]) / p[2]
        u2 = (x[i] - p[1] - splitting) / p[2]
        out[i] = p[0] * (1.0 / (1.0 + u1 * u1) + ratio / (1.0 + u2 * u2)) + p[3]


@cfunc(SIGNATURE, nopython=True)
def lorentz_doublet_jac(p, n, x, xstride, m, out, ctx):
    """d model / d p, row-major: out[i * n + j] = d f(x_i) / d p_j."""
    splitting, ratio = carray(ctx, 2, np.float64)
    for i in range(m):
        u1 = (x[i] - p[1]) / p[2]
        u2 = (x[i] - p[1] - splitting) / p[2]
        l1 = 1.0 / (1.0 + u1 * u1)
        l2 = 1.0 / (1.0 + u2 * u2)
        d1 = 2.0 * p[0] * u1 * l1 * l1 / p[2]
        d2 = 2.0 * p[0] * ratio * u2 * l2 * l2 / p[2]
        out[i * n + 0] = l1 + ratio * l2
        out[i * n + 1] = d1 + d2
        out[i * n + 2] = d1 * u1 + d2 * u2
        out[i * n + 3] = 1.0


# The model keeps its own float64 copy of ctx: changing this array later changes nothing.
splitting_and_ratio = np.array([1.5, 0.6])
doublet = models.from_cfunc(
    "lorentz_doublet", ("amplitude", "center", "gamma", "offset"),
    lorentz_doublet, lorentz_doublet_jac, ctx=splitting_and_ratio,
)

rng = np.random.default_rng(0)
n_fits, x = 50_000, np.linspace(0.0, 10.0, 200)
truth = np.column_stack([rng.uniform(1, 3, n_fits), rng.uniform(3, 6, n_fits),
                         rng.uniform(0.2, 0.5, n_fits), rng.uniform(0, 0.2, n_fits)])
Y = doublet(x, *truth.T[:, :, None]) + rng.normal(0, 0.02, (n_fits, x.size))
p0 = truth * rng.uniform(0.9, 1.1, truth.shape)

curve_fit_batch(doublet, x, Y[:10], p0[:10])  # warm up
start = time.perf_counter()
res = curve_fit_batch(doublet, x, Y, p0)
elapsed = time.perf_counter() - start
print(f"{n_fits:,} doublets (splitting {splitting_and_ratio[0]}, intensity ratio "
      f"{splitting_and_ratio[1]}) fitted in {elapsed:.2f} s: {n_fits / elapsed:,.0f} fits/s, "
      f"{res.success.mean():.1%} converged")
print(f"center: largest error {np.abs(res.popt[:, 1] - truth[:, 1]).max():.2g}, "
      f"median standard error {np.median(res.perr[:, 1]):.2g}")
