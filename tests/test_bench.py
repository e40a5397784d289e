"""``python -m lmfast.bench``: the command line, the row selection and the ``--plot`` figure.

Nothing here asserts a time: the one real run checks what is printed and written.
"""

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lmfast
from lmfast.bench import (
    TABLES,
    BatchFitResult,
    BenchConfig,
    PeerFitResult,
    SingleFitResult,
    all_workloads,
    batch_workloads,
    default_workloads,
    opt_in_workloads,
    select_workloads,
)
from lmfast.bench.__main__ import main
from lmfast.bench.checks import PATCHED_X_RTOL
from lmfast.bench.packages import PackageFit, SolverClock
from lmfast.bench.patched import PatchedFit, patched_workloads, run_patched_fit
from lmfast.bench.plot import bar_positions, plot_groups, plot_results, plot_title


def single(name="gauss128-lmder"):
    res = SingleFitResult(name, "leastsq", 128, 4)
    res.seconds = {"lmfast": 1e-4, "scipy": 2e-4}
    return res


def batch(name="batch-gauss128"):
    res = BatchFitResult(name, 128, 4, 5000, 100, 2)
    res.seconds = {"lmfast": 1e-5, "lmfast_1t": 2e-5, "scipy": 4e-4, "scipy_plain": 3e-4}
    return res


def peer(status="ok", library="lumafit"):
    res = PeerFitResult(f"batch-gauss128-{library}", "batch-gauss128", library, "gaussian",
                        128, 4, 5000, 2, status=status)  # fmt: skip
    if status == "ok":
        res.seconds = {"lmfast": 1e-5, "peer": 3e-5}
    return res


def test_list_prints_every_workload_in_order(capsys):
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [w.name for w in all_workloads()]
    assert [line.split()[1] for line in lines[:3]] == ["single"] * 3
    opt_in = [line.split()[0] for line in lines if "[opt-in]" in line]
    assert opt_in == [w.name for w in opt_in_workloads()]
    assert not set(opt_in) & {w.name for w in default_workloads()}


def test_opt_in_rows_run_only_when_named():
    names = [w.name for w in opt_in_workloads()]
    assert names == ["dask-cluster-gauss64", "dask-xarray-map200-gauss128"]
    assert [w.name for w in select_workloads(all_workloads(), "dask")] == names


def test_an_opt_in_row_without_its_modules_is_skipped_with_the_reason(monkeypatch):
    from lmfast.bench import environment
    from lmfast.bench.runners import run_scale_out

    real = environment.installed
    monkeypatch.setattr(environment, "installed", lambda m: m != "distributed" and real(m))
    res = run_scale_out(opt_in_workloads()[0], {}, BenchConfig(quick=True))
    assert res.status == "skipped"
    assert re.search(r"needs (dask, )?distributed: pip install", res.note), res.note
    assert "skipped" in TABLES["scaleout"]().row(res)


def test_only_matches_substrings_and_globs_ignoring_case():
    workloads = default_workloads()
    names = [w.name for w in select_workloads(workloads, "gauss128-LM")]
    assert names == ["gauss128-lmdif", "gauss128-lmder"]
    names = [w.name for w in select_workloads(workloads, "cf-*-jac,trivial")]
    assert names == ["trivial", "cf-gauss128-jac", "cf-gauss128-compiled-jac"]
    assert select_workloads(workloads, "") == list(workloads)


def test_quick_batches_are_smaller():
    for w in batch_workloads():
        assert BenchConfig(quick=True).n_fits(w) == w.quick_n_fits < w.n_fits
        assert BenchConfig().n_fits(w) == w.n_fits


@pytest.mark.parametrize("argv", [["--rounds", "0"], ["--threads", "0"], ["--bogus"]])
def test_bad_arguments_exit_with_code_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: python -m lmfast.bench" in capsys.readouterr().err


