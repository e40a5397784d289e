"""Your own compiled model for curve_fit_batch, written in Python with numba.

Needs numba, which lmfast itself does not depend on. From a clone of the repository:

    pip install -e ".[numba]"
    python examples/custom_model_numba.py

(or ``pip install "fastminpack[numba]"`` for the released package).

A numba ``cfunc`` with the model signature runs with the GIL released on every thread,
like the built-in models.
"""
import time

import numpy as np
from numba import cfunc, types

from lmfast import curve_fit_batch, models

# void f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
#        Py_ssize_t m, double *out)
SIGNATURE = types.void(types.CPointer(types.float64), types.intp,
                       types.CPointer(types.float64), types.intp, types.intp,
                       types.CPointer(types.float64))


@cfunc(SIGNATURE, nopython=True)
def lorentz_doublet(p, n, x, xstride, m, out):
    """Two Lorentzians of one width, 1.5 units apart: amplitude1, amplitude2, center,
    gamma, offset."""
    for i in range(m):
        u1 = (x[i] - p[2]) / p[3]
        u2 = (x[i] - p[2] - 1.5) / p[3]
        out[i] = p[0] / (1.0 + u1 * u1) + p[1] / (1.0 + u2 * u2) + p[4]


@cfunc(SIGNATURE, nopython=True)
def lorentz_doublet_jac(p, n, x, xstride, m, out):
    for i in range(m):
        u1 = (x[i] - p[2]) / p[3]
        u2 = (x[i] - p[2] - 1.5) / p[3]
        l1 = 1.0 / (1.0 + u1 * u1)
        l2 = 1.0 / (1.0 + u2 * u2)
        d1 = 2.0 * p[0] * u1 * l1 * l1 / p[3]
        d2 = 2.0 * p[1] * u2 * l2 * l2 / p[3]
        out[i * n + 0] = l1
        out[i * n + 1] = l2
        out[i * n + 2] = d1 + d2
        out[i * n + 3] = d1 * u1 + d2 * u2
        out[i * n + 4] = 1.0


doublet = models.from_cfunc(
    "lorentz_doublet", ("amplitude1", "amplitude2", "center", "gamma", "offset"),
    lorentz_doublet, lorentz_doublet_jac,
)

rng = np.random.default_rng(0)
n_fits, x = 50_000, np.linspace(0.0, 10.0, 200)
truth = np.column_stack([rng.uniform(1, 3, n_fits), rng.uniform(0.5, 2, n_fits),
                         rng.uniform(3, 6, n_fits), rng.uniform(0.2, 0.5, n_fits),
                         rng.uniform(0, 0.2, n_fits)])
Y = doublet(x, *truth.T[:, :, None]) + rng.normal(0, 0.02, (n_fits, x.size))
p0 = truth * rng.uniform(0.9, 1.1, truth.shape)

curve_fit_batch(doublet, x, Y[:10], p0[:10])  # numba compiled at definition; warm up
start = time.perf_counter()
res = curve_fit_batch(doublet, x, Y, p0)
elapsed = time.perf_counter() - start
print(f"{n_fits / elapsed:,.0f} fits/s, {res.success.mean():.1%} converged")
print("largest error in center:", np.abs(res.popt[:, 2] - truth[:, 2]).max(),
      "median perr of center:", float(np.median(res.perr[:, 2])))
