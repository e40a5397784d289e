"""What a run happens on: versions, CPU, optional modules, git state and BLAS builds."""

import datetime
import importlib
import importlib.util
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

SCIPY_MISSING = (
    "SciPy is not installed: pip install scipy (or install the 'bench' extra) to compare against it"
)
#: Thread-count variables shown in the header when set.
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def installed(module):
    """True when ``module`` (top level) can be imported; does not import it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def import_problem(module):
    """Import ``module``; return ``""``, or why it is not available."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{module} not available ({type(exc).__name__}: {exc})"
    return ""


def import_implementations():
    """Import the two sides of every comparison, lmfast and SciPy.

    Returns
    -------
    lmfast, scipy : module
        The packages; ``scipy.optimize`` is imported too.

    Raises
    ------
    ImportError
        With :data:`SCIPY_MISSING` as its message when SciPy is not installed.
    """
    try:
        import scipy
        import scipy.optimize
    except ImportError as exc:
        raise ImportError(SCIPY_MISSING) from exc
    import lmfast

    return lmfast, scipy


def require_implementations():
    """:func:`import_implementations`, or exit with :data:`SCIPY_MISSING` (code 1).

    For scripts: ``SystemExit`` prints the message on stderr.
    """
    try:
        return import_implementations()
    except ImportError as exc:
        raise SystemExit(str(exc)) from None


def usable_cpus():
    """Number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_model():
    """CPU model name from ``/proc/cpuinfo`` (Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


#: Vector instruction sets reported by :func:`cpu_flags` (the SIMD kernels' targets).
ISA_FLAGS = ("avx2", "avx512f", "fma")


def cpu_flags(names=ISA_FLAGS):
    """``{flag: bool}`` for ``names``, from the first ``flags`` line of ``/proc/cpuinfo``
    (Linux, x86); an empty dict where that line is missing."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("flags"):
                    present = set(line.split(":", 1)[1].split())
                    return {name: name in present for name in names}
    except OSError:
        pass
    return {}


def versions(lmfast_module=None, scipy_module=None):
    """Versions and machine facts for the header and the JSON file.

    Parameters
    ----------
    lmfast_module, scipy_module : module, optional
        The imported packages (versions are ``None`` when not given).

    Returns
    -------
    dict
        ``lmfast``, ``lmfast_path``, ``numpy``, ``scipy``, ``python``, ``platform``,
        ``cpu``, ``cpu_count``, ``cpu_usable`` and ``env`` (the :data:`THREAD_ENV`
        variables that are set).
    """
    lm_version = None
    if lmfast_module is not None:
        lm_version = getattr(lmfast_module, "__version__", None)
        if lm_version is None:
            try:
                from importlib.metadata import version

                lm_version = version("fastminpack")
            except Exception:  # noqa: BLE001  (a version string is not worth failing for)
                lm_version = "unknown"
    return {
        "lmfast": lm_version,
        "lmfast_path": getattr(lmfast_module, "__file__", None),
        "numpy": np.__version__,
        "scipy": getattr(scipy_module, "__version__", None),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable_cpus(),
        "env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
    }


def git_info(repo):
    """Commit and state of a working tree.

    Parameters
    ----------
    repo : path-like
        Directory inside the git working tree.

    Returns
    -------
    dict
        ``sha`` (``None`` outside git), ``short`` (12 hex digits, or ``"uncommitted"``)
        and ``dirty`` (tracked files differ from ``HEAD``; ``None`` if unknown).
    """

    def git(*args):
        try:
            out = subprocess.run(
                ["git", "--no-optional-locks", "-C", str(repo), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    sha = git("rev-parse", "--verify", "--quiet", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "sha": sha or None,
        "short": sha[:12] if sha else "uncommitted",
        "dirty": bool(status) if status is not None else None,
    }


def blas_info():
    """BLAS configuration of lmfast's OpenBLAS (scipy-openblas32), NumPy and SciPy."""
    info = {}
    try:
        import scipy_openblas32

        info["scipy_openblas32"] = scipy_openblas32.get_openblas_config()
    except Exception as exc:  # noqa: BLE001  (not installed, or too old to have the function)
        info["scipy_openblas32"] = f"unavailable ({type(exc).__name__})"
    for name in ("numpy", "scipy"):
        try:
            mod = importlib.import_module(name)
            deps = mod.show_config(mode="dicts")["Build Dependencies"]
            info[name] = {key: deps.get(key) for key in ("blas", "lapack")}
        except Exception as exc:  # noqa: BLE001  (facts only: never fail the run for them)
            info[name] = f"unavailable ({type(exc).__name__})"
    return info


def machine_info():
    """CPU facts that change timings: frequency governor and load when the run started."""
    info = {}
    governor = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    try:
        info["governor"] = governor.read_text().strip()
    except OSError:
        info["governor"] = None
    try:
        info["loadavg"] = os.getloadavg()
    except OSError:
        info["loadavg"] = None
    return info


def run_record(benchmark, repo, info):
    """Opening fields of a ``bench/`` script's JSON results.

    Parameters
    ----------
    benchmark : str
        Name of the script (``"bench_single"``, ``"bench_batch"``).
    repo : path-like
        Directory inside the git working tree benchmarked.
    info : dict
        :func:`versions`.

    Returns
    -------
    dict
        ``benchmark``, ``date`` (UTC), ``git`` (:func:`git_info`), ``versions``,
        ``machine`` (:func:`machine_info`) and ``blas`` (:func:`blas_info`).
    """
    return {
        "benchmark": benchmark,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git": git_info(repo),
        "versions": info,
        "machine": machine_info(),
        "blas": blas_info(),
    }
