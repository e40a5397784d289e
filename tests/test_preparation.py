"""One preparation path: lmfast.curve_fit_batch and lmfast.dask.curve_fit_batch run the
rules of lmfast._validate, so the same bad input raises the same exception class with the
same message, eagerly and lazily (at the call: the lazy batch reads the arrays' shapes and
dtypes, and the data-free checks run on an empty batch).

Each case is one rule, given once as NumPy arrays to the eager batch and once to the lazy
one with ydata alone, or every array, as a Dask array.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="dask[array] is not installed (the 'dask' extra)")
from batch_helpers import np_gaussian

import lmfast
import lmfast.dask
from lmfast import _models, models

N, M = 6, 41
X = np.linspace(-5.0, 5.0, M)
P0 = np.array([[3.0, 0.1 * i, 1.2, 0.5] for i in range(N)])
Y = np.array([np_gaussian(X, *p) for p in P0])
INF = np.inf


def _model_without_jacobian():
    f, _ = _models._capsules("gaussian")
    return models.from_cfunc("fd_gaussian", models.gaussian.param_names, f)


_NO_JAC = _model_without_jacobian()

# case: (f, the arguments that differ from (X, Y, P0), what the message says).  Every
# case is an error of the whole batch, raised at the call.
CASES = {
    # f, jac and x_dims (batch_model, compiled_model)
    "f-not-callable": (42, {}, "f must be"),
    "jac-not-callable": (models.gaussian, {"jac": "2-point"}, "jac must be"),
    "x_dims-not-the-models": (models.gaussian, {"x_dims": 2}, "reads 1 row"),
    "jac-of-a-model-without-one": (_NO_JAC, {"jac": _NO_JAC.jac}, "no Jacobian"),
    # ydata (batch_ydata_shape)
    "ydata-1d": (models.gaussian, {"ydata": Y[0]}, "ydata must be 2-D"),
    "ydata-3d": (models.gaussian, {"ydata": Y[None]}, "ydata must be 2-D"),
    "ydata-complex": (models.gaussian, {"ydata": Y * 1j}, "real numbers"),
    "ydata-object": (models.gaussian, {"ydata": Y.astype(object)}, "real numbers"),
    "ydata-no-points": (models.gaussian, {"xdata": np.zeros(0), "ydata": np.zeros((N, 0))},
                        "at least one point"),
    # p0 (batch_p0_shape, model_p0_length)
    "p0-rows": (models.gaussian, {"p0": P0[:-1]}, "p0 must have shape"),
    "p0-n-short": (models.gaussian, {"p0": P0[0, :3]}, "takes 4"),
    "p0-n-long": (models.gaussian, {"p0": np.ones(5)}, "takes 4"),
    "p0-per-fit-n-short": (models.gaussian, {"p0": P0[:, :3]}, "takes 4"),
    "p0-3d": (models.gaussian, {"p0": P0[None]}, "p0 must have shape"),
    "p0-empty": (np_gaussian, {"p0": np.zeros(0)}, "at least one parameter"),
    "p0-object": (models.gaussian, {"p0": np.array(list("abcd"), dtype=object)},
                  "real numbers"),
    # xdata (x_layout)
    "xdata-m": (models.gaussian, {"xdata": X[:-1]}, "end with the M=41 points"),
    "xdata-m-of-ydata": (models.gaussian, {"ydata": Y[:, :3]}, "end with the M=3 points"),
    "xdata-rows": (models.gaussian, {"xdata": np.tile(X, (N - 1, 1))}, "x_dims=1 must"),
    "xdata-per-fit-rows": (np_gaussian, {"xdata": np.tile(X, (N - 1, 1, 1))},
                           "does not match N"),
    "xdata-ambiguous": (np_gaussian, {"xdata": np.tile(X, (N, 1))}, "pass x_dims=1"),
    "xdata-4d": (np_gaussian, {"xdata": X[None, None, None]}, "1 to 3 dimensions"),
    "xdata-complex": (models.gaussian, {"xdata": X * 1j}, "real numbers"),
    "x_dims-zero": (np_gaussian, {"x_dims": 0}, "positive integer"),
    # sigma (batch_sigma_shape, estimator_sigma)
    "sigma-m": (models.gaussian, {"sigma": np.ones(M - 1)}, "sigma must be a scalar"),
    "sigma-rows": (models.gaussian, {"sigma": np.ones((N - 1, M))}, "sigma must be"),
    "sigma-covariance": (models.gaussian, {"sigma": np.eye(M)}, "covariance matrix"),
    "sigma-complex": (models.gaussian, {"sigma": np.ones(M) * 1j}, "real numbers"),
    "sigma-with-poisson": (models.gaussian, {"sigma": np.ones(M), "estimator": "poisson"},
                           "sigma must be None"),
    # bounds (bounds_sides, batch_bounds_shape; the values of shared bounds)
    "bounds-n": (models.gaussian, {"bounds": (np.zeros(5), INF)}, "bounds must be"),
    "bounds-rows": (models.gaussian, {"bounds": (np.zeros((N - 1, 4)), INF)},
                    "bounds must be"),
    "bounds-complex": (models.gaussian, {"bounds": (np.zeros(4) * 1j, INF)},
                       "real numbers"),
    "bounds-not-a-pair": (models.gaussian, {"bounds": (0.0, 1.0, 2.0)}, "unpack"),
    "bounds-order": (models.gaussian, {"bounds": ([0.0, 0, 0, 0], [9.0, 9, 0, 9])},
                     "strictly less"),
    "bounds-too-wide": (models.gaussian, {"p0": P0[0], "bounds": (-INF, [1e9, INF, INF, INF])},
                        "cannot resolve"),
    # fixed, points, settings, estimator
    "fixed-length": (models.gaussian, {"fixed": [True, False]}, "boolean mask"),
    "fixed-all": (models.gaussian, {"fixed": [True] * 4}, "every parameter is fixed"),
    "fixed-unknown-name": (models.gaussian, {"fixed": ["nope"]}, "unknown parameters"),
    "fewer-points-than-parameters": (models.gaussian, {"xdata": X[:3], "ydata": Y[:, :3]},
                                     "at least as many points"),
    "ftol-negative": (models.gaussian, {"ftol": -1.0}, "ftol"),
    "factor-zero": (models.gaussian, {"factor": 0.0}, "factor"),
    "epsfcn-nan": (models.gaussian, {"epsfcn": np.nan}, "epsfcn"),
    "maxfev-not-an-integer": (models.gaussian, {"maxfev": 2.5}, "integer"),
    "estimator-unknown": (models.gaussian, {"estimator": "gauss"}, "estimator must be"),
    "threads-zero": (models.gaussian, {"threads": 0}, "threads"),
    "chunk_size-zero": (models.gaussian, {"chunk_size": 0}, "chunk_size"),
}

ARRAYS = ("xdata", "ydata", "p0", "sigma")


def _lazy(value):
    """A NumPy array (not a scalar) as a Dask array, its fits in chunks of 4."""
    value = np.asarray(value) if isinstance(value, (np.ndarray, list)) else value
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        return value
    return da.from_array(value, chunks=(4, *value.shape[1:]) if value.ndim > 1 else -1)


def _arguments(overrides, lazy):
    """(f's arguments, keywords): X, Y, P0 with the case's overrides, the arrays named in
    ``lazy`` as Dask arrays."""
    args = {"xdata": X, "ydata": Y, "p0": P0, **overrides}
    for name in lazy:
        if name in args:
            args[name] = _lazy(args[name])
    if "bounds" in lazy and len(args.get("bounds", ())) == 2:
        args["bounds"] = tuple(_lazy(side) for side in args["bounds"])
    return (args.pop("xdata"), args.pop("ydata"), args.pop("p0")), args


def _raised(call):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return info.value


@pytest.mark.parametrize("lazy", [("ydata",), (*ARRAYS, "bounds")], ids=["ydata", "every-array"])
@pytest.mark.parametrize("case", CASES)
def test_eager_and_lazy_batch_raise_the_same_error(case, lazy):
    f, overrides, words = CASES[case]
    args, kwargs = _arguments(overrides, ())
    eager = _raised(lambda: lmfast.curve_fit_batch(f, *args, **kwargs))
    assert words in str(eager)
    args, kwargs = _arguments(overrides, lazy)
    lazy_error = _raised(lambda: lmfast.dask.curve_fit_batch(f, *args, **kwargs))
    assert type(lazy_error) is type(eager)
    assert str(lazy_error) == str(eager)


def test_the_cases_are_accepted_once_corrected():
    """The premise: the unchanged arguments fit, eagerly and lazily alike."""
    eager = lmfast.curve_fit_batch(models.gaussian, X, Y, P0)
    lazy = lmfast.dask.curve_fit_batch(models.gaussian, _lazy(X), _lazy(Y), _lazy(P0))
    assert eager.success.all()
    np.testing.assert_array_equal(lazy.compute().popt, eager.popt)
