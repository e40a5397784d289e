# Compiled models: plain C functions over raw pointers, no Python objects, callable with
# the GIL released, and the registry of every compiled model lmfast ships (the built-in
# models of _models.pyx and the lineshapes of _lineshapes.pyx), by id and by name.
# lmfast.models and lmfast.lineshapes (Python) wrap each entry with its NumPy twin, its
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

# Value and Jacobian together (f: m values, jac: m-by-n row-major), for models whose
# Jacobian reuses the work of their value (one exp pass instead of two): the fits ask for
# both at every point they try, and use the Jacobian when the step is taken.
ctypedef void (*model_fj_t)(const double *p, Py_ssize_t n, const double *x,
                            Py_ssize_t xstride, Py_ssize_t m, double *f, double *jac,
                            void *ctx) noexcept nogil

# Registry ids; the registry names are the lower-case names after MODEL_, with
# "lineshapes." for LINESHAPES_ (MODEL_LINESHAPES_VOIGT is "lineshapes.voigt").
cdef enum ModelId:
    # built-in models (lmfast.models)
    MODEL_GAUSSIAN = 1
    MODEL_LORENTZIAN = 2
    MODEL_PSEUDO_VOIGT = 3
    MODEL_EXPONENTIAL = 4
    MODEL_GAUSSIAN_2D = 5
    MODEL_GAUSSIAN_2D_ELLIPTIC = 6
    MODEL_POLYNOMIAL = 7
    # lineshapes (lmfast.lineshapes, kernels in _lineshapes.pyx)
    MODEL_LINESHAPES_GAUSSIAN = 8
    MODEL_LINESHAPES_LORENTZIAN = 9
    MODEL_LINESHAPES_PSEUDO_VOIGT = 10
    MODEL_LINESHAPES_VOIGT = 11
    MODEL_LINESHAPES_PEARSON7 = 12
    MODEL_LINESHAPES_DONIACH = 13
    MODEL_LINESHAPES_EXPONENTIAL_GAUSSIAN = 14
    MODEL_LINESHAPES_CONSTANT = 15
    MODEL_LINESHAPES_LINEAR = 16
    MODEL_LINESHAPES_EXPONENTIAL = 17
    MODEL_LINESHAPES_SKEWED_GAUSSIAN = 18
    MODEL_LINESHAPES_STEP_ERF = 19
    MODEL_LINESHAPES_STEP_ATAN = 20
    MODEL_LINESHAPES_STEP_LOGISTIC = 21
    MODEL_LINESHAPES_RECTANGLE_ERF = 22
    MODEL_LINESHAPES_RECTANGLE_ATAN = 23
    MODEL_LINESHAPES_RECTANGLE_LOGISTIC = 24

cdef enum:
    REGISTRY_SIZE = 25     # ids 1 .. REGISTRY_SIZE - 1; 0 is no registry entry

ctypedef struct ModelFuncs:
    model_eval_t f
    model_eval_t jac       # NULL: no analytic Jacobian (forward differences)
    model_fj_t fj          # NULL: no joint evaluation (then f and jac apart)
    void *ctx              # passed to f and jac
    Py_ssize_t n_params    # parameters; 0 when the caller chooses (polynomial: degree + 1)
    Py_ssize_t x_dims      # rows of x the model reads

# Fill out with the registry entry model_id; returns 0, or -1 for an unknown id.
cdef int model_funcs(int model_id, ModelFuncs *out) noexcept nogil


cdef class CompiledModel:
    """The C side of a lmfast.models.Model: its functions, user data and sizes."""
    cdef ModelFuncs funcs
    cdef readonly int model_id   # registry id; 0 for a user's functions or a composite
    cdef readonly str name       # registry name; None for a user's functions or a composite
    cdef object owners     # the Python objects behind the addresses in funcs, kept alive
