"""The vector Faddeeva kernel of the fast-kernel tables (faddeeva_re, lmfast/src/
simd_faddeeva.inc), on every instruction set this CPU runs: Re w, w' and Re (z w)' against
the scalar w of lmfast/_faddeeva.pyx, scipy.special.wofz, the asymptotic series and a
40-digit continued fraction, exp(-x^2) on the real axis to the last bit, and results that depend on a point alone (not on its neighbours, the array's length
or position, or whether w' is asked for).  Then the Voigt profile built on it: against
scipy.special.voigt_profile, its Jacobian against the scalar formula and against central
differences, and voigt_fj against voigt_f and voigt_jac.
"""

from decimal import Decimal, getcontext

import numpy as np
import pytest
import scipy.special

from lmfast import _faddeeva, _lineshapes, _models, _simd

PATHS = _simd.simd_paths()
XS = np.concatenate([-np.logspace(-6, 6, 241)[::-1], [0.0], np.logspace(-6, 6, 241)])
YS = np.concatenate([[0.0], np.logspace(-8, 4, 121)])
INV_SQRTPI = 1.0 / np.sqrt(np.pi)


@pytest.mark.parametrize("path", PATHS)
def test_re_w_against_the_scalar_w_and_wofz(path):
    # Measured: 5.5e-14, all of it the others' exp(-x^2) near x = 25 on the real axis
    # (the kernel's is correctly rounded there, see below); below 2e-15 elsewhere.
    for y in YS:
        wr = _simd._test_faddeeva_re(XS, y, path)[0]
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
        _, dwr, dwi, _ = _simd._test_faddeeva_re(XS, y, path)
        _, _, dre, dim = _faddeeva._test_faddeeva(XS, y)
        np.testing.assert_allclose(dwr, dre, rtol=0, atol=1e-13 * np.abs(dre).max())
        np.testing.assert_allclose(dwi, dim, rtol=0, atol=1e-13 * np.abs(dim).max())


@pytest.mark.parametrize("path", PATHS)
def test_derivative_is_minus_2zw_plus_2i_over_sqrtpi(path):
    # The identity for |z| < 5 with SciPy's w; the reference cancels (Im w' is 2i/sqrt(pi)
    # minus a term of that size), so the bound scales with the terms, not with w'.
    x = np.linspace(-5.0, 5.0, 401)
    for y in (0.0, 1e-3, 0.3, 1.0, 3.0):
        _, dwr, dwi, _ = _simd._test_faddeeva_re(x, y, path)
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
        full = _simd._test_faddeeva_re(x, y, path)
        value_only = _simd._test_faddeeva_re(x, y, path, deriv=False)
        assert np.array_equal(full[0], value_only)
        for start in (1, 2, 3, 5):
            for stop in (len(x), len(x) - 1, start + 3):
                part = _simd._test_faddeeva_re(x[start:stop], y, path)
                for got, want in zip(part, full):
                    assert np.array_equal(got, want[start:stop])
        for k in range(0, len(x), 37):
            one = _simd._test_faddeeva_re(x[k:k + 1], y, path)
            assert [o[0] for o in one] == [f[k] for f in full]


def series_dzw(z, terms=30):
    """Re (z w)'(z) for |z| >= 30 from the asymptotic series, in complex arithmetic:
    (z w)' = -2i u P(u) / (sqrt(pi) z),  u = 1/(2 z^2),  P = sum_k (k + 1)(2k + 1)!! u^k."""
    u = 1.0 / (2.0 * z * z)
    total, term = np.zeros_like(z), np.ones_like(z)
    for k in range(terms):
        total = total + (k + 1) * term
        term = term * (2 * k + 3) * u
    return (-2j * u * total / (np.sqrt(np.pi) * z)).real


