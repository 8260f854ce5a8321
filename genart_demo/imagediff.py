"""Where two images differ: a per-pixel difference map, amplified and colour-mapped, and its summary numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

DIFF_GAIN = 8  # the map shows 8 × |A − B|: a difference of 32 levels (of 255) or more is at the top of the scale
DIFF_THRESHOLD = 8.0  # levels of 255: pixels differing by more count as "differing" in the summary
# The colour scale, low to high: black, purple, red-orange, yellow (an inferno-like ramp, readable in grey too).
_STOPS = np.array([[0, 0, 0], [90, 20, 130], [225, 80, 40], [255, 240, 90]], dtype=np.float64)  # (4, 3)


@dataclass(frozen=True)
class ImageDiff:
    """The difference of B from A. Levels are 0–255; a pixel's difference is the mean over R, G, B of |A − B|."""

    image: Image.Image  # the colour-mapped map, A's size
    mean: float  # mean difference over all pixels
    max: float  # largest pixel difference
    share_above: float  # fraction of pixels differing by more than `threshold`
    threshold: float
    resized_from: tuple[int, int] | None = None  # B's (width, height) when it was resized to A's size to compare


def pixel_difference(a: Image.Image, b: Image.Image) -> np.ndarray:
    """(H, W) float64: the mean over RGB of |A − B| per pixel, 0–255; B must already be A's size."""
    if a.size != b.size:
        raise ValueError(f"pixel_difference needs equal sizes; got {a.size} and {b.size}")
    x = np.asarray(a.convert("RGB"), dtype=np.float64)  # (H, W, 3)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)  # (H, W, 3)
    return np.abs(x - y).mean(axis=2)


def colour_map(levels: np.ndarray, gain: float = DIFF_GAIN) -> Image.Image:
    """(H, W) differences 0–255 as an RGB image: gain × difference, cut at 255, through the _STOPS ramp (0 is black)."""
    t = np.clip(levels * gain / 255.0, 0.0, 1.0) * (len(_STOPS) - 1)  # (H, W) position along the ramp
    low = np.minimum(t.astype(int), len(_STOPS) - 2)
    frac = (t - low)[..., None]  # (H, W, 1)
    rgb = _STOPS[low] * (1 - frac) + _STOPS[low + 1] * frac  # (H, W, 3)
    return Image.fromarray(np.rint(rgb).astype(np.uint8), "RGB")


def image_difference(a: Image.Image, b: Image.Image, threshold: float = DIFF_THRESHOLD) -> ImageDiff:
    """B compared with A; a B of another size is first resized to A's (Lanczos) and `resized_from` says so."""
    resized_from = None
    if b.size != a.size:
        resized_from = b.size
        b = b.convert("RGB").resize(a.size, Image.Resampling.LANCZOS)
    d = pixel_difference(a, b)
    return ImageDiff(
        image=colour_map(d),
        mean=float(d.mean()),
        max=float(d.max()),
        share_above=float((d > threshold).mean()),
        threshold=threshold,
        resized_from=resized_from,
    )


def diff_legend(diff: ImageDiff, a_name: str, b_name: str, a_size: tuple[int, int]) -> str:
    """One plain sentence (no markup: the caller escapes it) saying what the map shows and its numbers."""
    text = (
        f"|{a_name} − {b_name}| per pixel (mean over RGB), shown ×{DIFF_GAIN} from black (identical) to yellow "
        f"({255 // DIFF_GAIN}+ levels): mean {diff.mean:.2f}, max {diff.max:.2f} of 255; "
        f"{diff.share_above:.1%} of pixels differ by more than {diff.threshold:g}."
    )
    if diff.resized_from:
        w, h = diff.resized_from
        text += f" {b_name} ({w}×{h}) was resized to {a_name}'s {a_size[0]}×{a_size[1]} to compare."
    return text
