"""The ``--plot`` figure: fits per second per workload and library, log scale."""

PLOT_MISSING = "--plot needs matplotlib: pip install matplotlib (nothing was run)"
#: Bars of a package row (lmfit, astropy): the package's own fit with ``lmfast.patch()``
#: (its SciPy calls run on lmfast) and without (on SciPy); the tick names the package.
PATCHED_LABEL = "package patched (on lmfast)"
UNPATCHED_LABEL = "package unpatched (on SciPy)"


def plot_groups(results):
    """Bars of the figure: fits per second of each library, grouped by workload.

    Parameters
    ----------
    results : sequence
        Result objects of any kind; rows that were not measured are left out.

    Returns
    -------
    dict of str to dict of str to float
        Workload name -> {bar label: fits per second}, in result order. A single-fit row
        has lmfast (single fit) and SciPy; a package row (lmfit, astropy) has the
        package's own fit patched and unpatched (:data:`PATCHED_LABEL`); a batch row has
        lmfast (threads used, then one thread), SciPy and SciPy with the plain function; a
        peer row adds its library's bar to the group of its ``base`` batch row; an
        estimator row has lmfast with each estimator; a scale-out row has lmfast (cluster
        or accessor) and its reference.
    """
    groups = {}
    for r in results:
        if r.status != "ok":
            continue
        if r.kind == "peer":
            groups.setdefault(r.base, {})[r.library] = 1.0 / r.seconds["peer"]
            continue
        if r.kind in ("kernel", "map"):  # not fits/s against another library
            continue
        bars = groups.setdefault(r.name, {})
        if r.kind == "patch":
            bars.update(_patched_bars(r))
        elif r.kind == "batch":
            bars[f"lmfast ({r.threads} threads)"] = 1.0 / r.seconds["lmfast"]
            if "lmfast_1t" in r.seconds:
                bars["lmfast (1 thread)"] = 1.0 / r.seconds["lmfast_1t"]
            bars["SciPy"] = 1.0 / r.seconds["scipy"]
            if "scipy_plain" in r.seconds:
                bars["SciPy, plain NumPy function"] = 1.0 / r.seconds["scipy_plain"]
        elif r.kind == "estimator":
            bars[f"lmfast, {r.estimator}"] = 1.0 / r.seconds["lmfast"]
            bars[f"lmfast, {r.reference_estimator}"] = 1.0 / r.seconds["reference"]
        elif r.kind == "bridge":
            bars[f"lmfast.lmfit.fit_batch ({r.threads} threads)"] = 1.0 / r.seconds["lmfast"]
            bars["lmfit Model.fit loop"] = 1.0 / r.seconds["lmfit"]
        elif r.kind == "scaleout":
            side = "cluster" if r.reference == "local" else "xarray accessor"
            bars[f"lmfast ({side})"] = 1.0 / r.seconds["lmfast"]
            bars[r.reference_label] = 1.0 / r.seconds[r.reference]
        else:
            bars["lmfast (single fit)"] = 1.0 / r.seconds["lmfast"]
            bars["SciPy"] = 1.0 / r.seconds["scipy"]
    return groups


def _patched_bars(r):
    """Bars of a package row: the package's own fit per second with ``lmfast.patch()``
    (its SciPy calls run on lmfast) and without (on SciPy)."""
    return {
        PATCHED_LABEL: 1.0 / r.seconds["patched"],
        UNPATCHED_LABEL: 1.0 / r.seconds["unpatched"],
    }


def bar_positions(groups):
    """Where each bar goes: the bars of group ``i`` side by side, centred on ``x = i``.

    Parameters
    ----------
    groups : dict of str to dict of str to float
        :func:`plot_groups`.

    Returns
    -------
    positions : dict of (str, str) to float
        (workload, bar label) -> x of the bar's centre.
    width : float
        Width of every bar: the largest group fills 0.8 of the space between ticks.
    """
    width = 0.8 / max(len(bars) for bars in groups.values())
    positions = {}
    for i, (name, bars) in enumerate(groups.items()):
        for j, label in enumerate(bars):
            positions[name, label] = i + (j - (len(bars) - 1) / 2) * width
    return positions, width


def plot_title(results):
    """Title of the figure; it names peers only when a peer row was measured.

    Parameters
    ----------
    results : sequence
        Result objects of any kind.

    Returns
    -------
    str
    """
    peers = any(r.kind == "peer" and r.status == "ok" for r in results)
    return f"lmfast against SciPy{' and peers' if peers else ''} (python -m lmfast.bench)"


def plot_results(results, path):
    """Draw a bar chart of fits per second, per workload and library, to ``path``.

    Every measured row is a group of bars centred on its tick: lmfast (batch rows: with
    the threads used and with one thread), SciPy, and the peers sharing the batch row's
    data. A library keeps its colour in every group. The axis is logarithmic (single fits
    and batches differ by orders of magnitude).

    Returns
    -------
    bool
        False when no row was measured (nothing drawn).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = plot_groups(results)
    if not groups:
        return False
    positions, width = bar_positions(groups)
    labels = list(dict.fromkeys(label for bars in groups.values() for label in bars))
    fig, ax = plt.subplots(figsize=(max(6.0, 3.5 + 1.1 * len(groups)), 4.8))
    for label in labels:  # one call per library: one colour and one legend entry each
        names = [name for name, bars in groups.items() if label in bars]
        values = [groups[name][label] for name in names]
        ax.bar([positions[name, label] for name in names], values, width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)), list(groups))
    # Rotated labels end at their tick (anchored there, not shifted by their bounding box).
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylabel("fits per second (log scale)")
    ax.set_title(plot_title(results))
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