def w_continued_fraction(x, y, depth=200):
    """(Re w, w', Re (z w)') at x + i y, y >= 6, in 40-digit decimal arithmetic from the
    Laplace continued fraction w(z) = (i / sqrt(pi)) / (z - (1/2) / (z - 1 / (z - (3/2) /
    (z - ...)))); then w' = 2i / sqrt(pi) - 2 z w and (z w)' = w + z w' without
    cancellation at this precision.  (For y >= 6 depth 200 converges far beyond double.)"""
    getcontext().prec = 40
    inv_sqrtpi = 1 / Decimal("3.14159265358979323846264338327950288").sqrt()

    def div(ar, ai, br, bi):
        d = br * br + bi * bi
        return (ar * br + ai * bi) / d, (ai * br - ar * bi) / d

    out = []
    for xv in np.atleast_1d(x):
        zr, zi = Decimal(float(xv)), Decimal(float(y))
        tr, ti = zr, zi
        for k in range(depth, 0, -1):
            qr, qi = div(Decimal(k) / 2, Decimal(0), tr, ti)
            tr, ti = zr - qr, zi - qi
        rr, ri = div(Decimal(1), Decimal(0), tr, ti)
        wr, wi = -ri * inv_sqrtpi, rr * inv_sqrtpi
        dr = -2 * (zr * wr - zi * wi)
        di = 2 * inv_sqrtpi - 2 * (zr * wi + zi * wr)
        g = wr + zr * dr - zi * di
        out.append((float(wr), float(dr), float(di), float(g)))
    return tuple(np.array(c) for c in zip(*out))


@pytest.mark.parametrize("path", PATHS)
def test_against_a_continued_fraction_in_40_digits(path):
    # Far from the real axis, where w + z w' cancels most.  Measured: Re w 9e-16
    # relative, w' 8e-16 of its largest value along the line, Re (z w)' 3e-15 (y >= 2 pi,
    # from the rule's own w'') and 4e-14 (y = 6.2, from w + z w').
    x = np.linspace(-40.0, 40.0, 41)
    for y in (5.0, 6.2, 6.5, 12.0, 29.5):
        want = w_continued_fraction(x, y, depth=400)
        got = _simd._test_faddeeva_re(x, y, path)
        np.testing.assert_allclose(got[0], want[0], rtol=4e-15, atol=0)
        for g, w in zip(got[1:3], want[1:3]):
            np.testing.assert_allclose(g, w, rtol=0, atol=4e-15 * np.abs(w).max())
        np.testing.assert_allclose(got[3], want[3], rtol=0, atol=1e-13 * np.abs(want[3]).max())


@pytest.mark.parametrize("path", PATHS)
def test_re_of_zw_derivative(path):
    # Re (z w)' = Re(w + z w'): against the sum from the scalar w where it cancels by less
    # than |z|^2 < 100, and against the series (no cancellation) for |z| >= 30, where the
    # sum w + z w' loses |z|^2: e.g. the Voigt profile's d/dsigma at sigma << gamma.
    x = np.concatenate([-np.logspace(-3, 5, 161)[::-1], [0.0], np.logspace(-3, 5, 161)])
    for y in (0.0, 1e-6, 0.2, 3.0, 9.0, 29.0, 40.0, 700.0, 1e4):
        _, _, _, dzw = _simd._test_faddeeva_re(x, y, path)
        re, _, dre, dim = _faddeeva._test_faddeeva(x, y)
        near = np.hypot(x, y) < 10.0
        far = np.hypot(x, y) >= 30.0
        want = re + x * dre - y * dim
        scale = np.abs(re) + np.abs(x * dre) + np.abs(y * dim)
        assert np.all(np.abs(dzw - want)[near] <= 1e-14 * scale[near]), y
        np.testing.assert_allclose(dzw[far], series_dzw(x[far] + 1j * y), rtol=1e-13, atol=0)


def test_paths_agree_to_rounding():
    x = np.linspace(-35.0, 35.0, 2001)
    for y in (0.0, 0.01, 2.0, 10.0):
        ref = _simd._test_faddeeva_re(x, y, PATHS[0])
        for path in PATHS[1:]:
            got = _simd._test_faddeeva_re(x, y, path)
            np.testing.assert_allclose(got[0], ref[0], rtol=1e-14, atol=0)
            for g, r in zip(got[1:3], ref[1:3]):
                np.testing.assert_allclose(g, r, rtol=0, atol=1e-14 * np.abs(r).max())
            # Re (z w)' = w + z w' for |z| < 30 cancels by up to |z|^2
            np.testing.assert_allclose(got[3], ref[3], rtol=0, atol=1e-13 * np.abs(ref[3]).max())


@pytest.mark.parametrize("path", PATHS)
def test_special_values(path):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, 1.0])
    out = np.array(_simd._test_faddeeva_re(x, 0.5, path))
    assert np.isnan(out[:, 0]).all() and np.all(out[:, 1:3] == 0.0)
    assert np.isfinite(out[:, 3:]).all()
    for out in _simd._test_faddeeva_re(x, np.nan, path):
        assert np.isnan(out).all()
    assert _simd._test_faddeeva_re([], 1.0, path, deriv=False).shape == (0,)
    # w(i y) = erfcx(y)
    y = np.logspace(-3, 4, 40)
    got = [_simd._test_faddeeva_re([0.0], v, path, deriv=False)[0] for v in y]
    np.testing.assert_allclose(got, scipy.special.erfcx(y), rtol=1e-14)


