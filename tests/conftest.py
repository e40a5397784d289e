"""Fixtures shared by the leastsq test modules.

``sp`` and ``lm`` are the two ``leastsq`` functions (SciPy's, the reference, and
lmfast's); ``mgh_runs`` caches the fits of the MGH cases for the session.  They are
session-scoped, so hypothesis tests can use them too.  The comparison helpers are plain
functions in ``helpers.py``.
"""

import signal

import pytest
import scipy.optimize
from helpers import MGHRuns


@pytest.fixture
def ctrl_c():
    """SIGINT raises KeyboardInterrupt during the test, as in an interactive session, also
    when the run inherited SIGINT ignored (a background job of a non-interactive shell:
    Python then installs no handler, and a simulated Ctrl-C would do nothing)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def sp():
    """The reference implementation."""
    return scipy.optimize.leastsq


@pytest.fixture(scope="session")
def lm():
    """The implementation under test (an import failure is a test error, not a skip)."""
    from lmfast import leastsq

    return leastsq


@pytest.fixture(scope="session")
def mgh_runs(sp, lm):
    return MGHRuns(sp, lm)
