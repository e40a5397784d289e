"""``python -m lmfast.bench``: the command line, the row selection and the ``--plot`` figure.

Nothing here asserts a time: the one real run checks what is printed and written.
"""

import dataclasses
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
    QUICK_BATCH_SUBSET,
    TABLES,
    BatchFitResult,
    BenchConfig,
    EstimatorFitResult,
    PeerFitResult,
    SingleFitResult,
    all_workloads,
    batch_workloads,
    default_workloads,
    estimator_workloads,
    full_workloads,
    gaussian_batch,
    opt_in_workloads,
    peer_workloads,
    poisson_gaussian_batch,
    select_workloads,
    spiky_gaussian_batch,
)
from lmfast.bench.__main__ import main
from lmfast.bench.checks import (
    COST_RTOL,
    PATCHED_X_RTOL,
    STDERR_FRACTION,
    X_RTOL,
    batch_agreement,
    fit_agreement,
    loss_cost,
    relative_difference,
)
from lmfast.bench.packages import PackageFit, SolverClock
from lmfast.bench.patched import PatchedFit, patched_workloads, run_patched_fit
from lmfast.bench.plot import bar_positions, plot_groups, plot_results, plot_title
from lmfast.bench.problems import ROBUST_OPTIONS, gauss1d, gauss1d_jac, spiky_gauss_problem
from lmfast.bench.runners import (
    run_batch_fit,
    run_estimator_fit,
    run_single_fit,
    scipy_poisson_loop,
)


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
    full = [line.split()[0] for line in lines if "[--full]" in line]
    assert full == [w.name for w in peer_workloads()]
    assert not set(full) & {w.name for w in default_workloads()}


def test_default_run_leaves_the_peers_to_full():
    assert not [w for w in default_workloads() if w.kind == "peer"]
    names = [w.name for w in full_workloads()]
    assert names == [w.name for w in default_workloads() + peer_workloads()]
    for w in peer_workloads():  # the same fits as their batch row
        (base,) = [b for b in batch_workloads() if b.name == w.base]
        assert (w.n_fits, w.quick_n_fits, w.m) == (base.n_fits, base.quick_n_fits, base.m)


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
    for w in batch_workloads() + estimator_workloads():
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


def test_plot_labels_a_package_row_patched_and_unpatched():
    from lmfast.bench.results import PatchedFitResult

    res = PatchedFitResult("lmfit-gauss128", "lmfit", "leastsq", 128, 4)
    res.seconds = {"patched": 1e-3, "unpatched": 2e-3}
    assert plot_groups([res])["lmfit-gauss128"] == {
        "package patched (on lmfast)": pytest.approx(1e3),
        "package unpatched (on SciPy)": pytest.approx(500)}


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


# The robust rows and the Poisson estimator row, in tiny configurations: what they fit,
# that both sides agree, and the structure of what they report; no timing value.

ROBUST_ROWS = ("robust-cf-gauss-spikes", "robust-batch-gauss-spikes")
POISSON_ROW = "poisson-batch-gauss64"


def workload(name):
    return next(w for w in default_workloads() if w.name == name)


def modules():
    return {"lmfast": lmfast, "scipy": pytest.importorskip("scipy.optimize")}


def test_robust_and_poisson_rows_are_in_the_default_run():
    assert [w.name for w in select_workloads(default_workloads(), "robust")] == list(ROBUST_ROWS)
    assert [(w.name, w.kind) for w in select_workloads(default_workloads(), "poisson")] == [
        (POISSON_ROW, "estimator")]
    single, batch_row = (workload(name) for name in ROBUST_ROWS)
    assert (single.kind, single.target, single.same_solution) == ("single", 5.0, True)
    assert single.scipy_options == {"method": "trf"}
    assert (batch_row.kind, batch_row.target, batch_row.scipy_method) == ("batch", 20.0, "trf")
    assert batch_row.fit_options == ROBUST_OPTIONS and ROBUST_OPTIONS["loss"] == "soft_l1"
    poisson = workload(POISSON_ROW)
    assert (poisson.estimator, poisson.reference_estimator, poisson.target) == (
        "poisson", "least_squares", 0.85)
    assert (poisson.m, poisson.n_fits) == (64, 20_000)


