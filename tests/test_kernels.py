"""The dense MINPACK kernels (lmfast/_linalg.pyx) through their ``_test_*`` shims.

Every expected value comes from outside lmfast: exact rational arithmetic (fractions /
decimal) for ``enorm``, NumPy/SciPy factorizations and solves for ``qrfac``, ``lmpar`` and
``invert_upper``, the defining properties of Moré (1977) for ``lmpar``, and, for the claim
that qrfac's 8-column panels reproduce the column-at-a-time algorithm bit for bit, a
plain-Python transcription of ANL-80-74 qrfac written here (the extension is built with
``-ffp-contract=off``, so both evaluate the same IEEE operations in the same order).

Conventions pinned from the kernel's docstrings (and the engine's use of them):

* ``_test_qrfac(a)`` -> ``(a_out, ipvt, rdiag, acnorm)``; ``ipvt`` is 0-based and column j
  of A P is column ``ipvt[j]`` of A.  R is the upper triangle of ``a_out[:n]`` with its
  diagonal replaced by ``rdiag``; on and below the diagonal column j of ``a_out`` holds v_j,
  the reflector being H_j = I - v_j v_j^T / v_j[j]  (so Q^T = H_{n-1} ... H_0).
* ``_test_lmpar(r, ipvt, diag, qtb, delta, par)`` -> ``(par, x, sdiag)``; x is in the
  original variable order and solves (A^T A + par D^2) x = +A^T b (least squares
  [A; sqrt(par) D] x ~ [b; 0]); the engine then takes the step p = -x.
"""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import scipy.linalg
from helpers import (
    assert_gram_matches,
    assert_is_permutation,
    assert_pivoted,
    exact_norm,
    r_from,
)
from numpy.testing import assert_allclose, assert_array_equal

from lmfast import _linalg

EPS = np.finfo(float).eps
TINY = 5e-324  # smallest subnormal
RDWARF = 3.834e-20  # enorm's small/intermediate boundary (ANL-80-74)
RGIANT = 1.304e19  # enorm's intermediate/large boundary is RGIANT / n


# --------------------------------------------------------------------------------------
# enorm
# --------------------------------------------------------------------------------------


def enorm(x) -> float:
    return _linalg._test_enorm(np.ascontiguousarray(x, dtype=np.float64))


def assert_enorm_exact(x, rtol=None):
    """enorm(x) equals the exact norm within the first-order rounding bound of its
    three scaled sums, (2n + 4) eps relative (plus two subnormal ulps absolute)."""
    x = np.asarray(x, dtype=np.float64)
    got = enorm(x)
    ref = exact_norm(x)
    if rtol is None:
        rtol = (2 * x.size + 4) * EPS
    assert math.isfinite(got), (got, ref)
    assert (got == 0.0) == (ref == 0.0), (got, ref)
    assert abs(got - ref) <= rtol * ref + 2 * TINY, (got, ref, (got - ref) / ref)
    return got


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 100, 1000])
@pytest.mark.parametrize("seed", range(3))
def test_enorm_ordinary_vectors_match_numpy_and_exact(n, seed):
    x = np.random.default_rng(seed).standard_normal(n) * 10.0 ** (seed - 1)
    got = assert_enorm_exact(x)
    assert_allclose(got, np.linalg.norm(x), rtol=(2 * n + 4) * EPS, atol=0)
    assert_allclose(got, math.hypot(*x), rtol=(2 * n + 4) * EPS, atol=0)
    if n <= 10:
        assert abs(got - exact_norm(x)) <= 1e-15 * exact_norm(x)


def test_enorm_empty_is_zero():
    assert enorm(np.zeros(0)) == 0.0


@pytest.mark.parametrize("n", [1, 4, 37])
def test_enorm_zeros_is_zero(n):
    assert enorm(np.zeros(n)) == 0.0


@pytest.mark.parametrize(
    "v", [1.0, -2.5, 3.834e-20, -1e-300, 1e300, -1e308, 1.7976931348623157e308, TINY, 1e-310,
          RGIANT, -RGIANT * 0.999, 2.2250738585072014e-308],
)
def test_enorm_single_element_is_its_absolute_value(v):
    assert enorm([v]) == abs(v)
    assert enorm([0.0, v, 0.0]) == abs(v)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-20, 1e150, 1e200, 1e300])
