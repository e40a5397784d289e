"""Inputs of curve_fit_batch: their forms and sizes, and the batch-level errors.

xdata shared ((m,), (2, m)) or per fit ((N, m), (N, 2, m)), p0 shared or per fit, each
checked against single fits; an empty batch (N = 0) and a batch of one; views, Fortran
order and integer arrays give the same fits as contiguous float64; the inputs are never
modified. Batch-level problems (shapes, dtypes, threads, chunk_size, an unknown model, a
Python model or Jacobian of the wrong shape) raise TypeError or ValueError naming the
argument, before any work; an exception raised by the user's Python model or Jacobian
propagates unchanged.
"""

import math
import warnings

import numpy as np
import pytest
from batch_helpers import (
    PROBLEMS,
    assert_bitwise,
    assert_consistent,
    assert_result_shapes,
    check_against_singles,
    make_batch,
    np_gaussian,
    py_gaussian,
    py_gaussian_jac,
    run_batch,
)

import lmfast
from lmfast import curve_fit_batch, models

# --------------------------------------------------------------------------------------
# Input forms and sizes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, x_form",
    [
        ("gaussian", "shared"),  # (m,)
        ("gaussian", "per_fit"),  # (N, m)
        ("gaussian_2d", "shared"),  # (2, m)
        ("gaussian_2d", "per_fit"),  # (N, 2, m)
    ],
)
@pytest.mark.parametrize("p0_form", ["shared", "per_fit"])
def test_xdata_and_p0_forms(name, x_form, p0_form):
    problem = PROBLEMS[name]
    model = problem.model
    batch = make_batch(problem, 5, seed=7, x_form=x_form, p0_form=p0_form)
    m = problem.x.shape[-1]
    expected_x_shape = (5, *problem.x.shape) if x_form == "per_fit" else problem.x.shape
    assert batch.x.shape == expected_x_shape and batch.y.shape == (5, m)
    res = curve_fit_batch(model, *batch.args())
    assert_result_shapes(res, 5, model.n_params)
    check_against_singles(
        model, batch, res, single_jac=model.jac, numpy_model=problem.numpy_model
    )


@pytest.mark.parametrize("path", ["compiled", "python"])
@pytest.mark.parametrize("p0_form", ["shared", "per_fit"])
@pytest.mark.parametrize("x_form", ["shared", "per_fit"])
def test_empty_batch(path, p0_form, x_form):
    m = 41
    x = np.linspace(-5, 5, m) if x_form == "shared" else np.empty((0, m))
    y = np.empty((0, m))
    p0 = np.array([3.0, 0.4, 1.2, 0.5]) if p0_form == "shared" else np.empty((0, 4))
    f = models.gaussian if path == "compiled" else py_gaussian
    for sigma in (None, np.ones(m), np.empty((0, m))):
        res = curve_fit_batch(f, x, y, p0, sigma=sigma)
        assert_result_shapes(res, 0, 4)
        assert_consistent(res)


def test_empty_batch_2d():
    res = curve_fit_batch(models.gaussian_2d, np.empty((0, 2, 49)), np.empty((0, 49)),
                          np.ones(5))
    assert_result_shapes(res, 0, 5)


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_single_fit_batch(path):
    problem = PROBLEMS["gaussian"]
    batch = make_batch(problem, 1, seed=81, sigma_form="shared")
    f = problem.model if path == "compiled" else py_gaussian
    res = run_batch(f, batch)
    assert_result_shapes(res, 1, 4)
    assert_bitwise(res, run_batch(f, batch, threads=5, chunk_size=3))  # more threads than fits
    check_against_singles(
        f,
        batch,
        res,
        single_jac=problem.model.jac if path == "compiled" else None,
        numpy_model=np_gaussian,
        njev=path == "compiled",
    )


def test_non_contiguous_and_integer_inputs():
    # Views and integer arrays are data like any other: same fits as contiguous float64.
    problem = PROBLEMS["gaussian"]
    batch = make_batch(problem, 4, seed=92, sigma_form="per_fit")
    expected = run_batch(models.gaussian, batch)
    y_wide = np.zeros((4, 2 * batch.y.shape[1]))
    y_wide[:, ::2] = batch.y
    sig_t = np.ascontiguousarray(batch.sigma.T).T  # Fortran order
    res = curve_fit_batch(models.gaussian, batch.x, y_wide[:, ::2], batch.p0, sigma=sig_t)
    assert_bitwise(expected, res)
    x_int = np.arange(-5, 6)
    y_int = np.rint(4 * np.exp(-(x_int**2) / 8)).astype(np.int64)[None].repeat(2, axis=0)
    res_int = curve_fit_batch(models.gaussian, x_int, y_int, [3, 0, 2, 0])
    res_float = curve_fit_batch(models.gaussian, x_int.astype(float), y_int.astype(float),
                                np.array([3.0, 0.0, 2.0, 0.0]))
    assert_bitwise(res_int, res_float)