def test_row_data_are_spiky_and_counts():
    data = spiky_gaussian_batch(40)
    assert data.y.shape == (40, 128) and data.p0.shape == (40, 4)
    # 5% of each row's points sit 2 to 5 above the rest: above the row's median by > 1.9
    # (the peak's top included: amplitude <= 5 + offset <= 0.4, spikes on it go higher)
    x, y, _ = spiky_gauss_problem()
    clean = gauss1d(x, 3.0, 0.3, 1.0, 0.2)
    assert np.sum(y - clean > 1.5) == 10 == round(0.05 * x.size)
    counts = poisson_gaussian_batch(30)
    assert counts.y.shape == (30, 64)
    assert np.all(counts.y >= 0) and np.all(counts.y == np.round(counts.y))


def test_robust_single_row_fits_the_robust_minimum_on_both_sides():
    mods = modules()
    w = workload("robust-cf-gauss-spikes")
    res = run_single_fit(w, mods, TINY)
    assert res.status == "ok", res.note
    assert "lmfit" not in res.note  # the reference column is SciPy's
    assert res.same and res.xdiff <= X_RTOL
    assert all(1 <= res.ier[impl] <= 4 for impl in ("lmfast", "scipy"))
    # SciPy's column is curve_fit(method='trf') with the loss, on the same data, and the
    # robust minimum is far from the least-squares one (the loss was applied)
    x, y, p0 = spiky_gauss_problem()
    robust = mods["scipy"].curve_fit(gauss1d, x, y, p0, method="trf", **ROBUST_OPTIONS)[0]
    assert relative_difference(np.array(res.x["scipy"]), robust) <= X_RTOL
    linear = mods["scipy"].curve_fit(gauss1d, x, y, p0)[0]
    assert relative_difference(np.array(res.x["lmfast"]), linear) > 1e-2
    assert [len(res.times[impl]) for impl in ("lmfast", "scipy")] == [TINY.rounds] * 2
    cells = TABLES["single"](name_width=len(w.name)).row(res).split()
    ier = f"{res.ier['lmfast']}/{res.ier['scipy']}"
    assert (cells[0], cells[-2], cells[-1]) == (w.name, ier, "yes")
    rec = json.loads(json.dumps(res.to_json()))
    assert (rec["kind"], rec["name"], rec["status"], rec["same"]) == ("single", w.name, "ok",
                                                                      True)


def test_robust_batch_row_agrees_with_the_scipy_trf_loop():
    w = dataclasses.replace(workload("robust-batch-gauss-spikes"), quick_n_fits=60,
                            scipy_subset=12)
    config = BenchConfig(rounds=2, quick=True)
    res = run_batch_fit(w, modules(), config)
    assert res.status == "ok", res.note
    assert (res.n_fits, res.subset) == (60, 12)
    assert res.agree, res.agreement
    assert res.agreement["fits"] == 12 and res.agreement["success_match"] == 1.0
    assert res.agreement["same_fit"] == 1.0 and res.agreement["max_shift"] <= STDERR_FRACTION
    assert res.agreement["success_all_lmfast"] == 1.0
    expected = {"lmfast", "scipy", "scipy_plain"}
    if res.threads > 1:
        assert res.threads_identical
        expected.add("lmfast_1t")
    assert set(res.times) == expected
    assert all(len(t) == config.rounds for t in res.times.values())
    cells = TABLES["batch"](name_width=len(w.name)).row(res).split()
    assert (cells[0], cells[3], cells[-2]) == (w.name, "60", "yes")
    (line,) = [n for n in TABLES["batch"].notes([res]) if "fits compared with SciPy" in n]
    assert line.startswith(f"note: {w.name}: 12 fits compared with SciPy: success lmfast 100.0%")


