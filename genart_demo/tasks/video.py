"""The video task: text-to-video and image-to-video, written as H.264 mp4 + GIF + a strip of frames."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import InputError
from ..imagefit import fit_image
from ..imageio import load_image
from ..registry import ModelSpec
from ..run_settings import RunSettings, VideoSettings
from ..safety import nsfw_flags
from ..studio import Studio
from ..video import MAX_FPS, MIN_FPS, frame_strip, write_gif, write_mp4
from .common import (
    MODEL_HELP,
    ProgressFn,
    TaskRequest,
    check_guidance,
    check_prompts,
    check_scheduler,
    check_size,
    check_steps,
    check_unit_interval,
    generators,
    is_blank,
    model_settings,
    option,
    pipeline_params,
    request_from_run_settings,
    resolve_seed,
    spec_for_tasks,
    step_progress,
    use_sampler,
    workspace_for,
)
from .prompt_length import locked_prompt_warnings

VIDEO_TASKS = ("text-to-video", "image-to-video")
MAX_MOTION_BUCKET = 255


@dataclass(frozen=True)
class VideoRequest(TaskRequest):
    """One video call. None means "the model's default"."""

    model: str = option(help=MODEL_HELP)
    prompt: str = option("", "text-to-video models: what to show")
    negative_prompt: str = option("", "what to steer away from")
    image: Any = option(None, "image-to-video models: the image to animate (a file)")
    frames: int | None = option(None, "frames to make (default: the model's)")
    fps: int | None = option(None, "frames per second of the mp4 (default: the model's)")
    steps: int | None = option(None, "denoising steps (default: the model's)")
    guidance: float | None = option(None, "classifier-free guidance scale (default: the model's)")
    width: int | None = option(None, "pixels (default: the model's)")
    height: int | None = option(None, "pixels (default: the model's)")
    seed: int = option(-1, "-1 = random")
    scheduler: str | None = option(None, "sampler name (default: the model's)")
    decode_chunk: int | None = option(None, "frames decoded at a time (image-to-video); bounds decoder memory")
    motion_bucket_id: int | None = option(None, "SVD: amount of motion, 0..255 (default: the model's)")
    noise_aug: float | None = option(None, "SVD: noise added to the input image, 0..1 (default: the model's)")


@dataclass
class VideoResult:
    mp4: Path
    gif: Path
    strip: Image.Image
    frames: np.ndarray  # (F, H, W, 3) uint8
    settings: VideoSettings
    notes: list[str] = field(default_factory=list)
    standin: bool = False
    seconds: float = 0.0


def frame_counts(spec: ModelSpec) -> range:
    """The frame counts `spec` makes, 1 + k·frame_step up to its max_frames: what the task takes and exactly what
    the Frames slider offers (CogVideoX: 1, 9, …, 49)."""
    d = spec.defaults
    return range(1, d.max_frames + 1, d.frame_step)


def _check_frames(spec: ModelSpec, frames: Any) -> int:
    counts = frame_counts(spec)
    if isinstance(frames, bool) or not isinstance(frames, int) or not counts.start <= frames <= counts[-1]:
        raise InputError(
            f"Frames must be a whole number from {counts.start} to {counts[-1]} for {spec.id}; got {frames!r}."
        )
    if frames not in counts:
        allowed = ", ".join(str(n) for n in counts[:5])
        raise InputError(f"{spec.id} makes 1 + {counts.step}·k frames ({allowed}, …); got {frames}.")
    return frames


def _check(studio: Studio, req: VideoRequest) -> tuple[ModelSpec, VideoSettings]:
    spec = spec_for_tasks(studio, req.model, VIDEO_TASKS, "Video models")
    controls, d = spec.controls(), spec.defaults
    image_model = "image-to-video" in spec.tasks
    if image_model and req.image is None:
        raise InputError(f"{spec.id} animates an image: give an input image (it takes no prompt).")
    if not image_model and req.image is not None:
        raise InputError(
            f"{spec.id} makes video from text and takes no input image; image-to-video models: "
            f"{', '.join(s.id for s in studio.registry.for_tasks(['image-to-video']))}."
        )
    if "prompt" in controls and is_blank(req.prompt):
        raise InputError(f"The prompt is empty: {spec.id} is a text-to-video model and needs a prompt.")
    check_prompts(req.prompt, req.negative_prompt)
    fps = d.fps if req.fps is None else req.fps
    if isinstance(fps, bool) or not isinstance(fps, int) or not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(f"FPS must be a whole number from {MIN_FPS} to {MAX_FPS}; got {fps!r}.")
    width, height = check_size(
        spec, d.width if req.width is None else req.width, d.height if req.height is None else req.height
    )
    frames = _check_frames(spec, d.frames if req.frames is None else req.frames)
    chunk = d.decode_chunk if req.decode_chunk is None else req.decode_chunk
    if d.decode_chunk and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise InputError(f"Decode chunk must be a whole number of frames, at least 1; got {chunk!r}.")
    # more frames at a time than the video has means all of them at once: recorded as what ran
    chunk = min(chunk, frames) if d.decode_chunk else None
    bucket = d.motion_bucket_id if req.motion_bucket_id is None else req.motion_bucket_id
    if "motion_bucket_id" in controls and (
        isinstance(bucket, bool) or not isinstance(bucket, int) or not 0 <= bucket <= MAX_MOTION_BUCKET
    ):
        raise InputError(f"Motion bucket id must be a whole number from 0 to {MAX_MOTION_BUCKET}; got {bucket!r}.")
    settings = VideoSettings(
        **model_settings(studio, spec, req),
        frames=frames,
        fps=fps,
        width=width,
        height=height,
        steps=check_steps(d.steps if req.steps is None else req.steps, d.min_steps, spec.id),
        guidance=check_guidance(d.guidance if req.guidance is None else req.guidance),
        scheduler=check_scheduler(spec, req.scheduler),
        decode_chunk=chunk,
        motion_bucket_id=bucket if "motion_bucket_id" in controls else None,
        noise_aug=check_unit_interval("Noise augmentation", d.noise_aug if req.noise_aug is None else req.noise_aug)
        if "noise_aug" in controls
        else None,
    )
    return spec, settings


@contextlib.contextmanager
def _decode_progress(pipe: Any, progress: ProgressFn | None, chunks: int):
    """Report each VAE decode call (one per chunk of frames) while the pipeline decodes."""
    vae = getattr(pipe, "vae", None)
    if progress is None or vae is None:
        yield
        return
    original, done = vae.decode, [0]

    def counting_decode(*args, **kwargs):
        out = original(*args, **kwargs)
        done[0] += 1
        progress(min(done[0], chunks), chunks, "decoding frames")
        return out

    vae.decode = counting_decode
    try:
        yield
    finally:
        del vae.decode  # back to the class method


def _pipeline_kwargs(pipe: Any, settings: VideoSettings, image: Image.Image | None) -> dict:
    params = pipeline_params(type(pipe).__name__)
    kwargs: dict[str, Any] = {
        "num_frames": settings.frames,
        "num_inference_steps": settings.steps,
        "height": settings.height,
        "width": settings.width,
        "generator": generators(settings.seed, 1),
        "output_type": "np",
    }
    if image is not None:
        kwargs["image"] = image
    if settings.prompt:
        kwargs["prompt"] = settings.prompt
        if settings.negative_prompt:
            kwargs["negative_prompt"] = settings.negative_prompt
    # SVD guides between min_guidance_scale and max_guidance_scale over the frames; others take guidance_scale
    kwargs["guidance_scale" if "guidance_scale" in params else "max_guidance_scale"] = settings.guidance
    optional = {
        "decode_chunk_size": settings.decode_chunk,
        "motion_bucket_id": settings.motion_bucket_id,
        "noise_aug_strength": settings.noise_aug,
        "fps": settings.fps,
        "frame_rate": settings.fps,  # LTX-Video: its rotary positions are scaled to the video's frame rate
    }
    for param, value in optional.items():
        if param in params and value is not None:
            kwargs[param] = value  # SVD's fps conditioning: the pipeline itself subtracts 1
    return {k: v for k, v in kwargs.items() if k in params}


def generate_video(
    studio: Studio, req: VideoRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> VideoResult:
    """Make one video; writes <name>.mp4 (settings in its metadata), <name>.json beside it, and <name>.gif."""
    started = time.perf_counter()
    spec, settings = _check(studio, req)
    notes: list[str] = []
    image = None
    if req.image is not None:
        loaded = load_image(req.image, label="input image", limit=studio.settings.max_pixels)
        image, fit_notes = fit_image(loaded.image, settings.width, settings.height, mode="crop")
        notes += loaded.notes + fit_notes
    settings = replace(settings, seed=resolve_seed(req.seed))
    entry = studio.cache.get(studio.registry.get(spec.id))
    notes += locked_prompt_warnings(entry, settings.prompt, spec.defaults.max_sequence_length)
    kwargs = _pipeline_kwargs(entry.pipe, settings, image)
    chunks = math.ceil(settings.frames / (settings.decode_chunk or settings.frames))
    with entry.lock:
        use_sampler(entry, settings.scheduler)
        with (
            step_progress(entry.pipe, kwargs, progress, settings.steps, 0, f"{spec.id}: denoising"),
            _decode_progress(entry.pipe, progress, chunks),
        ):
            output = entry.run(kwargs)
    frames = np.asarray(output.frames[0])  # (F, H, W, 3) float in [0, 1]
    settings = replace(settings, nsfw_flagged=nsfw_flags(output, 1)[0])  # video pipelines have no checker: None
    frames = (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)
    mp4 = workspace_for(studio, output_dir).output_path(spec.id, settings.seed, ".mp4")
    mp4 = write_mp4(frames, mp4, settings.fps, settings.to_metadata())
    gif = write_gif(frames, mp4.with_suffix(".gif"), settings.fps)
    return VideoResult(
        mp4, gif, frame_strip(frames), frames, settings, notes, studio.runs_standin(spec), time.perf_counter() - started
    )


def request_from_settings(settings: RunSettings) -> VideoRequest:
    """The request that remakes a video from settings read back out of its mp4 (or a PNG), without an image-to-video
    model's input image, which the file does not hold."""
    return request_from_run_settings(VideoRequest, settings, image=None)
