PARAMS: dict[str, tuple[str, ...]]
