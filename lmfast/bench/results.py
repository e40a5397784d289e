"""Results of the rows: what each runner measured, as table rows and JSON records."""

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import ClassVar


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


@dataclass
class EstimatorFitResult(_BatchTimings):
    """Measurements of one :class:`~lmfast.bench.workloads.EstimatorFit` workload:
    ``seconds`` per fit keyed by ``"lmfast"`` (the batch with ``estimator``) and
    ``"reference"`` (the same batch with ``reference_estimator``), both over all
    ``n_fits`` fits; ``agreement`` compares the first ``subset`` fits with SciPy."""

    kind: ClassVar[str] = "estimator"
    name: str
    estimator: str
    reference_estimator: str
    m: int
    n: int
    n_fits: int
    subset: int
    threads: int
    target: float | None = None

    @property
    def ratio(self):
        """The estimator's fits/s over the reference batch's (reference time / estimator
        time per fit; the goal is ``target``), or ``None``."""
        return self.per_lmfast("reference")


@dataclass
class PatchedFitResult:
    """Measurements of one :class:`~lmfast.bench.patched.PatchedFit` workload.

    ``seconds``, ``times``, ``number``, ``spread``, ``nfev`` and ``x`` are keyed by
    ``"unpatched"`` and ``"patched"``; ``split`` gives per side the seconds per fit
    ``"outside"`` the solver call and in the ``"callbacks"`` (both the package's own
    work), in the ``"model"`` (estimated from bare evaluations, ``model_seconds``) and in
    the ``"solver"`` itself.
    """

    kind: ClassVar[str] = "patch"
    name: str
    package: str
    function: str
    m: int
    n: int
    status: str = "ok"  # "ok", "skipped" or "error"
    note: str = ""
    seconds: dict = field(default_factory=dict)  # median seconds per fit
    times: dict = field(default_factory=dict)  # seconds per fit of every round
    number: dict = field(default_factory=dict)  # inner repeat count
    spread: dict = field(default_factory=dict)  # MAD / median of the round times
    round_ratios: list = field(default_factory=list)  # unpatched / patched, per round
    nfev: dict = field(default_factory=dict)  # the package's own count
    x: dict = field(default_factory=dict)
    xdiff: float | None = None  # relative difference of the patched and unpatched x
    same: bool | None = None
    calls_per_fit: float | None = None  # calls that reached lmfast per patched fit
    callbacks_per_fit: dict = field(default_factory=dict)
    split: dict = field(default_factory=dict)
    model_seconds: dict = field(default_factory=dict)  # one bare function/Jacobian evaluation
    patch_seconds: float | None = None  # one enter and exit of lmfast.patched()
    other_load: float | None = None  # CPUs used by other processes during the rounds
    warnings: list = field(default_factory=list)

    @property
    def ratio(self):
        """Unpatched time / patched time (what a user gains), or ``None``."""
        if self.status != "ok":
            return None
        return self.seconds["unpatched"] / self.seconds["patched"]

    def share(self, side, *parts):
        """Fraction of a fit's time (``side``) spent in ``parts`` of :attr:`split`."""
        split = self.split[side]
        return sum(split[part] for part in parts) / sum(split.values())

    @property
    def own_share(self):
        """Fraction of a patched fit spent in the package's own code (around the solver
        call and in its callbacks, the model's evaluations excluded), or ``None``."""
        if self.status != "ok":
            return None
        return self.share("patched", "outside", "callbacks")

    def to_json(self):
        """JSON-serialisable record."""
        rec = dataclasses.asdict(self)
        rec["kind"] = self.kind
        rec["ratio"] = self.ratio
        rec["own_share"] = self.own_share
        if rec["xdiff"] is not None and not math.isfinite(rec["xdiff"]):
            rec["xdiff"] = None
        return rec


@dataclass
class ScaleOutResult(_BatchTimings):
    """Measurements of one :class:`ScaleOutFit` workload: ``seconds`` per fit keyed by
    ``"lmfast"`` (the Dask cluster, the xarray accessor), the reference (``"local"``: the
    local batch; ``"xarray"``: ``DataArray.curvefit``) and extras (``"cluster_persist"``).
    """

    kind: ClassVar[str] = "scaleout"
    name: str
    reference: str
    reference_label: str
    m: int
    n: int
    n_fits: int
    target: float | None = None
    workers: int | None = None
    subset: int | None = None  # fits of the reference, when it fits fewer
    identical: bool | None = None  # the same fits as the reference (see the row's note)
    memory: dict = field(default_factory=dict)  # MB: worker peaks, data, chunks

    @property
    def ratio(self):
        """lmfast fits/s over the reference's (higher is better), or ``None``."""
        return self.per_lmfast(self.reference)


