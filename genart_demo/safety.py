"""Safety checkers: what a pipeline's checker said about each image it returned, and how pipelines load one.

Some checkpoints (the Stable Diffusion 1.x family, InstructPix2Pix) ship a `safety_checker`. diffusers runs it on
every image and returns a black image in place of each one it flags, with `nsfw_content_detected` saying which
(a list of bools, or None when no checker ran). genart records that per image as `nsfw_flagged` in the run
settings: True (flagged; the pixels are black), False (checked, passed) or None (not checked).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

FLAGGED_TEXT = "flagged by the safety checker (blacked out)"  # how a flagged image is described to people


def nsfw_flags(output: Any, count: int) -> list[bool | None]:
    """Per image of a pipeline output: True when its safety checker flagged the image, False when it passed,
    None when nothing checked it (no checker, one loaded off, or an output type that skips the check)."""
    flags = getattr(output, "nsfw_content_detected", None)
    if flags is None:
        return [None] * count
    flags = list(flags)  # a list of bools, or an array / tensor of them
    return [bool(flags[i]) if i < len(flags) else None for i in range(count)]


def images_and_flags(output: Any) -> tuple[list, list[bool | None]]:
    """(images, one nsfw flag per image) of a diffusers image pipeline's output."""
    images = list(output.images)
    return images, nsfw_flags(output, len(images))


def any_flagged(flags: Iterable[bool | None]) -> bool | None:
    """One flag for an output made by several pipeline calls (an upscale's tiles): True when any call flagged it,
    False when all were checked or some were and none flagged, None when none was checked."""
    seen = [f for f in flags if f is not None]
    return any(seen) if seen else None


def flag_caption(flag: bool | None) -> str:
    """What a caption adds for an image: the warning when it was flagged, nothing otherwise."""
    return f" · ⚠ {FLAGGED_TEXT}" if flag is True else ""


def safety_checker_kwargs(pipeline_class: type, policy: str) -> dict[str, Any]:
    """`from_pretrained` arguments for the GENART_SAFETY_CHECKER policy (settings.SAFETY_CHECKER_POLICIES):
    "checkpoint" adds none, so a checker the repo ships is loaded; "off" loads a pipeline class that takes a
    checker without one (and tells diffusers that is meant). Classes without a checker get nothing either way."""
    if policy != "off":
        return {}
    params = inspect.signature(pipeline_class.__init__).parameters
    if "safety_checker" not in params:
        return {}
    kwargs: dict[str, Any] = {"safety_checker": None}
    if "requires_safety_checker" in params:
        kwargs["requires_safety_checker"] = False
    return kwargs
