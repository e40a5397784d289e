"""lmfast.curve_fit_batch and lmfast.BatchResult, by behaviour.

What a batch must give is defined by single fits: every row of a batch is compared
with ``lmfast.curve_fit`` on that fit alone (``popt``/``pcov`` to rounding, ``ier``,
``nfev`` and ``njev`` exactly, the message word for word) and, when it converged, with
``scipy.optimize.curve_fit`` on a NumPy model written out from the formulas of the
contract (batch_helpers.py). The other tests check invariances of the batch itself (threads, chunk size,
neighbouring rows, grouping of the Python path: bitwise), per-fit statuses, the
batch-level errors, progress, the GIL and Ctrl-C. No expected value in this file comes
from curve_fit_batch.
"""

import _thread
import math
import sys
import threading
import warnings

import numpy as np
import pytest
import scipy.optimize
from batch_helpers import (
    PROBLEMS,
    SUCCESS,
    Batch,
    assert_bitwise,
    assert_consistent,
    assert_result_shapes,
    assert_row_is_single,
    check_against_singles,
    gaussian_jac,
    make_batch,
    np_exponential,
    np_gaussian,
    np_gaussian_2d_elliptic,
    py_gaussian,
    py_gaussian_jac,
    run_batch,
    single_fit,
)
from helpers import assert_popt_close

import lmfast
from lmfast import curve_fit_batch, models

# --------------------------------------------------------------------------------------
# Compiled models: a batch is a loop of single fits
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_compiled_models_match_single_fits_and_scipy(name):
    problem = PROBLEMS[name]
    model = problem.model
    batch = make_batch(problem, 6, seed=list(PROBLEMS).index(name))
    res = curve_fit_batch(model, *batch.args())
    assert_result_shapes(res, 6, model.n_params)
    assert np.all(res.success)
    check_against_singles(
        model, batch, res, single_jac=model.jac, numpy_model=problem.numpy_model
    )


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


@pytest.mark.parametrize("sigma_form", [None, "shared", "per_fit"])
@pytest.mark.parametrize("absolute_sigma", [False, True])
def test_sigma_and_absolute_sigma_compiled(sigma_form, absolute_sigma):
    problem = PROBLEMS["gaussian"]
    batch = make_batch(problem, 5, seed=11, sigma_form=sigma_form)
    batch.kwargs["absolute_sigma"] = absolute_sigma
    res = run_batch(problem.model, batch)
    check_against_singles(
        problem.model, batch, res, single_jac=problem.model.jac, numpy_model=np_gaussian
    )


def test_absolute_sigma_changes_pcov_only():
    # The independent check of the scaling: pcov(False) = pcov(True) * chisq / (m - n).
    problem = PROBLEMS["gaussian"]
    batch = make_batch(problem, 4, seed=12, sigma_form="per_fit")
    rel = curve_fit_batch(problem.model, *batch.args(), sigma=batch.sigma)
    ab = curve_fit_batch(problem.model, *batch.args(), sigma=batch.sigma, absolute_sigma=True)
    np.testing.assert_array_equal(rel.popt, ab.popt)
    np.testing.assert_array_equal(rel.chisq, ab.chisq)
    m, n = batch.y.shape[1], 4
    np.testing.assert_allclose(rel.pcov, ab.pcov * (rel.chisq / (m - n))[:, None, None], rtol=1e-12)


def test_jac_model_jac_is_the_same_as_none():
    problem = PROBLEMS["lorentzian"]
    batch = make_batch(problem, 6, seed=13)
    a = curve_fit_batch(problem.model, *batch.args())
    b = curve_fit_batch(problem.model, *batch.args(), jac=problem.model.jac)
    assert_bitwise(a, b)


def test_leastsq_options_compiled():
    problem = PROBLEMS["pseudo_voigt"]
    batch = make_batch(problem, 5, seed=14)
    batch.kwargs.update(ftol=1e-4, xtol=1e-4, gtol=1e-3, factor=10.0)
    res = run_batch(problem.model, batch)
    # Loose tolerances stop early: compare with lmfast.curve_fit only.
    check_against_singles(problem.model, batch, res, single_jac=problem.model.jac)
    # The message has the tolerances in it.
    converged = [i for i in range(5) if res.ier[i] in SUCCESS]
    assert converged
    assert any("0.000100" in res.message(i) for i in converged)


