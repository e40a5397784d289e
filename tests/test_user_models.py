"""A user's compiled model (``lmfast.models.from_cfunc``): capsules, ctypes, checks.

The built-in models' own C functions, handed back as PyCapsules, make a user model whose
fits must be bit for bit those of the built-in model; a C model compiled here with the
system compiler and loaded through ctypes is checked against SciPy with the same formula
in NumPy.
"""

import ctypes
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.optimize

import lmfast
from lmfast import _models, curve_fit_batch, models

RNG = np.random.default_rng(7)
X = np.linspace(-3.0, 3.0, 50)
TRUTH = np.column_stack([RNG.uniform(1, 3, 40), RNG.uniform(-0.3, 0.3, 40),
                         RNG.uniform(0.6, 1.0, 40), RNG.uniform(0, 0.5, 40)])
Y = models.gaussian(X, *TRUTH.T[:, :, None]) + RNG.normal(0, 0.01, (40, X.size))
P0 = [1.5, 0.0, 0.9, 0.2]
FIELDS = ("popt", "pcov", "chisq", "ier", "nfev", "njev")


def same(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True) for k in FIELDS)


@pytest.fixture(scope="module")
def capsule_gaussian():
    f, jac = _models._capsules("gaussian")
    return models.from_cfunc("my_gaussian", models.gaussian.param_names, f, jac)


def test_capsule_model_fits_bit_for_bit_like_the_builtin(capsule_gaussian):
    builtin = curve_fit_batch(models.gaussian, X, Y, P0)
    user = curve_fit_batch(capsule_gaussian, X, Y, P0, threads=2)
    assert builtin.success.all()
    assert same(builtin, user)


def test_capsule_model_without_jacobian_uses_forward_differences():
    f, _ = _models._capsules("gaussian")
    model = models.from_cfunc("fd_gaussian", models.gaussian.param_names, f)
    assert not model.has_jacobian
    res = curve_fit_batch(model, X, Y, P0)
    for i in (0, 17, 39):
        popt, _, info, _, ier = lmfast.curve_fit(models.gaussian, X, Y[i], P0,
                                                    full_output=True)
        assert res.ier[i] == ier and res.nfev[i] == info["nfev"]
        np.testing.assert_array_equal(res.popt[i], popt)
    with pytest.raises(TypeError, match="no Jacobian"):
        model.jac(X, *P0)
    with pytest.raises(ValueError, match="no Jacobian"):
        curve_fit_batch(model, X, Y, P0, jac=model.jac)


def test_user_model_called_from_python_broadcasts(capsule_gaussian):
    p = (2.0, 0.1, 0.8, 0.3)
    np.testing.assert_allclose(capsule_gaussian(X, *p), models.gaussian(X, *p), rtol=1e-15)
    columns = np.array([[1.0], [2.0], [3.0]])
    values = capsule_gaussian(X, columns, 0.1, 0.8, 0.3)
    assert values.shape == (3, X.size)
    np.testing.assert_allclose(values, models.gaussian(X, columns, 0.1, 0.8, 0.3), rtol=1e-15)
    jac = capsule_gaussian.jac(X, columns, 0.1, 0.8, 0.3)
    assert jac.shape == (3, X.size, 4)
    np.testing.assert_allclose(jac, models.gaussian.jac(X, columns, 0.1, 0.8, 0.3),
                               rtol=1e-13, atol=1e-16)


def test_single_curve_fit_runs_the_user_model(capsule_gaussian):
    got = lmfast.curve_fit(capsule_gaussian, X, Y[3], P0, jac=capsule_gaussian.jac)
    want = lmfast.curve_fit(models.gaussian, X, Y[3], P0, jac=models.gaussian.jac)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_capsule_with_another_name_is_refused():
    f, _ = _models._capsules("gaussian")
    capsule_new = ctypes.pythonapi.PyCapsule_New
    capsule_new.restype = ctypes.py_object
    capsule_new.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)
    address = _models._capsule_address(f)
    wrong = capsule_new(address, b"double (double)", None)
    with pytest.raises(TypeError, match="named"):
        models.from_cfunc("g", ("a", "b", "c", "d"), wrong)


@pytest.mark.parametrize("bad", [42, None, "gaussian", np.exp, lambda p: p])
def test_what_is_not_a_c_function_is_refused(bad):
    with pytest.raises(TypeError, match="cfunc, a ctypes function pointer or a PyCapsule"):
        models.from_cfunc("g", ("a",), bad)


def test_argument_checks():
    f, _ = _models._capsules("gaussian")
    with pytest.raises(ValueError, match="at least one parameter"):
        models.from_cfunc("g", (), f)
    with pytest.raises(ValueError, match="x_dims"):
        models.from_cfunc("g", ("a",), f, x_dims=0)


