"""Smoke benchmark of lmfast against SciPy: ``python -m lmfast.bench``.

Every workload is a problem definition plus one callable per implementation. Both
implementations run in the same process, interleaved: each round times lmfast then SciPy,
and the next round SciPy then lmfast. The inner repeat count of each implementation is
calibrated once so that one timing lasts at least ``min_time`` seconds; the table reports
the median time per fit over the rounds, the ratio SciPy time / lmfast time, ``nfev`` of
both and whether both returned the same ``ier``, ``nfev`` and ``x``.

This module imports only NumPy and the standard library at import time; SciPy and lmfast
are imported inside :func:`main`, so ``--help`` and ``--list`` work without SciPy.

Batch rows (kind ``"batch"``) time one ``lmfast.curve_fit_batch`` call over all fits
against a loop of ``scipy.optimize.curve_fit`` over a subset of the same fits, in
interleaved rounds, and report fits per second. Peer rows (kind ``"peer"``) time other
batch fitters (cminpack-numba, lumafit) against ``curve_fit_batch`` when they are
installed; they are never required.

Adding a workload
-----------------
Append an instance to the tuple built by :func:`default_workloads`. A workload class
declares a ``kind``; :data:`RUNNERS` maps the kind to the function that measures it and
:data:`TABLES` to the table that prints its rows. A new kind of row is a new workload
class, a runner and a table, with no change to the existing ones.
"""

import argparse
import dataclasses
import fnmatch
import gc
import importlib
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

SCIPY_MISSING = (
    "SciPy is not installed: pip install scipy (or install the 'bench' extra) to compare against it"
)

#: Default number of interleaved rounds (``--quick`` uses :data:`QUICK_ROUNDS`).
DEFAULT_ROUNDS = 7
QUICK_ROUNDS = 3
#: Minimum duration of one timing, in seconds; sets the inner repeat count.
DEFAULT_MIN_TIME = 0.020
QUICK_MIN_TIME = 0.010
#: Upper bound of the inner repeat count.
MAX_NUMBER = 1_000_000
#: Relative tolerance of the ``x`` comparison between the implementations.
X_RTOL = 1e-6
#: A row gets a "noisy timings" note when the round times of an implementation spread more
#: than this (median absolute deviation / median) ...
NOISY_SPREAD = 0.05
#: ... or when the per-round ratios SciPy/lmfast range more than this (max / min - 1).
NOISY_RATIO_RANGE = 0.10

IMPLEMENTATIONS = ("lmfast", "scipy")

#: Batch rows: number of fits of the SciPy loop (the subset), default and ``--quick``.
BATCH_SUBSET = 200
QUICK_BATCH_SUBSET = 100
#: Batch rows: ``agree`` is "yes" when the median relative ``popt`` difference over the
#: fits of the subset that both implementations solved is at most this ...
BATCH_X_RTOL = 1e-6
#: ... and the success flags (``ier`` in 1..4) are the same for this fraction of them.
BATCH_SUCCESS_MATCH = 0.99
#: Target of the threads/1-thread speedup of the compiled batch rows (2 threads).
THREAD_TARGET = 1.8
#: Rows generated at once by the batch data generators (bounds their temporaries).
BLOCK_ROWS = 8192


# --------------------------------------------------------------------------------------
# Problem definitions (pure NumPy, shared by both implementations)
# --------------------------------------------------------------------------------------


def trivial_residual(x):
    """Residuals of the trivial problem, ``m = 3``, ``n = 2``.

    Parameters
    ----------
    x : ndarray, shape (2,)
        Parameters.

    Returns
    -------
    ndarray, shape (3,)
        ``[x0 - 1, x1 - 2, x0 * x1 - 3]`` (the last term keeps the residual nonzero at
        the solution, so termination does not hinge on an exact zero).
    """
    return np.array([x[0] - 1.0, x[1] - 2.0, x[0] * x[1] - 3.0])


def peaks_model(p, t):
    """Sum of ``k`` Gaussians plus a constant offset.

    Parameters
    ----------
    p : ndarray, shape (3 * k + 1,)
        ``[a_1, mu_1, s_1, ..., a_k, mu_k, s_k, c]``: amplitude, centre and width of
        every peak, then the offset.
    t : ndarray, shape (m,)
        Abscissae.

    Returns
    -------
    ndarray, shape (m,)
        ``sum_j a_j exp(-(t - mu_j)^2 / (2 s_j^2)) + c``.
    """
    a, mu, s = p[:-1].reshape(-1, 3).T
    z = (t - mu[:, None]) / s[:, None]
    return a @ np.exp(-0.5 * z * z) + p[-1]


def peaks_jacobian(p, t):
    """Jacobian of :func:`peaks_model` with respect to ``p``.

    Parameters
    ----------
    p : ndarray, shape (3 * k + 1,)
        Parameters, ordered as in :func:`peaks_model`.
    t : ndarray, shape (m,)
        Abscissae.

    Returns
    -------
    ndarray, shape (m, 3 * k + 1)
        C-ordered; row ``i`` is the gradient of the model at ``t[i]``.
    """
    a, mu, s = p[:-1].reshape(-1, 3).T
    z = (t - mu[:, None]) / s[:, None]
    g = np.exp(-0.5 * z * z)
    dmu = (a / s)[:, None] * g * z
    jac = np.empty((t.size, p.size))
    jac[:, 0:-1:3] = g.T
    jac[:, 1:-1:3] = dmu.T
    jac[:, 2:-1:3] = (dmu * z).T
    jac[:, -1] = 1.0
    return jac


def peaks_residual(p, t, y):
    """Residuals ``peaks_model(p, t) - y`` (``func`` of ``leastsq``)."""
    return peaks_model(p, t) - y


def peaks_residual_jacobian(p, t, y):
    """Jacobian of :func:`peaks_residual`, shape ``(m, n)`` (``Dfun`` of ``leastsq``)."""
    return peaks_jacobian(p, t)


def peaks_problem(m, k, seed=0, noise=0.05):
    """Synthetic data of ``k`` well separated Gaussian peaks plus an offset.

    Parameters
    ----------
    m : int
        Number of data points.
    k : int
        Number of peaks; the problem has ``n = 3 * k + 1`` parameters.
    seed : int, optional
        Seed of the noise generator.
    noise : float, optional
        Standard deviation of the additive Gaussian noise.

    Returns
    -------
    t : ndarray, shape (m,)
        Abscissae, evenly spaced on ``[0, 10 k]``.
    y : ndarray, shape (m,)
        Noisy data.
    p0 : ndarray, shape (3 * k + 1,)
        Starting point: amplitudes 20 % low, centres shifted by 0.15, widths 30 % wide,
        offset 0.
    """
    rng = np.random.default_rng(seed)
    j = np.arange(k)
    amp = 3.0 + 2.0 * np.cos(j)  # 1 .. 5
    centre = 10.0 * j + 5.0 + 0.3 * np.sin(3.0 * j)
    width = 0.8 + 0.1 * (j % 4)
    p_true = np.append(np.column_stack([amp, centre, width]).ravel(), 0.5)
    t = np.linspace(0.0, 10.0 * k, m)
    y = peaks_model(p_true, t) + noise * rng.standard_normal(m)
    p0 = np.append(np.column_stack([0.8 * amp, centre + 0.15, 1.3 * width]).ravel(), 0.0)
    return t, y, p0


def gauss1d(t, a, mu, s, c):
    """One Gaussian plus offset, written as a typical ``curve_fit`` user would."""
    return a * np.exp(-0.5 * ((t - mu) / s) ** 2) + c


def gauss1d_jac(t, a, mu, s, c):
    """Jacobian of :func:`gauss1d`, shape ``(m, 4)`` (``jac`` of ``curve_fit``)."""
    z = (t - mu) / s
    g = np.exp(-0.5 * z * z)
    dmu = a * g * z / s
    return np.column_stack([g, dmu, dmu * z, np.ones_like(t)])


