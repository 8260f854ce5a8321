"""Video metrics over uint8 frames (T, 3, H, W): flicker, motion smoothness, frame consistency and Fréchet video distance.

Definitions, and where they come from (Vchitect/VBench@03c285a and @00c4b29, read through the code search):

- **Temporal flickering** (VBench `vbench/temporal_flickering.py`): the mean absolute difference of consecutive frames
  on the 0..255 scale, averaged over pairs, reported as (255 - mean) / 255; 1.0 for a still video.
- **Motion smoothness** (VBench `vbench/motion_smoothness.py`): keep frames 0, 2, 4, …, interpolate the midpoint of
  each kept pair, compare with the dropped odd frames as (255 - mean absolute difference) / 255. VBench interpolates
  with the AMT-S network; our default interpolator is the *midpoint average* of the two neighbours (no weights), so
  the default number is "midpoint-average smoothness", a proxy: it is 1.0 exactly when brightness changes linearly in
  time, and it punishes real motion more than AMT does. Any `Interpolator` can be passed in its place.
- **Frame consistency** (`consecutive_consistency`): the mean cosine of consecutive frames' features (CLIP in the Video
  tab, as CLIP-based "temporal consistency" is usually reported).
- **Subject consistency** (VBench `vbench/subject_consistency.py`): for frames i ≥ 1 of unit features f,
  (max(0, cos(f[i-1], f[i])) + max(0, cos(f[0], f[i]))) / 2, averaged over the T - 1 frames. VBench uses DINO v1
  ViT-B/16 (`torch.hub` facebookresearch/dino `dino_vitb16`) with a shorter-side resize to 224 and no crop; genart
  uses its DINOv2 extractor (`metrics.extractors.DinoV2`, bicubic 224x224): same formula, different features, so
  numbers are not VBench's.
- **FVD** (Unterthiner et al. 2018): the Fréchet distance (`metrics.frechet`) between Gaussians fitted to one feature
  vector per video. The standard FVD uses I3D features trained on Kinetics-400; genart offers a transformers VideoMAE
  Kinetics-400 classifier and a tiny stand-in (`metrics.video_extractors`), so its FVD is "FVD-VideoMAE", not
  comparable with published I3D numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from .base import Extractor, ExtractorInfo
from .frechet import frechet_distance_features

Interpolator = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # uint8 (N, 3, H, W) x2 -> uint8 midpoints
FEATURE_BATCH = 16  # frames per extractor call


@runtime_checkable
class VideoExtractor(Protocol):
    """Maps uint8 videos (B, T, 3, H, W) in [0, 255] to one feature vector per video; any T, H, W."""

    info: ExtractorInfo

    def __call__(self, videos: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"features": (B, dim) float}."""
        ...


def check_video(video: torch.Tensor, min_frames: int = 2, what: str = "video") -> torch.Tensor:
    """Refuse anything but uint8 frames (T, 3, H, W) with at least min_frames frames, saying what was given."""
    if not isinstance(video, torch.Tensor) or video.dim() != 4 or video.shape[1] != 3:
        shape = tuple(video.shape) if isinstance(video, torch.Tensor) else type(video).__name__
        raise ValueError(f"{what} must be uint8 frames shaped (T, 3, H, W); got {shape}")
    if video.dtype != torch.uint8:
        raise ValueError(f"{what} must be uint8 frames in [0, 255]; got dtype {video.dtype}")
    if video.shape[0] < min_frames:
        raise ValueError(f"{what} needs at least {min_frames} frames; got {video.shape[0]}")
    return video