@pytest.mark.parametrize("n", [1, 3, 16, 200])
def test_enorm_extreme_magnitudes_no_overflow_underflow(scale, n):
    rng = np.random.default_rng(n)
    x = rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n) * scale
    # the naive sum of squares would give 0 or inf here (except the 1e-20 case)
    got = assert_enorm_exact(x)
    assert 0.0 < got < np.inf


def test_enorm_all_equal_huge_and_tiny_values():
    n = 100
    assert_allclose(enorm(np.full(n, 1e300)), 1e301, rtol=(2 * n + 4) * EPS)
    assert_allclose(enorm(np.full(n, 1e-300)), 1e-299, rtol=(2 * n + 4) * EPS)
    # near the top of the range: sqrt(2) * 1e308 would overflow, 4 * 4e307 = 1.6e308 not
    assert_enorm_exact([4e307, -4e307, 4e307, 4e307])
    assert_allclose(enorm([4e307] * 4), 8e307, rtol=8 * EPS)


@pytest.mark.parametrize("n", [1, 2, 5, 64])
def test_enorm_small_boundary(n):
    below = np.nextafter(RDWARF, 0.0)
    above = np.nextafter(RDWARF, 1.0)
    for x in ([RDWARF] * n, [below] * n, [above] * n,
              [RDWARF, below, above] * n, [above, RDWARF, below] * n,
              [1e-20] * n, [4e-20, 3e-20] * n, [3e-20, 4e-20] * n):
        assert_enorm_exact(x)


def test_enorm_small_boundary_pythagorean():
    # one intermediate (4e-20 > rdwarf) and one small (3e-20 <= rdwarf) component
    assert_allclose(enorm([4e-20, 3e-20]), 5e-20, rtol=4 * EPS)
    assert_allclose(enorm([3e-20, 4e-20]), 5e-20, rtol=4 * EPS)
    # s2 >= x3max branch of the final combination: many intermediates and small ones
    assert_enorm_exact([1.0, 2e-20, 3e-20, 1e-25])
    assert_enorm_exact([1e-19] * 10 + [3e-20] * 10)


@pytest.mark.parametrize("n", [1, 2, 4, 10, 1000])
def test_enorm_large_boundary(n):
    agiant = RGIANT / n
    below = np.nextafter(agiant, 0.0)
    above = np.nextafter(agiant, np.inf)
    for x in ([agiant] * n, [below] * n, [above] * n,
              ([below] * (n - 1) + [agiant]), ([above] + [below] * (n - 1)),
              [1e19 / n] * n):
        assert_enorm_exact(x)


@pytest.mark.parametrize(
    "x",
    [
        [1e300, 1.0, 1e-300],
        [1e-300, 1.0, 1e300],
        [1e-300, 1e-310, 2e-300],
        [1e25, 1e-25],
        [1e-25, 3.0, 4.0, 1e-30],
        [1e200, -3e199, 1.0, 5e-324, 0.0, -1e-200, 1e19, 1e-19],
        [3e-20, 1e5, 2e19, 1e-300, -7e150],
        [1e154, 1e154, 1e154, 1e-154, 1.0],
        list(np.geomspace(1e-300, 1e300, 41)),
        list(np.geomspace(1e300, 1e-300, 41)),
    ],
)
def test_enorm_mixed_magnitudes(x):
    assert_enorm_exact(x)


@pytest.mark.parametrize(
    "x",
    [
        [TINY],
        [TINY, TINY],
        [TINY, TINY, TINY, TINY],
        [1e-310, 2e-310, 3e-310],
        [2.2250738585072014e-308, 1e-310, TINY],
        [1e-320, -1e-321, 0.0, 4e-322],
        [1e-310, 1.0],
    ],
)
def test_enorm_subnormals(x):
    got = assert_enorm_exact(x)
    assert got > 0.0


def test_enorm_subnormal_exact_values():
    # sqrt(4) * 5e-324 and 3-4-5 on the subnormal grid are exactly representable
    assert enorm([TINY] * 4) == 2 * TINY
    assert enorm([3 * TINY, 4 * TINY]) == 5 * TINY
    assert enorm([3e-310, 4e-310]) == pytest.approx(5e-310, rel=1e-13)


def test_enorm_does_not_modify_input():
    x = np.array([1e300, -2.0, 3e-300])
    keep = x.copy()
    enorm(x)
    assert_array_equal(x, keep)


