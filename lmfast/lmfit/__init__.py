"""The lmfit bridge: fit an lmfit model to many spectra with lmfast's compiled batch.

An lmfit ``Model`` made of lmfit's built-in models added with prefixes, and lmfit
``Parameters`` (value, min, max, vary, affine ``expr`` ties), become one compiled model
of the free parameters: the lineshapes are lmfast's compiled twins of lmfit's
(:mod:`lmfast.lineshapes`; same formulas, equal to about 1e-15), the composite is
assembled in C, and ties enter the fit as an affine map, ``p_model = A p_free + b``,
with Jacobian ``J_model A`` (``lmfast/_affine.pyx``).  Bounds go through the same
MINUIT transform lmfit uses.  Every spectrum is then fitted by
:func:`lmfast.curve_fit_batch`, GIL released, on all threads; per spectrum the answer is
that of ``model.fit(data, params, x=x, method='leastsq')``.

Compiled: GaussianModel, LorentzianModel, VoigtModel, PseudoVoigtModel, Pearson7Model,
ExponentialGaussianModel, DoniachModel, SkewedGaussianModel, ConstantModel, LinearModel,
QuadraticModel, PolynomialModel, ExponentialModel, StepModel and RectangleModel in their
smooth forms ('erf', 'atan', 'logistic'; not 'linear'), and ``lmfit.Model`` of those
lineshape functions.  Other models (and user functions, products of models) raise
:class:`UnsupportedModel` naming the model.

Its arguments are lmfit's objects: install lmfit (``pip install fastminpack[lmfit]``).

Examples
--------
>>> import numpy as np
>>> from lmfit.models import GaussianModel, LinearModel
>>> from lmfast.lmfit import fit_batch
>>> model = GaussianModel(prefix="p0_") + GaussianModel(prefix="p1_") + LinearModel()
>>> params = model.make_params(p0_amplitude=10, p0_center=-2, p0_sigma=0.5,
...                            p1_amplitude=5, p1_center=2.5, slope=0, intercept=0)
>>> params["p1_sigma"].expr = "p0_sigma"             # a tie, inside the fit
>>> x = np.linspace(-5, 5, 201)
>>> truth = params.copy()
>>> data = np.array([model.eval(truth, x=x) * s for s in (1.0, 1.5)])
>>> result = fit_batch(model, params, data, x=x)
>>> bool(result.success.all()), result.values.shape == (2, len(params))
(True, True)
"""
import numpy as np

from lmfast import _validate
from lmfast._batch import curve_fit_batch
from lmfast._model import affine
from lmfast.lmfit._components import SUPPORTED, UnsupportedModel, compile_model
from lmfast.lmfit._result import LmfitBatchResult
from lmfast.lmfit._ties import TieError, affine_forms, derived_values, tie_error

__all__ = ["SUPPORTED", "LmfitBatchResult", "TieError", "UnsupportedModel", "compiled_model",
           "fit_batch"]

# lmfit's leastsq settings (Minimizer.leastsq): what fit_kws may change.
_LEASTSQ = {"ftol": 1.5e-8, "xtol": 1.5e-8, "gtol": 0.0, "factor": 100, "maxfev": None}


def compiled_model(model, params):
    """The compiled model of the free parameters the bridge fits, and how every parameter
    follows from them.

    Parameters
    ----------
    model : lmfit.Model
        A sum of supported lmfit models.
    params : lmfit.Parameters
        Must hold every parameter of the model.

    Returns
    -------
    compiled : lmfast.models.Model
        Parameters ``var_names``; the lmfit model's parameters are affine functions of
        them (fixed ones and ties inside).
    var_names : list of str
        The free parameters (vary and no expr), in the order of ``params``.
    forms : dict
        {parameter name: ``Affine`` or None}, for every parameter (None: a derived one,
        evaluated after the fit).

    Raises
    ------
    UnsupportedModel
        A component or an operator without a compiled form (the message names it).
    TieError
        An ``expr`` of a parameter the model needs that is not affine in the free
        parameters, or a cycle of expressions (the message names the expression and the
        parameter).
    """
    inner, model_names = compile_model(model)
    missing = [name for name in model_names if name not in params]
    if missing:
        raise ValueError(f"params lacks the model's parameters {missing}")
    forms, reasons = affine_forms(params)
    for name in model_names:
        if forms[name] is None:
            raise tie_error(name, params, reasons)
    var_names = [name for name, par in params.items() if par.vary and par.expr is None]
    column = {name: a for a, name in enumerate(var_names)}
    matrix = np.zeros((len(model_names), len(var_names)))
    offset = np.zeros(len(model_names))
    for j, name in enumerate(model_names):
        form = forms[name]
        offset[j] = form.const
        for free, coef in form.coefs.items():
            matrix[j, column[free]] += coef
    identity = (matrix.shape[0] == matrix.shape[1]
                and np.array_equal(matrix, np.eye(len(var_names))) and not offset.any())
    compiled = inner if identity else affine(inner, matrix, offset, var_names)
    return compiled, var_names, forms


