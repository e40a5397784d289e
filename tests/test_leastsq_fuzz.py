"""Fuzz: lmfast.leastsq and scipy.optimize.leastsq on odd inputs (issue 17, item 9).

``test_leastsq_hypothesis.py`` draws odd argument types and shapes around well-behaved
functions; this module draws odd *values*: x0 holding NaN, inf, 0, huge or subnormal
entries, residual vectors with m = 0 or m < n, functions that return NaN or inf at x0,
at one later point, from some point on or outside a ball, that return None, a scalar or
nothing, that raise; Jacobians that are scalars, 1-D, None, NaN at some point, or raise.

Events are tied to evaluation *points*, never to call counts: at x0 SciPy calls func
twice more and Dfun once more than lmfast (a documented difference), so "the k-th call"
is not the same point in both.  Points are compared with NaN equal to NaN, so
that a NaN x0 (where every call is at "the same" point) is not counted as many points.

Each draw runs SciPy and lmfast; the outcomes must agree: the same exception class (the
same object for the user's exception), or the same ier, nfev and message, and x equal
to rounding (NaN for NaN).  The example count defaults to 120, derandomized; set
LMFAST_FUZZ_EXAMPLES=2000 LMFAST_FUZZ_RANDOM=1 to explore further.

The differences the first fuzzing run reported are pinned below, each against SciPy:
(b), a scalar Jacobian, and the NaN trial point of a subnormal start found while
looking into (a) were lmfast's to fix; the reports of (a), (c) and (d) themselves came
from counting calls, and agree once events are tied to points.
"""

import os

import numpy as np
import pytest
from helpers import (
    run_outcome,
    run_side_by_side,
    same_exception_type,
    side_by_side_settings,
    x_match,
)
from hypothesis import given
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("LMFAST_FUZZ_EXAMPLES", "120"))
RANDOM = os.environ.get("LMFAST_FUZZ_RANDOM", "") not in ("", "0")


class UserError(Exception):
    pass


def assert_same(o_sp, o_lm, user_errors=()):
    """The same exception class (the same object for the user's own), or the same
    ier, nfev, message and x; warnings from leastsq itself alike."""
    if o_sp.raised:
        assert o_lm.raised, f"SciPy {o_sp.describe()}; lmfast {o_lm.describe()}"
        assert same_exception_type(o_lm.exc, o_sp.exc), (
            f"SciPy {o_sp.describe()}; lmfast {o_lm.describe()}"
        )
        if isinstance(o_sp.exc, UserError):
            assert o_lm.exc in user_errors
            assert str(o_lm.exc) == str(o_sp.exc)
        return
    assert not o_lm.raised, f"SciPy {o_sp.describe()}; lmfast {o_lm.describe()}"
    assert len(o_lm.value) == len(o_sp.value)
    assert o_lm.ier == o_sp.ier, f"SciPy {o_sp.describe()}; lmfast {o_lm.describe()}"
    assert x_match(o_lm.x, o_sp.x), (o_lm.x, o_sp.x)
    if len(o_sp.value) == 5:
        assert o_lm.value[3] == o_sp.value[3]
        assert o_lm.infodict["nfev"] == o_sp.infodict["nfev"]
    here = run_outcome.__code__.co_filename
    assert [(c, t) for c, t, f in o_lm.warnings if f == here] == [
        (c, t) for c, t, f in o_sp.warnings if f == here
    ]


# --------------------------------------------------------------------------------------
# The property
# --------------------------------------------------------------------------------------

SPECIAL_X0 = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "zero": 0.0, "huge": 1e300,
              "subnormal": 1e-310}  # fmt: skip
FUNC_KINDS = [
    "smooth", "smooth", "nan_x0", "inf_x0", "nan_at_k", "inf_at_k", "nan_from_k",
    "allnan_from_k", "nan_outside", "none_from_k", "scalar", "empty", "raise_at_k",
]  # fmt: skip
JAC_KINDS = [
    "none", "none", "exact", "exact_col", "scalar", "none_value", "flat", "nan_at_k",
    "nan_from_k", "raise_at_k",
]  # fmt: skip