# A model compiled here: y = a * exp(-k * x) + c (+ slope * x, the slope read from the
# user data ctx when given), with its Jacobian.
C_SOURCE = r"""
#include <math.h>
#include <stddef.h>
#include <sys/types.h>
static double slope(const void *ctx) { return ctx ? ((const double *)ctx)[0] : 0.0; }
void decay(const double *p, ssize_t n, const double *x, ssize_t xs, ssize_t m, double *f,
           void *ctx) {
    double s = slope(ctx);
    for (ssize_t i = 0; i < m; i++) f[i] = p[0] * exp(-p[1] * x[i]) + p[2] + s * x[i];
}
void decay_jac(const double *p, ssize_t n, const double *x, ssize_t xs, ssize_t m,
               double *j, void *ctx) {
    for (ssize_t i = 0; i < m; i++) {
        double e = exp(-p[1] * x[i]);
        j[i * n] = e; j[i * n + 1] = -p[0] * x[i] * e; j[i * n + 2] = 1.0;
    }
}
double wrong(double x) { return x; }
"""
SIGNATURE = (ctypes.POINTER(ctypes.c_double), ctypes.c_ssize_t, ctypes.POINTER(ctypes.c_double),
             ctypes.c_ssize_t, ctypes.c_ssize_t, ctypes.POINTER(ctypes.c_double),
             ctypes.c_void_p)


@pytest.fixture(scope="module")
def c_library(tmp_path_factory):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not sys.platform.startswith("linux"):
        pytest.skip("needs a C compiler on Linux to build the test model")
    folder = tmp_path_factory.mktemp("cmodel")
    (folder / "decay.c").write_text(C_SOURCE)
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(folder / "decay.so"),
                    str(folder / "decay.c"), "-lm"], check=True)
    library = ctypes.CDLL(str(folder / "decay.so"))
    for name in ("decay", "decay_jac"):
        getattr(library, name).argtypes = SIGNATURE
        getattr(library, name).restype = None
    library.wrong.argtypes = (ctypes.c_double,)
    library.wrong.restype = ctypes.c_double
    return library


def numpy_decay(x, a, k, c):
    return a * np.exp(-k * x) + c


@pytest.mark.parametrize("form", ["no-ctx", "array", "ctypes"])
def test_ctypes_model_matches_scipy(c_library, form):
    """A C model fits as SciPy fits the same formula written in NumPy; its constant (a
    slope, 0 without user data) travels through ctx as an array or a ctypes object."""
    slope = 0.0 if form == "no-ctx" else 0.25
    ctx = {"no-ctx": None, "array": np.array([slope]),
           "ctypes": (ctypes.c_double * 1)(slope)}[form]
    model = models.from_cfunc("decay", ("a", "k", "c"), c_library.decay, c_library.decay_jac,
                              ctx=ctx)
    if form == "array":
        ctx[0] = 99.0  # the model holds its own copy

    def numpy_model(x, a, k, c):
        return numpy_decay(x, a, k, c) + slope * x

    t = np.linspace(0.0, 5.0, 60)
    rng = np.random.default_rng(3)
    truth = np.column_stack([rng.uniform(1, 4, 30), rng.uniform(0.3, 2.0, 30),
                             rng.uniform(-0.5, 0.5, 30)])
    y = numpy_model(t, *truth.T[:, :, None]) + rng.normal(0, 0.01, (30, t.size))
    res = curve_fit_batch(model, t, y, [2.0, 1.0, 0.0])
    assert res.success.all()
    for i in range(0, 30, 7):
        popt, pcov = scipy.optimize.curve_fit(numpy_model, t, y[i], [2.0, 1.0, 0.0])
        np.testing.assert_allclose(res.popt[i], popt, rtol=1e-6)
        np.testing.assert_allclose(res.pcov[i], pcov, rtol=1e-4)
    np.testing.assert_allclose(model(t, 2.0, 0.5, 0.1), numpy_model(t, 2.0, 0.5, 0.1),
                               rtol=1e-15)


def test_ctx_must_be_data_not_an_address(c_library):
    with pytest.raises(TypeError, match="ctx"):
        models.from_cfunc("d", ("a", "k", "c"), c_library.decay, ctx=12345)
    with pytest.raises(TypeError, match="ctx"):
        models.from_cfunc("d", ("a", "k", "c"), c_library.decay, ctx=[1j])


def test_ctypes_function_of_another_signature_is_refused(c_library):
    with pytest.raises(TypeError, match="signature"):
        models.from_cfunc("w", ("a",), c_library.wrong)
    undeclared = ctypes.CFUNCTYPE(None)(lambda: None)
    with pytest.raises(TypeError, match="signature"):
        models.from_cfunc("w", ("a",), undeclared)
    old = ctypes.CFUNCTYPE(None, *SIGNATURE[:-1])(lambda *args: None)  # before ctx
    with pytest.raises(TypeError, match="signature"):
        models.from_cfunc("w", ("a",), old)