def test_plot_title_names_peers_only_when_a_peer_row_was_measured():
    assert "peers" not in plot_title([single(), batch()])
    assert "peers" not in plot_title([single(), batch(), peer(status="skipped")])
    assert "and peers" in plot_title([single(), batch(), peer()])


def test_plot_bars_are_centred_on_their_tick():
    groups = plot_groups([single("a"), single("b"), batch(), peer(), peer(library="cminpack")])
    assert list(groups) == ["a", "b", "batch-gauss128"]
    assert list(groups["a"]) == ["lmfast (single fit)", "SciPy"]
    assert list(groups["batch-gauss128"])[-2:] == ["lumafit", "cminpack"]
    positions, width = bar_positions(groups)
    for i, (name, bars) in enumerate(groups.items()):
        xs = [positions[name, label] for label in bars]
        assert sum(xs) / len(xs) == pytest.approx(i)
        gaps = [b - a for a, b in itertools.pairwise(xs)]
        assert gaps == pytest.approx([width] * (len(xs) - 1))
    assert width * max(len(bars) for bars in groups.values()) == pytest.approx(0.8)


def test_plot_writes_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "fits.png"
    assert plot_results([single(), batch(), peer(status="skipped")], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plot_results([peer(status="skipped")], tmp_path / "none.png")


def test_quick_run_of_one_cheap_workload_prints_its_row_and_writes_json(tmp_path):
    pytest.importorskip("scipy")
    root = str(Path(lmfast.__file__).resolve().parents[1])  # the lmfast under test
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path)
    out = tmp_path / "x.json"
    run = subprocess.run(
        [sys.executable, "-m", "lmfast.bench", "--quick", "--only", "trivial", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"lmfast {lmfast.__version__} (")
    assert "3 rounds, each timing >= 5 ms" in lines
    row = next(line for line in lines if line.startswith("trivial "))
    nfev, ier, same = row.split()[-3:]
    assert nfev.split("/")[0] == nfev.split("/")[1]
    assert (ier, same) == ("1/1", "yes")
    doc = json.loads(out.read_text())
    assert doc["config"] == {"rounds": 3, "min_time": 0.005, "quick": True, "threads": None}
    (rec,) = doc["results"]
    assert (rec["kind"], rec["name"], rec["status"]) == ("single", "trivial", "ok")
    assert rec["same"] is True
    assert [len(rec["times"][impl]) for impl in ("lmfast", "scipy")] == [3, 3]


# The package rows (lmfit, astropy with and without lmfast.patch()), in a tiny configuration.

TINY = BenchConfig(rounds=2, min_time=1e-4)


def run_package_row(workload):
    scipy_optimize = pytest.importorskip("scipy.optimize")
    return run_patched_fit(workload, {"lmfast": lmfast, "scipy": scipy_optimize}, TINY)


def package_workload(name):
    return next(w for w in patched_workloads() if w.name == name)


def test_package_rows_are_in_the_default_run_and_selected_by_package():
    names = [w.name for w in default_workloads() if w.kind == "patch"]
    assert names == [
        "lmfit-gauss128",
        "lmfit-gauss128-bounded",
        "astropy-gauss128-leastsq",
        "astropy-gauss128-least-squares",
    ]
    assert [w.name for w in select_workloads(default_workloads(), "lmfit-gauss128")] == names[:2]
    assert [w.name for w in select_workloads(default_workloads(), "astropy")] == names[2:]


@pytest.mark.parametrize("name", [w.name for w in patched_workloads()])
def test_package_row_times_both_sides_and_checks_the_patch(name):
    workload = package_workload(name)
    pytest.importorskip(workload.package)
    res = run_package_row(workload)
    assert lmfast.patched_names() == ()  # the row leaves nothing patched
    table = TABLES["patch"](name_width=len(name))
    if not hasattr(lmfast, workload.function):
        assert res.status == "skipped"
        assert f"lmfast.{workload.function} not available yet" in res.note
        assert table.row(res).split()[-1] == "skipped"
        return
    assert res.status == "ok", res.note
    assert res.calls_per_fit == 1
    assert res.same and res.xdiff <= PATCHED_X_RTOL
    assert np.allclose(res.x["patched"], res.x["unpatched"], rtol=PATCHED_X_RTOL, atol=0)
    for side in ("unpatched", "patched"):
        assert len(res.times[side]) == TINY.rounds
        assert set(res.split[side]) == {"outside", "callbacks", "model", "solver"}
        assert min(res.split[side].values()) >= 0
        assert sum(res.share(side, part) for part in res.split[side]) == pytest.approx(1)
    # lmfast skips leastsq's extra shape-check evaluations (README, differences from SciPy);
    # least_squares('lm') evaluates where SciPy does.
    patched, unpatched = res.callbacks_per_fit["patched"], res.callbacks_per_fit["unpatched"]
    assert patched < unpatched if workload.function == "leastsq" else patched == unpatched
    cells = table.row(res).split()
    assert cells[0] == name
    assert cells[3] == workload.function
    assert cells[7] == "1"  # calls/fit
    assert cells[-2] == "yes"
    assert float(cells[6]) == pytest.approx(res.ratio, abs=0.01)
    own = res.share("patched", "outside") + res.share("patched", "callbacks")
    assert res.own_share == pytest.approx(own)
    assert 0 < res.own_share < 1
    assert cells[10] == f"{100 * res.own_share:.0f}"
    notes = table.notes([res])
    assert notes[0].startswith(
        f"note: {name}: {workload.package}'s own code is {100 * res.own_share:.0f}% of a patched"
    )
    assert f"% {workload.package} around the call" in notes[0]
    assert notes[-1].startswith("note: entering and leaving lmfast.patched() takes")
    rec = json.loads(json.dumps(res.to_json()))
    assert (rec["kind"], rec["status"], rec["calls_per_fit"]) == ("patch", "ok", 1)
    assert rec["ratio"] == pytest.approx(res.ratio)  # the record carries the row's ratio


def test_package_row_is_skipped_with_the_reason_when_something_is_missing():
    absent = PatchedFit("absent", "no_such_package_for_lmfast", "leastsq", "fit", 8, 2, "",
                        make_fit=None)  # fmt: skip
    res = run_package_row(absent)
    assert res.status == "skipped" and "no_such_package_for_lmfast" in res.note
    no_function = PatchedFit("no-fn", "numpy", "no_such_solver", "fit", 8, 2, "", make_fit=None)
    res = run_package_row(no_function)
    assert res.status == "skipped" and "lmfast.no_such_solver not available yet" in res.note


def test_package_row_fails_when_patched_fits_do_not_reach_lmfast():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    leastsq = scipy_optimize.leastsq  # held in a closure, where the patch cannot rebind it

    def make_fit():
        def fit():
            x, _ = leastsq(lambda p: p - np.array([1.0, 2.0]), np.zeros(2))
            return x, 0

        return PackageFit(fit, scipy_optimize, "leastsq", model=lambda: None)

    bypass = PatchedFit("bypass", "numpy", "leastsq", "fit", 2, 2, "", make_fit)
    res = run_package_row(bypass)
    assert res.status == "error"
    assert res.note == "patched fit: 0 leastsq calls from numpy reached lmfast"


def test_solver_clock_times_the_call_and_its_callbacks_and_restores_the_binding():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    original = scipy_optimize.leastsq
    calls = []

    def fit():
        def residual(p):
            calls.append(p)
            return p - np.array([1.0, 2.0])

        return scipy_optimize.leastsq(residual, np.zeros(2), Dfun=lambda p: np.eye(2))

    with SolverClock(PackageFit(fit, scipy_optimize, "leastsq", model=lambda: None)) as clock:
        x, ier = fit()
    assert scipy_optimize.leastsq is original
    assert np.allclose(x, [1, 2]) and ier in (1, 2, 3, 4)
    assert clock.solver_calls == 1
    assert clock.callback_calls == len(calls) + clock.jacobian_calls
    assert clock.jacobian_calls >= 1
