"""The run-time choice of the fast kernels' instruction set.

The compiled-model fits run kernels that use the CPU's vector units (``lmfast/src/
lmfast_simd.h``): built once per instruction set (baseline, and on x86-64 AVX2 with FMA
and AVX-512F), the best one the CPU has is chosen when lmfast is imported, or the one the
environment variable ``LMFAST_SIMD`` names.  Results differ between instruction sets by
rounding; with one set they are the same bits whatever the threads.
"""
import os

import numpy as np

cdef extern from "lmfast_simd.h" nogil:
    const LMSimdKernels *lmfast_simd_active()
    const LMSimdKernels *lmfast_simd_available(int i)
    int lmfast_simd_select(const char *name)


cdef const LMSimdKernels *simd_kernels() noexcept nogil:
    return lmfast_simd_active()


def simd_paths():
    """The instruction sets of lmfast's fast kernels that this CPU can run.

    Returns
    -------
    tuple of str
        Their names, worst first (``"baseline"``, then ``"avx2"``, ``"avx512"`` where the
        CPU has them).

    Examples
    --------
    >>> import lmfast
    >>> lmfast.simd_paths()[0]  # every CPU runs the baseline kernels
    'baseline'
    """
    cdef int i = 0
    names = []
    while lmfast_simd_available(i) != NULL:
        names.append(lmfast_simd_available(i).name.decode())
        i += 1
    return tuple(names)


def simd_path():
    """The instruction set the compiled-model fits use now (one of :func:`simd_paths`).

    Returns
    -------
    str
        Its name: ``"baseline"``, ``"avx2"`` or ``"avx512"``.

    Examples
    --------
    >>> import lmfast
    >>> lmfast.simd_path() == lmfast.simd_paths()[-1]  # the best, unless LMFAST_SIMD says
    True
    """
    return lmfast_simd_active().name.decode()


def set_simd_path(name):
    """Choose the instruction set of the compiled-model fits.

    Parameters
    ----------
    name : str
        One of :func:`simd_paths`, or ``"auto"`` for the best of them (the default at
        import unless ``LMFAST_SIMD`` names another).  Fits already running keep the
        engine kernels they started with; do not switch while fits run.

    Raises
    ------
    ValueError
        When the name is not one this CPU can run.

    Examples
    --------
    >>> import lmfast
    >>> lmfast.set_simd_path("baseline")  # e.g. the same bits on every node of a cluster
    >>> lmfast.simd_path()
    'baseline'
    >>> lmfast.set_simd_path("auto")
    """
    if not isinstance(name, str) or lmfast_simd_select(name.encode()) != 0:
        raise ValueError(
            f"simd path {name!r} is not available on this CPU; choose 'auto' or one of "
            f"{simd_paths()}")


def _select_from_environment():
    name = os.environ.get("LMFAST_SIMD", "auto")
    try:
        set_simd_path(name)
    except ValueError as exc:
        raise ValueError(f"LMFAST_SIMD={name!r}: {exc}") from None


_select_from_environment()


cdef const LMSimdKernels *_table(str path) except NULL:
    cdef int i = 0
    while lmfast_simd_available(i) != NULL:
        if lmfast_simd_available(i).name.decode() == path:
            return lmfast_simd_available(i)
        i += 1
    raise ValueError(f"simd path {path!r} is not available on this CPU")


def _test_exp(x, str path):
    """exp of each element of x with the named table's kernel."""
    cdef const LMSimdKernels *t = _table(path)
    cdef double[::1] inp = np.array(x, dtype=np.float64, copy=True).ravel()
    out = np.empty(inp.shape[0])
    cdef double[::1] o = out
    t.exp_array(&inp[0] if inp.shape[0] else NULL, &o[0] if o.shape[0] else NULL,
                inp.shape[0])
    return out


def _test_norm2(x, str path):
    cdef const LMSimdKernels *t = _table(path)
    cdef double[::1] v = np.array(x, dtype=np.float64, copy=True).ravel()
    return t.norm2(v.shape[0], &v[0] if v.shape[0] else NULL)


def _test_qr_factor(a, f, str path):
    """(r, ipvt, rdiag, acnorm, qtf) of the m-by-n a and the m-vector f."""
    cdef const LMSimdKernels *t = _table(path)
    cdef double[:, ::1] jac = np.array(a, dtype=np.float64, order="C", copy=True)
    cdef double[::1] fv = np.array(f, dtype=np.float64, copy=True)
    cdef Py_ssize_t m = jac.shape[0], n = jac.shape[1]
    r = np.zeros((n, n))
    ipvt = np.zeros(n, dtype=np.int32)
    rdiag = np.zeros(n)
    acnorm = np.zeros(n)
    qtf = np.zeros(n)
    work = np.zeros(lmfast_qr_work_doubles(m, n))
    cdef double[:, ::1] rv = r
    cdef int[::1] iv = ipvt
    cdef double[::1] dv = rdiag, av = acnorm, qv = qtf, wv = work
    t.qr_factor(m, n, &jac[0, 0], &fv[0], &rv[0, 0], &iv[0], &dv[0], &av[0], &qv[0], &wv[0])
    return r, ipvt, rdiag, acnorm, qtf


def _test_faddeeva_re(zx, double zy, str path, bint deriv=True):
    """(Re w, Re w', Im w', Re (z w)') at zx + i zy with the named table's kernel (Re w
    alone when not deriv, computed in place as voigt_f does)."""
    cdef const LMSimdKernels *t = _table(path)
    cdef double[::1] x = np.array(zx, dtype=np.float64, copy=True).ravel()
    cdef Py_ssize_t m = x.shape[0]
    if not deriv:
        t.faddeeva_re(m, &x[0] if m else NULL, zy, &x[0] if m else NULL, NULL, NULL, NULL)
        return np.asarray(x)
    out = np.empty((4, m))
    cdef double[:, ::1] o = out
    if m:
        t.faddeeva_re(m, &x[0], zy, &o[0, 0], &o[1, 0], &o[2, 0], &o[3, 0])
    return out[0], out[1], out[2], out[3]
