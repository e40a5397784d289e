import numpy as np
from numpy.typing import NDArray

PARAMS: dict[str, tuple[str, ...]]

def table() -> dict[str, tuple[tuple[str, ...], object, object]]: ...
def _evaluate(
    name: str, p: NDArray[np.float64], x: NDArray[np.float64], jacobian: bool
) -> NDArray[np.float64]: ...
def _test_eval(
    name: str, p: NDArray[np.float64], x: NDArray[np.float64], with_jac: bool
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float64]]: ...