@st.composite
def scenarios(draw):
    s = {}
    n = draw(st.integers(0, 3))
    s["n"] = n
    s["m"] = max(n + draw(st.sampled_from([-1, 0, 0, 1, 1, 3])), 0)
    s["x0"] = draw(st.lists(st.floats(-3, 3), min_size=n, max_size=n))
    if n and draw(st.integers(0, 2)) == 0:
        s["x0"][draw(st.integers(0, n - 1))] = SPECIAL_X0[
            draw(st.sampled_from(sorted(SPECIAL_X0)))
        ]
    s["model"] = draw(st.sampled_from(["linear", "exp", "square"]))
    s["func"] = draw(st.sampled_from(FUNC_KINDS))
    s["jac"] = draw(st.sampled_from(JAC_KINDS))
    s["k"] = draw(st.integers(2, 12))  # the k-th distinct point (1 is x0)
    s["bad"] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    s["radius"] = draw(st.floats(0.5, 4.0))
    s["seed"] = draw(st.integers(0, 2**32 - 1))
    kw = {"full_output": draw(st.booleans())}
    for tol in ("ftol", "xtol", "gtol"):
        v = draw(st.sampled_from([None, None, None, 0.0, 1e-4, 0.5]))
        if v is not None:
            kw[tol] = v
    maxfev = draw(st.sampled_from([None, None, 1, 5, 30]))
    if maxfev is not None:
        kw["maxfev"] = maxfev
    s["kwargs"] = kw
    return s


class Callbacks:
    """func and Dfun of one run; events keyed to distinct evaluation points."""

    def __init__(self, s):
        self.s = s
        n, m = s["n"], s["m"]
        rng = np.random.default_rng(s["seed"])
        self.A = rng.uniform(-2.0, 2.0, (m, n))
        self.b = rng.uniform(-2.0, 2.0, m)
        self.points = []
        self.jac_points = []
        self.raised = []

    @staticmethod
    def _index(points, x):
        x = np.array(x, dtype=float)
        for i, p in enumerate(points):
            if p.shape == x.shape and np.array_equal(p, x, equal_nan=True):
                return i + 1
        points.append(x)
        return len(points)

    def _raise(self, what):
        self.raised.append(UserError(what))
        raise self.raised[-1]

    def _base(self, x):
        model = self.s["model"]
        if model == "exp":
            return self.A @ np.exp(-0.3 * x) - self.b
        if model == "square":
            return self.A @ (x * x) - self.b
        return self.A @ x - self.b

    def _dbase(self, x):
        model = self.s["model"]
        if model == "exp":
            return self.A * (-0.3 * np.exp(-0.3 * x))
        if model == "square":
            return self.A * (2.0 * x)
        return self.A.copy()

    def func(self, x):
        x = np.asarray(x, dtype=float)
        i = self._index(self.points, x)
        kind, k, m = self.s["func"], self.s["k"], self.s["m"]
        r = self._base(x)
        if kind == "raise_at_k" and i == k:
            self._raise(f"func at point {k}")
        if m and (
            (kind == "nan_x0" and i == 1)
            or (kind in ("nan_at_k", "inf_at_k") and i == k)
            or (kind == "nan_from_k" and i >= k)
            or (kind == "nan_outside" and np.sqrt(np.sum(x * x)) > self.s["radius"])
        ):
            r = r.copy()
            r[0] = np.inf if kind == "inf_at_k" else self.s["bad"]
        if kind == "inf_x0" and i == 1 and m:
            r = r.copy()
            r[-1] = -np.inf
        if kind == "allnan_from_k" and i >= k:
            r = np.full(m, np.nan)
        if kind == "none_from_k" and i >= k:
            return None
        if kind == "scalar":
            return r[0] if m else 0.0
        if kind == "empty":
            return np.empty(0)
        return r

    def jac(self, x):
        x = np.asarray(x, dtype=float)
        i = self._index(self.jac_points, x)
        kind, k = self.s["jac"], self.s["k"]
        if kind == "raise_at_k" and i == k:
            self._raise(f"Dfun at point {k}")
        J = self._dbase(x)
        hit = i == k or (kind == "nan_from_k" and i > k)
        if kind in ("nan_at_k", "nan_from_k") and J.size and hit:
            J = J.copy()
            J.flat[0] = self.s["bad"]
        if kind == "exact_col":
            return J.T
        if kind == "scalar":
            return 1.0
        if kind == "none_value":
            return None
        if kind == "flat":
            return J.ravel()
        return J


