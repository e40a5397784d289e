"""curve_fit_map: neighbour reseeding on maps whose peak drifts far from the global start.

"Right" means the fit SciPy's curve_fit reaches when started from the true parameters
(the right minimum), not only a converged ier; pixels the reseeding leaves alone must be
bit-equal to a plain curve_fit_batch.
"""

import numpy as np
import pytest
import scipy.optimize
from batch_helpers import np_gaussian

from lmfast import MapResult, curve_fit_batch, curve_fit_map, models
from lmfast._map import neighbour_table

#: lmfast and SciPy's curve_fit stop on the same minimum within their tolerances: their
#: popt agree to a small fraction of the standard errors (a wrong minimum is many off).
PERR_FRACTION = 0.01
P0 = [1.0, 15.0, 1.5, 0.0]  # the peak's place at the map's first corner
FIELDS = ("popt", "pcov", "chisq", "ier", "nfev", "njev", "at_bound")


def drifting_map(shape=(24, 24), m=160, seed=0, noise=0.05):
    """(x, y (*shape, m), truth (*shape, 4)): a Gaussian whose centre moves from 15 by
    half a width per pixel along each axis (34 widths across 24 x 24 pixels), amplitude
    and width varying smoothly."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 100.0, m)
    steps = np.indices(shape).sum(axis=0)
    u = steps / max(1, sum(s - 1 for s in shape))
    truth = np.stack([1.0 + 0.4 * np.sin(5 * u), 15.0 + 0.75 * steps,
                      1.5 * (1 + 0.2 * np.cos(3 * u)), np.full(shape, 0.1)], axis=-1)
    y = np_gaussian(x, *np.moveaxis(truth, -1, 0)[..., np.newaxis])
    return x, y + rng.normal(0.0, noise, y.shape), truth


def scipy_right_minimum(x, y, truth):
    """SciPy's curve_fit of each pixel started from its true parameters: (popt, perr),
    each (pixels, n)."""
    flat_y, flat_truth = y.reshape(-1, y.shape[-1]), truth.reshape(-1, truth.shape[-1])
    fits = [scipy.optimize.curve_fit(np_gaussian, x, yi, p0=ti)
            for yi, ti in zip(flat_y, flat_truth)]
    return (np.array([popt for popt, _ in fits]),
            np.array([np.sqrt(np.diag(pcov)) for _, pcov in fits]))


def right_fraction(popt, reference):
    """Fraction of pixels whose popt is SciPy's right minimum, to PERR_FRACTION of its
    standard errors (the Gaussian's width by its magnitude: -sigma is the same curve)."""
    reference, perr = reference
    popt, reference = popt.reshape(reference.shape).copy(), reference.copy()
    popt[:, 2], reference[:, 2] = np.abs(popt[:, 2]), np.abs(reference[:, 2])
    close = np.abs(popt - reference) <= PERR_FRACTION * perr
    return close.all(axis=1).mean()


@pytest.fixture(scope="module")
def drift():
    x, y, truth = drifting_map()
    return x, y, truth, scipy_right_minimum(x, y, truth)


def test_reseeding_reaches_the_right_minimum_where_one_pass_does_not(drift):
    x, y, truth, reference = drift
    one_pass = curve_fit_batch(models.gaussian, x, y.reshape(-1, y.shape[-1]), P0)
    result = curve_fit_map(models.gaussian, x, y, P0)
    assert right_fraction(one_pass.popt, reference) < 0.85
    assert right_fraction(result.popt, reference) >= 0.995
    assert isinstance(result, MapResult)
    assert result.popt.shape == truth.shape and result.chisq.shape == truth.shape[:2]
    assert result.pcov.shape == (*truth.shape, 4) and result.perr.shape == truth.shape
    assert result.success.all()
    assert result.passes >= 2 and result.refits >= (result.settled_pass > 0).sum()
    assert result.settled_pass.max() in (result.passes, result.passes - 1)


def test_pixels_not_refitted_are_the_plain_batch_bit_for_bit(drift):
    x, y, _, _ = drift
    flat = y.reshape(-1, y.shape[-1])
    plain = curve_fit_batch(models.gaussian, x, flat, P0)
    result = curve_fit_map(models.gaussian, x, y, P0)
    kept = (result.settled_pass == 0).ravel()
    assert 0 < kept.sum() < kept.size
    for name in FIELDS:
        ours = getattr(result.fits, name)[kept]
        theirs = getattr(plain, name)[kept]
        assert np.array_equal(ours, theirs, equal_nan=True), name
    # A refitted pixel is the fit from its neighbour's solution: it lowered chi-square.
    refitted = ~kept
    assert (result.fits.chisq[refitted] < plain.chisq[refitted]).all()


def test_no_reseeding_pass_is_the_plain_batch(drift):
    x, y, _, _ = drift
    plain = curve_fit_batch(models.gaussian, x, y.reshape(-1, y.shape[-1]), P0)
    result = curve_fit_map(models.gaussian, x, y, P0, max_passes=0)
    assert result.passes == 0 and result.refits == 0 and not result.settled_pass.any()
    for name in FIELDS:
        assert np.array_equal(getattr(result.fits, name), getattr(plain, name),
                              equal_nan=True), name


def test_dead_pixels_do_not_stop_the_spread():
    # A pixel of zeros fits perfectly (chi-square ~0): its neighbours all look doubtful
    # next to it, try its solution first, then their next best neighbours'.
    x, y, truth = drifting_map(shape=(24, 24), seed=9)
    reference, perr = scipy_right_minimum(x, y, truth)
    dead = np.zeros((24, 24), dtype=bool)
    dead[10, 12] = dead[15, 5] = dead[20, 20] = True
    y = np.where(dead[..., np.newaxis], 0.0, y)
    result = curve_fit_map(models.gaussian, x, y, P0)
    alive = ~dead.ravel()
    assert right_fraction(result.popt.reshape(-1, 4)[alive],
                          (reference[alive], perr[alive])) == 1.0


def test_a_line_of_pixels():
    x, y, truth = drifting_map(shape=(60,), seed=3)
    reference = scipy_right_minimum(x, y, truth)
    one_pass = curve_fit_batch(models.gaussian, x, y, P0)
    result = curve_fit_map(models.gaussian, x, y, P0)
    assert right_fraction(one_pass.popt, reference) < 0.85
    assert right_fraction(result.popt, reference) == 1.0
    assert result.popt.shape == (60, 4) and result.settled_pass.shape == (60,)
    # In 1-D a solution spreads one pixel per pass from the first corner.
    assert result.passes >= (result.settled_pass > 0).sum() // 2


def test_a_three_dimensional_grid():
    x, y, truth = drifting_map(shape=(6, 5, 4), m=120, seed=4)
    reference = scipy_right_minimum(x, y, truth)
    result = curve_fit_map(models.gaussian, x, y, P0)
    assert result.popt.shape == (6, 5, 4, 4)
    assert right_fraction(result.popt, reference) == 1.0


def test_python_model_gives_the_compiled_answers():
    x, y, truth = drifting_map(shape=(10, 10), m=120, seed=5)
    reference = scipy_right_minimum(x, y, truth)
    compiled = curve_fit_map(models.gaussian, x, y, P0)
    python = curve_fit_map(np_gaussian, x, y, P0)
    assert right_fraction(python.popt, reference) == 1.0
    assert right_fraction(compiled.popt, reference) == 1.0
    assert np.allclose(python.popt, compiled.popt, rtol=1e-6, atol=1e-9)


def test_per_pixel_inputs_and_bounds():
    x, y, truth = drifting_map(shape=(8, 9), m=120, seed=6)
    reference = scipy_right_minimum(x, y, truth)
    sigma = np.full(y.shape, 0.05)
    p0 = np.broadcast_to(P0, truth.shape).copy()
    lower = np.broadcast_to([0.0, 0.0, 0.1, -1.0], truth.shape).copy()
    saved = [a.copy() for a in (x, y, sigma, p0, lower)]
    xs = np.broadcast_to(x, y.shape).copy()
    result = curve_fit_map(models.gaussian, xs, y, p0, sigma, absolute_sigma=True,
                           bounds=(lower, [10.0, 100.0, 20.0, 1.0]))
    assert right_fraction(result.popt, reference) == 1.0
    for before, after in zip(saved, (x, y, sigma, p0, lower)):
        assert np.array_equal(before, after)  # user arrays untouched
    # absolute sigma: pcov does not depend on the residuals' scale
    plain = curve_fit_batch(models.gaussian, x, y.reshape(-1, 120), truth.reshape(-1, 4),
                            0.05, absolute_sigma=True,
                            bounds=([0.0, 0.0, 0.1, -1.0], [10.0, 100.0, 20.0, 1.0]))
    assert np.allclose(result.perr.reshape(-1, 4), plain.perr, rtol=1e-4)


def test_fixed_parameters_stay_at_each_pixels_own_start():
    x, y, truth = drifting_map(shape=(12, 12), m=120, seed=7)
    p0 = np.broadcast_to(P0, truth.shape).copy()
    p0[..., 3] = 0.1 + 1e-5 * np.arange(144).reshape(12, 12)  # a different offset each
    result = curve_fit_map(models.gaussian, x, y, p0, fixed=["offset"])
    assert (result.settled_pass > 0).any()
    assert np.array_equal(result.popt[..., 3], p0[..., 3])
    centre_error = np.abs(result.popt[..., 1] - truth[..., 1]) / truth[..., 2]
    assert (centre_error < 0.2).all()


def test_neighbour_table():
    assert neighbour_table((3,)).tolist() == [[-1, 1], [0, 2], [1, -1]]
    table = neighbour_table((2, 3))
    assert table.shape == (6, 8)
    # pixel (0, 1) = 1: neighbours (0, 0), (0, 2), (1, 0), (1, 1), (1, 2)
    assert sorted(v for v in table[1] if v >= 0) == [0, 2, 3, 4, 5]
    assert sorted(v for v in table[5] if v >= 0) == [1, 2, 4]
    assert (np.sort(table, axis=1) >= -1).all()
    assert neighbour_table((3, 3, 3))[13].tolist() == [k for k in range(27) if k != 13]


def test_message_by_grid_index(drift):
    x, y, _, _ = drift
    result = curve_fit_map(models.gaussian, x, y, P0)
    assert result.message((3, 4)) == result.fits.message(3 * y.shape[1] + 4)
    assert "MapResult" in repr(result)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"ydata": np.zeros(10)}, ValueError, "ydata must be"),
    ({"threshold": 0.5}, ValueError, "threshold"),
    ({"threshold": np.nan}, ValueError, "threshold"),
    ({"max_passes": -1}, ValueError, "max_passes"),
    ({"max_passes": 1.5}, TypeError, "max_passes"),
    ({"maxiter": 3}, TypeError, "maxiter"),
    ({"p0": np.zeros((4, 3, 4))}, ValueError, "p0"),
    ({"p0": [1.0, 2.0]}, ValueError, "p0 has 2 parameters"),
    ({"sigma": np.ones((4, 5, 7))}, ValueError, "sigma"),
    ({"bounds": (np.zeros((3, 3, 4)), np.inf)}, ValueError, "bounds"),
    ({"f": "gaussian"}, TypeError, "f must be"),
    ({"ydata": np.zeros((4, 5, 30), dtype=complex)}, TypeError, "ydata"),
])
def test_bad_arguments(kwargs, error, match):
    args = {"f": models.gaussian, "xdata": np.linspace(0, 1, 30),
            "ydata": np.zeros((4, 5, 30)), "p0": P0}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        curve_fit_map(**args)


