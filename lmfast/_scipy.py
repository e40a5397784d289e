"""SciPy, when it is installed: its original functions, even while ``lmfast.patch()`` is in
force.  Importing this module does not import SciPy.
"""
import importlib

#: Where SciPy defines each function lmfast can stand in for.
HOMES = {
    "leastsq": "scipy.optimize._minpack_py",
    "curve_fit": "scipy.optimize._minpack_py",
    "least_squares": "scipy.optimize._lsq.least_squares",
}

#: SciPy's own functions, saved by lmfast._patching while the patch is in force.
originals = {}


def original(name):
    """SciPy's own function `name` ('leastsq', 'curve_fit' or 'least_squares').

    Parameters
    ----------
    name : str
        A key of :data:`HOMES`.

    Returns
    -------
    callable or None
        SciPy's function (never lmfast's stand-in), or None if SciPy is not installed.
    """
    saved = originals.get(name)
    if saved is not None:
        return saved
    try:
        module = importlib.import_module(HOMES[name])
    except ImportError:
        return None
    return getattr(module, name)


def require(name, why):
    """SciPy's own function `name`, or ValueError saying that `why` needs SciPy.

    Parameters
    ----------
    name : str
        A key of :data:`HOMES`.
    why : str
        What the caller asked for that only SciPy does, e.g. "method='trf'".

    Returns
    -------
    callable
    """
    function = original(name)
    if function is None:
        raise ValueError(f"{why} is SciPy's: lmfast itself runs method 'lm'; install SciPy "
                         f"(pip install scipy) to use it")
    return function
