"""Error paths of lmfast.leastsq, compared with scipy.optimize.leastsq (SciPy 1.17).

For every documented error the exception type must be SciPy's, and the message too
where SciPy writes it itself (leastsq's own checks, its MINPACK wrapper's messages);
for conversion errors raised by CPython/NumPy while SciPy parses its arguments only the
type is compared.  Exceptions raised by the user's func/Dfun propagate unchanged.

Also here: inputs are not modified, leastsq is reentrant and thread safe, and NaN/inf.

Non-finite values: if func returns NaN/inf at x0, or the Jacobian (Dfun's or the
forward-difference one) has NaN/inf, lmfast does what SciPy does (the arithmetic carries
on, usually stopping at once with ier 4); with ``raise_nonfinite=True`` it raises
ValueError mentioning "non-finite" instead.  NaN/inf at a trial point is a rejected step,
as in SciPy, and the fit ends with a result.
"""

import sys
import threading
import time
from multiprocessing.pool import ThreadPool

import numpy as np
import problems
import pytest
from helpers import fit_mgh, run_outcome, same_exception_type, x_match

NONFINITE = "non-finite"


def assert_same_outcome(o_sp, o_lm, message=True):
    """Same exception (type, and message if ``message``), or the same result."""
    if o_sp.raised:
        assert o_lm.raised, f"SciPy {o_sp.describe()}, lmfast {o_lm.describe()}"
        assert same_exception_type(o_lm.exc, o_sp.exc), (
            f"SciPy {o_sp.describe()}, lmfast {o_lm.describe()}"
        )
        if message:
            assert str(o_lm.exc) == str(o_sp.exc)
        return
    assert not o_lm.raised, f"SciPy {o_sp.describe()}, lmfast {o_lm.describe()}"
    assert len(o_lm.value) == len(o_sp.value)
    assert o_lm.ier == o_sp.ier
    assert x_match(o_lm.x, o_sp.x), (o_lm.x, o_sp.x)
    if len(o_sp.value) == 5:
        assert o_lm.value[3] == o_sp.value[3]
        assert o_lm.infodict["nfev"] == o_sp.infodict["nfev"]
    assert [(c, t) for c, t, _ in o_lm.warnings] == [(c, t) for c, t, _ in o_sp.warnings]


def both(sp, lm, *args, **kwargs):
    return run_outcome(sp, *args, **kwargs), run_outcome(lm, *args, **kwargs)


def _res3(x):
    return np.array([x[0] - 1.0, x[-1] + 1.0, x[0] * x[-1]])


def _res2(x):
    return np.array([x[0] - 1.0, x[-1] + 1.0])


# --------------------------------------------------------------------------------------
# Shapes: n > m, func output, Dfun output
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_jac", [False, True])
@pytest.mark.parametrize("full_output", [False, True])
def test_more_parameters_than_residuals(sp, lm, with_jac, full_output):
    kw = {"full_output": full_output}
    if with_jac:
        kw["Dfun"] = lambda x: np.ones((2, 3))
    o_sp, o_lm = both(sp, lm, _res2, [1.0, 2.0, 3.0], **kw)
    assert isinstance(o_sp.exc, TypeError)
    assert "N=3 must not exceed func output vector length M=2" in str(o_sp.exc)
    assert_same_outcome(o_sp, o_lm)


def test_scalar_residual_with_two_parameters(sp, lm):
    o_sp, o_lm = both(sp, lm, lambda x: x[0] + x[1], [1.0, 2.0])
    assert isinstance(o_sp.exc, TypeError)
    assert_same_outcome(o_sp, o_lm)


def test_scalar_residual_with_one_parameter_is_fine(sp, lm):
    o_sp, o_lm = both(sp, lm, lambda x: (x[0] - 2.0) ** 2, [1.0], full_output=True)
    assert not o_sp.raised
    assert_same_outcome(o_sp, o_lm)


BAD_FUNC_OUTPUTS = {
    # SciPy: "Result from function call is not a proper array of floats." (its _minpack.error)
    "2d-m-by-2": lambda x: np.ones((3, 2)) * x[0],
    "2d-m-by-1": lambda x: np.ones((3, 1)) * x[0],
    "complex": lambda x: np.array([x[0] - 1j, x[0], 1.0]),
    "strings": lambda x: np.array(["a", "b", "c"]),
    "longdouble": lambda x: np.array([x[0] - 1.0, x[0], 1.0], dtype=np.longdouble),
    "ragged-objects": lambda x: np.array([x[0], [1.0, 2.0], 3.0], dtype=object),
}


