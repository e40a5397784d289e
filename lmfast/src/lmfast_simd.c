/* The fast kernels' tables (simd_kernels.inc built once per instruction set) and the run-time
   choice among them.  See lmfast_simd.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lmfast_simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LMFAST_X86 1
#else
#define LMFAST_X86 0
#endif

/* The lanes of a and b (a's first) picked by index: clang and GCC >= 12 spell it
   __builtin_shufflevector, older GCC __builtin_shuffle with a mask vector. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define LMFAST_SHUFFLE(a, b, mask_type, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define LMFAST_SHUFFLE(a, b, mask_type, ...) __builtin_shuffle(a, b, (mask_type){__VA_ARGS__})
#endif

/* Baseline: the architecture's minimum (what the whole extension is built for). */
#define VLEN 2
#define ISA(name) name##_baseline
#define ISA_NAME "baseline"
#include "simd_kernels.inc"
#undef VLEN
#undef ISA
#undef ISA_NAME

#if LMFAST_X86
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define VLEN 4
#define ISA(name) name##_avx2
#define ISA_NAME "avx2"
#include "simd_kernels.inc"
#undef VLEN
#undef ISA
#undef ISA_NAME
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
#define VLEN 8
#define ISA(name) name##_avx512
#define ISA_NAME "avx512"
#include "simd_kernels.inc"
#undef VLEN
#undef ISA
#undef ISA_NAME
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

/* Every table this build has, worst first, and whether the CPU can run it. */
static const LMSimdKernels *const all_tables[] = {
    &kernels_baseline,
#if LMFAST_X86
    &kernels_avx2,
    &kernels_avx512,
#endif
};
#define N_TABLES ((int)(sizeof all_tables / sizeof all_tables[0]))

static int cpu_runs(const LMSimdKernels *table) {
#if LMFAST_X86
    __builtin_cpu_init();
    if (table == &kernels_avx2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (table == &kernels_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2")
               && __builtin_cpu_supports("fma");
#endif
    return table == &kernels_baseline;
}

static const LMSimdKernels *active = &kernels_baseline;

const LMSimdKernels *lmfast_simd_active(void) {
    return active;
}

const LMSimdKernels *lmfast_simd_available(int i) {
    int k, seen = 0;
    for (k = 0; k < N_TABLES; k++) {
        if (cpu_runs(all_tables[k])) {
            if (seen == i)
                return all_tables[k];
            seen++;
        }
    }
    return NULL;
}

int lmfast_simd_select(const char *name) {
    const LMSimdKernels *table, *best = NULL;
    int i;
    for (i = 0; (table = lmfast_simd_available(i)) != NULL; i++) {
        best = table;
        if (strcmp(name, table->name) == 0) {
            active = table;
            return 0;
        }
    }
    if (strcmp(name, "auto") == 0 && best != NULL) {
        active = best;
        return 0;
    }
    return -1;
}
