"""The one rule that turns a model id or path into the cache-id part of a metric network's id (imports nothing heavy)."""

from __future__ import annotations

import re


def model_slug(text: str) -> str:
    """ "openai/clip-vit-base-patch16" -> "openai-clip-vit-base-patch16": lower case, runs of other characters as "-"."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


__all__ = ["model_slug"]