def gauss128_problem(seed=1):
    """One noisy Gaussian plus offset on 128 points.

    Returns
    -------
    t, y : ndarray, shape (128,)
        Abscissae on ``[-5, 5]`` and data (``a=3, mu=0.4, s=1.1, c=0.5``, noise 0.05).
    p0 : ndarray, shape (4,)
        Starting point ``[2, -0.5, 1.8, 0]``.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(-5.0, 5.0, 128)
    y = gauss1d(t, 3.0, 0.4, 1.1, 0.5) + 0.05 * rng.standard_normal(t.size)
    return t, y, np.array([2.0, -0.5, 1.8, 0.0])


def gauss2d(xy, a, x0, y0, s, c):
    """Symmetric 2-D Gaussian plus offset; ``xy`` has shape ``(2, npix)``."""
    r2 = (xy[0] - x0) ** 2 + (xy[1] - y0) ** 2
    return a * np.exp(-0.5 * r2 / (s * s)) + c


def gauss2d_problem(size=5, seed=2):
    """Make a spot on a ``size x size`` pixel grid with shot-like noise.

    Returns
    -------
    xy : ndarray, shape (2, size * size)
        Pixel coordinates (row, column).
    z : ndarray, shape (size * size,)
        Data (``a=100, x0=2.2, y0=1.8, s=1, c=10``, noise ``sqrt(model)``).
    p0 : ndarray, shape (5,)
        The usual guess: peak-to-peak amplitude, centre pixel, width 1.5, minimum.
    """
    rng = np.random.default_rng(seed)
    xy = np.indices((size, size), dtype=float).reshape(2, -1)
    model = gauss2d(xy, 100.0, 2.2, 1.8, 1.0, 10.0)
    z = model + np.sqrt(model) * rng.standard_normal(model.size)
    c = (size - 1) / 2.0
    return xy, z, np.array([np.ptp(z), c, c, 1.5, z.min()])


@dataclass(frozen=True)
class BatchData:
    """Data of a batch of fits sharing one ``xdata``.

    Attributes
    ----------
    x : ndarray, shape (m,) or (2, m)
        Abscissae shared by every fit (``(2, m)`` for 2-D models: x then y coordinate).
    y : ndarray, shape (N, m)
        Data, one fit per row, C-contiguous float64.
    p0 : ndarray, shape (N, n)
        Starting point of every fit.
    """

    x: np.ndarray
    y: np.ndarray
    p0: np.ndarray

    @property
    def nbytes(self):
        """Bytes of the three arrays."""
        return self.x.nbytes + self.y.nbytes + self.p0.nbytes


def gaussian_batch(n_fits, m=128, seed=10):
    """Noisy Gaussian peaks plus offset, one per row, with perturbed starting points.

    Each fit draws amplitude ``U(2, 10)``, centre ``U(3.5, 6.5)``, width ``U(0.5, 1.2)``
    and offset ``U(-0.5, 0.5)`` on ``x = linspace(0, 10, m)``, adds Gaussian noise of
    standard deviation ``0.02 * amplitude + 0.05``, and starts from amplitude times
    ``U(0.7, 1.3)``, centre plus width times ``U(-0.5, 0.5)``, width times ``U(0.7, 1.4)``
    and offset plus ``U(-0.3, 0.3)``.

    The arrays are filled :data:`BLOCK_ROWS` rows at a time, in place, so that the
    temporaries stay small next to ``y`` (``bench/bench_batch_memory.py`` relies on it).

    Parameters
    ----------
    n_fits : int
        Number of fits ``N``.
    m : int, optional
        Points per fit.
    seed : int, optional
        Seed; the data depend only on ``seed``, ``m`` and ``n_fits``.

    Returns
    -------
    BatchData
        ``x`` shape (m,), ``y`` shape (N, m), ``p0`` shape (N, 4) in the order of
        ``lmfast.models.gaussian``: amplitude, center, sigma, offset.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, m)
    y = np.empty((n_fits, m))
    p0 = np.empty((n_fits, 4))
    for start in range(0, n_fits, BLOCK_ROWS):
        k = min(BLOCK_ROWS, n_fits - start)
        amp = rng.uniform(2.0, 10.0, k)
        centre = rng.uniform(3.5, 6.5, k)
        width = rng.uniform(0.5, 1.2, k)
        offset = rng.uniform(-0.5, 0.5, k)
        yb = y[start : start + k]
        np.subtract(x, centre[:, None], out=yb)  # in place: one (k, m) noise temporary
        yb /= width[:, None]
        yb *= yb
        yb *= -0.5
        np.exp(yb, out=yb)
        yb *= amp[:, None]
        yb += offset[:, None]
        yb += (0.02 * amp + 0.05)[:, None] * rng.standard_normal((k, m))
        pb = p0[start : start + k]
        pb[:, 0] = amp * rng.uniform(0.7, 1.3, k)
        pb[:, 1] = centre + width * rng.uniform(-0.5, 0.5, k)
        pb[:, 2] = width * rng.uniform(0.7, 1.4, k)
        pb[:, 3] = offset + rng.uniform(-0.3, 0.3, k)
    return BatchData(x, y, p0)


def gaussian_2d_batch(n_fits, size=5, seed=20):
    """Noisy symmetric 2-D Gaussian spots on ``size x size`` pixels, starts from the data.

    Each spot draws amplitude ``U(50, 500)``, centre ``U(1.5, 2.5)`` on both axes (for
    ``size=5``: within half a pixel of the middle), width ``U(0.7, 1.3)`` and offset
    ``U(5, 20)``; the noise is shot-like, ``sqrt(model)`` times a standard normal. The
    starting point is the usual guess from the data: ``max - min``, the centroid of
    ``z - min``, width 1 and ``min``.

    Returns
    -------
    BatchData
        ``x`` shape (2, size*size) (row 0: x coordinate, row 1: y coordinate), ``y``
        shape (N, size*size), ``p0`` shape (N, 5) in the order of
        ``lmfast.models.gaussian_2d``: amplitude, x0, y0, sigma, offset.
    """
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(size, dtype=float), np.arange(size, dtype=float))
    xy = np.stack([gx.ravel(), gy.ravel()])
    npix = size * size
    y = np.empty((n_fits, npix))
    p0 = np.empty((n_fits, 5))
    lo, hi = (size - 1) / 2.0 - 0.5, (size - 1) / 2.0 + 0.5
    for start in range(0, n_fits, BLOCK_ROWS):
        k = min(BLOCK_ROWS, n_fits - start)
        amp = rng.uniform(50.0, 500.0, k)
        x0 = rng.uniform(lo, hi, k)
        y0 = rng.uniform(lo, hi, k)
        width = rng.uniform(0.7, 1.3, k)
        offset = rng.uniform(5.0, 20.0, k)
        r2 = (xy[0] - x0[:, None]) ** 2 + (xy[1] - y0[:, None]) ** 2
        model = amp[:, None] * np.exp(-0.5 * r2 / (width * width)[:, None]) + offset[:, None]
        zb = y[start : start + k]
        zb[:] = model + np.sqrt(model) * rng.standard_normal((k, npix))
        zmin = zb.min(axis=1)
        w = zb - zmin[:, None]
        wsum = np.maximum(w.sum(axis=1), np.finfo(float).tiny)
        pb = p0[start : start + k]
        pb[:, 0] = zb.max(axis=1) - zmin
        pb[:, 1] = w @ xy[0] / wsum
        pb[:, 2] = w @ xy[1] / wsum
        pb[:, 3] = 1.0
        pb[:, 4] = zmin
    return BatchData(xy, y, p0)


# --------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SingleFit:
    """A workload of one fit per call, timed per fit against SciPy.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    api : {"leastsq", "curve_fit"}
        Function under test; looked up by name in ``lmfast`` and ``scipy.optimize``.
    m, n : int
        Number of residuals and of parameters.
    description : str
        One line for ``--list``.
    make_call : callable
        ``make_call(fit)`` builds the problem and returns a zero-argument callable that
        runs one fit with ``fit`` (the ``leastsq`` or ``curve_fit`` of one
        implementation) with ``full_output=True`` and returns its raw result.
    requires : str, optional
        Module that must import (for instance ``"lmfast.models"``), else the row is
        skipped with a note.
    target : float, optional
        Expected ratio SciPy/lmfast; a lower ratio gets a note.
    """

    kind: ClassVar[str] = "single"
    name: str
    api: str
    m: int
    n: int
    description: str
    make_call: Callable[[Callable], Callable[[], Any]] = field(repr=False)
    requires: str = ""
    target: float | None = None


def _leastsq_call(problem, func, Dfun=None):
    """Return ``make_call`` running ``leastsq(func, x0, args, Dfun=Dfun, full_output=True)``.

    Parameters
    ----------
    problem : callable
        ``problem()`` returns ``(x0, args)``; called only when the workload runs.
    func, Dfun : callable
        Residuals and (optionally) their Jacobian, shape ``(m, n)``.
    """

    def make_call(fit):
        x0, args = problem()
        return lambda: fit(func, x0, args=args, Dfun=Dfun, full_output=True)

    return make_call


def _curve_fit_call(problem, f, jac=None):
    """Return ``make_call`` running ``curve_fit(f, xdata, ydata, p0, jac=jac, full_output=True)``.

    Parameters
    ----------
    problem : callable
        ``problem()`` returns ``(xdata, ydata, p0)``; called only when the workload runs.
    f, jac : callable
        Model and (optionally) its Jacobian, shape ``(m, n)``; ``jac`` is not passed when
        ``None``.
    """
    kwargs = {} if jac is None else {"jac": jac}

    def make_call(fit):
        xdata, ydata, p0 = problem()
        return lambda: fit(f, xdata, ydata, p0=p0, full_output=True, **kwargs)

    return make_call


