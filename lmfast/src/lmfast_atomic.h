/* Relaxed atomics on Py_ssize_t counters shared by the batch worker threads:
   atomic_fetch_add claims the next count fits (returns the counter before). */
#ifndef LMFAST_ATOMIC_H
#define LMFAST_ATOMIC_H
#include <Python.h>

static inline Py_ssize_t atomic_fetch_add(Py_ssize_t *counter, Py_ssize_t count) {
    return __atomic_fetch_add(counter, count, __ATOMIC_RELAXED);
}
static inline Py_ssize_t atomic_load(const Py_ssize_t *value) {
    return __atomic_load_n(value, __ATOMIC_RELAXED);
}
static inline void atomic_store(Py_ssize_t *value, Py_ssize_t v) {
    __atomic_store_n(value, v, __ATOMIC_RELAXED);
}
#endif
