# One fit of a problem on the LM engine, shared by the single-fit and batch drivers:
# start it from its p0, answer the engine's requests with the compiled model, and store
# its outcome (popt, pcov, chisq, ier, nfev, njev) in a batch's result arrays.

cimport numpy as cnp

from lmfast._engine cimport LMWork, LMRequest
from lmfast._models cimport ModelFuncs
from lmfast._problem cimport ProblemData
from lmfast._transform cimport ParamMap

cdef extern from "lmfast_atomic.h" nogil:
    Py_ssize_t lmfast_claim(Py_ssize_t *counter, Py_ssize_t count)
    Py_ssize_t lmfast_load(const Py_ssize_t *value)
    void lmfast_store(Py_ssize_t *value, Py_ssize_t v)

# Fit i of a problem with a compiled model: residuals w * (model(x, p) - y), or
# whiten @ (model(x, p) - y), or model(x, p) - y, at p = P(u) for the engine's u.
ctypedef struct FitData:
    ModelFuncs model
    Py_ssize_t m, n        # n: the model's parameters (the engine iterates pm.n_free)
    int mapped             # bounds or fixed parameters: p = P(u) (else p = u)
    ParamMap pm
    double *p              # scratch: n parameters
    double *jac            # scratch: the model's m-by-n Jacobian
    double *grad           # scratch: n dp/du
    int poisson            # residuals are Poisson deviance residuals (w, whiten NULL)
    double *f              # scratch: m model values (the Poisson Jacobian's row slopes)
    const double *x        # model.x_dims rows of m values, row r at x + r * xstride
    Py_ssize_t xstride
    const double *y        # m observations
    const double *w        # m weights (1 / sigma), or NULL
    const double *whiten   # m-by-m lower-triangular inv(L), row-major, or NULL

# Where a batch's results go: fit i at popt + i*n, pcov + i*n*n, chisq + i, ...
ctypedef struct FitOutputs:
    double *popt
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
cdef double *step_scratch(const ProblemData *p, double *fit_work) noexcept nogil

# Point ws into dwork/iwork and start fit i from its p0 (and diag): 0, or -1 when p0 is
# outside the fit's bounds (then ws.info is LM_INFO_P0_OUTSIDE: finish, do not run).
cdef int start_fit(const ProblemData *p, Py_ssize_t i, LMWork *ws, double *dwork,
                   int *iwork) noexcept nogil
cdef void fit_data(const ProblemData *p, Py_ssize_t i, double *fit_work,
                   FitData *d) noexcept nogil
# Answer the engine's requests with the compiled model until the fit is done (LM_DONE),
# or until *cancel becomes nonzero (cancel may be NULL): then the pending request.
cdef LMRequest run_model_fit(LMWork *ws, const FitData *d,
                             const Py_ssize_t *cancel) noexcept nogil
cdef void finish_fit(const ProblemData *p, Py_ssize_t i, const LMWork *ws,
                     const FitOutputs *out, double *fit_work) noexcept nogil
# The fit's parameters (n) from the engine's x, and its covariance cov_x (n by n, the
# free parameters' block mapped through the change of variables; 0 for fixed ones):
# returns 0, or -1 when R is singular (cov untouched).
cdef void fit_parameters(const ProblemData *p, Py_ssize_t i, const LMWork *ws,
                         double *popt) noexcept nogil
cdef int fit_covariance(const ProblemData *p, Py_ssize_t i, const LMWork *ws, double *cov,
                        double *fit_work) noexcept nogil
# Point out at the arrays of a lmfast.BatchResult (checked); returns what keeps them alive.
cdef object bind_outputs(FitOutputs *out, object result, const ProblemData *p)
