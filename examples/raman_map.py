"""A Raman map
===========

A Raman map: 10,000 spectra, three pseudo-Voigt peaks on a linear baseline, counts.

Each spectrum (1,024 channels) is drawn with Poisson noise around three pseudo-Voigt
peaks whose positions, widths and heights drift across a 100 x 100 map, on a sloped
background.  ``curve_fit_batch`` fits all of them at once with the composite compiled
model, bounds on every peak parameter, and the Poisson maximum-likelihood estimator.

    python examples/raman_map.py [--fits N] [--plot raman_map.png]

With matplotlib installed, ``--plot`` saves a figure: four spectra with their fits and
residuals, and the map of the middle peak's fitted position.
"""

import argparse
import time

import numpy as np

from lmfast import curve_fit_batch, lineshapes

SIDE = 100
CHANNELS = 1024


def spectrum_model():
    """Linear baseline + three pseudo-Voigt peaks, compiled: 14 parameters."""
    return sum((lineshapes.model("pseudo_voigt", prefix=f"p{k}_") for k in range(3)),
               lineshapes.model("linear"))


def simulate(n_fits, rng):
    """(shift axis, counts (N, m), true parameters (N, 14)): peaks drift over the map."""
    x = np.linspace(100.0, 1100.0, CHANNELS)  # Raman shift, cm^-1
    u = np.linspace(0, 1, n_fits)
    truth = np.empty((n_fits, 14))
    truth[:, 0] = rng.uniform(-0.01, 0.01, n_fits)          # slope (counts per cm^-1)
    truth[:, 1] = rng.uniform(20, 40, n_fits)               # intercept (counts)
    for k, (center, sigma, area) in enumerate(((350.0, 8.0, 4e3), (520.0, 4.0, 8e3),
                                               (800.0, 12.0, 6e3))):
        col = 2 + 4 * k
        truth[:, col] = area * rng.uniform(0.6, 1.4, n_fits)
        truth[:, col + 1] = center + 6.0 * np.sin(6 * u) + rng.normal(0, 0.5, n_fits)
        truth[:, col + 2] = sigma * rng.uniform(0.8, 1.2, n_fits)
        truth[:, col + 3] = rng.uniform(0.1, 0.9, n_fits)
    model = spectrum_model()
    counts = rng.poisson(model(x, *truth.T[:, :, np.newaxis])).astype(float)
    return x, counts, truth


def bounds():
    """Baseline free within reason; peaks: positive area, centre within 30 cm^-1 of its
    nominal position, width 1..40 cm^-1, Lorentzian fraction in [0, 1]."""
    lower, upper = [-1.0, -100.0], [1.0, 1000.0]
    for center in (350.0, 520.0, 800.0):
        lower += [0.0, center - 30.0, 1.0, 0.0]
        upper += [1e6, center + 30.0, 40.0, 1.0]
    return np.array(lower), np.array(upper)


def start(counts, x):
    """A start from the data alone: the nominal peaks, the median as intercept."""
    p0 = np.empty((len(counts), 14))
    p0[:, 0] = 0.0
    p0[:, 1] = np.median(counts, axis=1)
    for k, center in enumerate((350.0, 520.0, 800.0)):
        window = np.abs(x - center) < 30
        height = counts[:, window].max(axis=1) - p0[:, 1]
        p0[:, 2 + 4 * k] = np.maximum(height, 1.0) * 10.0  # area ~ height * width
        p0[:, 3 + 4 * k] = center
        p0[:, 4 + 4 * k] = 6.0
        p0[:, 5 + 4 * k] = 0.5
    return p0


def plot(path, x, counts, res, model, fits):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(11, 7))
    grid = fig.add_gridspec(4, 2, width_ratios=(1.6, 1))
    for row, i in enumerate(np.linspace(0, fits - 1, 4).astype(int)):
        ax = fig.add_subplot(grid[row, 0])
        fit = model(x, *res.popt[i])
        ax.plot(x, counts[i], lw=0.6, color="0.5", label="counts")
        ax.plot(x, fit, lw=1.0, color="C0", label="fit")
        ax.plot(x, counts[i] - fit, lw=0.5, color="C3", label="residual")
        ax.set_ylabel(f"fit {i}")
        if row == 0:
            ax.legend(loc="upper right", fontsize=7)
    ax.set_xlabel("Raman shift (cm$^{-1}$)")
    side = int(np.sqrt(fits))
    ax = fig.add_subplot(grid[:, 1])
    image = ax.imshow(res.popt[: side * side, 7].reshape(side, side), cmap="viridis")
    ax.set_title("fitted centre of the 520 cm$^{-1}$ peak")
    fig.colorbar(image, ax=ax, shrink=0.7, label="cm$^{-1}$")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fit a simulated Raman map of N spectra.")
    parser.add_argument("--fits", type=int, default=SIDE * SIDE)
    parser.add_argument("--plot", metavar="PNG")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x, counts, truth = simulate(args.fits, rng)
    model = spectrum_model()
    lower, upper = bounds()
    p0 = start(counts, x)
    began = time.perf_counter()
    res = curve_fit_batch(model, x, counts, p0, bounds=(lower, upper), estimator="poisson")
    seconds = time.perf_counter() - began
    ok = res.success
    print(f"{args.fits:,} spectra x {CHANNELS} channels, 14 parameters (3 pseudo-Voigts on a "
          f"linear baseline, bounded, Poisson MLE): {seconds:.2f} s, "
          f"{args.fits / seconds:,.0f} fits/s, {ok.mean():.1%} converged")
    for k in range(3):
        err = res.popt[ok, 3 + 4 * k] - truth[ok, 3 + 4 * k]
        print(f"peak {k}: centre error median {np.median(np.abs(err)):.3f} cm^-1, "
              f"median standard error {np.median(res.perr[ok, 3 + 4 * k]):.3f} cm^-1")
    if args.plot:
        try:
            plot(args.plot, x, counts, res, model, args.fits)
        except ImportError:
            print("--plot needs matplotlib (pip install matplotlib)")
        else:
            print(f"figure saved to {args.plot}")


if __name__ == "__main__":
    main()
