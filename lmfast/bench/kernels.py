"""The lineshape kernel rows: a compiled lineshape timed on large arrays, no fit around it.

* :func:`voigt_profile_calls`: ``lmfast.lineshapes.voigt(x, amplitude, center, sigma,
  gamma)`` against ``amplitude * scipy.special.voigt_profile(x - center, sigma, gamma)``
  on the same points (a few (sigma, gamma) pairs, core and tails), with the largest
  relative difference where the profile is above :data:`TINY_PROFILE`.
* :func:`composite_calls`: one evaluation of value and Jacobian, as a fit asks for them, of
  two Voigts (``lineshapes.model("voigt", prefix=...)`` added up) against two Gaussians,
  through the composite's compiled evaluator (``CompiledModel.evaluate``).

Each ``make_calls(quick)`` returns a :class:`KernelCalls`; the runner
(:func:`lmfast.bench.runners.run_kernel`) times its two callables like a single-fit row.
"""

from dataclasses import dataclass, field

import numpy as np

#: The voigt-profile row: (sigma, gamma) pairs, Gaussian-like to Lorentzian-like.
VOIGT_PAIRS = ((1.0, 1e-3), (1.0, 0.1), (1.0, 1.0), (0.1, 1.0))
#: Amplitude and center of the voigt-profile row.
VOIGT_AMPLITUDE, VOIGT_CENTER = 2.0, 0.5
#: Each pair's points span center +- this many (sigma + gamma): core and far tails.
VOIGT_SPAN = 60.0
#: Points of one call (all pairs), default and ``--quick``.
VOIGT_POINTS, QUICK_VOIGT_POINTS = 1_000_000, 200_000
#: The accuracy is compared where the profile is above this.
TINY_PROFILE = 1e-300
#: Parameter rows per evaluator call of the composite row (amortises the Python call
#: while the outputs stay in cache).
COMPOSITE_ROWS = 4
#: Two Voigts and two Gaussians (amplitude, center, sigma[, gamma]) on m points of [0, 100].
VOIGT2_P = (10.0, 40.0, 2.0, 1.0, 8.0, 60.0, 3.0, 0.5)
GAUSS2_P = (10.0, 40.0, 2.0, 8.0, 60.0, 3.0)


@dataclass
class KernelCalls:
    """What a kernel row times and checks.

    Attributes
    ----------
    calls : dict of str to callable
        ``{"lmfast": ..., "reference": ...}``, zero-argument callables.
    units : int
        Points (or evaluations) of one call of each: times are reported per unit.
    accuracy : float or None
        Largest relative difference of lmfast's values from the reference's.
    notes : list of str
        More about the accuracy (per pair).
    """

    calls: dict
    units: int
    accuracy: float | None = None
    notes: list = field(default_factory=list)


def voigt_points(sigma, gamma, k):
    """``k`` points centred on :data:`VOIGT_CENTER`, spanning +- VOIGT_SPAN (sigma + gamma)."""
    return VOIGT_CENTER + np.linspace(-VOIGT_SPAN, VOIGT_SPAN, k) * (sigma + gamma)


def voigt_profile_calls(quick):
    """lmfast's compiled Voigt against SciPy's ``voigt_profile`` on the same points.

    One call evaluates every pair of :data:`VOIGT_PAIRS` on its share of the points.
    lmfast's side is the public ``lmfast.lineshapes.voigt``: on arrays this large its
    argument handling is a few microseconds against tens of milliseconds of kernel.
    """
    from scipy.special import voigt_profile

    from lmfast import lineshapes

    k = (QUICK_VOIGT_POINTS if quick else VOIGT_POINTS) // len(VOIGT_PAIRS)
    grids = [(voigt_points(s, g, k), s, g) for s, g in VOIGT_PAIRS]
    a, c = VOIGT_AMPLITUDE, VOIGT_CENTER

    def lmfast_call():
        return [lineshapes.voigt(x, a, c, s, g) for x, s, g in grids]

    def reference_call():
        return [a * voigt_profile(x - c, s, g) for x, s, g in grids]

    worst, notes = 0.0, []
    for (_, s, g), lm, ref in zip(grids, lmfast_call(), reference_call(), strict=True):
        keep = np.abs(ref) > TINY_PROFILE
        rel = float(np.max(np.abs(lm[keep] - ref[keep]) / np.abs(ref[keep])))
        if not np.all(np.isfinite(lm)):
            rel = np.inf
        worst = max(worst, rel)
        notes.append(f"sigma {s:g}, gamma {g:g}: {rel:.1e}")
    notes = ["max relative difference from SciPy per (sigma, gamma), profile > "
             f"{TINY_PROFILE:g}: " + "; ".join(notes)]
    return KernelCalls({"lmfast": lmfast_call, "reference": reference_call},
                       k * len(VOIGT_PAIRS), worst, notes)


def composite_calls(quick, m=1024):
    """Value and Jacobian of two Voigts against two Gaussians, composite models, m points.

    Each call evaluates :data:`COMPOSITE_ROWS` parameter rows through the composite's
    ``CompiledModel.evaluate_joint`` (the C function a fit calls at each point it tries,
    GIL released: value and Jacobian in one evaluation where the components can): one
    unit is one value and one Jacobian, as one step of a fit asks for.
    ``quick`` changes nothing (one call lasts well under a millisecond).
    """
    from lmfast import lineshapes

    def composite(name):
        return lineshapes.model(name, prefix="p1_") + lineshapes.model(name, prefix="p2_")

    x = np.linspace(0.0, 100.0, m).reshape(1, 1, m)

    def call(model, p):
        compiled = model._compiled
        rows = np.ascontiguousarray(np.tile(np.asarray(p, dtype=float), (COMPOSITE_ROWS, 1)))

        def evaluate():
            return compiled.evaluate_joint(rows, x)

        return evaluate

    return KernelCalls({"lmfast": call(composite("voigt"), VOIGT2_P),
                        "reference": call(composite("gaussian"), GAUSS2_P)}, COMPOSITE_ROWS)
