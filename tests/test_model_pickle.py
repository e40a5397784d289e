"""Models travel to other processes (dask workers, multiprocessing): built-in, lineshape,
prefixed and composite models pickle; a from_cfunc model refuses, with what to do; a
from_factory model is built again by its factory, once per process."""

import concurrent.futures
import multiprocessing
import pickle

import numpy as np
import pytest
from batch_helpers import np_gaussian

import lmfast
from lmfast import lineshapes, models


def capsule_gaussian(name="gaussian_c"):
    """A from_cfunc model made of the built-in gaussian's C functions (no compiler)."""
    f, jac = lmfast._models._capsules("gaussian")
    return models.from_cfunc(name, models.gaussian.param_names, f, jac)


MODELS = {
    "polynomial2": lambda: models.polynomial(2),
    "voigt": lambda: lineshapes.model("voigt"),
    "prefixed": lambda: models.lorentzian.prefixed("l_"),
    "composite": lambda: (lineshapes.model("gaussian", prefix="p1_")
                          + lineshapes.model("gaussian", prefix="p2_")
                          + lineshapes.model("linear")),
    "factory": lambda: models.from_factory(capsule_gaussian),
}


@pytest.mark.parametrize("name", MODELS)
def test_models_pickle_to_the_same_function(name):
    model = MODELS[name]()
    copy = pickle.loads(pickle.dumps(model))
    assert copy.name == model.name and copy.param_names == model.param_names
    x = np.linspace(-2.0, 3.0, 17)
    p = np.linspace(0.5, 1.5, model.n_params)
    assert np.array_equal(copy(x, *p), model(x, *p))
    assert np.array_equal(copy.jac(x, *p), model.jac(x, *p))


def test_a_composite_unpickles_to_a_model_fitting_the_same():
    model = MODELS["composite"]()
    copy = pickle.loads(pickle.dumps(model))
    x = np.linspace(0, 10, 80)
    truth = [3.0, 3.0, 0.5, 2.0, 6.5, 0.7, 0.05, 0.2]
    y = np.stack([model(x, *truth), model(x, *np.multiply(truth, 1.01))])
    start = np.multiply(truth, 0.9)
    a = lmfast.curve_fit_batch(model, x, y, start)
    b = lmfast.curve_fit_batch(copy, x, y, start)
    assert a.success.all() and np.array_equal(a.popt, b.popt)
    np.testing.assert_allclose(a.popt[0], truth, rtol=1e-8)


def test_from_cfunc_model_refuses_to_pickle_and_says_what_to_do():
    # named like a built-in model: it must not come back as the built-in one
    raw = capsule_gaussian(name="gaussian")
    with pytest.raises(TypeError, match=r"C functions.*lmfast.models.from_factory"):
        pickle.dumps(raw)
    with pytest.raises(TypeError, match="from_factory"):
        pickle.dumps(raw.prefixed("a_"))
    with pytest.raises(TypeError, match="from_factory"):
        pickle.dumps(raw + models.polynomial(0))


FACTORY_CALLS = []


def shared_gaussian(tag):
    """Records its call; returns a model shared with others (from_factory must not change
    it)."""
    FACTORY_CALLS.append(tag)
    return models.gaussian


def test_from_factory_runs_the_factory_once_per_process():
    calls = FACTORY_CALLS
    calls.clear()
    model = models.from_factory(shared_gaussian, "offset")
    assert calls == ["offset"]
    assert model is not models.gaussian and model.param_names == models.gaussian.param_names
    assert pickle.loads(pickle.dumps(models.gaussian)) is models.gaussian
    copy = pickle.loads(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy is model and calls == ["offset"]  # this process has it already


def test_from_factory_checks_its_factory():
    with pytest.raises(TypeError, match="factory must be callable"):
        models.from_factory(3)
    with pytest.raises(TypeError, match="must return a lmfast.models.Model"):
        models.from_factory(lambda: np_gaussian)


def fit_in_child(model, x, y, p0):
    return lmfast.curve_fit_batch(model, x, y, p0).popt


def test_from_factory_model_fits_in_a_spawned_process():
    model = models.from_factory(capsule_gaussian)
    x = np.linspace(0, 10, 40)
    y = np.stack([np_gaussian(x, a, 5.0, 1.0, 0.1) for a in (1.0, 2.0, 3.0)])
    p0 = [1.5, 4.5, 1.2, 0.0]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        popt = pool.submit(fit_in_child, model, x, y, p0).result(timeout=120)
    assert np.array_equal(popt, lmfast.curve_fit_batch(models.gaussian, x, y, p0).popt)
    np.testing.assert_allclose(popt[:, 0], [1.0, 2.0, 3.0], rtol=1e-8)


def test_lineshape_models_pickle_as_a_reference_to_the_registry():
    # plain or prefixed: the call lineshapes.model(name, prefix), no function addresses
    for model, args in ((lineshapes.model("voigt"), ("voigt",)),
                        (lineshapes.model("voigt", prefix="p1_"), ("voigt", "p1_"))):
        assert model.__reduce__() == (lineshapes.model, args)
        assert model.model_id == lmfast._models.registry()["lineshapes.voigt"][0]
    assert pickle.loads(pickle.dumps(lineshapes.model("voigt"))) is lineshapes.model("voigt")
    # the form earlier versions wrote, lineshapes._plain_model(name), still loads
    old = pickle.dumps(lineshapes.model("voigt"), protocol=2).replace(
        b"lmfast.lineshapes\nmodel\n", b"lmfast.lineshapes\n_plain_model\n")
    assert old != pickle.dumps(lineshapes.model("voigt"), protocol=2)
    assert pickle.loads(old) is lineshapes.model("voigt")