def test_m_equal_to_n_gives_infinite_pcov_unless_absolute_sigma():
    problem = PROBLEMS["gaussian"]
    x = np.array([-1.5, -0.3, 0.4, 1.8])
    rng = np.random.default_rng(15)
    y = np_gaussian(x, 3.0, 0.4, 1.2, 0.5) + 0.01 * rng.standard_normal((3, 4))
    p0 = np.array([2.8, 0.3, 1.1, 0.45])
    for absolute_sigma in (False, True):
        batch = Batch(x, y, p0, kwargs={"absolute_sigma": absolute_sigma})
        res = run_batch(problem.model, batch)
        check_against_singles(problem.model, batch, res, single_jac=problem.model.jac)
        if not absolute_sigma:
            assert np.all(np.isinf(res.pcov[res.success]))
            assert np.all(np.isinf(res.perr[res.success]))


def test_more_parameters_than_points_is_improper_input_per_fit():
    # Contract: ier 0 "improper input for that fit (e.g. m < n)": popt NaN, no exception.
    x = np.array([-1.0, 0.0, 1.0])
    y = np.array([[1.0, 2.0, 1.0], [0.5, 1.0, 0.5]])
    res = curve_fit_batch(models.gaussian, x, y, [1.0, 0.0, 1.0, 0.0])
    assert_result_shapes(res, 2, 4)
    np.testing.assert_array_equal(res.ier, [0, 0])
    assert np.all(np.isnan(res.popt))
    assert not np.any(res.success)
    assert res.message(0) == "Improper input parameters."


# --------------------------------------------------------------------------------------
# Vectorised Python models
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_form", ["shared", "per_fit"])
@pytest.mark.parametrize("p0_form", ["shared", "per_fit"])
def test_python_model_forward_differences(x_form, p0_form):
    # lmdif: nfev counts the n evaluations of each difference Jacobian, as curve_fit does.
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=21, x_form=x_form, p0_form=p0_form)
    res = curve_fit_batch(py_gaussian, *batch.args())
    assert_result_shapes(res, 6, 4)
    assert np.all(res.success)
    check_against_singles(py_gaussian, batch, res, numpy_model=np_gaussian, njev=False)


@pytest.mark.parametrize("x_form", ["shared", "per_fit"])
def test_python_model_with_vectorised_jac(x_form):
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=22, x_form=x_form)
    res = curve_fit_batch(py_gaussian, *batch.args(), jac=py_gaussian_jac)
    assert np.all(res.success)
    check_against_singles(
        py_gaussian, batch, res, single_jac=py_gaussian_jac, numpy_model=np_gaussian
    )


@pytest.mark.parametrize("sigma_form", [None, "shared", "per_fit"])
@pytest.mark.parametrize("absolute_sigma", [False, True])
@pytest.mark.parametrize("use_jac", [False, True], ids=["diff", "jac"])
def test_sigma_and_absolute_sigma_python(sigma_form, absolute_sigma, use_jac):
    batch = make_batch(PROBLEMS["gaussian"], 4, seed=23, sigma_form=sigma_form)
    batch.kwargs["absolute_sigma"] = absolute_sigma
    jac = py_gaussian_jac if use_jac else None
    res = run_batch(py_gaussian, batch, jac=jac)
    check_against_singles(py_gaussian, batch, res, single_jac=jac, njev=use_jac)


@pytest.mark.parametrize("x_form", ["shared", "per_fit"])
def test_python_model_2d(x_form):
    # (2, m) shared or (N, 2, m) per fit: the model gets xy with X, Y first, the fits of
    # the batch on its second axis.
    # Forward differences amplify NumPy's last-bit differences between exp on (K, m) and
    # on (m,) arrays, hence the looser popt tolerance than for compiled models.
    batch = make_batch(PROBLEMS["gaussian_2d_elliptic"], 5, seed=24, x_form=x_form)
    res = curve_fit_batch(np_gaussian_2d_elliptic, *batch.args())
    check_against_singles(np_gaussian_2d_elliptic, batch, res,
                          numpy_model=np_gaussian_2d_elliptic, njev=False,
                          popt_rtol=1e-8, pcov_rtol=1e-6)


