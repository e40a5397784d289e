# Drivers of the LM engine for compiled models: one fit of a compiled model (used by the
# single-fit path too) and the state of a batch of fits.

from lmfast._engine cimport LMWork, LMRequest
from lmfast._models cimport ModelFuncs

ctypedef struct FitData:
    # One fit of a compiled model: residuals w * (model(x, p) - y), or without w.
    ModelFuncs model
    Py_ssize_t m, n
    const double *x        # model.x_dims rows of m values, row r at x + r * xstride
    Py_ssize_t xstride
    const double *y        # m observations
    const double *w        # m weights (1 / sigma), or NULL

# Answer the engine's requests with the compiled model until the fit is done (LM_DONE),
# or until *cancel becomes nonzero (cancel may be NULL): then the pending request.
cdef LMRequest run_model_fit(LMWork *ws, const FitData *d,
                             const Py_ssize_t *cancel) noexcept nogil