def _model_curve_fit_call(problem, model_name, use_jac=False):
    """Return ``make_call`` running ``curve_fit`` with a ``lmfast.models`` model.

    The same :class:`lmfast.models.Model` goes to both implementations: lmfast runs its
    compiled code, SciPy calls its NumPy twin. With ``use_jac``, ``jac=model.jac`` goes to
    both (lmfast: the compiled analytic Jacobian; SciPy: its NumPy twin), else both use
    forward differences.

    Parameters
    ----------
    problem : callable
        ``problem()`` returns ``(xdata, ydata, p0)``.
    model_name : str
        Attribute of ``lmfast.models``, looked up when the workload runs.
    use_jac : bool, optional
        Pass ``jac=model.jac``.
    """

    def make_call(fit):
        models = importlib.import_module("lmfast.models")
        model = getattr(models, model_name)
        kwargs = {"jac": model.jac} if use_jac else {}
        xdata, ydata, p0 = problem()
        return lambda: fit(model, xdata, ydata, p0=p0, full_output=True, **kwargs)

    return make_call


def _as_leastsq(problem, *problem_args):
    """Adapt ``problem(*problem_args) -> (t, y, p0)`` to ``() -> (p0, (t, y))``."""

    def leastsq_problem():
        t, y, p0 = problem(*problem_args)
        return p0, (t, y)

    return leastsq_problem


def trivial_problem():
    """Start ``x0 = [0.5, 0.5]`` and no extra arguments, for :func:`trivial_residual`."""
    return np.array([0.5, 0.5]), ()


@dataclass(frozen=True)
class BatchFit:
    """A batch of fits: ``curve_fit_batch`` on all of them against a SciPy loop on a subset.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    model : str or callable
        Name of a ``lmfast.models`` model (compiled path; SciPy calls the model's NumPy
        twin), or a ``curve_fit``-style NumPy function (Python path, both sides).
    m, n : int
        Points per fit and parameters.
    n_fits, quick_n_fits : int
        Number of fits ``N`` (default run and ``--quick``).
    description : str
        One line for ``--list``.
    make_data : callable
        ``make_data(n_fits)`` returns a :class:`BatchData`.
    target : float, optional
        Expected ratio (SciPy time per fit / lmfast time per fit); lower gets a note.
    plain : callable, optional
        For a compiled model: the same formula as a plain NumPy function, as a SciPy user
        would write it. SciPy is also timed with it (a note and ``ratio_plain`` in the
        JSON), since the models' NumPy twins cost more per call than a plain function.
    """

    kind: ClassVar[str] = "batch"
    api: ClassVar[str] = "batch"
    name: str
    model: str | Callable
    m: int
    n: int
    n_fits: int
    quick_n_fits: int
    description: str
    make_data: Callable[[int], BatchData] = field(repr=False)
    target: float | None = None
    plain: Callable | None = field(default=None, repr=False)

    @property
    def compiled(self):
        """True for a ``lmfast.models`` model (its thread scaling is measured too)."""
        return isinstance(self.model, str)


@dataclass(frozen=True)
class PeerFit:
    """Another batch fitter against ``curve_fit_batch`` on the same fits (optional).

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    library : str
        Distribution name shown in the table (``cminpack-numba``, ``lumafit``).
    module : str
        Top-level module that must be importable for the row to exist.
    model : str
        ``lmfast.models`` model of the lmfast side (and the model the peer solver fits).
    m, n, n_fits, quick_n_fits, description, make_data
        As in :class:`BatchFit`.
    make_solver : callable
        ``make_solver()`` imports the peer and returns ``solve(x, y, p0, threads)`` ->
        ``(popt (N, n), success (N,) bool)``; compiled (numba) once, outside the timing.
    base : str
        The :class:`BatchFit` row with the same data (groups bars in ``--plot``).
    """

    kind: ClassVar[str] = "peer"
    name: str
    base: str
    library: str
    module: str
    model: str
    m: int
    n: int
    n_fits: int
    quick_n_fits: int
    description: str
    make_data: Callable[[int], BatchData] = field(repr=False)
    make_solver: Callable[[], Callable] = field(repr=False)

    @property
    def api(self):
        """Shown by ``--list``."""
        return self.library


def installed(module):
    """True when ``module`` (top level) can be imported; does not import it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def default_workloads():
    """Return the workloads of ``python -m lmfast.bench``, in table order.

    Returns
    -------
    tuple of SingleFit, BatchFit and PeerFit
        The workloads; problem data is generated only when a workload runs. Peer rows
        are present only when the peer is installed.
    """
    gauss128 = _as_leastsq(gauss128_problem)
    peaks20k = _as_leastsq(peaks_problem, 20_000, 4)
    return (
        SingleFit(
            "trivial", "leastsq", 3, 2, "r = [x0-1, x1-2, x0*x1-3]: per-call overhead",
            _leastsq_call(trivial_problem, trivial_residual),
        ),
        SingleFit(
            "gauss128-lmdif", "leastsq", 128, 4, "Gaussian + offset, forward differences",
            _leastsq_call(gauss128, peaks_residual),
        ),
        SingleFit(
            "gauss128-lmder", "leastsq", 128, 4, "Gaussian + offset, analytic Dfun (m, n)",
            _leastsq_call(gauss128, peaks_residual, peaks_residual_jacobian),
        ),
        SingleFit(
            "peaks20k-lmder", "leastsq", 20_000, 13, "4 Gaussians + offset, analytic Dfun",
            _leastsq_call(peaks20k, peaks_residual, peaks_residual_jacobian),
        ),
        SingleFit(
            "peaks20k-lmdif", "leastsq", 20_000, 13, "4 Gaussians + offset, forward differences",
            _leastsq_call(peaks20k, peaks_residual),
        ),
        SingleFit(
            "cf-gauss128", "curve_fit", 128, 4, "curve_fit, Gaussian + offset, no jac",
            _curve_fit_call(gauss128_problem, gauss1d),
        ),
        SingleFit(
            "cf-gauss128-jac", "curve_fit", 128, 4, "curve_fit, Gaussian + offset, jac (m, n)",
            _curve_fit_call(gauss128_problem, gauss1d, gauss1d_jac),
        ),
        SingleFit(
            "cf-gauss2d-5x5", "curve_fit", 25, 5, "curve_fit, 2-D Gaussian on 5x5 pixels",
            _curve_fit_call(gauss2d_problem, gauss2d),
        ),
        SingleFit(
            "cf-gauss128-compiled", "curve_fit", 128, 4,
            "curve_fit(models.gaussian): compiled vs NumPy twin, forward differences",
            _model_curve_fit_call(gauss128_problem, "gaussian"),
            requires="lmfast.models", target=5.0,
        ),
        SingleFit(
            "cf-gauss128-compiled-jac", "curve_fit", 128, 4,
            "same with jac=models.gaussian.jac on both sides",
            _model_curve_fit_call(gauss128_problem, "gaussian", use_jac=True),
            requires="lmfast.models", target=5.0,
        ),
    ) + batch_workloads()  # fmt: skip


def batch_workloads():
    """The batch rows, then the peer rows of the peers that are installed."""
    rows = (
        BatchFit(
            "batch-gauss128", "gaussian", 128, 4, 100_000, 20_000,
            "curve_fit_batch(models.gaussian) vs SciPy curve_fit loop",
            gaussian_batch, target=20.0, plain=gauss1d,
        ),
        BatchFit(
            "batch-gauss2d-5x5", "gaussian_2d", 25, 5, 100_000, 20_000,
            "curve_fit_batch(models.gaussian_2d), 5x5 pixels, vs SciPy loop",
            gaussian_2d_batch, target=75.0, plain=gauss2d,
        ),
        BatchFit(
            "batch-py-gauss128", gauss1d, 128, 4, 10_000, 4_000,
            "curve_fit_batch(NumPy function, Python path) vs SciPy loop, same function",
            gaussian_batch, target=8.0,
        ),
    )  # fmt: skip
    peers = (
        PeerFit(
            "batch-gauss128-cminpack-numba", "batch-gauss128", "cminpack-numba", "cminpack_numba",
            "gaussian",
            128, 4, 100_000, 20_000,
            "cminpack-numba lmder, analytic Jacobian, numba prange over fits",
            gaussian_batch, cminpack_numba_solver,
        ),
        PeerFit(
            "batch-gauss128-lumafit", "batch-gauss128", "lumafit", "lumafit", "gaussian",
            128, 4, 100_000, 20_000,
            "lumafit levenberg_marquardt_core, analytic Jacobian, numba prange over fits",
            gaussian_batch, lumafit_solver,
        ),
    )  # fmt: skip
    return rows + tuple(p for p in peers if installed(p.module))


def select_workloads(workloads, only):
    """Filter workloads by ``--only``.

    Parameters
    ----------
    workloads : sequence
        Candidate workloads.
    only : str or None
        Comma-separated patterns. A pattern containing ``*``, ``?`` or ``[`` is a glob
        matched against the whole name, otherwise a substring; matching ignores case.

    Returns
    -------
    list
        Workloads matching any pattern, in their original order (all if ``only`` is empty).
    """
    patterns = [p.strip().lower() for p in (only or "").split(",") if p.strip()]
    if not patterns:
        return list(workloads)

    def matches(name):
        name = name.lower()
        return any(
            fnmatch.fnmatchcase(name, p) if any(ch in p for ch in "*?[") else p in name
            for p in patterns
        )

    return [w for w in workloads if matches(w.name)]


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    """How to time: interleaved rounds, minimum duration of one timing, batch settings."""

    rounds: int = DEFAULT_ROUNDS
    min_time: float = DEFAULT_MIN_TIME
    quick: bool = False  # batch rows: fewer fits
    threads: int | None = None  # ``threads`` of curve_fit_batch (None: all usable cores)


def time_calls(fn, number):
    """Seconds taken by ``number`` calls of ``fn()``, garbage collector disabled.

    Parameters
    ----------
    fn : callable
        Zero-argument callable.
    number : int
        Number of calls.

    Returns
    -------
    float
        Elapsed wall-clock time (``time.perf_counter``) for all calls.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()


def calibrate(fn, min_time, first_call_time=None):
    """Choose the inner repeat count so that one timing lasts about ``1.2 * min_time``.

    Parameters
    ----------
    fn : callable
        Zero-argument callable (already warmed up).
    min_time : float
        Minimum duration of one timing, in seconds.
    first_call_time : float, optional
        Duration of the warm-up call, used as the first estimate.

    Returns
    -------
    int
        Repeat count, at most :data:`MAX_NUMBER`. It is scaled from the faster of two
        timings of at least ``min_time`` each, so that the implementations being
        compared get timings of similar length.
    """
    number = 1
    if first_call_time is not None:  # the first call may be slow: an estimate only
        number = min(MAX_NUMBER, max(1, math.ceil(1.1 * min_time / max(first_call_time, 1e-9))))
    while True:
        elapsed = time_calls(fn, number)
        if elapsed >= min_time or number >= MAX_NUMBER:
            break
        # Aim 10 % above the target, at least double, so the loop ends quickly.
        guess = math.ceil(1.1 * number * min_time / max(elapsed, 1e-9))
        number = min(MAX_NUMBER, max(2 * number, guess))
    # A second timing guards against one slow (disturbed) calibration run.
    per_call = min(elapsed, time_calls(fn, number)) / number
    return min(MAX_NUMBER, max(1, math.ceil(1.2 * min_time / per_call)))


def interleaved_times(calls, numbers, rounds):
    """Per-fit times of several callables, measured in interleaved rounds.

    Parameters
    ----------
    calls : dict of str to callable
        One zero-argument callable per implementation.
    numbers : dict of str to int
        Inner repeat count per implementation.
    rounds : int
        Number of rounds; the order of the implementations is reversed every other round,
        so neither always runs first (caches, turbo, frequency scaling).

    Returns
    -------
    dict of str to list of float
        Seconds per call, one entry per round.
    """
    names = list(calls)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(time_calls(calls[name], numbers[name]) / numbers[name])
    return times


# --------------------------------------------------------------------------------------
# Checking results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitOutcome:
    """The parts of a fit result compared between implementations."""

    x: np.ndarray
    ier: int
    nfev: int

    @classmethod
    def from_full_output(cls, out):
        """Read ``x``, ``ier`` and ``nfev`` from a ``full_output=True`` result.

        Both ``leastsq`` and ``curve_fit`` return ``(x, cov, infodict, mesg, ier)``.
        """
        return cls(np.asarray(out[0], dtype=float).ravel(), int(out[4]), int(out[2]["nfev"]))


def relative_difference(x, ref):
    """Largest elementwise ``|x - ref| / |ref|``, guarded against zero entries of ``ref``.

    Parameters
    ----------
    x, ref : ndarray
        Parameter vectors of equal shape.

    Returns
    -------
    float
        ``inf`` for different shapes or non-finite values.
    """
    if x.shape != ref.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(ref))):
        return math.inf
    if x.size == 0:
        return 0.0
    scale = np.abs(ref) + 1e-6 * np.max(np.abs(ref)) + np.finfo(float).tiny
    return float(np.max(np.abs(x - ref) / scale))