# --------------------------------------------------------------------------------------
# qrfac
# --------------------------------------------------------------------------------------


def qrfac(a):
    a = np.asarray(a, dtype=np.float64)
    a_out, ipvt, rdiag, acnorm = _linalg._test_qrfac(a)
    assert a_out.shape == a.shape
    return a_out, ipvt.astype(np.intp), rdiag, acnorm


def qt_apply(a_out, b):
    """Q^T b with Q^T = H_{n-1} ... H_0, H_j = I - v v^T / v[j], v = a_out[j:, j]."""
    m, n = a_out.shape
    b = np.array(b, dtype=np.float64, copy=True)
    for j in range(min(m, n)):
        v = a_out[j:, j]
        if v[0] != 0.0:
            b[j:] -= np.multiply.outer(v, v @ b[j:]) / v[0]
    return b


SHAPES = [(1, 1), (3, 1), (5, 5), (8, 8), (9, 9), (12, 5), (30, 8), (30, 9), (40, 13),
          (25, 17), (20, 20), (60, 20), (17, 16)]


@pytest.mark.parametrize("m,n", SHAPES)
def test_qrfac_full_rank(m, n):
    rng = np.random.default_rng(1000 * m + n)
    a = rng.standard_normal((m, n)) * rng.uniform(0.1, 10.0, n)
    a_keep = a.copy()
    a_out, ipvt, rdiag, acnorm = qrfac(a)
    assert_array_equal(a, a_keep)  # the shim works on a copy
    assert_is_permutation(ipvt, n)
    assert_allclose(acnorm, np.linalg.norm(a, axis=0), rtol=(2 * m + 4) * EPS, atol=0)
    r = r_from(a_out, rdiag)
    assert_gram_matches(a, r, ipvt)
    assert_pivoted(r)
    # the first pivot is the column of largest norm
    assert ipvt[0] == np.argmax(np.linalg.norm(a, axis=0))
    assert abs(rdiag[0]) == pytest.approx(acnorm.max(), rel=(2 * m + 4) * EPS)


@pytest.mark.parametrize("m,n", SHAPES)
def test_qrfac_householder_vectors_give_qt_a_p_equal_r(m, n):
    rng = np.random.default_rng(7 + m * n)
    a = rng.standard_normal((m, n))
    a_out, ipvt, rdiag, _ = qrfac(a)
    r = r_from(a_out, rdiag)
    qtap = qt_apply(a_out, a[:, ipvt])
    scale = np.linalg.norm(a)
    assert_allclose(qtap[:n], r, rtol=0, atol=1e-13 * scale)
    assert_allclose(qtap[n:], 0.0, rtol=0, atol=1e-13 * scale)
    # each stored v satisfies v^T v = 2 v[j], i.e. H_j is an orthogonal reflector
    for j in range(n):
        v = a_out[j:, j]
        assert v @ v == pytest.approx(2 * v[0], rel=1e-13)
    # and Q^T preserves norms of arbitrary vectors
    b = rng.standard_normal(m)
    assert np.linalg.norm(qt_apply(a_out, b)) == pytest.approx(np.linalg.norm(b), rel=1e-13)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 13, 16, 17, 20, 25])
@pytest.mark.parametrize("extra_rows", [0, 1, 6])
def test_qrfac_r_matches_numpy_qr_across_column_counts(n, extra_rows):
    m = n + extra_rows
    rng = np.random.default_rng(31 * n + extra_rows)
    a = rng.standard_normal((m, n))
    a_out, ipvt, rdiag, _ = qrfac(a)
    r = r_from(a_out, rdiag)
    r_np = np.linalg.qr(a[:, ipvt], mode="r")[:n]
    tol = {"rtol": 1e-10, "atol": 1e-12 * np.linalg.norm(a)}
    assert_allclose(np.abs(r), np.abs(r_np), **tol)
    # stronger: equal once each row's sign is aligned
    s = np.sign(np.diag(r)) * np.sign(np.diag(r_np))
    assert_allclose(r * s[:, None], r_np, **tol)


