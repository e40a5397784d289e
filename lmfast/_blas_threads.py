"""OpenBLAS on one thread while lmfast runs many small factorizations.

Batches run their fits on their own threads and the TSQR blocks of a single fit are
too small for OpenBLAS's threads to pay, so both pin OpenBLAS to one thread.  The count
is process-wide: the first caller to enter saves it and the last to leave restores it,
so concurrent fits never leave it at 1.
"""
import threading

from lmfast import _linalg


class _SingleBlasThread:
    """Context manager: OpenBLAS on one thread inside, the saved count restored when the
    last of the concurrent holders leaves."""

    def __init__(self):
        self._lock = threading.Lock()
        self._holders = 0
        self._saved = 0

    def __call__(self):
        return self

    def __enter__(self):
        with self._lock:
            if self._holders == 0:
                self._saved = _linalg.blas_threads()
                _linalg.set_blas_threads(1)
            self._holders += 1
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                _linalg.set_blas_threads(self._saved)
        return False


#: ``with single_blas_thread():`` holds OpenBLAS at one thread for the block.
single_blas_thread = _SingleBlasThread()
