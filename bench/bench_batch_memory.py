"""Peak memory of a large compiled batch: ``curve_fit_batch(models.gaussian, ...)``.

Fits ``--n-fits`` (default 1,000,000) noisy Gaussians of ``m = 64`` points and reports
the peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) against the
bytes of the inputs (``x``, ``ydata``, ``p0``) and of the outputs (every array of the
``BatchResult``). The figure of merit is the *extra* memory of the fit::

    extra = peak RSS - RSS before the data existed - inputs - outputs

(the interpreter, NumPy, SciPy and lmfast are loaded before the first measurement, so
their memory is not counted). Target: at most about 200 MB, whatever the number of fits.
It can come out slightly negative: heap memory that was already resident at the baseline
(freed by the imports) gets reused. ``peak - RSS after the fit`` is printed too: the
transient memory of the fit (workspaces, temporaries) that is gone when it returns.

The data are generated in blocks into preallocated arrays (``lmfast.bench.gaussian_batch``)
so that generating the 512 MB ``ydata`` does not set the peak itself; the script checks it
(the peak before the fit is printed, and must stay below the peak of the fit for the
figure to mean anything). Each run is a fresh process, so the peak is this fit's alone.

Usage::

    python bench/bench_batch_memory.py                    # 1e6 fits, ~0.8 GB, a few seconds
    python bench/bench_batch_memory.py --n-fits 10000     # quick check
    python bench/bench_batch_memory.py --threads 1 --json mem.json

It measures the lmfast that Python imports (installed, or ``PYTHONPATH=.`` in the working
tree after ``python setup.py build_ext --inplace``).
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

MB = 1e6
#: Target of the extra memory, bytes.
TARGET_EXTRA = 200 * MB


def peak_rss():
    """Peak resident set size of this process so far, in bytes (Linux: ru_maxrss in KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss():
    """Current resident set size in bytes (``/proc/self/statm``), or ``None``."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * resource.getpagesize()


def result_nbytes(res):
    """Bytes of every ndarray attribute of a ``BatchResult``."""
    import numpy as np

    names = ("popt", "pcov", "perr", "chisq", "ier", "nfev", "njev", "success")
    arrays = {name: getattr(res, name) for name in names if hasattr(res, name)}
    seen = {}
    for name, value in arrays.items():
        if isinstance(value, np.ndarray):
            base = value if value.base is None else value.base  # count shared buffers once
            seen[id(base)] = (name, base.nbytes if isinstance(base, np.ndarray) else value.nbytes)
    return sum(nbytes for _, nbytes in seen.values()), {n: b for n, b in seen.values()}


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-fits", type=int, default=1_000_000, help="number of fits (default 1e6)")
    p.add_argument("--m", type=int, default=64, help="points per fit (default 64)")
    p.add_argument("--threads", type=int, help="threads of curve_fit_batch (default: all)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = p.parse_args(argv)
    if args.n_fits < 1 or args.m < 5:
        p.error("--n-fits must be >= 1 and --m >= 5")
    return args


def main(argv=None):
    """Run one large batch and print its memory figures; return the exit code."""
    args = parse_args(argv)
    import numpy as np

    import lmfast
    import lmfast.models
    from lmfast.bench import gaussian_batch

    # Warm up everything that allocates once per process (imports, the model table,
    # thread pools) on a tiny batch, so the baseline below includes it.
    tiny = gaussian_batch(8, m=args.m, seed=1)
    lmfast.curve_fit_batch(lmfast.models.gaussian, tiny.x, tiny.y, tiny.p0, threads=args.threads)
    del tiny
    baseline = current_rss()
    peak_before_data = peak_rss()

    start = time.perf_counter()
    data = gaussian_batch(args.n_fits, m=args.m, seed=3)
    x, y, p0 = data.x, data.y, data.p0
    del data
    generate_s = time.perf_counter() - start
    inputs = x.nbytes + y.nbytes + p0.nbytes
    peak_after_data = peak_rss()

    start = time.perf_counter()
    res = lmfast.curve_fit_batch(lmfast.models.gaussian, x, y, p0, threads=args.threads)
    fit_s = time.perf_counter() - start
    peak = peak_rss()
    after_fit = current_rss()
    outputs, per_output = result_nbytes(res)
    success = float(np.mean(res.success))

    extra = peak - baseline - inputs - outputs
    raw_extra = peak - inputs - outputs
    generation_ok = peak_after_data < peak
    figures = {
        "n_fits": args.n_fits,
        "m": args.m,
        "threads": args.threads,
        "generate_s": generate_s,
        "fit_s": fit_s,
        "fits_per_second": args.n_fits / fit_s,
        "success": success,
        "baseline_rss": baseline,
        "peak_before_data": peak_before_data,
        "peak_after_data": peak_after_data,
        "peak_rss": peak,
        "rss_after_fit": after_fit,
        "inputs": inputs,
        "outputs": outputs,
        "outputs_by_array": per_output,
        "peak_minus_inputs_outputs": raw_extra,
        "extra": extra,
        "target_extra": TARGET_EXTRA,
        "generation_below_fit_peak": generation_ok,
    }

    print(f"lmfast {getattr(lmfast, '__version__', '?')} ({lmfast.__file__})")
    print(
        f"{args.n_fits:,} fits of models.gaussian, m={args.m}, threads={args.threads or 'all'}: "
        f"{fit_s:.2f} s ({args.n_fits / fit_s:,.0f} fits/s), success {100 * success:.2f}%"
    )
    print(f"baseline RSS (after imports, before data) {baseline / MB:9.1f} MB")
    print(f"inputs  x + ydata + p0                    {inputs / MB:9.1f} MB")
    print(
        f"outputs BatchResult arrays                {outputs / MB:9.1f} MB  ("
        + ", ".join(f"{k} {v / MB:.1f}" for k, v in per_output.items())
        + ")"
    )
    print(f"peak RSS before the fit (data generated)  {peak_after_data / MB:9.1f} MB")
    print(f"peak RSS (ru_maxrss)                      {peak / MB:9.1f} MB")
    print(f"RSS after the fit                         {after_fit / MB:9.1f} MB")
    print(f"transient: peak - RSS after the fit       {(peak - after_fit) / MB:9.1f} MB")
    print(f"peak - inputs - outputs                   {raw_extra / MB:9.1f} MB")
    verdict = "within" if extra <= TARGET_EXTRA else "ABOVE"
    print(
        f"extra = peak - baseline - inputs - outputs {extra / MB:8.1f} MB  "
        f"({verdict} the {TARGET_EXTRA / MB:.0f} MB target)"
    )
    if not generation_ok:
        print(
            "note: the data generation set the peak, not the fit: the extra memory of the fit "
            "is at most the figure above"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0 if extra <= TARGET_EXTRA else 1


if __name__ == "__main__":
    sys.exit(main())
