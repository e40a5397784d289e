"""SciPy's own TestCurveFit (scipy/optimize/tests/test_minpack.py, as installed) passes
against lmfast.curve_fit, bounded, trf and dogbox tests included.

One of its tests asserts what lmfast changes on purpose: ``test_bounds`` expects
``method='lm'`` with bounds to raise, which lmfast's bounded Levenberg-Marquardt
answers instead.  ``test_indeterminate_covariance`` runs: it expects SciPy's own
OptimizeWarning class, of which lmfast.OptimizeWarning is a subclass.
"""

import os
import pathlib
import re
import subprocess
import sys

import scipy.optimize.tests.test_minpack as scipy_tests


def test_scipy_curve_fit_tests_pass_on_lmfast():
    path = pathlib.Path(scipy_tests.__file__)
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", "lmfast_curve_fit_plugin", path.name, "-k",
        # test_bounds but not test_bounds_p0 (-k and --deselect both match prefixes)
        "TestCurveFit and not (test_bounds and not test_bounds_p0)",
    ]
    env_path = str(pathlib.Path(__file__).parent)
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          cwd=path.parent, env={**os.environ, "PYTHONPATH": env_path})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) >= 40 and "failed" not in done.stdout, done.stdout


def test_the_difference_is_what_it_says():
    """lmfast answers a bounded 'lm' fit (SciPy raises): if that changes, the -k
    expression above must change with it.  Its OptimizeWarning is SciPy's subclass."""
    import numpy as np
    import scipy.optimize

    import lmfast

    x = np.linspace(0, 1, 20)
    popt, _ = lmfast.curve_fit(lambda x, a: a * x, x, 2 * x, bounds=(0, 10), method="lm")
    np.testing.assert_allclose(popt, [2.0])
    assert issubclass(lmfast.OptimizeWarning, scipy.optimize.OptimizeWarning)