# --------------------------------------------------------------------------------------
# The Voigt profile on the kernel (lmfast/_lineshapes.pyx: voigt_f, voigt_jac, voigt_fj)
# --------------------------------------------------------------------------------------

SQRT2 = 1.4142135623730951
SQRT2PI = 2.5066282746310002


@pytest.fixture(params=PATHS)
def active_path(request):
    """Make each instruction set the active one in turn (the lineshapes use the active)."""
    old = _simd.simd_path()
    _simd.set_simd_path(request.param)
    yield request.param
    _simd.set_simd_path(old)


def voigt(p, x, jac=False):
    return _models._test_eval("lineshapes.voigt", np.array(p, dtype=float), x, jac)


def scalar_voigt(p, x, accurate_dzw=False):
    """The profile and its Jacobian from the scalar w (the formulas of the kernel before
    the vector one), in the same order of operations; with accurate_dzw, d/dsigma's
    Re (z w)' = U + U' zx - V' zy (which cancels by |z|^2) from the series where
    |z| >= 30 and from the 40-digit continued fraction where zy >= 5 inside."""
    a, c, s, g = p
    s2, den = s * SQRT2, s * SQRT2PI
    k, zy = 1.0 / den, g / s2
    zx = (x - c) / s2
    wr, _, dr, di = _faddeeva._test_faddeeva(zx, np.full_like(zx, zy))
    dzw = wr + dr * zx - di * zy
    if accurate_dzw:
        far = np.hypot(zx, zy) >= 30.0
        dzw[far] = series_dzw(zx[far] + 1j * zy)
        if zy >= 5.0 and not far.all():
            dzw[~far] = w_continued_fraction(zx[~far], zy)[3]
    ak = a * k
    jac = np.column_stack([k * wr, -(ak * dr / s2), -(ak * dzw / s), -(ak * di / s2)])
    return a * wr / den, jac


def test_voigt_against_scipy_voigt_profile_over_widths_tails_and_gamma_zero(active_path):
    # gamma / sigma from 0 and 1e-6 to 1e6, |x - center| up to 1e4 times the larger
    # width, wherever the profile exceeds 1e-300.  Within 1e-13 (measured 2e-14) where
    # the profile's condition number in z, cond = |zx U'(zx) / U(zx)|, is below 100;
    # beyond (the Gaussian-dominated tails, gamma / sigma <~ 1e-6, > 7 widths) the rounding
    # of zx = (x - c) / (sigma sqrt 2), in lmfast and in SciPy alike, is amplified by cond
    # (measured 2.3e-13 at cond = 1100, x = 33 sigma, gamma = 0; each side is within 2.2e-13
    # of the exact profile there, the kernel itself within 1 ulp of exp(-zx^2)).
    u = np.concatenate([-np.logspace(-4, 4, 321)[::-1], [0.0], np.logspace(-4, 4, 321)])
    for sigma in (1e-3, 1e-2, 1.0, 30.0, 1e3):
        for ratio in np.concatenate([[0.0], np.logspace(-6, 6, 25)]):
            gamma = sigma * ratio
            x = 0.25 + u * max(sigma, gamma)
            got = voigt((1.0, 0.25, sigma, gamma), x)
            want = scipy.special.voigt_profile(x - 0.25, sigma, gamma)
            ok = want > 1e-300
            zx = (x[ok] - 0.25) / (sigma * SQRT2)
            re, _, dre, _ = _faddeeva._test_faddeeva(zx, gamma / (sigma * SQRT2))
            cond = np.abs(zx * dre / re)
            rel = np.abs(got[ok] / want[ok] - 1.0)
            msg = f"sigma={sigma}, gamma={gamma}"
            assert np.all(rel[cond < 100] <= 1e-13), msg
            assert np.all(rel <= 1e-13 + 2.5e-16 * cond), msg
            assert np.all(got[~ok] < 1e-290), msg


