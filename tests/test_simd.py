"""The fast kernels of compiled-model fits (lmfast/_simd.pyx, lmfast/src/simd_kernels.inc),
on every instruction set ("path") this CPU runs.

The paths are those ``lmfast._simd.simd_paths()`` lists, so "avx512" is covered on machines
that have it; a path the CPU lacks is not listed (no skip), and which paths must be listed
is checked against /proc/cpuinfo.

* kernels, through the ``_test_*`` shims: ``exp_array`` against NumPy's exp (in long
  double where that is wider, so the reference is correctly rounded), ``norm2`` against
  the exact norm (``helpers.exact_norm``), ``qr_factor`` against ``numpy.linalg.qr`` of
  A P, the defining properties of pivoted QR (``helpers.assert_gram_matches``,
  ``assert_pivoted``) and the exact MINPACK kernel's pivots;
* fits, each path made active with ``set_simd_path`` (the ``path`` fixture restores the
  previous one): a compiled batch equals ``lmfast.curve_fit`` bit for bit whatever the
  threads and chunks; SciPy's ``curve_fit`` on the model's NumPy twin (with the twin's
  Jacobian, so both run lmder) agrees on the bench problems; NIST StRD problems written
  with compiled models keep their certified digits wherever SciPy does; paths differ by
  rounding only; the choice of path by name and by ``LMFAST_SIMD``;
* Python-callback fits keep MINPACK's arithmetic: the same bits on every path.

Expected values come from NumPy, SciPy, exact arithmetic and the certified NIST values;
where lmfast meets lmfast (a batch and curve_fit, one path and another) the test is of an
invariance.
"""

import contextlib
import functools
import math
import os
import platform
import subprocess
import sys
import warnings
from dataclasses import dataclass

import nist
import numpy as np
import pytest
import scipy.optimize
from batch_helpers import (
    PROBLEMS,
    Problem,
    assert_bitwise,
    gaussian_jac,
    make_batch,
    np_gaussian,
    py_gaussian,
    run_batch,
    single_fit,
)
from helpers import (
    assert_gram_matches,
    assert_is_permutation,
    assert_pivoted,
    assert_popt_close,
    exact_norm,
    min_lre,
    r_from,
)
from numpy.testing import assert_allclose, assert_array_equal

import lmfast
from lmfast import _linalg, _simd, curve_fit_batch, lineshapes, models
from lmfast.bench import problems as bench_problems

PATHS = _simd.simd_paths()
EPS = np.finfo(float).eps
TINY = 5e-324  # smallest subnormal
DBL_MIN = np.finfo(float).tiny  # smallest normal


@contextlib.contextmanager
def active_path(name):
    """Run the compiled-model fits on path ``name``; the previous path afterwards."""
    before = _simd.simd_path()
    _simd.set_simd_path(name)
    try:
        yield
    finally:
        _simd.set_simd_path(before)


@pytest.fixture(params=PATHS)
def path(request):
    """Each path this CPU runs, active during the test."""
    with active_path(request.param):
        yield request.param


# --------------------------------------------------------------------------------------
# Which paths exist
# --------------------------------------------------------------------------------------


def cpu_flags():
    """The feature flags of /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def test_paths_are_the_cpus():
    assert PATHS[0] == "baseline"
    # worst first, each once
    assert PATHS == tuple(p for p in ("baseline", "avx2", "avx512") if p in PATHS)
    assert _simd.simd_path() in PATHS
    if platform.machine().lower() in ("x86_64", "amd64"):
        flags = cpu_flags()
        if flags:
            assert ("avx2" in PATHS) == ({"avx2", "fma"} <= flags), flags
            assert ("avx512" in PATHS) == ({"avx512f", "avx2", "fma"} <= flags), flags
    else:
        assert PATHS == ("baseline",)


# --------------------------------------------------------------------------------------
# exp_array
# --------------------------------------------------------------------------------------


def exp_reference(x):
    """exp(x) rounded to double: NumPy's exp in long double where that has more digits
    (x86-64: 64-bit significand, so the result is correctly rounded but in ties closer
    than 2^-11 ulp), else NumPy's float64 exp."""
    x = np.asarray(x, dtype=np.float64)
    if np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant:
        with np.errstate(over="ignore"):
            return np.exp(x.astype(np.longdouble)).astype(np.float64)
    return np.exp(x)


