"""The inpaint task: repaint a masked area (or an outpainted border), composited so unmasked pixels stay exact."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from ..errors import InputError
from ..imageio import load_image, load_mask
from ..registry import ModelSpec
from ..run_settings import InpaintSettings, RunSettings
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

MAX_OUTPAINT = 1024  # pixels one side may be extended by
MAX_MASK_BLUR = 64  # pixels of feathering inside the mask edge
OUTPAINT_SIDES = ("left", "right", "up", "down")


@dataclass(frozen=True)
class InpaintRequest(TaskRequest):
    """One inpaint (or outpaint) call. None means "the model's default"."""

    model: str = option(help=MODEL_HELP)
    image: Any = option(help="input image file (a path, bytes, PIL image or array from code)")
    mask: Any = option(None, "mask image: white = repaint (may be left out when outpainting)")
    prompt: str = option("", "what to paint in the masked area")
    negative_prompt: str = option("", "what to steer away from")
    strength: float | None = option(None, "how much of the masked area is re-noised (default: the model's)")
    steps: int | None = option(None, "denoising steps (default: the model's)")
    guidance: float | None = option(None, "classifier-free guidance scale (default: the model's)")
    width: int | None = option(None, "working width the (cropped) image is scaled to (default: the model's)")
    height: int | None = option(None, "working height (default: the model's)")
    seed: int = option(-1, "-1 = random; image i of a batch uses seed + i")
    batch: int = option(1, "images per call")
    scheduler: str | None = option(None, "sampler name (default: the model's)")
    mask_blur: int = option(4, "feather (px) inside the mask edge, so seams blend")
    only_masked: bool = option(False, "work on a crop around the mask (detail on large images)")
    padding: int = option(32, "context (px) kept around the mask with --only-masked")
    outpaint: tuple[int, int, int, int] = option(
        (0, 0, 0, 0), "extend the canvas left, right, up, down by N px", metavar=("LEFT", "RIGHT", "UP", "DOWN")
    )


@dataclass
class InpaintResult:
    images: list[Image.Image]
    paths: list[Path]
    settings: list[InpaintSettings]
    input_image: Image.Image  # the canvas (after outpaint extension)
    mask: Image.Image  # the mask actually used, "L", canvas size
    notes: list[str] = field(default_factory=list)
    standin: bool = False
    seconds: float = 0.0


def extend_canvas(image: Image.Image, left: int, right: int, up: int, down: int) -> tuple[Image.Image, Image.Image]:
    """The image on a larger canvas (new area filled by stretching the edge pixels) and a mask of the new area."""
    width, height = image.width + left + right, image.height + up + down
    arr = np.pad(np.asarray(image), ((up, down), (left, right), (0, 0)), mode="edge")
    mask = Image.new("L", (width, height), 255)
    mask.paste(0, (left, up, left + image.width, up + image.height))
    return Image.fromarray(arr), mask


def composite(original: Image.Image, generated: Image.Image, mask: Image.Image, blur: int) -> Image.Image:
    """Generated pixels inside the mask, feathered inward by `blur`; every pixel outside is the original's."""
    alpha = mask.filter(ImageFilter.GaussianBlur(blur)) if blur else mask
    hard = np.asarray(mask) >= 8
    alpha_arr = np.where(hard, np.asarray(alpha), 0).astype(np.uint8)  # feather only inside the mask
    return Image.composite(generated.convert("RGB"), original.convert("RGB"), Image.fromarray(alpha_arr))


MASK_TINT = (255, 0, 200)  # the colour the mask preview lays over the area to repaint


def mask_preview(canvas: Image.Image, mask: Image.Image) -> Image.Image:
    """The canvas with the area to repaint tinted MASK_TINT: the painted mask and any outpaint strips both show (a bare
    mask shows new strips as white, the colour of the page around it)."""
    tint = Image.new("RGB", canvas.size, MASK_TINT)
    alpha = Image.fromarray((np.asarray(mask) >= 8).astype(np.uint8) * 160)  # 160/255 tint, the picture shows through
    return Image.composite(tint, canvas.convert("RGB"), alpha)


def mask_box(mask: Image.Image, padding: int) -> tuple[int, int, int, int]:
    """The mask's bounding box grown by `padding`, clipped to the image."""
    ys, xs = np.nonzero(np.asarray(mask) >= 8)
    left, top = max(int(xs.min()) - padding, 0), max(int(ys.min()) - padding, 0)
    right, bottom = min(int(xs.max()) + 1 + padding, mask.width), min(int(ys.max()) + 1 + padding, mask.height)
    return left, top, right, bottom


