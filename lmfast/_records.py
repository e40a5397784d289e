"""One record per fit: a BatchResult's arrays as one structured array, and back.

A chunk of fits computed by a Dask task (``lmfast.dask``, ``lmfast.xarray``) returns its
fits as one record array, so that the chunk is fitted once however many of the result's
arrays are computed from it.
"""

import numpy as np

from lmfast._batch_result import RESULT_FIELDS, BatchResult

#: Fields of one fit's record, in the order of BatchResult's arrays.
RECORD_FIELDS = tuple(RESULT_FIELDS)


def record_dtype(n):
    """The structured dtype of one fit's outcome for a model of ``n`` parameters.

    Parameters
    ----------
    n : int
        The number of parameters.

    Returns
    -------
    numpy.dtype
        Fields ``popt`` (n,), ``at_bound`` (n,) bool, ``pcov`` (n, n), ``chisq``, ``ier``
        (int32), ``nfev`` and ``njev`` (int64), as :class:`lmfast.BatchResult` holds them.

    Examples
    --------
    >>> from lmfast.dask import record_dtype
    >>> record_dtype(4)["pcov"].shape
    (4, 4)
    """
    return np.dtype([(name, dtype, shape(n)) for name, (dtype, shape) in RESULT_FIELDS.items()])


def records_of(result, shape=None):
    """A BatchResult's arrays as one record array (one record per fit), of ``shape``."""
    n = result.popt.shape[1]
    records = np.empty(len(result), dtype=record_dtype(n))
    for name in RECORD_FIELDS:
        records[name] = getattr(result, name)
    return records if shape is None else records.reshape(shape)


def batch_result_of(records, tolerances, n=None, param_names=None):
    """A :class:`lmfast.BatchResult` holding the fits of a 1-D record array, or of a
    sequence of them (the chunks, in order: copied once, never concatenated); ``n``,
    the number of parameters, if there may be no record array to read it from;
    ``param_names`` their names (None: p0, p1, ...)."""
    parts = [records] if isinstance(records, np.ndarray) else list(records)
    if n is None:
        n = parts[0].dtype["popt"].shape[0]
    result = BatchResult(sum(len(part) for part in parts), n, tolerances, param_names)
    start = 0
    for part in parts:
        stop = start + len(part)
        for name in RECORD_FIELDS:
            getattr(result, name)[start:stop] = part[name]
        start = stop
    return result
