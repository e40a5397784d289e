"""What a run prints: the header, number formats and one fixed-width table per kind of row.

A table class has ``header()``, ``row(result)`` (printed as each row finishes),
``notes(results)`` and a ``footer``; :data:`TABLES` maps a kind of row to its class.
"""

import math
import sys

from lmfast.bench.checks import (
    BATCH_SUCCESS_MATCH,
    COST_RTOL,
    PATCHED_X_RTOL,
    STDERR_FRACTION,
    X_RTOL,
)


def micro():
    """``"µ"`` if stdout can encode it, else ``"u"``."""
    try:
        "µ".encode(sys.stdout.encoding or "ascii")
        return "µ"
    except (UnicodeEncodeError, LookupError):
        return "u"


def format_us(seconds):
    """Seconds as microseconds with at least three significant digits."""
    us = seconds * 1e6
    return f"{us:.2f}" if us < 100 else f"{us:.1f}" if us < 10_000 else f"{us:.0f}"


def format_rate(per_second):
    """Fits per second with thousands separators (three significant digits below 100)."""
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.3g}"


def format_agree(agree, agreement):
    """``yes``/``NO`` and the share of the fits solved by both that reach the same fit."""
    same = agreement.get("same_fit")
    return ("yes" if agree else "NO") + ("" if same is None else f" {100 * same:.4g}%")


#: What ``agree`` means, for the footers of every table with an agree column.
AGREE_LEGEND = (
    f"agree = yes when success (ier 1..4) matches on >= {100 * BATCH_SUCCESS_MATCH:g}% of the "
    f"fits compared and\n>= {100 * BATCH_SUCCESS_MATCH:g}% of the fits both solved reach the "
    "same fit: costs (chi-square, or the robust\nor Poisson objective) within "
    f"{COST_RTOL:g} relative and every parameter within {100 * STDERR_FRACTION:g}% of its\n"
    "standard error (lmfast's perr). Two methods stop at different points inside their\n"
    "tolerances, so parameters are not held to a fixed relative difference. The\n"
    "percentage is the share of the fits both solved that reach the same fit."
)


def _difference_text(a):
    """How far apart the fits both solved are, from a :func:`batch_agreement` dict."""
    if a["same_fit"] is None:
        return "no fit solved by both"
    return (f"{100 * a['same_fit']:.1f}% the same fit; parameter differences median "
            f"{_or_inf(a['median_shift']):.1e}, max {_or_inf(a['max_shift']):.1e} standard "
            f"errors; cost differences max {_or_inf(a['max_cost_difference']):.1e} relative")


def _or_inf(value):
    """``value``, or ``inf`` for ``None`` (no finite difference)."""
    return math.inf if value is None else value


def format_header(info, config):
    """Header lines: versions, machine and timing settings.

    Parameters
    ----------
    info : dict
        :func:`lmfast.bench.environment.versions`.
    config : BenchConfig
        Rounds and minimum timing duration.

    Returns
    -------
    str
    """
    env = " ".join(f"{k}={v}" for k, v in info["env"].items())
    return (
        f"lmfast {info['lmfast']} ({info['lmfast_path']})\n"
        f"numpy {info['numpy']}, scipy {info['scipy']}, Python {info['python']}, "
        f"{info['cpu_count']} CPUs ({info['cpu_usable']} usable), {info['cpu']}"
        + (f"\n{env}" if env else "")
        + f"\n{config.rounds} rounds, each timing >= {config.min_time * 1e3:g} ms\n"
    )


def _row_notes(r):
    """Note lines of one result: its note, then the warnings of its warm-up calls."""
    lines = [f"note: {r.name}: {r.note}"] if r.note else []
    return lines + [f"note: {r.name}: warning from {w}" for w in r.warnings]


def _agreement_note(name, agreement, reference, extra=""):
    """One note line spelling out :func:`lmfast.bench.checks.batch_agreement`."""
    a = agreement
    diff = _difference_text(a)
    return (
        f"note: {name}: {a['fits']} fits compared with {reference}: success lmfast "
        f"{100 * a['success']['lmfast']:.1f}%{extra}, {reference} "
        f"{100 * a['success']['reference']:.1f}%, same flag {100 * a['success_match']:.1f}%; "
        f"{diff}"
    )


