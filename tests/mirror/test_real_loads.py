"""Every registry entry loads through the real path (from_pretrained on a Hub cache laid out as its real repo,
offline) and makes one output through its task, in full precision and again in its GPU dtype on CPU."""

import logging
import math
from collections import Counter
from dataclasses import replace

import pytest
import torch
from PIL import Image

from genart_demo.cache import PipelineCache
from genart_demo.hubfacts import FACTS_DIR, folder_name
from genart_demo.loading import runs_standin
from genart_demo.registry import Registry
from genart_demo.studio import Studio
from genart_demo.tasks.evaluate_images import AutoencodeRequest, evaluate_autoencoders
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tasks.inpaint import InpaintRequest, inpaint
from genart_demo.tasks.translate import TranslateRequest, translate
from genart_demo.tasks.upscale import UpscaleRequest, upscale
from genart_demo.tasks.video import VideoRequest, generate_video

REGISTRY = Registry.load()
PROMPT = "a photo of a cat"
TINY_SIDE = 64  # px: 8x8 latents for the factor-8 autoencoders
TINY_INPUT = 16  # px of an upscaler's input
SMALLEST_SAMPLE = {"PixArtSigmaPipeline": 32}  # resolution binning takes sample sizes 32 (256 px bins) to 256
MODES = {"fp32": "", "gpu": "gpu"}  # Settings.dtype: "" = auto (fp32 on CPU); "gpu" = the entry's GPU dtype
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
# Half-precision kernels CPU torch lacks: entry id -> the exact error text. Only these, only in "gpu" mode, skip.
KNOWN_CPU_HALF: dict[str, str] = {}
# Entries whose half-precision run on CPU takes minutes: CPU torch has no fast float16 convolution (it falls back to
# aten::_slow_conv2d_forward), and these ship full-size weights (no config.json to shrink) at a size fixed by their
# architecture. In "gpu" mode they load and are checked in float16, and their forward pass is skipped.
KNOWN_CPU_HALF_SLOW: dict[str, str] = {}  # entries whose half-precision forward is too slow for CI on a CPU, with why
# (pix2pix-facades' full-size U-Net at 256x256 in fp16 takes about 12 s in aten::_slow_conv2d_forward: it runs)


def expected_dtype(spec, mode: str) -> torch.dtype:
    return DTYPES[spec.gpu_dtype] if mode == "gpu" else torch.float32


def module_dtypes(pipe) -> dict[str, torch.dtype]:
    """The dtype most parameters of each torch module of a loaded model have (T5 keeps its `wo` layers in fp32)."""
    if isinstance(pipe, torch.nn.Module):
        modules = {"model": pipe}
    elif hasattr(pipe, "components"):
        modules = {k: v for k, v in pipe.components.items() if isinstance(v, torch.nn.Module)}
    else:  # a spandrel descriptor
        modules = {"model": pipe.model}
    found = {}
    for name, module in modules.items():
        counts = Counter(p.dtype for p in module.parameters() if p.is_floating_point())
        if counts:
            found[name] = counts.most_common(1)[0][0]
    return found


def tiny_side(spec) -> int:
    """A small side the pipeline accepts: TINY_SIDE px (an upscaler's input: TINY_INPUT), or the entry's size
    multiple if larger. Registry minimums (256 px for SD, 512 for SDXL) keep real outputs useful, not runnable."""
    d = spec.defaults
    side = TINY_INPUT if "super-resolve" in spec.tasks or spec.kind == "gan" else TINY_SIDE
    return math.ceil(max(side, d.size_multiple) / d.size_multiple) * d.size_multiple


def tiny_registry() -> Registry:
    """The registry with each entry's smallest size lowered to tiny_side (nothing else changes: same repos)."""
    specs = {}
    for spec in REGISTRY:
        side, d = tiny_side(spec), spec.defaults
        sized = {"width": side, "height": side} if spec.kind == "gan" else {}  # GANs run at the registry's size
        specs[spec.id] = replace(spec, defaults=replace(d, size_min=min(d.size_min, side), **sized))
    return Registry(specs)


def steps_for(spec) -> int:
    """One step, or as few as make strength x steps reach a whole step (img2img skips the rest)."""
    strength = spec.defaults.strength
    return max(spec.defaults.min_steps, math.ceil(1 / strength - 1e-9) if 0 < strength < 1 else 1)


def lower_sample_size(spec, pipe) -> int | None:
    """Pipelines that take no size (DDPM, NCSN++, LDM, DiT) sample at their denoiser's `sample_size`, and PixArt's
    resolution binning renders at a bin it picks: lower that to the smallest the denoiser takes (the bottom level
    1x1; PixArt's smallest bin) and return the output side that gives, or None where the size is the request's.
    The mirror keeps the real sample sizes; only this test's copy of the loaded model is changed."""
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    if denoiser is None or not hasattr(denoiser.config, "sample_size"):
        return None
    smallest = SMALLEST_SAMPLE.get(type(pipe).__name__)
    if smallest is None and "size" in spec.controls():
        return None
    levels = len(denoiser.config.get("block_out_channels") or ()) or 4  # a transformer: 8 latent px
    side = min(denoiser.config.sample_size, smallest or 2 ** (levels - 1))
    denoiser.register_to_config(sample_size=side)
    autoencoder = getattr(pipe, "vae", None) or getattr(pipe, "vqvae", None)
    factor = 2 ** (len(autoencoder.config.block_out_channels) - 1) if autoencoder is not None else 1
    return None if "size" in spec.controls() else side * factor