@pytest.mark.parametrize("name", BAD_FUNC_OUTPUTS)
@pytest.mark.parametrize("with_jac", [False, True])
def test_func_output_not_an_array_of_floats(sp, lm, name, with_jac, capfd):
    fun = BAD_FUNC_OUTPUTS[name]
    kw = {"Dfun": lambda x: np.ones((3, 1))} if with_jac else {}
    o_sp, o_lm = both(sp, lm, fun, [1.0], **kw)
    capfd.readouterr()  # SciPy prints the underlying conversion error to stderr
    assert o_sp.raised
    assert_same_outcome(o_sp, o_lm)


@pytest.mark.parametrize("when", [2, 3, 5])
@pytest.mark.parametrize("change", ["longer", "shorter"])
@pytest.mark.parametrize("with_jac", [False, True])
def test_func_output_changes_size(sp, lm, when, change, with_jac):
    def make():
        # The size changes at the `when`-th distinct point (SciPy evaluates x0 three
        # times before MINPACK's first step, lmfast once: count points, not calls).
        points = []

        def fun(x):
            if not any(np.array_equal(x, p) for p in points):
                points.append(np.array(x))
            m = 4 if len(points) < when else (5 if change == "longer" else 3)
            return np.arange(1.0, m + 1) * (x[0] - 1.5) + np.arange(m) * x[1] ** 2

        return fun

    def jac(x):
        return np.column_stack([np.arange(1.0, 5.0), 2.0 * np.arange(4.0) * x[1]])

    jac = jac if with_jac else None
    o_sp = run_outcome(sp, make(), [0.0, 1.0], Dfun=jac)
    o_lm = run_outcome(lm, make(), [0.0, 1.0], Dfun=jac)
    assert isinstance(o_sp.exc, ValueError)
    assert_same_outcome(o_sp, o_lm)


class NamelessJac:
    """A callable without __name__: SciPy's message then names no function."""

    def __init__(self, shape):
        self.shape = shape

    def __call__(self, x):
        return np.ones(self.shape)


def named_jac(shape):
    def my_jacobian(x):
        return np.ones(shape)

    return my_jacobian


# (n, m) = (2, 3) below; expected Dfun shape (m, n) = (3, 2), or (n, m) = (2, 3) with
# col_deriv=True.
DFUN_SHAPES = [(2, 3), (3, 2), (6,), (3, 3), (2, 2), (3, 2, 1), (1, 6), ()]


@pytest.mark.parametrize("shape", DFUN_SHAPES, ids=str)
@pytest.mark.parametrize("col_deriv", [False, True])
@pytest.mark.parametrize("named", ["function", "lambda", "nameless"])
def test_dfun_wrong_shape(sp, lm, shape, col_deriv, named, capfd):
    if named == "function":
        jac = named_jac(shape)
    elif named == "lambda":
        jac = lambda x: np.ones(shape)
    else:
        jac = NamelessJac(shape)
    o_sp, o_lm = both(sp, lm, _res3, [0.5, 0.5], Dfun=jac, col_deriv=col_deriv)
    capfd.readouterr()
    expected = (2, 3) if col_deriv else (3, 2)
    got = np.atleast_1d(np.ones(shape)).shape
    if got != expected:
        assert isinstance(o_sp.exc, TypeError)
        msg = str(o_sp.exc)
        assert "'Dfun'" in msg and f"Shape should be {expected} but it is {got}" in msg
    assert_same_outcome(o_sp, o_lm)


@pytest.mark.parametrize("col_deriv", [False, True])
@pytest.mark.parametrize("shape", [(3,), (3, 1), (1, 3)], ids=str)
def test_dfun_single_parameter_shapes_tolerated_like_scipy(sp, lm, col_deriv, shape):
    # n = 1: SciPy accepts a Jacobian of shape (m,) or a single column/row where it can
    def jac(x):
        return np.array([1.0, 2.0, 3.0]).reshape(shape)

    def fun(x):
        return np.array([1.0, 2.0, 3.0]) * x[0] - 1.0

    o_sp, o_lm = both(sp, lm, fun, [0.0], Dfun=jac, col_deriv=col_deriv, full_output=True)
    assert_same_outcome(o_sp, o_lm)