def compare(lm, sp):
    """Compare the outcomes of lmfast and SciPy.

    Returns
    -------
    same : bool
        Same ``ier``, same ``nfev`` and ``x`` within :data:`X_RTOL`.
    xdiff : float
        :func:`relative_difference` of the two ``x``.
    problems : list of str
        Human-readable differences, empty when ``same``.
    """
    xdiff = relative_difference(lm.x, sp.x)
    problems = []
    if lm.ier != sp.ier:
        problems.append(f"ier {lm.ier} vs {sp.ier}")
    if lm.nfev != sp.nfev:
        problems.append(f"nfev {lm.nfev} vs {sp.nfev}")
    if not xdiff <= X_RTOL:
        problems.append(f"x differs by {xdiff:.2g} (relative)")
    return not problems, xdiff, problems


# --------------------------------------------------------------------------------------
# Running workloads
# --------------------------------------------------------------------------------------


@dataclass
class SingleFitResult:
    """Measurements of one :class:`SingleFit` workload (one table row, one JSON record)."""

    kind: ClassVar[str] = "single"
    name: str
    api: str
    m: int
    n: int
    status: str = "ok"  # "ok", "skipped" or "error"
    note: str = ""
    seconds: dict = field(default_factory=dict)  # median seconds per fit, by implementation
    times: dict = field(default_factory=dict)  # seconds per fit of every round
    number: dict = field(default_factory=dict)  # inner repeat count
    ier: dict = field(default_factory=dict)
    nfev: dict = field(default_factory=dict)
    x: dict = field(default_factory=dict)
    spread: dict = field(default_factory=dict)  # MAD / median of the round times
    round_ratios: list = field(default_factory=list)  # SciPy / lmfast, per round
    xdiff: float | None = None
    same: bool | None = None
    warnings: list = field(default_factory=list)

    @property
    def ratio(self):
        """SciPy time / lmfast time (higher is better), or ``None``."""
        if self.status != "ok":
            return None
        return self.seconds["scipy"] / self.seconds["lmfast"]

    def to_json(self):
        """JSON-serialisable record."""
        rec = dataclasses.asdict(self)
        rec["kind"] = self.kind
        rec["ratio"] = self.ratio
        if rec["xdiff"] is not None and not math.isfinite(rec["xdiff"]):
            rec["xdiff"] = None
        return rec


def relative_spread(times):
    """Median absolute deviation of ``times`` divided by their median."""
    med = statistics.median(times)
    return statistics.median(abs(t - med) for t in times) / med if med > 0 else 0.0


def noise_note(spread, round_ratios):
    """Describe unreliable timings, or return ``""``.

    Parameters
    ----------
    spread : dict of str to float
        :func:`relative_spread` of each implementation's round times.
    round_ratios : list of float
        SciPy time / lmfast time of each round. Contention that lasts longer than a
        round can slow one implementation in most rounds without spreading its times;
        it then shows here as ratios that disagree.

    Returns
    -------
    str
    """
    lo, hi = min(round_ratios), max(round_ratios)
    if max(spread.values()) <= NOISY_SPREAD and hi <= lo * (1 + NOISY_RATIO_RANGE):
        return ""
    spreads = ", ".join(f"{impl} {100 * v:.0f}%" for impl, v in spread.items())
    return f"noisy timings (spread {spreads}; ratio per round {lo:.2f}..{hi:.2f})"


def _warm_up(fn):
    """Run ``fn()`` once, recording warnings; return ``(result, seconds, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - start
    return out, elapsed, sorted({f"{w.category.__name__}: {w.message}" for w in caught})


class FitFailed(Exception):
    """A workload could not be run by one implementation (message names which)."""


def run_single_fit(workload, modules, config):
    """Measure one :class:`SingleFit` workload with every implementation.

    Parameters
    ----------
    workload : SingleFit
        The workload.
    modules : dict of str to module
        ``{"lmfast": lmfast, "scipy": scipy.optimize}``.
    config : BenchConfig
        Rounds and minimum timing duration.

    Returns
    -------
    SingleFitResult
        ``status`` is ``"skipped"`` when lmfast lacks ``workload.api`` and ``"error"``
        when a fit raised; the benchmark goes on in both cases.
    """
    res = SingleFitResult(workload.name, workload.api, workload.m, workload.n)
    fits = {impl: getattr(modules[impl], workload.api, None) for impl in IMPLEMENTATIONS}
    if fits["lmfast"] is None:
        res.status, res.note = "skipped", f"lmfast.{workload.api} not available yet"
        return res
    if workload.requires and (missing := import_problem(workload.requires)):
        res.status, res.note = "skipped", missing
        return res
    try:
        calls, first = _check_single_fit(workload, fits, res)
    except FitFailed as exc:  # report and go on with the next workload
        res.status, res.note = "error", str(exc)
        return res
    _time_single_fit(calls, first, config, res)
    if workload.target is not None and res.ratio < workload.target:
        res.note = "; ".join(filter(None, [res.note, f"below target {workload.target:g}x"]))
    return res


def import_problem(module):
    """Import ``module``; return ``""``, or why it is not available."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{module} not available ({type(exc).__name__}: {exc})"
    return ""


