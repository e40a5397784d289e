"""Built-in fit models: compiled for ``curve_fit_batch``, NumPy twins for everything else.

Each model is a :class:`Model`.  Called like a function it is an ordinary vectorised NumPy
model in ``scipy.optimize.curve_fit`` style, ``model(x, *params)``; ``model.jac`` is its
analytic Jacobian.  ``lmfast.curve_fit_batch`` recognises a :class:`Model` and runs its
compiled twin (``lmfast/_models.pyx``) with the GIL released.  Both implement the same
formulas, in the same order of operations, so they agree to rounding:

=======================  =============================================================
gaussian                 amplitude*exp(-(x-center)**2/(2*sigma**2)) + offset
lorentzian               amplitude/(1 + ((x-center)/gamma)**2) + offset  (gamma = HWHM)
pseudo_voigt             amplitude*(eta/(1 + 4*u**2) + (1-eta)*exp(-4*ln2*u**2)) + offset,
                         u = (x-center)/fwhm
exponential              amplitude*exp(-rate*x) + offset
gaussian_2d              amplitude*exp(-((X-x0)**2 + (Y-y0)**2)/(2*sigma**2)) + offset
gaussian_2d_elliptic     amplitude*exp(-(X-x0)**2/(2*sigma_x**2) - (Y-y0)**2/(2*sigma_y**2))
                         + offset
polynomial(degree)       c0 + c1*x + ... + c{degree}*x**degree
=======================  =============================================================

For the 2-D models ``xy`` stacks the coordinates: ``X = xy[0]``, ``Y = xy[1]``.

Examples
--------
>>> import numpy as np
>>> from lmfast import models
>>> x = np.linspace(-1.0, 1.0, 5)
>>> float(models.gaussian(x, 2.0, 0.0, 0.5, 1.0)[2])  # amplitude + offset at center
3.0
>>> models.gaussian.jac(x, 2.0, 0.0, 0.5, 1.0).shape
(5, 4)
>>> models.gaussian(x, np.array([[1.0], [2.0]]), 0.0, 0.5, 0.0).shape
(2, 5)
"""
import functools
import math
import threading
import uuid

import numpy as np

from lmfast import _models, _validate
from lmfast._model import Model, broadcast_shape

__all__ = [
    "Model",
    "gaussian",
    "lorentzian",
    "pseudo_voigt",
    "exponential",
    "gaussian_2d",
    "gaussian_2d_elliptic",
    "polynomial",
    "from_cfunc",
    "from_factory",
    "C_SIGNATURE",
]

# {name: (model_id, n_params, x_dims)}, read from the compiled module: the ids live in
# _models.pxd only.
_TABLE = _models._model_table()

_LN2 = math.log(2.0)


# --------------------------------------------------------------------------------------
# NumPy twins.  Same operations, same order as the C kernels in _models.pyx.
# --------------------------------------------------------------------------------------

def _gaussian(x, amplitude, center, sigma, offset):
    d = x - center
    return amplitude * np.exp((d * d) * np.true_divide(-0.5, sigma * sigma)) + offset


def _gaussian_jac(x, amplitude, center, sigma, offset):
    inv_s2 = np.true_divide(1.0, sigma * sigma)
    d = x - center
    e = np.exp((d * d) * (-0.5 * inv_s2))
    dc = amplitude * e * d * inv_s2
    return e, dc, dc * d * np.true_divide(1.0, sigma), 1.0


def _lorentzian(x, amplitude, center, gamma, offset):
    u = (x - center) / gamma
    return amplitude / (1.0 + u * u) + offset


def _lorentzian_jac(x, amplitude, center, gamma, offset):
    u = (x - center) / gamma
    lor = 1.0 / (1.0 + u * u)
    dc = 2.0 * amplitude * u * (lor * lor) / gamma
    return lor, dc, dc * u, 1.0


def _pseudo_voigt(x, amplitude, center, fwhm, eta, offset):
    u = (x - center) / fwhm
    u2 = u * u
    return amplitude * (eta / (1.0 + 4.0 * u2) + (1.0 - eta) * np.exp(-((4.0 * _LN2) * u2))) \
        + offset


def _pseudo_voigt_jac(x, amplitude, center, fwhm, eta, offset):
    ceta = 1.0 - eta
    u = (x - center) / fwhm
    u2 = u * u
    lor = 1.0 / (1.0 + 4.0 * u2)
    gau = np.exp(-((4.0 * _LN2) * u2))
    dc = 8.0 * amplitude * u * (eta * (lor * lor) + ceta * _LN2 * gau) / fwhm
    return eta * lor + ceta * gau, dc, dc * u, amplitude * (lor - gau), 1.0