@pytest.mark.parametrize("col_deriv", [False, True])
def test_dfun_changes_size_later(sp, lm, col_deriv):
    def make():
        calls = [0]

        def jac(x):
            calls[0] += 1
            J = np.array([[1.0, 0.0], [0.0, 1.0], [x[1], x[0]]])
            if calls[0] >= 2:
                J = np.vstack([J, J])
            return J.T if col_deriv else J

        return jac

    o_sp = run_outcome(sp, _res3, [0.5, 0.5], Dfun=make(), col_deriv=col_deriv)
    o_lm = run_outcome(lm, _res3, [0.5, 0.5], Dfun=make(), col_deriv=col_deriv)
    assert isinstance(o_sp.exc, ValueError)
    assert_same_outcome(o_sp, o_lm)


# --------------------------------------------------------------------------------------
# Improper input parameters (MINPACK info = 0)
# --------------------------------------------------------------------------------------

IMPROPER = {
    "ftol<0": {"ftol": -1.0},
    "xtol<0": {"xtol": -1e-8},
    "gtol<0": {"gtol": -0.5},
    "tiny-negative-xtol": {"xtol": -1e-300},
    "factor=0": {"factor": 0.0},
    "factor<0": {"factor": -100.0},
    "diag-zero": {"diag": [1.0, 0.0]},
    "diag-negative": {"diag": [-1.0, 1.0]},
    "diag-all-zero": {"diag": np.zeros(2)},
    "diag-negative-zero": {"diag": [1.0, -0.0]},
}


@pytest.mark.parametrize("name", IMPROPER)
@pytest.mark.parametrize("with_jac", [False, True])
def test_improper_input_raises_typeerror(sp, lm, name, with_jac):
    kw = dict(IMPROPER[name])
    if with_jac:
        kw["Dfun"] = lambda x: np.array([[1.0, 0.0], [0.0, 1.0], [x[1], x[0]]])
    o_sp, o_lm = both(sp, lm, _res3, [0.5, 0.5], **kw)
    assert isinstance(o_sp.exc, TypeError) and str(o_sp.exc) == "Improper input parameters."
    assert_same_outcome(o_sp, o_lm)


@pytest.mark.parametrize("name", IMPROPER)
def test_improper_input_full_output_returns_ier0(sp, lm, name):
    o_sp, o_lm = both(sp, lm, _res3, [0.5, 0.5], full_output=True, **IMPROPER[name])
    assert o_sp.ier == 0 and o_sp.value[3] == "Improper input parameters."
    assert not o_lm.raised, o_lm.describe()
    assert o_lm.ier == 0
    assert o_lm.value[3] == o_sp.value[3]
    assert o_lm.value[1] is None  # no cov_x
    np.testing.assert_array_equal(o_lm.x, o_sp.x)  # x0, untouched


def test_empty_x0(sp, lm):
    o_sp, o_lm = both(sp, lm, lambda x: np.ones(3), [])
    assert isinstance(o_sp.exc, TypeError)
    assert_same_outcome(o_sp, o_lm)
    o_sp, o_lm = both(sp, lm, lambda x: np.ones(3), np.empty((0, 2)), full_output=True)
    assert o_sp.ier == 0
    assert_same_outcome(o_sp, o_lm)


ODD_ARGUMENTS = {
    # values SciPy accepts (MINPACK's own checks let them through) ...
    "maxfev<0-means-default": {"maxfev": -5},
    "maxfev=1": {"maxfev": 1},
    "maxfev=True": {"maxfev": True},
    "ftol-nan": {"ftol": np.nan},
    "ftol-inf": {"ftol": np.inf},
    "epsfcn<0": {"epsfcn": -1.0},
    "epsfcn-nan": {"epsfcn": np.nan},
    "factor-inf": {"factor": np.inf},
    "factor-nan": {"factor": np.nan},
    "diag-nan": {"diag": [np.nan, 1.0]},
    "diag-inf": {"diag": [np.inf, 1.0]},
    "diag-tuple": {"diag": (2.0, 3.0)},
    "diag-ints": {"diag": [2, 3]},
    "col_deriv-without-Dfun": {"col_deriv": True},
    "full_output-2": {"full_output": 2},
    "numpy-scalars": {"ftol": np.float32(1e-6), "maxfev": np.int64(50), "factor": np.int8(10)},
}


@pytest.mark.parametrize("name", ODD_ARGUMENTS)
@pytest.mark.parametrize("with_jac", [False, True])
def test_odd_but_accepted_arguments(sp, lm, name, with_jac):
    kw = dict(ODD_ARGUMENTS[name])
    if with_jac and "col_deriv" in kw:
        pytest.skip("col_deriv is about Dfun's layout")
    if with_jac:
        kw["Dfun"] = lambda x: np.array([[1.0, 0.0], [0.0, 1.0], [x[1], x[0]]])
    o_sp, o_lm = both(sp, lm, _res3, [0.5, 0.5], **kw)
    assert not o_sp.raised, o_sp.describe()
    assert_same_outcome(o_sp, o_lm)


