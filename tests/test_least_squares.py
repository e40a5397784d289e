"""lmfast.least_squares side by side with scipy.optimize.least_squares(method='lm')
(SciPy 1.17, the reference).

* The 53 Moré-Garbow-Hillstrom cases of MINPACK's lmder driver, each run several ways
  (finite differences '2-point', '3-point', 'cs', a callable jac; x_scale None, 'jac',
  scalar and array; args, kwargs, max_nfev, diff_step): the same (status, nfev, njev),
  never a worse cost, and every result field identical, on every run but those of the
  few cases listed in ``problems.SINGULAR_CASES``, where rounding may take another path
  (there: converged alike, never a worse cost).
* Simple problems: every field of the result identical (values, dtypes, key order), the
  points fun and jac are called at, verbose output, the callback warning.
* Bad input: the exception type and message SciPy gives; user errors propagate as is.
* What lmfast does not run ('trf', 'dogbox', workers, jac_sparsity, Bounds objects, a
  Jacobian lmfast's engine refuses) is SciPy's function's answer, and a ValueError
  without SciPy.

Every expected value comes from running SciPy on the same input.
"""

import contextlib
import doctest
import inspect
import io
import math
import sys
import warnings

import numpy as np
import problems
import pytest
import scipy.optimize
import scipy.sparse
import scipy.sparse.linalg
from helpers import fnorm_not_worse

import lmfast
from lmfast import _least_squares, _optimize_result, _scipy

FIELDS = ("x", "cost", "fun", "jac", "grad", "optimality", "active_mask", "nfev", "njev",
          "status", "message", "success")


def sp_lm(fun, x0, **options):
    return scipy.optimize.least_squares(fun, x0, method="lm", **options)


def lm_lm(fun, x0, **options):
    return lmfast.least_squares(fun, x0, **options)


def _both_nan(a, b):
    return isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)


def differing_fields(res_lm, res_sp):
    """The fields of the two results that are not identical (value, dtype and type)."""
    differ = []
    for name in FIELDS:
        a, b = res_lm[name], res_sp[name]
        if isinstance(b, np.ndarray):
            same = (type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
                    and np.array_equal(a, b, equal_nan=True))
        else:
            same = type(a) is type(b) and (a == b or _both_nan(a, b))
        if not same:
            differ.append(name)
    return differ


def outcome(fn, *args, **kwargs):
    """(result or exception, [(warning class, text)], stdout) of one call."""
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - compared by type and message
            value = exc
    return value, [(w.category, str(w.message)) for w in caught], out.getvalue()


# --------------------------------------------------------------------------------------
# Moré-Garbow-Hillstrom
# --------------------------------------------------------------------------------------


def _variant_options(case, variant):
    """(fun, options) of one way of running an MGH case."""
    problem = problems.PROBLEMS[case.problem]
    scales = 1.0 + np.abs(case.x0)
    table = {
        "2-point": (case.fun, {}),
        "3-point": (case.fun, {"jac": "3-point"}),
        "cs": (case.fun, {"jac": "cs"}),
        "jac": (case.fun, {"jac": case.jac}),
        "jac x_scale='jac'": (case.fun, {"jac": case.jac, "x_scale": "jac"}),
        "jac x_scale=array": (case.fun, {"jac": case.jac, "x_scale": scales}),
        "2-point x_scale=2.0": (case.fun, {"x_scale": 2.0}),
        "2-point x_scale=array": (case.fun, {"x_scale": scales}),
        "args": (problem.fun, {"jac": problem.jac, "args": (case.m, case.n)}),
        "kwargs 2-point": (problem.fun, {"kwargs": {"m": case.m, "n": case.n}}),
        "max_nfev=10": (case.fun, {"max_nfev": 10}),
        "diff_step=1e-6": (case.fun, {"diff_step": 1e-6}),
        "3-point diff_step=array": (case.fun, {"jac": "3-point",
                                               "diff_step": np.full(case.n, 1e-4)}),
    }
    return table[variant]


MGH_VARIANTS = ("2-point", "3-point", "cs", "jac", "jac x_scale='jac'", "jac x_scale=array",
                "2-point x_scale=2.0", "2-point x_scale=array", "args", "kwargs 2-point",
                "max_nfev=10", "diff_step=1e-6", "3-point diff_step=array")