def test_leastsq_options_python():
    batch = make_batch(PROBLEMS["gaussian"], 4, seed=25)
    batch.kwargs.update(ftol=1e-5, xtol=1e-5, epsfcn=1e-10, factor=10.0)
    res = run_batch(py_gaussian, batch)
    check_against_singles(py_gaussian, batch, res, njev=False)


def test_python_model_sees_parameter_columns():
    # Contract: each parameter arrives as a (K, 1) column and the model returns (K, m);
    # with forward differences K covers the n perturbed points of each fit.
    batch = make_batch(PROBLEMS["gaussian"], 3, seed=26)
    shapes = []

    def model(x, *p):
        shapes.append(tuple(np.shape(q) for q in p))
        return py_gaussian(x, *p)

    curve_fit_batch(model, *batch.args())
    assert shapes
    for s in shapes:
        assert len(s) == 4
        assert len(set(s)) == 1 and len(s[0]) == 2 and s[0][1] == 1, s
    assert max(s[0][0] for s in shapes) >= 4  # a difference Jacobian for one fit at least


def test_python_grouping_does_not_change_rows():
    # Each row of a Python-model batch is what a batch of that fit alone gives, bitwise.
    batch = make_batch(PROBLEMS["gaussian"], 5, seed=27, x_form="per_fit", sigma_form="per_fit")
    for jac in (None, py_gaussian_jac):
        whole = run_batch(py_gaussian, batch, jac=jac)
        for i in range(5):
            one = curve_fit_batch(
                py_gaussian,
                batch.x[i : i + 1],
                batch.y[i : i + 1],
                batch.p0[i : i + 1],
                sigma=batch.sigma[i : i + 1],
                jac=jac,
            )
            assert_bitwise(whole, one, slice(i, i + 1))


# --------------------------------------------------------------------------------------
# Bitwise reproducibility: threads and chunk size
# --------------------------------------------------------------------------------------


def _poison(batch, rows):
    """NaN in ydata of the given rows (statuses must be reproducible too)."""
    for r in rows:
        batch.y[r, 3] = np.nan
    return batch


def test_threads_and_chunks_bitwise_compiled():
    batch = _poison(make_batch(PROBLEMS["gaussian"], 40, seed=31, sigma_form="per_fit"), [5, 33])
    model = models.gaussian
    ref = run_batch(model, batch, threads=1, chunk_size=1)
    assert np.sum(ref.success) == 38 and np.all(ref.ier[[5, 33]] == -2)
    for threads in (None, 1, 2, 5):
        for chunk_size in (None, 1, 3, 7, 1000):
            res = run_batch(model, batch, threads=threads, chunk_size=chunk_size)
            assert_bitwise(ref, res)


@pytest.mark.parametrize("use_jac", [False, True], ids=["diff", "jac"])
def test_threads_and_chunks_bitwise_python(use_jac):
    batch = _poison(make_batch(PROBLEMS["gaussian"], 24, seed=32, x_form="per_fit"), [2])
    jac = py_gaussian_jac if use_jac else None
    ref = run_batch(py_gaussian, batch, jac=jac, threads=1, chunk_size=1)
    assert np.sum(ref.success) == 23 and ref.ier[2] == -2
    for threads in (None, 1, 2, 5):
        for chunk_size in (None, 1, 4, 1000):
            res = run_batch(py_gaussian, batch, jac=jac, threads=threads, chunk_size=chunk_size)
            assert_bitwise(ref, res)


# --------------------------------------------------------------------------------------
# Per-fit status: a bad fit gets its own outcome and leaves its neighbours alone
# --------------------------------------------------------------------------------------

# A start from which the Gaussian fit needs ~22 evaluations with an analytic Jacobian
# (clean fits need ~5) and ~60 with forward differences (clean fits ~21): with these
# maxfev it stops with ier 5 (the premise is checked against lmfast.leastsq below).
SLOW_P0 = np.array([3.0, 3.0, 0.5, 0.5])
MAXFEV = {"compiled": 12, "python-jac": 12, "python-diff": 40}


