"""Every registry entry loads through the real path (from_pretrained on a Hub cache laid out as its real repo,
offline) and makes one output through its task, in full precision and again in its GPU dtype on CPU."""

import math
from collections import Counter
from dataclasses import replace

import pytest
import torch
from PIL import Image

from genart_demo.cache import PipelineCache
from genart_demo.hubfacts import FACTS_DIR, folder_name
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
MODES = {"fp32": "", "gpu": "gpu"}  # Settings.dtype: "" = auto (fp32 on CPU); "gpu" = the entry's GPU dtype
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
# Half-precision kernels CPU torch lacks: entry id -> the exact error text. Only these, only in "gpu" mode, skip.
KNOWN_CPU_HALF: dict[str, str] = {}


def repos_of(spec) -> list[tuple[str, str]]:
    """(repo, revision) of every Hub repo the entry loads: its own and its components' (ControlNet, motion adapter)."""
    parts = [(p["repo"], p.get("revision", "main")) for p in spec.components.values()]
    return [(spec.repo, spec.revision), *parts]


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
    side = TINY_INPUT if "super-resolve" in spec.tasks else TINY_SIDE
    return math.ceil(max(side, d.size_multiple) / d.size_multiple) * d.size_multiple


def tiny_registry() -> Registry:
    """The registry with each entry's smallest size lowered to tiny_side (nothing else changes: same repos)."""
    specs = {}
    for spec in REGISTRY:
        side = tiny_side(spec)
        specs[spec.id] = replace(spec, defaults=replace(spec.defaults, size_min=min(spec.defaults.size_min, side)))
    return Registry(specs)


def steps_for(spec) -> int:
    """One step, or as few as make strength x steps reach a whole step (img2img skips the rest)."""
    strength = spec.defaults.strength
    return math.ceil(1 / strength - 1e-9) if 0 < strength < 1 else 1


def run_task(studio, spec, inputs) -> tuple[list, tuple[int, ...]]:
    """One output of `spec` through its task at a tiny size: (outputs, the shape each must have)."""
    task, controls, d = spec.tasks[0], spec.controls(), spec.defaults
    side = tiny_side(spec)
    size = (side, side) if "size" in controls else (d.width, d.height)
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
        return Studio(real, tiny_registry(), PipelineCache(real, standin=False), offline=True, offline_reason="mirror")

    return make


@pytest.mark.filterwarnings("error:invalid value encountered:RuntimeWarning")  # NaN pixels (fp16 overflow) fail
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model_id", REGISTRY.ids())
def test_entry_loads_from_its_real_layout_and_makes_an_output(model_id, mode, mirror, mirrored_studio, inputs):
    spec = REGISTRY.get(model_id)
    for repo, revision in repos_of(spec):
        name = folder_name(repo, revision)
        if not (FACTS_DIR / name / "tree.json").is_file():
            pytest.fail(f"{model_id}: no committed Hub facts for {repo}@{revision}: genart_demo/hubfacts/{name}/")
        if name in mirror.errors:
            pytest.fail(f"{model_id}: {repo}@{revision} could not be mirrored: {mirror.errors[name]}")
    studio = mirrored_studio(MODES[mode])
    try:
        outputs, shape = run_task(studio, spec, inputs)
    except Exception as exc:
        known = KNOWN_CPU_HALF.get(model_id)
        if mode == "gpu" and known and known in str(exc):
            pytest.skip(f"CPU torch lacks a half-precision kernel: {known}")
        raise
    entry = studio.cache.get(spec)  # a hit: the model the task ran
    assert entry.standin is False
    want = expected_dtype(spec, MODES[mode])
    assert module_dtypes(entry.pipe) == dict.fromkeys(module_dtypes(entry.pipe), want)
    assert [shape_of(o) for o in outputs] == [shape]