def test_voigt_jacobian_against_the_scalar_formula(active_path):
    # Column by column, relative to the column's largest entry.  Measured 6e-15.  The
    # reference's d/dsigma takes Re (z w)' from the series or the continued fraction
    # where the scalar formula's sum cancels (it is off by 5e-13 of the column at
    # gamma = 40 sigma and by 1e-9 at gamma = 2000 sigma).
    x = np.concatenate([np.linspace(-60.0, 60.0, 2401), [1e3, -1e4]])
    for p in [(2.5, 0.3, 1.7, 0.4), (1.0, -2.0, 0.05, 3.0), (1.0, 0.0, 1.0, 1e-3),
              (3.0, 1.0, 2.0, 0.0), (1.0, 0.5, 0.3, 20.0), (0.7, -1.0, 1.0, 1e-9),
              (1.0, 0.0, 1e-3, 1.0), (2.0, 0.0, 5.0, 1e4), (1.0, 0.0, 1.0, 40.0),
              (1.0, 2.0, 1.0, 9.0)]:
        got = voigt(p, x, jac=True)[1]
        want = scalar_voigt(p, x, accurate_dzw=True)[1]
        scale = np.abs(want).max(axis=0)
        assert np.all(np.abs(got - want) <= 1e-13 * scale), (p, (np.abs(got - want)
                                                                / scale).max(axis=0))


def test_voigt_jacobian_against_central_differences_of_scipy(active_path):
    # d/d(amplitude, center, sigma, gamma) of amplitude * voigt_profile(x - center, sigma,
    # gamma), by central differences with steps 1e-5 of each parameter's scale.
    x = np.linspace(-15.0, 15.0, 601)

    def profile(q):
        return q[0] * scipy.special.voigt_profile(x - q[1], q[2], q[3])

    for p in [(2.5, 0.3, 1.7, 0.4), (1.0, -2.0, 0.5, 3.0), (1.0, 0.0, 1.0, 1e-3),
              (1.5, 1.0, 2.0, 0.0), (1.0, 0.5, 0.3, 5.0)]:
        jac = voigt(p, x, jac=True)[1]
        for j in range(4):
            h = 1e-5 * max(abs(p[j]), p[2])
            up, down = np.array(p, dtype=float), np.array(p, dtype=float)
            up[j] += h
            down[j] -= h
            if j == 3 and p[3] == 0.0:   # one-sided at gamma = 0 (gamma < 0 differs)
                fd = (profile(up) - profile(p)) / h
                tol = 1e-4
            else:
                fd = (profile(up) - profile(down)) / (2 * h)
                tol = 1e-8
            scale = np.abs(jac[:, j]).max()
            assert np.all(np.abs(jac[:, j] - fd) <= tol * scale), (p, j)


def test_voigt_fj_is_voigt_f_and_voigt_jac_bit_for_bit(active_path):
    # One evaluation gives the value of voigt_f and the Jacobian of voigt_jac exactly,
    # for any length (the Jacobian goes through chunks of 256 points), on the vector
    # kernel and on the scalar one (gamma < 0).
    rng = np.random.default_rng(9)
    for m in (1, 3, 255, 256, 257, 1000):
        x = np.sort(rng.uniform(-50.0, 50.0, m))
        for p in [(2.0, 0.3, 1.2, 0.7), (1.0, 0.0, 1.0, 0.0), (1.0, -1.0, 0.5, -0.2),
                  (1.0, 0.0, 0.1, 40.0)]:
            f, jac = _lineshapes._test_voigt_fj(p, x)
            f_alone, jac_alone = voigt(p, x, jac=True)
            assert np.array_equal(f, f_alone) and np.array_equal(jac, jac_alone)


def test_voigt_with_gamma_and_sigma_of_opposite_signs_keeps_the_scalar_w():
    # zy < 0: the vector kernel takes Im z >= 0 only; these go through the scalar w
    # (w(z) = 2 exp(-z^2) - w(-z)), exactly as before.
    x = np.linspace(-5.0, 5.0, 101)
    for p in [(1.0, 0.0, 1.0, -0.3), (2.0, 0.5, -1.0, 0.4)]:
        f, jac = voigt(p, x, jac=True)
        want_f, want_jac = scalar_voigt(p, x)
        assert np.array_equal(f, want_f) and np.array_equal(jac, want_jac)


def test_voigt_special_values(active_path):
    x = np.array([np.nan, np.inf, -np.inf, 0.0])
    f, jac = voigt((1.0, 0.0, 1.0, 0.5), x, jac=True)
    assert np.isnan(f[0]) and np.isnan(jac[0]).all()
    # at x = +-inf, d/dsigma has U' zx = 0 * inf (NaN), as the scalar formula had
    assert np.all(f[1:3] == 0.0) and np.all(jac[1:3][:, [0, 1, 3]] == 0.0) and f[3] > 0.0
    assert np.isnan(voigt((1.0, 0.0, 1.0, np.nan), x)).all()
