# One fit of a problem on the LM engine, shared by the single-fit and batch drivers:
# start it from its p0, answer the engine's requests with the compiled model, and store
# its outcome (popt, pcov, chisq, ier, nfev, njev) in a batch's result arrays.

cimport numpy as cnp

from lmfast._engine cimport LMWork, LMRequest
from lmfast._estimator cimport Estimator
from lmfast._models cimport ModelFuncs
from lmfast._problem cimport ProblemData
from lmfast._transform cimport ParamMap

cdef extern from "lmfast_atomic.h" nogil:
    Py_ssize_t atomic_fetch_add(Py_ssize_t *counter, Py_ssize_t count)
    Py_ssize_t atomic_load(const Py_ssize_t *value)
    void atomic_store(Py_ssize_t *value, Py_ssize_t v)

# Fit i of a problem with a compiled model: residuals w * (model(x, p) - y), or
# whiten @ (model(x, p) - y), or model(x, p) - y, at p = P(u) for the engine's u.
ctypedef struct CompiledFit:
    ModelFuncs model
    Py_ssize_t m, n        # n: the model's parameters (the engine iterates pm.n_free)
    int mapped             # bounds or fixed parameters: p = P(u) (else p = u)
    ParamMap pm
    double *p              # scratch: n parameters
    double *jac            # scratch: the model's m-by-n Jacobian
    double *grad           # scratch: n dp/du
    Estimator est          # what the residuals are (lmfast/_estimator.pxd)
    double *cache          # beyond least squares, the base values (see _estimator.pxd)
    double *fh             # scratch: m model values at a stepped point
    # With a joint model (model.fj, analytic Jacobian): the model's Jacobian (m-by-n) at
    # the last point evaluated, and that point u (n_free values, then 1.0 while valid).
    double *pending
    double *pending_u
    double *steps          # scratch: the n_free forward-difference steps
    const double *xdata    # model.x_dims rows of m values, row r at xdata + r * xdata_stride
    Py_ssize_t xdata_stride
    const double *y        # m observations
    const double *w        # m weights (1 / sigma), or NULL
    const double *whiten   # m-by-m lower-triangular inv(L), row-major, or NULL

# Where a batch's results go: fit i at popt + i*n, pcov + i*n*n, chisq + i, ...
ctypedef struct FitOutputs:
    double *popt
    cnp.npy_bool *at_bound
    double *pcov
    double *chisq
    int *ier
    cnp.int64_t *nfev
    cnp.int64_t *njev

# Doubles of one fit's workspace, padded to 64 bytes: the engine's, then scratch for the
# covariance and the change of variables, then (with_model) the model's p and Jacobian.
cdef Py_ssize_t fit_work_doubles(const ProblemData *p, bint with_model) noexcept nogil
# n_free doubles of scratch each in a fit's workspace, free while the fit iterates.
cdef double *grad_scratch(const ProblemData *p, double *fit_work) noexcept nogil
# Fit i's change of variables with its kinds, resolved by start_fit in fit_work.
cdef void fit_map(const ProblemData *p, Py_ssize_t i, double *fit_work,
                  ParamMap *pm) noexcept nogil
# The one forward-difference path of every driver: the steps of all n_free columns at
# ws.x (MINPACK's h, with fd_step's guard when mapped; p and grad: scratch, left as
# P(x) and dp/du), then each column handed to the engine from the values at the stepped
# point (beyond least squares base values, scaled through the cache slot at x).
cdef void difference_steps(LMWork *ws, const ParamMap *pm, bint mapped, double *p,
                           double *grad, double *steps) noexcept nogil
cdef void difference_column(LMWork *ws, Py_ssize_t j, double h, double *column,
                            const double *slot) noexcept nogil
# The fit's base-value cache (lmfast/_estimator.pxd), reset by start_fit.
cdef double *cache_scratch(const ProblemData *p, double *fit_work) noexcept nogil
cdef double *step_scratch(const ProblemData *p, double *fit_work) noexcept nogil

# Point ws into dwork/iwork and start fit i from its p0 (and diag): 0, or -1 when the fit
# is not to run: its status says so, or p0 is outside its bounds (then ws.info is the
# status, or LM_INFO_P0_OUTSIDE: finish, do not run).
cdef int start_fit(const ProblemData *p, Py_ssize_t i, LMWork *ws, double *dwork,
                   int *iwork) noexcept nogil
cdef void bind_compiled_fit(const ProblemData *p, Py_ssize_t i, double *fit_work,
                   CompiledFit *d) noexcept nogil
# Answer the engine's requests with the compiled model until the fit is done (LM_DONE),
# or until *cancel becomes nonzero (cancel may be NULL): then the pending request.
cdef LMRequest run_model_fit(LMWork *ws, const CompiledFit *d,
                             const Py_ssize_t *cancel) noexcept nogil
# d: the fit's CompiledFit with a compiled model, or NULL (a Python model: a fit that needs
# fresh_covariance gets NaN there, for the caller to fill).
cdef void finish_fit(const ProblemData *p, Py_ssize_t i, LMWork *ws, const CompiledFit *d,
                     const FitOutputs *out, double *fit_work) noexcept nogil
# The fit's parameters (n) from the engine's x, and its covariance cov_x (n by n, the
# free parameters' block mapped through the change of variables; 0 for fixed ones):
# returns 0, or -1 when R is singular (cov untouched).
cdef void fit_parameters(const ProblemData *p, Py_ssize_t i, const LMWork *ws,
                         double *popt, double *fit_work) noexcept nogil
cdef int fit_covariance(const ProblemData *p, Py_ssize_t i, const LMWork *ws, double *cov,
                        double *fit_work) noexcept nogil
# Which parameters of fit i ended on a bound (n flags from popt); returns how many.
cdef Py_ssize_t bound_flags(const ProblemData *p, Py_ssize_t i, const double *popt,
                            cnp.npy_bool *flags) noexcept nogil
# Whether fit i's covariance is taken from a fresh Jacobian at popt (its estimator is not
# least squares, or a parameter ended on a bound) rather than from the engine's R.
cdef bint fresh_covariance(const ProblemData *p, Py_ssize_t n_at_bound) noexcept nogil
# That covariance with a compiled model: rows of the Jacobian in the n parameters at popt
# weighted as the estimator says, its free block inverted (lmfast/_estimator.pxd);
# 0, or -1 when singular.  Uses ws's scratch (wa1..wa4), not its R.
cdef int model_covariance(const ProblemData *p, LMWork *ws, const CompiledFit *d,
                          const double *popt, double *cov, double *fit_work) noexcept nogil
# The covariance of a Jacobian's m-by-nf rows a (row-major, overwritten): (A^T A)^-1 in
# cov (nf*nf); scratch 4 nf doubles, tri nf^2; 0, or -1 when singular.
cdef int rows_covariance(Py_ssize_t m, Py_ssize_t nf, double *a, double *cov,
                         double *scratch, double *tri) noexcept nogil
# Point out at the arrays of a lmfast.BatchResult (checked); returns what keeps them alive.
cdef object bind_outputs(FitOutputs *out, object result, const ProblemData *p)