def _exponential(x, amplitude, rate, offset):
    return amplitude * np.exp(-(rate * x)) + offset


def _exponential_jac(x, amplitude, rate, offset):
    e = np.exp(-(rate * x))
    return e, -(amplitude * e * x), 1.0


def _gaussian_2d(X, Y, amplitude, x0, y0, sigma, offset):
    dx = X - x0
    dy = Y - y0
    return amplitude * np.exp((dx * dx + dy * dy) * np.true_divide(-0.5, sigma * sigma)) + offset


def _gaussian_2d_jac(X, Y, amplitude, x0, y0, sigma, offset):
    inv_s2 = np.true_divide(1.0, sigma * sigma)
    dx = X - x0
    dy = Y - y0
    r2 = dx * dx + dy * dy
    e = np.exp(r2 * (-0.5 * inv_s2))
    ae = amplitude * e
    return e, ae * dx * inv_s2, ae * dy * inv_s2, ae * r2 * np.true_divide(inv_s2, sigma), 1.0


def _gaussian_2d_elliptic(X, Y, amplitude, x0, y0, sigma_x, sigma_y, offset):
    dx = X - x0
    dy = Y - y0
    arg = -(dx * dx) / (2.0 * (sigma_x * sigma_x)) - (dy * dy) / (2.0 * (sigma_y * sigma_y))
    return amplitude * np.exp(arg) + offset


def _gaussian_2d_elliptic_jac(X, Y, amplitude, x0, y0, sigma_x, sigma_y, offset):
    sx2 = sigma_x * sigma_x
    sy2 = sigma_y * sigma_y
    dx = X - x0
    dy = Y - y0
    e = np.exp(-(dx * dx) / (2.0 * sx2) - (dy * dy) / (2.0 * sy2))
    ae = amplitude * e
    ddx = ae * dx / sx2
    ddy = ae * dy / sy2
    return e, ddx, ddy, ddx * dx / sigma_x, ddy * dy / sigma_y, 1.0


def _polynomial(x, *coefficients):
    # Horner, highest coefficient first, as the compiled kernel.
    value = coefficients[-1]
    for c in coefficients[-2::-1]:
        value = value * x + c
    return value


def _polynomial_jac(x, *coefficients):
    # d/dc_j = x**j by repeated multiplication (x**0 = 1), as the compiled kernel.
    columns = []
    power = 1.0
    for _ in coefficients:
        columns.append(power)
        power = power * x
    return columns


# --------------------------------------------------------------------------------------
# The models
# --------------------------------------------------------------------------------------

_DOC = """{title}

    {formula}

Parameters
----------
{x_doc}
{params} : float or array_like
    Scalars for one curve, columns of shape (K, 1) for K curves.{extra}

Returns
-------
ndarray
    Shape (m,) for scalar parameters, (K, m) for (K, 1) columns.  ``.jac`` takes the same
    arguments and returns the Jacobian, shape (m, {n}) or (K, m, {n}).
"""

_X_DOC = {
    1: "x : array_like\n    Shape (m,), or (K, m) per curve.",
    2: "xy : array_like\n    Shape (2, m), or (2, K, m) per curve: X = xy[0], Y = xy[1].",
}


def _builtin(name, param_names, func, jac, title, formula, extra="", degree=None):
    """A module-level model, checked against the compiled table.

    It lives in this module, like a function defined here (``__module__``), and pickles
    as a reference to it: by name, or a polynomial by its degree.
    """
    model_id, n_params, x_dims = _TABLE["polynomial" if degree is not None else name]
    if n_params not in (0, len(param_names)):
        raise ImportError(f"lmfast._models is out of date: {name} has {n_params} parameters "
                          f"there, {len(param_names)} here; rebuild the extension")
    doc = _DOC.format(title=title, formula=formula, x_doc=_X_DOC[x_dims],
                      params=", ".join(param_names), extra=extra, n=len(param_names))
    model = Model(name, param_names, func, jac, compiled=_models.CompiledModel(model_id),
                  degree=degree, doc=doc)
    model.__module__ = __name__
    model._rebuild = name if degree is None else (polynomial, (degree,))
    return model


