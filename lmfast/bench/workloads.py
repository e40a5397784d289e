"""Workloads of ``python -m lmfast.bench``: what each row fits, and which rows run.

A workload is a frozen description of one row; nothing is computed until it runs.

Adding a workload
-----------------
Append an instance to the tuple built by :func:`default_workloads` (single fits),
:func:`batch_workloads`, :func:`estimator_workloads` or :func:`peer_workloads` (``--full``);
keep the default run within about 3 minutes on 2 cores. A workload class declares a ``kind``;
:data:`lmfast.bench.runners.RUNNERS` maps the kind to the function that measures it and
:data:`lmfast.bench.tables.TABLES` to the table that prints its rows. A new kind of row
is a new workload class, a runner and a table, with no change to the existing ones.
"""

import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lmfast.bench.bridge import bridge_workloads
from lmfast.bench.checks import loss_cost
from lmfast.bench.environment import installed
from lmfast.bench.kernels import VOIGT_POINTS, composite_calls, voigt_profile_calls
from lmfast.bench.patched import patched_workloads
from lmfast.bench.peers import (
    cminpack_numba_2d_solver,
    cminpack_numba_solver,
    lmfit_bounded,
    lmfit_fit,
    lumafit_solver,
)
from lmfast.bench.problems import (
    BATCH_GAUSS_BOUNDS,
    GAUSS_BOUNDS,
    MAP_BOUNDS,
    RAMAN_BOUNDS,
    ROBUST_OPTIONS,
    BatchData,
    drifting_peak_map,
    gauss1d,
    gauss1d_jac,
    gauss2d,
    gauss2d_problem,
    gauss128_problem,
    gaussian_2d_batch,
    gaussian_batch,
    peaks_problem,
    peaks_residual,
    peaks_residual_jacobian,
    poisson_gaussian_batch,
    raman_batch,
    raman_spectrum,
    right_peak_fraction,
    spiky_gauss_problem,
    spiky_gaussian_batch,
    trivial_problem,
    trivial_residual,
)


@dataclass(frozen=True)
class SingleFit:
    """A workload of one fit per call, timed per fit against SciPy.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    api : {"leastsq", "curve_fit"}
        Function under test; looked up by name in ``lmfast`` and ``scipy.optimize``.
    m, n : int
        Number of residuals and of parameters.
    description : str
        One line for ``--list``.
    make_call : callable
        ``make_call(fit)`` builds the problem and returns a zero-argument callable that
        runs one fit with ``fit`` (the ``leastsq`` or ``curve_fit`` of one
        implementation) with ``full_output=True`` and returns its raw result.
    requires : str, optional
        Module that must import (for instance ``"lmfast.models"``), else the row is
        skipped with a note.
    target : float, optional
        The project's expected ratio SciPy/lmfast (in the JSON record; not printed).
    reference : callable, optional
        ``make_call`` of the reference side instead of SciPy's ``api`` (for instance
        lmfit): called with no argument, it returns the zero-argument fit, whose result
        has curve_fit's full_output layout.
    same_solution : bool
        The reference runs another method (SciPy's trf, lmfit): ``same`` compares the
        solution only, not ier and nfev.
    scipy_options : dict, optional
        More keyword arguments for SciPy's side only (``{"method": "trf"}`` for a robust
        loss, which SciPy's ``'lm'`` lacks); the column stays SciPy's.
    make_cost : callable, optional
        With ``same_solution``: ``make_cost()`` returns ``cost(p)``, the cost the fit
        minimises at parameters ``p`` (:func:`lmfast.bench.checks.loss_cost`), which
        judges whether both sides reached the same fit.
    """

    kind: ClassVar[str] = "single"
    name: str
    api: str
    m: int
    n: int
    description: str
    make_call: Callable[[Callable], Callable[[], Any]] = field(repr=False)
    requires: str = ""
    target: float | None = None
    reference: Callable[[], Callable[[], Any]] | None = field(default=None, repr=False)
    same_solution: bool = False
    scipy_options: dict | None = field(default=None, repr=False)
    make_cost: Callable[[], Callable] | None = field(default=None, repr=False)


