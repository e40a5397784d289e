# One fit on the LM engine (cimported by the drivers); the Python-level entries serve the
# Python-model paths' covariance at the solution and least_squares' robust results.
import numpy as np
from numpy.typing import NDArray

from lmfast._problem import Problem

def solution_covariance(
    problem: Problem, base: NDArray[np.float64], rows: NDArray[np.float64]
) -> NDArray[np.float64] | None: ...
def estimator_values(
    problem: Problem, base: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]: ...
