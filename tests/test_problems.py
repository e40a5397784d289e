"""Checks of the test problems themselves (tests/problems.py), independent of lmfast.

The analytic Jacobians are compared with central differences, and the MGH problems are
solved with SciPy (the reference) to the minimum sums of squares published by Moré,
Garbow and Hillstrom (1981), which catches a typo in a formula or a data table.
"""

import numpy as np
import problems
import pytest
import scipy.optimize
from helpers import central_differences

# Central differences with the step (eps^(1/3)) * max(1, |x_j|).
REL_STEP = np.cbrt(np.finfo(float).eps)


def assert_jacobian_ok(case, x):
    J = case.jac(x)
    assert J.shape == (case.m, case.n)
    assert J.dtype == np.float64
    Jfd = central_differences(case.fun, x, REL_STEP)
    # Tolerance per column, relative to the column's size and to |f| (rounding in the
    # differences is about eps*|f|/h).
    fscale = np.max(np.abs(case.fun(x)))
    h = REL_STEP * np.maximum(1.0, np.abs(x))
    colscale = np.max(np.abs(J), axis=0)
    tol = 1e-6 * colscale + 1e-9 * fscale / h + 1e-12
    err = np.max(np.abs(J - Jfd), axis=0)
    assert np.all(err <= tol), f"{case.id}: column errors {err} > {tol}"


def test_driver_table():
    assert len(problems.PROBLEMS) == 18
    assert sorted(p.number for p in problems.PROBLEMS.values()) == list(range(1, 19))
    assert len(problems.CASES) == 53
    assert len(problems.CASES_BY_ID) == 53  # ids are unique
    for c in problems.CASES:
        assert c.n <= c.m
        assert c.x0.shape == (c.n,) and c.x0.dtype == np.float64
        assert not c.x0.flags.writeable
        assert c.factor in (1.0, 10.0, 100.0)


@pytest.mark.parametrize("case", problems.CASES, ids=lambda c: c.id)
def test_shapes_at_start(case):
    f = case.fun(case.x0)
    assert f.shape == (case.m,) and f.dtype == np.float64
    assert np.all(np.isfinite(f))
    J = case.jac(case.x0)
    assert J.shape == (case.m, case.n)
    assert np.all(np.isfinite(J))


@pytest.mark.parametrize("case", [c for c in problems.CASES if c.factor == 1.0], ids=lambda c: c.id)
def test_jacobian_central_differences(case):
    rng = np.random.default_rng(case.number * 1000 + case.n)
    x0 = np.array(case.x0)
    assert_jacobian_ok(case, x0)
    # and at two points off the start, where no term is special
    for _ in range(2):
        x = x0 + 0.1 * rng.standard_normal(case.n) * np.maximum(1.0, np.abs(x0))
        assert_jacobian_ok(case, x)


def test_brown_almost_linear_jacobian_with_zero_component():
    case = problems.make_case("brown_almost_linear", 5, 5)
    x = np.array([0.3, 0.0, 1.7, -0.4, 2.0])
    assert_jacobian_ok(case, x)


def test_helical_valley_theta_branches():
    case = problems.make_case("helical_valley", 3, 3)
    # x1 > 0, x1 < 0, and the x2 axis (theta = +-1/4)
    f = case.fun(np.array([1.0, 1.0, 0.0]))
    assert f[0] == pytest.approx(-100.0 * (np.pi / 4) / (2 * np.pi))
    f = case.fun(np.array([-1.0, 1.0, 0.0]))
    assert f[0] == pytest.approx(-100.0 * (np.arctan(-1.0) / (2 * np.pi) + 0.5))
    assert case.fun(np.array([0.0, 2.0, 0.0]))[0] == pytest.approx(-25.0)
    assert case.fun(np.array([0.0, -2.0, 0.0]))[0] == pytest.approx(25.0)


# Minimum sums of squares from Moré, Garbow, Hillstrom (1981), for the minimiser reached
# from the standard starting point (Freudenstein-Roth and Bard have one local minimum
# each; both values are published).
PUBLISHED_SSQ = {
    ("linear_full_rank", 5, 10): 5.0,  # m - n
    ("linear_full_rank", 5, 50): 45.0,
    ("linear_rank1", 5, 10): 10 * 9 / (2 * 21),  # m(m-1) / (2(2m+1))
    ("linear_rank1", 5, 50): 50 * 49 / (2 * 101),
    ("linear_rank1_zero", 5, 10): (100 + 30 - 6) / (2 * 17),  # (m^2+3m-6) / (2(2m-3))
    ("linear_rank1_zero", 5, 50): (2500 + 150 - 6) / (2 * 97),
    ("rosenbrock", 2, 2): 0.0,
    ("helical_valley", 3, 3): 0.0,
    ("powell_singular", 4, 4): 0.0,
    ("freudenstein_roth", 2, 2): 48.9842,
    ("bard", 3, 15): 8.21487e-3,
    ("kowalik_osborne", 4, 11): 3.07505e-4,
    ("meyer", 3, 16): 87.9458,
    ("watson", 6, 31): 2.28767e-3,
    ("watson", 9, 31): 1.39976e-6,
    ("watson", 12, 31): 4.72238e-10,
    ("box3d", 3, 10): 0.0,
    ("jennrich_sampson", 2, 10): 124.362,
    ("brown_dennis", 4, 20): 85822.2,
    ("chebyquad", 8, 8): 3.51687e-3,
    ("chebyquad", 9, 9): 0.0,
    ("chebyquad", 10, 10): 6.50395e-3,
    ("brown_almost_linear", 10, 10): 0.0,
    ("brown_almost_linear", 30, 30): 0.0,
    ("brown_almost_linear", 40, 40): 0.0,
    ("osborne1", 5, 33): 5.46489e-5,
    ("osborne2", 11, 65): 4.01377e-2,
}


@pytest.mark.parametrize("key", sorted(PUBLISHED_SSQ), ids=lambda k: f"{k[0]}-n{k[1]}-m{k[2]}")
def test_published_minimum_reached_by_scipy(key):
    name, n, m = key
    case = problems.make_case(name, n, m)
    # full_output: no warning for Powell's singular function, which ends with ier=8 at 0
    x = scipy.optimize.leastsq(case.fun, case.x0, Dfun=case.jac, full_output=True)[0]
    f = case.fun(x)
    ssq = float(f @ f)
    expected = PUBLISHED_SSQ[key]
    if expected == 0.0:
        assert ssq < 1e-20
    else:
        assert ssq == pytest.approx(expected, rel=2e-5)


def condition_number(J):
    s = np.linalg.svd(J, compute_uv=False)
    return s[0] / s[-1] if s[-1] > 0 else np.inf


@pytest.mark.parametrize("case_id", sorted(problems.SINGULAR_CASES))
def test_singular_cases_are_ill_conditioned(case_id):
    """problems.SINGULAR_CASES (where the leastsq tests let lmfast end elsewhere than
    SciPy) lists only cases whose Jacobian is numerically singular at the start or at
    the point SciPy's forward-difference leastsq reaches."""
    case = problems.CASES_BY_ID[case_id]
    x = scipy.optimize.leastsq(case.fun, case.x0, full_output=True)[0]
    worst = max(condition_number(case.jac(np.array(case.x0))), condition_number(case.jac(x)))
    assert worst > 1e10, f"{case_id}: condition number {worst:.3g}"