def _check_single_fit(workload, fits, res):
    """Run each implementation once, compare the outcomes and store them in ``res``.

    Returns
    -------
    calls : dict of str to callable
        The zero-argument fit of each implementation.
    first : dict of str to float
        Seconds taken by each first call.
    """
    calls, outcomes, first = {}, {}, {}
    for impl in IMPLEMENTATIONS:
        try:
            calls[impl] = workload.make_call(fits[impl])
            out, first[impl], caught = _warm_up(calls[impl])
            outcomes[impl] = FitOutcome.from_full_output(out)
        except Exception as exc:
            raise FitFailed(f"{impl}: {type(exc).__name__}: {exc}") from exc
        res.warnings += [f"{impl}: {w}" for w in caught]
    res.same, res.xdiff, problems = compare(outcomes["lmfast"], outcomes["scipy"])
    res.note = "; ".join(problems)
    for impl, oc in outcomes.items():
        res.ier[impl], res.nfev[impl], res.x[impl] = oc.ier, oc.nfev, oc.x.tolist()
    return calls, first


def _time_single_fit(calls, first, config, res):
    """Calibrate, time in interleaved rounds and store times, spread and notes in ``res``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning machinery must not be timed
        for impl in IMPLEMENTATIONS:
            res.number[impl] = calibrate(calls[impl], config.min_time, first[impl])
        res.times = interleaved_times(calls, res.number, config.rounds)
    res.seconds = {impl: statistics.median(t) for impl, t in res.times.items()}
    res.spread = {impl: relative_spread(t) for impl, t in res.times.items()}
    pairs = zip(res.times["lmfast"], res.times["scipy"], strict=True)
    res.round_ratios = [sp / lm for lm, sp in pairs]
    res.note = "; ".join(filter(None, [res.note, noise_note(res.spread, res.round_ratios)]))


def usable_cpus():
    """Number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(kw_only=True)
class _BatchTimings:
    """Status, timings and agreement of a batch-style row (batch and peer rows).

    ``seconds`` (median), ``times`` (every round) and ``spread`` (MAD / median of the
    round times) are per fit and keyed by implementation; ``"lmfast"`` is always one.
    """

    status: str = "ok"  # "ok", "skipped" or "error"
    note: str = ""
    seconds: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    spread: dict = field(default_factory=dict)
    round_ratios: list = field(default_factory=list)  # other / lmfast, per round
    agreement: dict = field(default_factory=dict)  # see batch_agreement
    agree: bool | None = None
    other_load: float | None = None  # CPUs used by other processes during the rounds
    warnings: list = field(default_factory=list)

    def per_lmfast(self, key):
        """``seconds[key]`` / lmfast's seconds per fit, or ``None`` if not measured."""
        if self.status != "ok" or key not in self.seconds:
            return None
        return self.seconds[key] / self.seconds["lmfast"]

    @property
    def fits_per_second(self):
        """Fits per second of each measured implementation."""
        return {impl: 1.0 / s for impl, s in self.seconds.items() if s > 0}

    def to_json(self):
        """JSON-serialisable record."""
        rec = dataclasses.asdict(self)
        rec.update(kind=self.kind, ratio=self.ratio, fits_per_second=self.fits_per_second)
        return rec


@dataclass
class BatchFitResult(_BatchTimings):
    """Measurements of one :class:`BatchFit` workload (one table row, one JSON record).

    ``seconds`` keys: ``"lmfast"`` (the ``threads`` shown), ``"lmfast_1t"``
    (``threads=1``, compiled models only), ``"scipy"`` (the loop over the first
    ``subset`` fits) and ``"scipy_plain"`` (the same loop with the workload's plain NumPy
    function, compiled models only).
    """

    kind: ClassVar[str] = "batch"
    name: str
    m: int
    n: int
    n_fits: int
    subset: int
    threads: int
    target: float | None = None
    threads_identical: bool | None = None  # threads=1 gave bitwise the same popt/ier

    @property
    def ratio(self):
        """SciPy time per fit / lmfast time per fit (higher is better), or ``None``."""
        return self.per_lmfast("scipy")

    @property
    def scaling(self):
        """Time with ``threads=1`` / time with ``threads``, or ``None`` if not measured."""
        return self.per_lmfast("lmfast_1t")

    @property
    def ratio_plain(self):
        """SciPy (plain NumPy function) time per fit / lmfast time per fit, or ``None``."""
        return self.per_lmfast("scipy_plain")

    def to_json(self):
        """JSON-serialisable record."""
        rec = super().to_json()
        rec.update(scaling=self.scaling, ratio_plain=self.ratio_plain)
        return rec


@dataclass
class PeerFitResult(_BatchTimings):
    """Measurements of one :class:`PeerFit` workload: ``seconds`` keyed by ``"peer"`` and
    ``"lmfast"``, per fit, both over all ``n_fits`` fits."""

    kind: ClassVar[str] = "peer"
    name: str
    base: str
    library: str
    model: str
    m: int
    n: int
    n_fits: int
    threads: int

    @property
    def ratio(self):
        """Peer time per fit / lmfast time per fit (> 1: lmfast is faster), or ``None``."""
        return self.per_lmfast("peer")


def scipy_fit_loop(curve_fit, f, data, count):
    """Fit the first ``count`` rows of ``data`` one by one with SciPy's ``curve_fit``.

    Parameters
    ----------
    curve_fit : callable
        ``scipy.optimize.curve_fit``.
    f : callable
        Model, called as ``f(x, *params)``.
    data : BatchData
        The batch.
    count : int
        Number of fits, from the first row.

    Returns
    -------
    popt : ndarray, shape (count, n)
        NaN rows where SciPy raised ``RuntimeError`` (``ier`` not in 1..4: SciPy raises
        then, even with ``full_output=True``).
    ier : ndarray of int, shape (count,)
        SciPy's ``ier``, 0 where it raised.
    """
    popt = np.full((count, data.p0.shape[1]), np.nan)
    ier = np.zeros(count, dtype=int)
    for i in range(count):
        try:
            out = curve_fit(f, data.x, data.y[i], p0=data.p0[i], full_output=True)
        except RuntimeError:
            continue
        popt[i], ier[i] = out[0], out[4]
    return popt, ier


def batch_agreement(lm_popt, lm_ier, ref_popt, ref_ier):
    """Compare per-fit outcomes of lmfast and a reference on the same fits.

    Parameters
    ----------
    lm_popt, ref_popt : ndarray, shape (k, n)
        Fitted parameters.
    lm_ier, ref_ier : ndarray of int, shape (k,)
        Status codes; 1..4 is success for both.

    Returns
    -------
    agreement : dict
        ``fits``; ``success`` of each side and ``success_match`` (fractions);
        ``solved_by_both``; ``median_xdiff``, ``max_xdiff`` (:func:`relative_difference`
        per fit, over the fits both solved, ``None`` if there are none) and
        ``within_rtol`` (fraction of those within :data:`BATCH_X_RTOL`).
    agree : bool
        Success flags match on at least :data:`BATCH_SUCCESS_MATCH` of the fits and the
        median difference is at most :data:`BATCH_X_RTOL`.
    """
    lm_ok = (lm_ier >= 1) & (lm_ier <= 4)
    ref_ok = (ref_ier >= 1) & (ref_ier <= 4)
    both = np.flatnonzero(lm_ok & ref_ok)
    diffs = np.array([relative_difference(lm_popt[i], ref_popt[i]) for i in both])
    finite = diffs[np.isfinite(diffs)]
    agreement = {
        "fits": int(lm_ier.size),
        "success": {"lmfast": float(lm_ok.mean()), "reference": float(ref_ok.mean())},
        "success_match": float((lm_ok == ref_ok).mean()),
        "solved_by_both": int(both.size),
        "median_xdiff": float(np.median(diffs)) if diffs.size else None,
        "max_xdiff": float(finite.max()) if finite.size else None,
        "within_rtol": float((diffs <= BATCH_X_RTOL).mean()) if diffs.size else None,
    }
    agree = (
        agreement["success_match"] >= BATCH_SUCCESS_MATCH
        and agreement["median_xdiff"] is not None
        and agreement["median_xdiff"] <= BATCH_X_RTOL
    )
    if agreement["median_xdiff"] is not None and not math.isfinite(agreement["median_xdiff"]):
        agreement["median_xdiff"] = None
    return agreement, bool(agree)


def _batch_inputs(workload, modules):
    """``(curve_fit_batch, model)`` of a batch or peer row, or why it is skipped."""
    batch = getattr(modules["lmfast"], "curve_fit_batch", None)
    if batch is None:
        return "lmfast.curve_fit_batch not available yet"
    model = workload.model
    if isinstance(model, str):
        if missing := import_problem("lmfast.models"):
            return missing
        model = getattr(importlib.import_module("lmfast.models"), model, None)
        if model is None:
            return f"lmfast.models.{workload.model} not available yet"
    return batch, model


