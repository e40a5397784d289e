"""Fits made by packages built on SciPy (lmfit, astropy), and a clock on their solver call.

Each builder imports its package when its row runs and returns a :class:`PackageFit`:
the zero-argument fit, and the module attribute through which the package reaches SciPy's
solver, so that :class:`SolverClock` can time what happens inside that call.
"""

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from lmfast.bench.peers import lmfit_bounded, lmfit_fit
from lmfast.bench.problems import GAUSS_BOUNDS, gauss1d, gauss128_problem

#: Starting point of the astropy rows: amplitude, mean, stddev.
GAUSSIAN1D_P0 = (2.0, -0.5, 1.8)


@dataclass(frozen=True)
class PackageFit:
    """One fit by a package, ready to run.

    Parameters
    ----------
    fit : callable
        ``fit()`` runs the whole fit as a user would and returns ``(params, nfev)``: the
        fitted parameters (ndarray) and the package's count of function evaluations.
    solver_home : module
        Module whose attribute the package calls (``lmfit.minimizer``, ``scipy.optimize``).
    solver_name : str
        That attribute (``"scipy_leastsq"``, ``"leastsq"``, ``"least_squares"``).
    model : callable
        ``model()`` evaluates the model once on the data's abscissae, bare, as the
        package's residual callback does: its cost per callback.
    model_jacobian : callable, optional
        ``model_jacobian()`` evaluates the model's analytic Jacobian once, as the
        package's Jacobian callback does (``None`` when the solver takes differences).
    """

    fit: Callable[[], tuple]
    solver_home: ModuleType
    solver_name: str
    model: Callable[[], object]
    model_jacobian: Callable[[], object] | None = None


def gaussian1d_problem(seed=1):
    """One noisy Gaussian without offset on 128 points, for astropy's ``Gaussian1D``.

    Returns
    -------
    t, y : ndarray, shape (128,)
        Abscissae on ``[-5, 5]`` and data (``amplitude=3, mean=0.4, stddev=1.1``, noise 0.05).
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(-5.0, 5.0, 128)
    return t, gauss1d(t, 3.0, 0.4, 1.1, 0.0) + 0.05 * rng.standard_normal(t.size)


def lmfit_gauss128(bounded):
    """lmfit's ``Model(gauss1d).fit(method='leastsq')`` on :func:`gauss128_problem`.

    Parameters
    ----------
    bounded : bool
        Give the parameters ``GAUSS_BOUNDS`` as min/max (lmfit then fits transformed
        parameters, still with ``leastsq``), else no bounds.

    Returns
    -------
    PackageFit
        ``nfev`` is lmfit's ``result.nfev``; the model and parameters are built once.
    """
    t, y, p0 = gauss128_problem()
    bounds = GAUSS_BOUNDS if bounded else ([-np.inf] * p0.size, [np.inf] * p0.size)
    model, params = lmfit_bounded(gauss1d, p0, bounds)
    keywords = dict(zip(model.param_names, p0, strict=True))  # lmfit passes keywords

    def fit():
        result, popt = lmfit_fit(model, params, t, y)
        return popt, result.nfev

    minimizer = importlib.import_module("lmfit.minimizer")
    return PackageFit(fit, minimizer, "scipy_leastsq", lambda: gauss1d(t, **keywords))


def astropy_gauss128(fitter_name):
    """An astropy fitter fitting ``Gaussian1D`` to :func:`gaussian1d_problem`, defaults.

    The model keeps astropy's defaults: its analytic ``fit_deriv`` is the Jacobian and
    ``stddev`` has its default lower bound (``LMLSQFitter`` warns about bounds then).

    Parameters
    ----------
    fitter_name : {"LevMarLSQFitter", "LMLSQFitter"}
        Fitter class in ``astropy.modeling.fitting``; ``LevMarLSQFitter`` calls
        ``scipy.optimize.leastsq``, ``LMLSQFitter`` calls ``least_squares(method='lm')``.

    Returns
    -------
    PackageFit
        ``nfev`` is the fitter's ``fit_info`` count.
    """
    fitting = importlib.import_module("astropy.modeling.fitting")
    models = importlib.import_module("astropy.modeling.models")
    t, y = gaussian1d_problem()
    fitter = getattr(fitting, fitter_name)()
    start = models.Gaussian1D(*GAUSSIAN1D_P0)  # fitters fit a copy: start stays unchanged

    def fit():
        fitted = fitter(start, t, y)
        info = fitter.fit_info
        nfev = info["nfev"] if isinstance(info, dict) and "nfev" in info else info.nfev
        return np.array(fitted.parameters), int(nfev)

    name = "leastsq" if fitter_name == "LevMarLSQFitter" else "least_squares"
    gaussian = models.Gaussian1D
    return PackageFit(
        fit, importlib.import_module("scipy.optimize"), name,
        model=lambda: gaussian.evaluate(t, *GAUSSIAN1D_P0),
        model_jacobian=lambda: gaussian.fit_deriv(t, *GAUSSIAN1D_P0),
    )  # fmt: skip


class SolverClock:
    """Time spent inside a package's solver call, and inside the callbacks it passes.

    ``with SolverClock(package_fit):`` rebinds ``solver_home.solver_name`` to a wrapper of
    whatever is bound there (SciPy's function, or lmfast's stand-in while
    ``lmfast.patched()`` is in force) and puts it back on exit. The wrapper also wraps
    the residual function (first argument) and a callable ``Dfun``/``jac`` keyword.
    Enter it inside a ``patched()`` block, never around one: the patch replaces SciPy's
    functions only where it finds them. ``lmfast.patch_calls()`` counts the calls made
    through the wrapper as coming from ``lmfast``, not from the package.

    Attributes
    ----------
    solver_seconds : float
        Accumulated seconds inside the solver call (callbacks included).
    callback_seconds : float
        Accumulated seconds inside the callbacks (the package's residual and Jacobian
        wrappers, which evaluate the model).
    solver_calls, callback_calls : int
        Number of calls of each.
    jacobian_calls : int
        Of the callback calls, those of the Jacobian callback.
    """

    def __init__(self, package_fit):
        self._home = package_fit.solver_home
        self._name = package_fit.solver_name
        self._solver = None
        self.solver_seconds = self.callback_seconds = 0.0
        self.solver_calls = self.callback_calls = self.jacobian_calls = 0

    def __enter__(self):
        self._solver = getattr(self._home, self._name)
        setattr(self._home, self._name, self._timed_solver)
        return self

    def __exit__(self, *exc_info):
        setattr(self._home, self._name, self._solver)
        return False

    def _timed_solver(self, func, *args, **kwargs):
        for key in ("Dfun", "jac"):
            if callable(kwargs.get(key)):
                kwargs[key] = self._timed_callback(kwargs[key], jacobian=True)
        self.solver_calls += 1
        start = time.perf_counter()
        try:
            return self._solver(self._timed_callback(func), *args, **kwargs)
        finally:
            self.solver_seconds += time.perf_counter() - start

    def _timed_callback(self, callback, jacobian=False):
        def timed(*args, **kwargs):
            self.callback_calls += 1
            self.jacobian_calls += jacobian
            start = time.perf_counter()
            try:
                return callback(*args, **kwargs)
            finally:
                self.callback_seconds += time.perf_counter() - start

        return timed