def ulps_apart(a, b):
    """How many doubles apart the non-negative a and b are (0: equal, 1: neighbours,
    counting subnormals; +inf is the neighbour of the largest double)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert np.all(a >= 0) and np.all(b >= 0)
    return np.abs(a.view(np.int64) - b.view(np.int64))


def fast_exp(x, path):
    return _simd._test_exp(np.asarray(x, dtype=np.float64), path)


def test_exp_normal_results_within_one_ulp(path):
    rng = np.random.default_rng(1)
    x = np.concatenate([
        np.linspace(-745.0, 709.8, 1_000_001),
        rng.uniform(-745.0, 709.8, 100_000),
        rng.uniform(-1.0, 1.0, 100_000),
        np.geomspace(1e-300, 1.0, 2000),
        -np.geomspace(1e-300, 1.0, 2000),
    ])
    got, ref = fast_exp(x, path), exp_reference(x)
    assert_array_equal(np.isinf(got), np.isinf(ref))
    normal = np.isfinite(ref) & (ref >= DBL_MIN)
    assert normal.sum() > 1_000_000
    d = ulps_apart(got[normal], ref[normal])
    assert d.max() <= 1, (x[normal][np.argmax(d)], got[normal][np.argmax(d)], d.max())


def test_exp_subnormal_results_within_one_subnormal(path):
    x = np.linspace(-745.2, -708.3, 200_001)
    got, ref = fast_exp(x, path), exp_reference(x)
    sub = ref < DBL_MIN
    assert sub.sum() > 100_000
    assert np.all(np.abs(got[sub] - ref[sub]) <= TINY)


@pytest.mark.parametrize(
    "x, want",
    [(np.inf, np.inf), (-np.inf, 0.0), (709.79, np.inf), (710.0, np.inf), (1e308, np.inf),
     (-745.2, 0.0), (-746.0, 0.0), (-1e308, 0.0), (0.0, 1.0), (-0.0, 1.0), (TINY, 1.0),
     (-TINY, 1.0)],
)
def test_exp_special_values(path, x, want):
    got = fast_exp([x], path)[0]
    assert got == want and math.copysign(1.0, got) == 1.0, got


def test_exp_nan_passes_through(path):
    got = fast_exp([np.nan, 1.0, -np.nan, np.inf, np.nan], path)
    assert_array_equal(np.isnan(got), [True, False, True, False, True])
    assert ulps_apart(got[1], math.e) <= 1 and got[3] == np.inf


@pytest.mark.parametrize("threshold", [709.782712893384, -745.1332191019411])
def test_exp_at_the_overflow_and_underflow_thresholds(path, threshold):
    # exp(709.782712893384) is the largest double, the next argument overflows;
    # exp(-745.1332191019411) the smallest subnormal, the next one down gives 0.
    x = threshold + np.arange(-300, 301) * np.spacing(threshold)
    got, ref = fast_exp(x, path), exp_reference(x)
    assert_array_equal(np.isinf(got), np.isinf(ref))
    assert np.all(ulps_apart(got, ref) <= 1)
    assert np.isinf(ref).any() or (ref == 0).any()  # the range crosses the threshold


def test_exp_depends_on_values_not_positions(path):
    # The same argument in any position of arrays of any length (vector lanes, the
    # padded tail) gives the same bits: what the fits' reproducibility rests on.  (The
    # shim copies its input, so addresses vary with each call too.)
    rng = np.random.default_rng(2)
    pool = np.concatenate([rng.uniform(-700.0, 700.0, 40),
                           [np.inf, -np.inf, np.nan, 0.0, -740.0, 709.9, -745.0, 1e-300]])
    rng.shuffle(pool)
    alone = np.array([fast_exp(pool[k:k + 1], path)[0] for k in range(pool.size)])
    for length in range(1, 35):
        for start in range(0, pool.size - length + 1, 3):
            got = fast_exp(pool[start:start + length], path)
            assert_array_equal(got.view(np.int64), alone[start:start + length].view(np.int64),
                               err_msg=f"length {length}, start {start}")


def test_exp_empty(path):
    assert fast_exp([], path).shape == (0,)


# --------------------------------------------------------------------------------------
# norm2
# --------------------------------------------------------------------------------------


def fast_norm(x, path):
    return _simd._test_norm2(np.asarray(x, dtype=np.float64), path)


def norm_ulps(n):
    """A few ulps: rounding errors of a sum of n squares grow like sqrt(n) for these
    (random) vectors; the worst-case first-order bound, (n + 4) / 2 ulps, is far above."""
    return 2.0 + math.sqrt(n) / 2.0


def assert_norm_exact(x, path, ulps=None):
    """norm2(x) within a few ulps (of the exact norm; subnormal ulps for subnormal norms)."""
    x = np.asarray(x, dtype=np.float64)
    got, ref = fast_norm(x, path), exact_norm(x)
    if ulps is None:
        ulps = norm_ulps(x.size)
    assert math.isfinite(got), (got, ref)
    if ref == 0.0:
        assert got == 0.0, got
    else:
        assert abs(got - ref) <= ulps * math.ulp(ref), (got, ref, (got - ref) / math.ulp(ref))
    return got


@pytest.mark.parametrize("n", [*range(0, 41), 1000])
def test_norm2_lengths_and_scales(path, n):
    rng = np.random.default_rng(n)
    for scale in (1.0, 1e300 / math.sqrt(max(n, 1)), 1e160, 1e145, 1e-145, 1e-160, 1e-300,
                  1e-310):
        for _ in range(3):
            assert_norm_exact(rng.standard_normal(n) * scale, path)


@pytest.mark.parametrize(
    "x",
    [
        [1e300, 1.0, 1e-300],
        [1e-300, 1.0, 1e300],
        [1e-300, 1e-310, 2e-300],
        [1e200, -3e199, 1.0, 5e-324, 0.0, -1e-200, 1e19, 1e-19],
        [1e154, 1e154, 1e154, 1e-154, 1.0],
        list(np.geomspace(1e-300, 1e300, 41)),
        list(np.geomspace(1e300, 1e-300, 41)),
        [1.3e145] * 1000,  # the plain sum of squares just past 1e290
        [1e-145] * 1000,  # just below 1e-290
        [1.7976931348623157e308, 0.0],
        [4e307, -4e307, 4e307, 4e307],
        [1e-320, -1e-321, 0.0, 4e-322],
        [2.2250738585072014e-308, 1e-310, TINY],
    ],
)
def test_norm2_mixed_magnitudes(path, x):
    got = assert_norm_exact(x, path)
    assert 0.0 < got < np.inf


def test_norm2_exact_values(path):
    assert fast_norm([TINY] * 4, path) == 2 * TINY
    assert fast_norm([3 * TINY, 4 * TINY], path) == 5 * TINY
    assert fast_norm([3e300, 4e300], path) == 5e300
    assert fast_norm([1e300] * 100, path) == pytest.approx(1e301, rel=4 * EPS)
    for v in (1.0, -2.5, 1e-300, -1e308, 1.7976931348623157e308, TINY, 1e-310):
        assert fast_norm([v], path) == abs(v)
        assert fast_norm([0.0, v, 0.0], path) == abs(v)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 8, 9, 17, 40, 1000])
def test_norm2_zeros(path, n):
    got = fast_norm(np.zeros(n), path)
    assert got == 0.0 and math.copysign(1.0, got) == 1.0
    got = fast_norm(-np.zeros(n), path)
    assert got == 0.0 and math.copysign(1.0, got) == 1.0


@pytest.mark.parametrize("n", [1, 2, 5, 16, 17, 40, 1000])
def test_norm2_inf_and_nan(path, n):
    rng = np.random.default_rng(n)
    for where in {0, n // 2, n - 1}:
        for bad, want in ((np.inf, np.inf), (-np.inf, np.inf), (np.nan, np.nan)):
            x = rng.standard_normal(n)
            x[where] = bad
            got = fast_norm(x, path)
            assert got == want or (np.isnan(want) and np.isnan(got)), (where, bad, got)
        if n > 1:  # NaN wins over inf, in either order
            x = rng.standard_normal(n)
            x[where], x[(where + 1) % n] = np.inf, np.nan
            assert np.isnan(fast_norm(x, path))
            x[where], x[(where + 1) % n] = np.nan, -np.inf
            assert np.isnan(fast_norm(x, path))


# --------------------------------------------------------------------------------------
# qr_factor
# --------------------------------------------------------------------------------------


def fast_qr(a, f, path):
    """(R, ipvt, rdiag, acnorm, qtf) of the fast kernel; the inputs must stay as they were."""
    a_keep, f_keep = a.copy(), f.copy()
    r, ipvt, rdiag, acnorm, qtf = _simd._test_qr_factor(a, f, path)
    assert_array_equal(a, a_keep)
    assert_array_equal(f, f_keep)
    m, n = a.shape
    assert r.shape == (n, n) and rdiag.shape == acnorm.shape == qtf.shape == (n,)
    return r_from(r, rdiag), ipvt.astype(np.intp), rdiag, acnorm, qtf


def pivots_well_separated(a, ipvt, rel=1e-8):
    """Whether, at every step of pivoted QR of A with pivots ipvt, the pivot's remaining
    norm beats every other by ``rel`` (then rounding cannot change the choice).  The
    remaining norm of column k at step j is ||R[j:k+1, k]||, from NumPy's R of A P."""
    r = np.linalg.qr(a[:, ipvt], mode="r")
    n = a.shape[1]
    for j in range(min(a.shape) - 1):
        others = [np.linalg.norm(r[j:k + 1, k]) for k in range(j + 1, n)]
        if others and abs(r[j, j]) <= (1 + rel) * max(others):
            return False
    return True