#: Other processes using more CPUs than this during a batch row's timings get a note.
BUSY_CPUS = 0.25


def _busy_seconds():
    """``(busy CPU seconds of the whole machine, CPU seconds of this process)``.

    Machine figures come from ``/proc/stat`` (Linux); ``None`` elsewhere.
    """
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    ours = usage.ru_utime + usage.ru_stime
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None, ours
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), ours


def other_load(before, after, seconds):
    """Average number of CPUs used by other processes between two :func:`_busy_seconds`.

    Returns ``None`` when the machine figures are unavailable.
    """
    if before[0] is None or after[0] is None or seconds <= 0:
        return None
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / seconds)


def _busy_note(load):
    """Note for a row timed while other processes were busy, or ``""``."""
    if load is None or load < BUSY_CPUS:
        return ""
    return (
        f"other processes used {load:.1f} CPUs during the timings: fits/s and thread "
        "scaling are unreliable"
    )


def _time_batch(calls, counts, config):
    """Interleaved rounds of one call each; return per-fit times and their medians.

    Parameters
    ----------
    calls : dict of str to callable
        One zero-argument callable per implementation.
    counts : dict of str to int
        Fits done by one call of each implementation.
    config : BenchConfig
        Rounds.

    Returns
    -------
    times : dict of str to list of float
        Seconds per fit, per round.
    seconds : dict of str to float
        Median seconds per fit.
    spread : dict of str to float
        :func:`relative_spread` of each implementation.
    load : float or None
        :func:`other_load` over the rounds.
    """
    before, start = _busy_seconds(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's OptimizeWarning must not be timed
        raw = interleaved_times(calls, dict.fromkeys(calls, 1), config.rounds)
    load = other_load(before, _busy_seconds(), time.perf_counter() - start)
    times = {impl: [t / counts[impl] for t in ts] for impl, ts in raw.items()}
    seconds = {impl: statistics.median(t) for impl, t in times.items()}
    spread = {impl: relative_spread(t) for impl, t in times.items()}
    return times, seconds, spread, load


def run_batch_fit(workload, modules, config):
    """Measure one :class:`BatchFit` workload.

    One round times ``curve_fit_batch`` on all fits (with ``config.threads``, and for
    compiled models also with ``threads=1``) and SciPy's ``curve_fit`` in a loop over the
    first fits; the order reverses every other round. Before timing, each runs once: the
    outcomes give the agreement on the subset and whether ``threads=1`` returned bitwise
    the same ``popt`` and ``ier``.

    Returns
    -------
    BatchFitResult
        ``status`` is ``"skipped"`` when lmfast lacks the batch API or the model and
        ``"error"`` when a call raised.
    """
    threads = config.threads or usable_cpus()
    inputs = _batch_inputs(workload, modules)
    n_fits = workload.quick_n_fits if config.quick else workload.n_fits
    subset = min(QUICK_BATCH_SUBSET if config.quick else BATCH_SUBSET, n_fits)
    res = BatchFitResult(
        workload.name, workload.m, workload.n, n_fits, subset, threads, target=workload.target
    )
    if isinstance(inputs, str):
        res.status, res.note = "skipped", inputs
        return res
    batch, model = inputs
    data = workload.make_data(n_fits)
    calls = {"lmfast": lambda: batch(model, data.x, data.y, data.p0, threads=config.threads)}
    if workload.compiled and threads > 1:
        calls["lmfast_1t"] = lambda: batch(model, data.x, data.y, data.p0, threads=1)
    curve_fit = modules["scipy"].curve_fit
    calls["scipy"] = lambda: scipy_fit_loop(curve_fit, model, data, subset)
    if workload.compiled and workload.plain is not None:
        calls["scipy_plain"] = lambda: scipy_fit_loop(curve_fit, workload.plain, data, subset)
    outs = {}
    for impl, call in calls.items():
        try:
            outs[impl], _, caught = _warm_up(call)
        except Exception as exc:
            res.status, res.note = "error", f"{impl}: {type(exc).__name__}: {exc}"
            return res
        res.warnings += [f"{impl}: {w}" for w in caught]
    lm, (sp_popt, sp_ier) = outs.pop("lmfast"), outs.pop("scipy")
    outs.pop("scipy_plain", None)
    notes = []
    if "lmfast_1t" in outs:
        one = outs.pop("lmfast_1t")
        res.threads_identical = bool(
            np.array_equal(lm.popt, one.popt, equal_nan=True) and np.array_equal(lm.ier, one.ier)
        )
        if not res.threads_identical:
            notes.append(f"threads=1 and threads={threads} results differ (must be bitwise equal)")
        del one
    res.agreement, res.agree = batch_agreement(
        np.asarray(lm.popt)[:subset], np.asarray(lm.ier)[:subset], sp_popt, sp_ier
    )
    res.agreement["success_all_lmfast"] = float(np.mean(lm.success))
    del lm  # free the warm-up result before timing
    counts = {impl: subset if impl.startswith("scipy") else n_fits for impl in calls}
    res.times, res.seconds, res.spread, res.other_load = _time_batch(calls, counts, config)
    pairs = zip(res.times["lmfast"], res.times["scipy"], strict=True)
    res.round_ratios = [sp / lm for lm, sp in pairs]
    notes += [_busy_note(res.other_load), noise_note(res.spread, res.round_ratios)]
    if res.ratio_plain is not None:
        notes.append(
            f"SciPy with the plain NumPy function {workload.plain.__name__}: "
            f"{_fmt_us(res.seconds['scipy_plain'])} {_mu()}s/fit, ratio {res.ratio_plain:.1f}"
        )
    if workload.target is not None and res.ratio < workload.target:
        notes.append(f"ratio below target {workload.target:g}x")
    if res.scaling is not None and res.scaling < THREAD_TARGET / 2 * threads:
        notes.append(
            f"{threads}T/1T below target {THREAD_TARGET / 2 * threads:.2g}x (0.9 per thread)"
        )
    res.note = "; ".join(filter(None, notes))
    return res


def run_peer_fit(workload, modules, config):
    """Measure one :class:`PeerFit` workload: the peer and ``curve_fit_batch`` on all fits.

    Both use ``config.threads`` (numba's ``set_num_threads`` for the peer). The peer is
    compiled on four fits before anything is timed. Agreement is measured against lmfast
    over all fits. A peer that cannot be imported, compiled or run gives a ``"skipped"``
    row: peers never make the benchmark fail.

    Returns
    -------
    PeerFitResult
    """
    threads = config.threads or usable_cpus()
    inputs = _batch_inputs(workload, modules)
    n_fits = workload.quick_n_fits if config.quick else workload.n_fits
    res = PeerFitResult(
        workload.name, workload.base, workload.library, workload.model,
        workload.m, workload.n, n_fits, threads,
    )  # fmt: skip
    if isinstance(inputs, str):
        res.status, res.note = "skipped", inputs
        return res
    batch, model = inputs
    data = workload.make_data(n_fits)
    try:
        solve = workload.make_solver()
        solve(data.x, data.y[:4].copy(), data.p0[:4].copy(), threads)  # numba compiles here
    except Exception as exc:
        res.status = "skipped"
        res.note = f"{workload.library} unusable: {type(exc).__name__}: {exc}"
        return res
    calls = {
        "lmfast": lambda: batch(model, data.x, data.y, data.p0, threads=config.threads),
        "peer": lambda: solve(data.x, data.y, data.p0, threads),
    }
    outs = {}
    for impl, call in calls.items():
        try:
            outs[impl], _, caught = _warm_up(call)
        except Exception as exc:
            res.status = "error" if impl == "lmfast" else "skipped"
            res.note = f"{impl}: {type(exc).__name__}: {exc}"
            return res
        res.warnings += [f"{impl}: {w}" for w in caught]
    peer_popt, peer_ok = outs["peer"]
    res.agreement, res.agree = batch_agreement(
        np.asarray(outs["lmfast"].popt), np.asarray(outs["lmfast"].ier),
        peer_popt, peer_ok.astype(int),
    )  # fmt: skip
    del outs
    counts = dict.fromkeys(calls, n_fits)
    res.times, res.seconds, res.spread, res.other_load = _time_batch(calls, counts, config)
    pairs = zip(res.times["lmfast"], res.times["peer"], strict=True)
    res.round_ratios = [peer / lm for lm, peer in pairs]
    notes = [_busy_note(res.other_load), noise_note(res.spread, res.round_ratios)]
    res.note = "; ".join(filter(None, notes))
    return res


# --------------------------------------------------------------------------------------
# Peers (optional; imported only when their rows run)
# --------------------------------------------------------------------------------------


def _numba_threads(numba, threads):
    """Set numba's thread count for the next parallel call (at most its pool size)."""
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def cminpack_numba_solver():
    """Batch Gaussian fits with cminpack-numba: MINPACK ``lmder`` per fit, ``prange``.

    The residual callback is a numba ``cfunc`` of cminpack's ``lmder`` signature; its
    user-data pointer carries one fit's ``x`` then ``y``. The Jacobian is analytic, as
    in ``curve_fit_batch(models.gaussian, ...)``; tolerances are cminpack-numba's
    defaults (MINPACK's ``ftol = xtol = 1.49012e-8``, ``gtol = 0``).

    Returns
    -------
    callable
        ``solve(x, y, p0, threads) -> (popt, success)``.
    """
    import math

    import cminpack_numba
    import numba
    from numba import carray, cfunc, njit, prange, types

    signature = cminpack_numba.CminpackSignature.lmder(types.CPointer(types.float64))

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

    address = gaussian_lmder.address
    lmder = cminpack_numba.lmder

    @njit(parallel=True)
    def fit_all(x, y, p0, popt, info):  # pragma: no cover
        n_fits, m = y.shape
        for k in prange(n_fits):
            udata = np.empty(2 * m)
            udata[:m] = x
            udata[m:] = y[k]
            out = lmder(address, np.int32(m), p0[k].copy(), udata=udata)
            popt[k] = out[0]
            info[k] = out[7]

    def solve(x, y, p0, threads):
        _numba_threads(numba, threads)
        popt = np.empty_like(p0)
        info = np.zeros(y.shape[0], dtype=np.int32)
        fit_all(x, y, p0, popt, info)
        return popt, (info >= 1) & (info <= 4)

    return solve


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


#: kind -> function(workload, modules, config) returning a result object.
RUNNERS = {"single": run_single_fit, "batch": run_batch_fit, "peer": run_peer_fit}


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _mu():
    """``"µ"`` if stdout can encode it, else ``"u"``."""
    try:
        "µ".encode(sys.stdout.encoding or "ascii")
        return "µ"
    except (UnicodeEncodeError, LookupError):
        return "u"


def _fmt_us(seconds):
    """Seconds as microseconds with at least three significant digits."""
    us = seconds * 1e6
    return f"{us:.2f}" if us < 100 else f"{us:.1f}" if us < 10_000 else f"{us:.0f}"


class SingleFitTable:
    """Fixed-width table of :class:`SingleFitResult` rows, printed row by row."""

    def __init__(self, name_width=16):
        mu = _mu()
        self.columns = [
            ("workload", max(name_width, 8), "<"),
            ("m", 6, ">"),
            ("n", 3, ">"),
            (f"lmfast {mu}s/fit", 15, ">"),
            (f"SciPy {mu}s/fit", 14, ">"),
            ("ratio", 7, ">"),
            ("nfev lm/sp", 11, ">"),
            ("ier lm/sp", 9, ">"),
            ("same", 4, "<"),
        ]

    def _line(self, cells):
        return "  ".join(
            f"{c:{a}{w}}" for c, (_, w, a) in zip(cells, self.columns, strict=True)
        ).rstrip()

    def header(self):
        """Title line and rule."""
        line = self._line([c[0] for c in self.columns])
        return line + "\n" + "-" * len(line)

    def row(self, r):
        """One line for a result (skipped and failed rows show their status)."""
        if r.status != "ok":
            return self._line([r.name, r.m, r.n, r.status, "", "", "", "", ""])
        return self._line(
            [
                r.name,
                r.m,
                r.n,
                _fmt_us(r.seconds["lmfast"]),
                _fmt_us(r.seconds["scipy"]),
                f"{r.ratio:.2f}",
                f"{r.nfev['lmfast']}/{r.nfev['scipy']}",
                f"{r.ier['lmfast']}/{r.ier['scipy']}",
                "yes" if r.same else "NO",
            ]
        )

    @staticmethod
    def notes(results):
        """Note lines for skipped, failed and mismatching rows, and caught warnings."""
        lines = []
        for r in results:
            if r.note:
                lines.append(f"note: {r.name}: {r.note}")
            lines += [f"note: {r.name}: warning from {w}" for w in r.warnings]
        return lines

    footer = (
        "ratio = SciPy time / lmfast time per fit: higher is better, > 1 means lmfast is faster.\n"
        "Times are medians over the rounds; each round times lmfast and SciPy back to back in\n"
        "this process (order alternating), repeating each call for at least the minimum time.\n"
        "same = same ier, same nfev and x equal to 1e-6 relative (calls use full_output=True)."
    )


def _fmt_rate(per_second):
    """Fits per second with thousands separators (three significant digits below 100)."""
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.3g}"


