"""The evaluate task for videos: per-video flicker, smoothness and consistency rows, and FVD between two folders."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..studio import Studio
from ..video import read_frames
from .common import ProgressFn, workspace_for
from .evaluate import extractor_for
from .evaluate_common import EvalResult, row, write_result

VIDEO_SUFFIXES = (".mp4",)  # what genart's video task writes and `read_frames` decodes
FLICKER = "Temporal flicker"
SMOOTHNESS = "Motion smoothness (midpoint proxy)"
CLIP_CONSISTENCY = "CLIP frame consistency"
DINO_CONSISTENCY = "Subject consistency (DINOv2)"
CONVENTIONS = {
    FLICKER: "VBench temporal flickering: (255 - mean |frame t+1 - frame t|)/255; 1 = still",
    SMOOTHNESS: "VBench motion-smoothness protocol with the midpoint average of frames t±1 in place of AMT",
    CLIP_CONSISTENCY: "mean cosine of consecutive frames' CLIP image embeddings",
    DINO_CONSISTENCY: "VBench subject consistency formula (cos with previous and first frame) on DINOv2 CLS",
}


@dataclass(frozen=True)
class VideoEvalRequest:
    """Folders of .mp4 videos: metrics per video of `videos`, and FVD against `reference` when given."""

    videos: str
    reference: str | None = None


def video_rows(studio: Studio, frames: np.ndarray, subject: str, *, dino: bool = True) -> list[dict]:
    """Rows for one video's frames (F, H, W, 3) uint8: flicker (F >= 2), smoothness (F >= 3), CLIP consistency
    (F >= 2) and, when `dino`, DINOv2 subject consistency. A single frame gets no rows."""
    # lazy: imports torch (seconds); only this path needs it
    from ..metrics.video import (
        consecutive_consistency,
        frame_features,
        frames_from_hwc,
        motion_smoothness,
        subject_consistency,
        temporal_flicker,
    )

    video, n = frames_from_hwc(frames), len(frames)
    if n < 2:
        return []

    def metric_row(metric: str, value: float, extractor: str = "") -> dict:
        return row(metric, value, subject=subject, n=n, extractor=extractor, convention=CONVENTIONS[metric])

    rows = [metric_row(FLICKER, temporal_flicker(video))]
    if n >= 3:
        rows.append(metric_row(SMOOTHNESS, motion_smoothness(video)))
    clip = extractor_for(studio, "clip")
    rows.append(metric_row(CLIP_CONSISTENCY, consecutive_consistency(frame_features(video, clip)), clip.info.id))
    if dino:
        net = extractor_for(studio, "dinov2")
        rows.append(metric_row(DINO_CONSISTENCY, subject_consistency(frame_features(video, net)), net.info.id))
    return rows


def video_files(folder: str | Path | None, what: str) -> list[Path]:
    """The .mp4 files directly in `folder`, sorted by name; refused with a message when there are none."""
    path = Path(folder or "")
    if not folder or not path.is_dir():
        raise InputError(f"The {what} must be a folder of {', '.join(VIDEO_SUFFIXES)} videos; got {str(folder)!r}.")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"The {what} folder {str(folder)!r} holds no {', '.join(VIDEO_SUFFIXES)} videos.")
    return files


def _decoded(path: Path) -> np.ndarray:
    try:
        return read_frames(path)
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(f"{path.name} could not be read as a video: {exc}") from exc


def video_extractor(studio: Studio):
    """The FVD feature network (VideoMAE Kinetics-400); its tiny stand-in when the studio is offline."""
    from ..metrics.video_extractors import load_video_extractor  # lazy: imports torch (seconds)

    return studio.cache.get_model(
        "video-extractor:videomae",
        lambda: load_video_extractor(
            standin=studio.offline, local_files_only=studio.offline, device=studio.cache.device
        ),
    )


def _mean_rows(rows: list[dict], subject: str) -> list[dict]:
    """One row per metric: its mean over the videos that have it, std (ddof 0) beside it."""
    out = []
    for metric in dict.fromkeys(r["metric"] for r in rows):
        values = [r["value"] for r in rows if r["metric"] == metric]
        extractor = next(r["extractor"] for r in rows if r["metric"] == metric)
        out.append(
            row(
                f"{metric} (mean)",
                float(np.mean(values)),
                std=float(np.std(values)),
                subject=subject,
                n=len(values),
                extractor=extractor,
                convention=CONVENTIONS[metric],
            )
        )
    return out


def evaluate_videos(
    studio: Studio, req: VideoEvalRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> EvalResult:
    """Per-video metrics for `req.videos` (plus their means), and FVD(videos, reference) when a reference is given."""
    from ..metrics.video import frames_from_hwc, fvd  # lazy: imports torch (seconds)

    started = time.perf_counter()
    files = video_files(req.videos, "videos")
    reference = video_files(req.reference, "reference videos") if req.reference else []
    rows, notes, decoded = [], [], []
    for i, path in enumerate(files):
        frames = _decoded(path)
        decoded.append(frames_from_hwc(frames))
        per_video = video_rows(studio, frames, path.name)
        if not per_video:
            notes.append(f"{path.name} has one frame: no temporal metrics.")
        rows += per_video
        if progress:
            progress(i + 1, len(files), "video metrics")
    rows += _mean_rows(rows, f"{Path(req.videos).name} ({len(files)} videos)")
    info: dict = {"standin": studio.offline, "videos": [p.name for p in files]}
    if reference:
        extractor = video_extractor(studio)
        others = [frames_from_hwc(_decoded(p)) for p in reference]
        value = fvd(decoded, others, extractor)
        subject = f"{Path(req.videos).name} vs {Path(req.reference).name}"
        convention = "Fréchet distance of per-video features; standard FVD uses I3D, this is not comparable"
        rows.append(
            row("FVD", value, subject=subject, n=len(files), extractor=extractor.info.id, convention=convention)
        )
        info["fvd_extractor"] = extractor.info.as_dict()
    if studio.offline:
        notes.append(
            "Offline: CLIP, DINOv2 and VideoMAE are tiny random stand-ins; their numbers test the plumbing only."
        )
    result = EvalResult(rows, notes, info=info, seconds=time.perf_counter() - started)
    return write_result(result, workspace_for(studio, output_dir), "video")