@dataclass
class KernelResult:
    """Measurements of one :class:`~lmfast.bench.workloads.KernelTiming` workload.

    ``seconds`` (median), ``times`` (every round), ``number`` (inner repeat count) and
    ``spread`` are keyed by ``"lmfast"`` and ``"reference"``; times are per ``unit`` (a
    point, or one evaluation of value and Jacobian), ``units`` of them per call; ``m`` is
    the points of one call (per point) or of one evaluation.
    """

    kind: ClassVar[str] = "kernel"
    name: str
    unit: str
    m: int
    units: int
    n: int
    reference_label: str
    lower_is_better: bool = False
    target: float | None = None
    accuracy_target: float | None = None
    status: str = "ok"  # "ok", "skipped" or "error"
    note: str = ""
    seconds: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    number: dict = field(default_factory=dict)
    spread: dict = field(default_factory=dict)
    round_ratios: list = field(default_factory=list)  # the row's ratio, per round
    accuracy: float | None = None  # largest relative difference from the reference
    warnings: list = field(default_factory=list)

    @property
    def ratio(self):
        """Reference time / lmfast time, or lmfast time / reference time when
        ``lower_is_better``; ``None`` if not measured."""
        if self.status != "ok":
            return None
        lm, ref = self.seconds["lmfast"], self.seconds["reference"]
        return lm / ref if self.lower_is_better else ref / lm

    def to_json(self):
        """JSON-serialisable record."""
        rec = dataclasses.asdict(self)
        rec.update(kind=self.kind, ratio=self.ratio)
        if rec["accuracy"] is not None and not math.isfinite(rec["accuracy"]):
            rec["accuracy"] = None
        return rec


@dataclass
class BuildsResult:
    """One row of ``bench/ab_builds.py``: the same batch fitted by two builds of lmfast.

    ``times`` (seconds of one ``curve_fit_batch`` call over all ``n_fits`` fits, every
    round), ``seconds`` (their median) and ``spread`` are keyed by ``"base"`` and
    ``"new"``; ``round_ratios`` are base time / new time per round; ``agreement`` is
    :func:`~lmfast.bench.checks.batch_agreement` of the new build (its ``"lmfast"``
    side) against the base build (``"reference"``) over all fits.
    """

    kind: ClassVar[str] = "builds"
    name: str
    model: str
    m: int
    n: int
    n_fits: int
    threads: int
    status: str = "ok"  # "ok" or "error"
    note: str = ""
    seconds: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    spread: dict = field(default_factory=dict)
    round_ratios: list = field(default_factory=list)
    agreement: dict = field(default_factory=dict)
    agree: bool | None = None
    other_load: float | None = None  # CPUs used by other processes during the rounds
    warnings: list = field(default_factory=list)  # of the warm-up fits, "<build>: ..."

    @property
    def fits_per_second(self):
        """Fits per second of each build (median call)."""
        return {build: self.n_fits / s for build, s in self.seconds.items() if s > 0}

    @property
    def ratio(self):
        """New fits/s over base fits/s (> 1: the new build is faster), or ``None``."""
        if self.status != "ok":
            return None
        return self.seconds["base"] / self.seconds["new"]

    def to_json(self):
        """JSON-serialisable record."""
        rec = dataclasses.asdict(self)
        rec.update(kind=self.kind, ratio=self.ratio, fits_per_second=self.fits_per_second)
        return rec


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


@dataclass
class MapFitResult(_BatchTimings):
    """Measurements of one :class:`~lmfast.bench.workloads.MapFit` workload: ``seconds``
    per pixel keyed by ``"lmfast"`` (curve_fit_map) and ``"one_pass"`` (one
    curve_fit_batch pass); ``right`` and ``success`` (shares of pixels) keyed alike;
    ``round_ratios`` are one pass / map per round."""

    kind: ClassVar[str] = "map"
    name: str
    m: int
    n: int
    n_fits: int
    side: int
    threads: int
    bounded: bool = False
    right: dict = field(default_factory=dict)  # share of pixels at the right minimum
    success: dict = field(default_factory=dict)  # share of pixels with ier 1-4
    passes: int | None = None  # reseeding passes of curve_fit_map
    refits: int | None = None  # fits run by those passes

    @property
    def ratio(self):
        """curve_fit_map time / one pass's time (lower is better), or ``None``."""
        one_pass = self.per_lmfast("one_pass")
        return None if one_pass is None else 1.0 / one_pass