def run(leastsq, s):
    cb = Callbacks(s)
    kw = dict(s["kwargs"])
    if s["jac"] != "none":
        kw["Dfun"] = cb.jac
        kw["col_deriv"] = s["jac"] == "exact_col"
    with np.errstate(all="ignore"):
        out = run_outcome(leastsq, cb.func, np.array(s["x0"], dtype=float), **kw)
    return out, cb


@side_by_side_settings(EXAMPLES, RANDOM)
@given(s=scenarios())
def test_odd_values_agree_with_scipy(s, sp, lm):
    o_sp, o_lm, cb = run_side_by_side(run, s, sp, lm)
    assert_same(o_sp, o_lm, cb.raised)


# --------------------------------------------------------------------------------------
# The differences of the first fuzzing run (issue 17, item 9), each against SciPy
# --------------------------------------------------------------------------------------


def _both(sp, lm, fun_factory, x0, **kw):
    """Run SciPy and lmfast, each with fresh callbacks from ``fun_factory()``, which
    returns (func, Dfun or None, record); ``record`` collects what the callbacks saw."""
    outcomes, records = [], []
    for leastsq in (sp, lm):
        func, jac, record = fun_factory()
        kwargs = dict(kw)
        if jac is not None:
            kwargs["Dfun"] = jac
        with np.errstate(all="ignore"):
            outcomes.append(run_outcome(leastsq, func, np.array(x0, dtype=float), **kwargs))
        records.append(record)
    return outcomes, records


def _point_index(points, x):
    """1-based index of x among the distinct points seen so far (NaN equal to NaN)."""
    x = np.array(x, dtype=float)
    for i, p in enumerate(points):
        if np.array_equal(p, x, equal_nan=True):
            return i + 1
    points.append(x)
    return len(points)


# (a) NaN appearing mid-fit -----------------------------------------------------------

_A = np.array([[0.64, -1.79], [0.80, 0.04], [1.71, 1.37]])
_B = np.array([-0.035, 0.537, -0.131])


def _squares():
    seen = {"points": [], "nonfinite": 0}

    def func(x):
        seen["points"].append(np.array(x))
        seen["nonfinite"] += int(not np.all(np.isfinite(x)))
        return _A @ (x * x) - _B

    def jac(x):
        return _A * (2.0 * x)

    return func, jac, seen


@pytest.mark.parametrize(
    ("x0", "diag"),
    [
        ([4.26e-321, -7.86e-321], [82.86, 82.17]),
        ([4.26e-321, -7.86e-321], [1.0, 1.0]),
        ([1e-320, 1e-320], [82.86, 82.17]),
        ([1e-320, 1e-320], [1.0, 1.0]),
        ([3e-310, -2e-310], [82.86, 82.17]),
    ],
)
@pytest.mark.parametrize("full_output", [False, True])
def test_nan_trial_point_mid_fit(sp, lm, x0, diag, full_output):
    # A subnormal start: J = 2 A diag(x) is subnormal, the Gauss-Newton step overflows
    # and the first trial point is NaN (lmpar's par is NaN).  That step is rejected; the
    # next lmpar call restarts par from its bounds (the published max/min ignore a NaN),
    # the next trial point is finite and the fit converges, as in SciPy (ier 1, nfev 3).
    # lmfast used to keep the NaN par: NaN trial points until maxfev (ier 5).
    (o_sp, o_lm), (s_sp, s_lm) = _both(sp, lm, _squares, x0, diag=diag,
                                       full_output=full_output)
    assert s_sp["nonfinite"] > 0 and s_lm["nonfinite"] > 0  # NaN did appear mid-fit
    assert not o_sp.raised and o_sp.ier == 1
    assert_same(o_sp, o_lm)