def complex_step_works(case):
    """Whether the case's fun keeps the imaginary part of a complex x (some of the
    problem definitions assign into float arrays: 'cs' is meaningless there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            f = case.fun(case.x0 + 1e-30j * np.arange(1, case.n + 1))
        except np.exceptions.ComplexWarning:
            return False
    return bool(np.iscomplexobj(f) and np.any(np.imag(f) != 0))


MGH_RUNS = [(case, variant) for case in problems.CASES for variant in MGH_VARIANTS
            if variant != "cs" or complex_step_works(case)]


@pytest.fixture(scope="module")
def mgh_results():
    """(case id, run label, SciPy's result, lmfast's result) for every MGH run."""
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow at some far starts
        for case, variant in MGH_RUNS:
            fun, options = _variant_options(case, variant)
            res_sp = sp_lm(fun, case.x0.copy(), **options)
            res_lm = lm_lm(fun, case.x0.copy(), **options)
            results.append((case.id, f"{case.id} [{variant}]", res_sp, res_lm))
    return results


def _key(res):
    return (res.status, res.nfev, res.njev)


def test_mgh_same_status_and_nfev_and_never_a_worse_cost(mgh_results):
    """SciPy's (status, nfev, njev) on every run but those of problems.SINGULAR_CASES
    (there: the same status or both successful), and never a worse cost."""
    mismatches, tolerated, worse = [], [], []
    for case_id, label, res_sp, res_lm in mgh_results:
        if _key(res_lm) != _key(res_sp):
            line = f"{label}: scipy {_key(res_sp)} | lmfast {_key(res_lm)}"
            singular = case_id in problems.SINGULAR_CASES
            alike = res_lm.status == res_sp.status or (res_lm.success and res_sp.success)
            (tolerated if singular and alike else mismatches).append(line)
        # A run stopped by max_nfev (status 0) ends on an unconverged iterate, where
        # rounding differences have grown: SciPy itself ends
        # brown_almost_linear-n10-m10-x100 [max_nfev=10] at costs 2.5e-7 apart
        # (relative) from one run to the next.
        rel = 1e-8 if res_sp.status != 0 else 1e-6
        if not fnorm_not_worse(np.sqrt(2 * res_lm.cost), np.sqrt(2 * res_sp.cost), rel):
            worse.append(f"{label}: scipy cost {res_sp.cost!r} | lmfast {res_lm.cost!r}")
    total = len(mgh_results)
    same = total - len(mismatches) - len(tolerated)
    print(f"\n{same} of {total} MGH runs have SciPy's (status, nfev, njev); "
          f"{len(worse)} with a worse cost; on a case of problems.SINGULAR_CASES:")
    print("\n".join(tolerated) if tolerated else "(none)")
    assert not mismatches, "\n".join(mismatches)
    assert not worse, "\n".join(worse)


def test_mgh_results_identical_to_scipys(mgh_results):
    """Every field bitwise SciPy's on every run but those of problems.SINGULAR_CASES,
    where rounding decides the last bits (they are listed)."""
    differ, tolerated = [], []
    for case_id, label, res_sp, res_lm in mgh_results:
        assert list(res_lm) == list(res_sp), label
        fields = differing_fields(res_lm, res_sp)
        if fields:
            line = (f"{label}: {', '.join(fields)} differ (cost scipy {res_sp.cost!r} "
                    f"lmfast {res_lm.cost!r})")
            (tolerated if case_id in problems.SINGULAR_CASES else differ).append(line)
    identical = len(mgh_results) - len(differ) - len(tolerated)
    print(f"\n{identical} of {len(mgh_results)} MGH runs give every field bitwise as SciPy; "
          f"on a case of problems.SINGULAR_CASES, the others:")
    print("\n".join(tolerated) if tolerated else "(none)")
    assert not differ, "\n".join(differ)


@pytest.mark.parametrize("case_id", ["rosenbrock-n2-m2-x1", "bard-n3-m15-x10",
                                     "osborne1-n5-m33-x1", "kowalik_osborne-n4-m11-x10"])
@pytest.mark.parametrize("jac", ["2-point", "3-point", "cs", "callable"])
def test_mgh_fun_and_jac_called_at_scipys_points(case_id, jac):
    """The same calls, in the same order, at the same points (SciPy remembers the last
    point: no call is repeated there, a difference Jacobian reuses f)."""
    case = problems.CASES_BY_ID[case_id]

    def record(least_squares):
        calls = []

        def fun(x):
            calls.append(("fun", x.dtype, x.tobytes()))
            return case.fun(x)

        def jac_fn(x):
            calls.append(("jac", x.dtype, x.tobytes()))
            return case.jac(x)

        least_squares(fun, case.x0.copy(), jac=jac_fn if jac == "callable" else jac)
        return calls

    calls_sp, calls_lm = record(sp_lm), record(lm_lm)
    assert len(calls_lm) == len(calls_sp)
    assert calls_lm == calls_sp


# --------------------------------------------------------------------------------------
# Every field, on simple problems
# --------------------------------------------------------------------------------------

T = np.linspace(0.0, 1.0, 9)


def decay(x, scale=1.0, *, shift=0.0):
    return x[0] * np.exp(x[1] * T) - scale * np.exp(-T) - shift


def decay_jac(x, scale=1.0, *, shift=0.0):
    return np.column_stack([np.exp(x[1] * T), x[0] * T * np.exp(x[1] * T)])


SIMPLE = {
    "default": (decay, [2.0, 0.0], {}),
    "3-point": (decay, [2.0, 0.0], {"jac": "3-point"}),
    "cs": (decay, [2.0, 0.0], {"jac": "cs"}),
    "callable jac": (decay, [2.0, 0.0], {"jac": decay_jac}),
    "x_scale jac": (decay, [2.0, 0.0], {"x_scale": "jac"}),
    "x_scale array": (decay, [2.0, 0.0], {"x_scale": [1.0, 10.0]}),
    "x_scale scalar, jac": (decay, [2.0, 0.0], {"x_scale": 3.0, "jac": decay_jac}),
    "args kwargs": (decay, [2.0, 0.0], {"args": (2.0,), "kwargs": {"shift": 0.5}}),
    "args list, jac": (decay, [2.0, 0.0], {"args": [2.0], "jac": decay_jac}),
    "diff_step": (decay, [2.0, 0.0], {"diff_step": 1e-3}),
    "diff_step array, zero x": (decay, [2.0, 0.0], {"diff_step": [1e-3, 1e-3]}),
    "max_nfev": (decay, [2.0, 0.0], {"max_nfev": 3}),
    "max_nfev 1": (decay, [2.0, 0.0], {"max_nfev": 1}),
    "tolerances": (decay, [2.0, 0.0], {"ftol": 1e-3, "xtol": 1e-2, "gtol": 1e-1}),
    "gtol stop at x0": (decay, [1.0, -1.0], {}),
    "int x0": (decay, [2, 0], {}),
    "scalar x0": (lambda x: np.array([x[0] ** 2 - 2.0, 0.1 * x[0]]), 1.0, {}),
    "scalar residual": (lambda x: (x[0] - 3.0) ** 2, [1.0], {}),
    "list residuals": (lambda x: [x[0] - 1.0, x[1] - 2.0, x[0] * x[1]], [0.0, 0.0], {}),
    "float32 residuals": (lambda x: (decay(x)).astype(np.float32), [2.0, 0.0], {}),
    "float32 residuals 3-point": (lambda x: decay(x).astype(np.float32), [2.0, 0.0],
                                  {"jac": "3-point"}),
    "int residuals": (lambda x: np.array([1, 2, 3]), [0.5, 0.5], {}),
    "cs, real residuals": (lambda x: np.real(decay(x)), [2.0, 0.0], {"jac": "cs"}),
    "3-point, list residuals": (lambda x: [x[0] - 1.0, x[1] ** 2, 1.0], [0.5, 0.5],
                                {"jac": "3-point"}),
    "negative x0, x_scale array, 3-point": (decay, [-2.0, -0.5],
                                            {"jac": "3-point", "x_scale": [2.0, 0.5]}),
    "negative x0, diff_step": (decay, [-2.0, -0.5], {"diff_step": 1e-5}),
    "float32 jac": (decay, [2.0, 0.0], {"jac": lambda x: decay_jac(x).astype(np.float32)}),
    "list jac": (decay, [2.0, 0.0], {"jac": lambda x: decay_jac(x).tolist()}),
    "matrix jac": (decay, [2.0, 0.0], {"jac": lambda x: np.asmatrix(decay_jac(x))}),
    "one residual": (lambda x: np.array([x[0] ** 2 - 4.0]), [1.0], {}),
    "empty x0": (lambda x: np.ones(3), [], {}),
    "zero residuals": (lambda x: np.zeros(3) * x[0], [1.0], {}),
}


@pytest.mark.parametrize("name", list(SIMPLE))
def test_every_field_identical(name):
    fun, x0, options = SIMPLE[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # np.matrix
        res_sp = sp_lm(fun, x0, **options)
        res_lm = lm_lm(fun, x0, **options)
    assert type(res_lm) is scipy.optimize.OptimizeResult
    assert list(res_lm) == list(res_sp)
    assert differing_fields(res_lm, res_sp) == []


def _tall_jac(x):
    t = np.arange(3000.0) / 1000
    return np.column_stack([-np.sin(x[0] * t) * t * x[1], np.cos(x[0] * t)])


TALL = {
    "tall": (lambda x: np.sin(x[0] * np.linspace(0, 3, 5000)) - x[1], [1.1, 0.1], {}),
    "tall, jac": (lambda x: np.cos(x[0] * np.arange(3000.0) / 1000) * x[1] - 1.0,
                  [0.5, 1.5], {"jac": _tall_jac}),
}


@pytest.mark.parametrize("name", list(TALL))
def test_tall_problems_match_to_rounding(name):
    """For m*n >= 8192 (and m >= 4n) lmfast's engine factors J block by block (TSQR):
    R equals MINPACK's to rounding, not bitwise."""
    fun, x0, options = TALL[name]
    res_sp = sp_lm(fun, x0, **options)
    res_lm = lm_lm(fun, x0, **options)
    assert _key(res_lm) == _key(res_sp)
    assert res_lm.message == res_sp.message and res_lm.success == res_sp.success
    np.testing.assert_allclose(res_lm.x, res_sp.x, rtol=1e-9)
    np.testing.assert_allclose(res_lm.cost, res_sp.cost, rtol=1e-9)
    np.testing.assert_allclose(res_lm.fun, res_sp.fun, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res_lm.jac, res_sp.jac, rtol=0, atol=1e-6)
    bound = 1e-6 * np.abs(res_sp.jac).T @ np.abs(res_sp.fun)
    assert np.all(np.abs(res_lm.grad - res_sp.grad) <= bound)


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_verbose_report_is_scipys(verbose):
    out_sp = outcome(sp_lm, decay, [2.0, 0.0], verbose=verbose)[2]
    out_lm = outcome(lm_lm, decay, [2.0, 0.0], verbose=verbose)[2]
    assert out_lm == out_sp
    assert (out_lm != "") == (verbose > 0)


