"""What every feature extractor offers the metrics: an id for caches, a description for results, a call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch


@dataclass(frozen=True)
class ExtractorInfo:
    """How a number was produced; every metric result carries one."""

    id: str  # stable cache key, e.g. "fid-inception-tf2015" or "standin-inception"; changes when weights change
    name: str  # what people read, e.g. "FID Inception v3 (TF 2015-12-05 port), pool3"
    dim: int  # feature width, e.g. 2048
    resize: str  # the resize convention, e.g. "bilinear to 299x299 (TF1-exact, torch-fidelity)"
    standin: bool  # True for a tiny random-weight stand-in: numbers are for testing only

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "dim": self.dim, "resize": self.resize, "standin": self.standin}


@runtime_checkable
class Extractor(Protocol):
    """Maps uint8 images (B, 3, H, W) in [0, 255] to features; any H, W (the extractor resizes)."""

    info: ExtractorInfo

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"features": (B, dim) float} and, where the network has a classifier head, {"logits": (B, K)}."""
        ...


def check_uint8_images(images: torch.Tensor) -> torch.Tensor:
    """Refuse anything but a (B, 3, H, W) uint8 batch, with a message saying what was given."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"extractors take uint8 images shaped (B, 3, H, W); got {shape}")
    if images.dtype != torch.uint8:
        raise ValueError(f"extractors take uint8 images in [0, 255]; got dtype {images.dtype}")
    return images


__all__ = ["Extractor", "ExtractorInfo", "check_uint8_images"]
