"""Batch drivers: many independent fits on the one LM engine.

Two drivers share the per-fit bookkeeping (``_BatchSpec``: where fit i's data lives
and where its results go, and ``_finish_fit``):

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

cimport numpy as cnp
from libc.math cimport NAN, INFINITY, isnan
from libc.string cimport memcpy

from lmfast._engine cimport (
    LMWork, LMRequest, LM_DONE, LM_NEED_F, LM_NEED_J, LM_NEED_FD,
    lm_work_doubles, lm_init, lm_step, lm_fd_step, lm_fd_column, lm_covariance,
)
from lmfast._models cimport ModelFuncs, resolve_model

cnp.import_array()

cdef extern from "lmfast_blas.h" nogil:
    double ddot "LMFAST_BLAS(ddot)"(const int *n, const double *x, const int *incx,
                                    const double *y, const int *incy)
    void openblas_set_num_threads "LMFAST_OPENBLAS(openblas_set_num_threads)"(int n)
    int openblas_get_num_threads "LMFAST_OPENBLAS(openblas_get_num_threads)"()


def set_blas_threads(int count):
    """Set OpenBLAS's thread count; return the previous one."""
    cdef int previous = openblas_get_num_threads()
    openblas_set_num_threads(count)
    return previous

cdef extern from *:
    """
    static inline Py_ssize_t lmfast_claim(Py_ssize_t *counter, Py_ssize_t count) {
        return __atomic_fetch_add(counter, count, __ATOMIC_RELAXED);
    }
    static inline Py_ssize_t lmfast_load(const Py_ssize_t *value) {
        return __atomic_load_n(value, __ATOMIC_RELAXED);
    }
    static inline void lmfast_store(Py_ssize_t *value, Py_ssize_t v) {
        __atomic_store_n(value, v, __ATOMIC_RELAXED);
    }
    """
    Py_ssize_t lmfast_claim(Py_ssize_t *counter, Py_ssize_t count) noexcept nogil
    Py_ssize_t lmfast_load(const Py_ssize_t *value) noexcept nogil
    void lmfast_store(Py_ssize_t *value, Py_ssize_t v) noexcept nogil


# ---------------------------------------------------------------------------------------
# One fit of a compiled model
# ---------------------------------------------------------------------------------------

cdef inline void _residuals(const FitData *d, const double *p, double *out) noexcept nogil:
    """out = w * (model(x, p) - y): curve_fit's residual, in its order of operations."""
    cdef Py_ssize_t i
    d.model.f(p, d.n, d.x, d.xstride, d.m, out)
    if d.w != NULL:
        for i in range(d.m):
            out[i] = d.w[i] * (out[i] - d.y[i])
    else:
        for i in range(d.m):
            out[i] = out[i] - d.y[i]


cdef inline void _jacobian(const FitData *d, const double *p, double *jac) noexcept nogil:
    """jac = the model's Jacobian with row i scaled by w[i]."""
    cdef Py_ssize_t i, j, n = d.n
    d.model.jac(p, n, d.x, d.xstride, d.m, jac)
    if d.w != NULL:
        for i in range(d.m):
            for j in range(n):
                jac[i * n + j] = d.w[i] * jac[i * n + j]


cdef LMRequest run_model_fit(LMWork *ws, const FitData *d,
                             const Py_ssize_t *cancel) noexcept nogil:
    cdef LMRequest request = lm_step(ws)
    cdef Py_ssize_t j
    cdef double h, xj
    while request != LM_DONE:
        if cancel != NULL and lmfast_load(cancel):
            return request
        if request == LM_NEED_F:
            _residuals(d, ws.req_x, ws.req_f)
        elif request == LM_NEED_J:
            _jacobian(d, ws.x, ws.fjac)
        else:
            for j in range(ws.n):
                h = lm_fd_step(ws, j)
                xj = ws.x[j]
                ws.x[j] = xj + h
                _residuals(d, ws.x, ws.wa4)
                ws.x[j] = xj
                lm_fd_column(ws, j, h, ws.wa4)
        request = lm_step(ws)
    return request