def fit_batch(model, params, data, *, x, weights=None, threads=None, progress=False,
              fit_kws=None):
    """Fit an lmfit model to every spectrum of ``data``, each as ``model.fit(spectrum,
    params, x=x, method='leastsq')`` would, with lmfast's compiled batch.

    Parameters
    ----------
    model : lmfit.Model
        A sum (``+``) of lmfit built-in models with prefixes (see the module docstring).
    params : lmfit.Parameters
        Starting values, bounds (min, max), vary and ``expr`` ties, shared by every
        spectrum.  An expr of a parameter the model uses must be affine in the free
        parameters (``'p1_sigma'``, ``'p2_center + 12.5'``, ``'2*p0_amplitude'``, sums of
        such terms); other parameters (lmfit's ``fwhm``, ``height``) may use any
        expression lmfit evaluates.  Not modified.
    data : array_like, shape (N, m)
        One spectrum per row.
    x : array_like, shape (m,) or (N, m)
        The independent variable, shared or one row per spectrum.
    weights : None or array_like, shape (m,) or (N, m)
        As lmfit's: the residual is ``(model - data) * weights``.
    threads : int or None
        Worker threads; None: every core available.
    progress : bool
        Show a tqdm progress bar.
    fit_kws : dict, optional
        leastsq's settings as lmfit's ``fit_kws`` takes them: ``ftol``, ``xtol``
        (1.5e-8 as lmfit), ``gtol`` (0), ``factor`` (100), ``maxfev`` (default
        ``2000 * (nvarys + 1)``, lmfit's ``max_nfev``; the compiled fits evaluate the
        model and its analytic Jacobian, so they need far fewer).

    Returns
    -------
    LmfitBatchResult
        lmfit's parameter names, values and stderr (N, n), success, chisqr, redchi, and
        ``params(i)``: one spectrum's result as lmfit Parameters.

    Raises
    ------
    UnsupportedModel, TieError
        Before any fitting, naming the model or the expression and its parameter.

    Notes
    -----
    The bounds of a tied parameter are not applied during the fit (lmfit clips a tied
    value to its bounds, which is not affine); a fit that ends with a tied value outside
    them is reported by a RuntimeWarning.
    """
    compiled, var_names, forms = compiled_model(model, params)
    if not var_names:
        raise ValueError("params has no free parameter (vary=True without expr)")
    settings = dict(_LEASTSQ)
    unknown = set(fit_kws or {}) - set(settings)
    if unknown:
        raise TypeError(f"fit_kws: unknown settings {sorted(unknown)}; known: "
                        f"{sorted(settings)}")
    settings.update(fit_kws or {})
    if settings["maxfev"] is None:
        settings["maxfev"] = 2000 * (len(var_names) + 1)
    p0 = np.array([params[name].value for name in var_names], dtype=np.float64)
    lower = np.array([params[name].min for name in var_names], dtype=np.float64)
    upper = np.array([params[name].max for name in var_names], dtype=np.float64)
    bounds = (lower, upper) if np.isfinite(lower).any() or np.isfinite(upper).any() else None
    data, x, sigma = _arrays(data, x, weights)
    batch = curve_fit_batch(compiled, x, data, p0, sigma=sigma, bounds=bounds,
                            threads=threads, progress=progress, **settings)
    names = list(params)
    values, stderr = _all_parameters(params, names, var_names, forms, batch)
    _warn_clipped(params, names, values)
    return LmfitBatchResult(params, batch, names, var_names, values, stderr, data.shape[1])


