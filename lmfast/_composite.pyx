"""Composite compiled models: a sum of components, assembled in C through ``ctx``.

A composite's ``ctx`` points at a table of its components (their functions, their own
``ctx``, and where their parameters start in the composite's parameter vector).  Its
value is the components' values summed in order; its Jacobian holds each component's
columns at the component's offset.  Scratch for one component's output is allocated per
call (plain malloc, no GIL); if that fails the output is NaN, which a fit reports as a
non-finite outcome.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport NAN
from libc.stdlib cimport free, malloc

from lmfast._models cimport CompiledModel, model_eval_t, model_fj_t

cnp.import_array()


ctypedef struct Component:
    model_eval_t f
    model_eval_t jac       # NULL: the composite has no analytic Jacobian
    model_fj_t fj          # NULL: value and Jacobian apart
    void *ctx
    Py_ssize_t offset      # the component's first parameter in the composite's p
    Py_ssize_t n_params


ctypedef struct Table:
    Py_ssize_t count
    Py_ssize_t widest      # the largest n_params of a component
    Component *components


cdef inline void _fill_nan(double *out, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(size):
        out[i] = NAN


cdef void composite_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                      Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """out = sum over components of component(x, p[offset:offset + n_params])."""
    cdef const Table *table = <const Table *>ctx
    cdef const Component *c
    cdef Py_ssize_t k, i
    cdef double *scratch
    if m <= 0:
        return
    c = &table.components[0]
    c.f(p + c.offset, c.n_params, x, xstride, m, out, c.ctx)
    if table.count == 1:
        return
    scratch = <double *>malloc(m * sizeof(double))
    if scratch == NULL:
        _fill_nan(out, m)
        return
    for k in range(1, table.count):
        c = &table.components[k]
        c.f(p + c.offset, c.n_params, x, xstride, m, scratch, c.ctx)
        for i in range(m):
            out[i] = out[i] + scratch[i]
    free(scratch)


cdef void composite_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                        Py_ssize_t m, double *out, void *ctx) noexcept nogil:
    """Each component's Jacobian columns at its offset (row-major, n columns)."""
    cdef const Table *table = <const Table *>ctx
    cdef const Component *c
    cdef Py_ssize_t k, i, j
    cdef double *scratch
    if m <= 0:
        return
    scratch = <double *>malloc(m * table.widest * sizeof(double))
    if scratch == NULL:
        _fill_nan(out, m * n)
        return
    for k in range(table.count):
        c = &table.components[k]
        c.jac(p + c.offset, c.n_params, x, xstride, m, scratch, c.ctx)
        for i in range(m):
            for j in range(c.n_params):
                out[i * n + c.offset + j] = scratch[i * c.n_params + j]
    free(scratch)


cdef void composite_fj(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, double *jac, void *ctx) noexcept nogil:
    """composite_f and composite_jac in one sweep over the components, each evaluated
    jointly where it can be (its fj)."""
    cdef const Table *table = <const Table *>ctx
    cdef const Component *c
    cdef Py_ssize_t k, i, j
    cdef double *fs
    cdef double *js
    if m <= 0:
        return
    fs = <double *>malloc(m * (table.widest + 1) * sizeof(double))
    if fs == NULL:
        _fill_nan(out, m)
        _fill_nan(jac, m * n)
        return
    js = fs + m
    for k in range(table.count):
        c = &table.components[k]
        if c.fj != NULL:
            c.fj(p + c.offset, c.n_params, x, xstride, m, fs, js, c.ctx)
        else:
            c.f(p + c.offset, c.n_params, x, xstride, m, fs, c.ctx)
            c.jac(p + c.offset, c.n_params, x, xstride, m, js, c.ctx)
        if k == 0:
            for i in range(m):
                out[i] = fs[i]
        else:
            for i in range(m):
                out[i] = out[i] + fs[i]
        for i in range(m):
            for j in range(c.n_params):
                jac[i * n + c.offset + j] = js[i * c.n_params + j]
    free(fs)


cdef class CompositeTable:
    """The component table a composite's ``ctx`` points at (kept alive by its owner).

    Parameters
    ----------
    components : sequence of (CompiledModel, n_params)
        The components in order; their parameters follow one another.
    """
    cdef Table table
    cdef object buffer      # the Component array behind table.components
    cdef object keep        # the components' CompiledModels (their ctx stays valid)
    cdef readonly bint has_jacobian
    cdef readonly bint has_joint    # a component evaluates value and Jacobian at once

    def __init__(self, components):
        cdef CompiledModel model
        cdef Component *entry
        cdef Py_ssize_t k, offset = 0, count = len(components)
        if count == 0:
            raise ValueError("a composite model needs at least one component")
        self.buffer = np.zeros(count * sizeof(Component), dtype=np.uint8)
        self.table.components = <Component *>cnp.PyArray_DATA(self.buffer)
        self.table.count = count
        self.table.widest = 0
        self.has_jacobian = True
        self.has_joint = False
        self.keep = tuple(model for model, _ in components)
        for k in range(count):
            model, n_params = components[k]
            entry = &self.table.components[k]
            entry.f = model.funcs.f
            entry.jac = model.funcs.jac
            entry.fj = model.funcs.fj
            entry.ctx = model.funcs.ctx
            entry.offset = offset
            entry.n_params = n_params
            offset += n_params
            if n_params > self.table.widest:
                self.table.widest = n_params
            if entry.jac == NULL:
                self.has_jacobian = False
            if entry.fj != NULL:
                self.has_joint = True

    @property
    def address(self):
        """The address of the table, the composite's ctx."""
        return <size_t>&self.table


def functions():
    """(value, Jacobian, joint) addresses of the composite kernels."""
    return <size_t>composite_f, <size_t>composite_jac, <size_t>composite_fj
