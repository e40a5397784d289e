"""The map rows of ``python -m lmfast.bench``: curve_fit_map against one batch pass."""

import json

import numpy as np
import pytest

import lmfast
from lmfast.bench import TABLES, BenchConfig
from lmfast.bench.problems import drifting_peak_map, right_peak_fraction
from lmfast.bench.runners import run_map_fit
from lmfast.bench.workloads import default_workloads


def test_drifting_map_and_its_right_share():
    x, y, truth, p0 = drifting_peak_map(5, m=64)
    assert y.shape == (5, 5, 64) and truth.shape == (5, 5, 4) and p0.shape == (4,)
    assert right_peak_fraction(truth, truth) == 1.0
    wrong = truth.copy()
    wrong[2, 3, 1] += truth[2, 3, 2]  # a centre one width off
    assert right_peak_fraction(wrong, truth) == pytest.approx(24 / 25)
    flipped = truth.copy()
    flipped[..., 2] *= -1  # -sigma is the same Gaussian
    assert right_peak_fraction(flipped, truth) == 1.0


@pytest.mark.parametrize("name", ["map-drift-gauss256", "map-drift-gauss256-bounded"])
def test_map_row_measures_both_sides(name):
    w = next(w for w in default_workloads() if w.name == name)
    res = run_map_fit(w, {"lmfast": lmfast}, BenchConfig(rounds=1, quick=True, threads=1))
    assert res.status == "ok", res.note
    assert (res.side, res.n_fits, res.threads, res.bounded) == (
        30, 900, 1, w.bounds is not None)
    assert res.right["one_pass"] < 0.85 and res.right["lmfast"] >= 0.995
    assert res.passes >= 1 and res.refits >= 1
    assert res.ratio == pytest.approx(res.seconds["lmfast"] / res.seconds["one_pass"])
    row = TABLES["map"](name_width=len(w.name)).row(res).split()
    assert row[:4] == [w.name, "30x30", "256", "1"]
    assert row[5] == f"{100 * res.right['lmfast']:.1f}%"
    rec = json.loads(json.dumps(res.to_json()))
    assert (rec["kind"], rec["status"], rec["passes"]) == ("map", "ok", res.passes)
    assert np.isclose(rec["right"]["lmfast"], res.right["lmfast"])
