"""What a registry entry loads and runs at each stage of a call, measured on the meta device (see memory_meta).

A diffusers call runs in stages: each text encoder encodes the prompt (batch B), the VAE encoder encodes an input
image (image-to-image, inpaint, image-to-video), the denoiser runs every step (batch B x the guidance copies), and
the VAE decoder decodes the latents (B images, or B x frames for a video model with an image VAE). Each stage is
one forward of genart_demo/memory_calls.py, traced once at the requested shape; the VAE stages also one image at a
time (slicing) and on one tile (tiling: diffusers decodes tiles one after another, so its peak is one tile's plus the
decoded tiles kept for blending).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

import diffusers

from .hubfacts import MissingFacts, repo_facts
from .loading import dtype_for
from .memory_calls import CLIP_TOKENS, is_3d, make_call
from .memory_meta import (
    component_class,
    count,
    is_model_class,
    meta_model,
    pipeline_offload_rules,
    pipeline_takes,
    pipeline_upcasts_vae,
    traced_peak,
)
from .memory_parts import Component, Shape, Stage
from .registry import ModelSpec
from .safety import safety_checker_kwargs

log = logging.getLogger("genart.memory")

BYTES = {"float16": 2, "bfloat16": 2, "float32": 4}
VAE_NAMES = ("vae", "vqvae", "movq")  # what diffusers pipelines call their autoencoder
DENOISER_NAMES = ("unet", "transformer", "prior")
WITH_DENOISER = ("controlnet", "motion_adapter")  # run every step beside the denoiser


@dataclass(frozen=True)
class Source:
    """Where one component's config lives and how to build it."""

    name: str
    library: str
    cls: str
    repo: str
    revision: str
    config: str  # path of its config.json inside the repo

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.repo, self.revision, self.config, self.library, self.cls)


def sources(spec: ModelSpec, safety_policy: str = "checkpoint") -> list[Source]:
    """The model components `spec` loads: its pipeline class's components found in the repo's model_index.json
    (tokenizers, schedulers and processors have no weights and are left out; the safety checker too where
    GENART_SAFETY_CHECKER=off loads the pipeline without it), plus its extra `components`."""
    if spec.kind == "model":
        folder = f"{spec.subfolder}/" if spec.subfolder else ""
        return [Source("vae", "diffusers", spec.pipeline, spec.repo, spec.revision, f"{folder}config.json")]
    facts = repo_facts(spec.repo, spec.revision)
    index = facts.json("model_index.json")
    takes = pipeline_takes(spec.pipeline)
    left_out = set(safety_checker_kwargs(getattr(diffusers, spec.pipeline), safety_policy)) | set(spec.components)
    found = []
    for name, value in index.items():
        if name.startswith("_") or name not in takes or name in left_out or not isinstance(value, list):
            continue
        library, cls = value
        if library is None or not is_model_class(component_class(library, cls)):
            continue
        # diffusers reads a component from the repo root when it has no folder (the first google/ddpm-* repos)
        folder = any(f.startswith(f"{name}/") for f in facts.files) or not facts.has("config.json")
        config = f"{name}/config.json" if folder else "config.json"
        found.append(Source(name, library, cls, spec.repo, spec.revision, config))
    for name, part in spec.components.items():
        found.append(
            Source(name, "diffusers", part["class"], part["repo"], part.get("revision", "main"), "config.json")
        )
    return found


def component(spec: ModelSpec, src: Source, dtype: str, stage: str, offloaded: bool) -> Component:
    """One component's weights in `dtype`: half-precision parameters at 2 bytes, float32-kept ones at 4."""
    n = count(*src.key())
    fp32 = n.params if dtype == "float32" else n.fp32_any + (n.fp32_fp16 if dtype == "float16" else 0)
    size = BYTES[dtype]
    weights = (n.params - fp32) * size + fp32 * 4 + n.float_buffers * size + n.other_buffer_bytes
    return Component(
        spec.id, src.name, n.cls, dtype, n.params, fp32, weights, n.largest_module * size, stage, offloaded
    )


def _stage_of(name: str) -> str:
    if name in VAE_NAMES:
        return "decode"
    return "denoise" if name in DENOISER_NAMES or name in WITH_DENOISER else "encode"


def _text_length(spec: ModelSpec, src: Source, model) -> int:
    """Tokens a text encoder reads: its position table (CLIP, BERT) or the entry's token budget where smaller (a
    decoder LM such as SANA's Gemma 2 has 8192 positions but reads the budget), else the entry's T5 budget, else
    its tokenizer's model_max_length (text_encoder_2 pairs with tokenizer_2)."""
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit:
        return min(int(limit), spec.defaults.max_sequence_length or int(limit))
    if spec.defaults.max_sequence_length:
        return spec.defaults.max_sequence_length
    tokenizer = src.name.replace("text_encoder", "tokenizer")
    try:
        return int(repo_facts(src.repo, src.revision).json(f"{tokenizer}/tokenizer_config.json")["model_max_length"])
    except (MissingFacts, KeyError, TypeError, ValueError):
        return 512


