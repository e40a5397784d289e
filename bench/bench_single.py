"""Sweep lmfast.leastsq against scipy.optimize.leastsq over an m x n grid.

The problem family is ``k`` Gaussian peaks plus an offset (``n = 3k + 1`` parameters) on
``m`` points, the model of ``python -m lmfast.bench`` (``lmfast.bench.peaks_problem``), fitted
with forward differences (``lmdif``) and with an analytic ``Dfun`` (``lmder``). Timing and
the comparison of ``ier``/``nfev``/``x`` are those of ``lmfast.bench``: interleaved rounds
in one process, median time per fit.

Results go to ``bench/results/<git-sha>.json`` (``<git-sha>-dirty.json`` when tracked files
differ from the commit) together with the CPU, the versions and the OpenBLAS configuration.

Usage::

    python bench/bench_single.py                      # full grid, a few minutes
    python bench/bench_single.py --quick              # coarse grid, about a minute
    python bench/bench_single.py --m 128,4096 --n 4,13 --mode lmder --no-save

It benchmarks the lmfast that Python imports: an installed one (``pip install -e .``), or
the working tree with ``PYTHONPATH=.`` after ``python setup.py build_ext --inplace``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from lmfast.bench import (
    DEFAULT_MIN_TIME,
    DEFAULT_ROUNDS,
    QUICK_MIN_TIME,
    QUICK_ROUNDS,
    BenchConfig,
    SingleFit,
    format_header,
    peaks_problem,
    peaks_residual,
    peaks_residual_jacobian,
    require_implementations,
    run_all,
    run_record,
    versions,
)

#: The repository: where ``bench/results/`` is and whose git commit names the results.
REPO = Path(__file__).resolve().parent.parent

DEFAULT_M = (32, 128, 512, 2048, 8192, 32768)
DEFAULT_N = (4, 7, 13, 25)
QUICK_M = (32, 512, 8192)
QUICK_N = (4, 13)
MODES = ("lmdif", "lmder")
#: Fewest points per peak for a grid cell to be run (fewer makes the fit ill-posed).
MIN_POINTS_PER_PEAK = 8


def int_list(text):
    """Parse ``"1,2,3"`` into a tuple of ints (argparse ``type``)."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--m", type=int_list, help=f"numbers of points (default {DEFAULT_M})")
    p.add_argument(
        "--n", type=int_list, help=f"numbers of parameters, each 3k+1 (default {DEFAULT_N})"
    )
    p.add_argument(
        "--mode",
        default=",".join(MODES),
        help="comma-separated subset of lmdif,lmder (default both)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"grid m={QUICK_M} n={QUICK_N}, {QUICK_ROUNDS} rounds, short timings",
    )
    p.add_argument("--rounds", type=int, help="interleaved rounds per cell")
    p.add_argument("--min-time", type=float, help="minimum seconds per timing")
    p.add_argument("--out", type=Path, help="JSON file (default bench/results/<git-sha>.json)")
    p.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    args = p.parse_args(argv)
    args.m = args.m or (QUICK_M if args.quick else DEFAULT_M)
    args.n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    args.mode = tuple(v.strip() for v in args.mode.split(",") if v.strip())
    if bad := [n for n in args.n if n < 4 or n % 3 != 1]:
        p.error(f"--n values must be 3k+1 >= 4 (k Gaussians + offset), got {bad}")
    if bad := [v for v in args.mode if v not in MODES]:
        p.error(f"unknown --mode {bad}; choose from {MODES}")
    return args


def grid_workloads(ms, ns, modes):
    """Workloads of the sweep, plus the names of the cells left out.

    Parameters
    ----------
    ms, ns : sequence of int
        Numbers of points and of parameters (``n = 3k + 1``).
    modes : sequence of {"lmdif", "lmder"}
        Without or with an analytic ``Dfun``.

    Returns
    -------
    workloads : list of SingleFit
        One per (mode, n, m), named ``peaks-n<n>-m<m>-<mode>``.
    skipped : list of str
        Cells with fewer than :data:`MIN_POINTS_PER_PEAK` points per peak.
    """
    workloads, skipped = [], []
    for mode in modes:
        for n in ns:
            k = (n - 1) // 3
            for m in ms:
                name = f"peaks-n{n}-m{m}-{mode}"
                if m < MIN_POINTS_PER_PEAK * k:
                    skipped.append(name)
                    continue
                workloads.append(
                    SingleFit(
                        name,
                        "leastsq",
                        m,
                        n,
                        f"{k} Gaussians + offset, {mode}",
                        peaks_call(m, k, mode == "lmder"),
                    )
                )
    return workloads, skipped


def peaks_call(m, k, analytic):
    """``make_call`` of one grid cell (data built when the cell runs)."""

    def make_call(fit):
        t, y, p0 = peaks_problem(m, k)
        dfun = peaks_residual_jacobian if analytic else None
        return lambda: fit(peaks_residual, p0, args=(t, y), Dfun=dfun, full_output=True)

    return make_call


def ratio_matrix(results, mode, ms, ns):
    """Lines of a ``m`` x ``n`` matrix of ratios SciPy/lmfast for one mode."""
    cell = {(r.m, r.n): r for r in results if r.name.endswith(mode)}
    lines = [f"ratio SciPy/lmfast, {mode}:", "m \\ n".rjust(8) + "".join(f"{n:>8}" for n in ns)]
    for m in ms:
        row = []
        for n in ns:
            r = cell.get((m, n))
            row.append("-" if r is None or r.ratio is None else f"{r.ratio:.2f}")
        lines.append(f"{m:>8}" + "".join(f"{v:>8}" for v in row))
    return lines


def output_path(args, gitinfo):
    """Where to write the JSON results."""
    if args.out is not None:
        return args.out
    name = gitinfo["short"] + ("-dirty" if gitinfo["dirty"] else "")
    return REPO / "bench" / "results" / f"{name}.json"


def main(argv=None):
    """Run the sweep; return the process exit code."""
    args = parse_args(argv)
    lmfast, scipy = require_implementations()
    config = BenchConfig(
        rounds=args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS),
        min_time=args.min_time or (QUICK_MIN_TIME if args.quick else DEFAULT_MIN_TIME),
    )
    workloads, skipped = grid_workloads(args.m, args.n, args.mode)
    info = versions(lmfast, scipy)
    print(format_header(info, config), flush=True)
    start = time.perf_counter()
    results = run_all(workloads, {"lmfast": lmfast, "scipy": scipy.optimize}, config)
    for name in skipped:
        print(f"note: {name}: skipped, fewer than {MIN_POINTS_PER_PEAK} points per peak")
    for mode in args.mode:
        print("\n".join(ratio_matrix(results, mode, args.m, args.n)) + "\n")
    elapsed = time.perf_counter() - start
    print(f"sweep took {elapsed:.0f} s")
    if not args.no_save:
        doc = run_record("bench_single", REPO, info)
        path = output_path(args, doc["git"])
        path.parent.mkdir(parents=True, exist_ok=True)
        doc |= {
            "config": {**vars(config), "m": args.m, "n": args.n, "mode": args.mode},
            "elapsed_s": elapsed,
            "skipped": skipped,
            "results": [r.to_json() for r in results],
        }
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {path}")
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