gaussian = _builtin(
    "gaussian", ("amplitude", "center", "sigma", "offset"), _gaussian, _gaussian_jac,
    "Gaussian peak of height ``amplitude`` above ``offset`` at ``center``.",
    "amplitude * exp(-(x - center)**2 / (2 * sigma**2)) + offset",
)
lorentzian = _builtin(
    "lorentzian", ("amplitude", "center", "gamma", "offset"), _lorentzian, _lorentzian_jac,
    "Lorentzian peak of height ``amplitude`` above ``offset``; ``gamma`` is the HWHM.",
    "amplitude / (1 + ((x - center) / gamma)**2) + offset",
)
pseudo_voigt = _builtin(
    "pseudo_voigt", ("amplitude", "center", "fwhm", "eta", "offset"), _pseudo_voigt,
    _pseudo_voigt_jac,
    "Pseudo-Voigt peak: Lorentzian and Gaussian of the same FWHM, mixed by ``eta``.",
    "amplitude * (eta / (1 + 4*u**2) + (1 - eta) * exp(-4*ln2*u**2)) + offset,"
    "  u = (x - center) / fwhm",
    extra="\n    ``eta`` = 1 is a pure Lorentzian, 0 a pure Gaussian.",
)
exponential = _builtin(
    "exponential", ("amplitude", "rate", "offset"), _exponential, _exponential_jac,
    "Exponential decay (``rate`` > 0) or growth towards/from ``offset``.",
    "amplitude * exp(-rate * x) + offset",
)
gaussian_2d = _builtin(
    "gaussian_2d", ("amplitude", "x0", "y0", "sigma", "offset"), _gaussian_2d,
    _gaussian_2d_jac,
    "Round 2-D Gaussian centred at (``x0``, ``y0``).",
    "amplitude * exp(-((X - x0)**2 + (Y - y0)**2) / (2 * sigma**2)) + offset",
)
gaussian_2d_elliptic = _builtin(
    "gaussian_2d_elliptic", ("amplitude", "x0", "y0", "sigma_x", "sigma_y", "offset"),
    _gaussian_2d_elliptic, _gaussian_2d_elliptic_jac,
    "Axis-aligned elliptic 2-D Gaussian centred at (``x0``, ``y0``).",
    "amplitude * exp(-(X - x0)**2 / (2 * sigma_x**2) - (Y - y0)**2 / (2 * sigma_y**2))"
    " + offset",
)


def polynomial(degree):
    """The polynomial model of a given degree, ``c0 + c1*x + ... + c{degree}*x**degree``.

    Parameters
    ----------
    degree : int
        Degree >= 0; the model has ``degree + 1`` parameters ``c0``, ..., ``c{degree}``.

    Returns
    -------
    Model
        Named ``f"polynomial{degree}"``; the same object for the same degree.

    Raises
    ------
    TypeError
        If ``degree`` is not an integer.
    ValueError
        If ``degree`` is negative.
    """
    return _polynomial_model(_validate.integer("polynomial(): degree", degree, 0))


@functools.lru_cache(maxsize=None)
def _polynomial_model(degree):
    names = tuple(f"c{j}" for j in range(degree + 1))
    terms = " + ".join(["c0"] + [f"c{j}*x" + (f"**{j}" if j > 1 else "")
                                 for j in range(1, degree + 1)])
    return _builtin(f"polynomial{degree}", names, _polynomial, _polynomial_jac,
                    f"Polynomial of degree {degree} (Horner's scheme).", terms, degree=degree)


# --------------------------------------------------------------------------------------
# A user's compiled model
# --------------------------------------------------------------------------------------

#: The C signature of a model function and of its Jacobian (see :func:`from_cfunc`).
C_SIGNATURE = _models.MODEL_SIGNATURE.decode()


