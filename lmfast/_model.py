"""Model: what lmfast fits, a NumPy function with its Jacobian and its compiled twin.

A :class:`Model` is called like a curve_fit model, ``model(x, *params)``, ``model.jac``
gives its analytic Jacobian, and the drivers run its C functions (``model._compiled``)
with the GIL released.  Models add up into composite models (``+``, assembled in C by
``lmfast/_composite.pyx``) and take prefixed parameter names (:meth:`Model.prefixed`).
Its public home is :mod:`lmfast.models`, which makes the built-in models; the models of
a user's C functions are made in ``lmfast/_user_models.py``.
"""
import inspect
import math

import numpy as np

from lmfast import _models

__all__ = ["Model", "affine", "broadcast_shape", "c_evaluator", "jacobian_columns", "registered"]


class Model:
    """A fit model: NumPy function, analytic Jacobian and the id of its compiled twin.

    Instances are made by lmfast, not by hand: the built-in models of
    :mod:`lmfast.models` and its ``polynomial``, ``from_cfunc`` and ``from_factory``,
    ``lmfast.lineshapes.model``, and from other models :meth:`prefixed` and ``+``
    (composite models).  Use them as ``f`` in ``scipy.optimize.curve_fit``,
    ``lmfast.curve_fit`` or ``lmfast.curve_fit_batch``.

    Attributes
    ----------
    name : str
        ``"gaussian"``, ..., ``"polynomial3"``.
    param_names : tuple of str
        The parameters, in the order ``__call__`` and ``jac`` take them.
    n_params : int
        ``len(param_names)``.
    x_dims : int
        Rows of the independent variable: 1, or 2 for the 2-D models (``xy``).
    model_id : int
        Id of the compiled model in lmfast's registry of compiled models (``ModelId`` in
        ``lmfast/_models.pxd``: the built-in models and the lineshapes); 0 for models
        whose C functions are not in it (``from_cfunc``, composites).
    degree : int or None
        The degree of a polynomial, None for the other models.
    """

    def __init__(self, name, param_names, func, jac, *, compiled, degree=None, doc=None):
        self.name = name
        self.__name__ = name
        self.__qualname__ = name
        self.param_names = tuple(param_names)
        self.n_params = len(self.param_names)
        self.x_dims = compiled.x_dims
        self.model_id = compiled.model_id
        self.degree = degree
        self._func = func
        self._jac = jac
        # The C functions, their user data and the objects behind them, for the drivers.
        self._compiled = compiled
        # A composite's components, in order (see __add__); a plain model is its own.
        self._components = (self,)
        # What __reduce__ returns: (callable, args) that builds this model again in
        # another process, or the name of a built-in model in lmfast.models (set there);
        # None for a composite (rebuilt from its components) and a from_cfunc model.
        # Registry models (built-in models, lineshapes) rebuild from the registry by name.
        self._rebuild = None
        x_dims = self.x_dims
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        x_name = "x" if x_dims == 1 else "xy"
        self.__signature__ = inspect.Signature(
            [inspect.Parameter(x_name, kind)]
            + [inspect.Parameter(p, kind) for p in self.param_names]
        )
        if doc is not None:
            self.__doc__ = doc

    @property
    def has_jacobian(self):
        """Whether the model has an analytic Jacobian (all built-in models have one)."""
        return self._jac is not None

    def __repr__(self):
        return f"<lmfast.models.Model {self.name}{self.__signature__}>"

    def prefixed(self, prefix):
        """The same model with ``prefix`` before every parameter name (as lmfit names the
        parameters of composite models), e.g. ``lineshapes.model("voigt").prefixed("p1_")``.

        Parameters
        ----------
        prefix : str
            Put before every parameter name (and the model's name).

        Returns
        -------
        Model
            The same compiled functions and NumPy twin under the new names.

        Examples
        --------
        >>> from lmfast import models
        >>> models.gaussian.prefixed("p1_").param_names
        ('p1_amplitude', 'p1_center', 'p1_sigma', 'p1_offset')
        """
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a string, not {type(prefix).__name__}")
        if len(self._components) > 1:
            return _composite([c.prefixed(prefix) for c in self._components])
        model = Model(prefix + self.name, [prefix + p for p in self.param_names],
                      self._func, self._jac, compiled=self._compiled, degree=self.degree)
        model.__doc__ = self.__doc__
        model._rebuild = (_prefixed, (self, prefix))
        return model

    def __add__(self, other):
        """The composite model ``self + other``: the sum of both, its parameters those of
        ``self`` then those of ``other``, value and Jacobian assembled in C (through the
        composite's ``ctx``) from the components', NumPy twin the sum of the twins.

        Parameter names must stay unique: give components a prefix (:meth:`prefixed`).

        Parameters
        ----------
        other : Model
            The model added (a composite adds its components).

        Returns
        -------
        Model
            The composite model.

        Raises
        ------
        ValueError
            If parameter names repeat, or the models read different numbers of rows of x.
        """
        if not isinstance(other, Model):
            return NotImplemented
        return _composite([*self._components, *other._components])

    def __reduce__(self):
        # Built-in models are singletons: unpickling gives back lmfast.models' instance.
        # The others are built again from what they were made of: composites from their
        # components, polynomials by degree, lineshapes (plain or prefixed) by name and
        # prefix, other prefixed models from the model and the prefix, from_factory models
        # by their factory (see _rebuild).
        # C function addresses (from_cfunc) mean nothing in another process: they refuse
        # to pickle.
        if self._rebuild is not None:
            return self._rebuild
        if len(self._components) > 1:
            return _composite, (list(self._components),)
        raise TypeError(
            f"the model {self.name!r} holds the addresses of C functions (from_cfunc), "
            "which mean nothing in another process, so it cannot be pickled (to send it "
            "to dask workers or other processes): build it with "
            "lmfast.models.from_factory(make_model), where make_model is an importable "
            "function that creates the C functions and returns from_cfunc(...); each "
            "process then builds its own")

    def __call__(self, *args, **kwargs):  # takes x, *params: numpydoc ignore=PR01,PR02
        """Model values at ``x`` (NumPy twin of the compiled model).

        Parameters
        ----------
        x : array_like
            Shape (m,) or, per fit, (K, m); for 2-D models ``xy`` of shape (2, m) or
            (2, K, m).
        *params : float or array_like
            The parameters in ``param_names`` order (also accepted by keyword).  Scalars
            give one curve; columns of shape (K, 1) give K curves.

        Returns
        -------
        ndarray
            Shape (m,) for scalar parameters, (K, m) for (K, 1) parameters (in general the
            broadcast shape of the coordinates and the parameters).
        """
        coords, params = self._arguments(args, kwargs)
        value = self._func(*coords, *params)
        if np.shape(value) != coords[0].shape:
            # E.g. (K, 1) parameters, or a value that does not depend on x (degree 0).
            shape = broadcast_shape(coords, params)
            if np.shape(value) != shape:
                value = np.broadcast_to(value, shape).copy()
        return value

    def jac(self, *args, **kwargs):  # takes x, *params: numpydoc ignore=PR01,PR02
        """Analytic Jacobian d model / d params (NumPy twin of the compiled Jacobian).

        Parameters
        ----------
        x : array_like
            As for calling the model.
        *params : float or array_like
            As for calling the model.

        Returns
        -------
        ndarray
            Shape (m, n) for scalar parameters, (K, m, n) for (K, 1) parameters: the
            broadcast shape of the values with the parameter as last axis, in
            ``param_names`` order.
        """
        if self._jac is None:
            raise TypeError(f"{self.name}: this model has no Jacobian (from_cfunc without jac)")
        coords, params = self._arguments(args, kwargs)
        shape = broadcast_shape(coords, params)
        columns = self._jac(*coords, *params)
        return np.stack([np.broadcast_to(c, shape) for c in columns], axis=-1)

    def _arguments(self, args, kwargs):
        """(coordinates, parameters) from a call's arguments."""
        if kwargs or len(args) != self.n_params + 1:
            try:
                bound = self.__signature__.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{self.name}(): {exc}") from None
            args = bound.args
        x = np.asarray(args[0])
        if x.dtype.kind not in "fc":
            x = x.astype(np.float64)
        if self.x_dims == 1:
            coords = (x,)
        else:
            if x.ndim < 1 or x.shape[0] != self.x_dims:
                raise ValueError(f"{self.name}(): xy must have shape (2, m) or (2, K, m), "
                                 f"got {x.shape}")
            coords = (x[0], x[1])
        return coords, args[1:]