def _nan_from(k, jac):
    # NaN in one residual from the k-th distinct point on (x0 is point 1)
    seen = {"points": []}

    def func(x):
        r = _A @ np.exp(-0.3 * x) - _B
        if _point_index(seen["points"], x) >= k:
            r = r.copy()
            r[0] = np.nan
        return r

    def dfun(x):
        return _A * (-0.3 * np.exp(-0.3 * x))

    return func, dfun if jac else None, seen


@pytest.mark.parametrize("k", range(2, 12))
@pytest.mark.parametrize("jac", [False, True])
def test_nan_from_the_kth_point_on(sp, lm, k, jac):
    # The reported ier 2 (lmfast) / ier 4 (SciPy) came from counting calls: SciPy calls
    # func twice more at x0, so its k-th call is another point (README, "Differences").
    # Tied to points, the outcomes are SciPy's.
    (o_sp, o_lm), _ = _both(sp, lm, lambda: _nan_from(k, jac), [-0.6, 1.7], full_output=True)
    assert_same(o_sp, o_lm)


# (b) a scalar Jacobian ---------------------------------------------------------------

SCALAR_JACOBIANS = {
    "float": lambda x: 1.0,
    "numpy-scalar": lambda x: np.float64(1.0),
    "0-d-array": lambda x: np.array(1.0),
    "None": lambda x: None,
}


@pytest.mark.parametrize("value", SCALAR_JACOBIANS)
@pytest.mark.parametrize("m", [1, 3])
@pytest.mark.parametrize("col_deriv", [False, True])
@pytest.mark.parametrize("full_output", [False, True])
def test_scalar_dfun_result_is_minpack_error(sp, lm, value, m, col_deriv, full_output, capfd):
    # SciPy reads Dfun's result as an array of 1 or 2 dimensions: a scalar is refused
    # with its minpack error even for one parameter and one residual (lmfast raised
    # ValueError, "changed size", or, for m = 1, returned ier 4).
    def factory():
        return (lambda x: np.array([x[0] - 1.0, x[0], 2.0 * x[0]])[:m],
                SCALAR_JACOBIANS[value], None)

    (o_sp, o_lm), _ = _both(sp, lm, factory, [0.5], col_deriv=col_deriv,
                            full_output=full_output)
    capfd.readouterr()  # SciPy prints the conversion error
    assert o_sp.raised and type(o_sp.exc).__name__ == "error"
    assert type(o_lm.exc).__name__ == "MinpackError"
    assert_same(o_sp, o_lm)
    assert str(o_lm.exc) == str(o_sp.exc)


@pytest.mark.parametrize("m", [1, 3])
def test_scalar_dfun_result_at_a_later_point(sp, lm, m, capfd):
    def factory():
        seen = {"points": []}

        def jac(x):
            if _point_index(seen["points"], x) >= 2:
                return 1.0
            return np.array([[1.0], [1.0], [2.0]])[:m]

        return lambda x: np.array([x[0] - 1.0, x[0], 2.0 * x[0]])[:m], jac, seen

    (o_sp, o_lm), _ = _both(sp, lm, factory, [0.5], full_output=True)
    capfd.readouterr()
    assert o_sp.raised
    assert_same(o_sp, o_lm)
    assert str(o_lm.exc) == str(o_sp.exc)


# (c) m = 0 residuals with n = 1 ------------------------------------------------------

EMPTY_RESULTS = {
    "array": lambda x: np.empty(0),
    "list": lambda x: [],
    "tuple": lambda x: (),
    "0-by-1": lambda x: np.empty((0, 1)),
}


@pytest.mark.parametrize("result", EMPTY_RESULTS)
@pytest.mark.parametrize("with_jac", [False, True])
@pytest.mark.parametrize("full_output", [False, True])
def test_no_residuals_one_parameter(sp, lm, result, with_jac, full_output):
    def factory():
        return EMPTY_RESULTS[result], (lambda x: np.empty((0, 1))) if with_jac else None, None

    (o_sp, o_lm), _ = _both(sp, lm, factory, [1.0], full_output=full_output)
    assert isinstance(o_sp.exc, TypeError)
    assert_same(o_sp, o_lm)
    assert str(o_lm.exc) == str(o_sp.exc)