BAD_ARGUMENT_TYPES = {
    # ... and values SciPy's argument parsing rejects (type compared, not CPython's text)
    "maxfev-float": {"maxfev": 10.5},
    "maxfev-str": {"maxfev": "3"},
    "maxfev-huge": {"maxfev": 2**40},
    "ftol-str": {"ftol": "a"},
    "factor-None": {"factor": None},
    "diag-str": {"diag": "a"},
    "diag-2d": {"diag": [[1.0, 2.0]]},
}


@pytest.mark.parametrize("name", BAD_ARGUMENT_TYPES)
def test_bad_argument_types(sp, lm, name):
    o_sp, o_lm = both(sp, lm, _res3, [0.5, 0.5], **BAD_ARGUMENT_TYPES[name])
    assert o_sp.raised
    assert_same_outcome(o_sp, o_lm, message=False)


@pytest.mark.parametrize("which", ["func", "Dfun"])
def test_not_callable(sp, lm, which):
    if which == "func":
        o_sp, o_lm = both(sp, lm, "not callable", [0.5, 0.5])
    else:
        o_sp, o_lm = both(sp, lm, _res3, [0.5, 0.5], Dfun=42)
    assert isinstance(o_sp.exc, TypeError)
    assert_same_outcome(o_sp, o_lm)


@pytest.mark.parametrize(
    "x0",
    [np.array([1.0 + 1j, 2.0]), np.array([1.0, 2.0], dtype=object), np.array([1.0, None])],
    ids=["complex", "object", "object-None"],
)
def test_x0_that_is_not_real(sp, lm, x0):
    o_sp, o_lm = both(sp, lm, lambda x: np.array([1.0, 2.0, 3.0]), x0)
    assert isinstance(o_sp.exc, TypeError)
    assert_same_outcome(o_sp, o_lm, message=False)


def _raise_user_error(x):
    raise UserError("raised at x0")


CHECK_ORDER = {
    # Several problems at once: the first one SciPy meets decides the exception.
    # SciPy's order: func(x0) (x0 as given), Dfun(x0), N <= M, the conversion of x0 and
    # of func's result to float64 arrays, then MINPACK's improper-input checks.
    "2d-output-and-empty-x0": (lambda x: np.ones((1, 2)), [], {}),
    "2d-output-and-negative-ftol": (lambda x: np.ones((3, 2)), [1.0], {"ftol": -1.0}),
    "2d-output-and-negative-ftol-full-output": (
        lambda x: np.ones((3, 2)),
        [1.0],
        {"ftol": -1.0, "full_output": True},
    ),
    "2d-output-and-zero-diag": (lambda x: np.ones((3, 2)), [1.0], {"diag": [0.0]}),
    "2d-output-and-n-greater-than-m": (lambda x: np.ones((1, 2)), [1.0, 2.0], {}),
    "complex-x0-and-func-raises": (_raise_user_error, [1.0 + 1j], {}),
    "complex-x0-and-dfun-raises": (
        lambda x: np.array([1.0, 2.0]),
        [1.0 + 1j],
        {"Dfun": _raise_user_error},
    ),
    "complex-x0-and-dfun-wrong-shape": (
        lambda x: np.array([1.0, 2.0]),
        [1.0 + 1j],
        {"Dfun": lambda x: np.ones((3, 3))},
    ),
    "object-x0-and-func-raises": (_raise_user_error, np.array([1.0], dtype=object), {}),
    "n-greater-than-m-and-dfun-raises": (
        lambda x: np.array([1.0]),
        [1.0, 2.0],
        {"Dfun": _raise_user_error},
    ),
    "negative-ftol-and-dfun-wrong-shape": (
        lambda x: np.array([1.0, x[0]]),
        [1.0],
        {"ftol": -1.0, "Dfun": lambda x: np.ones((3, 3))},
    ),
    "negative-ftol-and-nan-at-x0": (lambda x: np.array([np.nan, x[0]]), [1.0], {"ftol": -1.0}),
    "empty-x0-and-nan": (lambda x: np.array([np.nan, 1.0]), [], {}),
}


@pytest.mark.parametrize("name", CHECK_ORDER)
def test_check_order(sp, lm, name, capfd):
    fun, x0, kw = CHECK_ORDER[name]
    o_sp, o_lm = both(sp, lm, fun, x0, **kw)
    capfd.readouterr()
    message = not (o_sp.raised and "Cannot cast" in str(o_sp.exc))
    assert_same_outcome(o_sp, o_lm, message=message)