def _leastsq_call(problem, func, Dfun=None):
    """Return ``make_call`` running ``leastsq(func, x0, args, Dfun=Dfun, full_output=True)``.

    Parameters
    ----------
    problem : callable
        ``problem()`` returns ``(x0, args)``; called only when the workload runs.
    func, Dfun : callable
        Residuals and (optionally) their Jacobian, shape ``(m, n)``.
    """

    def make_call(fit):
        x0, args = problem()
        return lambda: fit(func, x0, args=args, Dfun=Dfun, full_output=True)

    return make_call


def _curve_fit_call(problem, f, jac=None, **options):
    """Return ``make_call`` running ``curve_fit(f, xdata, ydata, p0, jac=jac, full_output=True)``.

    Parameters
    ----------
    problem : callable
        ``problem()`` returns ``(xdata, ydata, p0)``; called only when the workload runs.
    f, jac : callable
        Model and (optionally) its Jacobian, shape ``(m, n)``; ``jac`` is not passed when
        ``None``.
    **options
        More keyword arguments for both sides (``bounds``: SciPy then runs ``'trf'``).
    """
    kwargs = dict(options) if jac is None else {"jac": jac, **options}

    def make_call(fit):
        xdata, ydata, p0 = problem()
        return lambda: fit(f, xdata, ydata, p0=p0, full_output=True, **kwargs)

    return make_call


def _curve_fit_cost(problem, f, loss="linear", f_scale=1.0, **_):
    """Return ``make_cost`` of a curve_fit row: ``cost(p)`` of ``f(xdata, *p) - ydata``
    under the row's loss (other keyword arguments of the row ignored).

    ``f`` may be the name of a ``lmfast.models`` model (its NumPy twin is evaluated).
    """

    def make_cost():
        model = getattr(importlib.import_module("lmfast.models"), f) if isinstance(f, str) else f
        xdata, ydata, _ = problem()
        return lambda p: loss_cost(model(xdata, *p) - ydata, loss, f_scale)

    return make_cost


def _lmfit_call(problem, f, bounds):
    """Return the reference ``make_call`` of a bounded lmfit ``Model.fit`` (leastsq).

    The result is laid out as curve_fit's full_output: ``(popt, covar, {"nfev": ...},
    message, 1 or 0)``.
    """

    def make_call():
        xdata, ydata, p0 = problem()
        model, params = lmfit_bounded(f, p0, bounds)

        def fit():
            result, popt = lmfit_fit(model, params, xdata, ydata)
            return popt, result.covar, {"nfev": result.nfev}, result.message, int(result.success)

        return fit

    return make_call


def _model_curve_fit_call(problem, model_name, use_jac=False, **options):
    """Return ``make_call`` running ``curve_fit`` with a ``lmfast.models`` model.

    The same :class:`lmfast.models.Model` goes to both implementations: lmfast runs its
    compiled code, SciPy calls its NumPy twin. With ``use_jac``, ``jac=model.jac`` goes to
    both (lmfast: the compiled analytic Jacobian; SciPy: its NumPy twin), else both use
    forward differences.

    Parameters
    ----------
    problem : callable
        ``problem()`` returns ``(xdata, ydata, p0)``.
    model_name : str
        Attribute of ``lmfast.models``, looked up when the workload runs.
    use_jac : bool, optional
        Pass ``jac=model.jac``.
    **options
        More keyword arguments for both sides (``loss``, ``f_scale``, tolerances).
    """

    def make_call(fit):
        models = importlib.import_module("lmfast.models")
        model = getattr(models, model_name)
        kwargs = {"jac": model.jac, **options} if use_jac else dict(options)
        xdata, ydata, p0 = problem()
        return lambda: fit(model, xdata, ydata, p0=p0, full_output=True, **kwargs)

    return make_call


def _as_leastsq(problem, *problem_args):
    """Adapt ``problem(*problem_args) -> (t, y, p0)`` to ``() -> (p0, (t, y))``."""

    def leastsq_problem():
        t, y, p0 = problem(*problem_args)
        return p0, (t, y)

    return leastsq_problem


