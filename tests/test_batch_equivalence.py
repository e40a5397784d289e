"""curve_fit_batch equals single fits, and is the same whatever the threads or chunks.

What a batch must give is defined by single fits: every row of a batch is compared
with ``lmfast.curve_fit`` on that fit alone (``popt``/``pcov`` to rounding, ``ier``,
``nfev`` and ``njev`` exactly, the message word for word) and, when it converged, with
``scipy.optimize.curve_fit`` on a NumPy model written out from the formulas of the
contract (batch_helpers.py): compiled models and vectorised Python models, without and
with sigma (shared or per fit), absolute_sigma and the leastsq options. A compiled batch
equals ``lmfast.curve_fit(model, jac=model.jac)`` bit for bit. Invariances of the batch
itself are bitwise: any number of threads, any chunk size, and each row of a
Python-model batch against a batch of that fit alone. No expected value in this file
comes from curve_fit_batch.
"""

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
    check_against_singles,
    make_batch,
    np_exponential,
    np_gaussian,
    np_gaussian_2d_elliptic,
    py_gaussian,
    py_gaussian_jac,
    run_batch,
    single_fit,
)

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


# --------------------------------------------------------------------------------------
# Vectorised Python models
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_form", ["shared", "per_fit"])
@pytest.mark.parametrize("p0_form", ["shared", "per_fit"])
def test_python_model_forward_differences(x_form, p0_form):
    # lmdif: nfev counts the n evaluations of each difference Jacobian, as curve_fit does.
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=21, x_form=x_form, p0_form=p0_form)
    res = curve_fit_batch(py_gaussian, *batch.args(), x_dims=batch.x_dims)
    assert_result_shapes(res, 6, 4)
    assert np.all(res.success)
    check_against_singles(py_gaussian, batch, res, numpy_model=np_gaussian, njev=False)


@pytest.mark.parametrize("x_form", ["shared", "per_fit"])
def test_python_model_with_vectorised_jac(x_form):
    batch = make_batch(PROBLEMS["gaussian"], 6, seed=22, x_form=x_form)
    res = curve_fit_batch(py_gaussian, *batch.args(), jac=py_gaussian_jac, x_dims=batch.x_dims)
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
                x_dims=batch.x_dims,
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
