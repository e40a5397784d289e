"""The weighted residual of every Python path: ``w * (f - y)`` or ``inv(L) @ (f - y)``.

:func:`residual_function` makes curve_fit's residual callable (one closure per weighting,
as leastsq calls it dozens of times per fit); :func:`residuals` weights the model values
of a batch.  The compiled paths form the same residual in C (``lmfast/_model_fit.pyx``),
in the same order of operations.
"""
import numpy as np


def residuals(values, ydata, weights=None, whiten=None):
    """``weights * (values - ydata)``, ``whiten @ (values - ydata)``, or the difference.

    Parameters
    ----------
    values : ndarray
        Model values, (m,) or (K, m).
    ydata : ndarray
        Observations broadcasting against values.
    weights : ndarray or None
        1 / sigma, broadcasting against values.
    whiten : ndarray or None
        (m, m) inverse Cholesky factor of a covariance sigma (single fits only).

    Returns
    -------
    ndarray
    """
    if weights is not None:
        return weights * (values - ydata)
    if whiten is not None:
        return whiten @ (values - ydata)
    return values - ydata


def residual_function(f, xdata, ydata, weights=None, whiten=None):
    """``params -> residuals(f(xdata, *params), ydata, weights, whiten)``, specialised."""
    if weights is not None:

        def weighted(params):
            return weights * (f(xdata, *params) - ydata)

        return weighted
    if whiten is not None:

        def whitened(params):
            return whiten @ (f(xdata, *params) - ydata)

        return whitened

    def plain(params):
        return f(xdata, *params) - ydata

    return plain


def jacobian(jac, weights=None, whiten=None):
    """The model's Jacobian (..., m, n) with its rows weighted like :func:`residuals`.

    ``weights`` is a scalar or has the shape of the residuals, (m,) or (K, m).
    """
    if weights is not None:
        return np.asarray(weights)[..., np.newaxis] * jac
    if whiten is not None:
        return whiten @ jac
    return jac
