# Bounds and fixed parameters as a change of variables around the unchanged engine.
#
# The engine iterates on n_free internal variables u; the model sees the n external
# parameters p = P(u).  A fixed parameter keeps its value from p0 and has no internal
# variable; a free one maps through the transform MINUIT uses and lmfit documents
# ("Bounds Implementation"):
#   lower and upper:  p = lo + (sin(u) + 1) (hi - lo) / 2,   u = arcsin(2 (p - lo) / (hi - lo) - 1)
#   lower only:       p = lo - 1 + sqrt(u^2 + 1),             u = sqrt((p - lo + 1)^2 - 1)
#   upper only:       p = hi + 1 - sqrt(u^2 + 1),             u = sqrt((hi - p + 1)^2 - 1)
#   neither:          p = u  (bit for bit: an unbounded fit is the plain fit)

ctypedef struct ParamMap:
    Py_ssize_t n            # external parameters
    Py_ssize_t n_free       # internal variables (the engine's n)
    const Py_ssize_t *free  # free[a]: the external index of internal variable a
    const double *lower     # n lower bounds (-inf: none), or NULL: no bounds at all
    const double *upper     # n upper bounds (+inf: none), or NULL
    const double *values    # n values the fixed parameters keep (the fit's p0)
    # n_free kinds of transform (resolve_kinds), resolved once per fit; NULL: each call
    # resolves them from the bounds
    const signed char *kinds

# Each free parameter's kind of transform (which bounds, how wide) into kinds (n_free),
# for pm.kinds: a fit resolves them once, when it starts.
cdef void resolve_kinds(const ParamMap *pm, signed char *kinds) noexcept nogil
# u (n_free) from p (n); -1 when a free parameter lies outside its bounds (or is NaN
# where bounded), else 0.  A value exactly on a bound starts slightly inside it (where
# dp/du = 0 it could not move): 1e-10 * max(1, |bound|) between two bounds, 0.01
# against one (see _transform.pyx).
cdef int to_internal(const ParamMap *pm, const double *p, double *u) noexcept nogil
# p (n) from u (n_free).
cdef void to_external(const ParamMap *pm, const double *u, double *p) noexcept nogil
# dp_free[a] / du_a at u for every internal variable (n_free values into grad).
cdef void gradient(const ParamMap *pm, const double *u, double *grad) noexcept nogil
# The forward-difference step for internal variable a: MINPACK's h, unless its two
# bounds are very narrow and h moves p[free[a]] by less than 1e-6 of the step MINPACK
# would take in p itself; then the step in u that moves p by that much.  p and grad
# are P(u) and dp/du at the point.
cdef double fd_step(const ParamMap *pm, Py_ssize_t a, double h, const double *p,
                    const double *grad, double epsfcn) noexcept nogil
# The engine's m-by-n_free Jacobian (row-major) from the model's m-by-n one: column a is
# column free[a] times grad[a].  The model's Jacobian is read as jac[i*row + j*col].
cdef void chain_jacobian(const ParamMap *pm, const double *grad, Py_ssize_t m,
                         const double *jac, Py_ssize_t row, Py_ssize_t col,
                         double *out) noexcept nogil
# The n-by-n covariance of p from the n_free-by-n_free one of u (the delta method:
# cov_p[free a, free b] = cov_u[a, b] grad[a] grad[b]; rows and columns of fixed
# parameters are 0).
cdef void map_covariance(const ParamMap *pm, const double *grad, const double *cov_u,
                         double *cov_p) noexcept nogil