@dataclass(frozen=True)
class BatchFit:
    """A batch of fits: ``curve_fit_batch`` on all of them against a SciPy loop on a subset.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    model : str or callable
        Name of a ``lmfast.models`` model (compiled path; SciPy calls the model's NumPy
        twin), or a ``curve_fit``-style NumPy function (Python path, both sides).
    m, n : int
        Points per fit and parameters.
    n_fits, quick_n_fits : int
        Number of fits ``N`` (default run and ``--quick``).
    description : str
        One line for ``--list``.
    make_data : callable
        ``make_data(n_fits)`` returns a :class:`BatchData`.
    target : float, optional
        The project's expected ratio (SciPy time per fit / lmfast time per fit), in the
        JSON record; not printed.
    plain : callable, optional
        For a compiled model: the same formula as a plain NumPy function, as a SciPy user
        would write it. SciPy is also timed with it (a note and ``ratio_plain`` in the
        JSON), since the models' NumPy twins cost more per call than a plain function.
    bounds : tuple, optional
        ``(lb, ub)`` for every fit (SciPy then runs ``'trf'``). The same batch without
        bounds is timed too (unless ``make_model`` is given): a note gives the bounded
        batch's fits/s against it.
    unbounded_target : float, optional
        The project's expected bounded/unbounded fits/s (not printed, not recorded).
    make_model : callable, optional
        Builds the compiled lmfast model (a composite, say) when the row runs; SciPy then
        fits ``plain`` only, and lmfit too when it is installed.
    scipy_subset : int, optional
        At most this many fits in the SciPy (and lmfit) loop, for slow reference fits.
    fit_options : dict, optional
        More keyword arguments for both sides (``loss``, ``f_scale``, tolerances).
    scipy_method : str, optional
        SciPy's ``method`` (``"trf"`` for a robust loss, which SciPy's ``'lm'`` lacks).
    """

    kind: ClassVar[str] = "batch"
    api: ClassVar[str] = "batch"
    name: str
    model: str | Callable
    m: int
    n: int
    n_fits: int
    quick_n_fits: int
    description: str
    make_data: Callable[[int], BatchData] = field(repr=False)
    target: float | None = None
    plain: Callable | None = field(default=None, repr=False)
    bounds: tuple | None = field(default=None, repr=False)
    unbounded_target: float | None = None
    make_model: Callable | None = field(default=None, repr=False)
    scipy_subset: int | None = None
    fit_options: dict | None = field(default=None, repr=False)
    scipy_method: str | None = None

    @property
    def compiled(self):
        """True for a compiled lmfast model (its thread scaling is measured too)."""
        return isinstance(self.model, str) or self.make_model is not None


@dataclass(frozen=True)
class PeerFit:
    """Another batch fitter against ``curve_fit_batch`` on the same fits (optional).

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    library : str
        Distribution name shown in the table (``cminpack-numba``, ``lumafit``).
    module : str
        Top-level module that must be importable for the row to exist.
    model : str
        ``lmfast.models`` model of the lmfast side (and the model the peer solver fits).
    m, n, n_fits, quick_n_fits, description, make_data
        As in :class:`BatchFit`.
    make_solver : callable
        ``make_solver()`` imports the peer and returns ``solve(x, y, p0, threads)`` ->
        ``(popt (N, n), success (N,) bool)``; compiled (numba) once, outside the timing.
    base : str
        The :class:`BatchFit` row with the same data (groups bars in ``--plot``).
    """

    kind: ClassVar[str] = "peer"
    name: str
    base: str
    library: str
    module: str
    model: str
    m: int
    n: int
    n_fits: int
    quick_n_fits: int
    description: str
    make_data: Callable[[int], BatchData] = field(repr=False)
    make_solver: Callable[[], Callable] = field(repr=False)

    @property
    def api(self):
        """Shown by ``--list``."""
        return self.library


@dataclass(frozen=True)
class EstimatorFit:
    """One batch of data fitted by ``curve_fit_batch`` with two estimators: fits/s of
    ``estimator`` against ``reference_estimator`` on the same data, same model, same
    threads (lmfast against itself: what the estimator costs).

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    model : str
        ``lmfast.models`` model (compiled).
    m, n, n_fits, quick_n_fits, description, make_data
        As in :class:`BatchFit`.
    estimator, reference_estimator : str
        ``estimator=`` of the measured batch (``"poisson"``) and of the reference batch
        (``"least_squares"``).
    target : float, optional
        The project's expected ratio of the estimator's fits/s over the reference
        batch's (in the JSON record; not printed).
    plain, plain_jac : callable
        The model as a plain NumPy function and its Jacobian ``(m, n)``: SciPy's side of
        the agreement check (SciPy's ``leastsq`` on the Poisson deviance residuals of the
        first fits, untimed).
    """

    kind: ClassVar[str] = "estimator"
    api: ClassVar[str] = "batch"
    name: str
    model: str
    m: int
    n: int
    n_fits: int
    quick_n_fits: int
    description: str
    make_data: Callable[[int], BatchData] = field(repr=False)
    estimator: str = "poisson"
    reference_estimator: str = "least_squares"
    target: float | None = None
    plain: Callable | None = field(default=None, repr=False)
    plain_jac: Callable | None = field(default=None, repr=False)


