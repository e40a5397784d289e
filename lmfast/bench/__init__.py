"""Smoke benchmark of lmfast against SciPy: ``python -m lmfast.bench``.

Every workload is a problem definition plus one callable per implementation. Both
implementations run in the same process, interleaved: each round times lmfast then SciPy,
and the next round SciPy then lmfast. Single-fit rows report the median time per fit and
the ratio SciPy / lmfast; batch rows time one ``curve_fit_batch`` call against a loop of
``scipy.optimize.curve_fit`` and report fits per second; peer rows time other batch
fitters (cminpack-numba, lumafit) when they are installed; estimator rows time one
``curve_fit_batch`` estimator against another on the same data (Poisson against least
squares); kernel rows time a compiled lineshape on large arrays (the Voigt against SciPy's);
package rows time lmfit's and astropy's own fits with and without ``lmfast.patch()``; map
rows time ``curve_fit_map`` against one batch pass and count the pixels each gets right; the
bridge row times ``lmfast.lmfit.fit_batch`` against a loop of lmfit's ``Model.fit``.

Modules
-------
config       settings of a run (rounds, timing length, batch sizes; default and quick)
problems     NumPy problems and batch data generators
workloads    the rows: SingleFit, BatchFit, PeerFit, EstimatorFit, KernelTiming, MapFit,
             the default list (about 2-3 minutes on 2 cores), ``--full`` (peers),
             ``--only``
peers        the cminpack-numba and lumafit batch solvers
kernels      the lineshape kernel rows: Voigt against SciPy, two Voigts against two Gaussians
packages     lmfit's and astropy's fits, and a clock on the SciPy call they make
patched      the package rows: PatchedFit, patched_workloads, run_patched_fit
bridge       the lmfit bridge row: BridgeFit, bridge_workloads, run_bridge_fit
timing       timing harness: repeat counts, interleaved rounds, noise and load checks
checks       agreement of two implementations: the same fit (cost, parameters within a
             fraction of their standard errors), one rule for every row
results      result records of each kind of row, JSON output
runners      measure one workload of each kind; run_all prints the tables
scaleout     the opt-in rows beyond one process: lmfast.dask on a LocalCluster, the
             xarray accessor (``--only dask``)
tables       header, number formats and the fixed-width tables
environment  versions, CPU, optional modules, git state, BLAS builds
plot         the ``--plot`` figure
builds       ``bench/ab_builds.py``: two builds of lmfast in worker processes, interleaved
build_worker the worker of one build (run by path from this checkout)
__main__     command line

Importing this package imports only NumPy, the standard library and lmfast; SciPy is
imported by the command line, matplotlib, the peers, lmfit and astropy only when used.
"""

from lmfast.bench.checks import (
    batch_agreement,
    batch_costs,
    compare,
    fit_agreement,
    loss_cost,
    relative_difference,
)
from lmfast.bench.config import (
    BATCH_SUBSET,
    DEFAULT_MIN_TIME,
    DEFAULT_ROUNDS,
    QUICK_BATCH_SUBSET,
    QUICK_MIN_TIME,
    QUICK_ROUNDS,
    BenchConfig,
)
from lmfast.bench.environment import (
    SCIPY_MISSING,
    import_implementations,
    require_implementations,
    run_record,
    versions,
)
from lmfast.bench.patched import PatchedFit, patched_workloads, run_patched_fit
from lmfast.bench.problems import (
    BLOCK_ROWS,
    BatchData,
    gaussian_2d_batch,
    gaussian_batch,
    peaks_problem,
    peaks_residual,
    peaks_residual_jacobian,
    poisson_gaussian_batch,
    spiky_gaussian_batch,
)
from lmfast.bench.results import (
    BatchFitResult,
    EstimatorFitResult,
    KernelResult,
    MapFitResult,
    PatchedFitResult,
    PeerFitResult,
    ScaleOutResult,
    SingleFitResult,
)
from lmfast.bench.runners import RUNNERS, run_all, scipy_fit_loop
from lmfast.bench.tables import TABLES, format_header, format_rate
from lmfast.bench.timing import BUSY_CPUS, relative_spread, timed_rounds
from lmfast.bench.workloads import (
    BatchFit,
    EstimatorFit,
    KernelTiming,
    MapFit,
    PeerFit,
    ScaleOutFit,
    SingleFit,
    all_workloads,
    batch_workloads,
    default_workloads,
    estimator_workloads,
    full_workloads,
    kernel_workloads,
    map_workloads,
    opt_in_workloads,
    peer_workloads,
    select_workloads,
)

__all__ = [
    "BATCH_SUBSET",
    "BLOCK_ROWS",
    "BUSY_CPUS",
    "DEFAULT_MIN_TIME",
    "DEFAULT_ROUNDS",
    "QUICK_BATCH_SUBSET",
    "QUICK_MIN_TIME",
    "QUICK_ROUNDS",
    "RUNNERS",
    "SCIPY_MISSING",
    "TABLES",
    "BatchData",
    "BatchFit",
    "BatchFitResult",
    "BenchConfig",
    "EstimatorFit",
    "EstimatorFitResult",
    "KernelResult",
    "KernelTiming",
    "MapFit",
    "MapFitResult",
    "PatchedFit",
    "PatchedFitResult",
    "PeerFit",
    "PeerFitResult",
    "ScaleOutFit",
    "ScaleOutResult",
    "SingleFit",
    "SingleFitResult",
    "all_workloads",
    "batch_agreement",
    "batch_costs",
    "batch_workloads",
    "compare",
    "default_workloads",
    "estimator_workloads",
    "fit_agreement",
    "format_header",
    "format_rate",
    "full_workloads",
    "gaussian_2d_batch",
    "gaussian_batch",
    "import_implementations",
    "kernel_workloads",
    "loss_cost",
    "map_workloads",
    "opt_in_workloads",
    "patched_workloads",
    "peaks_problem",
    "peaks_residual",
    "peaks_residual_jacobian",
    "peer_workloads",
    "poisson_gaussian_batch",
    "relative_difference",
    "relative_spread",
    "require_implementations",
    "run_all",
    "run_patched_fit",
    "run_record",
    "scipy_fit_loop",
    "select_workloads",
    "spiky_gaussian_batch",
    "timed_rounds",
    "versions",
]
