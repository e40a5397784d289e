"""A pytest plugin that runs SciPy's own curve_fit tests on lmfast.curve_fit.

Loaded with ``-p lmfast_curve_fit_plugin`` by ``test_scipy_suite.py``: every test module
that bound SciPy's ``curve_fit`` gets lmfast's in its place.
"""

import pytest

import lmfast


@pytest.fixture(autouse=True)
def _lmfast_curve_fit(monkeypatch, request):
    if hasattr(request.module, "curve_fit"):
        monkeypatch.setattr(request.module, "curve_fit", lmfast.curve_fit)
