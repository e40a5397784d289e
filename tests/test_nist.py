"""lmfast.leastsq against scipy.optimize.leastsq on the 27 NIST StRD nonlinear problems.

Each problem is fitted from both NIST starting points, with forward differences (no
Dfun) and with the analytic Jacobian, at the default tolerances and at tight ones.
Accuracy is the log relative error (LRE, correct significant digits) against the
certified parameters.  Where SciPy gets at least 6 digits on every parameter, lmfast must
too; and lmfast's ier/nfev must equal SciPy's on most fits.
"""

import itertools
import warnings

import nist
import numpy as np
import pytest
from helpers import fnorm_not_worse, fnorms_match, min_lre, x_match
from nist import GOOD_DIGITS, TOLERANCES

SAME_IER_NFEV_FRACTION = 0.90

RUNS = [
    (name, start, jac, tol)
    for name in nist.NAMES
    for start in (1, 2)
    for jac in ("lmdif", "lmder")
    for tol in TOLERANCES
]


def run_id(run):
    name, start, jac, tol = run
    return f"{name}-start{start}-{jac}-{tol}"


def fit(leastsq, problem, start, jac, tol):
    kwargs = dict(TOLERANCES[tol])
    if jac == "lmder":
        kwargs["Dfun"] = problem.jac
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow on far trial points
        x, _, info, _, ier = leastsq(
            problem.fun, problem.start(start).copy(), full_output=True, **kwargs
        )
        fnorm = float(np.linalg.norm(problem.fun(np.asarray(x))))
    return {"x": x, "ier": ier, "nfev": info["nfev"], "njev": info.get("njev"), "fnorm": fnorm}


class _Runs:
    def __init__(self, sp, lm):
        self.sp, self.lm = sp, lm
        self.cache = {}

    def __getitem__(self, run):
        if run not in self.cache:
            problem = nist.PROBLEMS[run[0]]
            self.cache[run] = (fit(self.sp, problem, *run[1:]), fit(self.lm, problem, *run[1:]))
        return self.cache[run]


@pytest.fixture(scope="module")
def nist_runs(sp, lm):
    return _Runs(sp, lm)


# --------------------------------------------------------------------------------------
# The data and models themselves
# --------------------------------------------------------------------------------------


def test_all_files_loaded():
    assert len(nist.PROBLEMS) == 27
    difficulties = [p.difficulty for p in nist.PROBLEMS.values()]
    assert difficulties.count("lower") == 8
    assert difficulties.count("average") == 11
    assert difficulties.count("higher") == 8


@pytest.mark.parametrize("name", nist.NAMES)
def test_model_reproduces_certified_rss(name):
    p = nist.PROBLEMS[name]
    assert p.start1.shape == p.start2.shape == p.certified.shape == p.certified_sd.shape
    r = p.fun(p.certified)
    assert r.shape == p.y.shape
    rss = float(r @ r)
    if p.certified_rss < 1e-20:  # Lanczos1: the fit is exact to rounding
        assert rss < 1e-20
    else:
        # the certified parameters are printed to 11 digits
        assert rss == pytest.approx(p.certified_rss, rel=1e-8)


@pytest.mark.parametrize("name", nist.NAMES)
@pytest.mark.parametrize("point", ["start1", "start2", "certified"])
def test_model_jacobian_central_differences(name, point):
    p = nist.PROBLEMS[name]
    b = np.array(getattr(p, point), dtype=float)
    J = p.jac(b)
    assert J.shape == (p.y.size, p.n_params)
    Jfd = np.empty_like(J)
    h = 1e-6 * np.maximum(np.abs(b), 1e-12)
    for j in range(b.size):
        bp, bm = b.copy(), b.copy()
        bp[j] += h[j]
        bm[j] -= h[j]
        Jfd[:, j] = (p.fun(bp) - p.fun(bm)) / (bp[j] - bm[j])
    # truncation relative to the column, plus rounding in the differences (~eps |y| / h)
    fscale = np.max(np.abs(p.target)) + np.max(np.abs(p.fun(b)))
    tol = 1e-5 * np.max(np.abs(J), axis=0) + 1e-13 * fscale / h
    err = np.max(np.abs(J - Jfd), axis=0)
    assert np.all(err <= tol), f"{name}: {err} > {tol}"


# --------------------------------------------------------------------------------------
# lmfast vs SciPy
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("run", RUNS, ids=run_id)
def test_nist_accuracy(run, nist_runs):
    res_sp, res_lm = nist_runs[run]
    certified = nist.PROBLEMS[run[0]].certified
    x_lm = res_lm["x"]
    assert x_lm.shape == certified.shape and x_lm.dtype == np.float64
    lre_sp = min_lre(res_sp["x"], certified)
    lre_lm = min_lre(x_lm, certified)
    if lre_sp >= GOOD_DIGITS:
        assert lre_lm >= GOOD_DIGITS, (
            f"SciPy gets {lre_sp:.1f} digits (ier={res_sp['ier']}, nfev={res_sp['nfev']}), "
            f"lmfast {lre_lm:.1f} (ier={res_lm['ier']}, nfev={res_lm['nfev']})"
        )
    if (res_lm["ier"], res_lm["nfev"]) == (res_sp["ier"], res_sp["nfev"]):
        assert x_match(x_lm, res_sp["x"]) or fnorms_match(
            res_lm["fnorm"], res_sp["fnorm"]
        ), f"same ier/nfev but x {x_lm} vs SciPy {res_sp['x']}"
    else:
        assert fnorm_not_worse(res_lm["fnorm"], res_sp["fnorm"]), (
            f"lmfast ends worse: ||f||={res_lm['fnorm']!r} (ier={res_lm['ier']}, "
            f"nfev={res_lm['nfev']}) vs SciPy {res_sp['fnorm']!r} (ier={res_sp['ier']}, "
            f"nfev={res_sp['nfev']})"
        )


def test_nist_same_ier_nfev_on_most(nist_runs):
    mismatches = []
    for run in RUNS:
        res_sp, res_lm = nist_runs[run]
        key_sp = (res_sp["ier"], res_sp["nfev"], res_sp["njev"])
        key_lm = (res_lm["ier"], res_lm["nfev"], res_lm["njev"])
        if key_sp != key_lm:
            mismatches.append(f"{run_id(run)}: scipy (ier, nfev, njev)={key_sp} lmfast={key_lm}")
    print(f"\n{len(mismatches)} of {len(RUNS)} NIST fits differ in ier/nfev/njev:")
    print("\n".join(mismatches))
    same = 1.0 - len(mismatches) / len(RUNS)
    assert same >= SAME_IER_NFEV_FRACTION, "\n".join(mismatches)


def test_nist_runs_cover_every_problem_start_and_jacobian():
    combos = {(n, s, j) for n, s, j, _ in RUNS}
    assert combos == set(itertools.product(nist.NAMES, (1, 2), ("lmdif", "lmder")))
