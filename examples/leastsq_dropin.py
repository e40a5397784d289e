"""leastsq, drop-in
================

lmfast.leastsq as a drop-in for scipy.optimize.leastsq: fit a Gaussian plus offset.

The only change from SciPy code is the import line. Run with
``python examples/leastsq_dropin.py`` once lmfast is installed (``pip install -e .``), or
from an in-place build with ``PYTHONPATH=. python examples/leastsq_dropin.py``.
"""

import numpy as np

from lmfast import leastsq  # was: from scipy.optimize import leastsq


def residuals(p, t, y):
    """Model minus data for p = (amplitude, center, sigma, offset)."""
    amplitude, center, sigma, offset = p
    return amplitude * np.exp(-0.5 * ((t - center) / sigma) ** 2) + offset - y


rng = np.random.default_rng(0)
t = np.linspace(-5.0, 5.0, 200)
y = 3.0 * np.exp(-0.5 * ((t - 0.4) / 1.1) ** 2) + 0.5 + 0.05 * rng.standard_normal(t.size)

x0 = [2.0, 0.0, 1.5, 0.0]
x, cov_x, infodict, mesg, ier = leastsq(residuals, x0, args=(t, y), full_output=True)

# cov_x is the inverse of J^T J; scale by the residual variance for parameter errors.
dof = t.size - len(x)
s_sq = np.sum(infodict["fvec"] ** 2) / dof
print("ier:", ier, "-", mesg)
print("nfev:", infodict["nfev"])
print("x:", x)
print("cov_x:")
print(cov_x)
print("standard errors:", np.sqrt(np.diag(cov_x) * s_sq))