@pytest.mark.parametrize("path", ["compiled", "python-diff", "python-jac"])
def test_inputs_untouched(path):
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=91, x_form="per_fit", sigma_form="per_fit")
    batch.y[2, 1] = np.nan
    batch.p0 = np.asfortranarray(batch.p0)  # a layout the implementation must copy from
    before = batch.copy()
    f = models.gaussian if path == "compiled" else py_gaussian
    run_batch(f, batch, jac=py_gaussian_jac if path == "python-jac" else None)
    for name in ("x", "y", "p0", "sigma"):
        np.testing.assert_array_equal(getattr(batch, name), getattr(before, name), strict=True)


# --------------------------------------------------------------------------------------
# Batch-level errors: raised before any work, naming the argument
# --------------------------------------------------------------------------------------


_B = make_batch(PROBLEMS["gaussian"], 4, seed=61)
_M = _B.y.shape[1]


# case: (arguments, the class curve_fit_batch raises, what its message names).  The rule
# the classes follow: an array of the wrong dtype (complex, object) is a TypeError, as a
# callable or a non-integer count is; a shape, a length or a value out of range is a
# ValueError, as SciPy's curve_fit raises for a sigma of the wrong shape.
ERROR_CASES = {
    "ydata-1d": ({"ydata": _B.y[0]}, ValueError, "ydata"),  # (m,) instead of (N, m)
    "ydata-3d": ({"ydata": _B.y[None]}, ValueError, "ydata"),  # (1, N, m)
    "xdata-m": ({"xdata": _B.x[:-1]}, ValueError, "xdata"),  # m mismatch
    "xdata-N": ({"xdata": np.tile(_B.x, (3, 1))}, ValueError, "xdata"),  # per-fit N=3 vs 4
    "xdata-per-fit-m": ({"xdata": np.tile(_B.x[:-1], (4, 1))}, ValueError, "xdata"),
    # (N, 1, m) for a 1-D model
    "xdata-3d": ({"xdata": np.tile(_B.x, (4, 1, 1))}, ValueError, "xdata"),
    "p0-N": ({"p0": _B.p0[:3]}, ValueError, "p0"),  # (3, n) vs N=4
    "p0-n-short": ({"p0": _B.p0[0, :3]}, ValueError, "p0"),  # n=3 for a 4-parameter model
    "p0-n-long": ({"p0": np.ones(5)}, ValueError, "p0"),
    "p0-per-fit-n": ({"p0": _B.p0[:, :3]}, ValueError, "p0"),
    "p0-3d": ({"p0": _B.p0[None]}, ValueError, "p0"),
    "sigma-m": ({"sigma": np.ones(_M - 1)}, ValueError, "sigma"),
    "sigma-N": ({"sigma": np.ones((3, _M))}, ValueError, "sigma"),
    "sigma-per-fit-m": ({"sigma": np.ones((4, _M - 1))}, ValueError, "sigma"),
    "ydata-complex": ({"ydata": _B.y.astype(complex)}, TypeError, "ydata"),
    "ydata-object": ({"ydata": _B.y.astype(object)}, TypeError, "ydata"),
    "xdata-complex": ({"xdata": _B.x.astype(complex)}, TypeError, "xdata"),
    "p0-object": ({"p0": np.array(["a", "b", "c", "d"], dtype=object)}, TypeError, "p0"),
    "sigma-complex": ({"sigma": np.ones(_M, dtype=complex)}, TypeError, "sigma"),
    "threads-0": ({"threads": 0}, ValueError, "threads"),
    "threads-negative": ({"threads": -1}, ValueError, "threads"),
    "threads-negative-3": ({"threads": -3}, ValueError, "threads"),
    "chunk_size-0": ({"chunk_size": 0}, ValueError, "chunk_size"),
    "chunk_size-negative": ({"chunk_size": -2}, ValueError, "chunk_size"),
    "ydata-no-points": ({"xdata": np.zeros(0), "ydata": np.zeros((4, 0))}, ValueError,
                        "ydata"),
    "p0-empty": ({"p0": np.zeros(0)}, ValueError, "p0"),
}


def _applies_to_python_model(case):
    """Whether an error case is an error for a Python model too: its n comes from p0
    (a p0 of another length is no mistake), and its k is unknown ((k, m) and (N, 1, m)
    xdata are valid shared k-D / per-fit 1-D xdata)."""
    kwargs, _, match = ERROR_CASES[case]
    p0 = kwargs.get("p0")
    if match == "p0" and np.asarray(p0).dtype != object and np.shape(p0)[-1] not in (0, 4):
        return False
    return case not in ("xdata-N", "xdata-3d")


ERROR_RUNS = [(case, "compiled") for case in ERROR_CASES] + [
    (case, "python") for case in ERROR_CASES if _applies_to_python_model(case)
]


