"""Bounds and fixed parameters in lmfast's Levenberg-Marquardt.

References are other programs, never stored numbers:

* lmfit 1.3 (``Model(f).fit(..., method='leastsq')``): the same MINUIT change of
  variables around the same MINPACK algorithm, so popt, standard errors and the number of
  function evaluations must agree on every problem of ``PROBLEMS`` (inside the bounds,
  at them, one- and two-sided, NIST StRD, fixed parameters), for the Python model and
  for the compiled one.  Two details of lmfit change the last bits, and on ill-conditioned
  problems the iteration count: its residual is ``data - model`` (curve_fit's is
  ``model - data``, and MINPACK's arithmetic is not exactly symmetric under r -> -r), and
  it takes the arcsine of the start with NumPy's ``arcsin``, which differs from the C
  library's ``asin`` (lmfast's) by an ulp on some inputs.  The strict comparison
  therefore runs lmfit with those two aligned (``lmfit_fit(..., "python")``); stock lmfit
  is compared too, to the same minimum, and the agreement counts of both are printed.
* SciPy's ``trf``: the same minimum (popt), or one no worse (chi-square).
* a hand-written reduced model (fixed parameters), lmfast's own single fits (the
  batch) and unbounded fits (bounds that bound nothing).
"""

import inspect
import math
import warnings
from dataclasses import dataclass
from functools import cache
from unittest import mock

import lmfit
import lmfit.parameter
import nist
import numpy as np
import pytest
import scipy.optimize
from batch_helpers import gaussian_jac, np_exponential, np_gaussian, np_lorentzian
from helpers import assert_pcov_close, assert_popt_close, run_outcome

from lmfast import _models, _transform, curve_fit, curve_fit_batch, models

INF = np.inf

# lmfit's leastsq passes ftol = xtol = 1.5e-8 and epsfcn = 1e-10 (and gtol = 0 and
# factor = 100, curve_fit's defaults); lmfast gets the same settings.
LMFIT_SETTINGS = {"ftol": 1.5e-8, "xtol": 1.5e-8, "epsfcn": 1e-10}
LMFIT_POPT_RTOL = 1e-8
LMFIT_STDERR_RTOL = 1e-6
# Against trf both run to tight tolerances.
TRF_SETTINGS = {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-12}
LMFAST_TIGHT = {"ftol": 1e-12, "xtol": 1e-12}
TRF_POPT_RTOL = 1e-5
CHISQ_RTOL = 1e-8


# --------------------------------------------------------------------------------------
# The bounded problems
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounded:
    """One bounded curve fit: ``f(x, *p)`` to ``y`` from ``p0`` within ``[lb, ub]``.

    ``at`` names the problems whose unbounded minimum lies outside the bounds (the
    solution is on a bound); ``model`` is the compiled lmfast model of the same formula.
    """

    name: str
    f: object  # f(x, p1, ..., pn) with named parameters (lmfit reads the names)
    x: np.ndarray
    y: np.ndarray
    p0: tuple
    lb: tuple
    ub: tuple
    model: object = None
    fixed: tuple | None = None  # bool mask (lmfit: vary=False)

    @property
    def names(self):
        return list(inspect.signature(self.f).parameters)[1:]

    @property
    def n(self):
        return len(self.p0)

    @property
    def at(self):
        return "-at-" in self.name

    @property
    def fixed_list(self):
        return None if self.fixed is None else list(self.fixed)


def keyword_function(fun, names):
    """``f(x, *b)`` computing ``fun(np.array(b), x)``, with a signature naming ``names``:
    lmfast calls it positionally, lmfit by keyword."""

    def f(x, *b, **kw):
        values = b if b else [kw[name] for name in names]
        return fun(np.array(values, dtype=float), x)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    f.__signature__ = inspect.Signature(
        [inspect.Parameter(name, kind) for name in ["x", *names]]
    )
    return f


def noisy(f, x, truth, noise, seed):
    rng = np.random.default_rng(seed)
    return f(x, *truth) + rng.normal(0.0, noise, x.size)


X_PEAK = np.linspace(-5.0, 5.0, 81)
X_DECAY = np.linspace(0.0, 5.0, 60)
GAUSS_TRUTH = (3.0, 0.4, 1.2, 0.5)
LORENTZ_TRUTH = (2.0, -0.3, 0.8, 0.2)
EXP_TRUTH = (2.0, 1.3, 0.3)

# name: (p0 changes {index: value}, lb, ub, seed, fixed); the peaks' p0 is PEAK_P0.
PEAK_P0 = {"gaussian": (2.0, 0.0, 1.0, 0.0), "lorentzian": (1.5, 0.0, 1.0, 0.0)}
PEAK_CASES = {
    "inside-two-sided": ({}, (0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0), 1, None),
    "inside-lower-only": ({}, (0.0, -INF, 0.1, -INF), (INF,) * 4, 2, None),
    "inside-upper-only": ({}, (-INF,) * 4, (10.0, 3.0, 4.0, 2.0), 3, None),
    "inside-mixed": ({}, (0.0, -INF, 0.1, -2.0), (INF, 2.0, 3.0, 2.0), 4, None),
    # offset within 0.05 of a bound it does not reach
    "near-upper-two-sided": ({}, (0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, "near"), 9, None),
    # the offset (truth 0.5 / 0.2) above its upper bound: the solution is on it
    "at-upper-two-sided": ({}, (0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 0.1), 5, None),
    # the width (truth 1.2 / 0.8) below its lower bound
    "at-lower-two-sided": ({2: 1.5}, (0.0, -1.0, 1.3, -1.0), (5.0, 1.0, 3.0, 1.0), 6, None),
    # the amplitude (truth 3.0 / 2.0) below a one-sided lower bound
    "at-lower-one-sided": ({0: 3.5}, (3.3, -INF, -INF, -INF), (INF,) * 4, 7, None),
    "fixed-center": ({1: "truth+0.05"}, (0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0), 8,
                     (False, True, False, False)),
}
EXP_CASES = {
    "inside-two-sided": ((1.0, 1.0, 0.0), (0.0, 0.1, -1.0), (5.0, 5.0, 1.0), 11, None),
    "inside-lower-only": ((1.0, 1.0, 0.0), (0.0, 0.0, -INF), (INF,) * 3, 12, None),
    "inside-upper-only": ((1.0, 1.0, 0.0), (-INF,) * 3, (5.0, 3.0, 1.0), 13, None),
    # the rate (truth 1.3) above its upper bound
    "inside-mixed": ((1.0, 1.0, 0.0), (0.0, -INF, -1.0), (INF, 3.0, INF), 18, None),
    "at-upper-two-sided": ((1.0, 0.5, 0.0), (0.0, 0.1, -1.0), (5.0, 1.0, 1.0), 14, None),
    # the offset (truth 0.3) below a one-sided lower bound, then above a one-sided upper
    "at-lower-one-sided": ((1.0, 1.0, 0.5), (-INF, -INF, 0.4), (INF,) * 3, 15, None),
    "at-upper-one-sided": ((1.0, 1.0, 0.0), (-INF,) * 3, (INF, INF, 0.2), 16, None),
    "fixed-offset": ((1.0, 1.0, 0.3), (0.0, 0.1, -1.0), (5.0, 5.0, 1.0), 17,
                     (False, False, True)),
}
# NIST StRD problems from start 2, two-sided bounds holding start 2 and the certified
# values with room to spare; then one-sided and active bounds chosen by hand.
NIST_BOXED = ("Misra1a", "Chwirut2", "DanWood", "MGH09", "Thurber", "Lanczos3", "BoxBOD",
              "Rat43", "Eckerle4", "Rat42", "Misra1b", "Kirby2")
