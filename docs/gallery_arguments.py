"""The command-line arguments each example runs with in the documentation's gallery."""

import pathlib
import tempfile

#: sys.argv[1:] by example file name; the others run without arguments.
EXAMPLE_ARGUMENTS = {
    "raman_map.py": ["--fits", "900", "--plot",
                     str(pathlib.Path(tempfile.gettempdir()) / "lmfast_raman_map.png")],
    "map_reseed.py": ["--plot",
                      str(pathlib.Path(tempfile.gettempdir()) / "lmfast_map_reseed.png")],
    "lmfit_bridge.py": ["--spectra", "500", "--plot",
                        str(pathlib.Path(tempfile.gettempdir()) / "lmfast_lmfit_bridge.png")],
}


def example_arguments(gallery_conf, script_vars):
    """sys.argv[1:] of an example (sphinx-gallery's ``reset_argv``).

    Parameters
    ----------
    gallery_conf : dict
        sphinx-gallery's configuration.
    script_vars : dict
        What sphinx-gallery knows of the example; ``"src_file"`` is its path.

    Returns
    -------
    list of str
    """
    return EXAMPLE_ARGUMENTS.get(pathlib.Path(script_vars["src_file"]).name, [])
