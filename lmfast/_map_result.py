"""MapResult: the outcome of ``curve_fit_map``, every pixel's fit shaped like the grid."""

import numpy as np

from lmfast._batch_result import RESULT_FIELDS

__all__ = ["MapResult"]


class MapResult:
    """The outcome of :func:`lmfast.curve_fit_map`: one fit per pixel of a grid.

    The per-pixel arrays are those of :class:`lmfast.BatchResult`, shaped like the grid
    (``grid`` stands for its shape, the leading shape of ydata).

    Attributes
    ----------
    popt, perr : ndarray, shape ``(*grid, n)``
    at_bound : ndarray of bool, shape ``(*grid, n)``
    pcov : ndarray, shape ``(*grid, n, n)``
    chisq : ndarray, shape grid
    ier, success, nfev, njev : ndarray, shape grid
        As in :class:`lmfast.BatchResult`, for the fit that settled each pixel (nfev and
        njev count that fit's evaluations only).
    settled_pass : ndarray of int, shape grid
        The pass whose fit each pixel holds: 0 for the first pass over all pixels, k for
        a refit started from a neighbour's solution in reseeding pass k.
    passes : int
        Reseeding passes run after the first pass.
    refits : int
        Fits run by the reseeding passes (kept or not).
    fits : lmfast.BatchResult
        The same fits as one flat batch, pixels in C order of the grid.
    grid_shape : tuple of int
    param_names : tuple of str
        The parameters' names, as :attr:`lmfast.BatchResult.param_names`.
    """

    def __init__(self, fits, grid_shape, settled_pass, passes, refits):
        self.fits = fits
        self.grid_shape = tuple(grid_shape)
        self.settled_pass = settled_pass.reshape(self.grid_shape)
        self.passes = passes
        self.refits = refits

    def _gridded(self, values):
        return values.reshape(self.grid_shape + values.shape[1:])

    @property
    def param_names(self):
        """The parameters' names (those of :attr:`fits`)."""
        return self.fits.param_names

    @property
    def perr(self):
        """One-standard-deviation errors, ``sqrt(diag(pcov))``, shape ``(*grid, n)``."""
        return self._gridded(self.fits.perr)

    @property
    def success(self):
        """Boolean array over the grid: True where the pixel's fit converged (ier 1-4)."""
        return self._gridded(self.fits.success)

    def message(self, index):
        """Why the fit of the pixel at ``index`` stopped.

        Parameters
        ----------
        index : tuple of int
            The pixel's grid indices.

        Returns
        -------
        str
            The message of its fit's ``ier``.
        """
        flat = np.ravel_multi_index(tuple(np.atleast_1d(index)), self.grid_shape)
        return self.fits.message(int(flat))

    def __repr__(self):
        converged = int(np.count_nonzero(self.fits.success))
        return (f"<MapResult: grid {self.grid_shape}, {converged} of {len(self.fits)} "
                f"converged, {self.passes} reseeding passes>")


def _grid_field(name):
    def get(self):
        return self._gridded(getattr(self.fits, name))

    get.__name__ = name
    get.__doc__ = f"BatchResult.{name} of every pixel, shaped like the grid."
    return property(get)


for _name in RESULT_FIELDS:
    setattr(MapResult, _name, _grid_field(_name))
del _name