@cache
def _traced(key: tuple, dtype: str, call: tuple) -> int | None:
    """Peak live activations of `call` (memory_calls.make_call) on the meta-device component; None: no call."""
    model = meta_model(*key, dtype)
    run = make_call(model, call)
    return None if run is None else traced_peak(model, run, [])


def vae_factors(vae) -> tuple[int, int]:
    """(spatial, temporal) downsampling of an autoencoder, as its pipelines compute them."""
    c = vae.config
    if "temperal_downsample" in c:  # Wan's VAE: one halving per level, in time only where the flag says
        return 2 ** len(c.temperal_downsample), 2 ** sum(c.temperal_downsample)
    own = vars(vae)  # LTX-Video's VAE works its ratios out itself (a 4x4 patch, then halvings; config keys None)
    if isinstance(own.get("spatial_compression_ratio"), int) and isinstance(own.get("temporal_compression_ratio"), int):
        return own["spatial_compression_ratio"], own["temporal_compression_ratio"]
    spatial = 2 ** (len(c.block_out_channels) - 1)
    return spatial, (c.temporal_compression_ratio if is_3d(vae) else 1)


def _tile(vae) -> tuple[int, int, int, int, float, float] | None:
    """(latent tile h, w, sample tile h, w, overlap fraction h, w) of an autoencoder's tiling; None without one
    (diffusers' own test: a VAE tiles when it has `use_tiling`)."""
    if not hasattr(vae, "use_tiling"):
        return None
    if hasattr(vae, "tile_latent_min_height"):
        return (
            vae.tile_latent_min_height,
            vae.tile_latent_min_width,
            vae.tile_sample_min_height,
            vae.tile_sample_min_width,
            _overlap(vae, "height"),
            _overlap(vae, "width"),
        )
    if isinstance(getattr(vae, "tile_latent_min_size", None), int):
        t, ts, o = vae.tile_latent_min_size, vae.tile_sample_min_size, vae.tile_overlap_factor
        return t, t, ts, ts, o, o
    return None


def _overlap(vae, side: str) -> float:
    """The fraction of a tile its neighbour overlaps: given, or from the tile stride (AutoencoderDC: 512 every 448)."""
    given = getattr(vae, f"tile_overlap_factor_{side}", None)
    if given is not None:
        return given
    return 1 - getattr(vae, f"tile_sample_stride_{side}") / getattr(vae, f"tile_sample_min_{side}")


def _image_channels(vae) -> int:
    """Channels of the decoded image (AutoencoderDC's config names only in_channels: it decodes to as many)."""
    return vae.config.get("out_channels") or vae.config.in_channels