QR_SHAPES = [(1, 1), (3, 1), (5, 5), (9, 9), (13, 13), (17, 16), (25, 5), (30, 9), (128, 4),
             (300, 13), (1000, 3)]
QR_KINDS = ["plain", "scaled", "rank_deficient", "zero_column"]


def qr_matrix(m, n, kind):
    """(A, f, rank) of one test case: random A (columns of moderately different norms),
    "scaled" columns 1e-8 .. 1e8 apart, "rank_deficient" last column a combination of the
    first two (or twice the first), "zero_column" one column of zeros."""
    rng = np.random.default_rng(1000 * m + n + QR_KINDS.index(kind))
    a = rng.standard_normal((m, n)) * rng.uniform(0.1, 10.0, n)
    f = rng.standard_normal(m) * 3.0
    rank = n
    if kind == "scaled":
        a *= 10.0 ** np.linspace(-8.0, 8.0, n)[rng.permutation(n)]
    elif kind == "rank_deficient":
        a[:, -1] = a[:, 0] - 2.0 * a[:, 1] if n > 2 else 2.0 * a[:, 0]
        rank = n - 1
    elif kind == "zero_column":
        a[:, n // 2] = 0.0
        rank = n - 1
    return a, f, rank


QR_CASES = [(m, n, kind) for m, n in QR_SHAPES for kind in QR_KINDS
            if not (kind == "rank_deficient" and n < 2)]


@pytest.mark.parametrize("m,n,kind", QR_CASES)
def test_qr_factor(path, m, n, kind):
    a, f, rank = qr_matrix(m, n, kind)
    r, ipvt, rdiag, acnorm, qtf = fast_qr(a, f, path)
    assert_is_permutation(ipvt, n)
    assert_allclose(acnorm, np.linalg.norm(a, axis=0), rtol=(2 * m + 4) * EPS, atol=0)
    # R^T R = (A P)^T (A P), columnwise to rounding; |diag R| non-increasing, each pivot
    # the largest remaining column
    assert_gram_matches(a, r, ipvt)
    assert_pivoted(r, tol=1e-12 if rank == n else 1e-10)
    # R and Q^T f against NumPy's Householder QR of A P, rows aligned in sign; the rows
    # past the rank are rounding noise (their reflectors arbitrary) in both
    q, r_np = np.linalg.qr(a[:, ipvt], mode="complete")
    r_np = r_np[:n]
    s = np.sign(rdiag[:rank]) * np.sign(np.diag(r_np)[:rank])
    assert np.all(s != 0)
    d = np.linalg.norm(a[:, ipvt], axis=0)
    d[d == 0] = 1.0
    assert_allclose(np.abs(rdiag[:rank]), np.abs(np.diag(r_np)[:rank]), rtol=1e-12 * m)
    assert_allclose(r[:rank] * s[:, None] / d, r_np[:rank] / d, rtol=0, atol=1e-12 * m)
    assert np.all(np.abs(rdiag[rank:]) <= 1e-12 * np.abs(rdiag[0]))
    assert_allclose(qtf[:rank] * s, (q.T @ f)[:rank], rtol=0, atol=1e-13 * m * np.linalg.norm(f))
    # the pivots are the exact kernel's wherever rounding cannot decide between columns
    if kind == "scaled":
        assert pivots_well_separated(a, ipvt)
    exact_ipvt = _linalg._test_qrfac(a)[1]
    if pivots_well_separated(a, exact_ipvt):
        assert_array_equal(ipvt, exact_ipvt)


def test_qr_factor_all_zero(path):
    r, ipvt, rdiag, acnorm, qtf = fast_qr(np.zeros((7, 3)), np.arange(7.0), path)
    assert_is_permutation(ipvt, 3)
    assert_array_equal(np.abs(r), 0.0)
    assert_array_equal(acnorm, 0.0)
    assert_array_equal(qtf, [0.0, 1.0, 2.0])  # Q = I


def test_qr_factor_same_bits_at_every_call(path):
    # The shim copies its inputs to fresh allocations at each call: the results must not
    # depend on where the arrays lie.
    a, f, _ = qr_matrix(30, 9, "plain")
    first = fast_qr(a, f, path)
    for _ in range(3):
        again = fast_qr(np.array(a), np.array(f), path)
        for x, y in zip(first, again):
            assert_array_equal(x, y)


# Each reflector's pivot column is rescaled by a power of two outside [1e-100, 1e100]:
# columns all of one huge or tiny scale factor like columns of size 1.
@pytest.mark.parametrize("scale", [1e150, 1e-150, 1e155, 1e200, 1e-160, 1e-170, 1e-300])
def test_qr_factor_uniformly_huge_or_tiny_columns(path, scale):
    # The exact kernel (MINPACK's qrfac) factors these to rounding: only the scale
    # differs from a well-scaled problem.
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((6, 3))
    f0 = rng.standard_normal(6)
    r, ipvt, rdiag, _, qtf = fast_qr(a0 * scale, f0 * scale, path)
    q, r_np = np.linalg.qr(a0[:, ipvt], mode="complete")
    s = np.sign(rdiag) * np.sign(np.diag(r_np))
    assert np.all(np.isfinite(r)) and np.all(np.isfinite(qtf))
    assert_allclose(r * s[:, None] / scale, r_np[:3], rtol=1e-12, atol=1e-14)
    assert_allclose(qtf * s / scale, (q.T @ f0)[:3], rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------
# Fits: a compiled batch is lmfast.curve_fit, bit for bit, on every path
# --------------------------------------------------------------------------------------

SQRT_PI = math.sqrt(math.pi)
# NIST Gauss1-3: b1 exp(-b2 x) + two Gaussians b exp(-(x - c)^2 / w^2), as lineshapes
NIST_GAUSS = (lineshapes.model("exponential", "e_") + lineshapes.model("gaussian", "g1_")
              + lineshapes.model("gaussian", "g2_"))


def _gauss_params(b):
    """NIST Gauss b -> NIST_GAUSS's (amplitude = area, sigma = w / sqrt 2)."""
    return np.array([b[0], 1.0 / b[1], b[2] * SQRT_PI * b[4], b[3], b[4] / math.sqrt(2),
                     b[5] * SQRT_PI * b[7], b[6], b[7] / math.sqrt(2)])


def _gauss_batch(seed):
    """Noisy curves of the Gauss1 shape on its x (make_batch: each fit's parameters and
    start within about 10 % and 20 % of the certified values)."""
    p = nist.PROBLEMS["Gauss1"]
    truth = tuple(_gauss_params(p.certified))
    return make_batch(Problem("nist_gauss", NIST_GAUSS, np.array(p.x), truth), 5, seed)


def _counts(batch):
    """The batch's data as counts (rounded, non-negative), for the Poisson estimator."""
    batch.y = np.rint(np.maximum(batch.y, 0.0))
    return batch


def _fit_cases():
    g, g2 = PROBLEMS["gaussian"], PROBLEMS["gaussian_2d"]
    bright = Problem("gaussian", np_gaussian, g.x, (40.0, 0.4, 1.2, 5.0))
    cases = {
        "gaussian": (models.gaussian, make_batch(g, 6, seed=101)),
        "gaussian-sigma": (models.gaussian, make_batch(g, 6, seed=102, sigma_form="per_fit")),
        "gaussian-bounds-fixed": (models.gaussian, make_batch(g, 6, seed=103)),
        "gaussian-soft_l1": (models.gaussian, make_batch(g, 6, seed=104)),
        "gaussian-poisson": (models.gaussian, _counts(make_batch(bright, 6, seed=105))),
        "gaussian_2d": (models.gaussian_2d, make_batch(g2, 6, seed=106)),
        "gaussian_2d-bounds-fixed": (models.gaussian_2d, make_batch(g2, 6, seed=107)),
        "gaussian_2d-poisson": (models.gaussian_2d, _counts(make_batch(g2, 6, seed=108))),
        "composite": (NIST_GAUSS, _gauss_batch(109)),
        "composite-bounds-fixed": (NIST_GAUSS, _gauss_batch(110)),
        "composite-poisson": (NIST_GAUSS, _counts(_gauss_batch(111))),
    }
    cases["gaussian-bounds-fixed"][1].kwargs.update(
        bounds=([0.0, -1.0, 0.5, -np.inf], [10.0, 0.5, 3.0, np.inf]), fixed=["offset"])
    cases["gaussian-soft_l1"][1].kwargs.update(loss="soft_l1", f_scale=0.05)
    cases["gaussian_2d-bounds-fixed"][1].kwargs.update(
        bounds=([0.0, -1.0, -1.0, 0.5, 0.0], [10.0, 1.0, 1.0, 1.5, 1.0]), fixed=["x0"])
    cases["composite-bounds-fixed"][1].kwargs.update(
        bounds=(0.0, np.inf), fixed=["e_decay"])
    for name in ("gaussian-poisson", "gaussian_2d-poisson", "composite-poisson"):
        cases[name][1].kwargs["estimator"] = "poisson"
    return cases


FIT_CASES = _fit_cases()


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_compiled_batch_is_curve_fit_bit_for_bit(path, case):
    model, batch = FIT_CASES[case]
    ref = run_batch(model, batch, threads=1, chunk_size=None)
    assert ref.success.all(), ref.ier
    for threads in (1, 2):
        for chunk_size in (None, 1, 4):
            assert_bitwise(ref, run_batch(model, batch, threads=threads, chunk_size=chunk_size))
    for i in range(batch.n_fits):
        one = single_fit(model, batch, i, jac=model.jac)
        assert_array_equal(ref.popt[i], one.popt)
        assert_array_equal(ref.pcov[i], one.pcov)
        assert (ref.ier[i], ref.nfev[i], ref.njev[i]) == (one.ier, one.nfev, one.njev)


# --------------------------------------------------------------------------------------
# Fits: agreement with SciPy, and between paths
# --------------------------------------------------------------------------------------

N_BENCH_FITS = 300
BENCH = {
    "gaussian": (models.gaussian, lambda: bench_problems.gaussian_batch(N_BENCH_FITS)),
    "gaussian_2d": (models.gaussian_2d, lambda: bench_problems.gaussian_2d_batch(N_BENCH_FITS)),
}


@functools.cache
def bench_data(name):
    return BENCH[name][1]()


@functools.cache
def scipy_bench_fits(name):
    """SciPy's curve_fit on the model's NumPy twin with the twin's Jacobian (lmder), fit
    by fit: (popt (N, n), NaN where it failed; success (N,))."""
    model, _ = BENCH[name]
    d = bench_data(name)
    popt = np.full(d.p0.shape, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(d.y.shape[0]):
            with contextlib.suppress(RuntimeError):
                popt[i] = scipy.optimize.curve_fit(model, d.x, d.y[i], d.p0[i],
                                                   jac=model.jac)[0]
    return popt, np.isfinite(popt).all(axis=1)


@functools.cache
def lmfast_bench_fits(name, path_name):
    model, _ = BENCH[name]
    d = bench_data(name)
    with active_path(path_name):
        return curve_fit_batch(model, d.x, d.y, d.p0, threads=2)


@pytest.mark.parametrize("name", list(BENCH))
def test_bench_batches_agree_with_scipy(path, name):
    # The criterion: the same success on >= 99 % of the fits, median relative
    # difference of popt <= 1e-9.
    sp_popt, sp_ok = scipy_bench_fits(name)
    res = lmfast_bench_fits(name, path)
    assert np.mean(res.success == sp_ok) >= 0.99
    both = res.success & sp_ok
    assert both.sum() >= 0.99 * N_BENCH_FITS
    rel = np.max(np.abs(res.popt[both] - sp_popt[both]) / np.abs(sp_popt[both]), axis=1)
    assert np.median(rel) <= 1e-9, np.median(rel)


@pytest.mark.parametrize("name", list(BENCH))
def test_paths_differ_by_rounding_only(name):
    base = lmfast_bench_fits(name, "baseline")
    for other_path in PATHS[1:]:
        other = lmfast_bench_fits(name, other_path)
        assert_array_equal(other.success, base.success)
        for i in np.flatnonzero(base.success):
            assert_popt_close(other.popt[i], base.popt[i], 1e-9, what=(other_path, i))
        # and the choice of path takes effect: reassociated sums, FMA, other bits
        assert not np.array_equal(other.popt, base.popt), other_path


# --------------------------------------------------------------------------------------
# Fits: NIST StRD problems written with compiled models
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledNIST:
    """A NIST problem as a compiled model: ``to_model`` maps NIST's b to the model's
    parameters, ``to_nist`` back (NIST's form is even in the widths: |sigma|)."""

    model: object
    to_model: object
    to_nist: object
    fixed: tuple = ()


def _gauss_to_nist(p):
    w1, w2 = abs(p[4]) * math.sqrt(2), abs(p[7]) * math.sqrt(2)
    return np.array([p[0], 1.0 / p[1], p[2] / (math.sqrt(2 * math.pi) * p[4]), p[3], w1,
                     p[5] / (math.sqrt(2 * math.pi) * p[7]), p[6], w2])


def _inverse_rates(b):  # Lanczos: b1 exp(-b2 x) + ... = amplitude exp(-x / decay) + ...
    return np.array([b[0], 1.0 / b[1], b[2], 1.0 / b[3], b[4], 1.0 / b[5]])


_LANCZOS = CompiledNIST(
    lineshapes.model("exponential", "a_") + lineshapes.model("exponential", "b_")
    + lineshapes.model("exponential", "c_"), _inverse_rates, _inverse_rates)
_GAUSS = CompiledNIST(NIST_GAUSS, _gauss_params, _gauss_to_nist)
COMPILED_NIST = {
    # (b1/b2) exp(-0.5 ((x - b3)/b2)^2): models.gaussian (vector exp, joint value and
    # Jacobian) with the offset fixed at 0
    "Eckerle4": CompiledNIST(
        models.gaussian, lambda b: np.array([b[0] / b[1], b[2], b[1], 0.0]),
        lambda p: np.array([p[0] * abs(p[2]), abs(p[2]), p[1]]), ("offset",)),
    "Gauss1": _GAUSS,
    "Gauss2": _GAUSS,
    "Gauss3": _GAUSS,
    "Lanczos1": _LANCZOS,
    "Lanczos2": _LANCZOS,
    "Lanczos3": _LANCZOS,
    # b1 + b2 exp(-x b4) + b3 exp(-x b5)
    "MGH17": CompiledNIST(
        lineshapes.model("constant") + lineshapes.model("exponential", "a_")
        + lineshapes.model("exponential", "b_"),
        lambda b: np.array([b[0], b[1], 1.0 / b[3], b[2], 1.0 / b[4]]),
        lambda p: np.array([p[0], p[1], p[3], 1.0 / p[2], 1.0 / p[4]])),
}
NIST_RUNS = [(name, start, tol) for name in COMPILED_NIST for start in (1, 2)
             for tol in nist.TOLERANCES]


@pytest.mark.parametrize("name", list(COMPILED_NIST))
def test_compiled_nist_models_are_the_nist_models(name):
    # The mapping is right: the NumPy twin at the mapped certified values gives the
    # certified RSS, and mapping back gives the certified values.
    p, c = nist.PROBLEMS[name], COMPILED_NIST[name]
    q = c.to_model(p.certified)
    r = p.y - c.model(p.x, *q)
    if p.certified_rss < 1e-20:  # Lanczos1: exact data
        assert r @ r < 1e-20
    else:
        assert r @ r == pytest.approx(p.certified_rss, rel=1e-8)
    assert_allclose(c.to_nist(q), p.certified, rtol=4 * EPS)


def _nist_start(name, start):
    return COMPILED_NIST[name].to_model(nist.PROBLEMS[name].start(start))


@functools.cache
def scipy_nist_lre(name, start, tol):
    """SciPy's curve_fit on the twin (with its Jacobian; the fixed parameters held by a
    closure): LRE of the result mapped back to NIST's parameters, 0 if it failed."""
    p, c = nist.PROBLEMS[name], COMPILED_NIST[name]
    p0 = _nist_start(name, start)
    free = [k for k, n in enumerate(c.model.param_names) if n not in c.fixed]

    def full(q):
        b = p0.copy()
        b[free] = q
        return b

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            q = scipy.optimize.curve_fit(
                lambda x, *q: c.model(x, *full(q)), p.x, p.y, p0[free],
                jac=lambda x, *q: c.model.jac(x, *full(q))[:, free], **nist.TOLERANCES[tol])[0]
        except RuntimeError:
            return 0.0
    return min_lre(c.to_nist(full(q)), p.certified)


@pytest.mark.parametrize("run", NIST_RUNS, ids=lambda r: f"{r[0]}-start{r[1]}-{r[2]}")
def test_compiled_nist_accuracy(path, run):
    name, start, tol = run
    p, c = nist.PROBLEMS[name], COMPILED_NIST[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            q = lmfast.curve_fit(c.model, p.x, p.y, _nist_start(name, start), jac=c.model.jac,
                                 fixed=list(c.fixed) or None, **nist.TOLERANCES[tol])[0]
            got = min_lre(c.to_nist(q), p.certified)
        except RuntimeError:
            got = 0.0
    want = scipy_nist_lre(name, start, tol)
    if want >= nist.GOOD_DIGITS:
        assert got >= nist.GOOD_DIGITS, f"SciPy gets {want:.1f} digits, lmfast {got:.1f}"


def test_compiled_nist_runs_mostly_reach_good_digits():
    # the comparison above is not vacuous: SciPy reaches 6 digits on most runs
    good = [scipy_nist_lre(*run) >= nist.GOOD_DIGITS for run in NIST_RUNS]
    assert np.mean(good) >= 0.8


@pytest.mark.parametrize("scale", [1.0, 1e-150, 1e-170])
def test_fit_of_tiny_data_is_the_fit_of_the_data_scaled(path, scale):
    # A Gaussian fit of y * scale (amplitude, offset scaled alike) is the fit of y
    # scaled: SciPy on the twin gets it, so must the compiled fit.
    d = bench_problems.gaussian_batch(3, m=64)
    factor = np.array([scale, 1.0, 1.0, scale])
    for i in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = scipy.optimize.curve_fit(models.gaussian, d.x, d.y[i] * scale,
                                            d.p0[i] * factor, jac=models.gaussian.jac)[0]
            got = lmfast.curve_fit(models.gaussian, d.x, d.y[i] * scale, d.p0[i] * factor,
                                   jac=models.gaussian.jac)[0]
        assert_popt_close(got / factor, want / factor, 1e-9)


# --------------------------------------------------------------------------------------
# Choosing the path
# --------------------------------------------------------------------------------------


def test_set_simd_path_refuses_unknown_names():
    before = _simd.simd_path()
    for bad in ("nonsense", "AVX2", "", None, 2):
        with pytest.raises(ValueError) as info:
            _simd.set_simd_path(bad)
        for name in PATHS:
            assert repr(name) in str(info.value), str(info.value)
        assert _simd.simd_path() == before  # unchanged


def test_set_simd_path_by_name_and_auto():
    with active_path("baseline"):
        for name in PATHS:
            _simd.set_simd_path(name)
            assert _simd.simd_path() == name
        _simd.set_simd_path("auto")
        assert _simd.simd_path() == PATHS[-1]


def _import_with(value):
    """Import lmfast._simd in a fresh interpreter with LMFAST_SIMD=value (None: unset)."""
    env = dict(os.environ)
    env.pop("LMFAST_SIMD", None)
    if value is not None:
        env["LMFAST_SIMD"] = value
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(lmfast.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_parent, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", "import lmfast._simd as s; print(s.simd_path())"],
        env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value", [None, "auto", *PATHS])
def test_environment_chooses_the_path(value):
    out = _import_with(value)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (PATHS[-1] if value in (None, "auto") else value)


def test_environment_with_an_unknown_name_fails_the_import():
    out = _import_with("nonsense")
    assert out.returncode != 0
    assert "LMFAST_SIMD" in out.stderr and "nonsense" in out.stderr, out.stderr
    assert all(repr(name) in out.stderr for name in PATHS), out.stderr


# --------------------------------------------------------------------------------------
# Python callbacks keep MINPACK's arithmetic on every path
# --------------------------------------------------------------------------------------


def _python_callback_fits(batch):
    """Every result array of the Python-callback fits of the batch's first rows."""
    x, y, p0 = batch.x, batch.y, batch.p0
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(3):
            for jac in (None, gaussian_jac):
                popt, pcov, info, _, _ = lmfast.curve_fit(np_gaussian, x, y[i], p0[i], jac=jac,
                                                          full_output=True)
                out += [popt, pcov, info["fvec"], np.array(info["nfev"])]

            def residuals(p, i=i):
                return np_gaussian(x, *p) - y[i]

            xs, cov_x, info, _, _ = lmfast.leastsq(residuals, p0[i], full_output=True)
            out += [xs, cov_x, np.array(info["nfev"])]
            res = lmfast.least_squares(residuals, p0[i], method="lm")
            out += [res.x, res.jac, np.array(res.nfev)]
        for jac in (None, gaussian_jac):
            res = curve_fit_batch(py_gaussian, x, y, p0, jac=jac)
            out += [res.popt, res.pcov, res.nfev]
    return out


def test_python_callback_fits_are_the_same_bits_on_every_path():
    batch = make_batch(PROBLEMS["gaussian"], 5, seed=120)
    with active_path(PATHS[0]):
        ref = _python_callback_fits(batch)
    for name in PATHS[1:]:
        with active_path(name):
            got = _python_callback_fits(batch)
        for k, (a, b) in enumerate(zip(got, ref, strict=True)):
            assert_array_equal(a, b, err_msg=f"{name}: result {k}")
