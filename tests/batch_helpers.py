"""Shared pieces of the curve_fit_batch tests (test_batch_*.py): a plain module.

* NumPy models written from the formulas of the contract (independent of
  ``lmfast.models``), ``py_gaussian``/``py_gaussian_jac`` as vectorised Python models;
* ``PROBLEMS``: deterministic test problems, one per compiled model; ``make_batch`` draws
  noisy data around per-fit true parameters (``Batch``), ``run_batch`` fits it;
* references and comparisons: ``single_fit`` (``lmfast.curve_fit`` on one fit alone),
  ``scipy_popt``, ``assert_row_is_single``, ``check_against_singles``,
  ``assert_result_shapes``, ``assert_bitwise``, ``assert_consistent``.

No expected value here comes from curve_fit_batch.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.optimize
from helpers import assert_pcov_close, assert_popt_close

import lmfast
from lmfast import BatchResult, curve_fit_batch, models

POPT_RTOL = 1e-10  # batch vs lmfast.curve_fit: the same arithmetic up to rounding
PCOV_RTOL = 1e-8
SCIPY_POPT_RTOL = 1e-6  # vs SciPy with a NumPy model and forward differences
SUCCESS = (1, 2, 3, 4)
FIELDS = ("popt", "pcov", "perr", "chisq", "ier", "nfev", "njev", "success")

# --------------------------------------------------------------------------------------
# NumPy models, written from the formulas of the contract (independent of lmfast.models).
# They broadcast: scalar parameters -> (m,), (K, 1) columns -> (K, m); 2-D models take
# xy with xy[0] = X and xy[1] = Y.
# --------------------------------------------------------------------------------------


def np_gaussian(x, amplitude, center, sigma, offset):
    return amplitude * np.exp(-((x - center) ** 2) / (2 * sigma**2)) + offset


def np_lorentzian(x, amplitude, center, gamma, offset):
    return amplitude / (1 + ((x - center) / gamma) ** 2) + offset


def np_pseudo_voigt(x, amplitude, center, fwhm, eta, offset):
    u = (x - center) / fwhm
    return amplitude * (eta / (1 + 4 * u**2) + (1 - eta) * np.exp(-4 * np.log(2) * u**2)) + offset


def np_exponential(x, amplitude, rate, offset):
    return amplitude * np.exp(-rate * x) + offset


def np_gaussian_2d(xy, amplitude, x0, y0, sigma, offset):
    X, Y = xy[0], xy[1]
    return amplitude * np.exp(-((X - x0) ** 2 + (Y - y0) ** 2) / (2 * sigma**2)) + offset


def np_gaussian_2d_elliptic(xy, amplitude, x0, y0, sigma_x, sigma_y, offset):
    X, Y = xy[0], xy[1]
    return (
        amplitude * np.exp(-((X - x0) ** 2) / (2 * sigma_x**2) - (Y - y0) ** 2 / (2 * sigma_y**2))
        + offset
    )


def np_polynomial2(x, c0, c1, c2):
    return c0 + c1 * x + c2 * x**2


def gaussian_jac(x, amplitude, center, sigma, offset):
    """Analytic Jacobian of np_gaussian: (m, 4) for scalars, (K, m, 4) for columns."""
    d = x - center
    e = np.exp(-(d**2) / (2 * sigma**2))
    cols = (e, amplitude * e * d / sigma**2, amplitude * e * d**2 / sigma**3, np.ones_like(e))
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


# The vectorised Python models of the batch are the same functions (curve_fit style).
py_gaussian = np_gaussian
py_gaussian_jac = gaussian_jac

# --------------------------------------------------------------------------------------
# Test problems (deterministic)
# --------------------------------------------------------------------------------------

_GRID = np.meshgrid(np.linspace(-3.0, 3.0, 7), np.linspace(-3.0, 3.0, 7))
XY = np.vstack([_GRID[0].ravel(), _GRID[1].ravel()])  # (2, 49)


@dataclass(frozen=True)
class Problem:
    name: str
    numpy_model: object
    x: np.ndarray  # shared x: (m,) or (2, m)
    truth: tuple

    @property
    def model(self):
        """The compiled lmfast model of this problem."""
        if self.name == "polynomial2":
            return models.polynomial(2)
        return getattr(models, self.name)

    @property
    def x_dims(self):
        return self.x.ndim


PROBLEMS = {
    p.name: p
    for p in [
        Problem("gaussian", np_gaussian, np.linspace(-5.0, 5.0, 41), (3.0, 0.4, 1.2, 0.5)),
        Problem("lorentzian", np_lorentzian, np.linspace(-5.0, 5.0, 41), (2.0, -0.3, 0.8, 0.2)),
        Problem(
            "pseudo_voigt", np_pseudo_voigt, np.linspace(-5.0, 5.0, 51), (2.5, 0.2, 1.5, 0.4, 0.3)
        ),
        Problem("exponential", np_exponential, np.linspace(0.0, 4.0, 30), (2.0, 1.3, 0.3)),
        Problem("gaussian_2d", np_gaussian_2d, XY, (5.0, 0.3, -0.2, 1.1, 0.5)),
        Problem(
            "gaussian_2d_elliptic", np_gaussian_2d_elliptic, XY, (5.0, 0.3, -0.2, 1.1, 0.8, 0.5)
        ),
        Problem("polynomial2", np_polynomial2, np.linspace(-2.0, 2.0, 25), (0.5, -1.2, 0.8)),
    ]
}


@dataclass
class Batch:
    """Inputs of one batch, and how to cut them into single fits."""

    x: np.ndarray
    y: np.ndarray
    p0: np.ndarray
    sigma: np.ndarray | None = None
    x_per_fit: bool = False
    kwargs: dict = field(default_factory=dict)  # absolute_sigma and leastsq options
    x_dims: int | None = None  # told to curve_fit_batch for a per-fit xdata

    @property
    def n_fits(self):
        return self.y.shape[0]

    def single(self, i):
        """(x_i, y_i, p0_i, sigma_i) of fit i."""
        x = self.x[i] if self.x_per_fit else self.x
        p0 = self.p0[i] if self.p0.ndim == 2 else self.p0
        sigma = None
        if self.sigma is not None:
            sigma = self.sigma[i] if self.sigma.ndim == 2 else self.sigma
        return x, self.y[i], p0, sigma

    def args(self):
        return (self.x, self.y, self.p0)

    def copy(self):
        return Batch(
            self.x.copy(),
            self.y.copy(),
            self.p0.copy(),
            None if self.sigma is None else self.sigma.copy(),
            self.x_per_fit,
            dict(self.kwargs),
            self.x_dims,
        )


def make_batch(problem, n_fits, seed, *, x_form="shared", p0_form="per_fit", sigma_form=None):
    """Noisy data of `problem` around per-fit true parameters, starts near the truth."""
    rng = np.random.default_rng(seed)
    truth = np.asarray(problem.truth)
    n = truth.size
    m = problem.x.shape[-1]
    if x_form == "shared":
        x = problem.x.copy()
        xs = [x] * n_fits
    else:  # per fit: the shared points, each jittered a little
        step = 0.1
        x = problem.x + step * rng.uniform(-0.3, 0.3, (n_fits, *problem.x.shape))
        xs = list(x)
    truths = truth * (1 + 0.1 * rng.uniform(-1, 1, (n_fits, n)))
    y = np.empty((n_fits, m))
    for i in range(n_fits):
        y[i] = problem.numpy_model(xs[i], *truths[i]) + 0.03 * rng.standard_normal(m)
    if p0_form == "per_fit":
        p0 = truths * (1 + 0.1 * rng.uniform(-1, 1, (n_fits, n)))
    else:
        p0 = truth * 1.05
    if sigma_form is None:
        sigma = None
    elif sigma_form == "shared":
        sigma = 0.5 + rng.random(m)
    else:
        sigma = 0.5 + rng.random((n_fits, m))
    # A per-fit (N, m) xdata could also be a shared N-D coordinate: say which it is.
    x_dims = None if x_form == "shared" else problem.model.x_dims
    return Batch(x, y, p0, sigma, x_form != "shared", x_dims=x_dims)


def run_batch(f, batch, **kwargs):
    return curve_fit_batch(f, *batch.args(), sigma=batch.sigma, x_dims=batch.x_dims,
                           **batch.kwargs, **kwargs)


# --------------------------------------------------------------------------------------
# References and comparisons
# --------------------------------------------------------------------------------------


@dataclass
class Single:
    popt: np.ndarray
    pcov: np.ndarray
    chisq: float
    ier: int
    nfev: int
    njev: int | None
    mesg: str


def single_fit(f, batch, i, jac=None):
    """lmfast.curve_fit on fit i of `batch` alone."""
    x, y, p0, sigma = batch.single(i)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OptimizeWarning for an infinite pcov
        popt, pcov, info, mesg, ier = lmfast.curve_fit(
            f, x, y, p0, sigma=sigma, jac=jac, full_output=True, **batch.kwargs
        )
    return Single(
        popt, pcov, float(np.sum(info["fvec"] ** 2)), ier, info["nfev"], info.get("njev"), mesg
    )


def scipy_popt(numpy_model, batch, i):
    x, y, p0, sigma = batch.single(i)
    kwargs = {k: v for k, v in batch.kwargs.items() if k != "maxfev"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, _ = scipy.optimize.curve_fit(numpy_model, x, y, p0, sigma=sigma, **kwargs)
    return popt


def assert_row_is_single(res, i, ref, *, popt_rtol=POPT_RTOL, pcov_rtol=PCOV_RTOL, njev=True):
    """Row i of a batch result against lmfast.curve_fit's single fit `ref`."""
    assert int(res.ier[i]) == ref.ier, (i, res.ier[i], ref.ier)
    assert int(res.nfev[i]) == ref.nfev, (i, res.nfev[i], ref.nfev)
    if njev and ref.njev is not None:
        assert int(res.njev[i]) == ref.njev, (i, res.njev[i], ref.njev)
    assert_popt_close(res.popt[i], ref.popt, popt_rtol)
    assert_pcov_close(res.pcov[i], ref.pcov, pcov_rtol)
    assert res.chisq[i] == pytest.approx(ref.chisq, rel=1e-8, abs=1e-300)
    assert res.message(i) == ref.mesg