def test_callback_is_not_used_and_warned_about_as_scipy_does():
    seen = []
    res_sp, warn_sp, _ = outcome(sp_lm, decay, [2.0, 0.0], callback=seen.append)
    res_lm, warn_lm, _ = outcome(lm_lm, decay, [2.0, 0.0], callback=seen.append)
    assert warn_lm == warn_sp and len(warn_lm) == 1
    assert differing_fields(res_lm, res_sp) == [] and seen == []


def test_tr_solver_and_tr_options_are_ignored_by_lm():
    res_sp = sp_lm(decay, [2.0, 0.0], tr_solver="lsmr", tr_options={"regularize": False})
    res_lm = lm_lm(decay, [2.0, 0.0], tr_solver="lsmr", tr_options={"regularize": False})
    assert differing_fields(res_lm, res_sp) == []


def test_jac_sparsity_with_a_callable_jac_is_ignored_by_lm():
    options = {"jac": decay_jac, "jac_sparsity": np.ones((9, 2))}
    assert differing_fields(lm_lm(decay, [2.0, 0.0], **options),
                            sp_lm(decay, [2.0, 0.0], **options)) == []


def test_nan_at_trial_points_is_rejected_as_scipy_does():
    """sqrt of a negative argument gives NaN at some trial points: MINPACK rejects the
    step (its ratio is NaN) and shrinks the trust region."""
    t = np.linspace(0.0, 2.0, 15)

    def fun(x):
        return x[0] * np.sqrt(x[1] - t) - 1.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for x0 in ([1.0, 2.5], [0.3, 2.1], [3.0, 4.0], [-1.0, 2.2]):
            for jac in ("2-point", "3-point"):
                res_sp = sp_lm(fun, x0, jac=jac)
                res_lm = lm_lm(fun, x0, jac=jac)
                assert differing_fields(res_lm, res_sp) == [], (x0, jac)


