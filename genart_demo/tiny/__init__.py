"""Offline stand-ins: tiny random-weight pipelines (and bare autoencoders) of the same diffusers classes as the real models.

The table (classes, sizes, version) imports nothing heavy and is what this package exports; the builders
(`tiny.builders`) and the cache of saved stand-ins (`tiny.store`) import torch, diffusers and transformers, so
callers import them where a stand-in is needed, and the app starts before those libraries load.
"""

from .table import (
    STANDIN_CLASSES,
    STANDIN_FRAMES,
    STANDIN_MODELS,
    STANDIN_SIZES,
    STANDIN_UPSCALE,
    STANDIN_VERSION,
    standin_class_name,
)

__all__ = [
    "STANDIN_CLASSES",
    "STANDIN_FRAMES",
    "STANDIN_MODELS",
    "STANDIN_SIZES",
    "STANDIN_UPSCALE",
    "STANDIN_VERSION",
    "standin_class_name",
]