@pytest.mark.parametrize("k", range(2, 16))
@pytest.mark.parametrize("full_output", [False, True])
def test_residuals_vanish_from_the_kth_point_on(sp, lm, k, full_output):
    # The reported case (ier 2 in lmfast, SciPy raising) counted calls: the 14th call of
    # func exists in SciPy (two more calls at x0) but not in lmfast.  Tied to points:
    def factory():
        seen = {"points": []}

        def func(x):
            if _point_index(seen["points"], x) >= k:
                return np.empty(0)
            return np.array([np.exp(x[0]) - 2.0])

        return func, None, seen

    (o_sp, o_lm), _ = _both(sp, lm, factory, [0.0], full_output=full_output)
    assert_same(o_sp, o_lm)


# (d) NaN x0 and a Dfun that raises ---------------------------------------------------


@pytest.mark.parametrize("x0", [[np.nan], [np.nan, 1.0], [0.5], [np.inf, 0.0]])
@pytest.mark.parametrize("where", [1, 2])
@pytest.mark.parametrize("full_output", [False, True])
def test_dfun_raises_with_nonfinite_x0(sp, lm, x0, where, full_output):
    # Dfun raises at the `where`-th distinct point: with NaN in x0 (func NaN there, the
    # fit stops with ier 4 after the first Jacobian) that is at x0 or never.
    def factory():
        seen = {"points": [], "raised": []}

        def func(x):
            return np.concatenate([x - 1.0, [0.5]])

        def jac(x):
            if _point_index(seen["points"], x) == where:
                seen["raised"].append(UserError(f"Dfun at point {where}"))
                raise seen["raised"][-1]
            return np.vstack([np.eye(len(x)), np.zeros((1, len(x)))])

        return func, jac, seen

    (o_sp, o_lm), (_, s_lm) = _both(sp, lm, factory, x0, full_output=full_output)
    assert_same(o_sp, o_lm, s_lm["raised"])


# The documented difference behind the reports of (a), (c) and (d) -------------------


def test_calls_at_x0(sp, lm):
    # README, "Differences from SciPy, on purpose": at a float64 x0 SciPy calls func three
    # times and Dfun twice, lmfast once each; nfev and njev count alike.
    counts = {}
    for name, leastsq in (("scipy", sp), ("lmfast", lm)):
        calls = {"func": 0, "Dfun": 0}

        def func(x):
            calls["func"] += int(np.array_equal(x, [0.5, 0.5]))
            return np.array([x[0] - 1.0, x[1] + 2.0, x[0] * x[1]])

        def jac(x):
            calls["Dfun"] += int(np.array_equal(x, [0.5, 0.5]))
            return np.array([[1.0, 0.0], [0.0, 1.0], [x[1], x[0]]])

        out = leastsq(func, np.array([0.5, 0.5]), Dfun=jac, full_output=True)
        counts[name] = (calls["func"], calls["Dfun"], out[2]["nfev"], out[2]["njev"])
    assert counts["scipy"][:2] == (3, 2)
    assert counts["lmfast"][:2] == (1, 1)
    assert counts["scipy"][2:] == counts["lmfast"][2:]


@pytest.mark.parametrize("k", range(3, 12))
def test_call_counted_events_shift_by_the_extra_calls(sp, lm, k):
    # A func that returns NaN from its k-th *call* on meets it at another point in SciPy
    # than in lmfast (the reported (a)); lmfast with the event two calls earlier is SciPy.
    def factory(first_bad):
        def make():
            calls = [0]

            def func(x):
                calls[0] += 1
                r = _A @ np.exp(-0.3 * x) - _B
                if calls[0] >= first_bad:
                    r = r.copy()
                    r[0] = np.nan
                return r

            return func, None, calls

        return make

    with np.errstate(all="ignore"):
        o_sp = run_outcome(sp, factory(k)()[0], np.array([-0.6, 1.7]), full_output=True)
        o_lm = run_outcome(lm, factory(k - 2)()[0], np.array([-0.6, 1.7]), full_output=True)
    assert_same(o_sp, o_lm)
