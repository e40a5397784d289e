"""OpenBLAS on one thread while lmfast runs many small factorizations.

Batches run their fits on their own threads and the TSQR blocks of a single fit are
too small for OpenBLAS's threads to pay, so both pin OpenBLAS to one thread.  The count
is process-wide: the first caller to enter saves it and the last to leave restores it,
so concurrent fits never leave it at 1.
"""
import contextlib
import threading

from lmfast import _linalg

_lock = threading.Lock()
_holders = 0
_saved = 0


@contextlib.contextmanager
def single_blas_thread():
    """Run the block with OpenBLAS on one thread (restored when the last holder leaves)."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = _linalg.blas_threads()
            _linalg.set_blas_threads(1)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                _linalg.set_blas_threads(_saved)
