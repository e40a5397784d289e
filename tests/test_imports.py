"""``import lmfast`` imports NumPy and the BLAS wheel only: not SciPy, Dask, xarray, lmfit,
astropy, numba or pandas (lmfast.dask and lmfast.xarray import theirs when imported)."""

import subprocess
import sys
from pathlib import Path

import lmfast

HEAVY = ("scipy", "dask", "distributed", "xarray", "lmfit", "astropy", "numba", "pandas",
         "tqdm", "matplotlib")


def imported_after(statement):
    root = str(Path(lmfast.__file__).resolve().parents[1])  # the lmfast under test
    code = (f"import sys; sys.path.insert(0, {root!r}); {statement}; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout.split()


def test_import_lmfast_imports_no_optional_package():
    assert imported_after("import lmfast, lmfast.models, lmfast.lineshapes") == []
