"""Run an unmodified Python program with :func:`lmfast.patch` in force.

Usage::

    python -m lmfast.patch [--report] script.py [args ...]
    python -m lmfast.patch [--report] -m module [args ...]

The program's calls of ``scipy.optimize.leastsq``, ``curve_fit`` and ``least_squares``
run on lmfast (see :func:`lmfast.patch`).  ``--report`` prints, when the program ends,
how many calls reached lmfast from each package.
"""
import argparse
import atexit
import runpy
import sys
import types

import lmfast
from lmfast import _patching


def _report():
    calls = _patching.patch_calls()
    lines = [f"  {package}: {function} x {count}"
             for (package, function), count in sorted(calls.items())]
    print("lmfast.patch: calls that ran on lmfast:", *(lines or ["  none"]), sep="\n",
          file=sys.stderr)


def main(argv=None):
    """Patch SciPy, then run a script (or ``-m module``) as ``__main__``.

    Parameters
    ----------
    argv : list of str, optional
        The command line after ``python -m lmfast.patch`` (default ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="python -m lmfast.patch",
        description="Run a Python program with SciPy's leastsq, curve_fit and "
                    "least_squares answered by lmfast.")
    parser.add_argument("--report", action="store_true",
                        help="print the calls that reached lmfast when the program ends")
    parser.add_argument("-m", dest="module", help="run a library module as a script")
    parser.add_argument("target", nargs=argparse.REMAINDER,
                        help="script.py [args ...] (or the module's args with -m)")
    options = parser.parse_args(argv)
    if options.module is None and not options.target:
        parser.error("give a script to run (or -m module)")
    lmfast.patch()
    if options.report:
        atexit.register(_report)
    if options.module is not None:
        sys.argv = [options.module, *options.target]
        runpy.run_module(options.module, run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(options.target)
        sys.path.insert(0, __import__("os").path.dirname(options.target[0]) or ".")
        runpy.run_path(options.target[0], run_name="__main__")


class _CallableModule(types.ModuleType):
    """``import lmfast.patch`` rebinds the name ``lmfast.patch`` to this module: calling
    it still patches, as ``lmfast.patch()`` does."""

    def __call__(self):
        return _patching.patch()


if __name__ == "__main__":
    main()
else:
    sys.modules[__name__].__class__ = _CallableModule