def _check(studio: Studio, req: InpaintRequest) -> tuple[ModelSpec, InpaintSettings]:
    spec = spec_for_tasks(studio, req.model, ("inpaint",), "Inpaint models")
    controls, d = spec.controls(), spec.defaults
    if "prompt" in controls and is_blank(req.prompt):
        raise InputError(f"The prompt is empty: {spec.id} needs a prompt describing what to paint.")
    check_prompts(req.prompt, req.negative_prompt)
    check_batch(studio, req.batch)
    if len(req.outpaint) != 4 or any(not isinstance(n, int) or not 0 <= n <= MAX_OUTPAINT for n in req.outpaint):
        raise InputError(
            f"Outpaint sizes (left, right, up, down) must be whole numbers from 0 to {MAX_OUTPAINT}; got {tuple(req.outpaint)}."
        )
    if not isinstance(req.mask_blur, int) or not 0 <= req.mask_blur <= MAX_MASK_BLUR:
        raise InputError(f"Mask blur must be from 0 to {MAX_MASK_BLUR} pixels; got {req.mask_blur!r}.")
    if not isinstance(req.padding, int) or not 0 <= req.padding <= 1024:
        raise InputError(f"Padding must be from 0 to 1024 pixels; got {req.padding!r}.")
    if req.mask is None and not any(req.outpaint):
        raise InputError("No mask: paint over the area to change, upload a mask, or extend the canvas to outpaint.")
    width, height = d.width, d.height
    if "size" in controls:
        width, height = check_size(
            spec, d.width if req.width is None else req.width, d.height if req.height is None else req.height
        )
    scheduler = check_scheduler(spec, req.scheduler)
    settings = InpaintSettings(
        **model_settings(studio, spec, req),
        steps=check_steps(d.steps if req.steps is None else req.steps),
        guidance=check_guidance(d.guidance if req.guidance is None else req.guidance),
        strength=check_unit_interval("Strength", d.strength if req.strength is None else req.strength),
        work_width=width,
        work_height=height,
        scheduler=scheduler,
        mask_blur=req.mask_blur,
        only_masked=bool(req.only_masked),
        padding=req.padding,
        outpaint=tuple(req.outpaint),
    )
    check_denoising_steps(settings.steps, settings.strength)
    return spec, settings


def inpaint(
    studio: Studio, req: InpaintRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> InpaintResult:
    """Run one inpaint/outpaint request; outputs keep every unmasked pixel of the input exactly."""
    started = time.perf_counter()
    spec, settings = _check(studio, req)
    loaded = load_image(req.image, label="input image", limit=studio.settings.max_pixels)
    canvas, notes = loaded.image, list(loaded.notes)
    mask = Image.new("L", canvas.size, 0)
    if req.mask is not None:
        mask, mask_notes = load_mask(req.mask, canvas.size, keep_aspect=True, limit=studio.settings.max_pixels)
        notes += mask_notes
    if any(req.outpaint):
        canvas, border = extend_canvas(canvas, *req.outpaint)
        mask = ImageOps.expand(mask, border=tuple(req.outpaint[i] for i in (0, 2, 1, 3)), fill=0)
        mask = Image.fromarray(np.maximum(np.asarray(mask), np.asarray(border)))
        notes.append(
            f"canvas extended to {canvas.width}×{canvas.height} (left, right, up, down = {tuple(req.outpaint)})"
        )
    box = mask_box(mask, req.padding) if req.only_masked else (0, 0, canvas.width, canvas.height)
    region, region_mask = canvas.crop(box), mask.crop(box)
    work_size = (settings.work_width, settings.work_height)  # the model's working size; width/height = output
    if region.size != work_size:
        notes.append(
            f"{'masked area' if req.only_masked else 'image'} {region.width}×{region.height} worked on at "
            f"{work_size[0]}×{work_size[1]} and scaled back"
        )
    settings = replace(settings, seed=resolve_seed(req.seed), width=canvas.width, height=canvas.height)
    entry = studio.cache.get(studio.registry.get(spec.id))
    notes += locked_prompt_warnings(entry, settings.prompt, spec.defaults.max_sequence_length)
    generated, flags = _run(
        entry,
        settings,
        region.resize(work_size, Image.LANCZOS),
        region_mask.resize(work_size, Image.BILINEAR),
        req.batch,
        progress,
    )
    images = []
    for out in generated:
        pasted = canvas.copy()
        pasted.paste(out.resize(region.size, Image.LANCZOS), box[:2])
        images.append(composite(canvas, pasted, mask, req.mask_blur))
    per_image = [replace(settings, seed=settings.seed + i, nsfw_flagged=flag) for i, flag in enumerate(flags)]
    paths = save_images(images, per_image, workspace_for(studio, output_dir))
    return InpaintResult(
        images, paths, per_image, canvas, mask, notes, studio.runs_standin(spec), time.perf_counter() - started
    )


def _run(
    entry, settings: InpaintSettings, image: Image.Image, mask: Image.Image, batch: int, progress: ProgressFn | None
) -> tuple[list[Image.Image], list[bool | None]]:
    """The pipeline's images at the working size, and whether its safety checker flagged each (None: not checked)."""
    params = pipeline_params(type(entry.pipe).__name__)
    kwargs: dict[str, Any] = {
        "prompt": [settings.prompt] * batch,
        "image": image,
        "mask_image": mask,
        "num_inference_steps": settings.steps,
        "guidance_scale": settings.guidance,
        "strength": settings.strength,
        "generator": generators(settings.seed, batch),
        "height": image.height,
        "width": image.width,
    }
    if settings.negative_prompt:
        kwargs["negative_prompt"] = [settings.negative_prompt] * batch
    kwargs = {k: v for k, v in kwargs.items() if k in params}
    total = max(1, min(settings.steps, int(settings.steps * settings.strength)))
    with entry.lock:
        use_sampler(entry, settings.scheduler)
        with step_progress(entry.pipe, kwargs, progress, total, 0, f"{entry.spec.id}: inpainting"):
            return images_and_flags(entry.run(kwargs))


def request_from_settings(settings: RunSettings) -> InpaintRequest:
    """The request that remakes an output (batch 1) from settings read back out of a PNG, without its image and mask,
    which a PNG does not hold. An inpaint PNG's width x height is its canvas: the request's size is the working
    size it recorded (work_*); where none is recorded (another task's, an A1111 text), its size is."""
    return request_from_run_settings(
        InpaintRequest,
        settings,
        width=getattr(settings, "work_width", None) or getattr(settings, "width", None),
        height=getattr(settings, "work_height", None) or getattr(settings, "height", None),
        batch=1,
    )
