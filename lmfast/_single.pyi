from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lmfast._problem import Problem
from typing_extensions import disjoint_base

NOT_FLOATS: str
CHANGED_SIZE: str

@disjoint_base
class SingleFit:
    @property
    def x(self) -> NDArray[np.float64]: ...
    @property
    def fvec(self) -> NDArray[np.float64]: ...
    @property
    def fjac(self) -> NDArray[np.float64] | None: ...
    @property
    def ipvt(self) -> NDArray[np.int32] | None: ...
    @property
    def qtf(self) -> NDArray[np.float64] | None: ...
    @property
    def cov_x(self) -> NDArray[np.float64] | None: ...
    @property
    def info(self) -> int: ...
    @property
    def nfev(self) -> int: ...
    @property
    def njev(self) -> int: ...

def fit(
    problem: Problem, func: Callable[..., Any], args: tuple, Dfun: Callable[..., Any] | None,
    col_deriv: bool, f0: Any, J0: Any, full_output: bool,
) -> SingleFit: ...
def fit_model(problem: Problem, full_output: bool) -> SingleFit: ...
