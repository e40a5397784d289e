"""The documentation: the examples in the docstrings and in the README run and print what
they show; every public name has a complete numpydoc docstring and a place in the API
reference (docs/api/*.rst)."""

import doctest
import importlib
import importlib.util
import inspect
import pathlib
import re
import types

import numpy as np

import lmfast
import pytest

from lmfast import (_batch, _curve_fit, _leastsq, _model, _patching, _records, _simd,
                    lineshapes, models)

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
API_PAGES = ROOT / "docs" / "api"

#: The public submodules besides lmfast itself, with the extra each needs.
SUBMODULES = {"lmfast.models": None, "lmfast.lineshapes": None, "lmfast.dask": "dask",
              "lmfast.xarray": "xarray", "lmfast.lmfit": "lmfit"}

#: numpydoc's checks every public docstring passes: it exists and has a summary; every
#: argument is documented (with a type and a description, in the signature's order) and
#: nothing else is; what returns something has a Returns section, described.
NUMPYDOC_CHECKS = ("GL08", "SS01", "PR01", "PR02", "PR03", "PR04", "PR07", "RT01", "RT03")

#: Classes whose instances lmfast makes (curve_fit_batch, lmfast.dask, lmfast.models):
#: their constructors are not public, so their docstrings list attributes, not arguments.
MADE_BY_LMFAST = {"lmfast.BatchResult": "PR01", "lmfast.models.Model": "PR01",
                  "lmfast.dask.DaskBatchResult": "PR01", "lmfast.FitResult": "PR01",
                  "lmfast.MapResult": "PR01", "lmfast.lmfit.LmfitBatchResult": "PR01"}


@pytest.mark.parametrize("module", [_leastsq, _curve_fit, _batch, models, lineshapes, _model,
                                    _records, _simd], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0, f"{module.__name__} has no examples"
    assert failures == 0


#: Objects whose examples doctest.testmod of their module does not run: the built-in models
#: (Model instances, which it does not visit) and the patching functions (lmfast._patching's
#: stand-ins carry SciPy's docstrings, and SciPy's examples, while patched).
SINGLE_OBJECTS = {name: lambda name=name: getattr(models, name)
                  for name in ("gaussian", "lorentzian", "pseudo_voigt", "exponential",
                               "gaussian_2d", "gaussian_2d_elliptic")}
SINGLE_OBJECTS.update({"polynomial3": lambda: models.polynomial(3),
                       "patch": lambda: _patching.patch, "patched": lambda: _patching.patched})


@pytest.mark.parametrize("name", SINGLE_OBJECTS)
def test_docstring_examples_of_single_objects(name):
    obj = SINGLE_OBJECTS[name]()
    (test,) = doctest.DocTestFinder(recurse=False).find(obj, name, globs={})
    assert test.examples, f"{name} has no examples"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


@pytest.mark.parametrize("name", ["lmfast.dask", "lmfast.xarray"])
def test_docstring_examples_of_optional_modules(name):
    pytest.importorskip(SUBMODULES[name])  # the test extra installs both
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0, f"{name} has no examples"
    assert failures == 0


def _installed_submodules():
    """The public submodules whose extra is installed (the test extra installs all)."""
    return [name for name, extra in SUBMODULES.items()
            if extra is None or importlib.util.find_spec(extra) is not None]


def _public_objects():
    """(dotted name, object) of every public callable: lmfast.__all__, the public
    submodules' __all__, the lineshapes' Jacobians, the public methods and properties of
    the public classes (with the accessor's curvefit) and ``python -m lmfast.patch``'s
    main."""
    found = []
    for name in lmfast.__all__:
        # lmfast.patch the function (``import lmfast.patch`` rebinds the attribute to the
        # callable module of the command line).
        obj = _patching.patch if name == "patch" else getattr(lmfast, name)
        if not inspect.ismodule(obj):
            found.append((f"lmfast.{name}", obj))
    for module_name in _installed_submodules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj):
                found.append((f"{module_name}.{name}", obj))
            if inspect.isfunction(getattr(obj, "jac", None)):
                found.append((f"{module_name}.{name}.jac", obj.jac))
    found.append(("lmfast.patch.main", importlib.import_module("lmfast.patch").main))
    for path, cls in list(found):
        if inspect.isclass(cls) and not issubclass(cls, BaseException):
            for name in vars(cls):
                # __slots__' descriptors carry no docstring: the class's Attributes say
                # what they hold.
                if isinstance(vars(cls)[name], types.MemberDescriptorType):
                    continue
                if not name.startswith("_") or name in ("__call__", "__getitem__"):
                    found.append((f"{path}.{name}", getattr(cls, name)))
    return found


