"""The picture of an X/Y/Z grid: cells in rows and columns with their axis legends; Z values stack as blocks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from ..atomic import atomic_write

GRID_KEY = "genart-grid"  # the PNG text chunk holding the grid's axes and cells (cells keep their own `genart` chunk)
BACKGROUND = (255, 255, 255)
MISSING = (225, 225, 225)  # a cell not made (the grid was stopped first)
INK = (0, 0, 0)
PAD = 6  # pixels around legend text

Cell = tuple[int, int, int]  # (x, y, z) index


def _font(cell_height: int) -> ImageFont.ImageFont:
    """A legend font that scales with the cells: about 1/12 of their height, 12 to 40 px."""
    return ImageFont.load_default(max(12, min(40, cell_height // 12)))


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    """`text` broken into lines no wider than `width` px where words allow (a longer word keeps its own line)."""
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return "\n".join(lines)


def _text_box(draw: ImageDraw.ImageDraw, text: str, font: Any) -> tuple[int, int]:
    left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font)
    return right - left + 2 * PAD, bottom - top + 2 * PAD


def draw_grid(
    images: Mapping[Cell, Image.Image | None],
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    z_labels: Sequence[str] = ("",),
) -> Image.Image:
    """One RGB image: per Z value a block (headed by its label when there is a Z axis) of len(y) rows x len(x) columns,
    X labels above the columns and Y labels left of the rows. Each column is as wide as its widest cell and each row as
    tall as its tallest, so cells of several sizes (a size or model axis) sit whole, centred; a missing cell is grey."""
    made = [im for im in images.values() if im is not None]
    fallback = made[0].size if made else (64, 64)
    size = {k: (im.size if im is not None else fallback) for k, im in images.items()}
    widths = [
        max(size[(x, y, z)][0] for y in range(len(y_labels)) for z in range(len(z_labels)))
        for x in range(len(x_labels))
    ]
    heights = [
        max(size[(x, y, z)][1] for x in range(len(x_labels)) for z in range(len(z_labels)))
        for y in range(len(y_labels))
    ]
    font = _font(min(heights))
    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    x_text = [_wrap(scratch, t, font, w - 2 * PAD) for t, w in zip(x_labels, widths)]
    y_text = [_wrap(scratch, t, font, max(widths) - 2 * PAD) for t in y_labels]
    left = max(_text_box(scratch, t, font)[0] for t in y_text)
    top = max(_text_box(scratch, t, font)[1] for t in x_text)
    z_head = max(_text_box(scratch, t, font)[1] for t in z_labels) if any(z_labels) else 0
    block = z_head + top + sum(heights)
    canvas = Image.new("RGB", (left + sum(widths), block * len(z_labels)), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for z, z_label in enumerate(z_labels):
        y0 = z * block
        if z_label:
            draw.multiline_text((PAD, y0 + PAD), z_label, fill=INK, font=font)
        for x, text in enumerate(x_text):
            w, h = _text_box(draw, text, font)
            cx = left + sum(widths[:x]) + (widths[x] - w) // 2
            draw.multiline_text((cx + PAD, y0 + z_head + top - h + PAD), text, fill=INK, font=font, align="center")
        for y, text in enumerate(y_text):
            row_top = y0 + z_head + top + sum(heights[:y])
            w, h = _text_box(draw, text, font)
            draw.multiline_text((PAD, row_top + (heights[y] - h) // 2 + PAD), text, fill=INK, font=font)
            for x in range(len(x_labels)):
                cw, ch = size[(x, y, z)]
                at = (left + sum(widths[:x]) + (widths[x] - cw) // 2, row_top + (heights[y] - ch) // 2)
                image = images[(x, y, z)]
                if image is None:
                    draw.rectangle([at, (at[0] + cw - 1, at[1] + ch - 1)], fill=MISSING)
                else:
                    canvas.paste(image.convert("RGB"), at)
    return canvas


def save_grid_png(image: Image.Image, path: Path, metadata: Mapping[str, Any]) -> Path:
    """Write the grid picture with its axes and cells as JSON in the GRID_KEY chunk; atomic."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(GRID_KEY, json.dumps(dict(metadata), sort_keys=True, default=str))
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG", pnginfo=info))


def read_grid_metadata(path: str | Path) -> dict[str, Any] | None:
    """The GRID_KEY JSON of a grid PNG; None for any other PNG."""
    with Image.open(path) as image:
        text = getattr(image, "text", None) or image.info
        return json.loads(text[GRID_KEY]) if GRID_KEY in text else None
