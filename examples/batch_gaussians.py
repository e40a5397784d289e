"""Fit 100,000 noisy Gaussian peaks in one call, with a compiled model and with a
NumPy model written for curve_fit.

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


start = time.perf_counter()
res_py = curve_fit_batch(gaussian, x, Y[:10_000], p0[:10_000])  # one call per round
elapsed = time.perf_counter() - start
print(f"NumPy model:    {10_000 / elapsed:,.0f} fits/s")
print("largest popt difference between the two:", np.abs(res_py.popt - res.popt[:10_000]).max())
