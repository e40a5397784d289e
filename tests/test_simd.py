"""The fast kernels of compiled-model fits (lmfast/_simd.pyx, lmfast/src/simd_kernels.inc),
on every instruction set ("path") this CPU runs.

The paths are those ``lmfast._simd.simd_paths()`` lists, so "avx512" is covered on machines
that have it; a path the CPU lacks is not listed (no skip), and which paths must be listed
is checked against /proc/cpuinfo.

The kernels, through the ``_test_*`` shims: ``exp_array`` against NumPy's exp (in long
double where that is wider, so the reference is correctly rounded), ``norm2`` against the
exact norm (``helpers.exact_norm``), ``qr_factor`` against ``numpy.linalg.qr`` of A P, the
defining properties of pivoted QR (``helpers.assert_gram_matches``, ``assert_pivoted``)
and the exact MINPACK kernel's pivots.

Expected values come from NumPy and exact arithmetic.  A known kernel bug, qr_factor on
uniformly huge or tiny columns (``QR_SCALE_BUG``), is pinned by ``xfail(strict=True)``
tests.
"""
import contextlib
import math
import platform

import numpy as np
import pytest
from helpers import (
    assert_gram_matches,
    assert_is_permutation,
    assert_pivoted,
    exact_norm,
    r_from,
)
from numpy.testing import assert_allclose, assert_array_equal

from lmfast import _linalg, _simd

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


QR_SCALE_BUG = (
    "qr_factor applies each reflector with the unnormalised pivot column x (x.c, not "
    "(x/alpha).c as qrfac does): when every column is ~1e155 or more, x.c overflows "
    "(R and Q^T f become inf/NaN), ~1e-155 or less it underflows into subnormals and "
    "R, Q^T f lose their digits (1e-160: 1e-4 relative; 1e-170: R[0,1] = 0)")


@pytest.mark.parametrize("scale", [
    1e150, 1e-150,
    pytest.param(1e155, marks=pytest.mark.xfail(strict=True, reason=QR_SCALE_BUG)),
    pytest.param(1e200, marks=pytest.mark.xfail(strict=True, reason=QR_SCALE_BUG)),
    pytest.param(1e-160, marks=pytest.mark.xfail(strict=True, reason=QR_SCALE_BUG)),
    pytest.param(1e-170, marks=pytest.mark.xfail(strict=True, reason=QR_SCALE_BUG)),
])
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
