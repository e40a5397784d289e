"""lmfast.patch(): SciPy's leastsq, curve_fit and least_squares answered by lmfast, in every
module that holds them, so that packages built on SciPy (lmfit, astropy, hyperspy, xarray)
run on lmfast unchanged.

A call lmfast does not accelerate goes to SciPy's own function, unchanged: curve_fit with
method 'trf' or 'dogbox' (or bounds with the default method, which SciPy runs with 'trf'),
least_squares with any method but 'lm' (lmfast.least_squares forwards what 'lm' cannot
do itself).
"""
import collections
import contextlib
import functools
import importlib
import sys
import threading

import numpy as np

from lmfast import _scipy

_lock = threading.RLock()
#: (module, attribute name, SciPy's function) for every binding the patch replaced.
_replaced = []
_explicit = False   # patch() called and not undone by unpatch()
_blocks = 0         # patched() blocks open, in any thread
_calls = collections.Counter()
_calls_lock = threading.Lock()
_this_module = sys.modules[__name__]


def _count(name):
    """Count a call of a stand-in by the top-level package of its caller."""
    caller = sys._getframe(2).f_globals.get("__name__") or "?"
    with _calls_lock:
        _calls[(caller.partition(".")[0], name)] += 1


# The stand-ins.  A reference to one kept after unpatch() (in a closure, say) calls
# SciPy's own function again.

def _leastsq(*args, **kwargs):
    if not _replaced:
        return _scipy.original("leastsq")(*args, **kwargs)
    _count("leastsq")
    from lmfast._leastsq import leastsq
    return leastsq(*args, **kwargs)


def _curve_fit(*args, **kwargs):
    # SciPy's positional order: f, xdata, ydata, p0, sigma, absolute_sigma,
    # check_finite, bounds, method, jac.
    method = kwargs.get("method", args[8] if len(args) > 8 else None)
    bounds = kwargs.get("bounds", args[7] if len(args) > 7 else None)
    # A robust loss is lmfast's extension of 'lm': SciPy's curve_fit refuses it there
    # (leastsq takes no `loss`), so a third party's call keeps SciPy's behaviour.
    if (not _replaced or method not in (None, "lm") or (method is None and _finite(bounds))
            or "loss" in kwargs or "f_scale" in kwargs):
        return _scipy.original("curve_fit")(*args, **kwargs)
    _count("curve_fit")
    from lmfast._curve_fit import curve_fit
    return curve_fit(*args, **kwargs)


def _least_squares(*args, **kwargs):
    # SciPy's positional order: fun, x0, jac, bounds, method.
    method = kwargs.get("method", args[4] if len(args) > 4 else "trf")
    # loss: SciPy's positional order goes on ftol, xtol, gtol, x_scale, loss (9th).
    loss = kwargs.get("loss", args[9] if len(args) > 9 else "linear")
    if not _replaced or method != "lm" or not (isinstance(loss, str) and loss == "linear"):
        return _scipy.original("least_squares")(*args, **kwargs)
    _count("least_squares")
    from lmfast._least_squares import least_squares
    return least_squares(*args, **kwargs)


def _finite(bounds):
    """Whether curve_fit's `bounds` has a finite value (SciPy then defaults to 'trf')."""
    if bounds is None:
        return False
    try:
        lower, upper = (bounds.lb, bounds.ub) if hasattr(bounds, "lb") else bounds
        return bool(np.isfinite(np.asarray(lower, dtype=float)).any()
                    or np.isfinite(np.asarray(upper, dtype=float)).any())
    except (TypeError, ValueError):
        return True  # malformed: SciPy's own function reports it


_STAND_INS = {"leastsq": _leastsq, "curve_fit": _curve_fit, "least_squares": _least_squares}


def _apply():
    """Rebind SciPy's functions to the stand-ins wherever a module holds them."""
    homes = {name: importlib.import_module(home) for name, home in _scipy.HOMES.items()}
    originals = {name: getattr(module, name) for name, module in homes.items()}
    stand_ins = {}
    for name, function in originals.items():
        # SciPy's name, docstring and signature (inspect follows __wrapped__).
        stand_in = functools.update_wrapper(_STAND_INS[name], function)
        stand_in.__module__ = __name__
        stand_ins[id(function)] = (stand_in, function)
    _scipy.originals.update(originals)
    for module, attribute, value in _bindings(stand_ins):
        setattr(module, attribute, stand_ins[id(value)][0])
        _replaced.append((module, attribute, value))