@dataclass(frozen=True)
class KernelTiming:
    """A compiled lineshape timed against a reference on large arrays, no fit around it.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    m, n : int
        Points of one call (``voigt-profile``: all pairs; fewer with ``--quick``) or of
        one evaluation, and parameters.
    description : str
        One line for ``--list``.
    unit : str
        What a time is per: ``"point"`` or ``"evaluation"``.
    reference_label : str
        The reference, as the table names it.
    make_calls : callable
        ``make_calls(quick)`` returns a :class:`lmfast.bench.kernels.KernelCalls`.
    lower_is_better : bool
        ``False``: ratio = reference time / lmfast time, the goal is at least ``target``
        (lmfast against SciPy). ``True``: ratio = lmfast time / reference time, the goal
        is at most ``target`` (what a lineshape costs against a cheaper one).
    target : float, optional
        The project's expected ratio (in the JSON record; not printed).
    accuracy_target : float, optional
        The kernel's documented accuracy: a larger relative difference from the
        reference gets a note.
    """

    kind: ClassVar[str] = "kernel"
    api: ClassVar[str] = "kernel"
    name: str
    m: int
    n: int
    description: str
    unit: str
    reference_label: str
    make_calls: Callable = field(repr=False)
    lower_is_better: bool = False
    target: float | None = None
    accuracy_target: float | None = None


@dataclass(frozen=True)
class ScaleOutFit:
    """A row beyond one process (opt-in): lmfast.dask on a cluster, the xarray accessor.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    api : str
        What is measured (shown by ``--list``).
    m, n, n_fits, quick_n_fits, description
        As in :class:`BatchFit`.
    reference : str
        Key of the reference's times (``"local"``, ``"xarray"``).
    reference_label : str
        The reference, as the table names it.
    measure : callable
        ``measure(workload, config, result)`` fills the :class:`ScaleOutResult` and
        returns notes (see :mod:`lmfast.bench.scaleout`).
    requires : tuple of str
        Modules without which the row is skipped (with the reason printed).
    target : float
        The project's expected lmfast fits/s over the reference's (in the JSON record;
        not printed).
    workers : int
        Worker processes of the cluster, threads of the local batch and of the accessor
        (``--threads`` overrides it).
    chunk : int
        Fits per Dask chunk (cluster row; a tenth with ``--quick``).
    side : int
        The map is side x side pixels (accessor row).
    """

    kind: ClassVar[str] = "scaleout"
    name: str
    api: str
    m: int
    n: int
    n_fits: int
    quick_n_fits: int
    description: str
    reference: str
    reference_label: str
    measure: Callable = field(repr=False)
    requires: tuple = ()
    target: float | None = None
    workers: int = 2
    chunk: int = 0
    side: int = 0


@dataclass(frozen=True)
class MapFit:
    """A map fitted by ``curve_fit_map`` (neighbour reseeding) and by one
    ``curve_fit_batch`` pass: same data, model, start and threads; the share of pixels
    at the right minimum and the time of each.

    Parameters
    ----------
    name : str
        Row name, matched by ``--only``.
    model : str
        ``lmfast.models`` model.
    m, n : int
        Points per pixel and parameters.
    side, quick_side : int
        The map is side x side pixels (default run and ``--quick``).
    description : str
        One line for ``--list``.
    make_data : callable
        ``make_data(side)`` returns ``(x, y (side, side, m), truth (side, side, n), p0)``.
    right : callable
        ``right(popt, truth)``: the share of pixels at the right minimum.
    bounds : tuple, optional
        ``(lb, ub)`` for both sides.
    """

    kind: ClassVar[str] = "map"
    api: ClassVar[str] = "curve_fit_map"
    name: str
    model: str
    m: int
    n: int
    side: int
    quick_side: int
    description: str
    make_data: Callable = field(repr=False)
    right: Callable = field(repr=False)
    bounds: tuple | None = field(default=None, repr=False)

    @property
    def n_fits(self):
        """Pixels of the default run."""
        return self.side**2

    @property
    def quick_n_fits(self):
        """Pixels with ``--quick``."""
        return self.quick_side**2