def frames_from_hwc(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8, as genart's video task and `video.read_frames` give, -> (T, 3, H, W) uint8."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)


def _score_from_mae(mae: float) -> float:
    return (255.0 - mae) / 255.0


def temporal_flicker(video: torch.Tensor) -> float:
    """VBench temporal flickering: (255 - mean |frame[t+1] - frame[t]|) / 255; 1.0 still, 0.0 black/white alternation."""
    x = check_video(video).double()  # (T, 3, H, W)
    per_pair = (x[1:] - x[:-1]).abs().mean(dim=(1, 2, 3))  # (T-1,)
    return _score_from_mae(per_pair.mean().item())


def midpoint_average(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """The weight-free interpolator: the rounded mean of the two neighbouring frames, uint8."""
    return ((before.double() + after.double()) / 2).round().to(torch.uint8)


def motion_smoothness(video: torch.Tensor, interpolate: Interpolator = midpoint_average) -> float:
    """VBench's motion-smoothness protocol with a swappable interpolator (default: `midpoint_average`, a proxy).

    Frames 0, 2, 4, … are kept; each pair of kept neighbours predicts the odd frame between them; the score is
    (255 - mean absolute error of those predictions) / 255.
    """
    x = check_video(video, min_frames=3)
    kept, dropped = x[0::2], x[1::2]  # (ceil(T/2), ...), (floor(T/2), ...)
    predicted = interpolate(kept[:-1], kept[1:])  # (ceil(T/2) - 1, 3, H, W)
    truth = dropped[: predicted.shape[0]]
    per_frame = (predicted.double() - truth.double()).abs().mean(dim=(1, 2, 3))
    return _score_from_mae(per_frame.mean().item())


def _unit_rows(features: torch.Tensor | np.ndarray, min_rows: int = 2) -> torch.Tensor:
    f = torch.as_tensor(features).double()
    if f.dim() != 2 or f.shape[0] < min_rows:
        raise ValueError(f"frame features must be (T, D) with T >= {min_rows}; got {tuple(f.shape)}")
    return f / f.norm(dim=1, keepdim=True)


def consecutive_consistency(features: torch.Tensor | np.ndarray) -> float:
    """Mean cosine similarity of consecutive frames' features (T, D): 1.0 when every frame looks the same."""
    f = _unit_rows(features)
    return (f[1:] * f[:-1]).sum(1).mean().item()


def subject_consistency(features: torch.Tensor | np.ndarray) -> float:
    """VBench subject consistency of frame features (T, D): mean over i >= 1 of the clamped cosines with the previous
    frame and with the first frame, averaged."""
    f = _unit_rows(features)
    previous = (f[1:] * f[:-1]).sum(1).clamp(min=0)  # (T-1,)
    first = (f[1:] * f[:1]).sum(1).clamp(min=0)
    return ((previous + first) / 2).mean().item()


def frame_features(video: torch.Tensor, extractor: Extractor, batch_size: int = FEATURE_BATCH) -> torch.Tensor:
    """Per-frame features (T, D) float from an image extractor (CLIP, DINOv2, …)."""
    x = check_video(video, min_frames=1)
    return torch.cat([extractor(chunk)["features"].float().cpu() for chunk in x.split(batch_size)])


def check_videos(videos: torch.Tensor | Sequence[torch.Tensor], what: str) -> list[torch.Tensor]:
    """A (B, T, 3, H, W) uint8 tensor or a list of (T, 3, H, W) uint8 videos (sizes may differ), as a list."""
    items = list(videos)
    if len(items) < 2:
        raise ValueError(f"{what}: FVD fits a Gaussian per set and needs at least 2 videos; got {len(items)}")
    return [check_video(v, min_frames=1, what=f"{what} video {i}") for i, v in enumerate(items)]


def video_features(videos, extractor: VideoExtractor, what: str = "videos") -> np.ndarray:
    """One feature row per video, (N, D) float64: each video goes through the extractor on its own (sizes may vary)."""
    rows = [extractor(v[None])["features"].double().cpu() for v in check_videos(videos, what)]
    return torch.cat(rows).numpy()


def fvd(videos_a, videos_b, extractor: VideoExtractor) -> float:
    """Fréchet video distance between two sets of videos on `extractor`'s per-video features (see module docstring)."""
    fa = video_features(videos_a, extractor, "first set")
    fb = video_features(videos_b, extractor, "second set")
    return frechet_distance_features(fa, fb)


__all__ = [
    "FEATURE_BATCH",
    "Interpolator",
    "VideoExtractor",
    "check_video",
    "check_videos",
    "consecutive_consistency",
    "frame_features",
    "frames_from_hwc",
    "fvd",
    "midpoint_average",
    "motion_smoothness",
    "subject_consistency",
    "temporal_flicker",
    "video_features",
]