def test_scipy_poisson_loop_is_the_likelihood_maximum():
    """The Poisson row's reference: SciPy's leastsq on the deviance residuals ends at the
    likelihood maximum, to its default tolerances: the Fisher scoring step from there
    (score and Fisher information written out here) is below 1e-5 of each parameter."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    data = poisson_gaussian_batch(5)
    popt, ier = scipy_poisson_loop(scipy_optimize.leastsq, gauss1d, gauss1d_jac, data, 5)
    assert np.all((ier >= 1) & (ier <= 4))
    for i in range(5):
        f, jac = gauss1d(data.x, *popt[i]), gauss1d_jac(data.x, *popt[i])
        score = jac.T @ (1.0 - data.y[i] / f)
        step = np.linalg.solve(jac.T @ (jac / f[:, np.newaxis]), score)
        assert np.all(np.abs(step) <= 1e-5 * np.abs(popt[i])), (i, step, popt[i])


def test_poisson_row_times_both_estimators_and_agrees_with_scipy():
    w = dataclasses.replace(workload(POISSON_ROW), quick_n_fits=300)
    config = BenchConfig(rounds=2, quick=True)
    res = run_estimator_fit(w, modules(), config)
    assert res.status == "ok", res.note
    assert (res.n_fits, res.subset) == (300, QUICK_BATCH_SUBSET)
    assert res.agree, res.agreement
    assert res.agreement["fits"] == QUICK_BATCH_SUBSET
    assert res.agreement["success_match"] == 1.0
    assert res.agreement["success_all_lmfast"] == res.agreement["success_all_reference"] == 1.0
    assert set(res.times) == {"lmfast", "reference"}
    assert all(len(t) == config.rounds for t in res.times.values())
    # the ratio is of fits/s: the Poisson batch's over the least-squares batch's
    fits = res.fits_per_second
    assert res.ratio == pytest.approx(fits["lmfast"] / fits["reference"])
    table = TABLES["estimator"](name_width=len(w.name))
    cells = table.row(res).split()
    assert [cells[i] for i in (0, 3, 5, 7, 10, 11)] == [w.name, "300", "poisson",
                                                         "least_squares", "yes", "100%"]
    assert float(cells[9]) == pytest.approx(res.ratio, abs=0.01)
    assert table.notes([res])[0].startswith(
        f"note: {w.name}: {QUICK_BATCH_SUBSET} fits compared with SciPy leastsq on deviance "
        "residuals: success lmfast 100.0%")
    rec = json.loads(json.dumps(res.to_json()))
    assert (rec["kind"], rec["estimator"], rec["reference_estimator"]) == (
        "estimator", "poisson", "least_squares")
    assert rec["ratio"] == pytest.approx(res.ratio)


def test_estimator_rows_are_skipped_without_the_model():
    w = dataclasses.replace(workload(POISSON_ROW), model="no_such_model")
    res = run_estimator_fit(w, modules(), BenchConfig(quick=True))
    assert res.status == "skipped" and "no_such_model" in res.note
    assert "skipped" in TABLES["estimator"](name_width=len(w.name)).row(res)


def test_plot_groups_an_estimator_row_as_two_lmfast_bars():
    res = EstimatorFitResult(POISSON_ROW, "poisson", "least_squares", 64, 4, 2000, 100, 2)
    res.seconds = {"lmfast": 1e-5, "reference": 8e-6}
    groups = plot_groups([single("a"), res])
    assert groups[POISSON_ROW] == {"lmfast, poisson": pytest.approx(1e5),
                                   "lmfast, least_squares": pytest.approx(1.25e5)}


# bench/ab_builds.py: two builds in two worker processes, alternating rounds.

def test_ab_rounds_alternate_and_one_worker_runs_at_a_time():
    from lmfast.bench.builds import alternate

    calls = []

    class FakeWorker:
        def __init__(self, label, seconds):
            self.label, self.seconds = label, seconds

        def request(self, cmd):
            assert cmd == "time"
            calls.append(self.label)
            return {"seconds": self.seconds + len(calls), "cpu": 0.5}

    times, cpu = alternate({"base": FakeWorker("base", 10.0), "new": FakeWorker("new", 20.0)},
                           5)
    assert calls == ["base", "new", "new", "base", "base", "new", "new", "base", "base", "new"]
    assert times == {"base": [11.0, 14.0, 15.0, 18.0, 19.0], "new": [22.0, 23.0, 26.0, 27.0, 30.0]}
    assert cpu == 5.0


def test_ab_rows_a_name_selects_that_row_other_patterns_match_as_only():
    from lmfast.bench.builds import DEFAULT_ROWS, choose_rows, supported_rows

    assert [w.name for w in choose_rows(None)] == list(DEFAULT_ROWS)
    assert [w.name for w in choose_rows("batch-gauss128")] == ["batch-gauss128"]
    assert [w.name for w in choose_rows("batch-gauss128*")] == ["batch-gauss128",
                                                                "batch-gauss128-bounded"]
    supported = {w.name for w in supported_rows()}
    assert "batch-py-gauss128" not in supported  # a Python model: nothing to A/B
    assert "batch-raman-3peaks" not in supported  # a composite: not in every build
    assert choose_rows("no-such-row") == []


def test_ab_worker_answers_each_command_on_its_own_line(tmp_path):
    import io

    from lmfast.bench.build_worker import serve

    data = tmp_path / "d.npz"
    batch_data = gaussian_batch(20)
    np.savez(data, x=batch_data.x, y=batch_data.y, p0=batch_data.p0)
    out = tmp_path / "out.npz"
    commands = [
        {"cmd": "time"},  # nothing loaded yet
        {"cmd": "hello"},
        {"cmd": "__init__"},
        {"cmd": "load", "data": str(data), "model": "gaussian", "threads": 1, "options": {},
         "out": str(out)},
        {"cmd": "time"},
        {"cmd": "quit"},
        {"cmd": "hello"},  # after quit: not answered
    ]
    answers = io.StringIO()
    serve(io.StringIO("".join(json.dumps(c) + "\n" for c in commands)), answers)
    lines = [json.loads(line) for line in answers.getvalue().splitlines()]
    assert len(lines) == 5
    assert lines[0] == {"error": "RuntimeError: no row loaded"}
    assert lines[1]["lmfast"] == lmfast.__file__
    assert lines[2] == {"error": "ValueError: unknown command '__init__'"}
    assert lines[3]["n_fits"] == 20 and lines[3]["warnings"] == []
    assert lines[4]["seconds"] > 0 and lines[4]["cpu"] >= 0
    with np.load(out) as saved:
        expected = lmfast.curve_fit_batch(lmfast.models.gaussian, batch_data.x, batch_data.y,
                                          batch_data.p0, threads=1)
        np.testing.assert_array_equal(saved["popt"], expected.popt)
        np.testing.assert_array_equal(saved["ier"], expected.ier)


def test_ab_worker_refuses_a_checkout_whose_lmfast_it_does_not_import(tmp_path):
    from lmfast.bench.builds import BuildWorker, WorkerError

    (tmp_path / "lmfast").mkdir()  # not a build: lmfast comes from elsewhere, or not at all
    worker = BuildWorker("base", tmp_path, tmp_path)
    try:
        with pytest.raises(WorkerError, match="base"):
            worker.hello()
    finally:
        worker.close()


def test_ab_builds_of_one_checkout_agree_bitwise(tmp_path):
    """An A/A run of the checkout under test: both workers fit the same numbers."""
    root = Path(lmfast.__file__).resolve().parents[1]
    script = root / "bench" / "ab_builds.py"
    if not script.is_file():
        pytest.skip("not a source checkout")
    out = tmp_path / "ab.json"
    env = dict(os.environ, PYTHONPATH=str(root))
    run = subprocess.run(
        [sys.executable, str(script), "--base", str(root), "--new", str(root), "--quick",
         "--only", "batch-gauss2d-5x5", "--rounds", "2", "--threads", "1", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("CPU: ") and ("avx2" in lines[0] or "ISA: unknown" in lines[0])
    row = next(line for line in lines if line.startswith("batch-gauss2d-5x5 "))
    cells = row.split()
    assert cells[1:5] == ["25", "5", "5000", "1"]
    assert cells[-3:] == ["100.0%", "yes", "100%"]
    doc = json.loads(out.read_text())
    assert set(doc["builds"]) == {"base", "new"}
    assert doc["builds"]["new"]["lmfast"] == str(root / "lmfast" / "__init__.py")
    (rec,) = doc["results"]
    assert (rec["kind"], rec["status"], rec["threads"]) == ("builds", "ok", 1)
    assert [len(rec["times"][b]) for b in ("base", "new")] == [2, 2]
    assert rec["agreement"]["success_match"] == 1.0 and rec["agreement"]["max_shift"] == 0.0
    assert rec["ratio"] == pytest.approx(rec["seconds"]["base"] / rec["seconds"]["new"])


def test_2d_cminpack_peer_fits_the_gaussian_2d_model_as_lmfast_does():
    """Same formula, parameter order and algorithm (MINPACK lmder, analytic Jacobian):
    the peer's popt equals lmfast's to rounding on the batch-gauss2d-5x5 data."""
    pytest.importorskip("cminpack_numba")
    from lmfast.bench import gaussian_2d_batch
    from lmfast.bench.peers import cminpack_numba_2d_solver

    from lmfast.bench import peer_workloads

    (row,) = [w for w in peer_workloads() if w.name == "batch-gauss2d-5x5-cminpack-numba"]
    assert (row.base, row.model, row.m, row.n) == ("batch-gauss2d-5x5", "gaussian_2d", 25, 5)
    data = gaussian_2d_batch(200)
    popt, ok = cminpack_numba_2d_solver()(data.x, data.y, data.p0, 1)
    lm = lmfast.curve_fit_batch(lmfast.models.gaussian_2d, data.x, data.y, data.p0, threads=1)
    assert ok.all() and lm.success.all()
    np.testing.assert_allclose(popt, lm.popt, rtol=1e-9)


# The lineshape kernel rows: what they evaluate and which way their ratios go.

def test_kernel_rows_are_in_the_default_run():
    from lmfast.bench import kernel_workloads

    names = [w.name for w in select_workloads(default_workloads(), "voigt")]
    assert names == ["voigt-profile", "voigt2-vs-gauss2-composite"]
    assert [w.name for w in kernel_workloads()] == names


def test_voigt_profile_row_times_lmfast_against_scipy_and_checks_accuracy():
    pytest.importorskip("scipy.special")
    from lmfast.bench import kernel_workloads
    from lmfast.bench.kernels import QUICK_VOIGT_POINTS, VOIGT_PAIRS
    from lmfast.bench.runners import run_kernel

    w = kernel_workloads()[0]
    res = run_kernel(w, modules(), dataclasses.replace(TINY, quick=True))
    assert res.status == "ok", res.note
    assert res.m == res.units == QUICK_VOIGT_POINTS
    assert res.accuracy <= w.accuracy_target  # the kernel's documented accuracy
    assert res.ratio == pytest.approx(res.seconds["reference"] / res.seconds["lmfast"])
    assert all(f"sigma {s:g}, gamma {g:g}: " in res.note for s, g in VOIGT_PAIRS)
    cells = TABLES["kernel"](name_width=len(w.name)).row(res).split()
    assert (cells[0], cells[1], cells[2], cells[-1]) == (w.name, "point", "200000",
                                                          f"{res.accuracy:.1e}")
    rec = json.loads(json.dumps(res.to_json()))
    assert (rec["kind"], rec["status"]) == ("kernel", "ok")


def test_composite_row_is_the_voigt_cost_over_the_gaussian_cost():
    from lmfast.bench import kernel_workloads
    from lmfast.bench.kernels import composite_calls
    from lmfast.bench.runners import run_kernel

    calls = composite_calls(quick=True).calls
    (voigt_f, voigt), (gauss_f, gauss) = calls["lmfast"](), calls["reference"]()
    assert voigt_f.shape == gauss_f.shape == (4, 1024)  # values and Jacobians
    assert voigt.shape == (4, 1024 * 8) and gauss.shape == (4, 1024 * 6)
    w = kernel_workloads()[1]
    res = run_kernel(w, modules(), TINY)
    assert res.status == "ok", res.note
    assert res.ratio == pytest.approx(res.seconds["lmfast"] / res.seconds["reference"])
    assert "target" not in res.note


# The agreement rule of every agree column: the same fit (cost, parameters within a
# fraction of their standard errors), checked on fits whose answer is known.

def straight_line_fit(m=1000, seed=3):
    """Data of a + b x with unit noise, its exact least-squares solution, the standard
    errors (s^2 (X^T X)^-1, written out) and a cost function."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, m)
    y = 2.0 + 1.0 * x + rng.normal(size=m)
    design = np.column_stack([np.ones(m), x])
    popt = np.linalg.solve(design.T @ design, design.T @ y)
    s2 = np.sum((design @ popt - y) ** 2) / (m - 2)
    stderr = np.sqrt(s2 * np.diag(np.linalg.inv(design.T @ design)))

    def cost(p):
        return loss_cost(design @ p - y)

    return popt, stderr, cost


