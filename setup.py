"""Build the compiled kernels of lmfast against the scipy-openblas32 wheel.

The wheel exports every BLAS/LAPACK symbol with the prefix ``scipy_``; our own header
``lmfast/src/lmfast_blas.h`` declares the prefixed prototypes.  No rpath is baked in:
``lmfast/__init__.py`` imports ``scipy_openblas32`` first, which loads the library with
RTLD_GLOBAL, so the installed extension resolves its symbols wherever it lives.
"""
import glob
import os

import numpy
import scipy_openblas32
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("LMFAST_DEBUG", "0") == "1"

# -fvisibility=hidden: each module exports PyInit_<name> (PyMODINIT_FUNC marks it visible)
# and nothing else; Cython's own globals (__pyx_module_is_main_*) stay inside the .so.
compile_args = [
    "-Werror=implicit-function-declaration",
    "-ffp-contract=off",
    "-fvisibility=hidden",
]
# Python's own CFLAGS carry -g; -g0 comes after them and drops the debug info from release
# builds (it changes no generated code, only what the .so carries: 5.3 MB -> 1.0 MB).
compile_args += ["-O0", "-g"] if DEBUG else ["-O3", "-g0"]
macros = [("BLAS_SYMBOL_PREFIX", "scipy_"), ("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")]
include_dirs = ["lmfast/src", numpy.get_include(), scipy_openblas32.get_include_dir()]
blas_link = dict(
    library_dirs=[scipy_openblas32.get_lib_dir()],
    libraries=[scipy_openblas32.get_library()],
)

directives = dict(
    language_level=3,
    boundscheck=DEBUG,
    wraparound=DEBUG,
    initializedcheck=DEBUG,
    nonecheck=DEBUG,
    # Always C division: the engine relies on IEEE results (inf, NaN) for a zero divisor.
    cdivision=True,
    embedsignature=True,
)


def extension(name, libraries=(), sources=(), fast_math=False, **extra):
    """One extension module ``lmfast.<name>`` built from ``lmfast/<name>.pyx`` (and C sources).

    Every module links libm explicitly: then ``exp`` binds to glibc's current symbol
    version rather than the oldest one, whose compatibility wrapper costs a call.
    fast_math: the fast kernels (``_simd``), whose sums may fuse a * b + c into FMA; every
    other module keeps MINPACK's arithmetic (-ffp-contract=off).
    """
    args = compile_args
    if fast_math:
        args = [a for a in compile_args if a != "-ffp-contract=off"] + ["-ffp-contract=fast"]
    return Extension(
        f"lmfast.{name}",
        [f"lmfast/{name}.pyx", *sources],
        # Rebuild when a header or a kernel template changes (setuptools tracks only the
        # sources themselves).
        depends=sorted(glob.glob("lmfast/src/*.h") + glob.glob("lmfast/src/*.inc")),
        include_dirs=include_dirs,
        define_macros=macros,
        extra_compile_args=args,
        libraries=[*libraries, "m"],
        **extra,
    )


extensions = [
    extension("_simd", sources=["lmfast/src/lmfast_simd.c"], fast_math=True),
    extension("_linalg", **blas_link),
    extension("_engine", **blas_link),
    extension("_models"),
    extension("_faddeeva"),
    extension("_lineshapes"),
    extension("_composite"),
    extension("_affine"),
    extension("_transform"),
    extension("_problem"),
    extension("_model_fit", **blas_link),
    extension("_single", **blas_link),
    extension("_batch_core", **blas_link),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        annotate=os.environ.get("LMFAST_ANNOTATE", "0") == "1",
    ),
)