def opt_in_workloads():
    """Rows that run only when ``--only`` names them (``--only dask``): they need dask,
    distributed and xarray, start worker processes, hold about 3 GB and take minutes,
    too much for the default run of a few minutes."""
    from lmfast.bench.scaleout import measure_accessor, measure_cluster

    return (
        ScaleOutFit(
            "dask-cluster-gauss64", "lmfast.dask", 64, 4, 1_000_000, 100_000,
            "lmfast.dask on a LocalCluster of 2 single-thread workers vs the local batch "
            "(2 threads)", "local", "local batch", measure_cluster,
            requires=("dask", "distributed"), target=0.8, chunk=62_500,
        ),
        ScaleOutFit(
            "dask-xarray-map200-gauss128", "lmfast.xarray", 128, 4, 40_000, 40_000,
            "DataArray.lmfast.curvefit (compiled) vs DataArray.curvefit, 200x200 map",
            "xarray", "xarray curvefit", measure_accessor,
            requires=("xarray", "dask"), target=50.0, side=200,
        ),
    )  # fmt: skip


def full_workloads():
    """The rows of ``--full``: the default rows, then the peers' (numba compiles each
    peer for tens of seconds; it is the longer run)."""
    return default_workloads() + peer_workloads()


def all_workloads():
    """The rows of ``--full``, then the opt-in ones."""
    return full_workloads() + opt_in_workloads()


def default_workloads():
    """Return the workloads of ``python -m lmfast.bench``, in table order.

    Sized so that the whole run takes about 2-3 minutes on 2 cores (the README gives
    the times of each mode); longer rows are in :func:`full_workloads` (peers) and
    :func:`opt_in_workloads` (beyond one process).

    Returns
    -------
    tuple of SingleFit, BatchFit, EstimatorFit, KernelTiming and PatchedFit
        The workloads; problem data is generated only when a workload runs.
    """
    gauss128 = _as_leastsq(gauss128_problem)
    peaks20k = _as_leastsq(peaks_problem, 20_000, 4)
    return (
        SingleFit(
            "trivial", "leastsq", 3, 2, "r = [x0-1, x1-2, x0*x1-3]: per-call overhead",
            _leastsq_call(trivial_problem, trivial_residual),
        ),
        SingleFit(
            "gauss128-lmdif", "leastsq", 128, 4, "Gaussian + offset, forward differences",
            _leastsq_call(gauss128, peaks_residual),
        ),
        SingleFit(
            "gauss128-lmder", "leastsq", 128, 4, "Gaussian + offset, analytic Dfun (m, n)",
            _leastsq_call(gauss128, peaks_residual, peaks_residual_jacobian),
        ),
        SingleFit(
            "peaks20k-lmder", "leastsq", 20_000, 13, "4 Gaussians + offset, analytic Dfun",
            _leastsq_call(peaks20k, peaks_residual, peaks_residual_jacobian),
        ),
        SingleFit(
            "peaks20k-lmdif", "leastsq", 20_000, 13, "4 Gaussians + offset, forward differences",
            _leastsq_call(peaks20k, peaks_residual),
        ),
        SingleFit(
            "cf-gauss128", "curve_fit", 128, 4, "curve_fit, Gaussian + offset, no jac",
            _curve_fit_call(gauss128_problem, gauss1d),
        ),
        SingleFit(
            "cf-gauss128-jac", "curve_fit", 128, 4, "curve_fit, Gaussian + offset, jac (m, n)",
            _curve_fit_call(gauss128_problem, gauss1d, gauss1d_jac),
        ),
        SingleFit(
            "cf-gauss2d-5x5", "curve_fit", 25, 5, "curve_fit, 2-D Gaussian on 5x5 pixels",
            _curve_fit_call(gauss2d_problem, gauss2d),
        ),
        SingleFit(
            "cf-gauss128-bounded", "curve_fit", 128, 4,
            "curve_fit with bounds: lmfast's bounded LM vs SciPy's trf (same minimum)",
            _curve_fit_call(gauss128_problem, gauss1d, bounds=GAUSS_BOUNDS),
            target=5.0, same_solution=True, make_cost=_curve_fit_cost(gauss128_problem, gauss1d),
        ),
        SingleFit(
            "cf-gauss128-bounded-lmfit", "curve_fit", 128, 4,
            "the bounded curve_fit vs lmfit's Model.fit(method='leastsq'), same bounds",
            _curve_fit_call(gauss128_problem, gauss1d, bounds=GAUSS_BOUNDS, ftol=1.5e-8,
                            xtol=1.5e-8, epsfcn=1e-10),
            requires="lmfit", target=5.0, same_solution=True,
            reference=_lmfit_call(gauss128_problem, gauss1d, GAUSS_BOUNDS),
            make_cost=_curve_fit_cost(gauss128_problem, gauss1d),
        ),
        SingleFit(
            "cf-gauss128-compiled", "curve_fit", 128, 4,
            "curve_fit(models.gaussian): compiled vs NumPy twin, forward differences",
            _model_curve_fit_call(gauss128_problem, "gaussian"),
            requires="lmfast.models", target=5.0,
        ),
        SingleFit(
            "cf-gauss128-compiled-jac", "curve_fit", 128, 4,
            "same with jac=models.gaussian.jac on both sides",
            _model_curve_fit_call(gauss128_problem, "gaussian", use_jac=True),
            requires="lmfast.models", target=5.0,
        ),
        SingleFit(
            "robust-cf-gauss-spikes", "curve_fit", 200, 4,
            "curve_fit(models.gaussian, loss='soft_l1', f_scale=0.1) vs SciPy trf, same "
            "loss; 5% spikes, tolerances 1e-10",
            _model_curve_fit_call(spiky_gauss_problem, "gaussian", **ROBUST_OPTIONS),
            requires="lmfast.models", target=5.0, same_solution=True,
            scipy_options={"method": "trf"},
            make_cost=_curve_fit_cost(spiky_gauss_problem, "gaussian", **ROBUST_OPTIONS),
        ),
    ) + (batch_workloads() + estimator_workloads() + kernel_workloads()
         + patched_workloads() + map_workloads() + bridge_workloads())  # fmt: skip