def test_fits_a_small_fraction_of_a_standard_error_apart_agree():
    popt, stderr, cost = straight_line_fit()
    near = popt + [0.0, 0.5 * STDERR_FRACTION * stderr[1]]
    # far apart by a fixed relative measure (the old 1e-6 rule would say no) ...
    assert relative_difference(near, popt) > 1e-5
    agrees, shift, cost_difference = fit_agreement(near, popt, stderr, cost(near), cost(popt))
    # ... but the same fit: half the allowed fraction of a standard error, same cost
    assert agrees.tolist() == [True]
    assert shift[0] == pytest.approx(0.5 * STDERR_FRACTION)
    assert cost_difference[0] <= COST_RTOL


def test_fits_further_apart_or_with_another_cost_do_not_agree():
    popt, stderr, cost = straight_line_fit()
    far = popt + [0.0, 5 * STDERR_FRACTION * stderr[1]]
    agrees, shift, _ = fit_agreement(far, popt, stderr, cost(far), cost(popt))
    assert agrees.tolist() == [False] and shift[0] == pytest.approx(5 * STDERR_FRACTION)
    worse = cost(popt) * (1 + 10 * COST_RTOL)  # same parameters, another cost
    agrees, shift, cost_difference = fit_agreement(popt, popt, stderr, worse, cost(popt))
    assert agrees.tolist() == [False] and shift[0] == 0
    assert cost_difference[0] == pytest.approx(10 * COST_RTOL, rel=1e-4)  # of the larger
    # without a standard error a parameter is held to X_RTOL relative
    no_stderr = np.array([stderr[0], np.inf])
    shifted = popt * [1.0, 1.0 + 10 * X_RTOL]
    assert not fit_agreement(shifted, popt, no_stderr, cost(popt), cost(popt))[0][0]
    shifted = popt * [1.0, 1.0 + 0.1 * X_RTOL]
    assert fit_agreement(shifted, popt, no_stderr, cost(popt), cost(popt))[0][0]


