"""Metrics as plain functions over tensors or features, plus their networks and per-image scorers.

Networks live in submodules imported on use: `metrics.extractors` (FID Inception, timm Inception, DINOv2,
classifier), `metrics.clip` (CLIPScore, R-precision), `metrics.lpips` (LPIPS), `metrics.cmmd` (CMMD),
`metrics.video` (video metrics, FVD), and the per-image scorers listed in `metrics.scorers` (PickScore, HPS v2.1,
ImageReward, LAION aesthetic, VQAScore, GenEval). Functions named like their module (`kid`, `prdc`,
`inception_score`, `lpips`) are imported from the module (`from genart_demo.metrics.kid import kid`) so the package
never hides a submodule behind a function.

The names below are resolved on first use (PEP 562), so importing a light submodule such as `metrics.scorers` (the
CLI's and the leaderboard's list of scorers) does not import torch.
"""

from __future__ import annotations

import importlib

_HOMES = {  # exported name -> the submodule that defines it
    "Extractor": "base",
    "ExtractorInfo": "base",
    "classification_accuracy": "classes",
    "intra_fid": "classes",
    "FeatureStats": "frechet",
    "FrechetReference": "frechet",
    "GaussianStats": "frechet",
    "frechet_distance": "frechet",
    "frechet_distance_features": "frechet",
    "gaussian_stats": "frechet",
    "InceptionScoreAccumulator": "inception_score",
    "KIDAccumulator": "kid",
    "MS_SSIM_WEIGHTS": "pixel",
    "ms_ssim": "pixel",
    "ms_ssim_min_side": "pixel",
    "mse": "pixel",
    "psnr": "pixel",
    "ssim": "pixel",
    "density_coverage": "prdc",
    "precision_recall": "prdc",
    "CachedReference": "refcache",
    "ReferenceCache": "refcache",
    "content_hash": "refcache",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = sorted(_HOMES)
