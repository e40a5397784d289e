# Compiled lineshapes with lmfit's parameters and normalisations (lmfit.lineshapes), as
# plain C model functions with the signature of model_eval_t (lmfast/_models.pxd):
#   f(p, n, x, xstride, m, out, ctx)   out[i] = f(x_i; p)
#   jac(p, n, x, xstride, m, out, ctx) out[i * n + j] = d f(x_i; p) / d p_j  (row-major)
#   fj(p, n, x, xstride, m, f, jac, ctx) both at once (gaussian, pseudo_voigt: model_fj_t)
# None of them reads ctx; each reads x[0..m-1] only (x_dims = 1).
#
# Parameter order (p[0], p[1], ...), as lmfit names them:
#   gaussian, lorentzian              amplitude, center, sigma
#   pseudo_voigt                      amplitude, center, sigma, fraction
#   voigt, doniach,
#   exponential_gaussian              amplitude, center, sigma, gamma
#   pearson7                          amplitude, center, sigma, expon
#   constant                          c
#   linear                            slope, intercept
#   exponential                       amplitude, decay
#   skewed_gaussian                   amplitude, center, sigma, gamma
#   step_erf, step_atan, step_logistic
#                                     amplitude, center, sigma
#   rectangle_erf, rectangle_atan, rectangle_logistic
#                                     amplitude, center1, sigma1, center2, sigma2

cdef void gaussian_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void gaussian_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void gaussian_fj(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                      Py_ssize_t m, double *f, double *jac, void *ctx) noexcept nogil
cdef void lorentzian_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void lorentzian_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                         Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void pseudo_voigt_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                         Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void pseudo_voigt_jac(const double *p, Py_ssize_t n, const double *x,
                           Py_ssize_t xstride, Py_ssize_t m, double *out,
                           void *ctx) noexcept nogil
cdef void pseudo_voigt_fj(const double *p, Py_ssize_t n, const double *x,
                          Py_ssize_t xstride, Py_ssize_t m, double *f, double *jac,
                          void *ctx) noexcept nogil
cdef void voigt_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                  Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void voigt_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                    Py_ssize_t m, double *out, void *ctx) noexcept nogil
# value and Jacobian from one evaluation of w and w' (model_fj_t of lmfast/_models.pxd)
cdef void voigt_fj(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                   Py_ssize_t m, double *f, double *jac, void *ctx) noexcept nogil
cdef void pearson7_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void pearson7_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void doniach_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                    Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void doniach_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                      Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void exponential_gaussian_f(const double *p, Py_ssize_t n, const double *x,
                                 Py_ssize_t xstride, Py_ssize_t m, double *out,
                                 void *ctx) noexcept nogil
cdef void exponential_gaussian_jac(const double *p, Py_ssize_t n, const double *x,
                                   Py_ssize_t xstride, Py_ssize_t m, double *out,
                                   void *ctx) noexcept nogil
cdef void constant_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void constant_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                       Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void linear_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                   Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void linear_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                     Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void exponential_f(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                        Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void exponential_jac(const double *p, Py_ssize_t n, const double *x, Py_ssize_t xstride,
                          Py_ssize_t m, double *out, void *ctx) noexcept nogil
cdef void skewed_gaussian_f(const double *p, Py_ssize_t n, const double *x,
                            Py_ssize_t xstride, Py_ssize_t m, double *out,
                            void *ctx) noexcept nogil
cdef void skewed_gaussian_jac(const double *p, Py_ssize_t n, const double *x,
                              Py_ssize_t xstride, Py_ssize_t m, double *out,
                              void *ctx) noexcept nogil
cdef void skewed_gaussian_fj(const double *p, Py_ssize_t n, const double *x,
                             Py_ssize_t xstride, Py_ssize_t m, double *f, double *jac,
                             void *ctx) noexcept nogil
cdef void step_erf_f(const double *p, Py_ssize_t n, const double *x,
                     Py_ssize_t xstride, Py_ssize_t m, double *out,
                     void *ctx) noexcept nogil
cdef void step_erf_jac(const double *p, Py_ssize_t n, const double *x,
                       Py_ssize_t xstride, Py_ssize_t m, double *out,
                       void *ctx) noexcept nogil
cdef void step_atan_f(const double *p, Py_ssize_t n, const double *x,
                      Py_ssize_t xstride, Py_ssize_t m, double *out,
                      void *ctx) noexcept nogil
cdef void step_atan_jac(const double *p, Py_ssize_t n, const double *x,
                        Py_ssize_t xstride, Py_ssize_t m, double *out,
                        void *ctx) noexcept nogil
cdef void step_logistic_f(const double *p, Py_ssize_t n, const double *x,
                          Py_ssize_t xstride, Py_ssize_t m, double *out,
                          void *ctx) noexcept nogil
cdef void step_logistic_jac(const double *p, Py_ssize_t n, const double *x,
                            Py_ssize_t xstride, Py_ssize_t m, double *out,
                            void *ctx) noexcept nogil
cdef void rectangle_erf_f(const double *p, Py_ssize_t n, const double *x,
                          Py_ssize_t xstride, Py_ssize_t m, double *out,
                          void *ctx) noexcept nogil
cdef void rectangle_erf_jac(const double *p, Py_ssize_t n, const double *x,
                            Py_ssize_t xstride, Py_ssize_t m, double *out,
                            void *ctx) noexcept nogil
cdef void rectangle_atan_f(const double *p, Py_ssize_t n, const double *x,
                           Py_ssize_t xstride, Py_ssize_t m, double *out,
                           void *ctx) noexcept nogil
cdef void rectangle_atan_jac(const double *p, Py_ssize_t n, const double *x,
                             Py_ssize_t xstride, Py_ssize_t m, double *out,
                             void *ctx) noexcept nogil
cdef void rectangle_logistic_f(const double *p, Py_ssize_t n, const double *x,
                               Py_ssize_t xstride, Py_ssize_t m, double *out,
                               void *ctx) noexcept nogil
cdef void rectangle_logistic_jac(const double *p, Py_ssize_t n, const double *x,
                                 Py_ssize_t xstride, Py_ssize_t m, double *out,
                                 void *ctx) noexcept nogil