NIST_SPECIAL = {
    # b1 certified 238.94, start 250: a lower bound at 240 is active
    "Misra1a-at-lower": ("Misra1a", (240.0, -INF), (INF, INF)),
    # b1 certified 0.76886, start 0.7: an upper bound at 0.75 is active
    "DanWood-at-upper": ("DanWood", (-INF, -INF), (0.75, INF)),
    "Chwirut2-lower-only": ("Chwirut2", (0.0, 0.0, 0.0), (INF, INF, INF)),
    "Eckerle4-lower-only": ("Eckerle4", (0.0, 0.0, 0.0), (INF, INF, INF)),
    "Rat43-upper-only": ("Rat43", (-INF,) * 4, (1000.0, 10.0, 2.0, 3.0)),
}


def _peak_problems():
    out = []
    for kind, f, model, truth in (
        ("gaussian", np_gaussian, models.gaussian, GAUSS_TRUTH),
        ("lorentzian", np_lorentzian, models.lorentzian, LORENTZ_TRUTH),
    ):
        for case, (changes, lb, ub, seed, fixed) in PEAK_CASES.items():
            p0 = list(PEAK_P0[kind])
            for j, v in changes.items():
                p0[j] = truth[j] + 0.05 if v == "truth+0.05" else v
            ub = tuple(truth[3] + 0.05 if v == "near" else v for v in ub)
            y = noisy(f, X_PEAK, truth, 0.05, seed)
            out.append(Bounded(f"{kind}-{case}", f, X_PEAK, y, tuple(p0), lb, ub, model,
                               fixed))
    return out


def _exponential_problems():
    out = []
    for case, (p0, lb, ub, seed, fixed) in EXP_CASES.items():
        y = noisy(np_exponential, X_DECAY, EXP_TRUTH, 0.02, seed)
        out.append(Bounded(f"exponential-{case}", np_exponential, X_DECAY, y, p0, lb, ub,
                           models.exponential, fixed))
    return out


def _nist_f(problem):
    return keyword_function(problem.model, [f"b{i + 1}" for i in range(problem.n_params)])


def _nist_problems():
    out = []
    for name in NIST_BOXED:
        p = nist.PROBLEMS[name]
        s, c = np.asarray(p.start2), np.asarray(p.certified)
        w = 0.5 * np.maximum(np.abs(s), np.abs(c))
        lb, ub = tuple(np.minimum(s, c) - w), tuple(np.maximum(s, c) + w)
        out.append(Bounded(f"nist-{name}-two-sided", _nist_f(p), p.x, p.y, tuple(p.start2),
                           lb, ub))
    for label, (name, lb, ub) in NIST_SPECIAL.items():
        p = nist.PROBLEMS[name]
        out.append(Bounded(f"nist-{label}", _nist_f(p), p.x, p.y, tuple(p.start2), lb, ub))
    return out


PROBLEMS = {p.name: p for p in _peak_problems() + _exponential_problems() + _nist_problems()}
NAMES = list(PROBLEMS)
COMPILED = [name for name in NAMES if PROBLEMS[name].model is not None]
# (name, "python" | "compiled"): every lmfast fit compared with lmfit
LMFIT_RUNS = [(name, "python") for name in NAMES] + [(name, "compiled") for name in COMPILED]


# --------------------------------------------------------------------------------------
# The fits, each computed once
# --------------------------------------------------------------------------------------


@dataclass
class Result:
    popt: np.ndarray
    stderr: np.ndarray  # NaN where undetermined (pcov inf, lmfit's stderr None)
    nfev: int
    ier: int
    chisq: float
    at_bound: np.ndarray = None  # lmfast's infodict["at_bound"]; trf: on a bound exactly


def chisq(prob, popt):
    r = prob.f(prob.x, *popt) - prob.y
    return float(r @ r)