def _composite(components):
    """The Model summing ``components`` (plain models, in order)."""
    from lmfast import _composite as composite_c

    names = [p for c in components for p in c.param_names]
    repeated = sorted({p for p in names if names.count(p) > 1})
    if repeated:
        raise ValueError(f"composite model: parameter names {repeated} repeat; give the "
                         "components a prefix, e.g. model.prefixed('p1_')")
    x_dims = {c.x_dims for c in components}
    if len(x_dims) != 1:
        raise ValueError("composite model: the components read different numbers of rows "
                         "of x (x_dims)")
    (x_dims,) = x_dims
    table = composite_c.CompositeTable([(c._compiled, c.n_params) for c in components])
    f_address, jac_address, fj_address = composite_c.functions()
    compiled = _models.CompiledModel(
        f_address=f_address, jac_address=jac_address if table.has_jacobian else 0,
        fj_address=fj_address if table.has_joint else 0,
        x_dims=x_dims, ctx_address=table.address, owners=(table, tuple(components)))
    spans = []
    offset = 0
    for c in components:
        spans.append((c, offset, offset + c.n_params))
        offset += c.n_params

    def value(*args):
        coords, params = args[:x_dims], args[x_dims:]
        total = None
        for c, start, stop in spans:  # summed in the order the C kernel sums
            part = c._func(*coords, *params[start:stop])
            total = part if total is None else total + part
        return total

    def jacobian(*args):
        coords, params = args[:x_dims], args[x_dims:]
        return [column for c, start, stop in spans
                for column in c._jac(*coords, *params[start:stop])]

    model = Model(" + ".join(c.name for c in components), names, value,
                  jacobian if table.has_jacobian else None, compiled=compiled)
    model._components = tuple(components)
    return model


