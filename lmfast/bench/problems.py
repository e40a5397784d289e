"""Problems and data of the benchmark, plain NumPy, shared by every implementation.

Single-fit problems return their data and starting point (``*_problem``); batch
generators return a :class:`BatchData` of ``N`` fits. Everything is synthetic with fixed
seeds.
"""

from dataclasses import dataclass

import numpy as np

#: Rows generated at once by the batch data generators (bounds their temporaries).
BLOCK_ROWS = 8192


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


def trivial_problem():
    """Start ``x0 = [0.5, 0.5]`` and no extra arguments, for :func:`trivial_residual`."""
    return np.array([0.5, 0.5]), ()


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


#: Bounds of the bounded Gaussian rows: amplitude and width positive, the centre inside the
#: window, the offset free (the solution lies inside them): gauss128_problem's window is
#: [-5, 5], gaussian_batch's [0, 10].
GAUSS_BOUNDS = ([0.0, -5.0, 0.05, -np.inf], [20.0, 5.0, 10.0, np.inf])
BATCH_GAUSS_BOUNDS = ([0.0, 0.0, 0.05, -np.inf], [30.0, 10.0, 10.0, np.inf])


#: The robust rows: loss and f_scale of both sides (f_scale twice the noise of the spiky
#: data, so the spikes are far outliers) and the tolerances both run to: the default
#: tests of MINPACK and of trf stop at different distances from a robust minimum (trf's
#: up to 1.4e-6 from it on these data; at 1e-10, within 1e-7, at no extra evaluation).
ROBUST_OPTIONS = {"loss": "soft_l1", "f_scale": 0.1, "ftol": 1e-10, "xtol": 1e-10,
                  "gtol": 1e-10}


def _spikes(rng, y, fraction=0.05):
    """Add cosmic-ray spikes in place: ``fraction`` of each row's points get ``U(2, 5)``."""
    k, m = y.shape
    hits = max(1, round(fraction * m))
    rows = np.repeat(np.arange(k), hits)
    cols = np.argsort(rng.random((k, m)), axis=1)[:, :hits].ravel()  # distinct per row
    y[rows, cols] += rng.uniform(2.0, 5.0, rows.size)


def spiky_gauss_problem(seed=0, m=200):
    """One Gaussian plus offset with noise 0.05 and 5 % of its points hit by a spike.

    Returns
    -------
    t, y : ndarray, shape (m,)
        Abscissae on ``[-5, 5]`` and data (``a=3, mu=0.3, s=1, c=0.2``; spikes of +2 to
        +5, cosmic rays).
    p0 : ndarray, shape (4,)
        Starting point ``[2.5, 0, 1.2, 0]``.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(-5.0, 5.0, m)
    y = gauss1d(t, 3.0, 0.3, 1.0, 0.2) + 0.05 * rng.standard_normal(m)
    _spikes(rng, y[np.newaxis])
    return t, y, np.array([2.5, 0.0, 1.2, 0.0])


def _blocks(n_fits, m, n_params):
    """``y`` (N, m) and ``p0`` (N, n_params), uninitialised, and an iterator over their
    blocks of at most :data:`BLOCK_ROWS` rows: ``(k, y rows, p0 rows)``, views to fill in
    place (so that temporaries stay small next to ``y``)."""
    y = np.empty((n_fits, m))
    p0 = np.empty((n_fits, n_params))
    blocks = (
        (min(BLOCK_ROWS, n_fits - start), y[start : start + BLOCK_ROWS],
         p0[start : start + BLOCK_ROWS])
        for start in range(0, n_fits, BLOCK_ROWS)
    )  # fmt: skip
    return y, p0, blocks


def spiky_gaussian_batch(n_fits, m=128, seed=40):
    """Gaussian peaks plus offset with noise 0.05 and 5 % spikes per row, perturbed starts.

    Each fit draws amplitude ``U(2, 5)``, centre ``U(-1, 1)``, width ``U(0.7, 1.3)`` and
    offset ``U(0, 0.4)`` on ``x = linspace(-5, 5, m)``, adds noise of standard deviation
    0.05 and, on 5 % of its points, a spike of ``U(2, 5)``; it starts from amplitude times
    ``U(0.8, 1.2)``, centre plus ``U(-0.3, 0.3)``, width times ``U(0.8, 1.25)`` and offset 0.

    Returns
    -------
    BatchData
        ``x`` (m,), ``y`` (N, m), ``p0`` (N, 4) in the order of ``lmfast.models.gaussian``.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(-5.0, 5.0, m)
    y, p0, blocks = _blocks(n_fits, m, 4)
    for k, yb, pb in blocks:
        truth = rng.uniform([2.0, -1.0, 0.7, 0.0], [5.0, 1.0, 1.3, 0.4], (k, 4))
        yb[:] = gauss1d(x, *truth.T[:, :, np.newaxis]) + 0.05 * rng.standard_normal((k, m))
        _spikes(rng, yb)
        pb[:, 0] = truth[:, 0] * rng.uniform(0.8, 1.2, k)
        pb[:, 1] = truth[:, 1] + rng.uniform(-0.3, 0.3, k)
        pb[:, 2] = truth[:, 2] * rng.uniform(0.8, 1.25, k)
        pb[:, 3] = 0.0
    return BatchData(x, y, p0)