# --------------------------------------------------------------------------------------
# Exceptions raised by func / Dfun propagate unchanged
# --------------------------------------------------------------------------------------


class UserError(Exception):
    pass


class UserBaseError(BaseException):
    """Not an Exception (like KeyboardInterrupt): must not be swallowed either."""


def raising_on_call(k, target, exc_factory):
    """func and Dfun for Rosenbrock; ``target`` raises on its k-th call."""
    calls = {"func": 0, "Dfun": 0}
    raised = []

    def func(x):
        calls["func"] += 1
        if target == "func" and calls["func"] == k:
            raised.append(exc_factory(f"func call {k} at {x!r}"))
            raise raised[-1]
        return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])

    def jac(x):
        calls["Dfun"] += 1
        if target == "Dfun" and calls["Dfun"] == k:
            raised.append(exc_factory(f"Dfun call {k}"))
            raise raised[-1]
        return np.array([[-20.0 * x[0], 10.0], [-1.0, 0.0]])

    return func, jac, raised, calls


@pytest.mark.parametrize("k", [1, 2, 3, 5, 12])
@pytest.mark.parametrize("target, with_jac", [("func", False), ("func", True), ("Dfun", True)])
@pytest.mark.parametrize("full_output", [False, True])
def test_callback_exception_propagates(sp, lm, k, target, with_jac, full_output):
    outcomes = {}
    for name, impl in (("scipy", sp), ("lmfast", lm)):
        func, jac, raised, _ = raising_on_call(k, target, UserError)
        with pytest.raises(UserError) as info:
            impl(func, [-1.2, 1.0], Dfun=jac if with_jac else None, full_output=full_output)
        assert len(raised) == 1
        assert info.value is raised[0], "not the exception object func/Dfun raised"
        assert type(info.value) is UserError
        # the user's frame is in the traceback
        names = [entry.name for entry in info.traceback]
        assert ("func" if target == "func" else "jac") in names
        outcomes[name] = str(info.value)
    if target == "Dfun" or k <= 1:
        assert outcomes["lmfast"] == outcomes["scipy"]


@pytest.mark.parametrize("target", ["func", "Dfun"])
@pytest.mark.parametrize("k", [1, 4])
def test_callback_base_exception_propagates(lm, target, k):
    func, jac, raised, _ = raising_on_call(k, target, UserBaseError)
    with pytest.raises(UserBaseError) as info:
        lm(func, [-1.2, 1.0], Dfun=jac)
    assert info.value is raised[0]


@pytest.mark.parametrize("k", [1, 3])
def test_callback_stop_iteration_and_keyboard_interrupt(lm, k):
    for exc_type in (StopIteration, KeyboardInterrupt):
        func, _, raised, _ = raising_on_call(k, "func", exc_type)
        with pytest.raises(exc_type) as info:
            lm(func, [-1.2, 1.0])
        assert info.value is raised[0]


def test_usable_after_callback_exception(sp, lm):
    func, jac, _, _ = raising_on_call(4, "func", UserError)
    with pytest.raises(UserError):
        lm(func, [-1.2, 1.0], Dfun=jac)
    case = problems.CASES_BY_ID["osborne1-n5-m33-x1"]
    o_sp, o_lm = both(sp, lm, case.fun, case.x0, Dfun=case.jac, full_output=True)
    assert_same_outcome(o_sp, o_lm)


# --------------------------------------------------------------------------------------
# Inputs are not modified
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_jac", [False, True])
@pytest.mark.parametrize("full_output", [False, True])
def test_inputs_unchanged(lm, with_jac, full_output):
    t = np.linspace(0.0, 3.0, 20)
    y = 2.0 * np.exp(-0.7 * t) + 0.1
    x0 = np.array([1.0, 1.0, 0.0])
    diag = np.array([1.0, 2.0, 3.0])
    extra = {"scale": np.array([1.0])}
    copies = [a.copy() for a in (t, y, x0, diag, extra["scale"])]

    def fun(p, t, y, extra):
        return extra["scale"] * (p[0] * np.exp(-p[1] * t) + p[2]) - y

    def jac(p, t, y, extra):
        e = np.exp(-p[1] * t)
        return extra["scale"] * np.column_stack([e, -p[0] * t * e, np.ones_like(t)])

    res = lm(
        fun,
        x0,
        args=(t, y, extra),
        Dfun=jac if with_jac else None,
        full_output=full_output,
        diag=diag,
    )
    for a, c in zip((t, y, x0, diag, extra["scale"]), copies):
        np.testing.assert_array_equal(a, c)
    assert list(extra) == ["scale"]
    x = res[0]
    assert x is not x0 and not np.shares_memory(x, x0)
    x[:] = 99.0  # the result is the caller's to change
    np.testing.assert_array_equal(x0, copies[2])


