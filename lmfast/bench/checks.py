"""Do two implementations agree? Outcomes of single fits and of batches, compared.

Two fits of the same data by different methods (SciPy's trf against a bounded LM, a peer
against lmfast) stop at different points inside their tolerances, so their parameters
differ by more than rounding while the fits are the same. :func:`fit_agreement` judges
agreement on the fit itself: the same cost, and parameters that differ by a small
fraction of their standard error. Implementations running the same algorithm (lmfast's
``leastsq`` against SciPy's) are held to more: :func:`compare` wants the same ``ier``,
``nfev`` and ``x`` to :data:`X_RTOL`.
"""

import math
from dataclasses import dataclass

import numpy as np

#: Relative tolerance of the ``x`` comparison between implementations of one algorithm.
X_RTOL = 1e-6
#: Two fits agree when their costs differ by at most this, relative ...
COST_RTOL = 1e-6
#: ... and every parameter differs by at most this fraction of its standard error (a
#: parameter without a finite, positive standard error: by :data:`X_RTOL` relative).
STDERR_FRACTION = 0.01
#: Batch rows agree when the success flags (``ier`` in 1..4) match on this fraction of
#: the fits compared, and this fraction of the fits both solved agree (above).
BATCH_SUCCESS_MATCH = 0.99
#: Package rows: parameters of a patched fit (lmfit, astropy on lmfast) and of the same
#: fit unpatched (on SciPy) agree to this relative difference.
PATCHED_X_RTOL = 1e-9


@dataclass(frozen=True)
class FitOutcome:
    """The parts of a fit result compared between implementations.

    ``cov`` is the covariance a ``full_output=True`` result gives: curve_fit's ``pcov``,
    leastsq's unscaled ``cov_x`` (``None`` when singular).
    """

    x: np.ndarray
    ier: int
    nfev: int
    cov: np.ndarray | None = None

    @classmethod
    def from_full_output(cls, out):
        """Read ``x``, ``ier``, ``nfev`` and the covariance from a ``full_output=True``
        result: both ``leastsq`` and ``curve_fit`` return ``(x, cov, infodict, mesg, ier)``.
        """
        cov = None if out[1] is None else np.asarray(out[1], dtype=float)
        return cls(np.asarray(out[0], dtype=float).ravel(), int(out[4]), int(out[2]["nfev"]), cov)

    @property
    def stderr(self):
        """Standard errors, the square roots of the covariance's diagonal (NaN without one)."""
        if self.cov is None or self.cov.shape != (self.x.size, self.x.size):
            return np.full(self.x.size, np.nan)
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self.cov))


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


def loss_cost(residuals, loss="linear", f_scale=1.0):
    """The cost a fit minimises: ``sum r**2``, or ``f_scale**2 * sum rho((r / f_scale)**2)``
    with a robust loss (``rho`` as documented by ``scipy.optimize.least_squares``).

    Parameters
    ----------
    residuals : ndarray
        Residuals ``model - data`` (weighted, or deviance residuals).
    loss : {"linear", "soft_l1", "huber", "cauchy", "arctan"}, optional
    f_scale : float, optional

    Returns
    -------
    float
    """
    z = (np.asarray(residuals, dtype=float) / f_scale) ** 2
    if loss == "linear":
        rho = z
    elif loss == "soft_l1":
        rho = 2.0 * (np.sqrt(1.0 + z) - 1.0)
    elif loss == "huber":
        rho = np.where(z <= 1.0, z, 2.0 * np.sqrt(z) - 1.0)
    elif loss == "cauchy":
        rho = np.log1p(z)
    elif loss == "arctan":
        rho = np.arctan(z)
    else:
        raise ValueError(f"loss must be linear, soft_l1, huber, cauchy or arctan, not {loss!r}")
    return float(f_scale**2 * np.sum(rho))


def batch_costs(residuals, popt, loss="linear", f_scale=1.0):
    """:func:`loss_cost` of every fit of a batch, NaN where ``popt`` is not finite.

    Parameters
    ----------
    residuals : callable
        ``residuals(i, p)``: residuals of fit ``i`` at parameters ``p``.
    popt : ndarray, shape (k, n)
        Parameters of the fits.
    loss, f_scale : optional
        As for :func:`loss_cost`.

    Returns
    -------
    ndarray, shape (k,)
    """
    popt = np.asarray(popt, dtype=float)
    costs = np.full(popt.shape[0], np.nan)
    with np.errstate(all="ignore"):
        for i, p in enumerate(popt):
            if np.all(np.isfinite(p)):
                costs[i] = loss_cost(residuals(i, p), loss, f_scale)
    return costs