def _poisoned_gaussian_batch(maxfev):
    """(clean batch, poisoned batch, {row in poisoned: kind}, clean row indices)."""
    clean = make_batch(PROBLEMS["gaussian"], 8, seed=41, sigma_form="per_fit")
    clean.kwargs["maxfev"] = maxfev
    m = clean.y.shape[1]
    x = clean.x
    kinds = ["nan_y", "nan_sigma", "nan_p0", "maxfev", "degenerate"]
    y_bad = np.tile(np_gaussian(x, 3.0, 0.4, 1.2, 0.5), (5, 1))
    sigma_bad = np.ones((5, m))
    p0_bad = np.tile([2.9, 0.35, 1.1, 0.45], (5, 1))
    y_bad[0, 7] = np.nan
    sigma_bad[1, 20] = np.nan
    p0_bad[2, 2] = np.nan
    p0_bad[3] = SLOW_P0
    y_bad[4] = 0.7  # constant data, start with amplitude 0: center and width drop out
    p0_bad[4] = [0.0, 0.3, 1.0, 0.7]
    # interleave: bad rows at 1, 3, 6, 7, 11 of 13
    order = "cbcbccbbcccbc"
    ys, ss, ps, row_kind, clean_rows = [], [], [], {}, []
    ci = bi = 0
    for r, o in enumerate(order):
        if o == "c":
            ys.append(clean.y[ci])
            ss.append(clean.sigma[ci])
            ps.append(clean.p0[ci])
            clean_rows.append(r)
            ci += 1
        else:
            ys.append(y_bad[bi])
            ss.append(sigma_bad[bi])
            ps.append(p0_bad[bi])
            row_kind[r] = kinds[bi]
            bi += 1
    poisoned = Batch(x, np.array(ys), np.array(ps), np.array(ss), kwargs=dict(clean.kwargs))
    return clean, poisoned, row_kind, clean_rows


@pytest.mark.parametrize("path", ["compiled", "python-diff", "python-jac"])
def test_poisoned_fits_get_own_status(path):
    maxfev = MAXFEV[path]
    clean, poisoned, row_kind, clean_rows = _poisoned_gaussian_batch(maxfev)
    if path == "compiled":
        f, jac, single_jac = models.gaussian, None, models.gaussian.jac
    elif path == "python-diff":
        f, jac, single_jac = py_gaussian, None, None
    else:
        f, jac, single_jac = py_gaussian, py_gaussian_jac, py_gaussian_jac
    before = poisoned.copy()
    res_clean = run_batch(f, clean, jac=jac)
    res = run_batch(f, poisoned, jac=jac)
    assert_result_shapes(res, 13, 4)
    assert_consistent(res)
    # Neighbours: bitwise what the batch without the bad rows gives; and those are right.
    assert np.all(res_clean.success)
    assert_bitwise(res, res_clean, np.array(clean_rows), slice(None))
    check_against_singles(f, clean, res_clean, single_jac=single_jac, njev=jac is not None)
    # The bad rows.
    for r, kind in row_kind.items():
        msg = res.message(r)
        assert isinstance(msg, str) and msg, (kind, msg)
        assert res.success[r] == (kind == "degenerate"), kind
        if kind in ("nan_y", "nan_sigma", "nan_p0"):
            assert res.ier[r] == -2, (kind, res.ier[r])
            assert np.all(np.isnan(res.popt[r])), kind
            assert np.all(np.isnan(res.pcov[r])), kind
            assert np.isnan(res.chisq[r]), kind
        elif kind == "maxfev":
            _check_maxfev_row(res, r, poisoned, maxfev, jac_given=path != "python-diff")
        else:  # degenerate: converged, singular Jacobian -> pcov inf, as curve_fit
            ref = single_fit(f, poisoned, r, jac=single_jac)
            assert ref.ier in SUCCESS and np.all(np.isinf(ref.pcov))  # the premise
            assert_row_is_single(res, r, ref, njev=jac is not None)
    np.testing.assert_array_equal(poisoned.y, before.y, strict=True)
    np.testing.assert_array_equal(poisoned.p0, before.p0, strict=True)
    np.testing.assert_array_equal(poisoned.sigma, before.sigma, strict=True)


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_inf_in_sigma_row(path):
    # An infinite sigma is a point of weight 1/inf = 0, exactly as in curve_fit: that fit
    # equals lmfast.curve_fit on it alone (and converges), the others are untouched.
    batch = make_batch(PROBLEMS["gaussian"], 5, seed=44, sigma_form="per_fit")
    batch.sigma[2, 20] = np.inf
    f = models.gaussian if path == "compiled" else py_gaussian
    res = run_batch(f, batch)
    others = [0, 1, 3, 4]
    expected = curve_fit_batch(f, batch.x, batch.y[others], batch.p0[others],
                               sigma=batch.sigma[others])
    assert_bitwise(res, expected, np.array(others))
    ref = single_fit(f, batch, 2, jac=models.gaussian.jac if path == "compiled" else None)
    assert_row_is_single(res, 2, ref)
    assert res.success[2]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("path", ["compiled", "python"])
