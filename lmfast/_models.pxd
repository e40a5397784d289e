# Compiled models for batch fitting: plain C functions over raw pointers, no Python objects,
# callable with the GIL released.  lmfast.models (Python) wraps each one with its NumPy
# twin, its parameter names and its id.
#
# Layout shared by every model:
#   p       the n parameters, in the documented order;
#   x       the independent variable: x_dims rows of m points, row r at x + r * xstride
#           (1-D models read x[0..m-1]; 2-D models read x[i] and x[xstride + i]);
#   f       out: the m model values;
#   jac     out: the m-by-n Jacobian d f_i / d p_j, row-major, jac[i * n + j].

ctypedef void (*model_eval_t)(const double *p, Py_ssize_t n, const double *x,
                              Py_ssize_t xstride, Py_ssize_t m, double *f) noexcept nogil
ctypedef void (*model_jac_t)(const double *p, Py_ssize_t n, const double *x,
                             Py_ssize_t xstride, Py_ssize_t m, double *jac) noexcept nogil

cdef enum ModelId:
    MODEL_GAUSSIAN = 1
    MODEL_LORENTZIAN = 2
    MODEL_PSEUDO_VOIGT = 3
    MODEL_EXPONENTIAL = 4
    MODEL_GAUSSIAN_2D = 5
    MODEL_GAUSSIAN_2D_ELLIPTIC = 6
    MODEL_POLYNOMIAL = 7

ctypedef struct ModelFuncs:
    model_eval_t f
    model_jac_t jac
    Py_ssize_t n_params    # parameters; 0 when the caller chooses (polynomial: degree + 1)
    Py_ssize_t x_dims      # rows of x the model reads

# Fill out with the functions of model_id; returns 0, or -1 for an unknown id.
cdef int model_funcs(int model_id, ModelFuncs *out) noexcept nogil

# Fill out from a model's compiled spec (model_id, f_address, jac_address, x_dims), as
# lmfast.models.Model._compiled_spec holds it: model_id > 0 is a built-in model, 0 a
# user's C functions at the given addresses (jac_address 0: no Jacobian, out.jac NULL).
cdef int resolve_model(tuple spec, ModelFuncs *out) except -1
