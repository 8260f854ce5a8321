"""Fitting images to model sizes: exact sizes, what people are told, and impossible requests refused."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.imagefit import fit_image, fit_to_multiple


@pytest.mark.parametrize("mode", ["resize", "crop", "pad"])
@pytest.mark.parametrize("source", [(1000, 750), (300, 900), (512, 512), (17, 5)])
def test_fit_image_gives_exact_sizes(mode: str, source: tuple[int, int]) -> None:
    out, notes = fit_image(Image.new("RGB", source, (200, 10, 10)), 512, 384, mode=mode)
    assert out.size == (512, 384) and out.mode == "RGB"
    assert len(notes) == 1 and notes[0].startswith(f"resized from {source[0]}×{source[1]}")


def test_fit_image_notes_and_contents() -> None:
    image = Image.new("RGB", (1000, 750), (0, 0, 0))
    _, notes = fit_image(image, 512, 512)
    assert notes == ["resized from 1000×750 to 512×512 (aspect ratio changed)"]
    _, notes = fit_image(image, 400, 300)
    assert notes == ["resized from 1000×750 to 400×300"]
    cropped, notes = fit_image(image, 512, 512, mode="crop")
    assert notes == ["resized from 1000×750 to 683×512, centre-cropped to 512×512"]
    assert np.asarray(cropped).max() == 0  # covered: no background shows
    padded, notes = fit_image(image, 512, 512, mode="pad")
    assert notes == ["resized from 1000×750 to 512×384, padded to 512×512"]
    values = np.asarray(padded)
    assert values[:64].min() == 255 and values[-64:].min() == 255 and values[64:-64].max() == 0
    same, notes = fit_image(image, 1000, 750, mode="crop")
    assert same.size == (1000, 750) and notes == []


def test_fit_image_unknown_mode_lists_allowed() -> None:
    with pytest.raises(InputError, match=r"Fit mode 'stretch' is not known\. Allowed: resize, crop, pad\."):
        fit_image(Image.new("RGB", (8, 8)), 4, 4, mode="stretch")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((1000, 750), (1000, 744)),  # fits already: only cropped to multiples of 8
        ((2000, 1500), (1024, 768)),  # scaled down so the long side is 1024
        ((3001, 1999), (1024, 680)),  # 1024×682 -> cropped 2 px
        ((513, 517), (512, 512)),  # no scaling, 1 and 5 px cropped
        ((40, 30), (80, 64)),  # below min_side: scaled up so the short side is 64
        ((64, 64), (64, 64)),  # untouched
    ],
)
def test_fit_to_multiple_sizes(source: tuple[int, int], expected: tuple[int, int]) -> None:
    out, notes = fit_to_multiple(Image.new("RGB", source))
    assert out.size == expected
    assert all(side % 8 == 0 and 64 <= side <= 1024 for side in out.size)
    assert all(
        source_side - side < 8
        for source_side, side in zip(source, expected)
        if source_side <= 1024 and min(source) >= 64
    )
    assert bool(notes) == (source != expected)


def test_fit_to_multiple_notes_and_other_multiples() -> None:
    _, notes = fit_to_multiple(Image.new("RGB", (2000, 1500)))
    assert notes == ["resized from 2000×1500 to 1024×768"]
    _, notes = fit_to_multiple(Image.new("RGB", (513, 517)))
    assert notes == ["centre-cropped from 513×517 to 512×512 (sides must be multiples of 8)"]
    out, _ = fit_to_multiple(Image.new("RGB", (1000, 1000)), 64, max_side=768)
    assert out.size == (768, 768)


def test_fit_to_multiple_refuses_impossible_aspect_ratios() -> None:
    with pytest.raises(InputError, match="too elongated.*Allowed: an aspect ratio up to about 16:1"):
        fit_to_multiple(Image.new("RGB", (4000, 10)))
    with pytest.raises(InputError, match="Allowed: multiple ≤ max_side"):
        fit_to_multiple(Image.new("RGB", (64, 64)), min_side=2048)
