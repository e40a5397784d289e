"""Sphinx configuration of lmfast's documentation.

Build from the repository root, with warnings as errors (as ``.ci/run`` does)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

``LMFAST_DOCS_EXAMPLES=0`` builds the example gallery without running the examples
(their code only), for a quick look at the rest.
"""

import os
import pathlib
import subprocess
import sys

import lmfast

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))  # gallery_arguments

project = "lmfast"
author = "the lmfast developers"
copyright = "the lmfast developers"  # noqa: A001 - Sphinx's name for it
release = lmfast.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]
default_role = "autolink"

# --- API reference: numpydoc renders the docstrings, autosummary makes one page per name --
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# The docstrings' section rules are checked by tests/test_docs.py (numpydoc's validator),
# so that a docstring that breaks them fails the tests, not only the docs build.
numpydoc_validation_checks = set()

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "xarray": ("https://docs.xarray.dev/en/stable", None),
    "dask": ("https://docs.dask.org/en/stable", None),
}
# No network during the build (CI runs offline): the inventories are fetched only when
# LMFAST_DOCS_INTERSPHINX=1, otherwise references to those projects stay plain text.
if os.environ.get("LMFAST_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

# --- MyST (the user guide is Markdown, like the README it grew from) ----------------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# --- The examples: examples/*.py rendered (and run) by sphinx-gallery --------------------
RUN_EXAMPLES = os.environ.get("LMFAST_DOCS_EXAMPLES", "1") != "0"

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",     # run every example, not only plot_*.py
    "plot_gallery": "True" if RUN_EXAMPLES else "False",
    # sys.argv[1:] of each example: sizes that keep the gallery to about a minute (the
    # scripts' defaults are sized for timing, not for a docs build).
    "reset_argv": "gallery_arguments.example_arguments",
    "write_computation_times": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
}

# --- The command lines: their --help, as the programs print it ----------------------------
GENERATED = DOCS / "api" / "generated"
GENERATED.mkdir(parents=True, exist_ok=True)
for name, command in (("lmfast.bench.help", ["lmfast.bench", "--help"]),
                      ("lmfast.bench.list", ["lmfast.bench", "--list"]),
                      ("lmfast.patch.help", ["lmfast.patch", "--help"])):
    text = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True,
                          check=True, env={**os.environ, "COLUMNS": "88"}).stdout
    (GENERATED / f"{name}.txt").write_text(text)

# --- HTML --------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"lmfast {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_context = {"default_mode": "light"}
html_show_sourcelink = False
