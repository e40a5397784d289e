# Compiled models: plain C functions over raw pointers, no Python objects, callable with
# the GIL released.  lmfast.models (Python) wraps each one with its NumPy twin, its
# parameter names and a CompiledModel.
#
# Layout shared by every model function:
#   p       the n parameters, in the documented order;
#   x       the independent variable: x_dims rows of m points, row r at x + r * xstride
#           (1-D models read x[0..m-1]; 2-D models read x[i] and x[xstride + i]);
#   out     the m model values (f), or the m-by-n Jacobian d f_i / d p_j, row-major,
#           out[i * n + j] (jac);
#   ctx     the model's user data (NULL unless the model was given one): composite models
#           carry their component table here, a user's cfunc its constants.

ctypedef void (*model_eval_t)(const double *p, Py_ssize_t n, const double *x,
                              Py_ssize_t xstride, Py_ssize_t m, double *out,
                              void *ctx) noexcept nogil

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
    model_eval_t jac       # NULL: no analytic Jacobian (forward differences)
    void *ctx              # passed to f and jac
    Py_ssize_t n_params    # parameters; 0 when the caller chooses (polynomial: degree + 1)
    Py_ssize_t x_dims      # rows of x the model reads

# Fill out with the functions of a built-in model; returns 0, or -1 for an unknown id.
cdef int model_funcs(int model_id, ModelFuncs *out) noexcept nogil


cdef class CompiledModel:
    """The C side of a lmfast.models.Model: its functions, user data and sizes."""
    cdef ModelFuncs funcs
    cdef readonly int model_id
    cdef object owners     # the Python objects behind the addresses in funcs, kept alive
