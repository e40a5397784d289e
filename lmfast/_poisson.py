"""estimator='poisson': the check that ydata holds counts.

The Poisson deviance residuals, their slopes and the Fisher covariance are rows of the
compiled estimator table (``lmfast/_estimator.pxd``, with the deviance in
``lmfast/_deviance.pxd``), applied by every driver.
"""
import numpy as np


def bad_counts(y):
    """Boolean per row (the last axis holds the points): not all finite, non-negative
    integers."""
    y = np.asarray(y)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(y) & (y >= 0) & (y == np.floor(y))
    return ~good.all(axis=-1)
