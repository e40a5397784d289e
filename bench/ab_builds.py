"""A/B of two builds of lmfast: curve_fit_batch fits/s of each on the same batches.

Each build is a source checkout with its extensions built in place. Both cannot be
imported in one process, so each gets a worker process (``PYTHONPATH=PATH``) that loads
the row's data, fits it once (warm-up; the two builds' ``popt`` and ``ier`` are compared)
and then times one ``curve_fit_batch`` call over all N fits per command. Rounds
alternate: base then new, the next round new then base; one worker runs at a time. The
data come from the ``lmfast.bench`` generators of the lmfast this script imports, so the
base build needs only ``curve_fit_batch`` and ``lmfast.models``.

Usage::

    python bench/ab_builds.py --base /work/base --new .               # 2 rows, 7 rounds
    python bench/ab_builds.py --base A --new B --threads 1            # the same, 1 thread
    python bench/ab_builds.py --base A --new B --only batch-gauss2d-5x5 --rounds 11
    python bench/ab_builds.py --base A --new B --quick                # N = 5,000, 3 rounds
    python bench/ab_builds.py --base A --new A                        # A/A: the harness's noise

It needs an lmfast to import itself (for ``lmfast.bench``): an installed one, or a checkout
with ``PYTHONPATH=.``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from lmfast.bench import DEFAULT_ROUNDS, QUICK_ROUNDS, BenchConfig
from lmfast.bench.config import add_run_options, check_run_options
from lmfast.bench.builds import (
    BUILDS,
    DEFAULT_ROWS,
    WorkerError,
    choose_rows,
    run_builds,
    supported_rows,
)
from lmfast.bench.environment import (
    cpu_flags,
    cpu_model,
    git_info,
    run_record,
    usable_cpus,
    versions,
)
from lmfast.bench.tables import BuildsTable

#: The repository whose git commit is recorded with ``--json`` (this script's).
REPO = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, metavar="PATH", help="checkout of the base build")
    p.add_argument("--new", required=True, metavar="PATH", help="checkout of the new build")
    p.add_argument(
        "--only",
        metavar="ROW[,ROW]",
        help=f"rows (default {','.join(DEFAULT_ROWS)}); a name selects that row, another "
        "pattern matches as in python -m lmfast.bench --only",
    )
    add_run_options(
        p, "threads of curve_fit_batch in both builds (default: every usable core)")
    p.add_argument("--quick", action="store_true", help="the rows' --quick N, fewer rounds")
    args = p.parse_args(argv)
    check_run_options(p, args)
    for label in BUILDS:
        if not Path(getattr(args, label), "lmfast", "__init__.py").is_file():
            p.error(f"--{label} {getattr(args, label)}: not a checkout of lmfast "
                    "(no lmfast/__init__.py)")
    args.rows = choose_rows(args.only)
    if not args.rows:
        names = ", ".join(w.name for w in supported_rows())
        p.error(f"no row matches --only {args.only!r}; rows: {names}")
    args.rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    args.threads = args.threads or usable_cpus()
    return args


def describe_build(label, path, hello):
    """One header line: the checkout, its commit and the lmfast its worker imported."""
    git = git_info(path)
    state = "" if git["dirty"] is None else " (modified)" if git["dirty"] else " (clean)"
    return (f"{label + ':':<5} {Path(path).resolve()}  commit {git['short']}{state}  "
            f"lmfast {hello['version']}  ({hello['lmfast']})")


def main(argv=None):
    """Run the A/B; return the process exit code (0, or 1 when a row failed)."""
    args = parse_args(argv)
    paths = {"base": args.base, "new": args.new}
    flags = cpu_flags()
    isa = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in flags.items()) or "unknown"
    print(f"CPU: {cpu_model()} ({usable_cpus()} usable CPUs); ISA: {isa}")
    print(f"{args.rounds} rounds, threads={args.threads}, one curve_fit_batch call over all "
          "N fits per timing", flush=True)
    table = BuildsTable(name_width=max(len(w.name) for w in args.rows))

    def on_start(hello):
        print("\n".join(describe_build(k, paths[k], hello[k]) for k in BUILDS) + "\n")
        print(table.header(), flush=True)

    config = BenchConfig(rounds=args.rounds, quick=args.quick, threads=args.threads)
    start = time.perf_counter()
    try:
        hello, results = run_builds(
            args.rows, paths, config.n_fits, args.threads, args.rounds, on_start=on_start,
            on_row=lambda res: print(table.row(res), flush=True),
        )  # fmt: skip
    except WorkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in table.notes(results):
        print(line)
    print("\n" + table.footer)
    print(f"\ntook {time.perf_counter() - start:.0f} s")
    if args.json:
        doc = run_record("ab_builds", REPO, versions()) | {
            "cpu_flags": flags,
            "builds": {k: {"path": str(Path(paths[k]).resolve()), "git": git_info(paths[k]),
                           **hello[k]} for k in BUILDS},
            "config": {"rounds": args.rounds, "threads": args.threads, "quick": args.quick},
            "results": [r.to_json() for r in results],
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {path}")
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
