"""Sweep lmfast.curve_fit_batch over the compiled models: fits/s against threads and N.

For every compiled model of ``lmfast.models`` (or the ones named by ``--models``) the
script makes one batch of noisy synthetic fits, then times ``curve_fit_batch`` on its
first ``N`` fits for each ``N`` of ``--n`` and each thread count of ``--threads``. Thread
counts are interleaved in rounds (order reversed every other round) and the median is
reported. The baseline is a loop of ``scipy.optimize.curve_fit`` with the model's NumPy
twin over the first 200 fits (time per fit, fits/s), timed in the same rounds as the
largest ``N``.

Checks printed with each model: the success fraction, whether every thread count gave
bitwise the same ``popt`` and ``ier`` (the batch contract), and the median relative
``popt`` difference against SciPy on the SciPy subset.

Usage::

    python bench/bench_batch.py                          # all models, N 1e3..1e5, 1-2 threads
    python bench/bench_batch.py --quick                  # gaussian and gaussian_2d, smaller N
    python bench/bench_batch.py --models gaussian,exponential --n 10000,200000 --threads 1,2,4
    python bench/bench_batch.py --json bench/results/batch.json

It benchmarks the lmfast that Python imports: an installed one (``pip install -e .``), or
the working tree with ``PYTHONPATH=.`` after ``python setup.py build_ext --inplace``.
"""

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from lmfast.bench import (
    BLOCK_ROWS,
    BUSY_CPUS,
    BatchData,
    BenchConfig,
    batch_agreement,
    batch_costs,
    format_header,
    format_rate,
    gaussian_2d_batch,
    gaussian_batch,
    relative_spread,
    require_implementations,
    run_record,
    scipy_fit_loop,
    timed_rounds,
    versions,
)

#: The repository whose git commit is recorded with ``--json``.
REPO = Path(__file__).resolve().parent.parent

DEFAULT_N = (1_000, 10_000, 100_000)
QUICK_N = (1_000, 20_000)
DEFAULT_THREADS = (1, 2)
DEFAULT_MODELS = (
    "gaussian",
    "lorentzian",
    "pseudo_voigt",
    "exponential",
    "gaussian_2d",
    "gaussian_2d_elliptic",
    "polynomial3",
)
QUICK_MODELS = ("gaussian", "gaussian_2d")
DEFAULT_ROUNDS = 5
QUICK_ROUNDS = 3
#: Fits of the SciPy loop.
SCIPY_SUBSET = 200