@pytest.mark.parametrize("m,n", [(5, 5), (12, 4), (30, 9)])
def test_qrfac_zero_column(m, n):
    rng = np.random.default_rng(m + n)
    a = rng.standard_normal((m, n))
    zero = n // 2
    a[:, zero] = 0.0
    a_out, ipvt, rdiag, acnorm = qrfac(a)
    assert_is_permutation(ipvt, n)
    assert acnorm[zero] == 0.0
    assert ipvt[-1] == zero  # pivoting moves the zero column last
    assert rdiag[-1] == 0.0
    r = r_from(a_out, rdiag)
    assert_allclose(r[:, -1], 0.0, atol=0)
    assert_gram_matches(a, r, ipvt)
    assert_pivoted(r)
    assert_allclose(qt_apply(a_out, a[:, ipvt])[:n], r, atol=1e-13 * np.linalg.norm(a))


def test_qrfac_all_zero_matrix():
    a_out, ipvt, rdiag, acnorm = qrfac(np.zeros((6, 4)))
    assert_is_permutation(ipvt, 4)
    assert_array_equal(rdiag, 0.0)
    assert_array_equal(acnorm, 0.0)
    assert_array_equal(a_out, 0.0)


@pytest.mark.parametrize("m,n", [(6, 6), (10, 5), (30, 12)])
def test_qrfac_duplicate_columns(m, n):
    rng = np.random.default_rng(3 * m + n)
    a = rng.standard_normal((m, n))
    a[:, 1] = a[:, 0]
    a[:, n - 1] = 2.0 * a[:, 2]
    a_out, ipvt, rdiag, _ = qrfac(a)
    assert_is_permutation(ipvt, n)
    r = r_from(a_out, rdiag)
    assert_gram_matches(a, r, ipvt)
    assert_pivoted(r, tol=1e-10)
    d = np.abs(rdiag)
    # rank n - 2: the last two diagonal entries are at rounding level, the rest are not
    assert np.all(d[-2:] <= 1e-13 * d[0]), d
    assert np.all(d[:-2] > 1e-3 * d[0]), d


@pytest.mark.parametrize("m,n", [(20, 7), (9, 9), (40, 13)])
def test_qrfac_wildly_scaled_columns(m, n):
    rng = np.random.default_rng(m * n)
    scales = 10.0 ** np.linspace(-150, 150, n)
    perm = rng.permutation(n)
    scales = scales[perm]
    a = rng.standard_normal((m, n)) * scales
    a_out, ipvt, rdiag, acnorm = qrfac(a)
    assert np.all(np.isfinite(a_out)) and np.all(np.isfinite(rdiag))
    assert_allclose(acnorm, np.linalg.norm(a, axis=0), rtol=(2 * m + 4) * EPS, atol=0)
    # the scales differ by >= 1e23 between columns: pivoting takes them largest first
    assert_array_equal(ipvt, np.argsort(-scales))
    r = r_from(a_out, rdiag)
    assert_gram_matches(a, r, ipvt)
    # column-wise: each pivot's |R_jj| is its column's scale times an O(1) factor
    ratio = np.abs(rdiag) / scales[ipvt]
    assert np.all((ratio > 1e-3) & (ratio < 1e3)), ratio


# A column-at-a-time transcription of ANL-80-74 qrfac (pivot=.true.), in Python floats.


def _enorm_ref(xs):
    rdwarf, agiant = RDWARF, RGIANT / len(xs) if xs else math.inf
    s1 = s2 = s3 = x1max = x3max = 0.0
    for v in xs:
        xabs = abs(v)
        if rdwarf < xabs < agiant:
            s2 += xabs * xabs
        elif xabs <= rdwarf:
            if xabs > x3max:
                s3 = 1.0 + s3 * (x3max / xabs) ** 2
                x3max = xabs
            elif xabs != 0.0:
                s3 += (xabs / x3max) ** 2
        else:
            if xabs > x1max:
                s1 = 1.0 + s1 * (x1max / xabs) ** 2
                x1max = xabs
            else:
                s1 += (xabs / x1max) ** 2
    if s1 != 0.0:
        return x1max * math.sqrt(s1 + (s2 / x1max) / x1max)
    if s2 != 0.0:
        if s2 >= x3max:
            return math.sqrt(s2 * (1.0 + (x3max / s2) * (x3max * s3)))
        return math.sqrt(x3max * ((s2 / x3max) + (x3max * s3)))
    return x3max * math.sqrt(s3)