def _arrays(data, x, weights):
    """data (N, m), x and sigma = 1 / weights (None without weights) for the batch, their
    shapes checked here so that an error names the bridge's arguments."""
    data = _validate.real_array("data", data)
    if data.ndim != 2 or data.shape[1] == 0:
        raise ValueError(f"data must be 2-D, (N spectra, m points); got shape {data.shape}")
    n_spectra, m = data.shape
    x = _validate.real_array("x", x)
    if x.shape not in ((m,), (n_spectra, m)):
        raise ValueError(f"x must have shape (m,) = ({m},) or (N, m) = ({n_spectra}, {m}); "
                         f"got {x.shape}")
    if weights is None:
        return data, x, None
    weights = _validate.real_array("weights", weights)
    if weights.ndim and weights.shape not in ((m,), (n_spectra, m)):
        raise ValueError(f"weights must be a scalar or have shape (m,) = ({m},) or (N, m) = "
                         f"({n_spectra}, {m}); got {weights.shape}")
    with np.errstate(divide="ignore"):
        return data, x, 1.0 / weights


def _all_parameters(params, names, var_names, forms, batch):
    """values and stderr (N, n_all) of every parameter: affine ones through their rows
    G (value G p + c, covariance G C G^T), derived ones by lmfit's expressions (stderr by
    central differences over the free parameters)."""
    popt, cov = batch.popt, batch.pcov
    n_fits, n_free = popt.shape
    column = {name: a for a, name in enumerate(var_names)}
    affine_rows = [j for j, name in enumerate(names) if forms[name] is not None]
    grad = np.zeros((len(names), n_free))
    const = np.zeros(len(names))
    for j in affine_rows:
        const[j] = forms[names[j]].const
        for free, coef in forms[names[j]].coefs.items():
            grad[j, column[free]] += coef
    values = np.full((n_fits, len(names)), np.nan)
    values[:, affine_rows] = popt @ grad[affine_rows].T + const[affine_rows]
    with np.errstate(invalid="ignore"):
        var = np.einsum("ja,nab,jb->nj", grad, cov, grad)
    derived = [name for name in names if forms[name] is None]
    if derived:
        for name, (value, g) in _derived(params, names, derived, affine_rows, popt, grad,
                                         const).items():
            j = names.index(name)
            values[:, j] = value
            with np.errstate(invalid="ignore"):
                var[:, j] = np.einsum("na,nab,nb->n", g, cov, g)
    with np.errstate(invalid="ignore"):
        stderr = np.sqrt(var)
    stderr[~np.isfinite(stderr)] = np.nan  # indeterminate (singular) or no fit
    return values, stderr


def _derived(params, names, derived, affine_rows, popt, grad, const):
    """{name: (values (N,), d value / d free (N, n_free))} of the derived parameters,
    from one evaluation of their expressions at popt and at popt -+ a central-difference
    step in each free parameter (stacked on a leading axis)."""
    n_free = popt.shape[1]
    step = 1e-6 * np.maximum(np.abs(popt), 1e-6)
    points = np.repeat(popt[np.newaxis], 1 + 2 * n_free, axis=0)
    for a in range(n_free):
        points[1 + 2 * a, :, a] += step[:, a]
        points[2 + 2 * a, :, a] -= step[:, a]
    known = {names[j]: points @ grad[j] + const[j] for j in affine_rows}
    values = derived_values(params, derived, known)
    out = {}
    for name in derived:
        v = values[name]
        out[name] = (v[0], ((v[1::2] - v[2::2]) / (2.0 * step.T)).T)
    return out


def _warn_clipped(params, names, values):
    """A RuntimeWarning naming the tied parameters that ended outside their bounds."""
    import warnings

    outside = []
    for j, name in enumerate(names):
        par = params[name]
        if par.expr is None:
            continue
        with np.errstate(invalid="ignore"):
            count = int(np.count_nonzero((values[:, j] < par.min) | (values[:, j] > par.max)))
        if count:
            outside.append(f"{name} ({count} spectra)")
    if outside:
        warnings.warn(
            "tied parameters ended outside their bounds, which lmfit would clip (the "
            f"bridge does not apply a tied parameter's bounds): {', '.join(outside)}",
            RuntimeWarning, stacklevel=3)
