"""PNG I/O: images written with their run settings (the genart JSON chunk and the A1111 `parameters` text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO

from PIL import Image, PngImagePlugin

from .atomic import atomic_write
from .run_settings import JSON_KEY, PARAMETERS_KEY, RunSettings


def save_png(image: Image.Image, path: str | Path, settings: RunSettings) -> Path:
    """Write `image` as PNG with both settings chunks; atomic, so a crash never leaves a half-written file."""
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_KEY, settings.parameters_text())
    info.add_itxt(JSON_KEY, json.dumps(settings.to_metadata(), sort_keys=True, default=str))
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG", pnginfo=info))


def read_png_settings(path_or_image: str | Path | BinaryIO | Image.Image) -> RunSettings | None:
    """The settings an image was made with: from genart's JSON chunk if present, else from the A1111 text (any
    tool's), else None."""
    if isinstance(path_or_image, Image.Image):
        return _settings_of(path_or_image)
    with Image.open(path_or_image) as image:
        return _settings_of(image)


def _settings_of(image: Image.Image) -> RunSettings | None:
    text = getattr(image, "text", None) or image.info
    if JSON_KEY in text:
        return RunSettings.from_metadata(json.loads(text[JSON_KEY]))
    if PARAMETERS_KEY in text:
        return RunSettings.from_parameters_text(text[PARAMETERS_KEY])
    return None