def _raman_model():
    """The compiled composite of the Raman row (built when the row runs)."""
    from lmfast import lineshapes

    return sum((lineshapes.model("pseudo_voigt", prefix=f"p{k}_") for k in range(3)),
               lineshapes.model("linear"))


def batch_workloads():
    """The batch rows against SciPy (the peer rows are :func:`peer_workloads`)."""
    return (
        BatchFit(
            "batch-gauss128", "gaussian", 128, 4, 50_000, 5_000,
            "curve_fit_batch(models.gaussian) vs SciPy curve_fit loop",
            gaussian_batch, target=20.0, plain=gauss1d,
        ),
        BatchFit(
            "batch-gauss2d-5x5", "gaussian_2d", 25, 5, 50_000, 5_000,
            "curve_fit_batch(models.gaussian_2d), 5x5 pixels, vs SciPy loop",
            gaussian_2d_batch, target=75.0, plain=gauss2d,
        ),
        BatchFit(
            "batch-gauss128-bounded", "gaussian", 128, 4, 20_000, 5_000,
            "curve_fit_batch(models.gaussian, bounds=...) vs SciPy curve_fit loop (trf)",
            gaussian_batch, plain=gauss1d, bounds=BATCH_GAUSS_BOUNDS, unbounded_target=0.85,
            scipy_subset=100,
        ),
        BatchFit(
            "batch-raman-3peaks", "raman", 1024, 14, 500, 100,
            "3 pseudo-Voigts on a linear baseline (composite model), bounded, 1024 channels",
            raman_batch, target=20.0, plain=raman_spectrum, bounds=RAMAN_BOUNDS,
            make_model=_raman_model, scipy_subset=5,
        ),
        BatchFit(
            "batch-py-gauss128", gauss1d, 128, 4, 5_000, 2_000,
            "curve_fit_batch(NumPy function, Python path) vs SciPy loop, same function",
            gaussian_batch, target=8.0,
        ),
        BatchFit(
            "robust-batch-gauss-spikes", "gaussian", 128, 4, 2_000, 200,
            "curve_fit_batch(models.gaussian, loss='soft_l1') vs SciPy trf loop, same loss; "
            "5% spikes",
            spiky_gaussian_batch, target=20.0, plain=gauss1d, scipy_subset=30,
            fit_options=ROBUST_OPTIONS, scipy_method="trf",
        ),
    )  # fmt: skip


