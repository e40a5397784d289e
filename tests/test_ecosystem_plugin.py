"""tests/ecosystem/lmfast_patch_plugin.py, the plugin .ci/ecosystem runs lmfit's and
astropy's suites with: it patches before the suite imports its package, counts the calls
from that package, and fails a session whose package made none.

Each case runs pytest in a subprocess on a small made-up package, ``fitpkg``, that binds
``leastsq`` by name at import, as ``lmfit.minimizer`` does.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import scipy.optimize

import lmfast

ECOSYSTEM = pathlib.Path(__file__).parent / "ecosystem"

FITPKG = """
from scipy.optimize import leastsq

def fit(data):
    return leastsq(lambda p: p[0] * (1 + p[1] * data) - data ** 2, [1.0, 0.0],
                   full_output=True)
"""

SUITE = """
import numpy as np
import fitpkg

def test_fits():
    x, _, info, _, ier = fitpkg.fit(np.linspace(0.0, 2.0, 9))
    np.save("result.npy", np.r_[x, info["nfev"], ier])
"""


def run_suite(tmp_path, *options):
    """Run the made-up suite with the plugin; return the process and the JSON record."""
    (tmp_path / "fitpkg.py").write_text(FITPKG)
    (tmp_path / "test_suite.py").write_text(SUITE)
    # The subprocess imports the lmfast under test, wherever this process found it.
    lmfast_home = pathlib.Path(lmfast.__file__).parents[1]
    python_path = os.pathsep.join([str(ECOSYSTEM), str(tmp_path), str(lmfast_home)])
    record = tmp_path / "calls.json"
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", "lmfast_patch_plugin", f"--lmfast-calls-json={record}", "test_suite.py",
        *options,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": python_path},
    )
    return done, json.loads(record.read_text())


def test_calls_from_the_package_reach_lmfast_and_are_counted(tmp_path):
    done, record = run_suite(tmp_path, "--lmfast-expect=fitpkg")
    assert done.returncode == 0, done.stdout + done.stderr
    assert record["calls"] == {"fitpkg": {"leastsq": 1}}
    assert record["missing"] == [] and record["outcomes"] == {"passed": 1}
    assert "scipy.optimize.leastsq" in record["patched_names"]
    assert "fitpkg: 1 (leastsq 1)" in done.stdout
    # lmfast answered, as SciPy does: same x, nfev and ier.
    data = np.linspace(0.0, 2.0, 9)
    x, _, info, _, ier = scipy.optimize.leastsq(
        lambda p: p[0] * (1 + p[1] * data) - data**2, [1.0, 0.0], full_output=True
    )
    got = np.load(tmp_path / "result.npy")
    np.testing.assert_allclose(got[:2], x, rtol=1e-10)
    assert got[2] == info["nfev"] and got[3] == ier


def test_a_package_with_no_call_fails_the_session(tmp_path):
    done, record = run_suite(tmp_path, "--lmfast-expect=fitpkg", "--lmfast-expect=absent")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert "no call from absent reached lmfast" in done.stdout
    assert record["missing"] == ["absent"] and record["exitstatus"] == 1


def test_the_expected_packages_can_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LMFAST_PATCH_EXPECT", "fitpkg, absent")
    done, record = run_suite(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert record["expected"] == ["fitpkg", "absent"] and record["missing"] == ["absent"]