def _qrfac_ref(a):
    a = [list(map(float, row)) for row in a]
    m, n = len(a), len(a[0])
    col = lambda k, i0: [a[i][k] for i in range(i0, m)]
    acnorm = [_enorm_ref(col(j, 0)) for j in range(n)]
    rdiag, wa, ipvt = acnorm[:], acnorm[:], list(range(n))
    for j in range(min(m, n)):
        kmax = j
        for k in range(j, n):
            if rdiag[k] > rdiag[kmax]:
                kmax = k
        if kmax != j:
            for i in range(m):
                a[i][j], a[i][kmax] = a[i][kmax], a[i][j]
            rdiag[kmax], wa[kmax] = rdiag[j], wa[j]
            ipvt[j], ipvt[kmax] = ipvt[kmax], ipvt[j]
        ajnorm = _enorm_ref(col(j, j))
        if ajnorm != 0.0:
            if a[j][j] < 0.0:
                ajnorm = -ajnorm
            for i in range(j, m):
                a[i][j] = a[i][j] / ajnorm
            a[j][j] = a[j][j] + 1.0
            for k in range(j + 1, n):
                total = 0.0
                for i in range(j, m):
                    total = total + a[i][j] * a[i][k]
                temp = total / a[j][j]
                for i in range(j, m):
                    a[i][k] = a[i][k] - temp * a[i][j]
                if rdiag[k] != 0.0:
                    temp = a[j][k] / rdiag[k]
                    rdiag[k] = rdiag[k] * math.sqrt(max(0.0, 1.0 - temp * temp))
                    if 0.05 * (rdiag[k] / wa[k]) ** 2 <= EPS:
                        rdiag[k] = _enorm_ref(col(k, j + 1))
                        wa[k] = rdiag[k]
        rdiag[j] = -ajnorm
    return np.array(a), np.array(ipvt), np.array(rdiag), np.array(acnorm)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 13, 16, 17, 20])
@pytest.mark.parametrize("kind", ["gaussian", "scaled", "near_dependent"])
def test_qrfac_panels_equal_column_at_a_time_bitwise(n, kind):
    m = n + 11
    rng = np.random.default_rng(n)
    a = rng.standard_normal((m, n))
    if kind == "scaled":
        a *= 10.0 ** rng.uniform(-30, 30, n)
    elif kind == "near_dependent" and n > 2:
        # forces the downdated norms to be recomputed (cancellation branch)
        a[:, 1] = a[:, 0] + 1e-9 * a[:, 1]
        a[:, -1] = a[:, 2] * 3.0 + 1e-10 * a[:, -1]
    ref = _qrfac_ref(a)
    got = qrfac(a)
    for name, g, r in zip(("a_out", "ipvt", "rdiag", "acnorm"), got, ref):
        assert_array_equal(g, r, err_msg=name)


# --------------------------------------------------------------------------------------
# lmpar
# --------------------------------------------------------------------------------------


