"""Command line of ``python -m lmfast.bench``: parse the options, run, print, write files."""

import argparse
import sys

from lmfast.bench.config import (
    DEFAULT_MIN_TIME,
    DEFAULT_ROUNDS,
    QUICK_MIN_TIME,
    QUICK_ROUNDS,
    BenchConfig,
    add_run_options,
    check_run_options,
)
from lmfast.bench.environment import import_implementations, installed, versions
from lmfast.bench.plot import PLOT_MISSING, plot_results
from lmfast.bench.results import write_json
from lmfast.bench.runners import run_all
from lmfast.bench.tables import format_header
from lmfast.bench.timing import freeze_heap
from lmfast.bench.workloads import (
    all_workloads,
    default_workloads,
    full_workloads,
    select_workloads,
)


def parse_args(argv=None):
    """Parse the command line of ``python -m lmfast.bench``."""
    p = argparse.ArgumentParser(
        prog="python -m lmfast.bench",
        description="Time lmfast against scipy.optimize on a few fits (same process, interleaved).",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROUNDS} rounds, shorter timings and smaller batches, for a quick look",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="also the rows of other batch fitters (cminpack-numba, lumafit) when installed; "
        "numba compiles each for tens of seconds",
    )
    p.add_argument(
        "--only",
        metavar="PATTERN[,PATTERN]",
        help="run workloads whose name contains PATTERN (or matches it as a glob), among "
        "all rows; the opt-in rows (dask, xarray: --only dask) run only when named",
    )
    add_run_options(
        p, "threads of curve_fit_batch and of the peers (default: every usable core)")
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw fits/s per workload and library to FILE (PNG, SVG, PDF; needs matplotlib)",
    )
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = p.parse_args(argv)
    check_run_options(p, args)
    return args


def list_workloads(workloads, opt_in=(), full=()):
    """Print one line per workload for ``--list`` (``--full`` and opt-in ones marked)."""
    width = max([16] + [len(w.name) for w in workloads])
    for w in workloads:
        size = f"m={w.m:<6} n={w.n:<3}"
        if w.kind in ("batch", "peer", "estimator", "scaleout", "map", "bridge"):
            size += f" N={w.n_fits} (--quick {w.quick_n_fits})"
        mark = "[opt-in] " if w.name in opt_in else "[--full] " if w.name in full else ""
        print(f"{w.name:<{width}}  {w.kind:<6}  {w.api:<14}  {size}  {mark}{w.description}")


def main(argv=None):
    """Entry point of ``python -m lmfast.bench``.

    Returns
    -------
    int
        0 on success, 1 if SciPy is missing or a workload raised, 2 for bad arguments
        (including ``--plot`` without matplotlib).
    """
    args = parse_args(argv)
    defaults, full = default_workloads(), full_workloads()
    # Every row is a candidate when --only names something.
    candidates = all_workloads() if args.only else full if args.full else defaults
    workloads = select_workloads(candidates, args.only)
    if args.list:  # every row, the --full and opt-in ones marked
        opt_in = {w.name for w in all_workloads()} - {w.name for w in full}
        longer = {w.name for w in full} - {w.name for w in defaults}
        list_workloads(select_workloads(all_workloads(), args.only), opt_in, longer)
        return 0
    if not workloads:
        print(f"no workload matches --only {args.only!r} (see --list)", file=sys.stderr)
        return 2
    if args.plot and not installed("matplotlib"):
        print(PLOT_MISSING, file=sys.stderr)
        return 2
    try:
        lmfast, scipy = import_implementations()
    except ImportError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.quick:
        freeze_heap()  # cheap collections before the short timings
    config = BenchConfig(
        rounds=args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS),
        min_time=QUICK_MIN_TIME if args.quick else DEFAULT_MIN_TIME,
        quick=args.quick,
        threads=args.threads,
    )
    info = versions(lmfast, scipy)
    print(format_header(info, config), flush=True)
    results = run_all(workloads, {"lmfast": lmfast, "scipy": scipy.optimize}, config)
    if args.json:
        write_json(args.json, info, config, results)
        print(f"results written to {args.json}")
    if args.plot:
        if plot_results(results, args.plot):
            print(f"plot written to {args.plot}")
        else:
            print("note: --plot: no measured row, nothing drawn")
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