def assert_result_shapes(res, n_fits, n):
    assert isinstance(res, BatchResult)
    assert len(res) == n_fits
    assert res.popt.shape == (n_fits, n) and res.popt.dtype == np.float64
    assert res.pcov.shape == (n_fits, n, n) and res.pcov.dtype == np.float64
    assert res.perr.shape == (n_fits, n) and res.perr.dtype == np.float64
    assert res.chisq.shape == (n_fits,) and res.chisq.dtype == np.float64
    for name in ("ier", "nfev", "njev"):
        a = getattr(res, name)
        assert a.shape == (n_fits,) and a.dtype.kind == "i", name
    assert res.success.shape == (n_fits,) and res.success.dtype == np.bool_


def assert_bitwise(a, b, rows_a=slice(None), rows_b=slice(None)):
    """Same results, element for element (NaN where NaN)."""
    for name in FIELDS:
        x, y = getattr(a, name)[rows_a], getattr(b, name)[rows_b]
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


def assert_consistent(res):
    """perr and success follow from pcov and ier."""
    perr = np.sqrt(np.diagonal(res.pcov, axis1=1, axis2=2))
    assert np.array_equal(res.perr, perr, equal_nan=True)
    assert np.array_equal(res.success, np.isin(res.ier, SUCCESS))


def check_against_singles(f, batch, res, *, single_jac=None, numpy_model=None, **tol):
    assert_consistent(res)
    for i in range(batch.n_fits):
        ref = single_fit(f, batch, i, jac=single_jac)
        assert_row_is_single(res, i, ref, **tol)
        if numpy_model is not None and ref.ier in SUCCESS:
            assert_popt_close(res.popt[i], scipy_popt(numpy_model, batch, i), SCIPY_POPT_RTOL)
