"""The translate task: image-to-image with SD/SDXL img2img, InstructPix2Pix, ControlNet (canny) and GAN translators."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import InputError
from ..imagefit import FIT_MODES, fit_image
from ..imageio import load_image
from ..registry import ModelSpec
from ..run_settings import RunSettings, TranslateSettings
from ..safety import images_and_flags
from ..studio import Studio
from .common import (
    MODEL_HELP,
    ProgressFn,
    TaskRequest,
    check_batch,
    check_denoising_steps,
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
    save_images,
    spec_for_tasks,
    step_progress,
    use_sampler,
    workspace_for,
)
from .prompt_length import locked_prompt_warnings


@dataclass(frozen=True)
class TranslateRequest(TaskRequest):
    """One translate call. None means "the model's default"."""

    model: str = option(help=MODEL_HELP)
    image: Any = option(help="input image file (a path, bytes, PIL image or array from code)")
    prompt: str = option("", "the prompt (for InstructPix2Pix: the edit instruction)")
    negative_prompt: str = option("", "what to steer away from")
    strength: float | None = option(None, "img2img: 0 keeps the input, 1 ignores it")
    image_guidance: float | None = option(None, "InstructPix2Pix: how closely to follow the input image")
    steps: int | None = option(None, "denoising steps (default: the model's)")
    guidance: float | None = option(None, "classifier-free guidance scale (default: the model's)")
    width: int | None = option(None, "the input is fitted to this size (default: the model's)")
    height: int | None = option(None, "the input is fitted to this size (default: the model's)")
    fit: str = option("resize", "how the input is fitted to the size", choices=FIT_MODES)
    seed: int = option(-1, "-1 = random; image i of a batch uses seed + i")
    batch: int = option(1, "images per call")
    scheduler: str | None = option(None, "sampler name (default: the model's)")
    canny_low: int = option(100, "ControlNet canny: low threshold (0..255)")
    canny_high: int = option(200, "ControlNet canny: high threshold (0..255)")


@dataclass
class TranslateResult:
    images: list[Image.Image]
    paths: list[Path]
    settings: list[TranslateSettings]
    input_image: Image.Image  # the input as the model saw it (fitted)
    control_image: Image.Image | None = None  # e.g. the canny edge map fed to a ControlNet
    notes: list[str] = field(default_factory=list)  # conversions, resizing, truncation warnings
    standin: bool = False
    seconds: float = 0.0


def canny_edges(image: Image.Image, low: int = 100, high: int = 200) -> Image.Image:
    """The canny edge map ControlNet-canny was trained on: white edges on black, as RGB."""
    import cv2  # lazy: OpenCV is needed only for ControlNet canny edges

    if not (0 <= low <= 255 and 0 <= high <= 255 and low < high):
        raise InputError(f"Canny thresholds must satisfy 0 <= low < high <= 255; got low={low}, high={high}.")
    edges = cv2.Canny(np.asarray(image.convert("RGB")), low, high)  # (H, W) uint8 in {0, 255}
    return Image.fromarray(np.stack([edges] * 3, axis=-1))


def _check(studio: Studio, req: TranslateRequest) -> tuple[ModelSpec, TranslateSettings]:
    spec = spec_for_tasks(studio, req.model, ("image-to-image",), "Translate models")
    controls, d = spec.controls(), spec.defaults
    if req.fit not in FIT_MODES:
        raise InputError(f"Fit mode {req.fit!r} is not allowed: use one of {', '.join(FIT_MODES)}.")
    if "prompt" in controls and is_blank(req.prompt):
        what = "an edit instruction" if "image_guidance" in controls else "a prompt"
        raise InputError(f"The prompt is empty: {spec.id} needs {what}.")
    check_prompts(req.prompt, req.negative_prompt)
    check_batch(studio, req.batch)
    if req.batch != 1 and not spec.denoises:
        raise InputError(
            f"Batch size must be 1 for {spec.id}: it is deterministic (one forward pass, no seed), so every image "
            f"of a batch would be the same; got {req.batch}."
        )
    width, height = d.width, d.height
    if "size" in controls:
        width, height = check_size(
            spec, d.width if req.width is None else req.width, d.height if req.height is None else req.height
        )
    denoises = spec.denoises  # GAN translators take no steps or sampler
    settings = TranslateSettings(
        **model_settings(studio, spec, req),
        width=width,
        height=height,
        fit=req.fit,
        steps=check_steps(d.steps if req.steps is None else req.steps) if denoises else None,
        scheduler=check_scheduler(spec, req.scheduler) if denoises else None,
        guidance=check_guidance(d.guidance if req.guidance is None else req.guidance)
        if "guidance" in controls
        else None,
        strength=check_unit_interval("Strength", d.strength if req.strength is None else req.strength)
        if "strength" in controls
        else None,
        image_guidance=check_guidance(d.image_guidance if req.image_guidance is None else req.image_guidance)
        if "image_guidance" in controls
        else None,
        canny_low=int(req.canny_low) if spec.control == "canny" else None,
        canny_high=int(req.canny_high) if spec.control == "canny" else None,
    )
    check_denoising_steps(settings.steps, settings.strength)
    return spec, settings


def translate(
    studio: Studio, req: TranslateRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> TranslateResult:
    """Run one translate request; outputs are saved as PNGs carrying their settings."""
    started = time.perf_counter()
    spec, settings = _check(studio, req)
    loaded = load_image(req.image, label="input image", limit=studio.settings.max_pixels)
    fitted, fit_notes = fit_image(loaded.image, settings.width, settings.height, mode=req.fit)
    notes = loaded.notes + fit_notes
    settings = replace(settings, seed=resolve_seed(req.seed))
    entry = studio.cache.get(studio.registry.get(spec.id))
    control = canny_edges(fitted, settings.canny_low, settings.canny_high) if spec.control == "canny" else None
    if not spec.denoises:  # a GAN translator: one deterministic forward pass per image
        from ..gan import translate_image  # lazy: a torch module (seconds to import), needed only to run a GAN

        with entry.lock:
            images = [translate_image(entry.pipe, fitted)]
        flags = [None] * len(images)  # a GAN has no safety checker
        if progress:
            progress(1, 1, f"{spec.id}: translating")
    else:
        notes += locked_prompt_warnings(entry, settings.prompt, spec.defaults.max_sequence_length)
        images, flags = _run_diffusion(entry, settings, fitted, control, req.batch, progress)
    per_image = [replace(settings, seed=settings.seed + i, nsfw_flagged=flag) for i, flag in enumerate(flags)]
    paths = save_images(images, per_image, workspace_for(studio, output_dir))
    return TranslateResult(
        images, paths, per_image, fitted, control, notes, studio.runs_standin(spec), time.perf_counter() - started
    )


def _run_diffusion(
    entry,
    settings: TranslateSettings,
    image: Image.Image,
    control: Image.Image | None,
    batch: int,
    progress: ProgressFn | None,
) -> tuple[list[Image.Image], list[bool | None]]:
    """The pipeline's images, and whether its safety checker flagged each (None: not checked)."""
    params = pipeline_params(type(entry.pipe).__name__)
    kwargs: dict[str, Any] = {
        "image": control if control is not None else image,
        "num_inference_steps": settings.steps,
        "generator": generators(settings.seed, batch),
    }
    if "prompt" in params:
        kwargs["prompt"] = [settings.prompt] * batch
        if settings.negative_prompt and "negative_prompt" in params:
            kwargs["negative_prompt"] = [settings.negative_prompt] * batch
    for value, param in (
        (settings.guidance, "guidance_scale"),
        (settings.strength, "strength"),
        (settings.image_guidance, "image_guidance_scale"),
    ):
        if value is not None and param in params:
            kwargs[param] = value
    if control is not None and "height" in params:
        kwargs["height"], kwargs["width"] = image.height, image.width
    total = settings.steps
    if settings.strength is not None:  # img2img runs only the last `strength` share of the schedule
        total = max(1, min(total, int(total * settings.strength)))
    with entry.lock:
        use_sampler(entry, settings.scheduler)
        with step_progress(entry.pipe, kwargs, progress, total, 0, f"{entry.spec.id}: denoising"):
            return images_and_flags(entry.run(kwargs))


def request_from_settings(settings: RunSettings) -> TranslateRequest:
    """The request that remakes an output (batch 1) from settings read back out of a PNG, without its input image,
    which a PNG does not hold (image None)."""
    return request_from_run_settings(TranslateRequest, settings, batch=1)