def test_zero_in_sigma_row(path):
    # sigma 0: an infinite residual at p0 -> ier -2 for that fit only.
    batch = make_batch(PROBLEMS["gaussian"], 5, seed=45, sigma_form="per_fit")
    batch.sigma[1, 7] = 0.0
    f = models.gaussian if path == "compiled" else py_gaussian
    res = run_batch(f, batch)
    others = [0, 2, 3, 4]
    expected = curve_fit_batch(f, batch.x, batch.y[others], batch.p0[others],
                               sigma=batch.sigma[others])
    assert_bitwise(res, expected, np.array(others))
    assert res.ier[1] == -2
    assert np.all(np.isnan(res.popt[1])) and np.all(np.isnan(res.pcov[1]))
    assert np.isnan(res.chisq[1]) and not res.success[1]


def _check_maxfev_row(res, r, batch, maxfev, jac_given):
    """ier 5: popt is leastsq's last iterate, pcov NaN, chisq at popt."""
    x, y, p0, sigma = batch.single(r)

    def resid(p):
        return (np_gaussian(x, *p) - y) / sigma

    def dres(p):
        return gaussian_jac(x, *p) / sigma[:, None]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, _, info, mesg, ier = lmfast.leastsq(
            resid, p0, Dfun=dres if jac_given else None, full_output=True, maxfev=maxfev
        )
    assert ier == 5  # the premise
    assert res.ier[r] == 5
    assert res.nfev[r] == info["nfev"]
    assert res.message(r) == mesg == f"Number of calls to function has reached maxfev = {maxfev}."
    assert_popt_close(res.popt[r], popt, 1e-8)
    assert np.all(np.isnan(res.pcov[r]))
    assert res.chisq[r] == pytest.approx(np.sum(resid(res.popt[r]) ** 2), rel=1e-10)


def test_non_finite_jacobian_row():
    # A Python jac returning NaN for one fit: ier -3, popt/pcov/chisq NaN; others untouched.
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=42)
    batch.p0[3, 0] = 50.0  # amplitude 50 marks the fit whose Jacobian is NaN

    def jac(x, a, c, s, o):
        J = np.array(py_gaussian_jac(x, a, c, s, o))
        J[np.broadcast_to(np.asarray(a) > 20, J.shape[:-1])] = np.nan
        return J

    res = curve_fit_batch(py_gaussian, *batch.args(), jac=jac)
    assert res.ier[3] == -3
    assert np.all(np.isnan(res.popt[3])) and np.all(np.isnan(res.pcov[3]))
    assert np.isnan(res.chisq[3])
    others = [0, 1, 2, 4, 5]
    ok = Batch(batch.x, batch.y[others], batch.p0[others])
    assert_bitwise(res, curve_fit_batch(py_gaussian, *ok.args(), jac=jac), np.array(others))


def test_non_finite_model_value_row():
    # A Python model giving inf for one fit's start: ier -2, the others untouched.
    batch = make_batch(PROBLEMS["gaussian"], 5, seed=43)
    batch.p0[1, 3] = 1e308  # a finite start where this model is infinite

    def model(x, a, c, s, o):
        out = py_gaussian(x, a, c, s, o)
        return np.where(np.asarray(o) > 1e300, np.inf, out)

    res = curve_fit_batch(model, *batch.args())
    assert res.ier[1] == -2
    assert np.all(np.isnan(res.popt[1])) and np.isnan(res.chisq[1])
    others = [0, 2, 3, 4]
    expected = curve_fit_batch(model, batch.x, batch.y[others], batch.p0[others])
    assert_bitwise(res, expected, np.array(others))


