"""The lmfit bridge row: ``lmfast.lmfit.fit_batch`` against a loop of lmfit's ``Model.fit``.

The same lmfit model and Parameters on both sides (three pseudo-Voigt peaks on a linear
baseline, one peak's centre tied to another's, bounds from lmfit's hints); lmfit fits
the first few spectra one by one with ``method='leastsq'``, the bridge all of them in
one compiled batch.  The ratio is per fit.  The row is skipped without lmfit.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from lmfast.bench.checks import batch_agreement
from lmfast.bench.environment import import_problem, usable_cpus
from lmfast.bench.results import _BatchTimings
from lmfast.bench.timing import busy_note, noise_note, relative_spread, timed_rounds

__all__ = ["BridgeFit", "BridgeFitResult", "bridge_spectra", "bridge_workloads",
           "run_bridge_fit"]

#: Raman-like peaks: (centre, sigma, area); the third peak's centre is tied to the
#: second's, 200 cm^-1 above it.
_PEAKS = ((350.0, 8.0, 4e3), (500.0, 4.0, 8e3), (700.0, 12.0, 6e3))


@dataclass(frozen=True)
class BridgeFit:
    """The bridge on many spectra against lmfit's loop on the first few.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    m, n : int
        Channels per spectrum and free parameters.
    n_fits, quick_n_fits : int
        Spectra of the bridge's batch (default run and ``--quick``).
    lmfit_fits : int
        Spectra of lmfit's loop.
    description : str
        One line for ``--list``.
    make_data : callable
        ``make_data(n_fits, m)`` returns ``(model, params, x, y)``.
    """

    kind: ClassVar[str] = "bridge"
    api: ClassVar[str] = "lmfast.lmfit"
    name: str
    m: int
    n: int
    n_fits: int
    quick_n_fits: int
    lmfit_fits: int
    description: str
    make_data: Callable = field(repr=False)


@dataclass
class BridgeFitResult(_BatchTimings):
    """Measurements of one :class:`BridgeFit`: ``seconds`` per fit keyed by ``"lmfast"``
    (the bridge, all spectra) and ``"lmfit"`` (its loop over ``subset`` spectra)."""

    kind: ClassVar[str] = "bridge"
    name: str
    m: int
    n: int
    n_fits: int
    subset: int
    threads: int

    @property
    def ratio(self):
        """lmfit time per fit / bridge time per fit (higher is better), or ``None``."""
        return self.per_lmfast("lmfit")


def bridge_spectra(n_fits, m=1024, seed=40):
    """Raman-like spectra of the row and the lmfit model and starting Parameters.

    Returns
    -------
    model : lmfit.Model
        ``PseudoVoigtModel`` x 3 (prefixes ``p0_``..``p2_``) + ``LinearModel``.
    params : lmfit.Parameters
        Nominal starts; ``p2_center = p1_center + 200``; lmfit's hints (sigma >= 0,
        0 <= fraction <= 1).
    x : ndarray, shape (m,)
    y : ndarray, shape (n_fits, m)
        Poisson counts around peaks whose areas, centres and widths vary per spectrum.
    """
    from lmfit.models import LinearModel, PseudoVoigtModel

    rng = np.random.default_rng(seed)
    model = (PseudoVoigtModel(prefix="p0_") + PseudoVoigtModel(prefix="p1_")
             + PseudoVoigtModel(prefix="p2_") + LinearModel())
    start = {"slope": 0.0, "intercept": 30.0}
    for k, (center, sigma, area) in enumerate(_PEAKS):
        start.update({f"p{k}_center": center, f"p{k}_sigma": sigma, f"p{k}_amplitude": area,
                      f"p{k}_fraction": 0.5})
    params = model.make_params(**start)
    params["p2_center"].expr = "p1_center + 200"
    x = np.linspace(100.0, 1100.0, m)
    y = np.empty((n_fits, m))
    shift = rng.normal(0.0, 1.0, n_fits)
    for i in range(n_fits):
        truth = dict(start, slope=rng.uniform(-0.01, 0.01), intercept=rng.uniform(20, 40))
        for k, (center, sigma, area) in enumerate(_PEAKS):
            truth[f"p{k}_amplitude"] = area * rng.uniform(0.7, 1.3)
            truth[f"p{k}_sigma"] = sigma * rng.uniform(0.85, 1.15)
            truth[f"p{k}_fraction"] = rng.uniform(0.2, 0.8)
            truth[f"p{k}_center"] = center + (shift[i] if k else rng.normal(0.0, 1.0))
        y[i] = rng.poisson(model.eval(x=x, **truth))
    return model, params, x, y


def bridge_workloads():
    """The bridge row."""
    return (
        BridgeFit(
            "lmfit-bridge-raman-3peaks", 1024, 13, 500, 100, 3,
            "lmfast.lmfit.fit_batch of an lmfit model (3 pseudo-Voigts + linear, a tie, "
            "bounds) vs lmfit Model.fit loop",
            bridge_spectra,
        ),
    )


def run_bridge_fit(workload, modules, config):
    """Measure one :class:`BridgeFit`: the bridge on all spectra, lmfit on the first few,
    interleaved rounds; agreement of every parameter's value on lmfit's spectra.

    Returns
    -------
    BridgeFitResult
        ``"skipped"`` without lmfit, ``"error"`` when a side raised.
    """
    threads = config.threads or usable_cpus()
    n_fits = config.n_fits(workload)
    subset = min(workload.lmfit_fits, n_fits)
    res = BridgeFitResult(workload.name, workload.m, workload.n, n_fits, subset, threads)
    if missing := import_problem("lmfit"):
        res.status, res.note = "skipped", missing
        return res
    from lmfast.lmfit import fit_batch

    model, params, x, y = workload.make_data(n_fits, workload.m)

    def lmfit_loop():
        return [model.fit(y[i], params, x=x, method="leastsq") for i in range(subset)]

    calls = {"lmfast": lambda: fit_batch(model, params, y, x=x, threads=config.threads),
             "lmfit": lmfit_loop}
    try:
        mine, theirs = calls["lmfast"](), calls["lmfit"]()
    except Exception as exc:  # noqa: BLE001  (a failing side is an error row)
        res.status, res.note = "error", f"{type(exc).__name__}: {exc}"
        return res
    ref = np.array([[r.params[name].value for name in mine.param_names] for r in theirs])
    ref_ier = np.array([r.ier for r in theirs])
    # Both sides' costs by one formula: the model's residuals at each side's parameters.
    costs = {side: [float(np.sum((model.eval(p, x=x) - y[i]) ** 2))
                    for i, p in enumerate(ps)]
             for side, ps in (("lmfast", [mine.params(i) for i in range(subset)]),
                              ("lmfit", [r.params for r in theirs]))}
    res.agreement, res.agree = batch_agreement(
        mine.values[:subset], mine.ier[:subset], ref, ref_ier,
        stderr=mine.stderr[:subset], lm_cost=np.array(costs["lmfast"]),
        ref_cost=np.array(costs["lmfit"]))
    res.agreement["success_all_lmfast"] = float(np.mean(mine.success))
    del mine, theirs
    raw, res.other_load = timed_rounds(calls, config.rounds)
    counts = {"lmfast": n_fits, "lmfit": subset}
    res.times = {impl: [t / counts[impl] for t in ts] for impl, ts in raw.items()}
    res.seconds = {impl: float(np.median(t)) for impl, t in res.times.items()}
    res.spread = {impl: relative_spread(t) for impl, t in res.times.items()}
    res.round_ratios = [b / a for a, b in zip(res.times["lmfast"], res.times["lmfit"],
                                              strict=True)]
    res.note = "; ".join(n for n in (busy_note(res.other_load),
                                     noise_note(res.spread, res.round_ratios)) if n)
    return res
