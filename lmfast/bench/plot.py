"""The ``--plot`` figure: fits per second per workload and library, log scale."""

import numpy as np

PLOT_MISSING = "--plot needs matplotlib: pip install matplotlib (nothing was run)"


def plot_results(results, path):
    """Draw a bar chart of fits per second, per workload and library, to ``path``.

    Every measured row is a group of bars: lmfast (batch rows: with the threads used and
    with one thread), SciPy, and the peers sharing the batch row's data. The axis is
    logarithmic (single fits and batches differ by orders of magnitude).

    Returns
    -------
    bool
        False when no row was measured (nothing drawn).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {}  # workload -> {library label: fits per second}
    for r in results:
        if r.status != "ok":
            continue
        if r.kind == "peer":
            groups.setdefault(r.base, {})[r.library] = 1.0 / r.seconds["peer"]
            continue
        bars = groups.setdefault(r.name, {})
        if r.kind == "batch":
            bars[f"lmfast ({r.threads} threads)"] = 1.0 / r.seconds["lmfast"]
            if "lmfast_1t" in r.seconds:
                bars["lmfast (1 thread)"] = 1.0 / r.seconds["lmfast_1t"]
            bars["SciPy"] = 1.0 / r.seconds["scipy"]
            if "scipy_plain" in r.seconds:
                bars["SciPy, plain NumPy function"] = 1.0 / r.seconds["scipy_plain"]
        else:
            bars["lmfast (single fit)"] = 1.0 / r.seconds["lmfast"]
            bars["SciPy"] = 1.0 / r.seconds["scipy"]
    if not groups:
        return False
    labels = list(dict.fromkeys(label for bars in groups.values() for label in bars))
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(max(6.0, 3.5 + 1.1 * len(groups)), 4.8))
    for j, label in enumerate(labels):
        offsets = [i + (j - (len(labels) - 1) / 2) * width for i in range(len(groups))]
        values = [bars.get(label, np.nan) for bars in groups.values()]
        ax.bar(offsets, values, width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right")
    ax.set_ylabel("fits per second (log scale)")
    ax.set_title("lmfast against SciPy and peers (python -m lmfast.bench)")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