def fit_agreement(popt, ref_popt, stderr, cost, ref_cost):
    """Do fits reach the same fit as the reference fits of the same data?

    A fit agrees when its cost and the reference's differ by at most :data:`COST_RTOL`
    (relative to the larger) and each parameter by at most :data:`STDERR_FRACTION` of
    its standard error ``stderr`` (a parameter without a finite, positive standard error:
    by :data:`X_RTOL` relative to the reference's value).

    Parameters
    ----------
    popt, ref_popt : ndarray, shape (k, n)
        Parameters of the fits and of the reference fits.
    stderr : ndarray, shape (k, n)
        Standard errors of the parameters.
    cost, ref_cost : ndarray, shape (k,)
        The cost of each fit and of its reference (same formula, same data).

    Returns
    -------
    agrees : ndarray of bool, shape (k,)
    shift : ndarray, shape (k,)
        Largest ``|popt - ref_popt| / stderr`` of each fit, in standard errors (parameters
        judged by relative difference count as ``STDERR_FRACTION * difference / X_RTOL``).
    cost_difference : ndarray, shape (k,)
        ``|cost - ref_cost| / max(cost, ref_cost)``.
    """
    popt, ref_popt, stderr = (np.atleast_2d(np.asarray(a, dtype=float))
                              for a in (popt, ref_popt, stderr))
    cost, ref_cost = np.atleast_1d(cost).astype(float), np.atleast_1d(ref_cost).astype(float)
    with np.errstate(all="ignore"):
        delta = np.abs(popt - ref_popt)
        has_stderr = np.isfinite(stderr) & (stderr > 0)
        relative = delta / np.maximum(np.abs(ref_popt), np.finfo(float).tiny)
        per_param = np.where(has_stderr, delta / stderr, STDERR_FRACTION / X_RTOL * relative)
        per_param = np.where(np.isfinite(popt) & np.isfinite(ref_popt), per_param, np.inf)
        shift = per_param.max(axis=1) if per_param.shape[1] else np.zeros(len(popt))
        scale = np.maximum(np.maximum(np.abs(cost), np.abs(ref_cost)), np.finfo(float).tiny)
        cost_difference = np.abs(cost - ref_cost) / scale
        cost_difference = np.where(np.isnan(cost_difference), np.inf, cost_difference)
    agrees = (shift <= STDERR_FRACTION) & (cost_difference <= COST_RTOL)
    return agrees, shift, cost_difference


def compare(lm, sp, solution_only=False, costs=None):
    """Compare the outcomes of lmfast and SciPy (or another reference).

    Parameters
    ----------
    lm, sp : FitOutcome
        lmfast's fit and the reference's.
    solution_only : bool, optional
        The reference runs another method (SciPy's trf, lmfit): both must have converged
        and reach the same fit (:func:`fit_agreement`, standard errors from lmfast's
        covariance); ``ier`` and ``nfev`` may differ.
    costs : tuple of float, optional
        ``(lmfast's cost, the reference's cost)``; needed with ``solution_only``.

    Returns
    -------
    same : bool
        Same ``ier``, same ``nfev`` and ``x`` within :data:`X_RTOL`; with
        ``solution_only``, both converged to the same fit.
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
        (agrees,), (shift,), (cost_difference,) = fit_agreement(lm.x, sp.x, lm.stderr, *costs)
        if not agrees:
            problems.append(f"not the same fit: parameters differ by up to {shift:.2g} "
                            f"standard errors, costs by {cost_difference:.2g} (relative)")
        return not problems, xdiff, problems
    if lm.ier != sp.ier:
        problems.append(f"ier {lm.ier} vs {sp.ier}")
    if lm.nfev != sp.nfev:
        problems.append(f"nfev {lm.nfev} vs {sp.nfev}")
    if not xdiff <= X_RTOL:
        problems.append(f"x differs by {xdiff:.2g} (relative)")
    return not problems, xdiff, problems


def _finite_or_none(values, reduce):
    """``reduce`` of the finite entries of ``values`` as a float, ``None`` if none."""
    finite = values[np.isfinite(values)]
    return float(reduce(finite)) if finite.size else None


def batch_agreement(lm_popt, lm_ier, ref_popt, ref_ier, *, stderr, lm_cost, ref_cost):
    """Compare per-fit outcomes of lmfast and a reference on the same fits.

    Parameters
    ----------
    lm_popt, ref_popt : ndarray, shape (k, n)
        Fitted parameters.
    lm_ier, ref_ier : ndarray of int, shape (k,)
        Status codes; 1..4 is success for both.
    stderr : ndarray, shape (k, n)
        Standard errors of lmfast's parameters (the scale of :func:`fit_agreement`).
    lm_cost, ref_cost : ndarray, shape (k,)
        Cost of each fit on each side, computed by one formula (:func:`batch_costs`).

    Returns
    -------
    agreement : dict
        ``fits``; ``success`` of each side and ``success_match`` (fractions);
        ``solved_by_both``; over the fits both solved: ``same_fit`` (fraction that
        :func:`fit_agreement` accepts), ``median_shift`` and ``max_shift`` (in standard
        errors), ``max_cost_difference`` (relative); ``None`` where no fit was solved by
        both.
    agree : bool
        Success flags match on at least :data:`BATCH_SUCCESS_MATCH` of the fits and at
        least that fraction of the fits both solved agree.
    """
    lm_ok = (lm_ier >= 1) & (lm_ier <= 4)
    ref_ok = (ref_ier >= 1) & (ref_ier <= 4)
    both = np.flatnonzero(lm_ok & ref_ok)
    agrees, shift, cost_difference = fit_agreement(
        np.asarray(lm_popt)[both], np.asarray(ref_popt)[both], np.asarray(stderr)[both],
        np.asarray(lm_cost)[both], np.asarray(ref_cost)[both])
    agreement = {
        "fits": int(lm_ier.size),
        "success": {"lmfast": float(lm_ok.mean()), "reference": float(ref_ok.mean())},
        "success_match": float((lm_ok == ref_ok).mean()),
        "solved_by_both": int(both.size),
        "same_fit": float(agrees.mean()) if both.size else None,
        "median_shift": _finite_or_none(shift, np.median),
        "max_shift": _finite_or_none(shift, np.max),
        "max_cost_difference": _finite_or_none(cost_difference, np.max),
    }
    agree = (agreement["success_match"] >= BATCH_SUCCESS_MATCH and both.size > 0
             and agreement["same_fit"] >= BATCH_SUCCESS_MATCH)
    return agreement, bool(agree)
