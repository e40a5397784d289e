# MINPACK's numerical constants, declared once (lmfast/src/lmfast_minpack.h defines them).

cdef extern from "float.h":
    double DBL_EPSILON
    double DBL_MIN

cdef extern from "lmfast_minpack.h":
    # Trust-region and step-acceptance constants (MINPACK's p1, p5, p25, p75, p001, p0001).
    const double LM_P1
    const double LM_P5
    const double LM_P25
    const double LM_P75
    const double LM_P001
    const double LM_P0001
    # enorm's bounds of the components whose squares are summed directly.
    const double LM_RDWARF
    const double LM_RGIANT