def poisson_gaussian_batch(n_fits, m=64, seed=50):
    """Gaussian peaks on a flat background as Poisson counts, perturbed starts.

    Each fit draws amplitude ``U(20, 200)`` counts, centre ``U(3.5, 6.5)``, width
    ``U(0.5, 1.2)`` and background ``U(1, 10)`` on ``x = linspace(0, 10, m)``, and starts
    from amplitude and background times ``U(0.8, 1.2)``, centre plus width times
    ``U(-0.3, 0.3)`` and width times ``U(0.8, 1.25)``.

    Returns
    -------
    BatchData
        ``x`` (m,), ``y`` (N, m) counts (float64), ``p0`` (N, 4) in the order of
        ``lmfast.models.gaussian``.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, m)
    y, p0, blocks = _blocks(n_fits, m, 4)
    for k, yb, pb in blocks:
        truth = rng.uniform([20.0, 3.5, 0.5, 1.0], [200.0, 6.5, 1.2, 10.0], (k, 4))
        yb[:] = rng.poisson(gauss1d(x, *truth.T[:, :, np.newaxis]))
        pb[:, 0] = truth[:, 0] * rng.uniform(0.8, 1.2, k)
        pb[:, 1] = truth[:, 1] + truth[:, 2] * rng.uniform(-0.3, 0.3, k)
        pb[:, 2] = truth[:, 2] * rng.uniform(0.8, 1.25, k)
        pb[:, 3] = truth[:, 3] * rng.uniform(0.8, 1.2, k)
    return BatchData(x, y, p0)


def poisson_deviance_residuals(values, y):
    """Poisson deviance residuals ``sign(f - y) sqrt(2 (f - y - y ln(f / y)))`` of counts
    ``y`` under model values ``f`` (``y ln(y / f)`` read as 0 where y = 0): their sum of
    squares is the deviance, whose minimum is the likelihood maximum.  Plain NumPy, the
    SciPy side of the Poisson row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(y / values), 0.0)
    return np.sign(values - y) * np.sqrt(np.maximum(2.0 * (values - y + terms), 0.0))