PUBLIC = _public_objects()


def test_public_objects_found():
    """The enumeration below covers lmfast.__all__ and the models and lineshapes."""
    names = {path for path, _ in PUBLIC}
    assert {"lmfast.curve_fit_batch", "lmfast.BatchResult.message", "lmfast.models.gaussian",
            "lmfast.lineshapes.voigt.jac", "lmfast.patch.main"} <= names


@pytest.mark.parametrize("path, obj", PUBLIC, ids=[path for path, _ in PUBLIC])
def test_public_docstring_is_numpydoc(path, obj):
    """numpydoc's validator on each public docstring (the checks of NUMPYDOC_CHECKS), so a
    public function without a Parameters section, or with one that has drifted from its
    signature, fails here and not only in a docs build."""
    validate = pytest.importorskip("numpydoc.validate")  # the test extra installs it
    from numpydoc.docscrape import get_doc_object

    result = validate.validate(get_doc_object(obj))
    allowed = MADE_BY_LMFAST.get(path, "")
    errors = [f"{code} {text}" for code, text in result["errors"]
              if code in NUMPYDOC_CHECKS and code not in allowed]
    assert not errors, f"{path}: " + "; ".join(errors)


def _api_reference_names():
    """The names the API reference documents: its autosummary entries (qualified by the
    page's current module) and its automodule targets."""
    names = set()
    for page in sorted(API_PAGES.glob("*.rst")):
        module = "lmfast"
        in_list = False
        for line in page.read_text().splitlines():
            if line.startswith(".. "):
                in_list = line.startswith(".. autosummary::")
                if line.startswith(".. currentmodule::"):
                    module = line.split("::")[1].strip()
                elif line.startswith(".. automodule::"):
                    names.add(line.split("::")[1].strip())
            elif in_list and line.startswith("   ") and not line.strip().startswith(":"):
                entry = line.strip()
                names.add(entry if entry.startswith("lmfast.") else f"{module}.{entry}")
            elif line and not line.startswith(" "):
                in_list = False
    return names


def test_api_reference_lists_every_public_name():
    """docs/api/*.rst lists every name of lmfast.__all__ and of the public submodules'
    __all__ (add a new one to the autosummary list of its page)."""
    documented = _api_reference_names()
    public = {f"lmfast.{name}" for name in lmfast.__all__}
    for module_name in _installed_submodules():
        module = importlib.import_module(module_name)
        public |= {f"{module_name}.{name}" for name in module.__all__}
    missing = sorted(public - documented)
    assert not missing, f"not in docs/api/*.rst: {missing}"
    assert "lmfast.xarray.LmfastAccessor.curvefit" in documented


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


GUIDE = ROOT / "docs" / "user_guide"


def _guide_blocks(page):
    """The Python blocks of a user guide page (the unindented ones: the whole examples)."""
    return re.findall(r"^```python\n(.*?)^```", (GUIDE / page).read_text(), re.DOTALL | re.M)


@pytest.mark.parametrize("page", sorted(p.name for p in GUIDE.glob("*.md")))
def test_user_guide_code_is_python(page):
    for code in _guide_blocks(page):
        compile(code.replace("\n...\n", "\n"), page, "exec")  # "..." elides a user's code


def test_user_guide_bounds_example_runs():
    """The guide's bounded fit with the offset held: the other parameters are the noisy
    peak's, the held one is p0's exactly, with zero rows and columns in pcov."""
    (code,) = _guide_blocks("bounds.md")
    namespace = {}
    exec(compile(code, "bounds.md", "exec"), namespace)  # noqa: S102 - the guide's example
    popt, pcov = namespace["popt"], namespace["pcov"]
    np.testing.assert_allclose(popt[:3], [3.0, 0.4, 1.2], atol=0.05)
    assert popt[3] == 0.5 and not pcov[3].any() and not pcov[:, 3].any()
