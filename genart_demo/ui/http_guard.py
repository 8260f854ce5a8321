"""HTTP requests Gradio's file routes would answer with a server error, mended before they reach it (Range headers)."""

from __future__ import annotations

import re
from typing import Any

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

# The forms of Range the file route answers correctly: one range, "bytes=0-99", "bytes=10-" or the last bytes
# "bytes=-500" (Gradio serves "a-b" itself and hands the others to Starlette's FileResponse).
ONE_RANGE = re.compile(rb"bytes=(\d*)-(\d*)")


def is_one_range(value: bytes) -> bool:
    """True for a single well-formed byte range: a first byte, a last byte or both, the last not before the first."""
    match = ONE_RANGE.fullmatch(value.strip())
    if not match or not any(match.groups()):
        return False
    first, last = match.groups()
    return not (first and last) or int(first) <= int(last)


class RangeGuard:
    """ASGI middleware that drops every Range header Gradio cannot answer, so the whole file comes back with 200.

    Gradio's file route splits the value on "-" and turns both halves into ints, so several ranges
    ("bytes=0-0,2-2") or a digit str.isnumeric() accepts but int() refuses ("bytes=²-3") gave HTTP 500, and a
    reversed range ("bytes=5-2") one wrong byte. RFC 9110 §14.2 lets a server ignore Range (and requires it for a
    unit it does not know), which is simpler than multipart/byteranges and as correct; one range keeps its 206."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            ranges = [value for name, value in scope["headers"] if name == b"range"]
            if ranges and (len(ranges) > 1 or not is_one_range(ranges[0])):
                scope = {**scope, "headers": [(n, v) for n, v in scope["headers"] if n != b"range"]}
        await self.app(scope, receive, send)


def guarded_app_kwargs() -> dict[str, Any]:
    """Gradio launch(app_kwargs=...): the FastAPI app it builds runs every request through the guards above."""
    return {"middleware": [Middleware(RangeGuard)]}
