import numpy as np
from numpy.typing import ArrayLike, NDArray

WIDE_BOUNDS: float

def _test_transform(
    lower: ArrayLike, upper: ArrayLike, free: ArrayLike, values: ArrayLike,
    p: ArrayLike | None = ..., u: ArrayLike | None = ...,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]: ...