# --------------------------------------------------------------------------------------
# Result object
# --------------------------------------------------------------------------------------


def test_result_fields_and_messages():
    batch = make_batch(PROBLEMS["exponential"], 5, seed=51, sigma_form="shared")
    model = models.exponential
    res = run_batch(model, batch)
    assert isinstance(res, lmfast.BatchResult)
    assert_result_shapes(res, 5, 3)
    assert_consistent(res)
    for i in range(5):
        ref = single_fit(model, batch, i, jac=model.jac)
        assert res.message(i) == ref.mesg
        # chisq: the weighted residuals at popt, recomputed here
        x, y, _, sigma = batch.single(i)
        chisq = np.sum(((np_exponential(x, *res.popt[i]) - y) / sigma) ** 2)
        assert res.chisq[i] == pytest.approx(chisq, rel=1e-9)
        # SciPy's leastsq words its messages the same way
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            *_, mesg, ier = scipy.optimize.leastsq(
                lambda p, x=x, y=y, s=sigma: (np_exponential(x, *p) - y) / s,
                batch.p0[i],
                full_output=True,
            )
        if ier == res.ier[i]:
            assert res.message(i) == mesg


# --------------------------------------------------------------------------------------
# Batch-level errors: raised before any work, naming the argument
# --------------------------------------------------------------------------------------

_B = make_batch(PROBLEMS["gaussian"], 4, seed=61)
_M = _B.y.shape[1]


ERROR_CASES = {
    "ydata-1d": ({"ydata": _B.y[0]}, "ydata"),  # (m,) instead of (N, m)
    "ydata-3d": ({"ydata": _B.y[None]}, "ydata"),  # (1, N, m)
    "xdata-m": ({"xdata": _B.x[:-1]}, "xdata"),  # m mismatch
    "xdata-N": ({"xdata": np.tile(_B.x, (3, 1))}, "xdata"),  # per-fit N=3 vs 4
    "xdata-per-fit-m": ({"xdata": np.tile(_B.x[:-1], (4, 1))}, "xdata"),
    "xdata-3d": ({"xdata": np.tile(_B.x, (4, 1, 1))}, "xdata"),  # (N, 1, m) for a 1-D model
    "p0-N": ({"p0": _B.p0[:3]}, "p0"),  # (3, n) vs N=4
    "p0-n-short": ({"p0": _B.p0[0, :3]}, "p0"),  # n=3 for a 4-parameter model
    "p0-n-long": ({"p0": np.ones(5)}, "p0"),
    "p0-per-fit-n": ({"p0": _B.p0[:, :3]}, "p0"),
    "p0-3d": ({"p0": _B.p0[None]}, "p0"),
    "sigma-m": ({"sigma": np.ones(_M - 1)}, "sigma"),
    "sigma-N": ({"sigma": np.ones((3, _M))}, "sigma"),
    "sigma-per-fit-m": ({"sigma": np.ones((4, _M - 1))}, "sigma"),
    "ydata-complex": ({"ydata": _B.y.astype(complex)}, "ydata"),
    "ydata-object": ({"ydata": _B.y.astype(object)}, "ydata"),
    "xdata-complex": ({"xdata": _B.x.astype(complex)}, "xdata"),
    "p0-object": ({"p0": np.array(["a", "b", "c", "d"], dtype=object)}, "p0"),
    "sigma-complex": ({"sigma": np.ones(_M, dtype=complex)}, "sigma"),
    "threads-0": ({"threads": 0}, "threads"),
    "threads-negative": ({"threads": -1}, "threads"),
    "threads-negative-3": ({"threads": -3}, "threads"),
    "chunk_size-0": ({"chunk_size": 0}, "chunk_size"),
    "chunk_size-negative": ({"chunk_size": -2}, "chunk_size"),
    "ydata-no-points": ({"xdata": np.zeros(0), "ydata": np.zeros((4, 0))}, "ydata"),
    "p0-empty": ({"p0": np.zeros(0)}, "p0"),
}


def _applies_to_python_model(case):
    """Whether an error case is an error for a Python model too: its n comes from p0
    (a p0 of another length is no mistake), and its k is unknown ((k, m) and (N, 1, m)
    xdata are valid shared k-D / per-fit 1-D xdata)."""
    kwargs, match = ERROR_CASES[case]
    p0 = kwargs.get("p0")
    if match == "p0" and np.asarray(p0).dtype != object and np.shape(p0)[-1] not in (0, 4):
        return False
    return case not in ("xdata-N", "xdata-3d")