def _lmfast(prob, f, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OptimizeWarning: pcov inf at a one-sided bound
        popt, pcov, info, _, ier = curve_fit(f, prob.x, prob.y, prob.p0,
                                             bounds=(prob.lb, prob.ub), fixed=prob.fixed_list,
                                             full_output=True, **settings)
    stderr = np.sqrt(np.diag(pcov))
    stderr[~np.isfinite(stderr)] = np.nan
    return Result(popt, stderr, int(info["nfev"]), int(ier), chisq(prob, popt),
                  info.get("at_bound", np.zeros(prob.n, bool)))


@cache
def lmfast_fit(name, how="python"):
    """lmfast.curve_fit with lmfit's settings, on the Python or the compiled model."""
    prob = PROBLEMS[name]
    return _lmfast(prob, prob.model if how == "compiled" else prob.f, **LMFIT_SETTINGS)


@cache
def lmfast_tight_fit(name):
    prob = PROBLEMS[name]
    return _lmfast(prob, prob.f, **LMFAST_TIGHT)


def _compiled_values(model):
    def fun(b, x):
        return _models._test_eval(model._compiled.name, b, x, False)

    return fun


@cache
def lmfit_fit(name, how="stock"):
    """lmfit's leastsq fit of problem ``name``.

    ``"stock"``: ``Model(f).fit(y, params, x=x, method="leastsq")`` as is.
    ``"python"``: the same with curve_fit's residual sign (the model -f fitted to -y, as
    lmfit's residual is data - model) and the C library's asin/sin/cos in the change
    of variables (lmfast's); ``"compiled"``: that, with the compiled model's own values
    (``_models._test_eval``) as the model.
    """
    prob = PROBLEMS[name]
    params = lmfit.Parameters()
    fixed = prob.fixed or (False,) * prob.n
    for pname, v, lo, hi, fix in zip(prob.names, prob.p0, prob.lb, prob.ub, fixed):
        params.add(pname, value=v, min=lo, max=hi, vary=not fix)
    if how == "stock":
        f, y = prob.f, prob.y
    else:
        if how == "compiled":
            values = _compiled_values(prob.model)
        else:
            def values(b, x):
                return prob.f(x, *b)

        f = keyword_function(lambda b, x: -values(b, x), prob.names)
        y = -prob.y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "stock":
            res = lmfit.Model(f).fit(y, params, x=prob.x, method="leastsq")
        else:
            with (mock.patch.object(lmfit.parameter, "arcsin", math.asin),
                  mock.patch.object(lmfit.parameter, "sin", math.sin),
                  mock.patch.object(lmfit.parameter, "cos", math.cos)):
                res = lmfit.Model(f).fit(y, params, x=prob.x, method="leastsq")
    popt = np.array([res.params[k].value for k in prob.names])
    stderr = np.array([np.nan if res.params[k].stderr is None else res.params[k].stderr
                       for k in prob.names], dtype=float)
    if prob.fixed is not None:
        stderr[list(prob.fixed)] = 0.0  # lmfast's pcov rows of a fixed parameter are 0
    return Result(popt, stderr, int(res.nfev), int(res.ier), chisq(prob, popt))


@cache
def trf_fit(name):
    """SciPy's trf on problem ``name``; fixed parameters substituted as constants."""
    prob = PROBLEMS[name]
    free = np.ones(prob.n, bool) if prob.fixed is None else ~np.array(prob.fixed)
    full = np.array(prob.p0, dtype=float)

    def f(x, *q):
        p = full.copy()
        p[free] = q
        return prob.f(x, *p)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q, cov = scipy.optimize.curve_fit(
            f, prob.x, prob.y, full[free], method="trf",
            bounds=(np.array(prob.lb)[free], np.array(prob.ub)[free]), **TRF_SETTINGS)
    popt = full.copy()
    popt[free] = q
    stderr = np.zeros(prob.n)
    stderr[free] = np.sqrt(np.diag(cov))
    lb, ub = np.array(prob.lb, float), np.array(prob.ub, float)
    # trf ends a pinned parameter within rounding of its bound (1e-13 here)
    with np.errstate(invalid="ignore"):
        near_lb = np.isfinite(lb) & (np.abs(popt - lb) <= 1e-10 * np.maximum(1.0, np.abs(lb)))
        near_ub = np.isfinite(ub) & (np.abs(ub - popt) <= 1e-10 * np.maximum(1.0, np.abs(ub)))
    on_bound = free & (near_lb | near_ub)
    return Result(popt, stderr, -1, -1, chisq(prob, popt), on_bound)


def rel_err(got, want):
    """Largest |got - want| relative to |want| (at least a thousandth of the largest)."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    scale = np.maximum(np.abs(want), 1e-3 * np.max(np.abs(want), initial=0.0))
    scale[scale == 0] = 1.0
    return float(np.max(np.abs(got - want) / scale, initial=0.0))


def stderr_err(got, want):
    """As rel_err, for standard errors: NaN (undetermined) must match NaN."""
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return math.inf
    ok = ~np.isnan(want)
    if not ok.any():
        return 0.0
    return rel_err(got[ok], want[ok])


def lmfit_disagreements(lm, ref, how="python"):
    """What differs between an lmfast fit and lmfit's, as a list of words.

    A compiled model's fit runs the fast kernels (reassociated sums, their own exp,
    lmfast/_simd.pxd): it reaches lmfit's minimum to the rounding of those sums, not in
    the same bits.  Where the minimum is flat, a stop within ftol moves popt along the
    valley, so there popt agrees to 1e-6 relative or a hundredth of its standard error,
    chi-square to CHISQ_RTOL, and ier exactly; nfev is not compared.
    """
    out = []
    if how == "compiled":
        slack = np.maximum(1e-6 * np.abs(ref.popt), 1e-2 * np.nan_to_num(lm.stderr))
        if np.any(np.abs(lm.popt - ref.popt) > slack):
            out.append(f"popt (rel {rel_err(lm.popt, ref.popt):.1e})")
        if abs(lm.chisq - ref.chisq) > CHISQ_RTOL * ref.chisq:
            out.append(f"chisq ({lm.chisq!r} vs lmfit {ref.chisq!r})")
        if lm.ier != ref.ier:
            out.append(f"ier ({lm.ier} vs lmfit {ref.ier})")
        return out
    if rel_err(lm.popt, ref.popt) > LMFIT_POPT_RTOL:
        out.append(f"popt (rel {rel_err(lm.popt, ref.popt):.1e})")
    # A parameter on its bound: the errors are SciPy's (test_errors_on_a_bound_are_trfs),
    # lmfit's depend on where its internal variable stopped.
    if (not lm.at_bound.any()
            and stderr_err(lm.stderr, ref.stderr) > LMFIT_STDERR_RTOL):
        out.append(f"stderr (rel {stderr_err(lm.stderr, ref.stderr):.1e})")
    if lm.nfev != ref.nfev:
        out.append(f"nfev ({lm.nfev} vs lmfit {ref.nfev})")
    if lm.ier != ref.ier:
        out.append(f"ier ({lm.ier} vs lmfit {ref.ier})")
    return out


# --------------------------------------------------------------------------------------
# The problem set is what it claims to be
# --------------------------------------------------------------------------------------


def test_problem_set_covers_the_kinds_of_bounds():
    assert len(PROBLEMS) >= 30
    kinds = {"two-sided": 0, "lower-only": 0, "upper-only": 0, "mixed": 0}
    for prob in PROBLEMS.values():
        lb, ub = np.isfinite(prob.lb), np.isfinite(prob.ub)
        if lb.any() and not ub.any():
            kinds["lower-only"] += 1
        elif ub.any() and not lb.any():
            kinds["upper-only"] += 1
        elif np.all(lb == ub):
            kinds["two-sided"] += 1
        else:
            kinds["mixed"] += 1
    assert min(kinds.values()) >= 3, kinds
    assert sum(p.at for p in PROBLEMS.values()) >= 8
    assert sum(name.startswith("nist-") for name in NAMES) >= 9
    assert sum(p.fixed is not None for p in PROBLEMS.values()) >= 3


@pytest.mark.parametrize("name", NAMES)
def test_solution_is_inside_or_on_the_bound_it_claims(name):
    """The "-at-" problems have their unbounded minimum outside the bounds, and the
    bounded fit ends on that bound (to 1e-8 relative); all others end strictly inside."""
    prob = PROBLEMS[name]
    lb, ub = np.array(prob.lb), np.array(prob.ub)
    fit = lmfast_fit(name)
    assert fit.ier in (1, 2, 3, 4)
    assert np.all((lb <= fit.popt) & (fit.popt <= ub))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = curve_fit(prob.f, prob.x, prob.y, prob.p0, fixed=prob.fixed_list)[0]
    outside = (free < lb) | (free > ub)
    assert outside.any() == prob.at, free
    for j in np.flatnonzero(outside):
        bound = lb[j] if free[j] < lb[j] else ub[j]
        assert abs(fit.popt[j] - bound) <= 1e-8 * max(1.0, abs(bound)), (j, fit.popt[j])
    if not prob.at:
        assert np.all((lb < fit.popt) & (fit.popt < ub))


# --------------------------------------------------------------------------------------
# 1. The same answers as lmfit
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "how"), LMFIT_RUNS, ids=[f"{n}-{h}" for n, h in LMFIT_RUNS])
def test_same_as_lmfit(name, how):
    """popt to 1e-8, standard errors to 1e-6 (undetermined where lmfit's are), nfev and
    ier equal; lmfit with curve_fit's residual sign and C's asin (see the module doc)."""
    lm = lmfast_fit(name, how)
    ref = lmfit_fit(name, how)
    assert not lmfit_disagreements(lm, ref, how), lmfit_disagreements(lm, ref, how)


def test_lmfit_agreement_counts():
    """Every run agrees with (aligned) lmfit.  Stock lmfit, and lmfit on the NumPy formula
    for the compiled model's fits, end at the same minimum (popt 1e-5, chi-square 1e-8)
    and agree exactly where the differences named in the module doc do not matter; their
    counts are printed."""
    lines, failures = [], []
    for how in ("python", "compiled"):
        runs = [name for name, h in LMFIT_RUNS if h == how]
        for n in runs:
            words = lmfit_disagreements(lmfast_fit(n, how), lmfit_fit(n, how), how)
            if words:
                failures.append(f"{n} [{how}]: {', '.join(words)}")
        lines.append(_count_line(f"lmfit, {how} model", runs, how, how))
    for label, runs, how, ref_how in (
        ("stock lmfit, python model", NAMES, "python", "stock"),
        ("lmfit on the NumPy formula, compiled model", COMPILED, "compiled", "python"),
    ):
        lines.append(_count_line(label, runs, how, ref_how))
        for n in runs:
            lm, ref = lmfast_fit(n, how), lmfit_fit(n, ref_how)
            words = lmfit_disagreements(lm, ref, how)
            if words:
                why = _why_stock(n) if ref_how == "stock" else "C and NumPy model rounding"
                lines.append(f"  differs on {n}: {', '.join(words)} ({why})")
            if how == "compiled":
                same = not lmfit_disagreements(lm, ref, how)
            else:
                same = (rel_err(lm.popt, ref.popt) <= TRF_POPT_RTOL
                        and abs(lm.chisq - ref.chisq) <= CHISQ_RTOL * ref.chisq)
            if not same:
                failures.append(f"{n} [{label}]: another minimum, {lm.popt} vs {ref.popt}")
    print("\n" + "\n".join(lines))
    assert not failures, "\n".join(failures)


def _count_line(label, runs, how, lmfit_how):
    popt = sum(rel_err(lmfast_fit(n, how).popt, lmfit_fit(n, lmfit_how).popt)
               <= LMFIT_POPT_RTOL for n in runs)
    se = sum(stderr_err(lmfast_fit(n, how).stderr, lmfit_fit(n, lmfit_how).stderr)
             <= LMFIT_STDERR_RTOL for n in runs if not lmfast_fit(n, how).at_bound.any())
    nfev = sum(lmfast_fit(n, how).nfev == lmfit_fit(n, lmfit_how).nfev for n in runs)
    N = len(runs)
    return f"{label}: popt {popt}/{N}, stderr {se}/{N}, nfev {nfev}/{N} agree"


def _why_stock(name):
    """Which of stock lmfit's two differences applies to this problem."""
    prob = PROBLEMS[name]
    params = lmfit.Parameters()
    for pname, v, lo, hi in zip(prob.names, prob.p0, prob.lb, prob.ub):
        params.add(pname, value=v, min=lo, max=hi)
    u_numpy = [params[k].setup_bounds() for k in prob.names]
    free = np.arange(prob.n)
    p0 = np.array(prob.p0, dtype=float)
    u_c = _transform._test_transform(np.array(prob.lb), np.array(prob.ub), free, p0, p=p0)[0]
    if not np.array_equal(np.array(u_numpy)[free], u_c):
        return "NumPy's arcsin of the start differs from asin by an ulp"
    return "residual sign only: data - model"


# --------------------------------------------------------------------------------------
# 2. The same minimum as SciPy's trf
# --------------------------------------------------------------------------------------

# Where lmfast and trf stop at different points of the same minimum, with lmfast's
# chi-square no worse (1e-8 relative).  Rat43's valley is so flat that forward
# differences stop LM 1.7e-5 from the certified values (unbounded lm with epsfcn=1e-10
# too: 2.3e-5); chi-square is 9e-11 relative above the certified minimum.
TRF_ELSEWHERE = {"nist-Rat43-two-sided"}


@pytest.mark.parametrize("name", NAMES)
def test_same_minimum_as_trf(name):
    lm, ref = lmfast_tight_fit(name), trf_fit(name)
    assert lm.ier in (1, 2, 3, 4)
    if name in TRF_ELSEWHERE:
        assert lm.chisq <= ref.chisq * (1.0 + CHISQ_RTOL), (lm.chisq, ref.chisq)
    else:
        assert rel_err(lm.popt, ref.popt) <= TRF_POPT_RTOL, (lm.popt, ref.popt)


# Both tight: trf's pcov at its solution, lmfast's at its own (the pinned parameter a
# hair inside its bound); they agree to 1e-7 but on Misra1a (3e-5).
TRF_STDERR_RTOL = 1e-4


@pytest.mark.parametrize("name", NAMES)
def test_errors_on_a_bound_are_trfs(name):
    """A parameter that ends on its bound: lmfast says so, as trf leaves it exactly on
    the bound, and every parameter's error is trf's (SciPy's bounded convention: the
    Jacobian in the parameters at popt), finite for the pinned one too."""
    lm, ref = lmfast_tight_fit(name), trf_fit(name)
    if name in TRF_ELSEWHERE:
        return
    np.testing.assert_array_equal(lm.at_bound, ref.at_bound)
    if lm.at_bound.any():
        assert np.isfinite(lm.stderr).all()
        assert rel_err(lm.stderr, ref.stderr) <= TRF_STDERR_RTOL, (lm.stderr, ref.stderr)


def test_some_problems_end_on_a_bound():
    assert sum(lmfast_tight_fit(n).at_bound.any() for n in NAMES) >= 8


def test_trf_agreement_counts():
    same = [n for n in NAMES if rel_err(lmfast_tight_fit(n).popt, trf_fit(n).popt)
            <= TRF_POPT_RTOL]
    elsewhere = [n for n in NAMES if n not in same]
    not_worse = [n for n in elsewhere
                 if lmfast_tight_fit(n).chisq <= trf_fit(n).chisq * (1.0 + CHISQ_RTOL)]
    print(f"\ntrf: popt agrees on {len(same)}/{len(NAMES)}; elsewhere: {elsewhere} "
          f"(lmfast's chi-square no worse on {len(not_worse)}/{len(elsewhere)})")
    assert set(elsewhere) <= TRF_ELSEWHERE
    assert not_worse == elsewhere


# --------------------------------------------------------------------------------------
# 3. Edge cases
# --------------------------------------------------------------------------------------

RNG = np.random.default_rng(2027)
XG = X_PEAK
YG = np_gaussian(XG, *GAUSS_TRUTH) + RNG.normal(0.0, 0.05, XG.size)
PG = (2.0, 0.0, 1.0, 0.0)
TIGHT = {"ftol": 1e-14, "xtol": 1e-14}


@cache
def unbounded_gaussian():
    return curve_fit(np_gaussian, XG, YG, PG, **TIGHT)


# (p0, lb, ub): sigma (solution 1.2) starts on a bound
ON_A_BOUND = {
    "two-sided-lower": ((2.0, 0.0, 0.5, 0.0), (0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0)),
    "two-sided-upper": ((2.0, 0.0, 2.0, 0.0), (0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0)),
    "one-sided-lower": ((2.0, 0.0, 0.5, 0.0), (-INF, -INF, 0.5, -INF), INF),
    "one-sided-upper": ((2.0, 0.0, 2.0, 0.0), -INF, (INF, INF, 2.0, INF)),
    "all-two-sided-lower": ((0.0, -1.0, 0.5, -1.0), (0.0, -1.0, 0.5, -1.0),
                            (5.0, 1.0, 2.0, 1.0)),
    "all-two-sided-upper": ((5.0, 1.0, 2.0, 1.0), (0.0, -1.0, 0.5, -1.0),
                            (5.0, 1.0, 2.0, 1.0)),
    "all-one-sided-lower": ((0.0, -1.0, 0.5, -1.0), (0.0, -1.0, 0.5, -1.0), INF),
    "all-one-sided-upper": ((5.0, 1.0, 2.0, 1.0), -INF, (5.0, 1.0, 2.0, 1.0)),
}


@pytest.mark.parametrize("case", ON_A_BOUND)
@pytest.mark.parametrize("f", [np_gaussian, models.gaussian], ids=["python", "compiled"])
def test_p0_on_a_bound_still_reaches_the_solution_inside(case, f):
    """dp/du is 0 on a bound; a p0 there must not pin the parameter to it."""
    p0, lb, ub = ON_A_BOUND[case]
    want = unbounded_gaussian()[0]
    assert np.all((np.broadcast_to(lb, 4) < want) & (want < np.broadcast_to(ub, 4)))
    popt, _, _, _, ier = curve_fit(f, XG, YG, p0, bounds=(lb, ub), full_output=True,
                                   **TIGHT)
    assert ier in (1, 2, 3, 4)
    assert_popt_close(popt, want, 1e-6)


@pytest.mark.parametrize("f", [np_gaussian, models.gaussian], ids=["python", "compiled"])
def test_p0_in_the_middle_of_two_bounds_is_not_stuck(f):
    """A p0 halfway between its bounds maps to a u of 2e-16 by rounding (1.1 in
    (0.5, 1.7)); MINPACK's step eps |u| then moves p by nothing.  lmfit starts such a u at
    0 and reaches the minimum; so must the bounded fit (same minimum as lmfit's)."""
    lo, hi = [-INF, -INF, 0.5, -INF], [INF, INF, 1.7, INF]
    p0 = [2.5, 0.0, 1.1, 0.0]
    model = lmfit.Model(np_gaussian)
    params = model.make_params(amplitude=p0[0], center=p0[1], offset=p0[3],
                               sigma=dict(value=1.1, min=0.5, max=1.7))
    ref = model.fit(YG, params, x=XG, method="leastsq")
    want = np.array([ref.params[k].value for k in ("amplitude", "center", "sigma",
                                                   "offset")])
    assert abs(want[2] - 1.1) > 1e-2  # the minimum is away from the start
    popt, _, _, _, ier = curve_fit(f, XG, YG, p0, bounds=(lo, hi), full_output=True)
    assert ier in (1, 2, 3, 4)
    assert_popt_close(popt, want, 1e-6)


def test_infinite_bounds_mixed_with_finite_ones():
    """An infinite pair leaves its parameter untouched (u = p, dp/du = 1, bit for bit);
    each side alone is the one-sided transform; the spellings of the same bounds (Bounds,
    lists, arrays) give the same fit bit for bit."""
    lb = np.array([0.0, -INF, 0.1, -INF])
    ub = np.array([INF, INF, 3.0, 2.0])
    p = np.array([2.5, 0.3, 1.1, 0.4])
    u, back, grad = _transform._test_transform(lb, ub, np.arange(4), p, p=p)
    assert u[1] == p[1] and grad[1] == 1.0 and back[1] == p[1]
    assert u[0] == math.sqrt((p[0] - lb[0] + 1.0) ** 2 - 1.0)
    assert u[3] == math.sqrt((ub[3] - p[3] + 1.0) ** 2 - 1.0)
    assert_popt_close(back, p, 1e-14)
    ref = curve_fit(np_gaussian, XG, YG, PG, bounds=(lb, ub), full_output=True)
    for bounds in (scipy.optimize.Bounds(lb, ub), (list(lb), list(ub)),
                   ([0.0, -INF, 0.1, -INF], [INF, INF, 3.0, 2.0])):
        got = curve_fit(np_gaussian, XG, YG, PG, bounds=bounds, full_output=True)
        _assert_same_fit(got, ref)


def _assert_same_fit(got, ref):
    """Two full_output curve_fit results, bit for bit."""
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    assert got[2]["nfev"] == ref[2]["nfev"] and got[4] == ref[4]
    np.testing.assert_array_equal(got[2]["fvec"], ref[2]["fvec"])


X_EXP = X_DECAY
Y_EXP = np_exponential(X_EXP, *EXP_TRUTH) + np.random.default_rng(3).normal(0, 0.02, 60)
P_EXP = (1.0, 1.0, 0.1)

# bounds far from a solution inside them: the fit must be the unbounded one
WIDE = {
    "gaussian-pm1e200": (np_gaussian, XG, YG, PG, (-1e200, 1e200)),
    "gaussian-pm1e8": (np_gaussian, XG, YG, PG, (-1e8, 1e8)),
    "exponential-1e-300-1e300": (np_exponential, X_EXP, Y_EXP, P_EXP, (1e-300, 1e300)),
    "exponential-0-1e300": (np_exponential, X_EXP, Y_EXP, P_EXP, (0.0, 1e300)),
}


@pytest.mark.parametrize("case", WIDE)
def test_very_wide_bounds_give_the_unbounded_fit(case):
    f, x, y, p0, bounds = WIDE[case]
    want = curve_fit(f, x, y, p0, **TIGHT)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, _, _, _, ier = curve_fit(f, x, y, p0, bounds=bounds, full_output=True,
                                       **TIGHT)
    assert ier in (1, 2, 3, 4)
    assert_popt_close(popt, want, 1e-6)


# One far bound alone cannot be written without losing p (p - bound rounds to -bound):
# a clear error, not a silent wrong fit.
UNRESOLVABLE = {
    "gaussian-lower-1e200": (-1e200, INF),
    "gaussian-upper-1e200": (-INF, 1e200),
    "gaussian-lower-1e7": (-1e7, INF),
    "gaussian-both-far": (-1e10, 1e20),
}


@pytest.mark.parametrize("case", UNRESOLVABLE)
@pytest.mark.parametrize("f", [np_gaussian, models.gaussian], ids=["python", "compiled"])
def test_one_far_bound_is_a_clear_error(case, f):
    lb, ub = UNRESOLVABLE[case]
    p0 = np.clip(PG, lb + abs(lb) * 1e-9 if np.isfinite(lb) else -INF, ub)
    with pytest.raises(ValueError, match="cannot resolve"):
        curve_fit(f, XG, YG, p0, bounds=(lb, ub))
    with pytest.raises(ValueError, match="cannot resolve"):
        curve_fit_batch(f, XG, YG[None], p0, bounds=(lb, ub))


NARROW_FITS = {
    "python": (np_gaussian, None),
    "compiled": (models.gaussian, None),
    "compiled-jac": (models.gaussian, models.gaussian.jac),
}


@pytest.mark.parametrize("which", ["sigma", "all"])
@pytest.mark.parametrize("fit", NARROW_FITS)
def test_very_narrow_bounds(which, fit):
    """Bounds 1e-6 wide around the unbounded solution s: the fit moves from p0 (1e-7
    from s) to s (1e-8 relative); with the box shifted by 1e-6 (s just below it), sigma
    ends on its lower bound."""
    f, jac = NARROW_FITS[fit]
    s = unbounded_gaussian()[0]
    idx = [2] if which == "sigma" else [0, 1, 2, 3]
    settings = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15, "maxfev": 10000, "jac": jac}
    lb, ub = np.full(4, -INF), np.full(4, INF)
    lb[idx], ub[idx] = s[idx] - 5e-7, s[idx] + 5e-7
    p0 = np.array(PG)
    p0[idx] = s[idx] + 1e-7
    popt, _, _, _, ier = curve_fit(f, XG, YG, p0, bounds=(lb, ub), full_output=True,
                                   **settings)
    assert ier in (1, 2, 3, 4)
    assert np.all((lb <= popt) & (popt <= ub))
    assert_popt_close(popt, s, 1e-8)
    if which == "sigma":
        lb[2], ub[2] = s[2] + 5e-7, s[2] + 1.5e-6
        p0[2] = s[2] + 1e-6
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pcov inf when the parameter cannot move
            popt = curve_fit(f, XG, YG, p0, bounds=(lb, ub), **settings)[0]
        assert lb[2] <= popt[2] <= lb[2] + 1e-9


