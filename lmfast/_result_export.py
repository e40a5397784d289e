"""A BatchResult as text (``summary()``, one fit's repr) and as a pandas or xarray table.

pandas and xarray are imported by the functions that need them, never by ``import
lmfast``; without them those functions raise ImportError saying what to install.
"""

import importlib

import numpy as np

from lmfast._outcomes import message

__all__ = ["fit_text", "summary", "to_pandas", "to_xarray"]

#: Columns of ``to_pandas`` after the parameters and their errors.
_STAT_COLUMNS = ("chisq", "ier", "nfev", "njev", "success", "n_at_bound")


def summary(result):
    """The text of :meth:`lmfast.BatchResult.summary`."""
    n_fits = len(result)
    names = result.param_names
    lines = [f"BatchResult: {n_fits} fits of {len(names)} parameters ({', '.join(names)})"]
    if not n_fits:
        return lines[0]
    converged = int(np.count_nonzero(result.success))
    lines.append(f"converged: {converged} of {n_fits} ({100.0 * converged / n_fits:.1f}%)")
    codes, counts = np.unique(result.ier, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    for code, count in zip(codes[order].tolist(), counts[order].tolist(), strict=True):
        words = " ".join(message(code, result._tolerances).split())  # on one line
        lines.append(f"ier {code}: {count} fit{'s' if count != 1 else ''}: {words}")
    per_param = np.count_nonzero(result.at_bound, axis=0)
    fits_at_bound = int(np.count_nonzero(result.at_bound.any(axis=1)))
    if fits_at_bound:
        which = ", ".join(f"{names[j]} {int(per_param[j])}"
                          for j in np.argsort(-per_param, kind="stable") if per_param[j])
        lines.append(f"at a bound: {fits_at_bound} fit{'s' if fits_at_bound != 1 else ''} "
                     f"({which})")
    else:
        lines.append("at a bound: none")
    return "\n".join(lines)


def fit_text(fit):
    """The repr of one fit (:class:`lmfast._batch_result.FitResult`): its outcome and a
    line per parameter, value +/- error, marked where it ended on a bound."""
    state = "converged" if fit.success else "not converged"
    width = max(len(name) for name in fit.param_names)
    lines = [f"<FitResult of fit {fit.fit}: {state} (ier {fit.ier}), chisq = {fit.chisq:.6g}, "
             f"nfev = {fit.nfev}, njev = {fit.njev}"]
    for name, value, err, bound in zip(fit.param_names, fit.popt.tolist(),
                                       fit.perr.tolist(), fit.at_bound.tolist(), strict=True):
        lines.append(f"  {name:<{width}} = {value:.8g} +/- {err:.3g}"
                     + ("  (at a bound)" if bound else ""))
    return "\n".join(lines) + ">"


def _require(package, method):
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ImportError(f"BatchResult.{method}() needs {package} (pip install {package})"
                          ) from exc


def to_pandas(result):
    """The DataFrame of :meth:`lmfast.BatchResult.to_pandas`."""
    pd = _require("pandas", "to_pandas")
    columns = {}
    perr = result.perr
    for j, name in enumerate(result.param_names):
        columns[name] = result.popt[:, j]
    for j, name in enumerate(result.param_names):
        _add_column(columns, f"{name}_err", perr[:, j])
    stats = (result.chisq, result.ier, result.nfev, result.njev, result.success,
             np.count_nonzero(result.at_bound, axis=1))
    for name, values in zip(_STAT_COLUMNS, stats, strict=True):
        _add_column(columns, name, values)
    return pd.DataFrame(columns, index=pd.Index(result.fit_index, name="fit"))


def _add_column(columns, name, values):
    if name in columns:
        raise ValueError(f"to_pandas: the column {name!r} would hold both a parameter and "
                         f"another column; parameter names are {list(columns)}")
    columns[name] = values


def to_xarray(result):
    """The Dataset of :meth:`lmfast.BatchResult.to_xarray`."""
    xr = _require("xarray", "to_xarray")
    names = list(result.param_names)
    return xr.Dataset(
        {
            "popt": (("fit", "param"), result.popt),
            "perr": (("fit", "param"), result.perr),
            "pcov": (("fit", "cov_i", "cov_j"), result.pcov),
            "at_bound": (("fit", "param"), result.at_bound),
            "chisq": ("fit", result.chisq),
            "ier": ("fit", result.ier),
            "nfev": ("fit", result.nfev),
            "njev": ("fit", result.njev),
            "success": ("fit", result.success),
        },
        coords={"fit": result.fit_index, "param": names, "cov_i": names, "cov_j": names},
    )