@pytest.mark.parametrize("loss", ["linear", "soft_l1", "huber", "cauchy", "arctan"])
def test_loss_cost_is_twice_scipys_least_squares_cost(loss):
    scipy_optimize = pytest.importorskip("scipy.optimize")
    residuals = np.random.default_rng(4).normal(size=60)
    res = scipy_optimize.least_squares(lambda p: residuals * p[0], [1.3], loss=loss,
                                       f_scale=0.7, max_nfev=1)
    assert loss_cost(res.fun, loss, 0.7) == pytest.approx(2 * res.cost, rel=1e-12)
    with pytest.raises(ValueError, match="loss must be"):
        loss_cost(residuals, "l2")


def test_batch_agreement_needs_the_same_successes_and_the_same_fits():
    popt, stderr, cost = straight_line_fit()
    k = 200
    lm_popt = np.tile(popt, (k, 1))
    lm_popt[:, 1] += 0.5 * STDERR_FRACTION * stderr[1]
    ref_popt, stderrs = np.tile(popt, (k, 1)), np.tile(stderr, (k, 1))
    ok = np.ones(k, dtype=int)

    def agreement(lm_ier, ref_ier, lm=lm_popt):
        lm_cost = np.array([cost(p) for p in lm])
        return batch_agreement(lm, lm_ier, ref_popt, ref_ier, stderr=stderrs,
                               lm_cost=lm_cost, ref_cost=np.full(k, cost(popt)))

    a, agree = agreement(ok, ok)
    assert agree and a["same_fit"] == 1.0 and a["solved_by_both"] == k
    assert a["max_shift"] == pytest.approx(0.5 * STDERR_FRACTION)
    failed = ok.copy()
    failed[:3] = 0  # 1.5% of the fits fail on one side only
    a, agree = agreement(failed, ok)
    assert not agree and a["success_match"] == pytest.approx(0.985)
    apart = lm_popt.copy()
    apart[:3, 1] += 5 * STDERR_FRACTION * stderr[1]  # 1.5% of the fits elsewhere
    a, agree = agreement(ok, ok, apart)
    assert not agree and a["same_fit"] == pytest.approx(0.985)
    assert a["max_shift"] == pytest.approx(5.5 * STDERR_FRACTION)
    a, agree = agreement(np.zeros(k, dtype=int), np.zeros(k, dtype=int))
    assert not agree and a["same_fit"] is None


