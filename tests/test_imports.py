"""``import lmfast`` imports NumPy and the BLAS wheel only: not SciPy, Dask, xarray, lmfit,
astropy, numba, pandas, tqdm or matplotlib (lmfast.dask and lmfast.xarray import theirs
when imported).  This is the one test of it."""

import subprocess
import sys
from pathlib import Path

import lmfast

HEAVY = ("scipy", "dask", "distributed", "xarray", "lmfit", "astropy", "numba", "pandas",
         "tqdm", "matplotlib")


def imported_after(statement):
    """Which of HEAVY are in sys.modules after ``statement`` in a fresh interpreter."""
    root = str(Path(lmfast.__file__).resolve().parents[1])  # the lmfast under test
    code = (f"import sys; sys.path.insert(0, {root!r}); {statement}; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_import_lmfast_imports_no_optional_package():
    # The probe sees an import: SciPy's OptimizeWarning subclass is made on first use.
    assert imported_after("import lmfast; lmfast.OptimizeWarning") == ["scipy"]
    # The package, its front ends, models and lineshapes import none of them.
    assert imported_after(
        "import lmfast, lmfast.models, lmfast.lineshapes; lmfast.leastsq; "
        "lmfast.least_squares; lmfast.curve_fit; lmfast.curve_fit_batch; lmfast.BatchResult"
    ) == []
