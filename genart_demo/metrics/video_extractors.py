"""Per-video feature extractors for FVD (metrics.video.VideoExtractor): a transformers VideoMAE and its tiny stand-in.

The standard FVD (Unterthiner et al. 2018) uses I3D trained on Kinetics-400, which transformers does not ship; genart's
default is VideoMAE-Base fine-tuned on Kinetics-400, `MCG-NJU/videomae-base-finetuned-kinetics` (Hub repo checked
through the docs search: VideoMAEForVideoClassification, 16 frames, 224 px, tubelet 2, hidden 768; commit history at
huggingface.co/MCG-NJU/videomae-base-finetuned-kinetics/commits/422e706). Numbers made with it are "FVD-VideoMAE" and
are not comparable with published I3D FVDs.

Feature: what the classifier head reads, i.e. transformers' VideoMAEForVideoClassification pooling (mean of the last
hidden states through fc_norm when the config says use_mean_pooling, else the first token), hidden_size wide.
Frames: `num_frames` indices spaced evenly over the video (rounded), then the repo's own VideoMAEImageProcessor
(preprocessor_config.json: shortest side + centre crop, mean/std). Any video length and size goes in.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import ExtractorInfo
from .ids import model_slug
from .video import check_video

DEFAULT_VIDEO_MODEL = "MCG-NJU/videomae-base-finetuned-kinetics"
# The stand-in: the real architecture shrunk in size (32 px, 4 frames, 2 layers 32 wide); random seeded weights.
TINY_VIDEOMAE = {
    "image_size": 32,
    "patch_size": 16,
    "num_frames": 4,
    "tubelet_size": 2,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "use_mean_pooling": True,
    "num_labels": 400,  # Kinetics-400
}


def sampled_indices(n_frames: int, wanted: int) -> torch.Tensor:
    """`wanted` frame indices spaced evenly from the first to the last frame (repeats when the video is shorter)."""
    return torch.linspace(0, n_frames - 1, wanted).round().long()


class VideoMAEFeatures:
    """metrics.video.VideoExtractor over a VideoMAE model and its image processor: (B, T, 3, H, W) -> (B, hidden)."""

    def __init__(self, model: Any, processor: Any, info: ExtractorInfo, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.processor, self.info = processor, info
        self.num_frames = int(model.config.num_frames)

    def _pixels(self, videos: torch.Tensor) -> torch.Tensor:
        if not isinstance(videos, torch.Tensor) or videos.dim() != 5:
            shape = tuple(videos.shape) if isinstance(videos, torch.Tensor) else type(videos).__name__
            raise ValueError(f"video extractors take uint8 videos shaped (B, T, 3, H, W); got {shape}")
        clips = []
        for i, video in enumerate(videos):
            video = check_video(video, min_frames=1, what=f"video {i}")
            clips.append(list(video[sampled_indices(video.shape[0], self.num_frames)].cpu()))
        return self.processor(clips, return_tensors="pt")["pixel_values"]  # (B, num_frames, 3, S, S)

    def __call__(self, videos: torch.Tensor) -> dict[str, torch.Tensor]:
        pixels = self._pixels(videos).to(self.device)
        with torch.inference_mode():
            hidden = self.model.videomae(pixel_values=pixels).last_hidden_state  # (B, N, hidden)
            norm = getattr(self.model, "fc_norm", None)
            features = norm(hidden.mean(1)) if norm is not None else hidden[:, 0]
        return {"features": features.float().cpu()}


def tiny_videomae(seed: int = 0, device: str | torch.device = "cpu") -> VideoMAEFeatures:
    """The offline stand-in: a seeded random VideoMAE of the real class, shrunk (TINY_VIDEOMAE)."""
    # lazy: transformers takes seconds to import; only this extractor needs it
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VideoMAEImageProcessor

    side = TINY_VIDEOMAE["image_size"]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = VideoMAEForVideoClassification(VideoMAEConfig(**TINY_VIDEOMAE))
    processor = VideoMAEImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    info = ExtractorInfo(
        id="standin-videomae" + (f"-seed{seed}" if seed else ""),
        name=f"tiny random VideoMAE stand-in ({TINY_VIDEOMAE['num_frames']} frames, {side} px)",
        dim=TINY_VIDEOMAE["hidden_size"],
        resize=_resize_text(processor),
        standin=True,
    )
    return VideoMAEFeatures(model, processor, info, device)


def _resize_text(processor: Any) -> str:
    side, crop = processor.size.get("shortest_edge"), processor.crop_size
    return (
        f"evenly spaced frames; VideoMAEImageProcessor: shortest side {side}, centre crop "
        f"{crop['height']}x{crop['width']}, mean {tuple(processor.image_mean)} std {tuple(processor.image_std)}"
    )


def load_video_extractor(
    model_id_or_path: str = DEFAULT_VIDEO_MODEL,
    *,
    standin: bool = False,
    local_files_only: bool = False,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> VideoMAEFeatures:
    """A VideoMAE feature extractor for a Hub id or local folder; `standin=True` gives `tiny_videomae(seed)`."""
    if standin:
        return tiny_videomae(seed, device)
    # lazy: transformers takes seconds to import; only this extractor needs it
    from transformers import VideoMAEForVideoClassification, VideoMAEImageProcessor

    model = VideoMAEForVideoClassification.from_pretrained(model_id_or_path, local_files_only=local_files_only)
    processor = VideoMAEImageProcessor.from_pretrained(model_id_or_path, local_files_only=local_files_only)
    slug = model_slug(model_id_or_path)
    info = ExtractorInfo(
        id=f"fvd-{slug}",
        name=f"VideoMAE {model_id_or_path}, pooled (FVD-VideoMAE; standard FVD uses I3D)",
        dim=int(model.config.hidden_size),
        resize=_resize_text(processor),
        standin=False,
    )
    return VideoMAEFeatures(model, processor, info, device)


__all__ = [
    "DEFAULT_VIDEO_MODEL",
    "TINY_VIDEOMAE",
    "VideoMAEFeatures",
    "load_video_extractor",
    "sampled_indices",
    "tiny_videomae",
]