def test_bounded_lm_and_scipys_trf_reach_the_same_fit():
    """lmfast's bounded LM and SciPy's trf stop at different points within their
    tolerances; the row's same column judges the fit, and SciPy's trf at tight
    tolerances (near the exact minimum) agrees with both."""
    mods = modules()
    w = workload("cf-gauss128-bounded")
    res = run_single_fit(w, mods, TINY)
    assert res.status == "ok", res.note
    assert res.same, res.note
    from lmfast.bench.problems import GAUSS_BOUNDS, gauss128_problem

    x, y, p0 = gauss128_problem()
    tight = mods["scipy"].curve_fit(gauss1d, x, y, p0, bounds=GAUSS_BOUNDS, method="trf",
                                    ftol=1e-14, xtol=1e-14, gtol=1e-14)
    cost = w.make_cost()
    for impl in ("lmfast", "scipy"):
        p = np.array(res.x[impl])
        assert fit_agreement(p, tight[0], np.sqrt(np.diag(tight[1])), cost(p),
                             cost(tight[0]))[0][0]


def test_default_output_names_no_target_and_says_what_agree_means():
    pytest.importorskip("scipy")
    root = str(Path(lmfast.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [root, os.environ.get("PYTHONPATH")])))
    run = subprocess.run(
        [sys.executable, "-m", "lmfast.bench", "--quick", "--rounds", "1", "--only",
         "trivial,cf-gauss128-bounded,robust-batch,poisson,voigt2"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for word in ("target", "goal"):
        assert word not in out.lower()
    assert out.count("agree = yes when success (ier 1..4) matches") == 2  # batch, estimator
    for name in ("robust-batch-gauss-spikes", "poisson-batch-gauss64"):
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert row.split()[-2:] == ["yes", "100%"], row


@pytest.mark.parametrize("argv, rows", [([], default_workloads), (["--full"], full_workloads)])
def test_full_adds_the_peer_rows_to_the_default_run(argv, rows, monkeypatch, capsys):
    pytest.importorskip("scipy")
    import lmfast.bench.__main__ as command

    ran = []
    monkeypatch.setattr(command, "run_all", lambda workloads, *a: ran.extend(workloads) or [])
    monkeypatch.setattr(command, "freeze_heap", lambda: None)  # --quick's gc.freeze()
    assert command.main(["--quick", *argv]) == 0
    assert [w.name for w in ran] == [w.name for w in rows()]
    assert capsys.readouterr().out.startswith("lmfast ")


def test_bridge_row_fits_lmfits_model_and_agrees_with_its_loop():
    from lmfast.bench.bridge import BridgeFit, bridge_spectra, bridge_workloads, run_bridge_fit

    assert [w.name for w in select_workloads(default_workloads(), "lmfit-bridge")] == [
        w.name for w in bridge_workloads()]
    w = BridgeFit("bridge-small", 256, 13, 12, 12, 2, "small", bridge_spectra)
    res = run_bridge_fit(w, modules(), dataclasses.replace(TINY, quick=True))
    assert res.status == "ok", res.note
    assert (res.n_fits, res.subset) == (12, 2)
    assert res.agreement["success"] == {"lmfast": 1.0, "reference": 1.0}
    assert res.agree and res.agreement["same_fit"] == 1.0  # every value, tied and derived
    assert res.ratio == pytest.approx(res.seconds["lmfit"] / res.seconds["lmfast"])
    cells = TABLES["bridge"](name_width=len(w.name)).row(res).split()
    assert cells[:5] == ["bridge-small", "256", "13", "12", str(res.threads)]
    rec = json.loads(json.dumps(res.to_json()))
    assert (rec["kind"], rec["status"]) == ("bridge", "ok")
    assert set(plot_groups([res])["bridge-small"]) == {
        f"lmfast.lmfit.fit_batch ({res.threads} threads)", "lmfit Model.fit loop"}
