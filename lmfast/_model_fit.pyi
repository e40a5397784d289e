# One fit on the LM engine: no Python-level API (cimported by the drivers).
