"""Batch drivers: many independent fits of one Problem on the one LM engine.

Both drivers start, run and finish each fit with ``lmfast._model_fit``:

* ``CompiledBatch``: a compiled model.  Fits are handed out in blocks through an atomic
  counter; every worker thread runs its fits to completion with the GIL released, each
  in its own workspace, and stops at the next request of its fit once cancelled.
* ``VectorBatch``: a vectorised Python model.  A group of fits advances in rounds: the
  requests of every pending fit (a residual vector, or the n perturbed points of a
  forward-difference Jacobian, or a Jacobian) are gathered into one parameter array,
  the Python caller evaluates the model once for all of them, and the answers are
  scattered back.

Each fit's arithmetic is the same whatever the thread count, block or group size, so
results do not depend on them.
"""
import numpy as np

cimport cython
cimport numpy as cnp
from libc.string cimport memcpy

from lmfast._engine cimport (
    LMWork, LMRequest, LM_DONE, LM_NEED_F, LM_NEED_FD, lm_step,
)
from lmfast._estimator cimport (
    ESTIMATOR_LEAST_SQUARES, cache_at, cache_fill, cache_next, scale_rows,
)
from lmfast._model_fit cimport (
    CompiledFit, FitOutputs, bind_outputs, cache_scratch, difference_column, difference_steps,
    finish_fit, fit_map, bind_compiled_fit, fit_work_doubles, grad_scratch,
    atomic_fetch_add, atomic_load, atomic_store, run_model_fit, start_fit, step_scratch,
)
from lmfast._problem cimport Problem, ProblemData
from lmfast._transform cimport ParamMap, chain_jacobian, gradient, to_external

cnp.import_array()


# ---------------------------------------------------------------------------------------
# Compiled model: workers over blocks of fits
# ---------------------------------------------------------------------------------------

# A cache line, in doubles and in ints.
cdef enum:
    LINE_BYTES = 64
    LINE_DOUBLES = 8
    LINE_INTS = 16


cdef inline char *_line_start(cnp.ndarray buffer):
    """The first address of buffer on a cache-line boundary (the buffer has a line to
    spare)."""
    cdef char *data = <char *>cnp.PyArray_DATA(buffer)
    return data + (-(<size_t>data)) % LINE_BYTES


cdef class CompiledBatch:
    """A batch of fits of one compiled model, worked through by one or more threads.

    Parameters
    ----------
    problem : Problem
        The fits, with their compiled model.
    result : lmfast.BatchResult
        Receives each fit's outcome (its arrays are filled in place).
    workers : int
        Number of threads that will call :meth:`work` (each with its own slot).
    block : int
        Fits claimed at a time.
    """
    cdef Problem problem
    cdef FitOutputs out
    cdef object arrays
    cdef cnp.ndarray dwork
    cdef cnp.ndarray iwork
    cdef Py_ssize_t lwork, iwidth, block, next_fit, n_done, cancelled
    cdef int workers

    def __init__(self, Problem problem not None, result, int workers, Py_ssize_t block):
        if not problem.data.has_model:
            raise ValueError("internal: CompiledBatch needs a compiled model")
        if workers < 1 or block < 1:
            raise ValueError("internal: workers and block must be positive")
        self.problem = problem
        self.arrays = bind_outputs(&self.out, result, &problem.data)
        self.workers = workers
        self.block = block
        # Each worker's workspaces start on a cache line of their own and a line apart:
        # a line written by two cores (a pivot array, the end of one workspace and the
        # start of the next) would travel between them at every write.
        self.lwork = fit_work_doubles(&problem.data, True) + LINE_DOUBLES
        self.dwork = np.zeros(workers * self.lwork + LINE_DOUBLES, dtype=np.float64)
        self.iwidth = (max(problem.data.n_free, 1) + 2 * LINE_INTS - 1) // LINE_INTS * LINE_INTS
        self.iwork = np.zeros(workers * self.iwidth + LINE_INTS, dtype=np.int32)
        self.next_fit = 0
        self.n_done = 0
        self.cancelled = 0

    @property
    def done(self):
        """Number of fits finished so far."""
        return atomic_load(&self.n_done)

    def cancel(self):
        """Make every worker stop after the fit it is running."""
        atomic_store(&self.cancelled, 1)

    @cython.nonecheck(False)  # self is never None; the debug build checks the rest
    def work(self, int slot):
        """Run fits, a block at a time, until none is left or cancel() is called (which
        also stops the fit in progress at its next request).  Releases the GIL."""
        if not 0 <= slot < self.workers:
            raise ValueError(f"internal: slot {slot} out of range")
        cdef LMWork ws
        cdef CompiledFit d
        cdef Py_ssize_t start, stop, i, finished
        cdef double *dwork = <double *>_line_start(self.dwork) + slot * self.lwork
        cdef int *iwork = <int *>_line_start(self.iwork) + slot * self.iwidth
        cdef const ProblemData *s = &self.problem.data
        with nogil:
            while not atomic_load(&self.cancelled):
                start = atomic_fetch_add(&self.next_fit, self.block)
                if start >= s.n_fits:
                    break
                stop = start + self.block if start + self.block < s.n_fits else s.n_fits
                finished = 0
                for i in range(start, stop):
                    if atomic_load(&self.cancelled):
                        break
                    bind_compiled_fit(s, i, dwork, &d)
                    if start_fit(s, i, &ws, dwork, iwork) == 0:
                        if run_model_fit(&ws, &d, &self.cancelled) != LM_DONE:
                            break
                    finish_fit(s, i, &ws, &d, &self.out, dwork)
                    finished += 1
                atomic_fetch_add(&self.n_done, finished)