def poisson_deviance_jacobian(values, y, model_jacobian):
    """Jacobian of :func:`poisson_deviance_residuals`: the model's rows times
    ``dr/df = (1 - y / f) / r`` (``1 / sqrt(y)`` where r = 0)."""
    r = poisson_deviance_residuals(values, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(r == 0.0, 1.0 / np.sqrt(y), (1.0 - y / values) / r)
    return slope[:, np.newaxis] * model_jacobian


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
    y, p0, blocks = _blocks(n_fits, m, 4)
    for k, yb, pb in blocks:
        amp = rng.uniform(2.0, 10.0, k)
        centre = rng.uniform(3.5, 6.5, k)
        width = rng.uniform(0.5, 1.2, k)
        offset = rng.uniform(-0.5, 0.5, k)
        np.subtract(x, centre[:, None], out=yb)  # in place: one (k, m) noise temporary
        yb /= width[:, None]
        yb *= yb
        yb *= -0.5
        np.exp(yb, out=yb)
        yb *= amp[:, None]
        yb += offset[:, None]
        yb += (0.02 * amp + 0.05)[:, None] * rng.standard_normal((k, m))
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
    y, p0, blocks = _blocks(n_fits, npix, 5)
    lo, hi = (size - 1) / 2.0 - 0.5, (size - 1) / 2.0 + 0.5
    for k, zb, pb in blocks:
        amp = rng.uniform(50.0, 500.0, k)
        x0 = rng.uniform(lo, hi, k)
        y0 = rng.uniform(lo, hi, k)
        width = rng.uniform(0.7, 1.3, k)
        offset = rng.uniform(5.0, 20.0, k)
        r2 = (xy[0] - x0[:, None]) ** 2 + (xy[1] - y0[:, None]) ** 2
        model = amp[:, None] * np.exp(-0.5 * r2 / (width * width)[:, None]) + offset[:, None]
        zb[:] = model + np.sqrt(model) * rng.standard_normal((k, npix))
        zmin = zb.min(axis=1)
        w = zb - zmin[:, None]
        wsum = np.maximum(w.sum(axis=1), np.finfo(float).tiny)
        pb[:, 0] = zb.max(axis=1) - zmin
        pb[:, 1] = w @ xy[0] / wsum
        pb[:, 2] = w @ xy[1] / wsum
        pb[:, 3] = 1.0
        pb[:, 4] = zmin
    return BatchData(xy, y, p0)


#: The bench's Raman spectra: baseline (slope, intercept), then three pseudo-Voigt peaks
#: (area, centre, sigma, Lorentzian fraction) at these nominal centres.
RAMAN_CENTERS = (350.0, 520.0, 800.0)
RAMAN_BOUNDS = (
    np.array([-1.0, -100.0] + [v for c in RAMAN_CENTERS for v in (0.0, c - 30, 1.0, 0.0)]),
    np.array([1.0, 1000.0] + [v for c in RAMAN_CENTERS for v in (1e6, c + 30, 40.0, 1.0)]),
)


def raman_spectrum(x, slope, intercept, p0_amplitude, p0_center, p0_sigma, p0_fraction,
                   p1_amplitude, p1_center, p1_sigma, p1_fraction, p2_amplitude, p2_center,
                   p2_sigma, p2_fraction):
    """Three pseudo-Voigt peaks (lmfit's pvoigt) on a linear baseline, in NumPy (named
    parameters, as lmfit's Model needs them)."""
    peaks = (p0_amplitude, p0_center, p0_sigma, p0_fraction, p1_amplitude, p1_center,
             p1_sigma, p1_fraction, p2_amplitude, p2_center, p2_sigma, p2_fraction)
    total = slope * x + intercept
    for k in range(3):
        amplitude, center, sigma, fraction = peaks[4 * k : 4 * k + 4]
        sigma_g = sigma / np.sqrt(2 * np.log(2))
        d = x - center
        gauss = amplitude / (np.sqrt(2 * np.pi) * sigma_g) * np.exp(-(d * d) / (2 * sigma_g**2))
        lorentz = amplitude / (np.pi * sigma) / (1 + (d / sigma) ** 2)
        total = total + (1 - fraction) * gauss + fraction * lorentz
    return total


def raman_batch(n_fits, m=1024, seed=30):
    """Raman-like spectra: three pseudo-Voigt peaks drifting in position, width and area
    on a sloped background, Poisson counts; starts from the nominal peaks.

    Returns
    -------
    BatchData
        ``x`` (m,) in cm^-1, ``y`` (N, m) counts, ``p0`` (N, 14).
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(100.0, 1100.0, m)
    truth = np.empty((n_fits, 14))
    truth[:, 0] = rng.uniform(-0.01, 0.01, n_fits)
    truth[:, 1] = rng.uniform(20, 40, n_fits)
    for k, (sigma, area) in enumerate(((8.0, 4e3), (4.0, 8e3), (12.0, 6e3))):
        col = 2 + 4 * k
        truth[:, col] = area * rng.uniform(0.6, 1.4, n_fits)
        truth[:, col + 1] = RAMAN_CENTERS[k] + rng.normal(0, 3.0, n_fits)
        truth[:, col + 2] = sigma * rng.uniform(0.8, 1.2, n_fits)
        truth[:, col + 3] = rng.uniform(0.1, 0.9, n_fits)
    y = np.empty((n_fits, m))
    for start in range(0, n_fits, BLOCK_ROWS // 8):
        rows = slice(start, min(start + BLOCK_ROWS // 8, n_fits))
        y[rows] = rng.poisson(raman_spectrum(x, *truth[rows].T[:, :, np.newaxis]))
    # starts near the truth: areas and widths within 10%, centres within about 1 cm^-1
    # (a narrow peak started 25 cm^-1 away has nothing to climb: any local method loses it)
    p0 = truth * rng.uniform(0.9, 1.1, truth.shape)
    p0[:, 0] = 0.0
    for k in range(3):
        p0[:, 3 + 4 * k] = truth[:, 3 + 4 * k] + rng.normal(0, 1.0, n_fits)
    return BatchData(x, y, np.clip(p0, RAMAN_BOUNDS[0] + 1e-9, RAMAN_BOUNDS[1] - 1e-9))


#: Map rows: the drifting peak's bounds (amplitude, center, sigma, offset).
MAP_BOUNDS = ([0.0, 0.0, 0.1, -1.0], [10.0, 100.0, 20.0, 1.0])


def drifting_peak_map(side, m=256, seed=60):
    """A side x side map of one Gaussian peak on an offset whose centre drifts by 0.6
    channels-axis units (0.4 widths) per pixel along each axis: from 15 at pixel (0, 0)
    to 85.8 (47 widths away) at the far corner of a 60 x 60 map.  Amplitude and width
    vary smoothly; Gaussian noise of 0.05.  The start is the peak at the first corner.

    Returns
    -------
    x : ndarray (m,)
    y : ndarray (side, side, m)
    truth : ndarray (side, side, 4)
        amplitude, center, sigma, offset of each pixel.
    p0 : ndarray (4,)
        One start for every pixel.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 100.0, m)
    i, j = np.indices((side, side))
    truth = np.stack([1.0 + 0.5 * np.sin(i / 9.0) * np.cos(j / 13.0), 15.0 + 0.6 * (i + j),
                      1.5 * (1.0 + 0.2 * np.cos(i / 17.0)), np.full((side, side), 0.1)],
                     axis=-1)
    amplitude, center, sigma, offset = (truth[..., k, np.newaxis] for k in range(4))
    y = amplitude * np.exp(-((x - center) ** 2) / (2 * sigma**2)) + offset
    y += rng.normal(0.0, 0.05, y.shape)
    return x, y, truth, np.array([1.0, 15.0, 1.5, 0.0])


def right_peak_fraction(popt, truth):
    """Share of the map's pixels whose fit found the peak (the right minimum): centre
    within half a width of the truth, amplitude and |width| within 30%.  A wrong minimum
    (no peak, or a peak spread over the field) misses by far more."""
    popt = popt.reshape(truth.shape)
    right = ((np.abs(popt[..., 1] - truth[..., 1]) < 0.5 * truth[..., 2])
             & (np.abs(popt[..., 0] - truth[..., 0]) < 0.3 * truth[..., 0])
             & (np.abs(np.abs(popt[..., 2]) - truth[..., 2]) < 0.3 * truth[..., 2]))
    return float(np.mean(right))
