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
