"""A user's compiled models: C functions (numba, ctypes, PyCapsule) as a Model.

:func:`from_cfunc` checks the functions' declared signature (:data:`C_SIGNATURE`) and
wraps their addresses, and the user data ``ctx``, in a :class:`lmfast.models.Model`;
:func:`from_factory` makes such a model able to travel to other processes, each building
its own from the factory.  Both are public as ``lmfast.models.from_cfunc`` and
``lmfast.models.from_factory``.
"""
import threading
import uuid

from lmfast import _models, _validate
from lmfast._model import Model, c_evaluator, jacobian_columns

__all__ = ["C_SIGNATURE", "from_cfunc", "from_factory"]

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
    compiled = _models.CompiledModel(f_address=f_address, jac_address=jac_address,
                                     x_dims=x_dims, ctx_address=ctx_address,
                                     owners=(f, jac, ctx_owner))
    func = c_evaluator(compiled, jacobian=False)
    jac_func = jacobian_columns(c_evaluator(compiled, jacobian=True)) if jac_address else None
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
    In a module ``mymodels.py`` importable by the workers, the :func:`from_cfunc` example
    moved into a function (so that each process compiles ``line`` itself)::

        def make_line():
            from numba import cfunc, types
            ...  # sig and line as in the from_cfunc example
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