def run_task(studio, spec, inputs) -> tuple[list, tuple[int, ...]]:
    """One output of `spec` through its task at a tiny size: (outputs, the shape each must have)."""
    task, controls, d = spec.tasks[0], spec.controls(), spec.defaults
    side = tiny_side(spec)
    size = (side, side) if "size" in controls else (d.width, d.height)
    if spec.kind == "pipeline":
        sample_side = lower_sample_size(spec, studio.cache.get(spec).pipe)
        size = (sample_side, sample_side) if sample_side else size
    prompt = PROMPT if "prompt" in controls else ""
    common = {"model": spec.id, "steps": steps_for(spec), "seed": 0}
    if task in ("text-to-image", "unconditional", "class-conditional"):
        result = generate(studio, GenerateRequest(**common, prompt=prompt, width=size[0], height=size[1]))
        return result.images, size
    if task == "image-to-image":
        request = TranslateRequest(**common, image=inputs["photo"], prompt=prompt, width=size[0], height=size[1])
        return translate(studio, request).images, size
    if task == "inpaint":
        request = InpaintRequest(**common, image=inputs["photo"], mask=inputs["mask"], prompt=prompt)
        return inpaint(studio, replace(request, width=size[0], height=size[1])).images, size
    if task == "super-resolve":
        low = Image.open(inputs["photo"]).convert("RGB").resize((side, side))
        request = UpscaleRequest(model=spec.id, image=low, prompt=prompt, steps=1 if spec.denoises else None, seed=0)
        return [upscale(studio, request).image], (side * spec.scale, side * spec.scale)
    if task in ("text-to-video", "image-to-video"):
        frames = 1 + max(1, d.frame_step)
        image = inputs["photo"] if task == "image-to-video" else None
        request = VideoRequest(**common, prompt=prompt, image=image, frames=frames, width=side, height=side)
        if d.decode_chunk:
            request = replace(request, decode_chunk=frames)
        return [generate_video(studio, request).frames], (frames, side, side, 3)
    if task == "autoencode":
        result = evaluate_autoencoders(
            studio, AutoencodeRequest(image=inputs["photo"], models=(spec.id,), metrics=("psnr",))
        )
        return [result.images[1][0]], (side, side)
    raise AssertionError(f"{spec.id}: no runner for task {task}")


def shape_of(output) -> tuple[int, ...]:
    return output.size if isinstance(output, Image.Image) else tuple(output.shape)


@pytest.fixture()
def mirrored_studio(mirror, settings, tmp_path):
    """An offline studio reading the mirrored Hub cache, whose cache always loads the real checkpoint (never a
    stand-in); pickle-only repos are allowed, as GENART_ALLOW_PICKLE=1 allows them."""

    def make(mode: str) -> Studio:
        real = replace(
            settings, hub_cache=str(mirror.hub_cache), offline=True, allow_pickle=True, dtype=mode, output_dir=tmp_path
        )
        registry = tiny_registry()
        cache = PipelineCache(real, standin=lambda spec: runs_standin(spec, real, offline=True))  # as Studio.create
        return Studio(real, registry, cache, offline=True, offline_reason="mirror")

    return make


@pytest.mark.filterwarnings("error:invalid value encountered:RuntimeWarning")  # NaN pixels (fp16 overflow) fail
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model_id", REGISTRY.ids())
def test_entry_loads_from_its_real_layout_and_makes_an_output(model_id, mode, mirror, mirrored_studio, inputs, caplog):
    spec = REGISTRY.get(model_id)
    for repo, revision in spec.hub_repos():
        name = folder_name(repo, revision)
        if not (FACTS_DIR / name / "tree.json").is_file():
            pytest.fail(f"{model_id}: no committed Hub facts for {repo}@{revision}: genart_demo/hubfacts/{name}/")
        if name in mirror.errors:
            pytest.fail(f"{model_id}: {repo}@{revision} could not be mirrored: {mirror.errors[name]}")
    caplog.set_level(logging.INFO, logger="genart.loading")
    studio = mirrored_studio(MODES[mode])
    spec = studio.registry.get(model_id)  # the same entry with tiny sizes allowed
    if mode == "gpu" and model_id in KNOWN_CPU_HALF_SLOW:
        entry = studio.cache.get(spec)
        assert entry.standin is False
        assert set(module_dtypes(entry.pipe).values()) == {expected_dtype(spec, MODES[mode])}
        pytest.skip(f"loaded in {spec.gpu_dtype}; forward skipped: {KNOWN_CPU_HALF_SLOW[model_id]}")
    try:
        outputs, shape = run_task(studio, spec, inputs)
    except Exception as exc:
        known = KNOWN_CPU_HALF.get(model_id)
        if mode == "gpu" and known and known in str(exc):
            pytest.skip(f"CPU torch lacks a half-precision kernel: {known}")
        raise
    entry = studio.cache.get(spec)  # a hit: the model the task ran
    assert entry.standin is False and not studio.runs_standin(spec)  # offline, the cached checkpoint runs for real
    fallbacks = [r.getMessage() for r in caplog.records if "loading the full-precision files" in r.getMessage()]
    assert fallbacks == [], "the repo has the variant's files, yet they were not read"
    want = expected_dtype(spec, MODES[mode])
    assert module_dtypes(entry.pipe) == dict.fromkeys(module_dtypes(entry.pipe), want)
    assert [shape_of(o) for o in outputs] == [shape]