def _restore():
    """Put back every binding _apply replaced, and SciPy's functions wherever a module
    imported a stand-in by name while the patch was in force."""
    while _replaced:
        module, attribute, original = _replaced.pop()
        if getattr(module, attribute, None) is _STAND_INS[original.__name__]:
            setattr(module, attribute, original)
    if not _scipy.originals:
        return
    late = {id(stand_in): (_scipy.originals[name], stand_in)
            for name, stand_in in _STAND_INS.items()}
    for module, attribute, value in _bindings(late):
        setattr(module, attribute, late[id(value)][0])
    _scipy.originals.clear()


def _bindings(wanted):
    """(module, attribute, value) for each module attribute that is one of the values
    in ``wanted`` ({id(value): (replacement, value)}), each module once although
    sys.modules may hold it under two names (lmfit's multiprocessing aliases
    ``__main__`` as ``__mp_main__``)."""
    found = []
    seen = {id(_this_module)}
    for module in list(sys.modules.values()):
        if id(module) in seen:
            continue
        seen.add(id(module))
        try:
            namespace = vars(module)
        except TypeError:
            continue
        for attribute, value in list(namespace.items()):
            entry = wanted.get(id(value))
            if entry is not None and entry[1] is value:
                found.append((module, attribute, value))
    return found


def patch():
    """Make SciPy's ``leastsq``, ``curve_fit`` and ``least_squares`` run on lmfast.

    Rebinds them in ``scipy.optimize``, in its private modules and in every module that
    already imported them by name (as ``from scipy.optimize import leastsq`` does), so
    that unmodified code calling SciPy runs on lmfast.  Calls lmfast does not accelerate
    (``curve_fit`` with 'trf', 'dogbox' or, by SciPy's default, with bounds;
    ``least_squares`` with a method other than 'lm'; what 'lm' cannot do) go to SciPy's
    own functions unchanged.  Idempotent and thread safe; undone by :func:`unpatch`.

    Returns
    -------
    tuple of str
        The bindings now patched, as ``"module.attribute"`` (:func:`patched_names`).

    Raises
    ------
    ImportError
        If SciPy is not installed (there is nothing to patch).

    Examples
    --------
    >>> import lmfast
    >>> names = lmfast.patch()
    >>> "scipy.optimize.leastsq" in names
    True
    >>> lmfast.unpatch()
    >>> lmfast.patched_names()
    ()
    """
    global _explicit
    with _lock:
        if not _replaced:
            _apply()
        _explicit = True
        return patched_names()


def unpatch():
    """Restore every binding :func:`patch` replaced (a no-op when nothing is patched).

    ``patched()`` blocks still open keep their patch until they close.
    """
    global _explicit
    with _lock:
        _explicit = False
        if _blocks == 0:
            _restore()


@contextlib.contextmanager
def patched():
    """``with lmfast.patched():`` runs its block with :func:`patch` in force.

    Blocks nest and may be open in several threads at once: the patch is undone when the
    last block closes, unless :func:`patch` was called outside them.

    Yields
    ------
    None
        The block runs with the patch in force.

    Examples
    --------
    >>> import lmfast
    >>> import scipy.optimize
    >>> with lmfast.patched():
    ...     patched = scipy.optimize.curve_fit.__module__
    >>> patched, scipy.optimize.curve_fit.__module__
    ('lmfast._patching', 'scipy.optimize._minpack_py')
    """
    global _blocks
    with _lock:
        if not _replaced:
            _apply()
        _blocks += 1
    try:
        yield
    finally:
        with _lock:
            _blocks -= 1
            if _blocks == 0 and not _explicit:
                _restore()


def patched_names():
    """The bindings the patch has replaced, as sorted ``"module.attribute"`` strings.

    Returns
    -------
    tuple of str
        Empty when nothing is patched.
    """
    with _lock:
        return tuple(sorted(f"{module.__name__}.{attribute}"
                            for module, attribute, _ in _replaced))


def patch_calls():
    """How many calls reached lmfast through the patch, by caller and function.

    Returns
    -------
    dict
        ``{(package, function): count}``: `package` is the top-level package of the
        module that called SciPy's function (e.g. ``"lmfit"``), `function` one of
        ``"leastsq"``, ``"curve_fit"``, ``"least_squares"``.  Counted since import.
    """
    with _calls_lock:
        return dict(_calls)
