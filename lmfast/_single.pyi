from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

_FitTuple = tuple[Any, int, int, int, Any, Any, Any, Any, Any]

def fit(
    func: Callable[..., Any], x0: NDArray[np.float64], args: tuple, Dfun: Callable[..., Any] | None,
    col_deriv: bool, m: int, ftol: float, xtol: float, gtol: float, maxfev: int,
    epsfcn: float, factor: float, diag: NDArray[np.float64] | None, f0: Any, J0: Any,
    full_output: bool,
) -> _FitTuple: ...
def fit_model(
    model_id: int, n: int, xdata: NDArray[np.float64], ydata: NDArray[np.float64],
    weights: NDArray[np.float64] | None, x0: NDArray[np.float64], use_fd: bool, ftol: float,
    xtol: float, gtol: float, maxfev: int, epsfcn: float, factor: float,
    diag: NDArray[np.float64] | None, full_output: bool,
) -> _FitTuple: ...
