"""The examples in the docstrings and in the README run and print what they show."""

import doctest
import pathlib
import re

import numpy as np

import lmfast
import pytest

from lmfast import _batch, _curve_fit, _leastsq, models

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("module", [_leastsq, _curve_fit, _batch, models], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0, f"{module.__name__} has no examples"
    assert failures == 0


def test_readme_example_runs():
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL).group(1)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README example
    p = namespace["p"]
    np.testing.assert_allclose(p, [3.0, 0.4, 1.2, 0.5], rtol=1e-6)
    assert namespace["ier"] in (1, 2, 3, 4)


def test_readme_batch_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    code = next(b for b in blocks if "res = curve_fit_batch(models.gaussian" in b)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README example
    res, truth = namespace["res"], namespace["truth"]
    assert res.success.all()
    np.testing.assert_allclose(res.popt, truth, atol=0.05)


def test_readme_robust_loss_example_runs():
    """The README's spiky Gaussians: the robust fits recover the peak the spikes would
    pull a least-squares fit off (its amplitude 5% high there)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    code = next(b for b in blocks if 'loss="soft_l1"' in b)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README example
    popt, robust = namespace["popt"], namespace["robust"]
    truth = np.array([3.0, 0.3, 1.0, 0.2])
    np.testing.assert_allclose(popt, truth, atol=0.03)
    assert robust.success.all()
    assert np.all(np.abs(np.median(robust.popt, axis=0) - truth) < 0.02)
    plain = lmfast.curve_fit_batch(lmfast.models.gaussian, namespace["x"],
                                   namespace["spiky"], [2, 0, 1.5, 0])
    assert np.median(plain.popt[:, 3]) - truth[3] > 0.1  # least squares: lifted offset


def test_readme_bounds_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    batch = next(b for b in blocks if "res = curve_fit_batch(models.gaussian" in b)
    bounded = next(b for b in blocks if 'fixed=["offset"]' in b)
    namespace = {}
    exec(compile(batch, "README.md", "exec"), namespace)  # noqa: S102 - the README example
    exec(compile(bounded, "README.md", "exec"), namespace)  # noqa: S102
    popt, pcov = namespace["popt"], namespace["pcov"]
    np.testing.assert_allclose(popt, namespace["truth"][0], atol=0.05)
    assert popt[3] == 0.5 and not pcov[3].any() and not pcov[:, 3].any()


def test_readme_composite_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    code = next(b for b in blocks if 'lineshapes.model("pseudo_voigt"' in b)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README example
    names = namespace["spectrum"].param_names
    assert names[:3] == ("slope", "intercept", "p0_amplitude") and len(names) == 14


def test_readme_simd_example_runs():
    """The README's instruction-set snippet: every machine has 'baseline', the default is
    the best set listed, and choosing one makes it the one in use."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    code = next(b for b in blocks if "lmfast.set_simd_path(" in b)
    before = lmfast.simd_path()
    assert before == lmfast.simd_paths()[-1]   # chosen at import: the best the CPU has
    try:
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README example
        assert lmfast.simd_paths()[0] == "baseline"
        assert lmfast.simd_path() == "baseline"
    finally:
        lmfast.set_simd_path(before)
    assert lmfast.simd_path() == before
