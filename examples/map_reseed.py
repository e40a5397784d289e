"""Neighbour reseeding on a drifting map
=======================================

A map whose peak drifts far from the start: one batch pass against curve_fit_map.

Every pixel of a 60 x 60 map holds one Gaussian peak on an offset; the peak's centre
drifts by 0.4 widths per pixel along each axis, 47 widths from one corner to the other.
All pixels start from one p0, the peak at the first corner.  One ``curve_fit_batch``
pass converges (ier 1-4) almost everywhere, but far from the corner on a wrong minimum
(no peak, or a flat peak over the whole axis); ``curve_fit_map`` refits those pixels from
their converged neighbours' solutions, pass after pass, until every pixel has the peak.

    python examples/map_reseed.py [--side 60] [--plot map_reseed.png]

With matplotlib installed, ``--plot`` saves a figure: the fitted centre after one pass
and after curve_fit_map, and the pass that settled each pixel.
"""

import argparse
import time

import numpy as np

from lmfast import curve_fit_batch, curve_fit_map, models

CHANNELS = 256


def simulate(side, rng):
    """(x (m,), y (side, side, m), truth (side, side, 4)): amplitude, centre, width,
    offset of each pixel's peak; Gaussian noise of 0.05."""
    x = np.linspace(0.0, 100.0, CHANNELS)
    i, j = np.indices((side, side))
    truth = np.stack([1.0 + 0.5 * np.sin(i / 9.0) * np.cos(j / 13.0), 15.0 + 0.6 * (i + j),
                      1.5 * (1.0 + 0.2 * np.cos(i / 17.0)), np.full((side, side), 0.1)],
                     axis=-1)
    y = models.gaussian(x, *truth.reshape(-1, 4).T[:, :, np.newaxis])
    y = y.reshape(side, side, CHANNELS) + rng.normal(0.0, 0.05, (side, side, CHANNELS))
    return x, y, truth


def right(popt, truth):
    """Where a fit found the peak: centre within half a width, height and |width|
    within 30% (-width is the same Gaussian)."""
    return ((np.abs(popt[..., 1] - truth[..., 1]) < 0.5 * truth[..., 2])
            & (np.abs(popt[..., 0] - truth[..., 0]) < 0.3 * truth[..., 0])
            & (np.abs(np.abs(popt[..., 2]) - truth[..., 2]) < 0.3 * truth[..., 2]))


def plot(path, one_pass, result, truth):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    low, high = truth[..., 1].min(), truth[..., 1].max()
    for ax, popt, title in ((axes[0], one_pass, "one batch pass"),
                            (axes[1], result.popt, "curve_fit_map")):
        image = ax.imshow(np.clip(popt[..., 1], low - 10, high + 10), cmap="viridis",
                          vmin=low, vmax=high)
        wrong = ~right(popt, truth)
        ax.contour(wrong, levels=[0.5], colors="red", linewidths=0.8)
        ax.set_title(f"{title}: fitted centre ({100 * (~wrong).mean():.1f}% right)")
        fig.colorbar(image, ax=ax, shrink=0.8)
    image = axes[2].imshow(result.settled_pass, cmap="magma")
    axes[2].set_title("pass that settled each pixel (0: first)")
    fig.colorbar(image, ax=axes[2], shrink=0.8)
    for ax in axes:
        ax.set_xlabel("pixel")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="A map whose peak drifts far from the start: one batch pass against "
                    "curve_fit_map.")
    parser.add_argument("--side", type=int, default=60)
    parser.add_argument("--plot", metavar="PNG")
    args = parser.parse_args(argv)
    x, y, truth = simulate(args.side, np.random.default_rng(0))
    p0 = [1.0, 15.0, 1.5, 0.0]  # the peak at pixel (0, 0), for every pixel
    curve_fit_batch(models.gaussian, x, y[0], p0)  # warm-up (first-call costs) untimed
    began = time.perf_counter()
    one_pass = curve_fit_batch(models.gaussian, x, y.reshape(-1, CHANNELS), p0)
    one_pass_seconds = time.perf_counter() - began
    began = time.perf_counter()
    result = curve_fit_map(models.gaussian, x, y, p0)
    map_seconds = time.perf_counter() - began
    popt = one_pass.popt.reshape(truth.shape)
    print(f"{args.side} x {args.side} pixels x {CHANNELS} channels, one p0 for all")
    print(f"one batch pass: {one_pass_seconds:.2f} s, ier 1-4 on {one_pass.success.mean():.1%}"
          f" of pixels, the right peak on {right(popt, truth).mean():.1%}")
    print(f"curve_fit_map:  {map_seconds:.2f} s ({map_seconds / one_pass_seconds:.1f}x), "
          f"ier 1-4 on {result.success.mean():.1%}, the right peak on "
          f"{right(result.popt, truth).mean():.1%}; {result.refits} refits in "
          f"{result.passes} passes")
    if args.plot:
        try:
            plot(args.plot, popt, result, truth)
        except ImportError:
            print("--plot needs matplotlib (pip install matplotlib)")
        else:
            print(f"figure saved to {args.plot}")


if __name__ == "__main__":
    main()
