"""Image I/O: PNGs carrying their generation settings (A1111 `parameters` text + a genart JSON chunk)."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Mapping

from PIL import Image, PngImagePlugin

PARAMETERS_KEY = "parameters"  # the text chunk AUTOMATIC1111's webui and its readers use
JSON_KEY = "genart"  # our chunk: every setting as JSON, the exact source for reproduction

# Order and labels of the A1111 "key: value" line; keys are genart setting names.
_A1111_FIELDS = (
    ("steps", "Steps"),
    ("scheduler", "Sampler"),
    ("guidance", "CFG scale"),
    ("seed", "Seed"),
    ("size", "Size"),
    ("model", "Model"),
    ("repo", "Model repo"),
    ("class_label", "Class"),
    ("standin", "Stand-in"),
)


def a1111_parameters(settings: Mapping[str, Any]) -> str:
    """The A1111-compatible `parameters` text for one image's settings.

    Line 1: the prompt; line 2: `Negative prompt: ...` (when there is one); last line: `Steps: 20, Sampler: Euler a, ...`.
    """
    values = dict(settings)
    if values.get("width") and values.get("height"):
        values["size"] = f"{values['width']}x{values['height']}"
    lines = [str(values.get("prompt") or "")]
    if values.get("negative_prompt"):
        lines.append(f"Negative prompt: {values['negative_prompt']}")
    pairs = []
    for key, label in _A1111_FIELDS:
        value = values.get(key)
        if value is None or value == "" or value is False:
            continue
        text = str(value)
        if any(ch in text for ch in ',:"'):
            text = json.dumps(text)  # A1111 quotes values containing separators
        pairs.append(f"{label}: {text}")
    lines.append(", ".join(pairs))
    return "\n".join(lines)


def parse_a1111_parameters(text: str) -> dict[str, Any]:
    """Settings read back from an A1111 `parameters` text (ours or another tool's)."""
    lines = text.strip("\n").split("\n")
    settings: dict[str, Any] = {}
    last = lines[-1] if lines else ""
    if len(lines) >= 1 and re.match(r"^\s*Steps:\s", last):
        body = lines[:-1]
    else:
        body, last = lines, ""
    negative_at = next((i for i, line in enumerate(body) if line.startswith("Negative prompt:")), None)
    if negative_at is None:
        settings["prompt"] = "\n".join(body)
    else:
        settings["prompt"] = "\n".join(body[:negative_at])
        settings["negative_prompt"] = "\n".join(body[negative_at:])[len("Negative prompt:") :].strip()
    labels = {label: key for key, label in _A1111_FIELDS}
    for match in re.finditer(r'\s*([\w \-+]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)', last):
        label, raw = match.group(1).strip(), match.group(2).strip()
        value: Any = json.loads(raw) if raw.startswith('"') else raw
        key = labels.get(label, label)
        if key == "size" and "x" in str(value):
            width, height = str(value).split("x", 1)
            settings["width"], settings["height"] = int(width), int(height)
            continue
        if key in {"steps", "seed"}:
            value = int(value)
        elif key == "guidance":
            value = float(value)
        settings[key] = value
    return settings


def save_png(image: Image.Image, path: str | Path, settings: Mapping[str, Any]) -> Path:
    """Write `image` as PNG with both chunks; atomic, so a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_KEY, a1111_parameters(settings))
    info.add_itxt(JSON_KEY, json.dumps(dict(settings), sort_keys=True, default=str))
    fd, tmp = tempfile.mkstemp(suffix=".png.part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, format="PNG", pnginfo=info)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_png_settings(path_or_image: str | Path | Image.Image) -> dict[str, Any]:
    """The settings an image was made with: our JSON chunk if present, else the A1111 text, else {}."""
    image = path_or_image if isinstance(path_or_image, Image.Image) else Image.open(path_or_image)
    text = getattr(image, "text", None) or image.info
    if JSON_KEY in text:
        return json.loads(text[JSON_KEY])
    if PARAMETERS_KEY in text:
        return parse_a1111_parameters(text[PARAMETERS_KEY])
    return {}
