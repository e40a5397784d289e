# The Faddeeva function w(z) = exp(-z^2) erfc(-i z) at z = x + i y: re + i im; with
# faddeeva_deriv also its derivative w'(z) = dre + i dim.  Any finite z (y < 0 by
# w(z) = 2 exp(-z^2) - w(-z), which overflows where exp(-z^2) does); NaN in, NaN out.
# About 1e-15 relative in Re w (the method: lmfast/_faddeeva.pyx).
cdef void faddeeva(double x, double y, double *re, double *im) noexcept nogil
cdef void faddeeva_deriv(double x, double y, double *re, double *im,
                         double *dre, double *dim) noexcept nogil
