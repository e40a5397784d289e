import numpy as np
from numpy.typing import NDArray

def _model_table() -> dict[str, tuple[int, int, int]]: ...
def _test_eval(
    model_id: int, p: NDArray[np.float64], x: NDArray[np.float64], with_jac: bool
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float64]]: ...