# ---------------------------------------------------------------------------------------
# Batch bookkeeping shared by both drivers
# ---------------------------------------------------------------------------------------

ctypedef struct _BatchSpec:
    Py_ssize_t n_fits, m, n
    # Inputs: fit i reads x + i*x_fit_stride (rows xstride apart), y + i*m,
    # w + i*w_fit_stride (w may be NULL), p0 + i*p0_fit_stride.
    const double *x
    Py_ssize_t x_fit_stride, xstride
    const double *y
    const double *w
    Py_ssize_t w_fit_stride
    const double *p0
    Py_ssize_t p0_fit_stride
    # Settings.
    double ftol, xtol, gtol, epsfcn, factor
    long maxfev
    int use_fd, absolute_sigma
    # Outputs, fit i at popt + i*n, pcov + i*n*n, ...
    double *popt
    double *pcov
    double *chisq
    int *ier
    cnp.int64_t *nfev
    cnp.int64_t *njev


cdef inline double *_as_doubles(cnp.ndarray a):
    return <double *>cnp.PyArray_DATA(a) if a is not None else NULL


cdef object _check_array(cnp.ndarray a, int typenum, str name, bint output=False):
    if a is None:
        return None
    if cnp.PyArray_TYPE(a) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"internal: {name} must be a C-contiguous array of type {typenum}")
    if output and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"internal: {name} must be writeable")
    return a


cdef object _fill_spec(_BatchSpec *s, tuple inputs, tuple outputs, tuple strides,
                       tuple settings):
    """Point s at the arrays (already validated by lmfast._batch) and copy the settings."""
    cdef cnp.ndarray x, y, w, p0, popt, pcov, chisq, ier, nfev, njev
    x, y, w, p0 = inputs
    popt, pcov, chisq, ier, nfev, njev = outputs
    for arr, name in ((x, "x"), (y, "y"), (w, "w"), (p0, "p0")):
        _check_array(arr, cnp.NPY_DOUBLE, name)
    for arr, name in ((popt, "popt"), (pcov, "pcov"), (chisq, "chisq")):
        _check_array(arr, cnp.NPY_DOUBLE, name, True)
    _check_array(ier, cnp.NPY_INT32, "ier", True)
    _check_array(nfev, cnp.NPY_INT64, "nfev", True)
    _check_array(njev, cnp.NPY_INT64, "njev", True)
    s.n_fits, s.m, s.n, s.x_fit_stride, s.xstride, s.w_fit_stride, s.p0_fit_stride = strides
    s.ftol, s.xtol, s.gtol, s.maxfev, s.epsfcn, s.factor, s.use_fd, s.absolute_sigma = settings
    s.x = _as_doubles(x)
    s.y = _as_doubles(y)
    s.w = _as_doubles(w)
    s.p0 = _as_doubles(p0)
    s.popt = _as_doubles(popt)
    s.pcov = _as_doubles(pcov)
    s.chisq = _as_doubles(chisq)
    s.ier = <int *>cnp.PyArray_DATA(ier)
    s.nfev = <cnp.int64_t *>cnp.PyArray_DATA(nfev)
    s.njev = <cnp.int64_t *>cnp.PyArray_DATA(njev)
    return inputs + outputs


cdef inline void _start_fit(const _BatchSpec *s, Py_ssize_t i, LMWork *ws, double *dwork,
                            int *iwork) noexcept nogil:
    lm_init(ws, s.m, s.n, dwork, iwork, s.ftol, s.xtol, s.gtol, s.maxfev, s.epsfcn,
            s.factor, 1, s.use_fd)
    memcpy(ws.x, s.p0 + i * s.p0_fit_stride, s.n * sizeof(double))


