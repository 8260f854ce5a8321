"""Draws the studio's example inputs (`python -m genart_demo.examples.make`): pure numpy/PIL, the same pixels every run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import EXAMPLES_DIR, FACADE_LABELS, SCENE, SCENE_MASK, SCENE_SMALL

# The CMP Facade label colours pix2pix-facades was trained on (approximately): one flat colour per part.
BACKGROUND, WALL, WINDOW, DOOR, CORNICE, BALCONY, SILL = (
    (0, 0, 170),
    (0, 85, 255),
    (0, 170, 255),
    (255, 170, 0),
    (170, 255, 85),
    (255, 0, 0),
    (85, 255, 170),
)
HOUSE_BOX = (150, 92, 206, 150)  # the scene's house (left, top, right, bottom): the area the example mask repaints


def facade_labels() -> Image.Image:
    """A 256×256 label map of a four-storey facade: windows with sills, a cornice, balconies and a door."""
    image = Image.new("RGB", (256, 256), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((24, 16, 231, 255), fill=WALL)
    draw.rectangle((20, 16, 235, 30), fill=CORNICE)
    for row, top in enumerate((44, 98, 152)):
        for left in (40, 92, 144, 196):
            draw.rectangle((left, top, left + 22, top + 36), fill=WINDOW)
            draw.rectangle((left - 2, top + 37, left + 24, top + 40), fill=SILL)
        if row == 1:
            draw.rectangle((86, top + 40, 170, top + 46), fill=BALCONY)
    draw.rectangle((110, 206, 146, 255), fill=DOOR)
    return image


def scene() -> Image.Image:
    """A 256×192 photo-like landscape: a graded sky and sun, two rolling hills, a lake and a red-roofed house."""
    h, w = 192, 256
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    sky = np.stack([110 + 90 * y / h, 160 + 70 * y / h, 235 + 0 * y], -1)  # (H, W, 3) deep blue to pale
    sun = np.exp(-(((x - 60) ** 2 + (y - 40) ** 2) / 300.0))[..., None]
    image = sky * (1 - sun) + np.array([255, 240, 190]) * sun
    far = 110 + 12 * np.sin(x / 23.0) + 6 * np.sin(x / 7.0 + 1)
    near = 140 + 14 * np.sin(x / 41.0 + 2)
    shade = (y / h)[..., None]
    image = np.where((y > far)[..., None], np.array([70, 130, 80]) * (1.1 - 0.4 * shade), image)
    image = np.where((y > near)[..., None], np.array([95, 160, 70]) * (1.2 - 0.5 * shade), image)
    lake = ((x - 70) / 60) ** 2 + ((y - 172) / 14) ** 2 < 1
    image = np.where(lake[..., None], np.array([60, 110, 170]) + 20 * np.sin(y / 2.0)[..., None], image)
    out = Image.fromarray(image.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    left, top, right, bottom = HOUSE_BOX
    draw.rectangle((left + 6, top + 22, right - 6, bottom - 6), fill=(225, 205, 170))  # walls
    draw.polygon([(left, top + 24), ((left + right) // 2, top), (right, top + 24)], fill=(170, 50, 40))  # roof
    draw.rectangle((left + 14, top + 32, left + 24, top + 42), fill=(90, 130, 170))  # window
    draw.rectangle((right - 24, top + 32, right - 14, bottom - 6), fill=(110, 70, 40))  # door
    return out


def scene_mask() -> Image.Image:
    """The scene's inpaint mask: white over the house (repaint it), black elsewhere."""
    mask = Image.new("L", scene().size, 0)
    ImageDraw.Draw(mask).rectangle(HOUSE_BOX, fill=255)
    return mask


def scene_small() -> Image.Image:
    """The scene shrunk 4× (box filter, each pixel the mean of 4×4): a low-resolution input for super-resolve."""
    full = scene()
    return full.resize((full.width // 4, full.height // 4), Image.BOX)


MAKERS = {FACADE_LABELS: facade_labels, SCENE: scene, SCENE_MASK: scene_mask, SCENE_SMALL: scene_small}


def write_examples(folder: Path = EXAMPLES_DIR) -> list[Path]:
    """Draw every example into `folder` (the package's own by default); the paths written."""
    written = []
    for path, make in MAKERS.items():
        target = Path(folder) / path.name
        make().save(target, optimize=True)
        written.append(target)
    return written


if __name__ == "__main__":
    for written in write_examples(Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES_DIR):
        print(f"{written} ({written.stat().st_size // 1024} KB)")
