"""Reading a dataclass field's annotation: the types it allows, with None (an optional value) left out."""

from __future__ import annotations

import types
import typing
from typing import Any


def allowed_types(hint: Any) -> tuple[Any, ...]:
    """`int | None` -> (int,); `str | int | None` -> (str, int); `tuple[int, int]` -> (tuple[int, int],)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(hint) if a is not type(None))
    return (hint,)
