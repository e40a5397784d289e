# The engine has no Python-level API: it is cimported by the drivers.