def affine(model, matrix, offset, param_names):
    """The Model of ``model`` seen through ``p_full = matrix @ p + offset``: its
    parameters ``param_names`` (one per column of ``matrix``), the model's own parameters
    affine functions of them.  Value and Jacobian (the model's Jacobian times ``matrix``)
    in C (``lmfast/_affine.pyx``); this is how ties between parameters enter a fit.

    Parameters
    ----------
    model : Model
        The inner model, of ``model.n_params`` parameters.
    matrix : array_like, shape (model.n_params, n)
    offset : array_like, shape (model.n_params,)
    param_names : sequence of str, length n

    Returns
    -------
    Model
    """
    from lmfast import _affine as affine_c

    matrix = np.array(matrix, dtype=np.float64)
    offset = np.array(offset, dtype=np.float64)
    names = tuple(param_names)
    if matrix.shape != (model.n_params, len(names)) or offset.shape != (model.n_params,):
        raise ValueError(f"affine model: matrix must be ({model.n_params}, {len(names)}) "
                         f"and offset ({model.n_params},), got {matrix.shape} and "
                         f"{offset.shape}")
    table = affine_c.AffineMap(model._compiled, matrix, offset)
    f_address, jac_address, fj_address = affine_c.functions()
    compiled = _models.CompiledModel(
        f_address=f_address, jac_address=jac_address if table.has_jacobian else 0,
        fj_address=fj_address if table.has_joint else 0, x_dims=model.x_dims,
        ctx_address=table.address, owners=(table, model))
    x_dims = model.x_dims

    def full(params):
        return [sum((matrix[j, a] * params[a] for a in np.flatnonzero(matrix[j])),
                    offset[j]) for j in range(model.n_params)]

    def value(*args):
        return model._func(*args[:x_dims], *full(args[x_dims:]))

    def jacobian(*args):
        columns = model._jac(*args[:x_dims], *full(args[x_dims:]))
        return [sum((columns[j] * matrix[j, a] for j in np.flatnonzero(matrix[:, a])), 0.0)
                for a in range(len(names))]

    tied = Model(f"affine({model.name})", names, value,
                 jacobian if table.has_jacobian else None, compiled=compiled)
    tied._rebuild = (affine, (model, matrix, offset, names))
    return tied


def registered(registry_name, name, param_names, func, jac, *, degree=None, doc=None):
    """The Model of the registry's compiled model ``registry_name`` (a built-in model or a
    lineshape, see ``lmfast._models.registry()``), with its NumPy twin ``func``, ``jac``
    (Jacobian columns), after checking the registry's parameter count against the
    names."""
    compiled = _models.CompiledModel(registry_name)
    if compiled.n_params not in (0, len(param_names)):
        raise ImportError(f"lmfast._models is out of date: {registry_name} has "
                          f"{compiled.n_params} parameters there, {len(param_names)} here; "
                          "rebuild the extension")
    return Model(name, param_names, func, jac, compiled=compiled, degree=degree, doc=doc)


def c_evaluator(compiled, jacobian):
    """A NumPy-style function (coordinates..., parameters...) -> the values of the model's
    C function (or its Jacobian, parameter as last axis), broadcasting coordinates and
    parameters as the NumPy twins do; the C function runs once per parameter row, through
    ``CompiledModel.evaluate``."""
    x_dims = compiled.x_dims

    def evaluate(*args):
        coords = [np.asarray(c, dtype=np.float64) for c in args[:x_dims]]
        params = args[x_dims:]
        n = len(params)
        full = broadcast_shape(coords, params)
        shape = full or (1,)
        lead, m = shape[:-1], shape[-1]
        rows = math.prod(lead)
        p = np.empty((rows, n))
        for j, value in enumerate(params):
            p[:, j] = np.broadcast_to(np.asarray(value, dtype=np.float64),
                                      lead + (1,)).reshape(rows)
        x = np.stack([np.broadcast_to(c, shape) for c in coords], axis=-2)
        x = np.ascontiguousarray(x.reshape(rows, x_dims, m))
        out = compiled.evaluate(p, x, jacobian)
        return out.reshape(full + ((n,) if jacobian else ()))

    return evaluate


def jacobian_columns(jacobian):
    """``jacobian`` (parameter as last axis) as a Model's ``jac``: a list of columns."""

    def columns(*args):
        values = jacobian(*args)
        return [values[..., j] for j in range(values.shape[-1])]

    return columns


def _prefixed(model, prefix):
    """``model.prefixed(prefix)``: how a prefixed model is rebuilt when unpickled."""
    return model.prefixed(prefix)


def broadcast_shape(coords, params):
    """The shape of a model's value: coordinates and parameters broadcast together."""
    return np.broadcast_shapes(*(np.shape(a) for a in coords), *(np.shape(p) for p in params))