def _vae_variants(vae, op: str, n: int, f: int, h: int, w: int, out_f: int) -> dict[str, tuple[tuple, int]]:
    """The calls measuring a VAE stage, with the bytes they leave out: "plain", and where they change anything
    "sliced" (one item at a time: one item's peak plus the n outputs and their concatenation), "tiled" (one tile's
    peak plus the tiles kept for blending and the assembled result) and "tiled+sliced". h, w are the latent size
    when decoding, the pixel size when encoding; out_f the frames each item decodes to."""
    size = next(vae.parameters()).element_size()
    spatial, _ = vae_factors(vae)
    lat_h, lat_w = (h, w) if op == "decode" else (h // spatial, w // spatial)
    out_item = _image_channels(vae) * out_f * lat_h * lat_w * spatial * spatial * size if op == "decode" else 0
    variants = {"plain": (("vae", op, n, f, h, w), 0)}
    if n > 1 and hasattr(vae, "use_slicing"):
        variants["sliced"] = (("vae", op, 1, f, h, w), 2 * n * out_item)
    tile = _tile(vae)
    if tile is not None and (lat_h > tile[0] or lat_w > tile[1]):
        th, tw, sh, sw, oh, ow = tile
        tiles = -(-lat_h // max(1, int(th * (1 - oh)))) * -(-lat_w // max(1, int(tw * (1 - ow))))
        kept = tiles * _image_channels(vae) * out_f * sh * sw * size + out_item if op == "decode" else 0
        one = (th, tw) if op == "decode" else (sh, sw)
        variants["tiled"] = (("vae", op, n, f, *one), n * kept)
        if n > 1 and hasattr(vae, "use_slicing"):
            variants["tiled+sliced"] = (("vae", op, 1, f, *one), n * kept + n * out_item)
    return variants


@dataclass(frozen=True)
class StageCall:
    """One stage of a call as measured: the component that runs (in `dtype`) and its forward per VAE option."""

    name: str  # "encode:text_encoder", "encode:vae", "denoise", "decode"
    components: tuple[str, ...]  # whose weights it needs
    src: Source
    dtype: str
    variants: dict[str, tuple[tuple, int]]  # VAE option -> (memory_calls call, bytes added to its traced peak)
    extra_weights: int = 0


def stage_calls(
    spec: ModelSpec,
    device: str,
    s: Shape,
    *,
    encodes_image: bool,
    decodes: bool,
    dtype_mode: str = "",
    safety_policy: str = "checkpoint",
) -> tuple[list[Component], list[StageCall]]:
    """Every component `spec` loads on `device` (weights in the dtype it runs in there; `dtype_mode` and
    `safety_policy` are Settings.dtype and Settings.safety_checker) and every stage of one call at shape `s`."""
    dtype = str(dtype_for(device, spec, dtype_mode)).removeprefix("torch.")
    srcs = sources(spec, safety_policy)
    resident = set(pipeline_offload_rules(spec.pipeline)[1]) if spec.kind == "pipeline" else set()
    comps = [component(spec, src, dtype, _stage_of(src.name), src.name not in resident) for src in srcs]
    by_name = {src.name: src for src in srcs}
    vae_src = next((by_name[n] for n in VAE_NAMES if n in by_name), None)
    vae = meta_model(*vae_src.key(), dtype) if vae_src else None
    spatial, temporal = vae_factors(vae) if vae is not None else (1, 1)
    h, w = s.height // spatial, s.width // spatial
    f = (s.frames - 1) // temporal + 1 if s.frames and temporal > 1 else s.frames
    calls, pooled, long_text = [], 0, 0
    for src in srcs:
        if _stage_of(src.name) != "encode":
            continue
        model = meta_model(*src.key(), dtype)
        if type(model).__name__.endswith("WithProjection") and hasattr(model.config, "projection_dim"):
            pooled = model.config.projection_dim
        length = _text_length(spec, src, model)
        long_text = max(long_text, length if not getattr(model.config, "max_position_embeddings", 0) else 0)
        call = {"plain": (("text", s.batch, length), 0)}
        calls.append(StageCall(f"encode:{src.name}", (src.name,), src, dtype, call))
    if encodes_image and vae_src is not None and not is_3d(vae):
        variants = _vae_variants(vae, "encode", s.batch, 0, s.height, s.width, 1)
        calls.append(StageCall("encode:vae", (vae_src.name,), vae_src, dtype, variants))
    den = next((by_name[n] for n in DENOISER_NAMES if n in by_name), None)
    if den is not None:
        call = ("denoise", s.batch * s.copies, h, w, f, long_text or CLIP_TOKENS, pooled)
        names = tuple(n for n in by_name if _stage_of(n) == "denoise")
        calls.append(StageCall("denoise", names, den, dtype, {"plain": (call, 0)}))
    if decodes and vae_src is not None:
        vae_dtype, extra = dtype, 0
        if dtype == "float16" and vae.config.get("force_upcast") and pipeline_upcasts_vae(spec.pipeline):
            vae_dtype = "float32"  # the pipeline decodes with its VAE cast to float32 (and back afterwards)
            half = next(c for c in comps if c.name == vae_src.name).bytes
            extra = component(spec, vae_src, "float32", "decode", True).bytes - half
        if is_3d(vae) or not s.frames:
            n, out_f = s.batch, (s.frames or 1)
        else:  # a video model with an image VAE decodes its frames as a batch, `chunk` at a time
            n, out_f = s.batch * min(s.frames, s.chunk or s.frames), 1
        variants = _vae_variants(meta_model(*vae_src.key(), vae_dtype), "decode", n, f, h, w, out_f)
        calls.append(StageCall("decode", (vae_src.name,), vae_src, vae_dtype, variants, extra))
    return comps, calls


def measure(spec: ModelSpec, device: str, s: Shape, **options) -> tuple[list[Component], list[Stage]]:
    """stage_calls' components, and each stage's peak of live activations per VAE option, traced on meta tensors
    (a stage whose class has no call written is left at 0 and marked untraced)."""
    comps, calls = stage_calls(spec, device, s, **options)
    stages = []
    for c in calls:
        peaks = {option: _traced(c.src.key(), c.dtype, call) for option, (call, _) in c.variants.items()}
        acts = {option: (peaks[option] or 0) + added for option, (_, added) in c.variants.items()}
        traced = all(p is not None for p in peaks.values())
        stages.append(Stage(spec.id, c.name, c.components, acts, c.extra_weights, traced))
    return comps, stages