def test_all_parameters_fixed_raises():
    for fixed in ([True] * 4, np.ones(4, bool)):
        with pytest.raises(ValueError, match="every parameter is fixed"):
            curve_fit(np_gaussian, XG, YG, PG, fixed=fixed)
    with pytest.raises(ValueError, match="every parameter is fixed"):
        curve_fit(models.gaussian, XG, YG, PG, fixed=list(models.gaussian.param_names))
    with pytest.raises(ValueError, match="every parameter is fixed"):
        curve_fit_batch(models.gaussian, XG, YG[None], PG, fixed=[True] * 4)


@pytest.mark.parametrize("bounded", [False, True])
def test_fixed_by_mask_and_by_names_give_the_same_fit(bounded):
    bounds = ((0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0)) if bounded else (-INF, INF)
    p0 = (2.0, 0.35, 1.0, 0.0)
    by_mask = curve_fit(models.gaussian, XG, YG, p0, bounds=bounds, full_output=True,
                        fixed=[False, True, False, True])
    for names in (["center", "offset"], ("offset", "center"), np.array(["center", "offset"])):
        _assert_same_fit(curve_fit(models.gaussian, XG, YG, p0, bounds=bounds,
                                   full_output=True, fixed=names), by_mask)
    # a Python model takes the mask (no names to read); it runs MINPACK's arithmetic, the
    # compiled one the fast kernels: the same fit to their rounding, carried through the
    # iterations
    py = curve_fit(np_gaussian, XG, YG, p0, bounds=bounds, full_output=True,
                   fixed=np.array([False, True, False, True]))
    assert_popt_close(py[0], by_mask[0], 1e-7)
    assert_pcov_close(py[1], by_mask[1], 1e-7)