def lmpar_problem(seed, m=15, n=5, diag_kind="random"):
    """A random tall A, b; R, ipvt from qrfac; qtb = (Q^T b)[:n] computed without Q as
    R^{-T} (A P)^T b."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n)) * rng.uniform(0.2, 5.0, n)
    b = rng.standard_normal(m) * 3.0
    a_out, ipvt, rdiag, acnorm = qrfac(a)
    r = r_from(a_out, rdiag)
    qtb = scipy.linalg.solve_triangular(r, a[:, ipvt].T @ b, trans="T", lower=False)
    if diag_kind == "colnorms":
        diag = acnorm.copy()  # MINPACK mode 1
    else:
        diag = rng.uniform(0.3, 3.0, n)
    return a, b, r, ipvt, diag, qtb


def normal_equation_solution(a, b, diag, par):
    """(A^T A + par D^2) x = A^T b, by NumPy."""
    return np.linalg.solve(a.T @ a + par * np.diag(diag**2), a.T @ b)


def lmpar(r, ipvt, diag, qtb, delta, par0=0.0):
    r_keep, qtb_keep, diag_keep = r.copy(), qtb.copy(), diag.copy()
    par, x, sdiag = _linalg._test_lmpar(r, ipvt.astype(np.int32), diag, qtb, delta, par0)
    # the shim copies; inputs untouched
    assert_array_equal(r, r_keep)
    assert_array_equal(qtb, qtb_keep)
    assert_array_equal(diag, diag_keep)
    return par, x, sdiag


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("factor", [100.0, 1.05, 0.9, 0.5, 0.1, 1e-3, 1e-6])
@pytest.mark.parametrize("par0", [0.0, 1.0])
def test_lmpar_defining_properties(seed, factor, par0):
    a, b, r, ipvt, diag, qtb = lmpar_problem(seed, diag_kind="colnorms" if seed % 2 else "random")
    x_gn = np.linalg.lstsq(a, b, rcond=None)[0]
    delta = factor * np.linalg.norm(diag * x_gn)
    par, x, sdiag = lmpar(r, ipvt, diag, qtb, delta, par0)
    dxnorm = np.linalg.norm(diag * x)
    assert par >= 0.0
    if par == 0.0:
        # Gauss-Newton step, accepted because it lies (nearly) inside the region
        assert dxnorm <= 1.1 * delta
        assert_allclose(x, x_gn, rtol=1e-10, atol=1e-12 * np.linalg.norm(x_gn))
    else:
        assert abs(dxnorm - delta) <= 0.1 * delta, (par, dxnorm, delta)
        # sdiag is the diagonal of S with S^T S = P^T (A^T A + par D^2) P
        m_ = (a.T @ a + par * np.diag(diag**2))[np.ix_(ipvt, ipvt)]
        assert_allclose(np.abs(sdiag), np.diag(np.linalg.cholesky(m_)), rtol=1e-10)
    # x solves (A^T A + par D^2) x = +A^T b (the engine's step is -x)
    x_ref = normal_equation_solution(a, b, diag, par)
    assert_allclose(x, x_ref, rtol=1e-9, atol=1e-11 * np.linalg.norm(x_ref))
    # which of par == 0 / par > 0 happens is fixed by ||D x_gn|| against 1.1 delta
    assert (par == 0.0) == (factor >= 1.0 / 1.1)


@pytest.mark.parametrize("seed", range(6))
def test_lmpar_is_monotone_in_delta(seed):
    # ||D x(par)|| decreases in par, so a smaller region needs a larger par
    a, b, r, ipvt, diag, qtb = lmpar_problem(100 + seed, m=20, n=8)
    dx_gn = np.linalg.norm(diag * np.linalg.lstsq(a, b, rcond=None)[0])
    pars = [lmpar(r, ipvt, diag, qtb, f * dx_gn)[0] for f in (0.5, 0.1, 0.01)]
    assert 0.0 < pars[0] < pars[1] < pars[2]


def test_lmpar_n1_closed_form():
    # n = 1: x(par) = r q / (r^2 + par d^2); ||d x|| = delta pins par up to 10 %
    r, d, q = 2.0, 3.0, 5.0
    x_gn = q / r
    delta = 0.25 * d * x_gn
    par, x, sdiag = lmpar(np.array([[r]]), np.array([0]), np.array([d]), np.array([q]), delta)
    assert par > 0.0
    assert x[0] == pytest.approx(r * q / (r * r + par * d * d), rel=1e-14)
    assert abs(d * abs(x[0]) - delta) <= 0.1 * delta
    assert abs(sdiag[0]) == pytest.approx(math.sqrt(r * r + par * d * d), rel=1e-14)
    exact_par = (r * q / (delta / d) - r * r) / (d * d)
    assert par == pytest.approx(exact_par, rel=0.3)


@pytest.mark.parametrize("seed", range(4))
def test_lmpar_rank_deficient_r(seed):
    # A with an exactly zero column: R's last diagonal is 0, J^T J singular.  For par > 0
    # the regularized normal equations are still nonsingular and x must solve them.
    rng = np.random.default_rng(seed)
    m, n = 12, 5
    a = rng.standard_normal((m, n))
    a[:, 2] = 0.0
    b = rng.standard_normal(m)
    a_out, ipvt, rdiag, _ = qrfac(a)
    assert rdiag[-1] == 0.0
    r = r_from(a_out, rdiag)
    q_full = qt_apply(a_out, b)  # Householder convention checked above
    qtb = q_full[:n]
    diag = rng.uniform(0.5, 2.0, n)
    x_gn = np.linalg.lstsq(a, b, rcond=None)[0]  # minimum norm: x_gn[2] == 0
    delta = 0.2 * np.linalg.norm(diag * x_gn)
    par, x, _ = lmpar(r, ipvt, diag, qtb, delta)
    assert par > 0.0
    assert np.linalg.norm(diag * x) <= 1.1 * delta
    assert_allclose(x, normal_equation_solution(a, b, diag, par), rtol=1e-9, atol=1e-12)
    # inside a large region the singular Gauss-Newton step (zero free component) is kept
    par, x, _ = lmpar(r, ipvt, diag, qtb, 1e3 * np.linalg.norm(diag * x_gn))
    assert par == 0.0
    assert x[2] == 0.0
    assert_allclose(x, x_gn, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("factor", [0.5, 1e-3])
def test_lmpar_nan_par_restarts_from_the_bounds(seed, factor):
    # The published par = min(max(par, parl), paru), max and min ignoring a NaN operand
    # (C99 fmax/fmin): a NaN par (left by a step that went through NaN) is replaced by
    # parl, exactly as par = 0 is.
    a, b, r, ipvt, diag, qtb = lmpar_problem(200 + seed)
    delta = factor * np.linalg.norm(diag * np.linalg.lstsq(a, b, rcond=None)[0])
    par0, x0, s0 = lmpar(r, ipvt, diag, qtb, delta, 0.0)
    par, x, sdiag = lmpar(r, ipvt, diag, qtb, delta, np.nan)
    assert par > 0.0
    assert par == par0
    assert_array_equal(x, x0)
    assert_array_equal(sdiag, s0)


def test_lmpar_nan_par_after_overflowed_gauss_newton_step():
    # R subnormal, Q^T b of order 0.1: the Gauss-Newton step overflows (parl and the
    # first par are NaN).  Called again with that NaN par, lmpar restarts from paru and
    # returns a finite step of length delta (SciPy's second trial point in this case).
    r = np.array([[-3.5494e-320, 4.634e-321], [0.0, -1.633e-320]])
    ipvt = np.array([1, 0])
    diag = np.array([82.86475525, 82.16596421])
    qtb = np.array([0.04113557, 0.10848876])
    delta = 7.359997e-317
    with np.errstate(all="ignore"):
        par, x, _ = lmpar(r, ipvt, diag, qtb, delta, 0.0)
        assert np.isnan(par) and np.all(np.isnan(x))
        par, x, _ = lmpar(r, ipvt, diag, qtb, delta, par)
    assert np.isfinite(par) and par > 0.0
    assert np.all(np.isfinite(x))
    assert abs(exact_norm(diag * x) - delta) <= 0.1 * delta  # (np.linalg.norm underflows)


# --------------------------------------------------------------------------------------
# invert_upper
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 17, 40])
def test_invert_upper_matches_scipy(n):
    rng = np.random.default_rng(n)
    r = np.triu(rng.standard_normal((n, n))) + np.diag(rng.uniform(1.0, 3.0, n)
                                                      * rng.choice([-1, 1], n))
    work = np.asfortranarray(r.copy())
    info = _linalg.invert_upper(work)
    assert info == 0
    ref = scipy.linalg.solve_triangular(r, np.eye(n), lower=False)
    assert_allclose(np.triu(work), ref, rtol=1e-12, atol=1e-13 * np.abs(ref).max())
    assert_allclose(np.triu(work), np.linalg.inv(r), rtol=1e-10,
                    atol=1e-12 * np.abs(ref).max())
    assert_allclose(np.triu(work) @ r, np.eye(n), atol=1e-12 * np.linalg.cond(r))


@pytest.mark.parametrize("n,k", [(1, 0), (4, 0), (4, 2), (4, 3), (9, 5)])
def test_invert_upper_singular_reports_first_zero_diagonal(n, k):
    rng = np.random.default_rng(n + k)
    r = np.triu(rng.standard_normal((n, n))) + 2.0 * np.eye(n)
    r[k, k] = 0.0
    work = np.asfortranarray(r)
    assert _linalg.invert_upper(work) == k + 1  # LAPACK's 1-based index, info > 0


def test_invert_upper_empty_and_bad_input():
    assert _linalg.invert_upper(np.zeros((0, 0), order="F")) == 0
    with pytest.raises(ValueError, match="square"):
        _linalg.invert_upper(np.zeros((3, 2), order="F"))
    with pytest.raises(ValueError):  # C order is refused, not silently transposed
        _linalg.invert_upper(np.triu(np.ones((3, 3))) + np.tril(np.ones((3, 3)), -1) * 0.5)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