cdef inline void _fit_data(const _BatchSpec *s, Py_ssize_t i, FitData *d) noexcept nogil:
    d.m = s.m
    d.n = s.n
    d.x = s.x + i * s.x_fit_stride
    d.xstride = s.xstride
    d.y = s.y + i * s.m
    d.w = s.w + i * s.w_fit_stride if s.w != NULL else NULL


cdef void _finish_fit(const _BatchSpec *s, Py_ssize_t i, const LMWork *ws,
                      double *scratch) noexcept nogil:
    """Store fit i's outcome: popt, chisq and pcov as curve_fit forms them.

    Converged (info 1-4): pcov = cov_x scaled by chisq / (m - n) unless absolute_sigma,
    inf where curve_fit gives inf (R singular, NaN in cov_x, m <= n).  Stopped (5-8): the
    last iterate, pcov NaN.  No answer (0 or negative): NaN throughout.
    """
    cdef Py_ssize_t j, k, n = s.n, nn = s.n * s.n
    cdef double *popt = s.popt + i * n
    cdef double *pcov = s.pcov + i * nn
    cdef double chisq = 0.0, scale, fill = NAN
    cdef int info = ws.info, one = 1, m_int = <int>s.m
    s.ier[i] = info
    s.nfev[i] = ws.nfev
    s.njev[i] = ws.njev
    if info <= 0:
        for j in range(n):
            popt[j] = NAN
        s.chisq[i] = NAN
    else:
        memcpy(popt, ws.x, n * sizeof(double))
        # BLAS, as curve_fit sums fvec.dot(fvec): the same rounding, so the same pcov.
        chisq = ddot(&m_int, ws.fvec, &one, ws.fvec, &one)
        s.chisq[i] = chisq
    if 1 <= info <= 4:
        fill = INFINITY
        if lm_covariance(ws, pcov, scratch) == 0:
            scale = 1.0
            if not s.absolute_sigma:
                scale = chisq / <double>(s.m - n) if s.m > n else NAN
            fill = 0.0
            for j in range(nn):
                fill = fill + pcov[j] * pcov[j]
            if isnan(fill) or isnan(scale):
                fill = INFINITY
            else:
                if scale != 1.0:
                    for j in range(nn):
                        pcov[j] = pcov[j] * scale
                return
    for j in range(nn):
        pcov[j] = fill