CENTER = 0.35  # the fixed value, not the solution (0.40)


def reduced_gaussian(x, amplitude, sigma, offset):
    """np_gaussian with its center substituted as a constant."""
    return np_gaussian(x, amplitude, CENTER, sigma, offset)


def reduced_gaussian_jac(x, amplitude, sigma, offset):
    return gaussian_jac(x, amplitude, CENTER, sigma, offset)[:, [0, 2, 3]]


@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("f", [np_gaussian, models.gaussian], ids=["python", "compiled-jac"])
def test_fixed_parameter_is_the_reduced_model(f, bounded):
    """A fixed center: its pcov row and column are exactly 0, the others are those of a
    3-parameter model with the center written in as a constant (SciPy's fit when
    unbounded), to 1e-9; that pcov is scaled by chisq / (m - 3), the reduced dof.  The
    compiled model runs with its analytic Jacobian, the reduced one with the same
    formulas (forward differences of a C model and of NumPy differ in rounding)."""
    p0 = (2.0, CENTER, 1.0, 0.0)
    keep = [0, 2, 3]
    lb, ub = np.array([0.0, -1.0, 0.5, -1.0]), np.array([5.0, 1.0, 2.0, 1.0])
    kw = {"bounds": (lb, ub)} if bounded else {}
    jac, red_jac = (f.jac, reduced_gaussian_jac) if f is models.gaussian else (None, None)
    mask = [False, True, False, False]
    popt, pcov, info, _, ier = curve_fit(f, XG, YG, p0, fixed=mask, jac=jac,
                                         full_output=True, **kw)
    assert ier in (1, 2, 3, 4)
    assert popt[1] == CENTER
    assert np.all(pcov[1, :] == 0.0) and np.all(pcov[:, 1] == 0.0)
    red_kw = {"bounds": (lb[keep], ub[keep])} if bounded else {}
    fit = curve_fit if bounded else scipy.optimize.curve_fit
    r_popt, r_pcov = fit(reduced_gaussian, XG, YG, np.array(p0)[keep], jac=red_jac, **red_kw)
    assert_popt_close(popt[keep], r_popt, 1e-9)
    assert_pcov_close(pcov[np.ix_(keep, keep)], r_pcov, 1e-9)
    # dof: pcov over the unscaled covariance (absolute_sigma) is chisq / (m - 3)
    unscaled = curve_fit(f, XG, YG, p0, fixed=mask, jac=jac, absolute_sigma=True, **kw)[1]
    chi2 = float(info["fvec"] @ info["fvec"])
    np.testing.assert_allclose(pcov, unscaled * chi2 / (XG.size - 3), rtol=1e-12)