def from_cfunc(name, param_names, f, jac=None, *, x_dims=1, ctx=None):
    """A model from C functions: compiled fits of your own model, GIL released.

    Both functions have the C signature ::

        void f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
               Py_ssize_t m, double *out, void *ctx)

    ``p`` holds the n parameters; the independent variable has ``x_dims`` rows of m
    points, row r at ``x + r * xstride``; ``f`` writes the m model values to ``out``,
    ``jac`` the m-by-n Jacobian d f_i / d p_j row-major (``out[i * n + j]``); ``ctx`` is
    the model's user data (see ``ctx`` below; NULL without it).  They are called from
    several threads at once and must not touch Python objects or write to ``ctx``.

    Parameters
    ----------
    name : str
        Name of the model.
    param_names : sequence of str
        The parameters, in the order of ``p``.
    f, jac : numba ``cfunc``, ctypes function pointer or PyCapsule
        The model and (optionally) its Jacobian.  ctypes and numba functions must declare
        the signature above (``double*``, ``Py_ssize_t`` arguments, ``void`` result);
        a PyCapsule must be named :data:`C_SIGNATURE` (as scipy.LowLevelCallable does).
        Without ``jac``, fits use forward differences.
    x_dims : int
        Rows of the independent variable (1, or 2 for an image model taking ``xy``).
    ctx : None, array_like or ctypes object
        User data handed to both functions as ``void *ctx``: an array is copied once to
        C-contiguous float64 (the functions read it as ``double *``); a ctypes object
        (a ``Structure``, an array) is passed by address and kept alive by the model.

    Returns
    -------
    Model
        Usable wherever the built-in models are: called from Python it evaluates the C
        function (broadcasting like the built-in models).  It cannot be pickled (to
        Dask workers, other processes): :func:`from_factory` makes one that can.

    Examples
    --------
    With numba (not a dependency of lmfast)::

        from numba import cfunc, types
        sig = types.void(types.CPointer(types.float64), types.intp,
                         types.CPointer(types.float64), types.intp, types.intp,
                         types.CPointer(types.float64))

        from numba import carray, cfunc, types
        sig = types.void(types.CPointer(types.float64), types.intp,
                         types.CPointer(types.float64), types.intp, types.intp,
                         types.CPointer(types.float64), types.voidptr)

        @cfunc(sig)
        def line(p, n, x, xstride, m, out, ctx):
            for i in range(m):
                out[i] = p[0] + p[1] * x[i]

        model = lmfast.models.from_cfunc("line", ("c0", "c1"), line)

    ``examples/custom_model_numba.py`` shows a model that reads constants from ``ctx``.
    """
    param_names = tuple(param_names)
    if not param_names:
        raise ValueError("from_cfunc(): the model needs at least one parameter")
    x_dims = _validate.integer("from_cfunc(): x_dims", x_dims, 1)
    f_address = _function_address(f, "f")
    jac_address = 0 if jac is None else _function_address(jac, "jac")
    ctx_address, ctx_owner = _context_address(ctx)
    compiled = _models.CompiledModel(0, f_address=f_address, jac_address=jac_address,
                                     x_dims=x_dims, ctx_address=ctx_address,
                                     owners=(f, jac, ctx_owner))
    n = len(param_names)
    func = _c_evaluator(compiled, n, x_dims, jacobian=False)
    jac_func = _c_evaluator(compiled, n, x_dims, jacobian=True) if jac_address else None
    return Model(name, param_names, func, jac_func, compiled=compiled)


#: from_factory models of this process by token, so that a factory runs once per process
#: however many times its model is unpickled there.
_FACTORY_MODELS = {}
_FACTORY_LOCK = threading.Lock()


def from_factory(factory, *args, **kwargs):
    """A model that other processes (dask workers, multiprocessing) build for themselves.

    A :func:`from_cfunc` model holds addresses of C functions, valid in this process
    only, so it cannot be pickled.  ``from_factory(make_model)`` calls
    ``make_model(*args, **kwargs)`` here and returns its model; pickled, that model
    carries ``make_model`` and its arguments instead, and unpickling calls
    ``make_model`` once in each process (later copies reuse that process's model).

    Parameters
    ----------
    factory : callable
        Returns a :class:`Model`, typically by compiling numba ``cfunc`` functions and calling
        :func:`from_cfunc`.  It must pickle: a function defined at the top level of an
        importable module (or, with cloudpickle as dask uses, in ``__main__`` or a
        notebook, its code then travelling by value).
    *args, **kwargs
        Its arguments (picklable).

    Returns
    -------
    Model
        The factory's model, able to travel.

    Examples
    --------
    In a module ``mymodels.py`` importable by the workers::

        def make_line():
            from numba import cfunc, types
            sig = types.void(types.CPointer(types.float64), types.intp,
                             types.CPointer(types.float64), types.intp, types.intp,
                             types.CPointer(types.float64), types.voidptr)

            @cfunc(sig)
            def line(p, n, x, xstride, m, out, ctx):
                for i in range(m):
                    out[i] = p[0] + p[1] * x[i]

            return lmfast.models.from_cfunc("line", ("c0", "c1"), line)

    then ``model = lmfast.models.from_factory(mymodels.make_line)``.
    """
    if not callable(factory):
        raise TypeError(f"from_factory(): factory must be callable, not "
                        f"{type(factory).__name__}")
    token = uuid.uuid4().hex
    model = _factory_clone(factory(*args, **kwargs), (token, factory, args, kwargs))
    with _FACTORY_LOCK:
        _FACTORY_MODELS[token] = model
    return model


