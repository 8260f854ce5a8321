"""Build each stand-in once and keep it as a safetensors pipeline (or bare model) folder in a cache directory."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..atomic import atomic_folder
from ..workspace import Workspace
from .table import STANDIN_CLASSES, STANDIN_VERSION


def standin_path(pipeline_class: str, cache_dir: str | os.PathLike) -> Path:
    """Where the stand-in for `pipeline_class` lives (whether or not it has been built yet)."""
    return Workspace(Path(), Path(cache_dir)).standins / f"{pipeline_class}-v{STANDIN_VERSION}"


def is_complete(path: Path) -> bool:
    """True for a finished stand-in folder: a readable model_index.json (pipelines) or config.json (bare models)
    naming a diffusers class."""
    for name in ("model_index.json", "config.json"):
        try:
            index = json.loads((path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(index, dict) and "_class_name" in index:
            return True
    return False


def ensure_standin(pipeline_class: str, cache_dir: str | os.PathLike) -> Path:
    """The folder of the saved stand-in for `pipeline_class`, building it on first use.

    The pipeline is saved into a temporary folder beside the final one and renamed into place, so
    an interrupted build never leaves a folder that looks complete. If another process finishes
    first, its folder is kept and ours is discarded.
    """
    final = standin_path(pipeline_class, cache_dir)
    if pipeline_class in STANDIN_CLASSES and is_complete(final):
        return final
    # lazy: every builder imports torch, diffusers and transformers (seconds); loading a built stand-in needs none
    from .builders import build_standin, builder_for

    builder_for(pipeline_class)  # unknown class: ValueError before anything is written
    if final.exists():  # an incomplete leftover (should not happen with the rename, but be safe)
        shutil.rmtree(final, ignore_errors=True)
    with atomic_folder(final) as tmp:
        build_standin(pipeline_class).save_pretrained(tmp, safe_serialization=True)
    return final
