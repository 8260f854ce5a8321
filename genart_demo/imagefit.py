"""Fitting images to the sizes models take: resize, centre-crop or pad to a size, or to multiples of a factor."""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

from PIL import Image

from .errors import InputError

FIT_MODES = ("resize", "crop", "pad")
ALPHA_BACKGROUND = (255, 255, 255)  # transparent pixels are flattened onto white when images load; padding is white


def check_size_arg(size: Any, what: str) -> tuple[int, int]:
    """(width, height) as ints; InputError naming `what` unless it is two positive whole numbers."""
    ok = isinstance(size, (tuple, list)) and len(size) == 2
    ok = ok and all(isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in size)
    if not ok:
        raise InputError(f"{what} {size!r} is not a size. Allowed: (width, height), two positive whole numbers.")
    return int(size[0]), int(size[1])


def size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def same_aspect(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """True when b is a (rounded) scaling of a: each side predicted from the other is within one pixel."""
    return abs(a[0] * b[1] / a[1] - b[0]) <= 1 or abs(a[1] * b[0] / a[0] - b[1]) <= 1


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)


def _fill(image: Image.Image) -> Any:
    if image.mode == "RGB":
        return tuple(ALPHA_BACKGROUND)
    if image.mode == "RGBA":
        return tuple(ALPHA_BACKGROUND) + (255,)
    return 0  # masks and grayscale: padding is "keep" / black


def fit_image(image: Image.Image, width: int, height: int, *, mode: str = "resize") -> tuple[Image.Image, list[str]]:
    """Bring an image to exactly width×height by "resize" (stretch), "crop" (cover + centre-crop) or "pad" (fit + pad)."""
    target = check_size_arg((width, height), "The target size")
    if mode not in FIT_MODES:
        raise InputError(f"Fit mode {mode!r} is not known. Allowed: {', '.join(FIT_MODES)}.")
    source = image.size
    if source == target:
        return image, []
    if mode == "resize":
        aspect = "" if same_aspect(source, target) else " (aspect ratio changed)"
        return _resize(image, target), [f"resized from {size_text(source)} to {size_text(target)}{aspect}"]
    if mode == "crop":
        scale = max(target[0] / source[0], target[1] / source[1])
        covered = tuple(max(t, s) for t, s in zip(target, _scaled(source, scale)))
        left, top = (covered[0] - target[0]) // 2, (covered[1] - target[1]) // 2
        out = _resize(image, covered).crop((left, top, left + target[0], top + target[1]))
        how = f"resized from {size_text(source)} to {size_text(covered)}"
        cut = "" if covered == target else f", centre-cropped to {size_text(target)}"
        return out, [how + cut]
    scale = min(target[0] / source[0], target[1] / source[1])
    inner = tuple(min(t, s) for t, s in zip(target, _scaled(source, scale)))
    canvas = Image.new(image.mode, target, _fill(image))
    canvas.paste(_resize(image, inner), ((target[0] - inner[0]) // 2, (target[1] - inner[1]) // 2))
    pad = "" if inner == target else f", padded to {size_text(target)}"
    return canvas, [f"resized from {size_text(source)} to {size_text(inner)}{pad}"]


def _floor_to(value: int, multiple: int) -> int:
    return value - value % multiple


def _ceil_to(value: int, multiple: int) -> int:
    return math.ceil(value / multiple) * multiple


def fit_to_multiple(
    image: Image.Image, multiple: int = 8, *, min_side: int = 64, max_side: int = 1024
) -> tuple[Image.Image, list[str]]:
    """Scale so the longer side <= max_side (up only when below min_side), then centre-crop sides to a multiple."""
    for name, value in (("multiple", multiple), ("min_side", min_side), ("max_side", max_side)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{name}={value!r} is not allowed. Allowed: a positive whole number.")
    if not multiple <= max_side or not min_side <= max_side:
        raise InputError(
            f"min_side={min_side}, max_side={max_side}, multiple={multiple} are inconsistent. "
            "Allowed: multiple ≤ max_side and min_side ≤ max_side."
        )
    source = image.size
    scale = min(1.0, max_side / max(source))
    scaled = _scaled(source, scale)
    if min(_floor_to(s, multiple) for s in scaled) < min_side:
        scaled = _scaled(source, _ceil_to(min_side, multiple) / min(source))
    final = (_floor_to(scaled[0], multiple), _floor_to(scaled[1], multiple))
    if min(final) < min_side or max(final) > max_side:
        raise InputError(
            f"The image is {size_text(source)}, too elongated to fit sides between {min_side} and {max_side} "
            f"pixels in multiples of {multiple}. Allowed: an aspect ratio up to about "
            f"{max_side // _ceil_to(min_side, multiple)}:1."
        )
    notes = []
    if scaled != source:
        notes.append(f"resized from {size_text(source)} to {size_text(scaled)}")
    out = _resize(image, scaled)
    if final != scaled:
        left, top = (scaled[0] - final[0]) // 2, (scaled[1] - final[1]) // 2
        out = out.crop((left, top, left + final[0], top + final[1]))
        notes.append(
            f"centre-cropped from {size_text(scaled)} to {size_text(final)} (sides must be multiples of {multiple})"
        )
    return out, notes
