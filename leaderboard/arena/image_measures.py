"""What a vote may follow apart from the model: each side's brightness, contrast, saturation and generation time."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from genart_demo.atomic import atomic_write
from genart_demo.media import read_png_settings

MEASURES = ("brightness", "contrast", "saturation")  # measured from the pixels, each 0 to 1
GENERATION_TIME = "generation_s"  # seconds to make the image, where its PNG settings record them
SAME = 1e-9  # sides whose measures differ by less are taken as equal (a flat image's luma sd is ~1e-17, not 0)
SECONDS_KEY = "seconds"  # the key of the generation time among a PNG's settings (RunSettings.extra)
TIMING_SUFFIX = ".seconds"  # beside an arena output (any file type): the seconds its model took to make it


def measure_image(image: Image.Image) -> dict[str, float]:
    """brightness = mean luma, contrast = standard deviation of luma (ITU-R 601 weights, as PIL's "L"), saturation =
    mean HSV saturation; all on 0..1, so a grey image has saturation 0 and a black-and-white checkerboard contrast
    0.5."""
    rgb = image.convert("RGB")
    luma = np.asarray(rgb.convert("L"), dtype=np.float64) / 255.0  # (H, W)
    saturation = np.asarray(rgb.convert("HSV"), dtype=np.float64)[..., 1] / 255.0  # (H, W)
    return {"brightness": float(luma.mean()), "contrast": float(luma.std()), "saturation": float(saturation.mean())}


def timing_file(path: Path) -> Path:
    """Where the arena keeps the generation time of the output at `path`: <name>.seconds beside it."""
    path = Path(path)
    return path.with_name(path.name + TIMING_SUFFIX)


def record_seconds(path: Path, seconds: float) -> Path:
    """Write the generation time of the output that will be at `path` (before the output itself is put there, so a
    reader that sees the output also sees its time)."""
    return atomic_write(timing_file(path), f"{float(seconds):.6f}\n")


def generation_seconds(path: Path) -> float | None:
    """The seconds the output took to make: from its timing file (record_seconds), else from its PNG settings; None
    when neither says."""
    path = Path(path)
    try:
        value = timing_file(path).read_text(encoding="utf-8").strip()
    except OSError:
        value = None
    if value is None and path.suffix.lower() == ".png":
        settings = read_png_settings(path)
        value = (settings.extra if settings is not None else {}).get(SECONDS_KEY)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@functools.lru_cache(maxsize=4096)
def _measured(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, float | None], ...]:
    """measure_image and generation_seconds of one file, remembered by (path, mtime, size): a file rewritten is read
    again. A file that is not an image gives NaN measures."""
    try:
        with Image.open(path) as image:
            measures = measure_image(image)
    except (OSError, ValueError):
        measures = dict.fromkeys(MEASURES, math.nan)
    try:
        seconds = generation_seconds(Path(path))
    except (OSError, ValueError):
        seconds = None
    return tuple(measures.items()) + ((GENERATION_TIME, seconds),)


def measure_file(path: Path) -> dict[str, float | None]:
    """The measures (MEASURES and GENERATION_TIME, None where unknown) of one image file, cached by file."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return {**dict.fromkeys(MEASURES, math.nan), GENERATION_TIME: None}
    return dict(_measured(str(path), stat.st_mtime_ns, stat.st_size))


def side_measures(paths: Iterable[Path]) -> dict[str, float]:
    """The mean of each measure over one side's images (NaN where none of them has it)."""
    rows = [measure_file(p) for p in paths]
    out = {}
    for name in (*MEASURES, GENERATION_TIME):
        values = [r[name] for r in rows if r[name] is not None and not math.isnan(r[name])]
        out[name] = float(np.mean(values)) if values else math.nan
    return out


def vote_covariates(
    votes: pd.DataFrame, outputs: Mapping[str, tuple[Sequence[str], Sequence[str]]], absolute: Callable
) -> pd.DataFrame:
    """The votes with <measure>_a and <measure>_b columns for every measure: each side's images found by the
    vote's battle_id in `outputs` (battle id -> (outputs_a, outputs_b), paths `absolute` resolves); NaN where a
    battle or its images are missing."""
    columns: dict[str, list[float]] = {f"{m}_{s}": [] for m in (*MEASURES, GENERATION_TIME) for s in "ab"}
    for battle_id in votes["battle_id"].astype(str) if len(votes) else ():
        sides = outputs.get(battle_id, ((), ()))
        for side, rels in zip("ab", sides):
            measured = side_measures(absolute(rels))
            for name, value in measured.items():
                columns[f"{name}_{side}"].append(value)
    return votes.assign(**{name: pd.Series(values, index=votes.index, dtype=float) for name, values in columns.items()})


def usable_covariates(votes: pd.DataFrame) -> list[str]:
    """The measures known for both sides of at least one vote and differing between the sides of some vote; one
    missing for every vote (generation time where no PNG records it) or always equal on both sides (saturation of
    grey images) says nothing and is skipped."""
    names = []
    for name in (*MEASURES, GENERATION_TIME):
        pair = [f"{name}_a", f"{name}_b"]
        if all(c in votes.columns for c in pair):
            known = votes[pair].dropna()
            if ((known[pair[0]] - known[pair[1]]).abs() > SAME).any():
                names.append(name)
    return names


__all__ = [
    "GENERATION_TIME",
    "MEASURES",
    "SECONDS_KEY",
    "generation_seconds",
    "record_seconds",
    "timing_file",
    "measure_file",
    "measure_image",
    "side_measures",
    "usable_covariates",
    "vote_covariates",
]
