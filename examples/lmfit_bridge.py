"""lmfit models on the compiled batch
===================================

An lmfit model fitted to 2,000 Raman spectra by lmfast's compiled batch.

The model and its Parameters are written in lmfit, as usual: three pseudo-Voigt peaks
with prefixes on a linear baseline, lmfit's bounds (sigma >= 0, 0 <= fraction <= 1), the
third peak tied 200 cm^-1 above the second and as wide as it.  ``lmfast.lmfit.fit_batch``
compiles them (ties inside the fit) and fits every spectrum; the first spectrum is
fitted by lmfit too, for comparison, and its result printed with ``lmfit.fit_report``.

    python examples/lmfit_bridge.py [--spectra N] [--plot lmfit_bridge.png]

Needs lmfit (``pip install fastminpack[lmfit]``); ``--plot`` needs matplotlib.
"""

import argparse
import time

import numpy as np
from lmfit import fit_report
from lmfit.models import LinearModel, PseudoVoigtModel

from lmfast.lmfit import fit_batch

CHANNELS = 1024


def lmfit_model():
    """Three prefixed pseudo-Voigts and a line, with starting Parameters and two ties."""
    model = (PseudoVoigtModel(prefix="p0_") + PseudoVoigtModel(prefix="p1_")
             + PseudoVoigtModel(prefix="p2_") + LinearModel())
    params = model.make_params(p0_amplitude=4e3, p0_center=350, p0_sigma=8, p0_fraction=0.5,
                               p1_amplitude=8e3, p1_center=520, p1_sigma=5, p1_fraction=0.5,
                               p2_amplitude=6e3, p2_fraction=0.5, slope=0, intercept=30)
    params["p2_center"].set(expr="p1_center + 200")
    params["p2_sigma"].set(expr="p1_sigma")
    return model, params


def simulate(model, params, n_spectra, rng):
    """(x, counts (N, m)): the peaks' areas, positions and widths vary per spectrum."""
    x = np.linspace(100.0, 1100.0, CHANNELS)
    y = np.empty((n_spectra, CHANNELS))
    for i in range(n_spectra):
        truth = params.copy()
        for name, spread in (("p0_amplitude", 0.3), ("p1_amplitude", 0.3),
                             ("p2_amplitude", 0.3), ("p0_sigma", 0.15), ("p1_sigma", 0.15)):
            truth[name].set(value=truth[name].value * rng.uniform(1 - spread, 1 + spread))
        truth["p0_center"].set(value=350 + rng.normal(0, 1.5))
        truth["p1_center"].set(value=520 + rng.normal(0, 1.5))
        truth["slope"].set(value=rng.uniform(-0.01, 0.01))
        y[i] = rng.poisson(model.eval(truth, x=x))
    return x, y


def main():
    parser = argparse.ArgumentParser(
        description="An lmfit model fitted to many Raman spectra by lmfast's compiled batch.")
    parser.add_argument("--spectra", type=int, default=2000)
    parser.add_argument("--plot", metavar="PNG", help="save four spectra and their fits")
    args = parser.parse_args()

    model, params = lmfit_model()
    x, y = simulate(model, params, args.spectra, np.random.default_rng(7))

    start = time.perf_counter()
    result = fit_batch(model, params, y, x=x)
    batch_seconds = time.perf_counter() - start
    start = time.perf_counter()
    reference = model.fit(y[0], params, x=x, method="leastsq")
    lmfit_seconds = time.perf_counter() - start

    print(result)
    print(f"fit_batch: {args.spectra} spectra in {batch_seconds:.2f} s "
          f"({1e3 * batch_seconds / args.spectra:.2f} ms per spectrum); lmfit Model.fit: "
          f"{1e3 * lmfit_seconds:.0f} ms for one")
    j = result.param_names.index("p1_center")
    print(f"p1_center of spectrum 0: lmfast {result.values[0, j]:.6f} +/- "
          f"{result.stderr[0, j]:.6f}, lmfit {reference.params['p1_center'].value:.6f} +/- "
          f"{reference.params['p1_center'].stderr:.6f}")
    print(fit_report(result.params(0), show_correl=False))

    if args.plot:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 2, figsize=(10, 6), sharex=True)
        for ax, i in zip(axes.flat, np.linspace(0, args.spectra - 1, 4).astype(int)):
            ax.plot(x, y[i], ".", ms=2, color="0.6", label="counts")
            ax.plot(x, model.eval(result.params(i), x=x), "C3", label="fit_batch")
            ax.set_title(f"spectrum {i}: redchi {result.redchi[i]:.2f}", fontsize=9)
        axes[0, 0].legend(fontsize=8)
        for ax in axes[1]:
            ax.set_xlabel("Raman shift (cm$^{-1}$)")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