def _fmt_agree(agree, agreement):
    """``yes``/``NO`` and the median relative popt difference."""
    med = agreement.get("median_xdiff")
    return ("yes" if agree else "NO") + ("" if med is None else f" {med:.0e}")


def _agreement_note(name, agreement, reference, extra=""):
    """One note line spelling out :func:`batch_agreement`."""
    a = agreement
    diff = (
        "no fit solved by both"
        if a["median_xdiff"] is None
        else f"popt relative difference median {a['median_xdiff']:.1e}, "
        f"max {a['max_xdiff'] if a['max_xdiff'] is not None else math.inf:.1e}, "
        f"{100 * a['within_rtol']:.1f}% within {BATCH_X_RTOL:g}"
    )
    return (
        f"note: {name}: {a['fits']} fits compared with {reference}: success lmfast "
        f"{100 * a['success']['lmfast']:.1f}%{extra}, {reference} "
        f"{100 * a['success']['reference']:.1f}%, same flag {100 * a['success_match']:.1f}%; "
        f"{diff}"
    )


class _FixedWidthTable:
    """Shared layout of the fixed-width tables: ``self.columns`` of (title, width, align)."""

    columns = ()

    def _line(self, cells):
        return "  ".join(
            f"{c:{a}{w}}" for c, (_, w, a) in zip(cells, self.columns, strict=True)
        ).rstrip()

    def header(self):
        """Title line and rule."""
        line = self._line([c[0] for c in self.columns])
        return line + "\n" + "-" * len(line)


class BatchFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`BatchFitResult` rows, printed row by row."""

    def __init__(self, name_width=16):
        mu = _mu()
        self.columns = [
            ("workload", max(name_width, 8), "<"),
            ("m", 4, ">"),
            ("n", 2, ">"),
            ("N", 7, ">"),
            ("threads", 7, ">"),
            ("lmfast fits/s", 13, ">"),
            (f"SciPy {mu}s/fit", 13, ">"),
            ("ratio", 6, ">"),
            ("T/1T", 5, ">"),
            ("agree", 9, "<"),
        ]

    def row(self, r):
        """One line for a result (skipped and failed rows show their status)."""
        if r.status != "ok":
            return self._line([r.name, r.m, r.n, r.n_fits, r.threads, r.status] + [""] * 4)
        return self._line(
            [
                r.name,
                r.m,
                r.n,
                r.n_fits,
                r.threads,
                _fmt_rate(1.0 / r.seconds["lmfast"]),
                _fmt_us(r.seconds["scipy"]),
                f"{r.ratio:.1f}",
                "-" if r.scaling is None else f"{r.scaling:.2f}",
                _fmt_agree(r.agree, r.agreement),
            ]
        )

    @staticmethod
    def notes(results):
        """Agreement of every measured row, then skips, failures, targets and warnings."""
        lines = []
        for r in results:
            if r.agreement:
                extra = f" (all {r.n_fits}: {100 * r.agreement['success_all_lmfast']:.1f}%)"
                lines.append(_agreement_note(r.name, r.agreement, "SciPy", extra))
            if r.note:
                lines.append(f"note: {r.name}: {r.note}")
            lines += [f"note: {r.name}: warning from {w}" for w in r.warnings]
        return lines

    footer = (
        "lmfast fits/s: one curve_fit_batch call over all N fits (threads as shown).\n"
        "SciPy: a loop of scipy.optimize.curve_fit(f, x, y_i, p0_i, full_output=True) over the\n"
        "first fits (the subset); compiled rows give SciPy the model's NumPy twin (a note\n"
        "gives SciPy with the same formula as a plain NumPy function).\n"
        "ratio = SciPy time per fit / lmfast time per fit: higher is better.\n"
        "T/1T = time with threads=1 / time with the threads shown (compiled models only).\n"
        "Medians over the rounds; each round runs every side once, order alternating.\n"
        f"agree = yes when success (ier 1..4) matches on >= {100 * BATCH_SUCCESS_MATCH:g}% of "
        "the subset and the\nmedian relative popt difference of the fits both solved is <= "
        f"{BATCH_X_RTOL:g}; the number is that median."
    )


class PeerFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`PeerFitResult` rows, printed row by row."""

    def __init__(self, name_width=16):
        self.columns = [
            ("workload", max(name_width, 8), "<"),
            ("library", 14, "<"),
            ("m", 4, ">"),
            ("n", 2, ">"),
            ("N", 7, ">"),
            ("threads", 7, ">"),
            ("peer fits/s", 12, ">"),
            ("lmfast fits/s", 13, ">"),
            ("lm/peer", 7, ">"),
            ("agree", 9, "<"),
        ]

    def row(self, r):
        """One line for a result (skipped and failed rows show their status)."""
        if r.status != "ok":
            return self._line(
                [r.name, r.library, r.m, r.n, r.n_fits, r.threads, r.status] + [""] * 3
            )
        return self._line(
            [
                r.name,
                r.library,
                r.m,
                r.n,
                r.n_fits,
                r.threads,
                _fmt_rate(1.0 / r.seconds["peer"]),
                _fmt_rate(1.0 / r.seconds["lmfast"]),
                f"{r.ratio:.2f}",
                _fmt_agree(r.agree, r.agreement),
            ]
        )

    @staticmethod
    def notes(results):
        """Agreement of every measured row, then skips, failures and warnings."""
        lines = []
        for r in results:
            if r.agreement:
                lines.append(_agreement_note(r.name, r.agreement, r.library))
            if r.note:
                lines.append(f"note: {r.name}: {r.note}")
            lines += [f"note: {r.name}: warning from {w}" for w in r.warnings]
        return lines

    footer = (
        "Other batch fitters on the same fits as curve_fit_batch (all N fits each, same\n"
        "threads), shown only when installed. lm/peer = peer time / lmfast time: > 1 means\n"
        "lmfast is faster. lmfast also returns pcov, perr, chisq, nfev and njev of every fit;\n"
        "the peer rows keep popt and a success flag only.\n"
        "agree compares the peer with lmfast (success flags, median relative popt difference)."
    )


