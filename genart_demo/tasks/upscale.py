"""The super-resolve task: diffusion upscalers and GAN (ESRGAN-family) upscalers, tiled so memory stays bounded."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import InputError
from ..imagefit import same_aspect
from ..imageio import load_image
from ..registry import ModelSpec
from ..run_settings import RunSettings, UpscaleSettings
from ..safety import any_flagged, images_and_flags
from ..studio import Studio
from .common import (
    MODEL_HELP,
    ProgressFn,
    TaskRequest,
    check_guidance,
    check_prompts,
    check_scheduler,
    check_steps,
    generators,
    model_settings,
    option,
    pipeline_params,
    request_from_run_settings,
    resolve_seed,
    save_images,
    spec_for_tasks,
    to_image,
    to_tensor,
    use_sampler,
    workspace_for,
)

MAX_NOISE_LEVEL = 350  # the SD x4 upscaler's max_noise_level
TILE_RANGE = (32, 2048)  # input pixels per tile side
DEFAULT_OVERLAP = 16  # input pixels shared by neighbouring tiles, unless asked otherwise


def max_overlap(tile: int) -> int:
    """The widest overlap a tile of `tile` px takes: under half of it, so each tile moves on by more than it
    shares with the one before (the Tile overlap slider's maximum follows it)."""
    return (tile - 1) // 2


@dataclass(frozen=True)
class UpscaleRequest(TaskRequest):
    """One super-resolve call. None means "the model's default"."""

    model: str = option(help=MODEL_HELP)
    image: Any = option(help="the low-resolution input image file (a path, bytes, PIL image or array from code)")
    prompt: str = option("", "diffusion upscalers: what the image shows")
    negative_prompt: str = option("", "what to steer away from")
    noise_level: int | None = option(None, "SD x4 upscaler: noise added to the input (default: the model's)")
    steps: int | None = option(None, "denoising steps (default: the model's)")
    guidance: float | None = option(None, "classifier-free guidance scale (default: the model's)")
    seed: int = option(-1, "-1 = random")
    scheduler: str | None = option(None, "sampler name (default: the model's)")
    tile: int | None = option(None, "input pixels per tile side; inputs up to this size run in one piece")
    overlap: int = option(DEFAULT_OVERLAP, "input pixels shared by neighbouring tiles, blended")
    reference: Any = option(None, "a high-resolution reference image for PSNR/SSIM")


@dataclass
class UpscaleResult:
    image: Image.Image
    path: Path
    settings: UpscaleSettings
    bicubic: Image.Image  # the bicubic baseline at the same size (the slider's "before")
    metrics: dict[str, float] = field(default_factory=dict)  # psnr/ssim of result and bicubic vs the reference
    notes: list[str] = field(default_factory=list)
    standin: bool = False
    seconds: float = 0.0


def _check(studio: Studio, req: UpscaleRequest) -> tuple[ModelSpec, UpscaleSettings]:
    spec = spec_for_tasks(studio, req.model, ("super-resolve",), "Upscalers")
    controls, d = spec.controls(), spec.defaults
    tile = d.tile if req.tile is None else req.tile
    if not isinstance(tile, int) or not TILE_RANGE[0] <= tile <= TILE_RANGE[1]:
        raise InputError(f"Tile size must be from {TILE_RANGE[0]} to {TILE_RANGE[1]} input pixels; got {tile!r}.")
    if isinstance(req.overlap, bool) or not isinstance(req.overlap, int) or not 0 <= req.overlap <= max_overlap(tile):
        raise InputError(
            f"Tile overlap must be from 0 to {max_overlap(tile)} pixels for tile {tile}; got {req.overlap!r}."
        )
    if "prompt" in controls:
        check_prompts(req.prompt, req.negative_prompt)
    level = None
    if "noise_level" in controls:
        level = d.noise_level if req.noise_level is None else req.noise_level
        if not isinstance(level, int) or not 0 <= level <= MAX_NOISE_LEVEL:
            raise InputError(f"Noise level must be a whole number from 0 to {MAX_NOISE_LEVEL}; got {level!r}.")
    settings = UpscaleSettings(
        **model_settings(studio, spec, req),
        scale=spec.scale,
        tile=tile,
        overlap=req.overlap,
        noise_level=level,
        guidance=check_guidance(d.guidance if req.guidance is None else req.guidance)
        if "guidance" in controls
        else None,
        steps=check_steps(d.steps if req.steps is None else req.steps) if spec.denoises else None,
        scheduler=check_scheduler(spec, req.scheduler) if spec.denoises else None,
    )
    return spec, settings


def _diffusion_tile_fn(entry, settings: UpscaleSettings, flags: list):
    """(1, 3, h, w) -> (1, 3, h*s, w*s) through a diffusion upscaler; each tile uses the same seed. Tiles are
    padded (edge pixels repeated) to the model's size multiple and the padding is cut from the output. Each tile's
    safety-checker flag is appended to `flags`."""
    params = pipeline_params(type(entry.pipe).__name__)

    def run(x):
        import torch.nn.functional as F  # lazy: torch takes seconds to import; only model work needs it

        h, w = x.shape[-2:]
        multiple = entry.spec.defaults.size_multiple  # input sides the pipeline takes without cropping
        pad_h, pad_w = (-h) % multiple, (-w) % multiple
        padded = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
        kwargs: dict[str, Any] = {
            "image": to_image(padded),
            "num_inference_steps": settings.steps,
            "generator": generators(settings.seed, 1),
        }
        if "prompt" in params:
            kwargs["prompt"] = [settings.prompt]
            if settings.negative_prompt:
                kwargs["negative_prompt"] = [settings.negative_prompt]
        for value, param in ((settings.guidance, "guidance_scale"), (settings.noise_level, "noise_level")):
            if value is not None and param in params:
                kwargs[param] = value
        images, tile_flags = images_and_flags(entry.run(kwargs))
        flags.extend(tile_flags)
        out = to_tensor(images[0])
        scale = settings.scale
        return out[..., : h * scale, : w * scale]

    return run


def upscale(
    studio: Studio, req: UpscaleRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> UpscaleResult:
    """Upscale one image (tiled when larger than a tile); with a reference, score result and bicubic baseline."""
    from ..sr import upscale_tensor  # lazy: a torch module (seconds to import), needed only for an upscale
    from ..tiling import tiled_upscale  # lazy: the same

    started = time.perf_counter()
    spec, settings = _check(studio, req)
    loaded = load_image(req.image, label="input image", limit=studio.settings.max_pixels)
    image, notes = loaded.image, list(loaded.notes)
    scale = settings.scale
    settings = replace(settings, seed=resolve_seed(req.seed), input_size=f"{image.width}x{image.height}")
    entry = studio.cache.get(studio.registry.get(spec.id))
    flags: list[bool | None] = []  # per diffusion tile: what its safety checker said
    if spec.denoises:
        fn = _diffusion_tile_fn(entry, settings, flags)
    else:

        def fn(x):
            return upscale_tensor(entry.pipe, x)

    tiles_done = (lambda done, total: progress(done, total, f"{spec.id}: tile {done}/{total}")) if progress else None
    with entry.lock:
        if settings.scheduler:
            use_sampler(entry, settings.scheduler)
        out = tiled_upscale(
            fn, to_tensor(image), scale, tile=settings.tile, overlap=settings.overlap, progress=tiles_done
        )
    result = to_image(out)
    if max(image.size) > settings.tile:
        notes.append(f"processed in tiles of {settings.tile} px with {settings.overlap} px overlap")
    bicubic = image.resize(result.size, Image.BICUBIC)
    metrics = (
        _reference_metrics(req.reference, result, bicubic, notes, studio.settings.max_pixels)
        if req.reference is not None
        else {}
    )
    settings = replace(
        settings, width=result.width, height=result.height, metrics=metrics or None, nsfw_flagged=any_flagged(flags)
    )
    path = save_images([result], [settings], workspace_for(studio, output_dir))[0]
    return UpscaleResult(
        result, path, settings, bicubic, metrics, notes, studio.runs_standin(spec), time.perf_counter() - started
    )


def _reference_metrics(
    reference: Any, result: Image.Image, bicubic: Image.Image, notes: list[str], limit: int
) -> dict[str, float]:
    """PSNR (dB) and SSIM of the result and of the bicubic baseline against a high-resolution reference."""
    from ..metrics.pixel import psnr, ssim  # lazy: a torch module (seconds to import), needed only with a reference

    ref = load_image(reference, label="reference image", limit=limit).image
    if not same_aspect(ref.size, result.size):
        raise InputError(
            f"The reference is {ref.width}×{ref.height} but the upscaled image is {result.width}×"
            f"{result.height}: a reference must show the same picture, so it must have the same shape "
            "(the same size, or a scaled copy, which is resized)."
        )
    if ref.size != result.size:
        notes.append(f"reference {ref.width}×{ref.height} resized to the output's {result.width}×{result.height}")
        ref = ref.resize(result.size, Image.BICUBIC)
    r = to_tensor(ref)
    scores = {}
    for name, img in (("", result), ("bicubic_", bicubic)):
        t = to_tensor(img)
        scores[f"{name}psnr"] = round(float(psnr(t, r)[0]), 4)
        scores[f"{name}ssim"] = round(float(ssim(t, r)[0]), 6)
    return scores


def request_from_settings(settings: RunSettings) -> UpscaleRequest:
    """The request that remakes an output from settings read back out of a PNG, without its input image, which a PNG
    does not hold (image None)."""
    return request_from_run_settings(UpscaleRequest, settings)
