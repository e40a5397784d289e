"""The .pyi stubs beside the compiled modules match the modules (mypy's stubtest)."""

import pathlib
import subprocess
import sys

import lmfast

COMPILED = sorted(p.name.split(".")[0] for p in pathlib.Path(lmfast.__file__).parent.glob("_*.so"))
ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_compiled_module_has_a_stub():
    folder = pathlib.Path(lmfast.__file__).parent
    assert COMPILED, "no compiled modules found"
    missing = [name for name in COMPILED if not (folder / f"{name}.pyi").exists()]
    assert not missing


def test_stubs_match_the_compiled_modules():
    command = [
        sys.executable, "-m", "mypy.stubtest",
        "--mypy-config-file", str(ROOT / "pyproject.toml"),
        "--allowlist", str(ROOT / "tests" / "stubtest_allowlist.txt"),
        *(f"lmfast.{name}" for name in COMPILED),
    ]
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_py_typed_marker_is_shipped():
    assert (pathlib.Path(lmfast.__file__).parent / "py.typed").exists()