def int_list(text):
    """Parse ``"1,2,3"`` into a tuple of ints (argparse ``type``)."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--models", help=f"comma-separated model names (default {','.join(DEFAULT_MODELS)})"
    )
    p.add_argument("--n", type=int_list, help=f"numbers of fits (default {DEFAULT_N})")
    p.add_argument("--threads", type=int_list, help=f"thread counts (default {DEFAULT_THREADS})")
    p.add_argument("--rounds", type=int, help=f"interleaved rounds (default {DEFAULT_ROUNDS})")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"models {QUICK_MODELS}, N {QUICK_N}, {QUICK_ROUNDS} rounds",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    args = p.parse_args(argv)
    args.models = (
        tuple(v.strip() for v in args.models.split(",") if v.strip())
        if args.models
        else (QUICK_MODELS if args.quick else DEFAULT_MODELS)
    )
    args.n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    args.threads = args.threads or DEFAULT_THREADS
    args.rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


# --------------------------------------------------------------------------------------
# Synthetic batches
# --------------------------------------------------------------------------------------

#: name -> (abscissae, (low, high) of every parameter, noise); "shot" noise is
#: sqrt(model) * N(0, 1), a float is the standard deviation relative to the first
#: parameter (amplitude) plus 0.05.
GRID5 = np.stack([g.ravel() for g in np.meshgrid(np.arange(5.0), np.arange(5.0))])
GRID7 = np.stack([g.ravel() for g in np.meshgrid(np.arange(7.0), np.arange(7.0))])
SPECS = {
    "lorentzian": (
        np.linspace(0.0, 10.0, 128),
        [(2.0, 10.0), (3.5, 6.5), (0.4, 1.0), (-0.5, 0.5)],
        0.02,
    ),
    "pseudo_voigt": (
        np.linspace(0.0, 10.0, 128),
        [(2.0, 10.0), (3.5, 6.5), (1.0, 2.5), (0.2, 0.8), (-0.5, 0.5)],
        0.02,
    ),
    "exponential": (np.linspace(0.0, 5.0, 64), [(1.0, 10.0), (0.3, 2.0), (-0.5, 0.5)], 0.02),
    "gaussian_2d_elliptic": (
        GRID7,
        [(50.0, 500.0), (2.5, 3.5), (2.5, 3.5), (0.7, 1.5), (0.7, 1.5), (5.0, 20.0)],
        "shot",
    ),
    "polynomial3": (
        np.linspace(-1.0, 1.0, 64),
        [(-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0)],
        0.0,
    ),
}


def model_batch(model, n_fits, seed=30):
    """Noisy fits of ``model`` with starting points perturbed from the truth.

    ``gaussian`` and ``gaussian_2d`` use the generators of ``python -m lmfast.bench``; the
    others draw every parameter uniformly from :data:`SPECS`, evaluate the model's NumPy
    twin on (k, 1) parameter columns, add noise, and start from the truth moved by
    ``U(-0.15, 0.15)`` of each parameter's range. Generated in blocks, in place.
    """
    if model.name == "gaussian":
        return gaussian_batch(n_fits)
    if model.name == "gaussian_2d":
        return gaussian_2d_batch(n_fits)
    x, ranges, noise = SPECS[model.name]
    rng = np.random.default_rng(seed)
    low, high = np.array(ranges).T
    y = np.empty((n_fits, x.shape[-1]))
    p0 = np.empty((n_fits, len(ranges)))
    for start in range(0, n_fits, BLOCK_ROWS):
        k = min(BLOCK_ROWS, n_fits - start)
        truth = rng.uniform(low, high, (k, len(ranges)))
        clean = model(x, *(truth[:, j : j + 1] for j in range(len(ranges))))
        if noise == "shot":
            scale = np.sqrt(np.maximum(clean, 0.0))
        else:
            scale = (noise * np.abs(truth[:, :1]) + 0.05) * np.ones_like(clean)
        y[start : start + k] = clean + scale * rng.standard_normal(clean.shape)
        p0[start : start + k] = truth + (high - low) * rng.uniform(-0.15, 0.15, truth.shape)
    return BatchData(x, y, p0)


def resolve_model(models, name):
    """``lmfast.models`` attribute, or ``polynomialD`` -> ``models.polynomial(D)``."""
    if name.startswith("polynomial") and name[len("polynomial") :].isdigit():
        return models.polynomial(int(name[len("polynomial") :]))
    model = getattr(models, name, None)
    if not isinstance(model, models.Model):
        raise SystemExit(f"unknown model {name!r}")
    return model


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------


def sweep_model(model, args, batch_fn, curve_fit):
    """Time one model over every N and thread count; return its records."""
    data = model_batch(model, max(args.n))
    subset = min(SCIPY_SUBSET, data.y.shape[0])
    records = []
    sub = BatchData(data.x, data.y[:subset], data.p0[:subset])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sp_popt, sp_ier = scipy_fit_loop(curve_fit, model, sub, subset)
    scipy_times = []
    for n_fits in args.n:
        part = BatchData(data.x, data.y[:n_fits], data.p0[:n_fits])
        calls = {
            t: (lambda t=t, part=part: batch_fn(model, part.x, part.y, part.p0, threads=t))
            for t in args.threads
        }
        results = {t: call() for t, call in calls.items()}  # warm-up and checks
        first = results[args.threads[0]]
        identical = all(
            np.array_equal(first.popt, r.popt, equal_nan=True) and np.array_equal(first.ier, r.ier)
            for r in results.values()
        )
        success = float(np.mean(first.success))
        k = min(subset, n_fits)
        def residuals(i, p):
            return model(part.x, *p) - part.y[i]

        agreement, agree = batch_agreement(
            first.popt[:k], first.ier[:k], sp_popt[:k], sp_ier[:k], stderr=first.perr[:k],
            lm_cost=batch_costs(residuals, first.popt[:k]),
            ref_cost=batch_costs(residuals, sp_popt[:k]))
        del results, first
        if n_fits == max(args.n):  # SciPy joins the rounds of the largest batch
            calls["scipy"] = lambda: scipy_fit_loop(curve_fit, model, sub, subset)
        raw, load = timed_rounds(calls, args.rounds)
        scipy_times = raw.pop("scipy", scipy_times)
        base = statistics.median(raw[min(args.threads)])
        for t, times in raw.items():
            med = statistics.median(times)
            records.append(
                {
                    "model": model.name,
                    "m": int(data.x.shape[-1]),
                    "n": model.n_params,
                    "n_fits": n_fits,
                    "threads": t,
                    "seconds": med,
                    "times": times,
                    "fits_per_second": n_fits / med,
                    "speedup_vs_min_threads": base / med,
                    "spread": relative_spread(times),
                    "success": success,
                    "threads_identical": identical,
                    "agreement_scipy": agreement,
                    "agree": agree,
                    "other_load": load,
                }
            )
    scipy_per_fit = statistics.median(scipy_times) / subset if scipy_times else None
    for rec in records:
        rec["scipy_seconds_per_fit"] = scipy_per_fit
        rec["ratio_vs_scipy"] = (
            scipy_per_fit / (rec["seconds"] / rec["n_fits"]) if scipy_per_fit else None
        )
    return records


def print_table(records, threads):
    """The fits/s table: one line per model and N, one column per thread count."""
    t_min = min(threads)
    head = (
        f"{'model':<22}{'m':>4}{'n':>3}{'N':>9}"
        + "".join(f"{f'{t}T fits/s':>14}" for t in threads)
        + "".join(f"{f'{t}T/{t_min}T':>8}" for t in threads if t != t_min)
        + f"{'vs SciPy':>10}  checks"
    )
    print(head + "\n" + "-" * len(head))
    rows = {}
    for r in records:
        rows.setdefault((r["model"], r["n_fits"]), {})[r["threads"]] = r
    for (model, n_fits), by_t in rows.items():
        any_r = next(iter(by_t.values()))
        best = max(by_t.values(), key=lambda r: r["fits_per_second"])
        checks = [
            f"ok {100 * any_r['success']:.1f}%",
            "threads bitwise" if any_r["threads_identical"] else "THREADS DIFFER",
            "agree" if any_r["agree"] else "DISAGREE",
        ]
        if any_r["other_load"] is not None and any_r["other_load"] >= BUSY_CPUS:
            checks.append(f"BUSY: others used {any_r['other_load']:.1f} CPUs")
        line = (
            f"{model:<22}{any_r['m']:>4}{any_r['n']:>3}{n_fits:>9}"
            + "".join(
                f"{format_rate(by_t[t]['fits_per_second']) if t in by_t else '-':>14}"
                for t in threads
            )
            + "".join(f"{by_t[t]['speedup_vs_min_threads']:>8.2f}" for t in threads if t != t_min)
            + f"{best['ratio_vs_scipy']:>10.1f}  "
            + ", ".join(checks)
        )
        print(line)
    print(
        f"\nvs SciPy = SciPy curve_fit time per fit (NumPy twin, loop over {SCIPY_SUBSET} fits)"
        " / lmfast time per fit at the best thread count.\n"
        f"{t_min}T columns: speedup over {t_min} thread(s). Medians over the rounds.\n"
        "BUSY: other processes used CPUs during those timings (fits/s and scaling unreliable)."
    )


def main(argv=None):
    """Run the sweep; return the process exit code."""
    args = parse_args(argv)
    lmfast, scipy = require_implementations()
    try:
        from lmfast import models

        batch_fn = lmfast.curve_fit_batch
    except (ImportError, AttributeError) as exc:
        print(f"lmfast has no batch API yet: {exc}", file=sys.stderr)
        return 1
    chosen = [resolve_model(models, name) for name in args.models]
    info = versions(lmfast, scipy)
    header = format_header(info, BenchConfig()).rstrip("\n").rsplit("\n", 1)[0]
    print(f"{header}\n{args.rounds} rounds, one batch call per timing\n", flush=True)
    start = time.perf_counter()
    records = []
    for model in chosen:
        recs = sweep_model(model, args, batch_fn, scipy.optimize.curve_fit)
        records += recs
        print(
            f"{model.name}: done ({len(recs)} timings, {time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    print()
    print_table(records, args.threads)
    elapsed = time.perf_counter() - start
    print(f"sweep took {elapsed:.0f} s")
    if args.json:
        doc = run_record("bench_batch", REPO, info) | {
            "config": {
                "models": args.models,
                "n": args.n,
                "threads": args.threads,
                "rounds": args.rounds,
                "scipy_subset": SCIPY_SUBSET,
            },
            "elapsed_s": elapsed,
            "results": records,
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