def test_readonly_inputs_accepted(sp, lm):
    x0 = np.array([1.0, 1.0, 0.0])
    diag = np.array([1.0, 2.0, 3.0])
    t = np.linspace(0.0, 3.0, 20)
    for a in (x0, diag, t):
        a.setflags(write=False)

    def fun(p, t):
        return p[0] * np.exp(-p[1] * t) + p[2] - (2.0 * np.exp(-0.7 * t) + 0.1)

    o_sp, o_lm = both(sp, lm, fun, x0, args=(t,), diag=diag, full_output=True)
    assert_same_outcome(o_sp, o_lm)


def test_x_passed_to_func_is_not_x0(lm):
    """Writing into the array func receives does not write into the caller's x0."""
    x0 = np.array([0.3, 0.4])
    keep = x0.copy()
    seen = []

    def fun(x):
        seen.append(x)
        return np.array([x[0] - 1.0, x[1] - 2.0, x[0] * x[1]])

    lm(fun, x0)
    assert all(s is not x0 for s in seen)
    np.testing.assert_array_equal(x0, keep)


# --------------------------------------------------------------------------------------
# Reentrancy and threads
# --------------------------------------------------------------------------------------


def nested_problem(outer_impl, inner_impl):
    """An outer fit whose residuals each need an inner fit (the inner optimum of
    (z - a)^2 + (z*a - 1)^2 for parameter a)."""

    def inner_fun(z, a):
        return np.array([z[0] - a, z[0] * a - 1.0])

    def outer_fun(p):
        zs = []
        for a in (p[0], p[1], p[0] + p[1]):
            z, ier = inner_impl(inner_fun, [0.0], args=(a,))
            assert ier in (1, 2, 3, 4)
            zs.append(z[0])
        return np.array(zs) - np.array([0.9, 1.1, 1.3])

    return outer_impl(outer_fun, [0.5, 1.5], full_output=True)


@pytest.mark.parametrize("inner", ["lmfast", "scipy"])
def test_reentrant(sp, lm, inner):
    ref = nested_problem(sp, sp)
    got = nested_problem(lm, lm if inner == "lmfast" else sp)
    assert got[-1] == ref[-1]
    assert got[2]["nfev"] == ref[2]["nfev"]
    assert x_match(got[0], ref[0])


def test_reentrant_with_dfun_and_error_in_inner_fit(lm):
    """An exception in an inner fit's func surfaces through the outer fit unchanged."""
    err = UserError("inner")

    def inner_fun(z):
        raise err

    def outer_fun(p):
        lm(inner_fun, [0.0])
        return np.array([p[0], p[0]])

    with pytest.raises(UserError) as info:
        lm(outer_fun, [1.0], Dfun=lambda p: np.ones((2, 1)))
    assert info.value is err
    # and the outer machinery is still usable afterwards
    x, ier = lm(lambda p: np.array([p[0] - 3.0, p[0] - 3.0]), [1.0])
    assert ier in (1, 2, 3, 4) and abs(x[0] - 3.0) < 1e-6


THREAD_CASES = [
    ("osborne1-n5-m33-x1", "lmdif"),
    ("osborne2-n11-m65-x1", "lmder"),
    ("watson-n9-m31-x1", "lmdif"),
    ("kowalik_osborne-n4-m11-x1", "lmder"),
    ("bard-n3-m15-x1", "lmdif"),
    ("meyer-n3-m16-x1", "lmder"),
    ("brown_almost_linear-n10-m10-x1", "lmdif"),
    ("chebyquad-n8-m8-x1", "lmder_col"),
]


def _thread_fit(leastsq, case_id, mode, yield_gil):
    case = problems.CASES_BY_ID[case_id]
    if yield_gil:
        inner = case

        def fun(x):
            time.sleep(0)  # let another thread run between evaluations
            return inner.fun(x)

        case = inner._replace(fun=fun)
    fit = fit_mgh(leastsq, case, mode)
    return (
        fit.ier,
        fit.nfev,
        fit.njev,
        fit.x.tobytes(),
        fit.infodict["fvec"].tobytes(),
        fit.infodict["fjac"].tobytes(),
        fit.infodict["qtf"].tobytes(),
    )