# --------------------------------------------------------------------------------------
# The change of variables itself
# --------------------------------------------------------------------------------------

TRANSFORM_BOUNDS = [(1.0, 3.0), (-2.0, 5.0), (-1e3, 1e3), (1e-3, 1e3), (0.5, INF),
                    (-INF, 2.0), (1e5, INF), (-INF, -1e5), (-INF, INF)]


def _interior_values(lo, hi):
    """Values at and near the bounds, and in between (only those inside)."""
    vals = []
    for b, inward in ((lo, INF), (hi, -INF)):
        if np.isfinite(b):
            vals += [np.nextafter(b, inward), b + (1e-10 if inward > 0 else -1e-10)
                     * max(1.0, abs(b))]
    if np.isfinite(lo) and np.isfinite(hi):
        vals.append(0.5 * (lo + hi))
    vals += [v for v in (0.3, 1.7, -3.0, 250.0) if lo < v < hi]
    return vals


def _one(lo, hi, p=None, u=None):
    arr = np.array
    return _transform._test_transform(arr([lo]), arr([hi]), arr([0]), arr([0.0]),
                                      p=None if p is None else arr([p]),
                                      u=None if u is None else arr([u]))


@pytest.mark.parametrize(("lo", "hi"), TRANSFORM_BOUNDS)
def test_transform_round_trip(lo, hi):
    """p -> u -> p returns p to rounding of the transform: 1e-12 relative to |p|, or to
    the width of two bounds (p = lo + (sin u + 1)(hi - lo)/2 cannot resolve less)."""
    for v in _interior_values(lo, hi):
        u, back, _ = _one(lo, hi, p=v)
        scale = abs(v)
        if np.isfinite(lo) and np.isfinite(hi):
            scale = max(scale, hi - lo)
        assert abs(back[0] - v) <= 1e-12 * scale, (v, back[0])
        # and u -> p -> u where p does not sit against a bound
        if abs(v - lo) > 1e-6 * max(1.0, abs(lo)) and abs(hi - v) > 1e-6 * max(1.0, abs(hi)):
            u2 = _one(lo, hi, p=back[0])[0]
            assert abs(u2[0] - u[0]) <= 1e-9 * max(1.0, abs(u[0])), (v, u, u2)


@pytest.mark.parametrize(("lo", "hi"), [b for b in TRANSFORM_BOUNDS if np.isfinite(b).any()])
def test_transform_p_on_a_bound_starts_just_inside(lo, hi):
    """A value exactly on a bound maps to a u where dp/du != 0 (where dp/du = 0 the
    parameter could never leave the bound), a little inside: _transform.pyx documents
    1% of the distance between two bounds, 0.01 against one."""
    two = bool(np.isfinite(lo) and np.isfinite(hi))
    for b, sign in ((lo, 1.0), (hi, -1.0)):
        if not np.isfinite(b):
            continue
        _, back, grad = _one(lo, hi, p=b)
        assert grad[0] != 0.0
        moved = sign * (back[0] - b)
        assert 0.0 < moved <= (0.01 * (hi - lo) if two else 0.01) * (1.0 + 1e-9), moved


@pytest.mark.parametrize(("lo", "hi"), TRANSFORM_BOUNDS)
def test_transform_gradient_is_dp_du(lo, hi):
    """grad against central differences of u -> p, at u near and far from the bounds."""
    us = [-1.5, -0.7, -1e-3, 0.0, 0.4, 1.2, 1.5706, 3.0, 25.0]
    for u in us:
        _, p, grad = _one(lo, hi, u=u)
        h = 1e-6 * max(1.0, abs(u))
        up, down = _one(lo, hi, u=u + h)[1][0], _one(lo, hi, u=u - h)[1][0]
        fd = (up - down) / (2 * h)
        width = hi - lo if np.isfinite(hi - lo) else 1.0
        # truncation ~h^2 |p'''|, rounding ~eps |p| / h
        tol = 1e-9 * width + 1e-15 * max(abs(p[0]), 1.0) / h
        assert abs(grad[0] - fd) <= tol, (u, grad[0], fd)


def test_transform_fixed_values_pass_through():
    lb, ub = np.array([0.0, -INF, 1.0]), np.array([5.0, INF, INF])
    values = np.array([2.0, 7.5, 3.0])
    u, p, grad = _transform._test_transform(lb, ub, np.array([0, 2]), values, p=values)
    assert u.shape == (2,) and grad.shape == (2,)
    assert p[1] == 7.5
    assert_popt_close(p, values, 1e-14)
    # no bounds at all (empty arrays): the identity
    u, p, grad = _transform._test_transform([], [], [0, 1, 2], values, p=values)
    np.testing.assert_array_equal(u, values)
    np.testing.assert_array_equal(p, values)
    np.testing.assert_array_equal(grad, 1.0)