# ---------------------------------------------------------------------------------------
# Vectorised Python model: rounds of gathered requests
# ---------------------------------------------------------------------------------------

cdef class VectorBatch:
    """A group of fits advanced together; the caller evaluates the Python model.

    Use: ``start(first, count)``, then repeat ``gather()`` (parameter rows that need
    residuals, and rows that need a Jacobian), evaluate, ``scatter(residuals, jacobians)``
    until ``gather()`` returns (0, 0).

    Parameters
    ----------
    problem : Problem
        The fits (no compiled model: the caller evaluates the Python model, and already
        weights what it hands to scatter()).
    result : lmfast.BatchResult
        Receives each fit's outcome.
    group : int
        Largest number of fits in one group.
    """
    cdef Problem problem
    cdef FitOutputs out
    cdef object arrays
    cdef tuple work_arrays  # keeps the arrays behind the pointers below alive
    cdef readonly cnp.ndarray rows_f, fit_f, rows_j, fit_j
    cdef Py_ssize_t lwork, group, first, n_active, last_f, last_j
    # Per fit k of the group: workspace, LMWork, pending request; active: pending fits.
    cdef double *dwork
    cdef int *iwork
    cdef LMWork *works
    cdef int *requests
    cdef Py_ssize_t *active

    def __init__(self, Problem problem not None, result, Py_ssize_t group):
        self.problem = problem
        self.arrays = bind_outputs(&self.out, result, &problem.data)
        # rows: one per pending evaluation, in the n parameters the model takes.
        cdef Py_ssize_t n = problem.data.n, rows = max(group, 1) * max(problem.data.n_free, 1)
        self.group = max(group, 1)
        self.lwork = fit_work_doubles(&problem.data, False)
        dwork = np.zeros((self.group, self.lwork), dtype=np.float64)
        iwork = np.zeros((self.group, max(problem.data.n_free, 1)), dtype=np.int32)
        works = np.zeros(self.group * sizeof(LMWork), dtype=np.uint8)
        requests = np.zeros(self.group, dtype=np.int32)
        active = np.zeros(self.group, dtype=np.intp)
        self.work_arrays = (dwork, iwork, works, requests, active)
        self.dwork = <double *>cnp.PyArray_DATA(dwork)
        self.iwork = <int *>cnp.PyArray_DATA(iwork)
        self.works = <LMWork *>cnp.PyArray_DATA(works)
        self.requests = <int *>cnp.PyArray_DATA(requests)
        self.active = <Py_ssize_t *>cnp.PyArray_DATA(active)
        self.rows_f = np.zeros((rows, n), dtype=np.float64)
        self.fit_f = np.zeros(rows, dtype=np.intp)
        self.rows_j = np.zeros((self.group, n), dtype=np.float64)
        self.fit_j = np.zeros(self.group, dtype=np.intp)
        self.n_active = 0
        self.last_f = 0
        self.last_j = 0

    @cython.nonecheck(False)  # self is never None; the debug build checks the rest
    cdef Py_ssize_t _step(self, Py_ssize_t k) noexcept nogil:
        """Advance fit k to its next request; finish it (1) or keep it pending (0)."""
        cdef LMWork *ws = self.works + k
        self.requests[k] = lm_step(ws)
        if self.requests[k] == LM_DONE:
            finish_fit(&self.problem.data, self.first + k, ws, NULL, &self.out,
                       self.dwork + k * self.lwork)
            return 1
        self.active[self.n_active] = k
        self.n_active += 1
        return 0

    @cython.nonecheck(False)  # self is never None; the debug build checks the rest
    def start(self, Py_ssize_t first, Py_ssize_t count):
        """Start fits first .. first+count-1 (count <= group) and take their first
        requests; return how many finished at once (improper input)."""
        cdef Py_ssize_t k, finished = 0
        if count > self.group or first < 0 or first + count > self.problem.data.n_fits:
            raise ValueError("internal: group out of range")
        self.first = first
        self.n_active = 0
        for k in range(count):
            if start_fit(&self.problem.data, first + k, self.works + k,
                         self.dwork + k * self.lwork,
                         self.iwork + k * max(self.problem.data.n_free, 1)) == 0:
                finished += self._step(k)
            else:  # p0 outside its bounds: finished without a request
                finish_fit(&self.problem.data, first + k, self.works + k, NULL, &self.out,
                           self.dwork + k * self.lwork)
                finished += 1
        return finished

    @cython.nonecheck(False)  # self is never None; the debug build checks the rest
    def gather(self):
        """Fill rows_f/fit_f (points needing residuals) and rows_j/fit_j (points needing
        the Jacobian) for every pending fit; return their counts (n_f, n_j)."""
        cdef const ProblemData *p = &self.problem.data
        cdef Py_ssize_t a, k, j, r, n = p.n, nf = p.n_free, n_f = 0, n_j = 0
        cdef LMWork *ws
        cdef ParamMap pm
        cdef double xj
        cdef double *steps
        cdef double *grad = NULL
        cdef double *rows_f = <double *>cnp.PyArray_DATA(self.rows_f)
        cdef double *rows_j = <double *>cnp.PyArray_DATA(self.rows_j)
        cdef Py_ssize_t *fit_f = <Py_ssize_t *>cnp.PyArray_DATA(self.fit_f)
        cdef Py_ssize_t *fit_j = <Py_ssize_t *>cnp.PyArray_DATA(self.fit_j)
        with nogil:
            for a in range(self.n_active):
                k = self.active[a]
                ws = self.works + k
                fit_map(p, self.first + k, self.dwork + k * self.lwork, &pm)
                if self.requests[k] == LM_NEED_F:
                    _row(p, &pm, ws.req_x, rows_f + n_f * n)
                    fit_f[n_f] = self.first + k
                    n_f += 1
                elif self.requests[k] == LM_NEED_FD:
                    steps = step_scratch(p, self.dwork + k * self.lwork)
                    grad = grad_scratch(p, self.dwork + k * self.lwork)
                    # P(x) (scratch for fd_step) in the row the first column overwrites
                    difference_steps(ws, &pm, p.mapped, rows_f + n_f * n, grad, steps)
                    for j in range(nf):
                        r = n_f + j
                        xj = ws.x[j]
                        ws.x[j] = xj + steps[j]
                        _row(p, &pm, ws.x, rows_f + r * n)
                        ws.x[j] = xj
                        fit_f[r] = self.first + k
                    n_f += nf
                else:
                    _row(p, &pm, ws.x, rows_j + n_j * n)
                    fit_j[n_j] = self.first + k
                    n_j += 1
        self.last_f = n_f
        self.last_j = n_j
        return n_f, n_j

    @cython.nonecheck(False)  # self is never None; the debug build checks the rest
    def scatter(self, cnp.ndarray residuals, cnp.ndarray jacobians):
        """Hand the answers to the requests of the last gather() to the fits (residuals:
        (n_f, m), jacobians: (n_j, m, n), C-contiguous float64, already weighted; beyond
        least squares, base values and their Jacobians: the estimator is applied here,
        see lmfast/_estimator.pxd), step every fit, and return how many fits finished."""
        cdef const ProblemData *p = &self.problem.data
        cdef Py_ssize_t a, k, j, n = p.n, nf = p.n_free, m = p.m
        cdef Py_ssize_t n_f = 0, n_j = 0
        cdef Py_ssize_t pending = self.n_active, finished = 0
        cdef LMWork *ws
        cdef ParamMap pm
        cdef double *grad
        cdef double *steps
        cdef double *cache
        cdef const double *slot
        cdef const double *y
        cdef bint scaled = p.estimator.kind != ESTIMATOR_LEAST_SQUARES, lost = False
        cdef const double *res = <const double *>_answers(residuals, self.last_f * m,
                                                          "residuals")
        cdef const double *jac = <const double *>_answers(jacobians, self.last_j * m * n,
                                                          "jacobians")
        with nogil:
            # Fits are stepped in gather's order; _step refills active from the front.
            self.n_active = 0
            for a in range(pending):
                k = self.active[a]
                ws = self.works + k
                cache = cache_scratch(p, self.dwork + k * self.lwork)
                slot = NULL
                if scaled and self.requests[k] != LM_NEED_F:
                    slot = cache_at(cache, m, nf, ws.x)
                    lost = lost or slot == NULL
                if self.requests[k] == LM_NEED_F:
                    if scaled:
                        y = p.y + (self.first + k) * p.y_fit_stride if p.y != NULL else NULL
                        memcpy(cache_next(cache, m, nf), res + n_f * m, m * sizeof(double))
                        cache_fill(cache, m, nf, &p.estimator, ws.req_x, y, ws.req_f)
                    else:
                        memcpy(ws.req_f, res + n_f * m, m * sizeof(double))
                    n_f += 1
                elif self.requests[k] == LM_NEED_FD:
                    # the steps gather() took
                    steps = step_scratch(p, self.dwork + k * self.lwork)
                    for j in range(nf):
                        memcpy(ws.wa4, res + (n_f + j) * m, m * sizeof(double))
                        difference_column(ws, j, steps[j], ws.wa4, slot)
                    n_f += nf
                else:
                    if p.mapped:
                        fit_map(p, self.first + k, self.dwork + k * self.lwork, &pm)
                        grad = grad_scratch(p, self.dwork + k * self.lwork)
                        gradient(&pm, ws.x, grad)
                        chain_jacobian(&pm, grad, m, jac + n_j * m * n, n, 1, ws.fjac)
                    else:
                        memcpy(ws.fjac, jac + n_j * m * n, m * n * sizeof(double))
                    if slot != NULL:
                        scale_rows(m, nf, slot + m, ws.fjac)
                    n_j += 1
                finished += self._step(k)
        self.last_f = 0
        self.last_j = 0
        if lost:
            # The engine asks for a Jacobian only where it last evaluated (see
            # cache_at): this cannot happen.
            raise RuntimeError("internal: a fit's Jacobian was requested at a point "
                               "whose base values are not cached")
        return finished


cdef inline void _row(const ProblemData *p, const ParamMap *pm, const double *u,
                      double *row) noexcept nogil:
    """The parameters (n) the Python model gets for the engine's u."""
    if p.mapped:
        to_external(pm, u, row)
    elif p.n:
        memcpy(row, u, p.n * sizeof(double))


cdef const void *_answers(cnp.ndarray values, Py_ssize_t size, str name) except? NULL:
    """The data of scatter()'s residuals or Jacobians (NULL when none were asked for)."""
    if size == 0:
        return NULL
    if values is None:
        raise ValueError(f"internal: {name} missing")
    if cnp.PyArray_TYPE(values) != cnp.NPY_DOUBLE or not cnp.PyArray_IS_C_CONTIGUOUS(values):
        raise ValueError(f"internal: {name} must be a C-contiguous float64 array")
    if cnp.PyArray_SIZE(values) != size:
        raise ValueError(f"internal: {name} of the wrong size")
    return cnp.PyArray_DATA(values)
