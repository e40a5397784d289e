"""The vector Faddeeva kernel of the fast-kernel tables (faddeeva_re, lmfast/src/
simd_faddeeva.inc), on every instruction set this CPU runs: Re w and w' against the scalar
w of lmfast/_faddeeva.pyx and scipy.special.wofz, exp(-x^2) on the real axis to the last
bit, and results that depend on a point alone (not on its neighbours, the array's length
or position, or whether w' is asked for).
"""

from decimal import Decimal, getcontext

import numpy as np
import pytest
import scipy.special

from lmfast import _faddeeva, _simd

PATHS = _simd.simd_paths()
XS = np.concatenate([-np.logspace(-6, 6, 241)[::-1], [0.0], np.logspace(-6, 6, 241)])
YS = np.concatenate([[0.0], np.logspace(-8, 4, 121)])
INV_SQRTPI = 1.0 / np.sqrt(np.pi)


@pytest.mark.parametrize("path", PATHS)
def test_re_w_against_the_scalar_w_and_wofz(path):
    # Measured: 5.5e-14, all of it the others' exp(-x^2) near x = 25 on the real axis
    # (the kernel's is correctly rounded there, see below); below 2e-15 elsewhere.
    for y in YS:
        wr, _, _ = _simd._test_faddeeva_re(XS, y, path)
        re, _, _, _ = _faddeeva._test_faddeeva(XS, y)
        w = scipy.special.wofz(XS + 1j * y)
        big = np.abs(re) > 1e-300  # away from subnormal results
        np.testing.assert_allclose(wr[big], re[big], rtol=1e-13, atol=0, err_msg=f"y={y}")
        np.testing.assert_allclose(wr[big], w.real[big], rtol=1e-13, atol=0, err_msg=f"y={y}")
        assert np.all(wr[~big] < 1e-290)


@pytest.mark.parametrize("path", PATHS)
def test_derivative_against_the_scalar_w(path):
    # w' against the scalar kernel's (its own trapezoidal sums), relative to the largest
    # |Re w'| and |Im w'| along the line (a Jacobian column's scale).  Measured 8e-15.
    for y in YS:
        _, dwr, dwi = _simd._test_faddeeva_re(XS, y, path)
        _, _, dre, dim = _faddeeva._test_faddeeva(XS, y)
        np.testing.assert_allclose(dwr, dre, rtol=0, atol=1e-13 * np.abs(dre).max())
        np.testing.assert_allclose(dwi, dim, rtol=0, atol=1e-13 * np.abs(dim).max())


@pytest.mark.parametrize("path", PATHS)
def test_derivative_is_minus_2zw_plus_2i_over_sqrtpi(path):
    # The identity for |z| < 5 with SciPy's w; the reference cancels (Im w' is 2i/sqrt(pi)
    # minus a term of that size), so the bound scales with the terms, not with w'.
    x = np.linspace(-5.0, 5.0, 401)
    for y in (0.0, 1e-3, 0.3, 1.0, 3.0):
        _, dwr, dwi = _simd._test_faddeeva_re(x, y, path)
        z = x + 1j * y
        small = np.abs(z) < 5.0
        two_zw = 2.0 * z * scipy.special.wofz(z)
        want = -two_zw + 2j * INV_SQRTPI
        scale = np.abs(two_zw) + 2 * INV_SQRTPI
        got = dwr + 1j * dwi
        assert np.all((np.abs(got - want) <= 2e-14 * scale)[small])


@pytest.mark.parametrize("path", PATHS)
def test_real_axis_is_exp_minus_x2_within_one_ulp(path):
    # w(x) = exp(-x^2) + 2i D(x)/sqrt(pi): the pole term carries exp(-x^2) with its
    # exponent to more than double precision, so even at x = 26 (x^2 = 676) the result
    # is within 1 ulp of the correctly rounded value (computed here in 40 digits).
    getcontext().prec = 40
    x = np.random.default_rng(5).uniform(-26.2, 26.2, 600)
    want = np.array([float((-(Decimal(v) ** 2)).exp()) for v in x])
    got = _simd._test_faddeeva_re(x, 0.0, path, deriv=False)
    assert np.all(np.abs(got - want) <= np.spacing(want))


