"""A batch of 100,000 Gaussians
============================

Fit 100,000 noisy Gaussian peaks in one call, with a compiled model and with a
NumPy model written for curve_fit, and compare their answers.

Run: python examples/batch_gaussians.py
"""
import time

import numpy as np

from lmfast import curve_fit_batch, models

rng = np.random.default_rng(0)
n_fits, m = 100_000, 128
x = np.linspace(0.0, 10.0, m)
truth = np.column_stack([
    rng.uniform(2, 10, n_fits),      # amplitude
    rng.uniform(3.5, 6.5, n_fits),   # center
    rng.uniform(0.5, 1.2, n_fits),   # sigma
    rng.uniform(-0.5, 0.5, n_fits),  # offset
])
# Each parameter as a column of shape (N, 1): the model returns (N, m), one row per fit.
Y = models.gaussian(x, *truth.T[:, :, None]) + rng.normal(0.0, 0.1, (n_fits, m))
p0 = truth * rng.uniform(0.9, 1.1, truth.shape)

start = time.perf_counter()
res = curve_fit_batch(models.gaussian, x, Y, p0)  # compiled: GIL released, every core
elapsed = time.perf_counter() - start
print(f"compiled model: {n_fits / elapsed:,.0f} fits/s, {res.success.mean():.1%} converged")
print("first fit:", res.popt[0], "+/-", res.perr[0], "message:", res.message(0))


def gaussian(x, amplitude, center, sigma, offset):
    """The same model as one would write it for scipy.optimize.curve_fit."""
    return amplitude * np.exp(-((x - center) ** 2) / (2 * sigma**2)) + offset


n_py = 10_000
start = time.perf_counter()
res_py = curve_fit_batch(gaussian, x, Y[:n_py], p0[:n_py])  # one call per round
elapsed = time.perf_counter() - start
print(f"NumPy model:    {n_py / elapsed:,.0f} fits/s")

# The answers differ slightly, and neither is wrong. Without jac, the NumPy model is fitted
# with forward-difference Jacobians (as curve_fit does); the compiled model uses its analytic
# Jacobian. So the iterations take different steps, and each fit stops where MINPACK's
# convergence tests are met (mostly: the sum of squares would drop by less than ftol,
# relative), a small fraction of a standard error from the exact minimum.
diff = np.abs(res_py.popt - res.popt[:n_py])
print(f"NumPy model with forward differences vs compiled model: popt differs by at most "
      f"{diff.max():.1e}, i.e. {(diff / res.perr[:n_py]).max():.0e} standard errors")

# Like for like: give the NumPy model the analytic Jacobian too. Then both fits take the same
# iterations (same nfev), and what remains is last-bit rounding: the NumPy formula and the
# compiled one round differently.
res_py = curve_fit_batch(gaussian, x, Y[:n_py], p0[:n_py], jac=models.gaussian.jac)
diff = np.abs(res_py.popt - res.popt[:n_py])
print(f"NumPy model with the analytic Jacobian vs compiled model: popt differs by at most "
      f"{diff.max():.1e}")