def test_a_python_models_exception_propagates():
    class Boom(Exception):
        pass

    def model(x, a, c, s, o):
        if np.ndim(a) and a.shape[0] < 100:  # the reseeding passes' smaller batches
            raise Boom("from the model")
        return np_gaussian(x, a, c, s, o)

    x, y, _ = drifting_map(shape=(12, 12), m=120, seed=8)
    with pytest.raises(Boom, match="from the model"):
        curve_fit_map(model, x, y, P0)


def test_docstring_example():
    import doctest

    from lmfast import _map

    failures, tried = doctest.testmod(_map, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


def test_example_runs(capsys):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "map_reseed.py"
    spec = importlib.util.spec_from_file_location("map_reseed_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main(["--side", "24"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("curve_fit_map:") and "the right peak on 100.0%" in lines[2]


def test_map_result_has_the_batch_parameter_names_and_fixed_by_signature_name():
    """MapResult names its parameters as BatchResult does (a plain function: its
    signature), and fixed= takes those names."""
    def line(x, slope, intercept):
        return slope * x + intercept

    x = np.linspace(0.0, 1.0, 20)
    y = np.stack([line(x, 2.0, k) for k in (0.0, 1.0, 2.0)]).reshape(3, 1, 20)
    res = curve_fit_map(line, x, y, [1.0, 0.5], fixed=["intercept"])
    assert res.param_names == ("slope", "intercept")
    assert np.all(res.popt[..., 1] == 0.5)
    # the slope of a line through fixed intercept 0.5: sum x (y - 0.5) / sum x^2
    want = (y - 0.5) @ x / (x @ x)
    np.testing.assert_allclose(res.popt[..., 0], want, rtol=1e-7)  # LM tolerances