cdef Py_ssize_t _work_doubles(Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    """Doubles of one fit's workspace (engine + covariance scratch), padded to 64 bytes."""
    cdef Py_ssize_t size = lm_work_doubles(m, n) + n * n
    return (size + 7) // 8 * 8


cdef inline double *_cov_scratch(const _BatchSpec *s, double *fit_work) noexcept nogil:
    """The n*n covariance scratch behind a fit's engine workspace (see _work_doubles)."""
    return fit_work + lm_work_doubles(s.m, s.n)


# ---------------------------------------------------------------------------------------
# Compiled model: workers over blocks of fits
# ---------------------------------------------------------------------------------------

cdef class CompiledBatch:
    """A batch of fits of one compiled model, worked through by one or more threads.

    Parameters
    ----------
    model : tuple
        The model's compiled spec (lmfast.models.Model._compiled_spec).
    inputs : tuple
        (x, y, w, p0) as C-contiguous float64 arrays (w may be None).
    outputs : tuple
        (popt, pcov, chisq, ier, nfev, njev) arrays to fill.
    strides : tuple
        (n_fits, m, n, x_fit_stride, xstride, w_fit_stride, p0_fit_stride).
    settings : tuple
        (ftol, xtol, gtol, maxfev, epsfcn, factor, use_fd, absolute_sigma).
    workers : int
        Number of threads that will call :meth:`work` (each with its own slot).
    block : int
        Fits claimed at a time.
    """
    cdef _BatchSpec spec
    cdef ModelFuncs model
    cdef object arrays
    cdef cnp.ndarray dwork
    cdef cnp.ndarray iwork
    cdef Py_ssize_t lwork, block, next_fit, n_done, cancelled
    cdef int workers

    def __init__(self, tuple model, tuple inputs, tuple outputs, tuple strides,
                 tuple settings, int workers, Py_ssize_t block):
        resolve_model(model, &self.model)
        self.arrays = _fill_spec(&self.spec, inputs, outputs, strides, settings)
        if self.model.jac == NULL and not self.spec.use_fd:
            raise ValueError("this compiled model has no Jacobian: use forward differences")
        if workers < 1 or block < 1:
            raise ValueError("internal: workers and block must be positive")
        self.workers = workers
        self.block = block
        self.lwork = _work_doubles(self.spec.m, self.spec.n)
        self.dwork = np.zeros((workers, self.lwork), dtype=np.float64)
        self.iwork = np.zeros((workers, max(self.spec.n, 1)), dtype=np.int32)
        self.next_fit = 0
        self.n_done = 0
        self.cancelled = 0

    @property
    def done(self):
        """Number of fits finished so far."""
        return lmfast_load(&self.n_done)

    def cancel(self):
        """Make every worker stop after the fit it is running."""
        lmfast_store(&self.cancelled, 1)

    def work(self, int slot):
        """Run fits, a block at a time, until none is left or cancel() is called (which
        also stops the fit in progress at its next request).  Releases the GIL."""
        if not 0 <= slot < self.workers:
            raise ValueError(f"internal: slot {slot} out of range")
        cdef LMWork ws
        cdef FitData d
        cdef Py_ssize_t start, stop, i, finished
        cdef double *dwork = <double *>cnp.PyArray_DATA(self.dwork) + slot * self.lwork
        cdef int *iwork = <int *>cnp.PyArray_DATA(self.iwork) + slot * self.iwork.shape[1]
        cdef const _BatchSpec *s = &self.spec
        cdef double *scratch = _cov_scratch(s, dwork)
        d.model = self.model
        with nogil:
            while not lmfast_load(&self.cancelled):
                start = lmfast_claim(&self.next_fit, self.block)
                if start >= s.n_fits:
                    break
                stop = start + self.block if start + self.block < s.n_fits else s.n_fits
                finished = 0
                for i in range(start, stop):
                    if lmfast_load(&self.cancelled):
                        break
                    _start_fit(s, i, &ws, dwork, iwork)
                    _fit_data(s, i, &d)
                    if run_model_fit(&ws, &d, &self.cancelled) != LM_DONE:
                        break
                    _finish_fit(s, i, &ws, scratch)
                    finished += 1
                lmfast_claim(&self.n_done, finished)


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
    inputs, outputs, strides, settings
        As for :class:`CompiledBatch` (x is not read here: the caller passes it to the
        model).
    group : int
        Largest number of fits in one group.
    """
    cdef _BatchSpec spec
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

    def __init__(self, tuple inputs, tuple outputs, tuple strides, tuple settings,
                 Py_ssize_t group):
        self.arrays = _fill_spec(&self.spec, inputs, outputs, strides, settings)
        cdef Py_ssize_t n = self.spec.n, rows = max(group, 1) * max(n, 1)
        self.group = max(group, 1)
        self.lwork = _work_doubles(self.spec.m, n)
        dwork = np.zeros((self.group, self.lwork), dtype=np.float64)
        iwork = np.zeros((self.group, max(n, 1)), dtype=np.int32)
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

    cdef Py_ssize_t _step(self, Py_ssize_t k) noexcept nogil:
        """Advance fit k to its next request; finish it (1) or keep it pending (0)."""
        cdef LMWork *ws = self.works + k
        self.requests[k] = lm_step(ws)
        if self.requests[k] == LM_DONE:
            _finish_fit(&self.spec, self.first + k, ws,
                        _cov_scratch(&self.spec, self.dwork + k * self.lwork))
            return 1
        self.active[self.n_active] = k
        self.n_active += 1
        return 0

    def start(self, Py_ssize_t first, Py_ssize_t count):
        """Start fits first .. first+count-1 (count <= group) and take their first
        requests; return how many finished at once (improper input)."""
        cdef Py_ssize_t k, finished = 0
        if count > self.group or first < 0 or first + count > self.spec.n_fits:
            raise ValueError("internal: group out of range")
        self.first = first
        self.n_active = 0
        for k in range(count):
            _start_fit(&self.spec, first + k, self.works + k, self.dwork + k * self.lwork,
                       self.iwork + k * max(self.spec.n, 1))
            finished += self._step(k)
        return finished

    def gather(self):
        """Fill rows_f/fit_f (points needing residuals) and rows_j/fit_j (points needing
        the Jacobian) for every pending fit; return their counts (n_f, n_j)."""
        cdef Py_ssize_t a, k, j, r, n = self.spec.n, n_f = 0, n_j = 0
        cdef LMWork *ws
        cdef double *rows_f = <double *>cnp.PyArray_DATA(self.rows_f)
        cdef double *rows_j = <double *>cnp.PyArray_DATA(self.rows_j)
        cdef Py_ssize_t *fit_f = <Py_ssize_t *>cnp.PyArray_DATA(self.fit_f)
        cdef Py_ssize_t *fit_j = <Py_ssize_t *>cnp.PyArray_DATA(self.fit_j)
        with nogil:
            for a in range(self.n_active):
                k = self.active[a]
                ws = self.works + k
                if self.requests[k] == LM_NEED_F:
                    memcpy(rows_f + n_f * n, ws.req_x, n * sizeof(double))
                    fit_f[n_f] = self.first + k
                    n_f += 1
                elif self.requests[k] == LM_NEED_FD:
                    for j in range(n):
                        r = n_f + j
                        memcpy(rows_f + r * n, ws.x, n * sizeof(double))
                        rows_f[r * n + j] = ws.x[j] + lm_fd_step(ws, j)
                        fit_f[r] = self.first + k
                    n_f += n
                else:
                    memcpy(rows_j + n_j * n, ws.x, n * sizeof(double))
                    fit_j[n_j] = self.first + k
                    n_j += 1
        self.last_f = n_f
        self.last_j = n_j
        return n_f, n_j

    def scatter(self, cnp.ndarray residuals, cnp.ndarray jacobians):
        """Hand the answers to the requests of the last gather() to the fits (residuals:
        (n_f, m), jacobians: (n_j, m, n), C-contiguous float64, already weighted), step
        every fit, and return how many fits finished."""
        cdef Py_ssize_t a, k, j, n = self.spec.n, m = self.spec.m, n_f = 0, n_j = 0
        cdef Py_ssize_t pending = self.n_active, finished = 0
        cdef LMWork *ws
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
                if self.requests[k] == LM_NEED_F:
                    memcpy(ws.req_f, res + n_f * m, m * sizeof(double))
                    n_f += 1
                elif self.requests[k] == LM_NEED_FD:
                    for j in range(n):
                        lm_fd_column(ws, j, lm_fd_step(ws, j), res + (n_f + j) * m)
                    n_f += n
                else:
                    memcpy(ws.fjac, jac + n_j * m * n, m * n * sizeof(double))
                    n_j += 1
                finished += self._step(k)
        self.last_f = 0
        self.last_j = 0
        return finished


cdef const void *_answers(cnp.ndarray values, Py_ssize_t size, str name) except? NULL:
    """The data of scatter()'s residuals or Jacobians (NULL when none were asked for)."""
    if size == 0:
        return NULL
    if values is None:
        raise ValueError(f"internal: {name} missing")
    _check_array(values, cnp.NPY_DOUBLE, name)
    if cnp.PyArray_SIZE(values) != size:
        raise ValueError(f"internal: {name} of the wrong size")
    return cnp.PyArray_DATA(values)
