"""Do two implementations agree? Outcomes of single fits and of batches, compared."""

import math
from dataclasses import dataclass

import numpy as np

#: Relative tolerance of the ``x`` comparison between the implementations.
X_RTOL = 1e-6
#: Batch rows: ``agree`` is "yes" when the median relative ``popt`` difference over the
#: fits of the subset that both implementations solved is at most this ...
BATCH_X_RTOL = 1e-6
#: ... and the success flags (``ier`` in 1..4) are the same for this fraction of them.
BATCH_SUCCESS_MATCH = 0.99
#: Package rows: parameters of a patched fit (lmfit, astropy on lmfast) and of the same
#: fit unpatched (on SciPy) agree to this relative difference.
PATCHED_X_RTOL = 1e-9


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


def compare(lm, sp, solution_only=False):
    """Compare the outcomes of lmfast and SciPy (or another reference).

    With ``solution_only`` (the reference runs another method: SciPy's trf, lmfit) only
    ``x`` is compared, and both must have converged.

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
    if solution_only:
        if not (1 <= lm.ier <= 4 and sp.ier >= 1):
            problems.append(f"ier {lm.ier} vs {sp.ier}")
    elif lm.ier != sp.ier:
        problems.append(f"ier {lm.ier} vs {sp.ier}")
    if lm.nfev != sp.nfev and not solution_only:
        problems.append(f"nfev {lm.nfev} vs {sp.nfev}")
    if not xdiff <= X_RTOL:
        problems.append(f"x differs by {xdiff:.2g} (relative)")
    return not problems, xdiff, problems


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