ERROR_RUNS = [(case, "compiled") for case in ERROR_CASES] + [
    (case, "python") for case in ERROR_CASES if _applies_to_python_model(case)
]


@pytest.mark.parametrize("case, path", ERROR_RUNS)
def test_batch_level_errors(case, path):
    kwargs, match = ERROR_CASES[case]
    args = {"xdata": _B.x, "ydata": _B.y, "p0": _B.p0, **kwargs}
    f = models.gaussian if path == "compiled" else py_gaussian
    with pytest.raises((TypeError, ValueError), match=match):
        curve_fit_batch(f, args.pop("xdata"), args.pop("ydata"), args.pop("p0"), **args)


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

    with pytest.raises((TypeError, ValueError), match=r"(?i)jac"):
        curve_fit_batch(py_gaussian, _B.x, _B.y, _B.p0, jac=jac_t)


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


# --------------------------------------------------------------------------------------
# Progress bar
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_progress_with_tqdm(path, capsys):
    pytest.importorskip("tqdm")
    batch = make_batch(PROBLEMS["gaussian"], 12, seed=71)
    f = models.gaussian if path == "compiled" else py_gaussian
    plain = curve_fit_batch(f, *batch.args())
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when tqdm is there
        shown = curve_fit_batch(f, *batch.args(), progress=True, chunk_size=2)
    err = capsys.readouterr().err
    assert "12/12" in err, err  # a bar was drawn on stderr, and it reached every fit
    assert_bitwise(plain, shown)


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_progress_without_tqdm(path, monkeypatch):
    for name in [k for k in sys.modules if k == "tqdm" or k.startswith("tqdm.")] + [
        "tqdm",
        "tqdm.auto",
        "tqdm.std",
        "tqdm.autonotebook",
    ]:
        monkeypatch.setitem(sys.modules, name, None)  # `import tqdm` raises ImportError
    with pytest.raises(ImportError):
        import tqdm  # noqa: F401
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=72)
    f = models.gaussian if path == "compiled" else py_gaussian
    with pytest.warns(UserWarning, match="pip install tqdm"):
        res = curve_fit_batch(f, *batch.args(), progress=True)
    assert_bitwise(res, curve_fit_batch(f, *batch.args()))
    single_jac = models.gaussian.jac if path == "compiled" else None
    check_against_singles(f, batch, res, single_jac=single_jac, njev=path == "compiled")


# --------------------------------------------------------------------------------------
# Sizes and inputs
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Threads: the GIL, Ctrl-C
# --------------------------------------------------------------------------------------


def _large_gaussian_batch(n_fits, m, seed):
    rng = np.random.default_rng(seed)
    x = np.linspace(-5, 5, m)
    truths = np.array([3.0, 0.4, 1.2, 0.5]) * (1 + 0.1 * rng.uniform(-1, 1, (n_fits, 4)))
    y = np_gaussian(x, *truths.T[:, :, None]) + 0.03 * rng.standard_normal((n_fits, m))
    p0 = truths * (1 + 0.1 * rng.uniform(-1, 1, (n_fits, 4)))
    return x, y, p0


def test_gil_released_during_compiled_batch(monkeypatch):
    # A Python thread watches the count of finished fits while a compiled batch runs on
    # its worker threads. The switch interval is made far longer than the batch, so the
    # watcher gets the GIL during the fitting only if the workers release it: only then
    # can it see the batch part-way done (0 < done < N). No timing is asserted.
    x, y, p0 = _large_gaussian_batch(4000, 200, seed=101)
    curve_fit_batch(models.gaussian, x, y[:2], p0[:2])  # warm up (imports, first calls)
    batches = []
    run_compiled = lmfast._batch._run_compiled

    def spy(batch, *args):
        batches.append(batch)
        return run_compiled(batch, *args)

    monkeypatch.setattr(lmfast._batch, "_run_compiled", spy)
    seen = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            if batches:
                seen.add(batches[0].done)
            threading.Event().wait(1e-5)  # really blocks: lets the main thread back in

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    watcher = threading.Thread(target=watch, daemon=True)
    try:
        watcher.start()
        res = curve_fit_batch(models.gaussian, x, y, p0, threads=2)
    finally:
        stop.set()
        watcher.join()
        sys.setswitchinterval(old)
    assert np.all(res.success)
    assert any(0 < done < len(y) for done in seen), sorted(seen)