@pytest.mark.parametrize("case, path", ERROR_RUNS)
def test_batch_level_errors(case, path):
    kwargs, exc_type, match = ERROR_CASES[case]
    args = {"xdata": _B.x, "ydata": _B.y, "p0": _B.p0, **kwargs}
    f = models.gaussian if path == "compiled" else py_gaussian
    with pytest.raises(exc_type, match=rf"\b{match}\b") as info:
        curve_fit_batch(f, args.pop("xdata"), args.pop("ydata"), args.pop("p0"), **args)
    assert type(info.value) is exc_type  # the class itself, not a subclass


@pytest.mark.parametrize("f", ["gaussian", None, 42, np.ones(3)], ids=repr)
def test_unknown_model(f):
    with pytest.raises(TypeError, match=r"\bf\b"):
        curve_fit_batch(f, _B.x, _B.y, _B.p0)


def test_wrong_shape_python_model():
    def short(x, a, c, s, o):  # (K, m - 1)
        return py_gaussian(x, a, c, s, o)[..., :-1]

    with pytest.raises(TypeError, match="broadcast"):
        curve_fit_batch(short, _B.x, _B.y, _B.p0)


def test_non_broadcasting_python_model():
    # Fine for curve_fit (scalar parameters), but cannot take (K, 1) columns.
    def scalar_gaussian(x, a, c, s, o):
        return np.array([a * math.exp(-((xi - c) ** 2) / (2 * s**2)) + o for xi in x])

    lmfast.curve_fit(scalar_gaussian, _B.x, _B.y[0], _B.p0[0])  # the premise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy's size-1 array -> float
        with pytest.raises(TypeError, match="broadcast"):
            curve_fit_batch(scalar_gaussian, _B.x, _B.y, _B.p0)


def test_wrong_shape_python_jac():
    def jac_t(x, *p):  # (K, n, m) instead of (K, m, n)
        return np.swapaxes(py_gaussian_jac(x, *p), -1, -2)

    # A Python callable returning the wrong shape is a TypeError, as SciPy's leastsq
    # raises for a Dfun whose output shape does not match.
    with pytest.raises(TypeError, match=r"^jac returned shape \(\d+, 4, 41\), expected "
                                        r"\(\d+, 41, 4\)") as info:
        curve_fit_batch(py_gaussian, _B.x, _B.y, _B.p0, jac=jac_t)
    assert type(info.value) is TypeError


class Boom(Exception):
    pass


@pytest.mark.parametrize("where", ["model-first-call", "model-later", "jac"])
def test_python_exceptions_propagate_unchanged(where):
    raised = []
    calls = [0]

    def model(x, *p):
        calls[0] += 1
        if where == "model-first-call" or (where == "model-later" and calls[0] == 4):
            raised.append(Boom(f"boom {calls[0]}"))
            raise raised[-1]
        return py_gaussian(x, *p)

    def jac(x, *p):
        if where == "jac":
            raised.append(Boom("boom jac"))
            raise raised[-1]
        return py_gaussian_jac(x, *p)

    with pytest.raises(Boom) as info:
        curve_fit_batch(model, _B.x, _B.y, _B.p0, jac=jac if where == "jac" else None)
    assert type(info.value) is Boom
    assert info.value is raised[-1]
    assert str(info.value) == str(raised[-1])


BATCH_WIDE_CASES = {
    # Every fit has the same M and n: M < n is a mistake of the whole batch.
    "more-parameters-than-points": (
        (np.array([-1.0, 0.0, 1.0]), np.array([[1.0, 2.0, 1.0], [0.5, 1.0, 0.5]])), {},
        "at least as many points as free parameters"),
    "ftol-negative": ((), {"ftol": -1.0}, "ftol"),
    "xtol-negative": ((), {"xtol": -1e-8}, "xtol"),
    "gtol-nan": ((), {"gtol": np.nan}, "gtol"),
    "factor-zero": ((), {"factor": 0}, "factor"),
    "factor-inf": ((), {"factor": np.inf}, "factor"),
}


@pytest.mark.parametrize("path", ["compiled", "python"])
@pytest.mark.parametrize("case", BATCH_WIDE_CASES)
def test_batch_wide_mistakes_raise_before_any_work(case, path):
    """What MINPACK would call improper input for every fit raises ValueError naming it,
    as curve_fit_batch's docstring promises, instead of N fits with ier 0."""
    data, kwargs, match = BATCH_WIDE_CASES[case]
    x, y = data or (_B.x, _B.y)
    calls = []

    def model(x, a, c, s, o):
        calls.append(1)
        return py_gaussian(x, a, c, s, o)

    f = models.gaussian if path == "compiled" else model
    with pytest.raises(ValueError, match=match):
        curve_fit_batch(f, x, y, [1.0, 0.0, 1.0, 0.0], **kwargs)
    assert not calls
