"""The generate task: text-to-image, unconditional and class-conditional sampling, as a pure function."""

from __future__ import annotations

import difflib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from PIL import Image

from ..cache import LoadedPipeline
from ..errors import InputError
from ..fields import whole_number_text
from ..lora import lora_settings, studio_loras, use_loras
from ..peak_memory import PeakMemory, highest_peak, measure_peak
from ..registry import GENERATE_TASKS, ModelSpec
from ..run_settings import GenerateSettings, RunSettings
from ..safety import images_and_flags
from ..settings import MAX_COMPARE_MODELS
from ..studio import Studio
from .common import (
    MODEL_HELP,
    ProgressFn,
    TaskRequest,
    check_batch,
    check_guidance,
    check_prompts,
    check_scheduler,
    check_size,
    check_steps,
    check_unit_interval,
    generator_arg,
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
from .variation import check_variation, nth_seed, varied_noise

DEFAULT_CLASS = 207  # ImageNet "golden retriever": the class DiT examples use when none is chosen
REFINER_SPLIT = 0.8  # SDXL base denoises the first 80% of the schedule, the refiner the rest


@dataclass(frozen=True)
class GenerateRequest(TaskRequest):
    """One generate call. None means "the model's default"."""

    model: str = option(help=MODEL_HELP)
    prompt: str = option("", "the text to draw (text-to-image models)")
    negative_prompt: str = option("", "what to steer away from")
    steps: int | None = option(None, "denoising steps (default: the model's)")
    guidance: float | None = option(None, "classifier-free guidance scale (default: the model's)")
    width: int | None = option(None, "pixels (default: the model's)")
    height: int | None = option(None, "pixels (default: the model's)")
    seed: int = option(-1, "-1 = random; image i of a batch uses seed + i")
    batch: int = option(1, "images per call")
    scheduler: str | None = option(None, "sampler name, e.g. 'DPM++ 2M Karras' (default: the model's)")
    class_label: str | int | None = option(None, "class-conditional models: ImageNet class name or index")
    refine: bool = option(False, "SDXL: hand the last 20%% of denoising to the refiner")
    loras: str = option("", "LoRAs 'source:weight, ...': a .safetensors file or Hub owner/name[/file.safetensors]")
    variation_seed: int = option(-1, "AUTOMATIC1111's variation seed, -1 = random; image i uses variation_seed + i")
    variation_strength: float = option(0.0, "0..1: initial noise slerped from the seed's to the variation seed's")
    truncation: float | None = option(None, "GANs: truncation psi 0..1, 0 = the average image (default: the model's)")


@dataclass(frozen=True)
class CompareRequest:
    """The same prompt and seed through several models (`request.model` is ignored)."""

    request: GenerateRequest
    models: tuple[str, ...]  # registry ids, 1..MAX_COMPARE_MODELS
    own_defaults: bool = True  # each model uses its own steps, guidance, size and scheduler

    def model_ids(self) -> tuple[str, ...]:
        return tuple(self.models)


@dataclass
class GenerateResult:
    images: list[Image.Image]
    paths: list[Path]
    settings: list[GenerateSettings]  # one per image: everything needed to remake it
    warnings: list[str] = field(default_factory=list)
    standin: bool = False
    seconds: float = 0.0
    peak: PeakMemory | None = None  # highest memory during the pipeline call(s); kept beside the PNG, not in it


def _check_request(studio: Studio, req: GenerateRequest) -> tuple[ModelSpec, GenerateSettings]:
    """Validate `req` against the model, fill defaults; returns the spec and the settings shared by the batch."""
    spec = spec_for_tasks(studio, req.model, GENERATE_TASKS, "Generate models")
    controls, d = spec.controls(), spec.defaults
    if "prompt" in controls and is_blank(req.prompt):
        raise InputError(f"The prompt is empty: {spec.id} is a text-to-image model and needs a prompt.")
    check_prompts(req.prompt, req.negative_prompt)
    check_batch(studio, req.batch)
    width, height = d.width, d.height
    if "size" in controls:
        width, height = check_size(
            spec, d.width if req.width is None else req.width, d.height if req.height is None else req.height
        )
    scheduler = check_scheduler(spec, req.scheduler) if spec.denoises else ""  # a GAN samples in one pass
    if req.refine and not spec.refiner:
        raise InputError(
            f"{spec.id} has no refiner; models with one: {', '.join(s.id for s in studio.registry if s.refiner)}."
        )
    settings = GenerateSettings(
        **model_settings(studio, spec, req),
        steps=check_steps(d.steps if req.steps is None else req.steps),
        guidance=check_guidance(d.guidance if req.guidance is None or "guidance" not in controls else req.guidance),
        width=width,
        height=height,
        scheduler=scheduler,
        refine=bool(req.refine),
        **lora_settings(studio_loras(studio, spec, req.loras, GENERATE_TASKS)),
        variation_strength=check_variation(spec, req.variation_seed, req.variation_strength),
        truncation=_truncation(spec, req.truncation),
    )
    return spec, settings


def _truncation(spec: ModelSpec, psi: float | None) -> float | None:
    """The truncation psi a GAN samples with (checked, 0..1); None for models without it."""
    if "truncation" not in spec.controls():
        return None
    return check_unit_interval("Truncation psi", spec.defaults.truncation if psi is None else psi)


def _class_id(pipe: Any, label: str | int | None) -> tuple[int, str]:
    """ImageNet class index and name from a name or an index (as int or digit string)."""
    labels: Mapping[str, int] = getattr(pipe, "labels", {}) or {}
    names = {i: n for n, i in sorted(labels.items(), key=lambda kv: -len(kv[0]))}  # index -> shortest-first name
    count = max(labels.values(), default=999) + 1
    if label is None or (isinstance(label, str) and not label.strip()):
        label = DEFAULT_CLASS
    if whole_number_text(label) is not None:
        label = whole_number_text(label)
    if isinstance(label, int) and not isinstance(label, bool):
        if not 0 <= label < count:
            raise InputError(f"Class index {label} is out of range: ImageNet classes are 0..{count - 1}.")
        return label, names.get(label, str(label))
    name = str(label).strip()
    if name in labels:
        return labels[name], name
    lowered = {n.lower(): n for n in labels}
    if name.lower() in lowered:
        return labels[lowered[name.lower()]], lowered[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(lowered), n=5)
    hint = f" Did you mean: {', '.join(lowered[c] for c in close)}?" if close else ""
    shown = name if len(name) <= 60 else f"{name[:60]}… ({len(name):,} characters)"
    raise InputError(f"Unknown ImageNet class {shown!r}: give a class name or an index 0..{count - 1}.{hint}")


def _pipeline_kwargs(entry: LoadedPipeline, settings: GenerateSettings, batch: int) -> dict:
    """Arguments for the pipeline's __call__, using diffusers' own names; only those the class takes."""
    params, spec = pipeline_params(type(entry.pipe).__name__), entry.spec
    kwargs: dict[str, Any] = {"num_inference_steps": settings.steps}
    kwargs["generator"] = generator_arg(type(entry.pipe).__name__, settings.seed, batch)
    if spec.text_conditioned:
        kwargs["prompt"] = [settings.prompt] * batch
        if "negative_prompt" in params and settings.negative_prompt:
            kwargs["negative_prompt"] = [settings.negative_prompt] * batch
    elif "batch_size" in params:
        kwargs["batch_size"] = batch
    if "class_labels" in params:
        kwargs["class_labels"] = [settings.class_index] * batch
    if "guidance_scale" in params:
        kwargs["guidance_scale"] = settings.guidance
    if "truncation_psi" in params:
        kwargs["truncation_psi"] = settings.truncation
    if "height" in params and "width" in params:
        kwargs["height"], kwargs["width"] = settings.height, settings.width
    if "clean_caption" in params:
        kwargs["clean_caption"] = False  # caption cleaning needs bs4/ftfy and rewrites the prompt
    if "max_sequence_length" in params and spec.defaults.max_sequence_length:
        kwargs["max_sequence_length"] = spec.defaults.max_sequence_length
    return kwargs


def generate(
    studio: Studio, req: GenerateRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> GenerateResult:
    """Run one generate request; every image is saved as a PNG carrying its settings."""
    started = time.perf_counter()
    spec, settings = _check_request(studio, req)
    settings = replace(settings, seed=resolve_seed(req.seed))
    if settings.variation_strength:
        settings = replace(settings, variation_seed=resolve_seed(req.variation_seed))
    entry = studio.cache.get(studio.registry.get(spec.id))
    refiner = studio.cache.get(studio.registry.get(spec.refiner), keep=(spec.id,)) if req.refine else None
    warnings = locked_prompt_warnings(entry, settings.prompt, spec.defaults.max_sequence_length)
    if "class_label" in spec.controls():
        index, name = _class_id(entry.pipe, req.class_label)
        settings = replace(settings, class_index=index, class_label=name)
    batch, steps = req.batch, settings.steps
    with entry.lock, measure_peak(entry.device) as meter:
        use_sampler(entry, settings.scheduler)
        use_loras(studio, entry, settings.loras)
        kwargs = _pipeline_kwargs(entry, settings, batch)
        total = steps  # one denoising loop covers the whole batch
        if refiner is not None:  # base and refiner each walk their share of one `steps` schedule
            kwargs.update(output_type="latent", denoising_end=REFINER_SPLIT)
        variation = settings.variation_seed, settings.variation_strength
        with (
            step_progress(entry.pipe, kwargs, progress, total, 0, f"{spec.id}: denoising") as done,
            varied_noise(entry.pipe, kwargs["generator"], *variation),
        ):
            output = entry.run(kwargs)
    peak = meter.result
    if refiner is not None:
        with measure_peak(refiner.device) as refined:
            output = _refine(refiner, output.images, settings, batch, progress, done[0])
        peak = highest_peak(peak, refined.result)
    images, flags = images_and_flags(output)
    per_image = [
        replace(
            settings,
            seed=settings.seed + i,
            variation_seed=nth_seed(settings.variation_seed, i),
            width=img.width,
            height=img.height,
            nsfw_flagged=flag,
        )
        for i, (img, flag) in enumerate(zip(images, flags))
    ]
    paths = save_images(images, per_image, workspace_for(studio, output_dir))
    seconds = time.perf_counter() - started
    return GenerateResult(images, paths, per_image, warnings, studio.runs_standin(spec), seconds, peak)


def _refine(
    refiner: LoadedPipeline,
    latents: Any,
    settings: GenerateSettings,
    batch: int,
    progress: ProgressFn | None,
    start: int,
):
    """SDXL refiner pass over the base model's latents (the last 1 - REFINER_SPLIT of the schedule); its output."""
    with refiner.lock:
        if settings.scheduler in refiner.spec.samplers():
            use_sampler(refiner, settings.scheduler)
        kwargs = {
            "prompt": [settings.prompt] * batch,
            "image": latents,
            "num_inference_steps": settings.steps,
            "denoising_start": REFINER_SPLIT,
            "guidance_scale": settings.guidance,
            "generator": generators(settings.seed, batch),
        }
        if settings.negative_prompt:
            kwargs["negative_prompt"] = [settings.negative_prompt] * batch
        with step_progress(refiner.pipe, kwargs, progress, settings.steps, start, f"{refiner.spec.id}: refining"):
            return refiner.run(kwargs)


def checked_settings(studio: Studio, req: GenerateRequest) -> GenerateSettings:
    """The settings `req` runs with: defaults filled in and every value checked (InputError otherwise)."""
    return _check_request(studio, req)[1]


# what may differ between the requests of one generate_many
_PER_IMAGE = ("prompt", "negative_prompt", "seed", "variation_seed", "extra")


def generate_many(
    studio: Studio, requests: Sequence[GenerateRequest], *, progress: ProgressFn | None = None
) -> GenerateResult:
    """One model, several prompts and seeds, ONE pipeline call: image i has its own generator seeded with
    requests[i].seed. Every other setting must be the same. The images come back unsaved (paths is empty):
    the caller names its files, e.g. the leaderboard runner."""
    if not requests:
        raise InputError("generate_many needs at least one request.")
    started = time.perf_counter()
    checked = [_check_request(studio, r) for r in requests]
    spec, shared = checked[0]
    for req, (_, settings) in zip(requests, checked):
        differ = sorted(
            f.name
            for f in fields(settings)
            if f.name not in _PER_IMAGE and getattr(settings, f.name) != getattr(shared, f.name)
        )
        if req.batch != 1 or req.refine or req.class_label != requests[0].class_label:
            differ += ["batch/refine/class_label"]
        if differ:
            raise InputError(
                f"One batched call takes single images (batch=1, no refiner) of one model with the same "
                f"settings; {req.model!r} with prompt {req.prompt[:40]!r} differs in: {', '.join(differ)}."
            )
    seeds = [resolve_seed(r.seed) for r in requests]
    variation_seeds = [resolve_seed(r.variation_seed) if shared.variation_strength else None for r in requests]
    entry = studio.cache.get(studio.registry.get(spec.id))
    warnings = [
        w
        for p in dict.fromkeys(s.prompt for _, s in checked)
        for w in locked_prompt_warnings(entry, p, spec.defaults.max_sequence_length)
    ]
    if "class_label" in spec.controls():
        index, name = _class_id(entry.pipe, requests[0].class_label)
        shared = replace(shared, class_index=index, class_label=name)
    count = len(requests)
    with entry.lock:
        use_sampler(entry, shared.scheduler)
        use_loras(studio, entry, shared.loras)
        kwargs = _pipeline_kwargs(entry, shared, count)
        kwargs["generator"] = [generators(seed, 1)[0] for seed in seeds]  # (count,) one generator per image
        if "prompt" in kwargs:
            kwargs["prompt"] = [s.prompt for _, s in checked]
            negatives = [s.negative_prompt for _, s in checked]
            kwargs.pop("negative_prompt", None)
            if "negative_prompt" in pipeline_params(type(entry.pipe).__name__) and any(negatives):
                kwargs["negative_prompt"] = negatives  # "" encodes as the pipeline's own empty negative
        with (
            step_progress(entry.pipe, kwargs, progress, shared.steps, 0, f"{spec.id}: denoising"),
            varied_noise(entry.pipe, kwargs["generator"], variation_seeds, shared.variation_strength),
        ):
            images, flags = images_and_flags(entry.run(kwargs))
    per_image = [
        replace(
            shared,
            prompt=s.prompt,
            negative_prompt=s.negative_prompt,
            seed=seed,
            variation_seed=variation_seed,
            width=img.width,
            height=img.height,
            nsfw_flagged=flag,
        )
        for (_, s), seed, variation_seed, img, flag in zip(checked, seeds, variation_seeds, images, flags)
    ]
    return GenerateResult(
        list(images), [], per_image, warnings, studio.runs_standin(spec), time.perf_counter() - started
    )


def request_from_settings(settings: RunSettings) -> GenerateRequest:
    """The request that remakes an image (one image: batch 1), from the settings read back out of its PNG: every field
    of the same name, the class by its index where one was recorded."""
    index = getattr(settings, "class_index", None)
    return request_from_run_settings(
        GenerateRequest, settings, class_label=index if index is not None else getattr(settings, "class_label", None)
    )


def compare(
    studio: Studio, req: CompareRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> list[GenerateResult]:
    """The same prompt and seed through up to MAX_COMPARE_MODELS models. With `own_defaults`, each model
    uses its own steps, guidance, size and scheduler; otherwise the request's values apply to all."""
    model_ids = list(req.models)
    if not 1 <= len(model_ids) <= MAX_COMPARE_MODELS:
        raise InputError(f"Compare takes 1 to {MAX_COMPARE_MODELS} models; got {len(model_ids)}.")
    seed = resolve_seed(req.request.seed)  # one seed for every model, drawn once
    variation_seed = resolve_seed(req.request.variation_seed)  # ... and one variation seed
    requests = []
    for model_id in model_ids:
        one = replace(req.request, model=model_id, seed=seed, variation_seed=variation_seed)
        if req.own_defaults:
            one = replace(one, steps=None, guidance=None, width=None, height=None, scheduler=None, refine=False)
        _check_request(studio, one)  # refuse before any model runs
        requests.append(one)
    results = []
    for index, one in enumerate(requests):

        def report(done: int, total: int, desc: str, index=index) -> None:
            if progress is not None:
                progress(index * total + done, len(requests) * total, desc)

        results.append(generate(studio, one, progress=report, output_dir=output_dir))
    return results
