"""Offline stand-ins: tiny random-weight pipelines (and bare autoencoders) of the same diffusers classes as the real models.

The table (classes, sizes, version) imports nothing heavy; the builders (torch, diffusers, transformers)
are imported on first use, so the app can start before those libraries load.
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

_LAZY = {
    "STANDIN_BUILDERS": "builders",
    "build_standin": "builders",
    "supported_classes": "builders",
    "ensure_standin": "store",
    "standin_path": "store",
}

__all__ = [
    "STANDIN_BUILDERS",
    "STANDIN_CLASSES",
    "STANDIN_FRAMES",
    "STANDIN_MODELS",
    "STANDIN_SIZES",
    "STANDIN_UPSCALE",
    "STANDIN_VERSION",
    "build_standin",
    "ensure_standin",
    "standin_class_name",
    "standin_path",
    "supported_classes",
]
assert set(_LAZY) <= set(__all__), "tiny/__init__.py: a lazy name is missing from __all__"


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
