from collections.abc import Sequence

from typing_extensions import disjoint_base

from lmfast._models import CompiledModel

@disjoint_base
class CompositeTable:
    def __init__(self, components: Sequence[tuple[CompiledModel, int]]) -> None: ...
    @property
    def address(self) -> int: ...
    @property
    def has_jacobian(self) -> bool: ...
    @property
    def has_joint(self) -> bool: ...

def functions() -> tuple[int, int, int]: ...