# --------------------------------------------------------------------------------------
# 4. Errors
# --------------------------------------------------------------------------------------


def test_p0_outside_the_bounds_raises_naming_p0():
    with pytest.raises(ValueError, match=r"p0 is outside the bounds: parameter 2"):
        curve_fit(np_gaussian, XG, YG, (2.0, 0.0, 0.4, 0.0),
                  bounds=((0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0)))
    with pytest.raises(ValueError, match=r"p0.*parameter 2 \(sigma\)"):
        curve_fit(models.gaussian, XG, YG, (2.0, 0.0, 2.5, 0.0), bounds=(-INF, 2.0))
    with pytest.raises(ValueError, match="p0"):
        curve_fit(np_gaussian, XG, YG, (2.0, 0.0, np.nan, 0.0), bounds=(-5.0, 5.0))


@pytest.mark.parametrize("bounds", [
    ((0.0, -1.0, 2.0, -1.0), (5.0, 1.0, 2.0, 1.0)),  # lb == ub
    ((0.0, -1.0, 3.0, -1.0), (5.0, 1.0, 2.0, 1.0)),  # lb > ub
    (1.0, 1.0),
    (INF, INF),
], ids=["equal", "crossed", "scalar-equal", "inf-inf"])
def test_lower_bound_not_below_upper_raises(bounds):
    with pytest.raises(ValueError, match="lower bound must be strictly less"):
        curve_fit(np_gaussian, XG, YG, PG, bounds=bounds)
    with pytest.raises(ValueError, match="lower bound must be strictly less"):
        curve_fit_batch(models.gaussian, XG, YG[None], PG, bounds=bounds)


@pytest.mark.parametrize("bounds", [
    ((0.0, -1.0, 0.5), (5.0, 1.0, 2.0, 1.0)),
    ((0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0, 9.0)),
    (np.zeros((2, 4)), np.ones((2, 4))),
], ids=["short-lb", "long-ub", "2d"])
def test_bounds_of_the_wrong_length_raise(bounds):
    with pytest.raises(ValueError, match="bounds"):
        curve_fit(np_gaussian, XG, YG, PG, bounds=bounds)


def test_wrong_fixed_raises():
    with pytest.raises(ValueError, match="fixed"):
        curve_fit(np_gaussian, XG, YG, PG, fixed=[True, False])
    with pytest.raises(ValueError, match="unknown"):
        curve_fit(models.gaussian, XG, YG, PG, fixed=["centre"])
    with pytest.raises(ValueError, match=r"unknown parameters \['centre'\]"):
        curve_fit(np_gaussian, XG, YG, PG, fixed=["centre"])  # names from its signature


def test_trf_with_fixed_raises_and_without_is_scipys():
    with pytest.raises(ValueError, match="fixed"):
        curve_fit(np_gaussian, XG, YG, PG, bounds=(-5.0, 5.0), method="trf",
                  fixed=[False, True, False, False])
    bounds = ((0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0))
    for method in ("trf", "dogbox"):
        got = curve_fit(np_gaussian, XG, YG, PG, bounds=bounds, method=method)
        want = scipy.optimize.curve_fit(np_gaussian, XG, YG, PG, bounds=bounds, method=method)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_batch_crossed_bounds_in_one_row_raise_before_any_work():
    calls = []

    def model(x, a, c, s, o):
        calls.append(1)
        return np_gaussian(x, a, c, s, o)

    Y = np.tile(YG, (4, 1))
    lb = np.tile([0.0, -1.0, 0.5, -1.0], (4, 1))
    ub = np.tile([5.0, 1.0, 2.0, 1.0], (4, 1))
    for bad in (2.0, 3.0):  # equal, then crossed, in row 2 only
        lb2 = lb.copy()
        lb2[2, 2] = bad
        with pytest.raises(ValueError, match="lower bound must be strictly less"):
            curve_fit_batch(model, XG, Y, PG, bounds=(lb2, ub))
        with pytest.raises(ValueError, match="lower bound"):
            curve_fit_batch(models.gaussian, XG, Y, PG, bounds=(lb2, ub))
    assert calls == []


def test_batch_crossed_bounds_message_names_fit_and_parameter():
    lb = np.tile([0.0, -1.0, 0.5, -1.0], (4, 1))
    ub = np.tile([5.0, 1.0, 2.0, 1.0], (4, 1))
    lb[2, 2] = 3.0
    with pytest.raises(ValueError, match=r"lb = 3\.0 and ub = 2\.0 for \(fit, parameter\) \(2, 2\)$"):
        curve_fit_batch(models.gaussian, XG, np.tile(YG, (4, 1)), PG, bounds=(lb, ub))


# --------------------------------------------------------------------------------------
# 5. Batches
# --------------------------------------------------------------------------------------

N_FITS = 6
BRNG = np.random.default_rng(99)
TRUTHS = np.column_stack([BRNG.uniform(2, 4, N_FITS), BRNG.uniform(-0.3, 0.3, N_FITS),
                          BRNG.uniform(0.8, 1.4, N_FITS), BRNG.uniform(0.2, 0.6, N_FITS)])
YB = np.array([np_gaussian(XG, *t) for t in TRUTHS]) + BRNG.normal(0, 0.05, (N_FITS, XG.size))
LB = np.array([0.0, -1.0, 0.5, -1.0])
UB = np.array([5.0, 1.0, 2.0, 0.4])  # the offset bound is active for some fits
# per fit: each row its own box, some tighter than others
LB_ROWS = LB + np.linspace(0.0, 0.2, N_FITS)[:, None] * np.array([1, 0, 1, 0])
UB_ROWS = UB + np.linspace(0.0, 0.3, N_FITS)[:, None] * np.array([0, 1, 0, 1])
P0_ROWS = np.tile([2.5, 0.0, 1.0, 0.0], (N_FITS, 1))