class _FixedWidthTable:
    """Shared layout of the fixed-width tables: ``self.columns`` of (title, width, align).

    Parameters
    ----------
    name_width : int, optional
        Width of the workload column (at least 8); a table's ``layout()`` gives the
        columns after it.
    """

    def __init__(self, name_width=16):
        self.columns = [("workload", max(name_width, 8), "<"), *self.layout()]

    def _line(self, cells):
        return "  ".join(
            f"{c:{a}{w}}" for c, (_, w, a) in zip(cells, self.columns, strict=True)
        ).rstrip()

    def header(self):
        """Title line and rule."""
        line = self._line([c[0] for c in self.columns])
        return line + "\n" + "-" * len(line)

    #: Attributes of a result naming its row (the first columns), shown whatever its status.
    keys = ("name",)

    @staticmethod
    def cells(r):
        """The cells after the ``keys`` of a row with status ``"ok"``."""
        raise NotImplementedError

    def row(self, r):
        """One line for a result: its ``keys``, then ``cells(r)``, or the status for a
        skipped or failed row (the remaining columns left blank)."""
        keys = [getattr(r, k) for k in self.keys]
        if r.status != "ok":
            return self._line(keys + [r.status] + [""] * (len(self.columns) - len(keys) - 1))
        return self._line(keys + self.cells(r))

    @staticmethod
    def row_notes(r):
        """Note lines of one result before its own note and warnings (none by default)."""
        return []

    @classmethod
    def notes(cls, results):
        """Note lines: each result's ``row_notes``, then its note and caught warnings."""
        return [line for r in results for line in cls.row_notes(r) + _row_notes(r)]


class SingleFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.SingleFitResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        mu = micro()
        return [
            ("m", 6, ">"),
            ("n", 3, ">"),
            (f"lmfast {mu}s/fit", 15, ">"),
            (f"SciPy {mu}s/fit", 14, ">"),
            ("ratio", 7, ">"),
            ("nfev lm/sp", 11, ">"),
            ("ier lm/sp", 9, ">"),
            ("same", 4, "<"),
        ]

    keys = ("name", "m", "n")

    @staticmethod
    def cells(r):
        return [
            format_us(r.seconds["lmfast"]),
            format_us(r.seconds["scipy"]),
            f"{r.ratio:.2f}",
            f"{r.nfev['lmfast']}/{r.nfev['scipy']}",
            f"{r.ier['lmfast']}/{r.ier['scipy']}",
            "yes" if r.same else "NO",
        ]

    footer = (
        "ratio = SciPy time / lmfast time per fit: higher is better, > 1 means lmfast is faster.\n"
        "Times are medians over the rounds; each round times lmfast and SciPy back to back in\n"
        "this process (order alternating), repeating each call for at least the minimum time.\n"
        f"same = same ier, same nfev and x equal to {X_RTOL:g} relative (calls use "
        "full_output=True);\nrows against another method (SciPy's trf, lmfit): both converged "
        "to the same fit,\ncosts within "
        f"{COST_RTOL:g} relative and every parameter within {100 * STDERR_FRACTION:g}% of its "
        "standard error."
    )


class BatchFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.BatchFitResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        mu = micro()
        return [
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

    keys = ("name", "m", "n", "n_fits", "threads")

    @staticmethod
    def cells(r):
        return [
            format_rate(1.0 / r.seconds["lmfast"]),
            format_us(r.seconds["scipy"]),
            f"{r.ratio:.1f}",
            "-" if r.scaling is None else f"{r.scaling:.2f}",
            format_agree(r.agree, r.agreement),
        ]

    @staticmethod
    def row_notes(r):
        """The agreement of a measured row (skips, failures and warnings follow)."""
        if not r.agreement:
            return []
        extra = f" (all {r.n_fits}: {100 * r.agreement['success_all_lmfast']:.1f}%)"
        return [_agreement_note(r.name, r.agreement, "SciPy", extra)]

    footer = (
        "lmfast fits/s: one curve_fit_batch call over all N fits (threads as shown).\n"
        "SciPy: a loop of scipy.optimize.curve_fit(f, x, y_i, p0_i, full_output=True) over the\n"
        "first fits (the subset); compiled rows give SciPy the model's NumPy twin (a note\n"
        "gives SciPy with the same formula as a plain NumPy function).\n"
        "ratio = SciPy time per fit / lmfast time per fit: higher is better.\n"
        "T/1T = time with threads=1 / time with the threads shown (compiled models only).\n"
        "Medians over the rounds; each round runs every side once, order alternating.\n"
        "The fits compared are the subset.\n" + AGREE_LEGEND
    )


class PeerFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.PeerFitResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        return [
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

    keys = ("name", "library", "m", "n", "n_fits", "threads")

    @staticmethod
    def cells(r):
        return [
            format_rate(1.0 / r.seconds["peer"]),
            format_rate(1.0 / r.seconds["lmfast"]),
            f"{r.ratio:.2f}",
            format_agree(r.agree, r.agreement),
        ]

    @staticmethod
    def row_notes(r):
        """The agreement of a measured row (skips, failures and warnings follow)."""
        return [_agreement_note(r.name, r.agreement, r.library)] if r.agreement else []

    footer = (
        "Other batch fitters on the same fits as curve_fit_batch (all N fits each, same\n"
        "threads), shown only when installed. lm/peer = peer time / lmfast time: > 1 means\n"
        "lmfast is faster. lmfast also returns pcov, perr, chisq, nfev and njev of every fit;\n"
        "the peer rows keep popt and a success flag only.\n"
        "agree compares the peer with lmfast over all N fits.\n" + AGREE_LEGEND
    )


class EstimatorFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.EstimatorFitResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        return [
            ("m", 4, ">"),
            ("n", 2, ">"),
            ("N", 7, ">"),
            ("threads", 7, ">"),
            ("estimator", 9, "<"),
            ("fits/s", 9, ">"),
            ("reference", 13, "<"),
            ("ref fits/s", 10, ">"),
            ("ratio", 5, ">"),
            ("agree", 9, "<"),
        ]

    keys = ("name", "m", "n", "n_fits", "threads")

    @staticmethod
    def cells(r):
        return [
            r.estimator,
            format_rate(1.0 / r.seconds["lmfast"]),
            r.reference_estimator,
            format_rate(1.0 / r.seconds["reference"]),
            f"{r.ratio:.2f}",
            format_agree(r.agree, r.agreement),
        ]

    @staticmethod
    def row_notes(r):
        """The agreement of a measured row (skips, failures and warnings follow)."""
        if not r.agreement:
            return []
        extra = (f" (all {r.n_fits}: {100 * r.agreement['success_all_lmfast']:.1f}%, "
                 f"{r.reference_estimator} "
                 f"{100 * r.agreement['success_all_reference']:.1f}%)")
        return [_agreement_note(r.name, r.agreement, "SciPy leastsq on deviance residuals", extra)]

    footer = (
        "One batch of data fitted by curve_fit_batch twice, all N fits, same model and\n"
        "threads: with the estimator shown and with the reference estimator (least squares),\n"
        "timed in interleaved rounds (order alternating). ratio = the estimator's fits/s /\n"
        "the reference's (what the estimator costs; higher is better).\n"
        "agree compares the estimator's first fits with SciPy's leastsq on the Poisson\n"
        "deviance residuals and their analytic Jacobian (same estimator, same algorithm).\n"
        + AGREE_LEGEND
    )


class PatchedFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.PatchedFitResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        mu = micro()
        return [
            ("m", 4, ">"),
            ("n", 2, ">"),
            ("SciPy call", 13, "<"),
            (f"unpatched {mu}s/fit", 16, ">"),
            (f"patched {mu}s/fit", 14, ">"),
            ("ratio", 6, ">"),
            ("calls/fit", 9, ">"),
            ("nfev unp/pat", 12, ">"),
            ("solver% unp/pat", 15, ">"),
            ("own% pat", 8, ">"),
            ("same", 10, "<"),
        ]

    keys = ("name", "m", "n", "function")

    @staticmethod
    def cells(r):
        return [
            format_us(r.seconds["unpatched"]),
            format_us(r.seconds["patched"]),
            f"{r.ratio:.2f}",
            f"{r.calls_per_fit:g}",
            f"{r.nfev['unpatched']}/{r.nfev['patched']}",
            "/".join(f"{100 * r.share(side, 'solver'):.0f}" for side in ("unpatched", "patched")),
            f"{100 * r.own_share:.0f}",
            ("yes" if r.same else "NO") + f" {r.xdiff:.0e}",
        ]

    @staticmethod
    def row_notes(r):
        """Where a measured row's time goes (skips, failures and warnings follow)."""
        return [_split_note(r)] if r.status == "ok" else []

    @classmethod
    def notes(cls, results):
        """Each row's notes, then what entering and leaving ``lmfast.patched()`` costs."""
        lines = super().notes(results)
        toggles = [r.patch_seconds for r in results if r.patch_seconds is not None]
        if toggles:
            lines.append(
                f"note: entering and leaving lmfast.patched() takes "
                f"{1e3 * min(toggles):.2g} ms (it rebinds SciPy's functions in every "
                "module); not timed above"
            )
        return lines

    footer = (
        "The package's own fit, unchanged, timed without and with lmfast.patch() in force\n"
        "(with lmfast.patched(): around each patched timing), interleaved in this process.\n"
        "ratio = unpatched time / patched time: what a user of the package gains.\n"
        "calls/fit = calls of the SciPy function that reached lmfast per patched fit\n"
        "(lmfast.patch_calls(); unpatched fits must add none). nfev = the package's count.\n"
        "solver% = share of a fit's time inside the SciPy (unpatched) or lmfast (patched)\n"
        "solver call, callbacks into the package excluded; own% = share of a patched fit in\n"
        "the package's own code (around the call and in its callbacks, the model excluded).\n"
        "The notes split a fit (timed again in each round, with a clock on the solver call\n"
        "and its callbacks; the model's share is a bare evaluation's time x its calls).\n"
        f"same = patched and unpatched parameters within {PATCHED_X_RTOL:g} relative; the "
        "number is the\nlargest relative difference."
    )


def _split_note(r):
    """One note line: where a patched and an unpatched fit of ``r`` spend their time."""
    mu = micro()

    def side(name, solver):
        return (
            f"{format_us(sum(r.split[name].values()))} {mu}s "
            f"= {100 * r.share(name, 'outside'):.0f}% {r.package} around the call "
            f"+ {100 * r.share(name, 'callbacks'):.0f}% its callbacks "
            f"+ {100 * r.share(name, 'model'):.0f}% the model "
            f"({r.callbacks_per_fit[name]:g} calls) + {100 * r.share(name, 'solver'):.0f}% {solver}"
        )

    return (
        f"note: {r.name}: {r.package}'s own code is {100 * r.own_share:.0f}% of a patched fit: "
        + side("patched", "lmfast")
        + "; unpatched "
        + side("unpatched", "SciPy")
    )


class MapFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.MapFitResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        return [
            ("map", 7, ">"),
            ("m", 4, ">"),
            ("threads", 7, ">"),
            ("right 1 pass", 12, ">"),
            ("right map", 9, ">"),
            ("1 pass ms", 9, ">"),
            ("map ms", 8, ">"),
            ("map/1 pass", 10, ">"),
            ("passes", 6, ">"),
        ]

    keys = ("name",)

    @staticmethod
    def cells(r):
        return [
            f"{r.side}x{r.side}",
            str(r.m),
            str(r.threads),
            f"{100 * r.right['one_pass']:.1f}%",
            f"{100 * r.right['lmfast']:.1f}%",
            f"{1e3 * r.seconds['one_pass'] * r.n_fits:.0f}",
            f"{1e3 * r.seconds['lmfast'] * r.n_fits:.0f}",
            f"{r.ratio:.2f}",
            str(r.passes),
        ]

    @staticmethod
    def row_notes(r):
        """Converged (ier 1-4) against right, which differ on such maps."""
        if not r.success:
            return []
        return [f"note: {r.name}: ier 1-4 on {100 * r.success['one_pass']:.1f}% of pixels "
                f"after one pass ({100 * r.right['one_pass']:.1f}% right), "
                f"{100 * r.success['lmfast']:.1f}% after curve_fit_map; {r.refits} refits "
                f"in {r.passes} passes"]

    footer = (
        "A map whose Gaussian peak drifts 47 widths across the field, one p0 for every\n"
        "pixel (the peak at the first corner). 1 pass: one curve_fit_batch call; map:\n"
        "curve_fit_map, that pass then parallel passes refitting doubtful pixels from their\n"
        "best converged neighbour. right = share of pixels at the right minimum (centre\n"
        "within half a width of the truth, amplitude and width within 30%); times: whole\n"
        "map, median over the rounds; map/1 pass = time ratio."
    )


class BridgeFitTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.bridge.BridgeFitResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        mu = micro()
        return [
            ("m", 4, ">"),
            ("n", 2, ">"),
            ("N", 6, ">"),
            ("threads", 7, ">"),
            ("lmfast fits/s", 13, ">"),
            (f"lmfit {mu}s/fit", 13, ">"),
            ("ratio", 6, ">"),
            ("agree", 9, "<"),
        ]

    keys = ("name", "m", "n", "n_fits", "threads")

    @staticmethod
    def cells(r):
        return [
            format_rate(1.0 / r.seconds["lmfast"]),
            format_us(r.seconds["lmfit"]),
            f"{r.ratio:.1f}",
            format_agree(r.agree, r.agreement),
        ]

    @staticmethod
    def row_notes(r):
        """The agreement of a measured row with lmfit's fits."""
        if not r.agreement:
            return []
        extra = f" (all {r.n_fits}: {100 * r.agreement['success_all_lmfast']:.1f}%)"
        return [_agreement_note(r.name, r.agreement, "lmfit", extra)]

    footer = (
        "lmfast fits/s: one lmfast.lmfit.fit_batch(model, params, data, x=x) call over all N\n"
        "spectra (threads as shown): the lmfit model and Parameters compiled, ties inside\n"
        "the fit. lmfit: a loop of model.fit(y_i, params, x=x, method='leastsq') over the\n"
        "first spectra. ratio = lmfit time per fit / lmfast time per fit: higher is better.\n"
        "agree compares every parameter's value (free, tied and derived) with lmfit's."
    )


class ScaleOutTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.ScaleOutResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        return [
            ("m", 4, ">"),
            ("n", 2, ">"),
            ("N", 9, ">"),
            ("lmfast fits/s", 13, ">"),
            ("reference", 16, "<"),
            ("ref fits/s", 10, ">"),
            ("ratio", 6, ">"),
            ("same", 4, "<"),
        ]

    keys = ("name", "m", "n", "n_fits")

    @staticmethod
    def cells(r):
        return [
            format_rate(1.0 / r.seconds["lmfast"]),
            r.reference_label,
            format_rate(1.0 / r.seconds[r.reference]),
            f"{r.ratio:.2f}" if r.ratio < 10 else f"{r.ratio:.1f}",
            "yes" if r.identical else "NO",
        ]

    footer = (
        "Opt-in rows (--only dask): lmfast beyond one process. ratio = lmfast fits/s over the\n"
        "reference's (higher is better). dask-cluster: lmfast.dask.curve_fit_batch on a\n"
        "LocalCluster of single-thread worker processes, data generated and kept on the\n"
        "workers, results gathered into a BatchResult, vs lmfast.curve_fit_batch in this\n"
        "process with as many threads; same = bit-for-bit the same fits. dask-xarray:\n"
        "DataArray.lmfast.curvefit (compiled model) on the whole map vs DataArray.curvefit\n"
        "(SciPy per pixel, plain NumPy function) with the same per-pixel p0; same = success\n"
        f"matching on {100 * BATCH_SUCCESS_MATCH:g}% of the pixels and "
        f"{100 * BATCH_SUCCESS_MATCH:g}% of those both solved at the same fit\n"
        f"(costs within {COST_RTOL:g} relative, parameters within {100 * STDERR_FRACTION:g}% "
        "of their standard errors)."
    )


def format_time(seconds):
    """Seconds as ns below a microsecond, else as µs (three significant digits or more)."""
    if seconds < 1e-6:
        return f"{seconds * 1e9:.1f} ns"
    return f"{format_us(seconds)} {micro()}s"


class KernelTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.KernelResult` rows."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        return [
            ("per", 10, "<"),
            ("m", 7, ">"),
            ("lmfast", 10, ">"),
            ("reference", 19, "<"),
            ("ref time", 10, ">"),
            ("ratio", 6, ">"),
            ("max rel diff", 12, ">"),
        ]

    keys = ("name", "unit", "m")

    @staticmethod
    def cells(r):
        return [
            format_time(r.seconds["lmfast"]),
            r.reference_label,
            format_time(r.seconds["reference"]),
            f"{r.ratio:.2f}",
            "-" if r.accuracy is None else f"{r.accuracy:.1e}",
        ]

    footer = (
        "Compiled lineshapes timed on large arrays, no fit around them (median over the\n"
        "rounds, lmfast and the reference back to back, order alternating).\n"
        "voigt-profile: time per point of lineshapes.voigt(x, a, c, sigma, gamma) and of\n"
        "a * scipy.special.voigt_profile(x - c, sigma, gamma) on the same points; ratio =\n"
        "SciPy time / lmfast time (> 1: lmfast is faster); max rel diff = largest\n"
        "|lmfast - SciPy| / |SciPy| where the profile is > 1e-300 (documented: <= 1e-13).\n"
        "voigt2-vs-gauss2-composite: one value + one Jacobian (as a fit step asks for them)\n"
        "of a composite of two Voigts against one of two Gaussians, m = 1024, through the\n"
        "composite's compiled joint evaluator; ratio = Voigt time / Gaussian time (lower\n"
        "is better)."
    )


class BuildsTable(_FixedWidthTable):
    """Fixed-width table of :class:`~lmfast.bench.results.BuildsResult` rows
    (``bench/ab_builds.py``; not a kind of ``python -m lmfast.bench``)."""

    @staticmethod
    def layout():
        """Columns after the workload name: (title, width, alignment)."""
        return [
            ("m", 4, ">"),
            ("n", 2, ">"),
            ("N", 7, ">"),
            ("threads", 7, ">"),
            ("base fits/s", 12, ">"),
            ("new fits/s", 12, ">"),
            ("new/base", 8, ">"),
            ("per round", 11, ">"),
            ("same ok", 7, ">"),
            ("agree", 9, "<"),
        ]

    keys = ("name", "m", "n", "n_fits", "threads")

    @staticmethod
    def cells(r):
        fits = r.fits_per_second
        return [
            format_rate(fits["base"]),
            format_rate(fits["new"]),
            f"{r.ratio:.3f}",
            f"{min(r.round_ratios):.2f}..{max(r.round_ratios):.2f}",
            f"{100 * r.agreement['success_match']:.1f}%",
            format_agree(r.agree, r.agreement),
        ]

    @staticmethod
    def row_notes(r):
        """The agreement of a measured row, spelt out (its note follows)."""
        if not r.agreement:
            return []
        a = r.agreement
        diff = _difference_text(a)
        return [f"note: {r.name}: success base {100 * a['success']['reference']:.1f}%, new "
                f"{100 * a['success']['lmfast']:.1f}%, same flag {100 * a['success_match']:.1f}%"
                f" of {a['fits']} fits; {diff}"]

    footer = (
        "base/new fits/s: N / median time of one curve_fit_batch call over all N fits, each\n"
        "build in its own worker process; rounds alternate base, new then new, base (one\n"
        "process runs at a time). new/base = new fits/s / base fits/s (> 1: new is faster);\n"
        "per round = the range of that ratio over the rounds.\n"
        "same ok = fits where both builds succeed or both fail (ier 1..4); the new build's\n"
        "fits are the lmfast side of agree, the base build's the reference.\n" + AGREE_LEGEND
    )


#: kind -> table class printing results of that kind.
TABLES = {"single": SingleFitTable, "batch": BatchFitTable, "peer": PeerFitTable}
TABLES["estimator"] = EstimatorFitTable
TABLES["patch"] = PatchedFitTable
TABLES["scaleout"] = ScaleOutTable
TABLES["kernel"] = KernelTable
TABLES["map"] = MapFitTable
TABLES["bridge"] = BridgeFitTable