def _factory_model(token, factory, args, kwargs):
    """The model of a from_factory token in this process, built on first use."""
    with _FACTORY_LOCK:
        model = _FACTORY_MODELS.get(token)
        if model is None:
            model = _factory_clone(factory(*args, **kwargs), (token, factory, args, kwargs))
            _FACTORY_MODELS[token] = model
    return model


def _factory_clone(model, recipe):
    """A copy of the factory's model that pickles as its recipe (the factory may return a
    model shared with others, such as a built-in one: that one is left as it is)."""
    if not isinstance(model, Model):
        raise TypeError(f"from_factory(): the factory must return a lmfast.models.Model, "
                        f"not {type(model).__name__}")
    clone = object.__new__(Model)
    clone.__dict__.update(model.__dict__)
    if len(model._components) == 1:
        clone._components = (clone,)
    clone._rebuild = (_factory_model, recipe)
    return clone


def _context_address(ctx):
    """(address, owner) of a model's user data: NULL for None, the data of a float64
    copy of an array, the address of a ctypes object."""
    import ctypes

    if ctx is None:
        return 0, None
    if isinstance(ctx, (ctypes._SimpleCData, ctypes.Structure, ctypes.Union, ctypes.Array)):
        return ctypes.addressof(ctx), ctx
    if isinstance(ctx, int):
        raise TypeError("from_cfunc(): ctx must be None, an array or a ctypes object, not "
                        "a bare address (nothing would keep its memory alive)")
    values = _validate.real_array("ctx", ctx).copy()  # a copy the model owns
    values.flags.writeable = False
    return values.ctypes.data, values


def _function_address(obj, what):
    """The address of a C model function given as a PyCapsule, a ctypes function
    pointer or a numba cfunc, after checking its declared signature."""
    import ctypes

    if type(obj).__name__ == "PyCapsule":
        return _models._capsule_address(obj)
    pointer = getattr(obj, "ctypes", obj)  # a numba cfunc carries a ctypes twin
    if not isinstance(pointer, ctypes._CFuncPtr):
        raise TypeError(f"from_cfunc(): {what} must be a numba cfunc, a ctypes function "
                        f"pointer or a PyCapsule, not {type(obj).__name__}")

    def is_double_pointer(t):
        return isinstance(t, type) and issubclass(t, ctypes._Pointer) and t._type_ is ctypes.c_double

    def is_ssize(t):
        return (isinstance(t, type) and issubclass(t, ctypes._SimpleCData)
                and t._type_ in "lqn" and ctypes.sizeof(t) == ctypes.sizeof(ctypes.c_ssize_t))

    def is_void_pointer(t):
        return t is ctypes.c_void_p

    checks = (is_double_pointer, is_ssize, is_double_pointer, is_ssize, is_ssize,
              is_double_pointer, is_void_pointer)
    argtypes = pointer.argtypes or ()
    if (pointer.restype is not None or len(argtypes) != len(checks)
            or not all(check(t) for check, t in zip(checks, argtypes))):
        raise TypeError(f"from_cfunc(): {what} must have the signature {C_SIGNATURE}; it "
                        f"declares {pointer.restype} ({', '.join(map(str, argtypes))})")
    return ctypes.cast(pointer, ctypes.c_void_p).value


def _c_evaluator(compiled, n, x_dims, jacobian):
    """A NumPy-style function (coordinates, parameters) -> values (or Jacobian columns)
    that calls the model's C function for every parameter row."""

    def evaluate(*args):
        coords, params = args[:x_dims], args[x_dims:]
        shape = broadcast_shape(coords, params)
        lead, m = shape[:-1], shape[-1]
        rows = math.prod(lead)
        p = np.empty((rows, n))
        for j, value in enumerate(params):
            p[:, j] = np.broadcast_to(np.asarray(value, dtype=float), lead + (1,)).reshape(rows)
        x = np.stack([np.broadcast_to(np.asarray(c, dtype=float), shape) for c in coords],
                     axis=-2)
        x = np.ascontiguousarray(x.reshape(rows, x_dims, m))
        out = compiled.evaluate(p, x, jacobian)
        if not jacobian:
            return out.reshape(shape)
        values = out.reshape(lead + (m, n))
        return [values[..., j] for j in range(n)]

    return evaluate
