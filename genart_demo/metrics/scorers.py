"""Per-image scorers of generated images (human preference, aesthetics, prompt alignment): one protocol, one table.

A scorer maps N images and their N prompts to N numbers. Each lives in its own module (imported on use) that
exposes `load(model_id=None, *, standin=False, local_files_only=False, seed=0, **options)`; `load_scorer(name)`
finds it through SCORERS, so the leaderboard, the Evaluate tab and the agreement table list the same scorers.
A module's default Hub repo lives in that module (its DEFAULT_MODEL), nowhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class ScorerInfo:
    """How a per-image number was produced; every score table carries one per scorer."""

    id: str  # cache key, changes when weights change, e.g. "pickscore-yuvalkirstain-pickscore-v1", "standin-pickscore-seed0"
    name: str  # what people read, e.g. "PickScore (yuvalkirstain/PickScore_v1)"
    metric: str  # the column it fills: a key of SCORERS
    preprocessing: str  # exactly what the images and prompts go through, e.g. "PIL bicubic 224 + centre crop ..."
    scale: str  # what the number means, e.g. "logit_scale·cos (about 18-24 for real images)"
    standin: bool  # True for a tiny random-weight stand-in: numbers are for testing only

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "metric": self.metric,
            "preprocessing": self.preprocessing,
            "scale": self.scale,
            "standin": self.standin,
        }


@runtime_checkable
class ImageScorer(Protocol):
    """N PIL images (any size, converted to RGB by the scorer) and N prompts -> (N,) float64 scores."""

    info: ScorerInfo

    def score(self, images: Sequence, prompts: Sequence[str], batch_size: int = 8) -> np.ndarray: ...

    def to(self, device) -> ImageScorer: ...


@dataclass(frozen=True)
class ScorerEntry:
    """One scorer: its label, the module that loads it, and how to read its numbers."""

    label: str  # column heading, e.g. "PickScore"
    module: str  # imported on use; exposes load(...) -> ImageScorer and DEFAULT_MODEL
    uses_prompt: bool  # False for image-only scorers (the aesthetic predictor)
    higher_is_better: bool = True


SCORERS: dict[str, ScorerEntry] = {
    "pickscore": ScorerEntry("PickScore", "genart_demo.metrics.pickscore", True),
    "hpsv21": ScorerEntry("HPS v2.1", "genart_demo.metrics.hps", True),
    "imagereward": ScorerEntry("ImageReward", "genart_demo.metrics.imagereward", True),
    "aesthetic": ScorerEntry("LAION aesthetic", "genart_demo.metrics.aesthetic", False),
    "vqascore": ScorerEntry("VQAScore", "genart_demo.metrics.vqascore", True),
    "geneval": ScorerEntry("GenEval", "genart_demo.metrics.geneval", True),  # 1/0 per image; needs metadata=
}


def scorer_entry(name: str) -> ScorerEntry:
    """The SCORERS entry for `name`, or a ValueError listing the allowed names."""
    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r} — allowed: {', '.join(SCORERS)}")
    return SCORERS[name]


def load_scorer(
    name: str, model_id: str | None = None, *, standin: bool = False, local_files_only: bool = False, **options
) -> ImageScorer:
    """The scorer `name` (a key of SCORERS) from `model_id` (default: its module's DEFAULT_MODEL), or its stand-in."""
    module = importlib.import_module(scorer_entry(name).module)
    return module.load(model_id, standin=standin, local_files_only=local_files_only, **options)


def check_pairs(images: Sequence, prompts: Sequence[str], what: str) -> None:
    """Refuse anything but N PIL images with N prompt strings, saying what was given."""
    if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
        raise ValueError(f"{what} needs a list of prompt strings, one per image")
    if not isinstance(images, (list, tuple)) or not all(hasattr(im, "convert") for im in images):
        raise ValueError(f"{what} takes a list of PIL images; got {type(images).__name__}")
    if len(images) != len(prompts):
        raise ValueError(f"{what} pairs image i with prompt i; got {len(images)} images and {len(prompts)} prompts")


__all__ = ["SCORERS", "ImageScorer", "ScorerEntry", "ScorerInfo", "check_pairs", "load_scorer", "scorer_entry"]