def test_keyboard_interrupt_stops_compiled_batch():
    # Ctrl-C (simulated with _thread.interrupt_main from a timer) stops a compiled batch
    # that would run for several seconds, raising KeyboardInterrupt in the caller; the
    # next batch then works. The batch is sized so that it cannot finish before the timer
    # fires (which would leave the interrupt to land elsewhere); no duration is asserted.
    x, y, p0 = _large_gaussian_batch(40000, 300, seed=102)  # ~1 s with 2 threads here
    timer = threading.Timer(0.2, _thread.interrupt_main)
    n_threads = threading.active_count()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            curve_fit_batch(models.gaussian, x, y, p0, threads=2, ftol=0.0, xtol=0.0,
                            maxfev=2000)
    finally:
        timer.cancel()
        timer.join()
    assert threading.active_count() == n_threads, [
        (t.name, t.daemon) for t in threading.enumerate()]
    batch = make_batch(PROBLEMS["gaussian"], 3, seed=103)
    res = curve_fit_batch(models.gaussian, *batch.args(), threads=2)
    check_against_singles(models.gaussian, batch, res, single_jac=models.gaussian.jac)


def test_exception_in_a_helper_thread_propagates_unchanged():
    # With several groups and threads, a Python model also runs on helper threads: an
    # exception raised there reaches the caller as is, and no thread is left running.
    class Boom(Exception):
        pass

    raised = Boom("from a helper thread")
    helper_called = threading.Event()
    main_calls = []

    def model(x, a, c, s, o):
        if threading.current_thread() is not threading.main_thread():
            helper_called.set()
            raise raised
        main_calls.append(1)
        if len(main_calls) > 1:  # after the probe: make sure a helper takes a group
            helper_called.wait(10)
        return py_gaussian(x, a, c, s, o)

    x = np.linspace(-3, 3, 40)
    y = np.asarray(models.gaussian(x, np.linspace(1, 2, 400)[:, None], 0.1, 0.8, 0.3))
    before = threading.active_count()
    with pytest.raises(Boom) as info:
        curve_fit_batch(model, x, y, [1.5, 0.0, 1.0, 0.0], threads=2, chunk_size=20)
    assert info.value is raised
    assert threading.active_count() == before


@pytest.mark.parametrize("name", ["gaussian", "gaussian_2d", "exponential"])
def test_compiled_batch_equals_curve_fit_bit_for_bit(name):
    # Same compiled model, same engine, chisq summed by the same BLAS dot: a compiled
    # batch gives each fit exactly what lmfast.curve_fit(model, jac=model.jac) gives it.
    problem = PROBLEMS[name]
    batch = make_batch(problem, 12, seed=91)
    res = run_batch(problem.model, batch)
    for i in range(12):
        ref = single_fit(problem.model, batch, i, jac=problem.model.jac)
        assert res.ier[i] == ref.ier and res.nfev[i] == ref.nfev
        np.testing.assert_array_equal(res.popt[i], ref.popt)
        np.testing.assert_array_equal(res.pcov[i], ref.pcov)


def test_callers_errstate_holds_in_helper_threads():
    # Helper threads run in a copy of the caller's context: np.errstate(divide="raise")
    # around the call makes a division by zero in the model raise there too.
    helper_called = threading.Event()
    main_calls = []

    def model(x, a, c, s, o):
        if threading.current_thread() is not threading.main_thread():
            helper_called.set()
            np.ones(1) / np.zeros(1)
        else:
            main_calls.append(1)
            if len(main_calls) > 1:
                helper_called.wait(10)
        return py_gaussian(x, a, c, s, o)

    x = np.linspace(-3, 3, 40)
    y = np.asarray(models.gaussian(x, np.linspace(1, 2, 400)[:, None], 0.1, 0.8, 0.3))
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        curve_fit_batch(model, x, y, [1.5, 0.0, 1.0, 0.0], threads=2, chunk_size=20)