def _single(f, i, bounds, jac=None, fixed=None, p0=P0_ROWS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, pcov, info, mesg, ier = curve_fit(f, XG, YB[i], p0[i], bounds=bounds, jac=jac,
                                                fixed=fixed, full_output=True)
    return popt, pcov, ier, info["nfev"], mesg


@pytest.mark.parametrize("per_fit", [False, True], ids=["shared", "per-fit"])
def test_compiled_batch_with_bounds_is_single_curve_fit_bit_for_bit(per_fit):
    lb, ub = (LB_ROWS, UB_ROWS) if per_fit else (LB, UB)
    res = curve_fit_batch(models.gaussian, XG, YB, P0_ROWS, bounds=(lb, ub))
    assert res.success.all()
    for i in range(N_FITS):
        bounds = (lb[i], ub[i]) if per_fit else (lb, ub)
        popt, pcov, ier, nfev, mesg = _single(models.gaussian, i, bounds,
                                              jac=models.gaussian.jac)
        np.testing.assert_array_equal(res.popt[i], popt)
        np.testing.assert_array_equal(res.pcov[i], pcov)
        assert (res.ier[i], res.nfev[i]) == (ier, nfev)
        assert res.message(i) == mesg


@pytest.mark.parametrize("per_fit", [False, True], ids=["shared", "per-fit"])
def test_python_batch_with_bounds_is_single_curve_fit(per_fit):
    lb, ub = (LB_ROWS, UB_ROWS) if per_fit else (LB, UB)
    res = curve_fit_batch(np_gaussian, XG, YB, P0_ROWS, bounds=(lb, ub))
    for i in range(N_FITS):
        bounds = (lb[i], ub[i]) if per_fit else (lb, ub)
        popt, pcov, ier, nfev, _ = _single(np_gaussian, i, bounds)
        assert_popt_close(res.popt[i], popt, 1e-9)
        assert_pcov_close(res.pcov[i], pcov, 1e-9)
        assert (res.ier[i], res.nfev[i]) == (ier, nfev)


@pytest.mark.parametrize("f", [models.gaussian, np_gaussian], ids=["compiled", "python"])
def test_batch_fit_with_p0_outside_its_bounds_is_ier_minus_4_alone(f):
    bad = 2
    p0 = P0_ROWS.copy()
    p0[bad, 2] = 2.5  # above its upper bound 2.0
    res = curve_fit_batch(f, XG, YB, p0, bounds=(LB_ROWS, UB_ROWS))
    assert res.ier[bad] == -4 and not res.success[bad]
    assert np.isnan(res.popt[bad]).all() and np.isnan(res.pcov[bad]).all()
    assert np.isnan(res.chisq[bad])
    assert "bounds" in res.message(bad)
    keep = [i for i in range(N_FITS) if i != bad]
    without = curve_fit_batch(f, XG, YB[keep], p0[keep], bounds=(LB_ROWS[keep], UB_ROWS[keep]))
    for name in ("popt", "pcov", "chisq", "ier", "nfev", "njev"):
        np.testing.assert_array_equal(getattr(res, name)[keep], getattr(without, name), name)
    assert res.success[keep].all()


@pytest.mark.parametrize("f", [models.gaussian, np_gaussian], ids=["compiled", "python"])
@pytest.mark.parametrize("bounded", [False, True])
def test_batch_fixed_by_mask_and_names(f, bounded):
    kw = {"bounds": (LB_ROWS, UB_ROWS)} if bounded else {}
    p0 = P0_ROWS.copy()
    p0[:, 1] = TRUTHS[:, 1] + 0.02  # the fixed center, per fit
    mask = [False, True, False, False]
    res = curve_fit_batch(f, XG, YB, p0, fixed=mask, **kw)
    assert res.success.all()
    np.testing.assert_array_equal(res.popt[:, 1], p0[:, 1])
    assert np.all(res.pcov[:, 1, :] == 0.0) and np.all(res.pcov[:, :, 1] == 0.0)
    if f is models.gaussian:
        named = curve_fit_batch(f, XG, YB, p0, fixed=["center"], **kw)
        for name in ("popt", "pcov", "ier", "nfev"):
            np.testing.assert_array_equal(getattr(named, name), getattr(res, name))
    for i in range(N_FITS):
        bounds = (LB_ROWS[i], UB_ROWS[i]) if bounded else (-INF, INF)
        if f is models.gaussian:
            popt, pcov, ier, nfev, _ = _single(f, i, bounds, jac=f.jac, fixed=mask, p0=p0)
            np.testing.assert_array_equal(res.popt[i], popt)
            np.testing.assert_array_equal(res.pcov[i], pcov)
        else:
            popt, pcov, ier, nfev, _ = _single(f, i, bounds, fixed=mask, p0=p0)
            assert_popt_close(res.popt[i], popt, 1e-9)
            assert_pcov_close(res.pcov[i], pcov, 1e-9)
        assert (res.ier[i], res.nfev[i]) == (ier, nfev)


# --------------------------------------------------------------------------------------
# 6. Bounds that bound nothing change nothing
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", [np_gaussian, models.gaussian], ids=["python", "compiled"])
@pytest.mark.parametrize("spelling", ["inf", "None", "inf-sequences", "Bounds", "no-fixed"])
def test_unbounded_bounds_are_the_unbounded_fit_bit_for_bit(f, spelling):
    kw = {
        "inf": {"bounds": (-np.inf, np.inf)},
        "None": {"bounds": (None, None)},
        "inf-sequences": {"bounds": ([-INF] * 4, [INF] * 4)},
        "Bounds": {"bounds": scipy.optimize.Bounds(-INF, INF)},
        "no-fixed": {"fixed": [False] * 4},
    }[spelling]
    ref = curve_fit(f, XG, YG, PG, full_output=True)
    _assert_same_fit(curve_fit(f, XG, YG, PG, full_output=True, **kw), ref)


@pytest.mark.parametrize("f", [np_gaussian, models.gaussian], ids=["python", "compiled"])
def test_unbounded_batch_bounds_are_the_unbounded_batch_bit_for_bit(f):
    ref = curve_fit_batch(f, XG, YB, P0_ROWS)
    for bounds in ((-INF, INF), (np.full(4, -INF), np.full((N_FITS, 4), INF))):
        res = curve_fit_batch(f, XG, YB, P0_ROWS, bounds=bounds)
        for name in ("popt", "pcov", "chisq", "ier", "nfev", "njev"):
            np.testing.assert_array_equal(getattr(res, name), getattr(ref, name), name)


# --------------------------------------------------------------------------------------
# Smaller promises: p0 omitted, max_nfev
# --------------------------------------------------------------------------------------


def test_p0_omitted_with_bounds_starts_at_scipys_feasible_default():
    lb, ub = (0.0, -1.0, 0.5, -INF), (5.0, INF, 2.0, 1.0)
    # SciPy's default: mid of two bounds, 1 inside one, 1 where unbounded
    start = (2.5, 0.0, 1.25, 0.0)
    got = curve_fit(np_gaussian, XG, YG, bounds=(lb, ub), full_output=True)
    _assert_same_fit(got, curve_fit(np_gaussian, XG, YG, start, bounds=(lb, ub),
                                    full_output=True))


def test_max_nfev_is_maxfev():
    bounds = ((0.0, -1.0, 0.5, -1.0), (5.0, 1.0, 2.0, 1.0))
    for limit in (7, 1000):
        a = run_outcome(curve_fit, np_gaussian, XG, YG, PG, bounds=bounds, max_nfev=limit,
                        full_output=True)
        b = run_outcome(curve_fit, np_gaussian, XG, YG, PG, bounds=bounds, maxfev=limit,
                        full_output=True)
        if limit == 7:  # too few: the same RuntimeError
            assert isinstance(a.exc, RuntimeError) and "maxfev = 7" in str(a.exc)
            assert type(a.exc) is type(b.exc) and str(a.exc) == str(b.exc)
        else:
            _assert_same_fit(a.value, b.value)
    with pytest.raises(TypeError, match="max_nfev"):
        curve_fit(np_gaussian, XG, YG, PG, maxfev=7, max_nfev=7)


def test_batch_message_for_p0_outside_names_the_parameter():
    """A fit of a batch whose p0 is outside its bounds gets ier -4 and, as its message,
    the words curve_fit's ValueError has for the same p0 (naming the parameter)."""
    x = np.linspace(-3, 3, 40)
    Y = np.array([models.gaussian(x, 1.0, 0.0, 1.0, 0.0)] * 3)
    p0 = np.array([[1, 0, 1, 0], [1, 5, 1, 0], [1, 0, 1, 0]], dtype=float)
    bounds = ([0, -1, 0.1, -1], [5, 1, 3, 1])
    res = curve_fit_batch(models.gaussian, x, Y, p0, bounds=bounds)
    assert res.ier[1] == -4 and res.success[[0, 2]].all()
    with pytest.raises(ValueError) as single:
        curve_fit(models.gaussian, x, Y[1], p0[1], bounds=bounds)
    assert res.message(1) == str(single.value)
    assert "parameter 1 (center) = 5.0" in res.message(1)
