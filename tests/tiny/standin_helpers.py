"""Helpers the stand-in tests share: load a stand-in as a Hub checkpoint is loaded, and a test image."""

from pathlib import Path

import diffusers
import numpy as np
from PIL import Image

from genart_demo.tiny import STANDIN_MODELS, standin_class_name
from genart_demo.tiny.store import ensure_standin


def load(key: str, cache_dir: Path) -> diffusers.DiffusionPipeline | diffusers.ModelMixin:
    """Ensure the stand-in and load it the way a Hub checkpoint is loaded (with the key's diffusers class)."""
    path = ensure_standin(key, cache_dir)
    pipe = getattr(diffusers, standin_class_name(key)).from_pretrained(path, use_safetensors=True)
    if key not in STANDIN_MODELS:  # bare models (autoencoders) have no progress bar
        pipe.set_progress_bar_config(disable=True)
    return pipe


def gradient_image(size: int) -> Image.Image:
    """A deterministic `size` x `size` RGB test image."""
    return Image.fromarray(np.linspace(0, 255, size * size * 3).reshape(size, size, 3).astype(np.uint8))