def peer_workloads():
    """The rows of other batch fitters (``--full``), those whose library is installed."""
    peers = (
        PeerFit(
            "batch-gauss128-cminpack-numba", "batch-gauss128", "cminpack-numba", "cminpack_numba",
            "gaussian",
            128, 4, 50_000, 5_000,
            "cminpack-numba lmder, analytic Jacobian, numba prange over fits",
            gaussian_batch, cminpack_numba_solver,
        ),
        PeerFit(
            "batch-gauss128-lumafit", "batch-gauss128", "lumafit", "lumafit", "gaussian",
            128, 4, 50_000, 5_000,
            "lumafit levenberg_marquardt_core, analytic Jacobian, numba prange over fits",
            gaussian_batch, lumafit_solver,
        ),
        PeerFit(
            "batch-gauss2d-5x5-cminpack-numba", "batch-gauss2d-5x5", "cminpack-numba",
            "cminpack_numba", "gaussian_2d",
            25, 5, 50_000, 5_000,
            "cminpack-numba lmder on the 5x5 spots, analytic Jacobian, numba prange over fits",
            gaussian_2d_batch, cminpack_numba_2d_solver,
        ),
    )  # fmt: skip
    return tuple(p for p in peers if installed(p.module))


def estimator_workloads():
    """The rows timing one estimator of ``curve_fit_batch`` against another."""
    return (
        EstimatorFit(
            "poisson-batch-gauss64", "gaussian", 64, 4, 20_000, 2_000,
            "curve_fit_batch(models.gaussian, estimator='poisson') vs least squares, "
            "same counts",
            poisson_gaussian_batch, target=0.85, plain=gauss1d, plain_jac=gauss1d_jac,
        ),
    )  # fmt: skip


def kernel_workloads():
    """The rows timing a compiled lineshape without a fit (:mod:`lmfast.bench.kernels`)."""
    return (
        KernelTiming(
            "voigt-profile", VOIGT_POINTS, 4,
            "lineshapes.voigt vs amplitude*scipy.special.voigt_profile, 4 (sigma, gamma), "
            "core and tails",
            "point", "SciPy voigt_profile", voigt_profile_calls, accuracy_target=1e-13,
        ),
        KernelTiming(
            "voigt2-vs-gauss2-composite", 1024, 8,
            "value + Jacobian of 2 Voigts vs 2 Gaussians (composite models), m = 1024",
            "evaluation", "2 Gaussians", composite_calls, lower_is_better=True, target=4.0,
        ),
    )  # fmt: skip


def map_workloads():
    """The map rows: curve_fit_map against one batch pass on a drifting peak."""
    return (
        MapFit(
            "map-drift-gauss256", "gaussian", 256, 4, 60, 30,
            "curve_fit_map vs one curve_fit_batch pass: a peak drifting 47 widths, one p0",
            drifting_peak_map, right_peak_fraction,
        ),
        MapFit(
            "map-drift-gauss256-bounded", "gaussian", 256, 4, 60, 30,
            "the same with bounds on both sides",
            drifting_peak_map, right_peak_fraction, bounds=MAP_BOUNDS,
        ),
    )  # fmt: skip


def select_workloads(workloads, only):
    """Filter workloads by ``--only``.

    Parameters
    ----------
    workloads : sequence
        Candidate workloads.
    only : str or None
        Comma-separated patterns. A pattern containing ``*``, ``?`` or ``[`` is a glob
        matched against the whole name, otherwise a substring; matching ignores case.

    Returns
    -------
    list
        Workloads matching any pattern, in their original order (all if ``only`` is empty).
    """
    patterns = [p.strip().lower() for p in (only or "").split(",") if p.strip()]
    if not patterns:
        return list(workloads)

    def matches(name):
        name = name.lower()
        return any(
            fnmatch.fnmatchcase(name, p) if any(ch in p for ch in "*?[") else p in name
            for p in patterns
        )

    return [w for w in workloads if matches(w.name)]
