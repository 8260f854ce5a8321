"""Reading fields: a dataclass field's annotation (the types it allows, None left out), and whole numbers typed as text."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII only: str.isdigit() also takes '²', which int() refuses


def allowed_types(hint: Any) -> tuple[Any, ...]:
    """`int | None` -> (int,); `str | int | None` -> (str, int); `tuple[int, int]` -> (tuple[int, int],)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(hint) if a is not type(None))
    return (hint,)


def whole_number_text(text: Any) -> int | None:
    """The whole number `text` spells in ASCII digits (surrounding spaces allowed), or None: '²' and other Unicode
    digits that str.isdigit() accepts, and numbers of more than 18 digits, are not numbers here (int() refuses
    the first and takes quadratic time over thousands of the second)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    return int(text) if _DIGITS.fullmatch(text) else None


def unencodable_at(text: str) -> int | None:
    """Where `text` holds a character no encoding can write (a lone UTF-16 surrogate, as a broken copy-paste or
    client can send), or None when it is valid text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None