#: kind -> table class printing results of that kind.
TABLES = {"single": SingleFitTable, "batch": BatchFitTable, "peer": PeerFitTable}


def versions(lmfast_module=None, scipy_module=None):
    """Versions and machine facts for the header and the JSON file.

    Parameters
    ----------
    lmfast_module, scipy_module : module, optional
        The imported packages (versions are ``None`` when not given).

    Returns
    -------
    dict
    """
    lm_version = None
    if lmfast_module is not None:
        lm_version = getattr(lmfast_module, "__version__", None)
        if lm_version is None:
            try:
                from importlib.metadata import version

                lm_version = version("fastminpack")
            except Exception:
                lm_version = "unknown"
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "lmfast": lm_version,
        "lmfast_path": getattr(lmfast_module, "__file__", None),
        "numpy": np.__version__,
        "scipy": getattr(scipy_module, "__version__", None),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
    }


THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_model():
    """CPU model name from ``/proc/cpuinfo`` (Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_header(info, config):
    """Header lines: versions, machine and timing settings."""
    env = " ".join(f"{k}={v}" for k, v in info["env"].items())
    return (
        f"lmfast {info['lmfast']} ({info['lmfast_path']})\n"
        f"numpy {info['numpy']}, scipy {info['scipy']}, Python {info['python']}, "
        f"{info['cpu_count']} CPUs ({info['cpu_usable']} usable), {info['cpu']}"
        + (f"\n{env}" if env else "")
        + f"\n{config.rounds} rounds, each timing >= {config.min_time * 1e3:g} ms\n"
    )


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def parse_args(argv=None):
    """Parse the command line of ``python -m lmfast.bench``."""
    p = argparse.ArgumentParser(
        prog="python -m lmfast.bench",
        description="Time lmfast against scipy.optimize on a few fits (same process, interleaved).",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROUNDS} rounds and shorter timings, for a quick look",
    )
    p.add_argument(
        "--only",
        metavar="PATTERN[,PATTERN]",
        help="run workloads whose name contains PATTERN (or matches it as a glob)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        metavar="N",
        help=f"interleaved rounds (default {DEFAULT_ROUNDS}, --quick {QUICK_ROUNDS})",
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads of curve_fit_batch and of the peers (default: every usable core)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw fits/s per workload and library to FILE (PNG, SVG, PDF; needs matplotlib)",
    )
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = p.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be at least 1")
    return args


def list_workloads(workloads):
    """Print one line per workload for ``--list``."""
    width = max([16] + [len(w.name) for w in workloads])
    for w in workloads:
        size = f"m={w.m:<6} n={w.n:<3}"
        if w.kind in ("batch", "peer"):
            size += f" N={w.n_fits} (--quick {w.quick_n_fits})"
        print(f"{w.name:<{width}}  {w.kind:<6}  {w.api:<14}  {size}  {w.description}")


def run_all(workloads, modules, config, out=sys.stdout):
    """Run workloads, printing each kind's table row by row.

    Returns
    -------
    list
        Result objects, in workload order.
    """
    results = []
    kinds = list(dict.fromkeys(w.kind for w in workloads))
    for kind in kinds:
        group = [w for w in workloads if w.kind == kind]
        table = TABLES[kind](name_width=max(len(w.name) for w in group))
        print(table.header(), file=out, flush=True)
        done = []
        for w in group:
            r = RUNNERS[kind](w, modules, config)
            print(table.row(r), file=out, flush=True)
            done.append(r)
        for line in table.notes(done):
            print(line, file=out)
        print("\n" + table.footer + "\n", file=out, flush=True)
        results += done
    return results


def write_json(path, info, config, results):
    """Write header facts, settings and results to ``path``."""
    doc = {
        "versions": info,
        "config": dataclasses.asdict(config),
        "results": [r.to_json() for r in results],
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")


def plot_results(results, path):
    """Draw a bar chart of fits per second, per workload and library, to ``path``.

    Every measured row is a group of bars: lmfast (batch rows: with the threads used and
    with one thread), SciPy, and the peers sharing the batch row's data. The axis is
    logarithmic (single fits and batches differ by orders of magnitude).

    Returns
    -------
    bool
        False when no row was measured (nothing drawn).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {}  # workload -> {library label: fits per second}
    for r in results:
        if r.status != "ok":
            continue
        if r.kind == "peer":
            groups.setdefault(r.base, {})[r.library] = 1.0 / r.seconds["peer"]
            continue
        bars = groups.setdefault(r.name, {})
        if r.kind == "batch":
            bars[f"lmfast ({r.threads} threads)"] = 1.0 / r.seconds["lmfast"]
            if "lmfast_1t" in r.seconds:
                bars["lmfast (1 thread)"] = 1.0 / r.seconds["lmfast_1t"]
            bars["SciPy"] = 1.0 / r.seconds["scipy"]
            if "scipy_plain" in r.seconds:
                bars["SciPy, plain NumPy function"] = 1.0 / r.seconds["scipy_plain"]
        else:
            bars["lmfast (single fit)"] = 1.0 / r.seconds["lmfast"]
            bars["SciPy"] = 1.0 / r.seconds["scipy"]
    if not groups:
        return False
    labels = list(dict.fromkeys(label for bars in groups.values() for label in bars))
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(max(6.0, 3.5 + 1.1 * len(groups)), 4.8))
    for j, label in enumerate(labels):
        offsets = [i + (j - (len(labels) - 1) / 2) * width for i in range(len(groups))]
        values = [bars.get(label, np.nan) for bars in groups.values()]
        ax.bar(offsets, values, width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right")
    ax.set_ylabel("fits per second (log scale)")
    ax.set_title("lmfast against SciPy and peers (python -m lmfast.bench)")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


PLOT_MISSING = "--plot needs matplotlib: pip install matplotlib (nothing was run)"


def main(argv=None):
    """Entry point of ``python -m lmfast.bench``.

    Returns
    -------
    int
        0 on success, 1 if SciPy is missing or a workload raised, 2 for bad arguments
        (including ``--plot`` without matplotlib).
    """
    args = parse_args(argv)
    workloads = select_workloads(default_workloads(), args.only)
    if args.list:
        list_workloads(workloads)
        return 0
    if not workloads:
        print(f"no workload matches --only {args.only!r} (see --list)", file=sys.stderr)
        return 2
    if args.plot and not installed("matplotlib"):
        print(PLOT_MISSING, file=sys.stderr)
        return 2
    if args.quick and not args.only and any(w.kind == "peer" for w in workloads):
        # numba compiles each peer for tens of seconds: not a quick look unless asked for.
        workloads = [w for w in workloads if w.kind != "peer"]
        print("note: --quick leaves out the peer rows; name them in --only to run them\n")
    try:
        import scipy
        import scipy.optimize
    except ImportError:
        print(SCIPY_MISSING, file=sys.stderr)
        return 1
    import lmfast

    config = BenchConfig(
        rounds=args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS),
        min_time=QUICK_MIN_TIME if args.quick else DEFAULT_MIN_TIME,
        quick=args.quick,
        threads=args.threads,
    )
    info = versions(lmfast, scipy)
    print(format_header(info, config), flush=True)
    results = run_all(workloads, {"lmfast": lmfast, "scipy": scipy.optimize}, config)
    if args.json:
        write_json(args.json, info, config, results)
        print(f"results written to {args.json}")
    if args.plot:
        if plot_results(results, args.plot):
            print(f"plot written to {args.plot}")
        else:
            print("note: --plot: no measured row, nothing drawn")
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
