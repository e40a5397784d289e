"""The result object of ``lmfast.least_squares``: SciPy's ``OptimizeResult`` when SciPy can
be imported, else :class:`OptimizeResult` below (importing this module imports no SciPy).
"""


class OptimizeResult(dict):
    """A dict whose keys can also be read and set as attributes.

    Stands in for ``scipy.optimize.OptimizeResult`` when SciPy is not installed.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self):
        return list(self.keys())

    def __repr__(self):
        if not self:
            return f"{type(self).__name__}()"
        width = max(len(key) for key in self) + 1
        return "\n".join(f"{key:>{width}}: {value!r}" for key, value in self.items())


# The class results are made of, resolved on first use (SciPy's import is not paid at
# `import lmfast`).
_result_class = None


def optimize_result(fields):
    """``fields`` (a dict, in the order to keep) as SciPy's OptimizeResult, or as
    :class:`OptimizeResult` without SciPy."""
    global _result_class
    if _result_class is None:
        try:
            from scipy.optimize import OptimizeResult as scipy_result
        except ImportError:
            scipy_result = OptimizeResult
        _result_class = scipy_result
    return _result_class(fields)