@pytest.mark.parametrize("path", PATHS)
def test_lorentzian_tail_where_re_w_is_far_below_im_w(path):
    # Re w ~ exp(-x^2) + y / (sqrt(pi) x^2) (1 + O(1/x^2)): relative accuracy in Re w
    # though it is 1e-6 .. 1e-12 of |w| here.
    x = np.logspace(np.log10(6.0), 3, 200)
    for y in (1e-10, 1e-6, 1e-3):
        wr = _simd._test_faddeeva_re(x, y, path, deriv=False)
        want = scipy.special.wofz(x + 1j * y).real
        np.testing.assert_allclose(wr, want, rtol=1e-13, atol=0)
        lead = y * INV_SQRTPI / x**2
        far = x > 30.0
        np.testing.assert_allclose(wr[far], lead[far] * (1 + 1.5 / x[far] ** 2), rtol=1e-5)


@pytest.mark.parametrize("path", PATHS)
def test_a_point_depends_on_itself_only(path):
    # The same bits for a point whatever its neighbours (the two regions share vectors
    # near |z| = 30), its place in the array (vector lanes, the padded tail), the array's
    # length, and whether w' is asked for (voigt_f and voigt_fj agree).
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-40, 40, 301), [29.99, -30.01, 0.0, 1e3, -1e-9]])
    rng.shuffle(x)
    for y in (0.0, 1e-7, 0.5, 6.0, 29.0):
        wr, dwr, dwi = _simd._test_faddeeva_re(x, y, path)
        value_only = _simd._test_faddeeva_re(x, y, path, deriv=False)
        assert np.array_equal(wr, value_only)
        for start in (1, 2, 3, 5):
            for stop in (len(x), len(x) - 1, start + 3):
                part = _simd._test_faddeeva_re(x[start:stop], y, path)
                assert np.array_equal(part[0], wr[start:stop])
                assert np.array_equal(part[1], dwr[start:stop])
                assert np.array_equal(part[2], dwi[start:stop])
        for k in range(len(x)):
            if k % 37 == 0:
                one = _simd._test_faddeeva_re(x[k:k + 1], y, path)
                assert (one[0][0], one[1][0], one[2][0]) == (wr[k], dwr[k], dwi[k])


def test_paths_agree_to_rounding():
    x = np.linspace(-35.0, 35.0, 2001)
    for y in (0.0, 0.01, 2.0, 10.0):
        ref = _simd._test_faddeeva_re(x, y, PATHS[0])
        for path in PATHS[1:]:
            got = _simd._test_faddeeva_re(x, y, path)
            np.testing.assert_allclose(got[0], ref[0], rtol=1e-14, atol=0)
            for g, r in zip(got[1:], ref[1:]):
                np.testing.assert_allclose(g, r, rtol=0, atol=1e-14 * np.abs(r).max())


@pytest.mark.parametrize("path", PATHS)
def test_special_values(path):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, 1.0])
    wr, dwr, dwi = _simd._test_faddeeva_re(x, 0.5, path)
    assert np.isnan(wr[0]) and np.isnan(dwr[0]) and np.isnan(dwi[0])
    assert np.all(wr[1:3] == 0.0) and np.all(dwr[1:3] == 0.0) and np.all(dwi[1:3] == 0.0)
    assert np.all(np.isfinite(wr[3:]))
    for out in _simd._test_faddeeva_re(x, np.nan, path):
        assert np.isnan(out).all()
    assert _simd._test_faddeeva_re([], 1.0, path, deriv=False).shape == (0,)
    # w(i y) = erfcx(y)
    y = np.logspace(-3, 4, 40)
    got = [_simd._test_faddeeva_re([0.0], v, path, deriv=False)[0] for v in y]
    np.testing.assert_allclose(got, scipy.special.erfcx(y), rtol=1e-14)