def test_signature_is_scipys_with_default_method_lm():
    ours = inspect.signature(lmfast.least_squares).parameters
    theirs = inspect.signature(scipy.optimize.least_squares).parameters
    assert list(ours) == list(theirs)
    for name, param in theirs.items():
        expected = "lm" if name == "method" else param.default
        assert ours[name].kind == param.kind
        if name == "bounds":
            assert tuple(ours[name].default) == tuple(expected)
        else:
            assert ours[name].default == expected, name
    assert theirs["method"].default == "trf"


def test_docstring_examples():
    failures, tried = doctest.testmod(_least_squares,
                                      optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


# --------------------------------------------------------------------------------------
# Bad input: SciPy's exceptions
# --------------------------------------------------------------------------------------


class Boom(Exception):
    pass


def _raise_boom(*args, **kwargs):
    raise Boom("from the user's function")


BAD_INPUT = {
    "method": (decay, [2.0, 0.0], {"method": "newton"}),
    "method None": (decay, [2.0, 0.0], {"method": None}),
    "jac name": (decay, [2.0, 0.0], {"jac": "4-point"}),
    "tr_solver": (decay, [2.0, 0.0], {"tr_solver": "qr"}),
    "loss name": (decay, [2.0, 0.0], {"loss": "l1"}),
    "verbose": (decay, [2.0, 0.0], {"verbose": 3}),
    "max_nfev 0": (decay, [2.0, 0.0], {"max_nfev": 0}),
    "max_nfev float": (decay, [2.0, 0.0], {"max_nfev": 5.0}),
    "max_nfev huge": (decay, [2.0, 0.0], {"max_nfev": 2**40}),
    "complex x0": (decay, [2.0 + 1j, 0.0], {}),
    "2-D x0": (decay, [[2.0, 0.0]], {}),
    "string x0": (decay, ["a", 0.0], {}),
    "NaN x0": (decay, [np.nan, 0.0], {}),
    "inf x0": (decay, [np.inf, 0.0], {}),
    "bounds": (decay, [2.0, 0.0], {"bounds": (0.0, 10.0)}),
    "one-sided bounds": (decay, [2.0, 0.0], {"bounds": ([-np.inf, 0.0], np.inf)}),
    "bounds of 3": (decay, [2.0, 0.0], {"bounds": (0, 1, 2)}),
    "infinite bounds, wrong shape": (decay, [2.0, 0.0], {"bounds": ([-np.inf] * 3, np.inf)}),
    "x_scale negative": (decay, [2.0, 0.0], {"x_scale": [-1.0, 1.0]}),
    "x_scale inf": (decay, [2.0, 0.0], {"x_scale": np.inf}),
    "x_scale name": (decay, [2.0, 0.0], {"x_scale": "auto"}),
    "x_scale shape": (decay, [2.0, 0.0], {"x_scale": [1.0, 2.0, 3.0]}),
    "ftol tiny": (decay, [2.0, 0.0], {"ftol": 1e-20}),
    "tolerances None": (decay, [2.0, 0.0], {"ftol": None, "xtol": None, "gtol": None}),
    "m < n": (lambda x: x[:1], [1.0, 2.0], {}),
    "m < n, jac": (lambda x: x[:1], [1.0, 2.0], {"jac": lambda x: np.ones((1, 2))}),
    "2-D residuals": (lambda x: np.ones((2, 3)) * x[0], [1.0, 2.0], {}),
    "2-D residuals, jac": (lambda x: np.ones((2, 3)) * x[0], [1.0, 2.0],
                           {"jac": lambda x: np.ones((6, 2))}),
    "NaN residuals": (lambda x: np.full(3, np.nan), [1.0, 2.0], {}),
    "complex residuals": (lambda x: x + 1j, [1.0], {}),
    "jac wrong shape": (decay, [2.0, 0.0], {"jac": lambda x: np.ones((3, 3))}),
    "jac transposed": (decay, [2.0, 0.0], {"jac": lambda x: decay_jac(x).T}),
    "jac sparse": (decay, [2.0, 0.0], {"jac": lambda x: scipy.sparse.csr_matrix(decay_jac(x))}),
    "jac LinearOperator": (decay, [2.0, 0.0], {
        "jac": lambda x: scipy.sparse.linalg.aslinearoperator(decay_jac(x))}),
    "diff_step wrong shape": (decay, [2.0, 0.0], {"diff_step": [1e-3, 1e-3, 1e-3]}),
    "args not a sequence": (decay, [2.0, 0.0], {"args": 1.0}),
    "unknown kwarg": (decay, [2.0, 0.0], {"kwargs": {"nope": 1}}),
}


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input_raises_what_scipy_raises(name):
    fun, x0, options = BAD_INPUT[name]
    options = {"method": "lm", **options}
    exc_sp, warn_sp, _ = outcome(scipy.optimize.least_squares, fun, x0, **options)
    exc_lm, warn_lm, _ = outcome(lmfast.least_squares, fun, x0, **options)
    assert isinstance(exc_sp, Exception), "SciPy accepted it: not a bad-input case"
    assert isinstance(exc_lm, Exception), f"lmfast returned {exc_lm!r}"
    if type(exc_sp).__name__ == "error":  # scipy.optimize._minpack.error (private)
        assert isinstance(exc_lm, lmfast.MinpackError)
    else:
        assert type(exc_lm) is type(exc_sp)
    assert str(exc_lm) == str(exc_sp)
    # Warnings from lmfast's own checks are SciPy's (NumPy's arithmetic warnings aside).
    assert ([w for w in warn_lm if w[0] is UserWarning]
            == [w for w in warn_sp if w[0] is UserWarning])


def test_a_callable_loss_is_scipys_only():
    """lmfast's 'lm' takes SciPy's named losses (test_robust_loss.py); SciPy's 'lm'
    refuses every loss but 'linear', and a callable one stays SciPy's (trf, dogbox)."""
    with pytest.raises(ValueError, match="not a callable one"):
        lmfast.least_squares(decay, [2.0, 0.0], method="lm", loss=lambda z: z)
    with pytest.raises(ValueError, match="only 'linear' loss"):
        scipy.optimize.least_squares(decay, [2.0, 0.0], method="lm", loss="huber")


@pytest.mark.parametrize("where", ["fun at x0", "fun later", "fun in differences",
                                   "jac at x0", "jac later"])
def test_errors_in_user_functions_propagate_unchanged(where):
    calls = {"fun": 0, "jac": 0}
    raised = Boom("from the user's function")
    trigger = {"fun at x0": ("fun", 1), "fun later": ("fun", 3),
               "fun in differences": ("fun", 2), "jac at x0": ("jac", 1),
               "jac later": ("jac", 2)}[where]

    def counted(kind, f):
        def wrapper(x):
            calls[kind] += 1
            if (kind, calls[kind]) == trigger:
                raise raised
            return f(x)
        return wrapper

    jac = counted("jac", decay_jac) if where.startswith("jac") else "2-point"
    with pytest.raises(Boom) as info:
        lmfast.least_squares(counted("fun", decay), [2.0, 0.0], jac=jac)
    assert info.value is raised


def test_base_exceptions_propagate():
    def fun(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lmfast.least_squares(fun, [1.0])


def test_inputs_not_modified():
    x0 = np.array([2.0, 0.0])
    x_scale = np.array([1.0, 10.0])
    diff_step = np.array([1e-4, 1e-4])
    shift = np.array([0.5])
    kept = [a.copy() for a in (x0, x_scale, diff_step, shift)]
    seen = []

    def fun(x, shift):
        seen.append(x)
        return decay(x, shift=shift[0])

    read_only = x0.copy()
    read_only.setflags(write=False)
    res = lmfast.least_squares(fun, read_only, x_scale=x_scale, diff_step=diff_step,
                               args=(shift,))
    for before, after in zip(kept, (x0, x_scale, diff_step, shift), strict=True):
        np.testing.assert_array_equal(before, after)
    assert all(x is not res.x for x in seen)


def test_user_writing_into_x_does_not_change_the_fit():
    """Each call gets its own copy of x, as SciPy's wrapper passes one."""
    def scribbler(x):
        value = decay(x)
        x[:] = 1e6
        return value

    res_sp = sp_lm(scribbler, [2.0, 0.0])
    res_lm = lm_lm(scribbler, [2.0, 0.0])
    assert differing_fields(res_lm, res_sp) == []


# --------------------------------------------------------------------------------------
# What SciPy's function runs
# --------------------------------------------------------------------------------------

FORWARDED = {
    "trf": {"method": "trf"},
    "dogbox with bounds": {"method": "dogbox", "bounds": ([0.0, -5.0], [10.0, 5.0])},
    "trf huber": {"method": "trf", "loss": "huber", "f_scale": 0.1},
    "workers": {"method": "lm", "workers": map},
    "Bounds object": {"method": "lm", "bounds": scipy.optimize.Bounds(-np.inf, np.inf)},
    "jac_sparsity": {"method": "lm", "jac_sparsity": np.ones((9, 2))},
}


@pytest.mark.parametrize("name", list(FORWARDED))
def test_forwarded_calls_give_scipys_answer(name):
    options = FORWARDED[name]
    res_sp, warn_sp, out_sp = outcome(scipy.optimize.least_squares, decay, [2.0, 0.5],
                                      **options)
    res_lm, warn_lm, out_lm = outcome(lmfast.least_squares, decay, [2.0, 0.5], **options)
    if isinstance(res_sp, Exception):
        assert type(res_lm) is type(res_sp) and str(res_lm) == str(res_sp)
    else:
        assert set(res_lm) == set(res_sp)
        for key in res_sp:
            np.testing.assert_array_equal(res_lm[key], res_sp[key], err_msg=key)
    assert warn_lm == warn_sp and out_lm == out_sp


def test_forwarding_passes_every_argument_unchanged(monkeypatch):
    received = {}

    def fake_scipy(fun, x0, **kwargs):
        received.update(kwargs, fun=fun, x0=x0)
        return "scipy's answer"

    monkeypatch.setattr(_scipy, "original", lambda name: fake_scipy)
    given = {"jac": decay_jac, "bounds": ([0, 0], [5, 5]), "method": "trf", "ftol": 1e-5,
             "xtol": 1e-6, "gtol": 1e-7, "x_scale": np.ones(2), "loss": "cauchy",
             "f_scale": 2.0, "diff_step": 1e-3, "tr_solver": "lsmr",
             "tr_options": {"regularize": False}, "jac_sparsity": None, "max_nfev": 9,
             "verbose": 0, "args": (1.0,), "kwargs": {"shift": 0.0}, "callback": print,
             "workers": None}
    x0 = [1.0, 1.0]
    assert lmfast.least_squares(decay, x0, **given) == "scipy's answer"
    assert received.pop("fun") is decay and received.pop("x0") is x0
    assert received.keys() == given.keys()
    assert all(received[k] is given[k] for k in given)


@pytest.mark.parametrize("options", [{"method": "trf"}, {"method": "dogbox"},
                                     {"workers": map}])
def test_without_scipy_forwarded_calls_raise_valueerror(monkeypatch, options):
    monkeypatch.setattr(_scipy, "original", lambda name: None)
    with pytest.raises(ValueError, match="install SciPy"):
        lmfast.least_squares(decay, [2.0, 0.0], **options)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("where", ["jacobian", "residuals"])
def test_nonfinite_at_x0_gets_scipys_answer(bad, where):
    """NaN or inf at x0: in fun, SciPy's ValueError; in jac, MINPACK carries on with
    them, and so does lmfast."""
    def jac(x):
        J = np.ones((9, 2))
        J[3, 1] = bad if where == "jacobian" else 1.0
        return J

    def fun(x):
        r = decay(x)
        r[2] = bad if where == "residuals" else r[2]
        return r

    with np.errstate(invalid="ignore"):
        res_sp, _, _ = outcome(sp_lm, fun, [2.0, 0.0], jac=jac)
        res_lm, _, _ = outcome(lm_lm, fun, [2.0, 0.0], jac=jac)
    if where == "residuals":  # SciPy's own check, before MINPACK
        assert type(res_lm) is type(res_sp) is ValueError
        assert str(res_lm) == str(res_sp) == "Residuals are not finite in the initial point."
    else:
        assert differing_fields(res_lm, res_sp) == []


# --------------------------------------------------------------------------------------
# The result without SciPy
# --------------------------------------------------------------------------------------


def test_result_without_scipy_is_a_dict_with_attributes(monkeypatch):
    monkeypatch.setattr(_optimize_result, "_result_class", None)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # import fails
    res = lmfast.least_squares(decay, [2.0, 0.0])
    monkeypatch.undo()
    assert type(res) is _optimize_result.OptimizeResult and isinstance(res, dict)
    res_sp = sp_lm(decay, [2.0, 0.0])
    assert list(res) == list(res_sp)
    assert differing_fields(res, res_sp) == []
    assert res.status == res["status"] and "nfev" in dir(res)
    res.extra = 1
    assert res["extra"] == 1
    del res.extra
    with pytest.raises(AttributeError):
        res.extra  # noqa: B018
    assert "status: 3" in repr(res) and "message:" in repr(res)