@pytest.mark.parametrize("yield_gil", [False, True])
def test_threads_same_as_sequential(sp, lm, yield_gil):
    jobs = THREAD_CASES * 2  # 16 fits, 8 at a time
    sequential = [_thread_fit(lm, c, m, False) for c, m in jobs]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPool(8) as pool:
            concurrent = pool.starmap(
                _thread_fit, [(lm, c, m, yield_gil) for c, m in jobs]
            )
    finally:
        sys.setswitchinterval(old)
    for (c, m), s, t in zip(jobs, sequential, concurrent):
        assert s == t, f"{c} {m}: concurrent fit differs from the sequential one"
    # and the sequential fits are SciPy's
    for (c, m), s in zip(jobs, sequential):
        ref = fit_mgh(sp, problems.CASES_BY_ID[c], m)
        assert s[:3] == (ref.ier, ref.nfev, ref.njev), c
        assert x_match(np.frombuffer(s[3]), ref.x), c


def test_threads_with_failing_fits(lm):
    """A fit raising in one thread does not disturb fits running in the others."""
    barrier = threading.Barrier(4, timeout=30)
    case = problems.CASES_BY_ID["osborne1-n5-m33-x1"]
    expected = lm(case.fun, case.x0, full_output=True)

    def job(i):
        barrier.wait()
        if i % 2:
            func, _, raised, _ = raising_on_call(3 + i, "func", UserError)
            try:
                lm(func, [-1.2, 1.0])
            except UserError as e:
                return e is raised[0]
            return False
        got = lm(case.fun, case.x0, full_output=True)
        return got[-1] == expected[-1] and np.array_equal(got[0], expected[0])

    with ThreadPool(4) as pool:
        assert all(pool.map(job, range(4)))


# --------------------------------------------------------------------------------------
# NaN / inf
# --------------------------------------------------------------------------------------


def _sqrt_res(x):
    # finite only for x >= 0; the minimum (0.01, 0.04) is near the edge, so from (1, 1)
    # the first Gauss-Newton steps land at negative x (NaN); forward differences step up.
    return np.array([np.sqrt(x[0]) - 0.1, np.sqrt(x[1]) - 0.2, 0.1 * (x[0] - x[1])])


def _sqrt_jac(x):
    return np.array([[0.5 / np.sqrt(x[0]), 0.0], [0.0, 0.5 / np.sqrt(x[1])], [0.1, -0.1]])


def _sqrt_res_inf(x):
    with np.errstate(invalid="ignore"):
        r = _sqrt_res(x)
    return np.where(np.isnan(r), np.inf, r)


def counting(fun):
    def wrapped(x, *a):
        r = fun(x, *a)
        wrapped.nonfinite += int(not np.all(np.isfinite(r)))
        return r

    wrapped.nonfinite = 0
    return wrapped


@pytest.mark.parametrize("fun", [_sqrt_res, _sqrt_res_inf], ids=["nan", "inf"])
@pytest.mark.parametrize("with_jac", [False, True])
@pytest.mark.parametrize("full_output", [False, True])
def test_nonfinite_at_trial_point_is_a_rejected_step(sp, lm, fun, with_jac, full_output):
    kw = {"full_output": full_output}
    if with_jac:
        kw["Dfun"] = _sqrt_jac
    f_sp, f_lm = counting(fun), counting(fun)
    with np.errstate(invalid="ignore", divide="ignore"):
        o_sp = run_outcome(sp, f_sp, [1.0, 1.0], **kw)
        o_lm = run_outcome(lm, f_lm, [1.0, 1.0], **kw)
    assert f_sp.nonfinite > 0, "the trial steps never left the domain: test is vacuous"
    assert not o_sp.raised
    assert not o_lm.raised, o_lm.describe()
    assert_same_outcome(o_sp, o_lm)
    assert f_lm.nonfinite == f_sp.nonfinite
    assert np.all(np.isfinite(o_lm.x))


NONFINITE_VALUES = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}


