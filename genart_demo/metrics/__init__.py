"""Metrics as plain functions over tensors or features (stands alone: imports nothing else from genart).

Networks live in submodules imported on use: `metrics.extractors` (FID Inception, timm Inception, DINOv2,
classifier), `metrics.clip` (CLIPScore, R-precision), `metrics.lpips` (LPIPS). Functions named like their module
(`kid`, `prdc`, `inception_score`, `lpips`) are imported from the module (`from genart_demo.metrics.kid import kid`)
so the package never hides a submodule behind a function.
"""

from .base import Extractor, ExtractorInfo
from .classes import classification_accuracy, intra_fid
from .frechet import (
    FeatureStats,
    FrechetReference,
    GaussianStats,
    frechet_distance,
    frechet_distance_features,
    gaussian_stats,
)
from .inception_score import InceptionScoreAccumulator
from .kid import KIDAccumulator
from .pixel import MS_SSIM_WEIGHTS, ms_ssim, ms_ssim_min_side, mse, psnr, ssim
from .prdc import density_coverage, precision_recall
from .refcache import CachedReference, ReferenceCache, content_hash

__all__ = [
    "MS_SSIM_WEIGHTS",
    "CachedReference",
    "Extractor",
    "ExtractorInfo",
    "FeatureStats",
    "FrechetReference",
    "GaussianStats",
    "InceptionScoreAccumulator",
    "KIDAccumulator",
    "ReferenceCache",
    "classification_accuracy",
    "content_hash",
    "density_coverage",
    "frechet_distance",
    "frechet_distance_features",
    "gaussian_stats",
    "intra_fid",
    "ms_ssim",
    "ms_ssim_min_side",
    "mse",
    "precision_recall",
    "psnr",
    "ssim",
]
