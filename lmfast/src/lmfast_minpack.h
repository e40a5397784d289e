/* MINPACK's numerical constants (ANL-80-74, lmdif/lmpar/enorm), named once for every
 * compiled module of lmfast.  As macros they fold into the arithmetic exactly as the
 * literals would, so the results are bit for bit those of the literals. */
#ifndef LMFAST_MINPACK_H
#define LMFAST_MINPACK_H

/* Trust-region and step-acceptance constants of lmdif (Moré 1977, section 7) and lmpar
 * (section 5): MINPACK calls them p1, p5, p25, p75, p001, p0001. */
#define LM_P1 0.1
#define LM_P5 0.5
#define LM_P25 0.25
#define LM_P75 0.75
#define LM_P001 0.001
#define LM_P0001 1.0e-4

/* enorm's thresholds: squares of components between RDWARF and RGIANT / n neither
 * underflow nor overflow in a sum of n terms. */
#define LM_RDWARF 3.834e-20
#define LM_RGIANT 1.304e19

#endif