def assert_same_nonfinite_result(o_sp, o_lm):
    """Same outcome, NaN for NaN: x, ier, message, nfev/njev, fvec, fjac, ipvt, qtf, cov_x."""
    assert not o_sp.raised and not o_lm.raised, (o_sp.describe(), o_lm.describe())
    assert o_lm.ier == o_sp.ier
    assert np.array_equal(o_lm.x, o_sp.x, equal_nan=True), (o_lm.x, o_sp.x)
    assert [(c, t) for c, t, _ in o_lm.warnings] == [(c, t) for c, t, _ in o_sp.warnings]
    if len(o_sp.value) != 5:
        return
    assert o_lm.value[3] == o_sp.value[3]
    cov_sp, cov_lm = o_sp.value[1], o_lm.value[1]
    assert (cov_lm is None) == (cov_sp is None)
    if cov_sp is not None:
        assert np.array_equal(np.isnan(cov_lm), np.isnan(cov_sp))
    info_sp, info_lm = o_sp.infodict, o_lm.infodict
    assert set(info_lm) == set(info_sp)
    for key in ("nfev", "njev"):
        assert info_lm.get(key) == info_sp.get(key), key
    assert np.array_equal(info_lm["fvec"], info_sp["fvec"], equal_nan=True)
    assert np.array_equal(info_lm["ipvt"], info_sp["ipvt"])
    for key in ("fjac", "qtf"):
        assert np.array_equal(np.isnan(info_lm[key]), np.isnan(info_sp[key])), key


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("with_jac", [False, True])
@pytest.mark.parametrize("full_output", [False, True])
@pytest.mark.parametrize("where", [0, 2])
def test_nonfinite_at_x0_does_what_scipy_does(sp, lm, value, with_jac, full_output, where):
    bad = NONFINITE_VALUES[value]

    def fun(x):
        r = _res3(x)
        r[where] = bad
        return r

    kw = {"full_output": full_output}
    if with_jac:
        kw["Dfun"] = lambda x: np.array([[1.0, 0.0], [0.0, 1.0], [x[1], x[0]]])
    with np.errstate(invalid="ignore"):
        o_sp, o_lm = both(sp, lm, fun, [0.5, 0.5], **kw)
        assert o_sp.ier == 4  # MINPACK stops at once: the gradient test sees no number
        assert_same_nonfinite_result(o_sp, o_lm)
        with pytest.raises(ValueError, match=NONFINITE):
            lm(fun, [0.5, 0.5], raise_nonfinite=True, **kw)


def test_func_returning_none_raises(sp, lm):
    # None becomes NaN in SciPy's conversion; lmfast reports it as non-finite (or as
    # SciPy would if it rejects the conversion itself)
    o_sp, o_lm = both(sp, lm, lambda x: None, [1.0])
    if o_lm.raised and isinstance(o_lm.exc, ValueError) and NONFINITE in str(o_lm.exc):
        return
    assert_same_outcome(o_sp, o_lm)


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("col_deriv", [False, True])
@pytest.mark.parametrize("where", ["x0", "later"])
def test_nonfinite_dfun(sp, lm, value, col_deriv, where):
    bad = NONFINITE_VALUES[value]
    # SciPy calls Dfun once more than lmfast (its shape check), so the bad value is
    # placed by position: at x0, or only after the first step (x[1] < 0.4).
    calls = [0]

    def jac(x):
        calls[0] += 1
        J = np.array([[1.0, 0.0], [0.0, 1.0], [x[1], x[0]]])
        if where == "x0" or x[1] < 0.4:
            J[2, 1] = bad
        return J.T if col_deriv else J

    def fun(x):
        # slow convergence so that Dfun is called again after the first step
        return np.array([x[0] - 1.0, x[1] + 1.0, 3.0 * x[0] * x[1] + np.sin(5 * x[0])])

    with np.errstate(invalid="ignore"):
        assert_same_nonfinite_result(*both(sp, lm, fun, [0.5, 0.5], Dfun=jac,
                                           col_deriv=col_deriv, full_output=True))
        calls[0] = 0
        with pytest.raises(ValueError, match=NONFINITE):
            lm(fun, [0.5, 0.5], Dfun=jac, col_deriv=col_deriv, raise_nonfinite=True)
    assert calls[0] == (1 if where == "x0" else 2)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_nonfinite_forward_difference_jacobian(sp, lm, value):
    # finite at x0 = 1, non-finite just above it, where the forward difference looks
    def fun(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            if value == "nan":
                r = np.sqrt(1.0 - x[0])
            else:
                r = np.where(x[0] > 1.0, np.inf, 1.0 - x[0])
        return np.array([r, x[0] - 0.5, x[0] * 0.0 + 1.0])

    with np.errstate(invalid="ignore"):
        assert_same_nonfinite_result(*both(sp, lm, fun, [1.0], full_output=True))
        assert_same_nonfinite_result(*both(sp, lm, fun, [1.0]))
    with pytest.raises(ValueError, match=NONFINITE):
        lm(fun, [1.0], raise_nonfinite=True)
