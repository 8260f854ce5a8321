"""Memory plans: what a registry entry needs on a device at a size, and how it fits (on the GPU, with VAE tiling or
slicing, with model or sequential CPU offload), from its real configs built on the meta device.

The numbers (genart_demo/memory_stages.py, memory_calls.py, memory_meta.py):
- weights: every component the entry loads, built from the configs in genart_demo/hubfacts, counted parameter by
  parameter in the dtype it runs in (registry `gpu_dtype` on a GPU, float32 on the CPU; parameters its library keeps
  in float32 at 4 bytes), plus buffers;
- activations: each stage of one call (text encoders, VAE encode of an input image, one denoiser step at batch x
  guidance copies, VAE decode) run on meta tensors at the requested width x height, batch and frames, counting every
  tensor from the op that makes it until its last reference dies: the peak of live tensors in eager PyTorch. No
  shape constant is assumed; the trace finds them. The SDXL VAE decoding 1024x1024 in float32 peaks at the size of
  three 256-channel maps at full resolution (3 x 1 GiB); CogVideoX-2b's decoding 49 frames at 720x480 at 14.7 GiB.
  Attention counts as PyTorch's fused kernel (flash / memory-efficient, what CUDA runs for fp16 and bf16): its output
  only, never the tokens x tokens map, which for CogVideoX's 17,776 tokens x 30 heads would be 19 GB per copy.

What a call needs, for each way of running it (headroom = what on GPU needs beyond the weights):
    on GPU:      reserve + all weights                    + max over stages (slack x activations(stage) + upcast)
    model CPU offload:  reserve + resident + max over stages (weights of the stage's components + slack x act + upcast)
    sequential CPU offload: reserve + resident + max over stages (largest single module + slack x act + upcast)
where `resident` are components diffusers never offloads (`_exclude_from_cpu_offload`, e.g. the safety checker),
`upcast` the extra bytes of a VAE the pipeline casts to float32 to decode (SDXL in float16), and activations of the
VAE stages are taken plain, one image at a time (slicing) or tile by tile (tiling), whichever the plan chose.
The constants are CUDA_RESERVE_BYTES (reserve) and ACTIVATION_SLACK (slack) below, both assumed, not yet measured
here: benchmarks/memory_plan.py measures them on a GPU. With them CogVideoX's plain decode needs 1 + 1.25 x 14.7 =
19.4 GiB beside its weights, about the 19 GB it is known to take without VAE tiling.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .memory_parts import PLANS_FOLDER, Component, Shape, Stage, measurement_key, stored
from .registry import ModelSpec
from .settings import Settings

log = logging.getLogger("genart.memory")

GIB = 2**30
# The CUDA context (about 0.5 GiB once cuBLAS and cuDNN are loaded; it lives outside torch's allocator, so no
# torch counter shows it) plus cuBLAS/cuDNN workspaces (up to 0.5 GiB on large convolutions and matmuls).
CUDA_RESERVE_BYTES = 1 * GIB
# Live tensors are what the trace counts; torch's caching allocator reserves more at a peak (blocks rounded up to
# 512 B / 2 MiB segments, fragmentation between differently sized activations): 25% on top of the traced peak.
ACTIVATION_SLACK = 1.25

ON_GPU = "on GPU"
ON_GPU_VAE = "on GPU with VAE tiling/slicing"
MODEL_OFFLOAD = "model CPU offload"
SEQUENTIAL_OFFLOAD = "sequential CPU offload"
NO_FIT = "does not fit"
MODES = (ON_GPU, ON_GPU_VAE, MODEL_OFFLOAD, SEQUENTIAL_OFFLOAD, NO_FIT)
VAE_OPTIONS = ("plain", "sliced", "tiled", "tiled+sliced")  # in order of preference
OFFLOADS = {
    MODEL_OFFLOAD: "model",
    SEQUENTIAL_OFFLOAD: "sequential",
    NO_FIT: "sequential",
}  # how the loader runs a mode
_OFFLOAD_MODES = {"": ON_GPU, "model": MODEL_OFFLOAD, "sequential": SEQUENTIAL_OFFLOAD}
IMAGE_TASKS = ("image-to-image", "inpaint", "image-to-video")  # calls that VAE-encode an input image


class NotPlanned(LookupError):
    """An entry the planner cannot build (no diffusers config: GANs and single-file upscalers; no Hub facts)."""


@dataclass(frozen=True)
class MemoryPlan:
    """What one call of one entry (or a base model with its refiner) needs, and how it fits on `device_gb`."""

    model_ids: tuple[str, ...]
    device: str
    device_gb: float
    width: int
    height: int
    batch: int
    frames: int
    components: tuple[Component, ...]
    stages: tuple[Stage, ...]
    mode: str = field(init=False)
    vae: str = field(init=False)  # the VAE option the mode runs with

    def __post_init__(self):
        mode, vae = self._choose()
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "vae", vae)

    @property
    def weights_bytes(self) -> int:
        return sum(c.bytes for c in self.components)

    @property
    def reserve_bytes(self) -> int:
        return CUDA_RESERVE_BYTES if self.device == "cuda" else 0

    @property
    def headroom_bytes(self) -> int:
        """What a plain on-GPU run needs beyond its weights: the reserve and the largest stage's activations."""
        return self.need(ON_GPU) - self.weights_bytes

    @property
    def peak_bytes(self) -> int:
        """What the chosen way of running needs at its peak."""
        return self.need(self.mode, self.vae)

    @property
    def fits(self) -> bool:
        return self.mode != NO_FIT

    @property
    def vae_tiling(self) -> bool:
        return "tiled" in self.vae

    @property
    def vae_slicing(self) -> bool:
        return "sliced" in self.vae

    @property
    def offload(self) -> str:
        """How the loader runs this plan: "" (on the device), "model" or "sequential" CPU offload."""
        return OFFLOADS.get(self.mode, "")

    def need(self, mode: str, vae: str = "plain") -> int:
        """Bytes a call needs run `mode`-wise with VAE option `vae` (see the module docstring)."""
        weights = {(c.model, c.name): c for c in self.components}
        resident = sum(c.bytes for c in self.components if not c.offloaded)
        peaks = []
        for s in self.stages:
            act = ACTIVATION_SLACK * s.act(vae) + s.extra_weights
            parts = [weights[(s.model, n)] for n in s.components if weights[(s.model, n)].offloaded]
            if mode in (ON_GPU, ON_GPU_VAE):
                held = 0
            elif mode == MODEL_OFFLOAD:
                held = sum(c.bytes for c in parts)
            else:
                held = max((c.largest_module_bytes for c in parts), default=0)
            peaks.append(held + act)
        base = self.weights_bytes if mode in (ON_GPU, ON_GPU_VAE) else resident
        return int(self.reserve_bytes + base + max(peaks, default=0))

    def options(self) -> list[str]:
        """VAE options that change anything here, in order of preference ("plain" first)."""
        present = {k for s in self.stages for k in s.activations}
        return [o for o in VAE_OPTIONS if o in present]

    def need_for(self, offload: str) -> int:
        """What a call needs when the pipeline runs with `offload` ("", "model", "sequential"), its VAE as vae_for."""
        return self.need(_OFFLOAD_MODES.get(offload, SEQUENTIAL_OFFLOAD), self.vae_for(offload))

    def vae_for(self, offload: str) -> str:
        """The first VAE option that fits when the pipeline runs with `offload` ("", "model", "sequential"); the
        smallest one when none does."""
        mode = _OFFLOAD_MODES.get(offload, SEQUENTIAL_OFFLOAD)
        limit = self.device_gb * GIB
        fitting = [o for o in self.options() if self.need(mode, o) <= limit]
        return fitting[0] if fitting else min(self.options(), key=lambda o: self.need(mode, o))

    def _choose(self) -> tuple[str, str]:
        limit = self.device_gb * GIB
        for mode in (ON_GPU, MODEL_OFFLOAD, SEQUENTIAL_OFFLOAD):
            for option in self.options():
                if self.need(mode, option) <= limit:
                    return (ON_GPU_VAE if mode == ON_GPU and option != "plain" else mode), option
        return NO_FIT, min(self.options(), key=lambda o: self.need(SEQUENTIAL_OFFLOAD, o))

    def untraced(self) -> list[str]:
        return [f"{s.model}:{s.name}" for s in self.stages if not s.traced]

    def summary(self) -> str:
        """One line: how it fits, with the numbers."""
        size = f"{self.width}x{self.height}" + (f", {self.frames} frames" if self.frames else "")
        vae = f" (VAE {self.vae})" if self.vae != "plain" else ""
        head = f"{'+'.join(self.model_ids)} at {size}, batch {self.batch} on {self.device_gb:g} GB: {self.mode}{vae}"
        numbers = (
            f"weights {self.weights_bytes / GIB:.1f} GiB + headroom {self.headroom_bytes / GIB:.1f} GiB on GPU; "
            f"{self.peak_bytes / GIB:.1f} GiB at the peak as planned"
        )
        return f"{head}; {numbers}"

    def to_json(self) -> dict[str, Any]:
        return {
            "models": list(self.model_ids),
            "device": self.device,
            "device_gb": self.device_gb,
            "width": self.width,
            "height": self.height,
            "batch": self.batch,
            "frames": self.frames,
            "components": [
                {
                    "model": c.model,
                    "name": c.name,
                    "class": c.cls,
                    "dtype": c.dtype,
                    "params": c.params,
                    "fp32_params": c.fp32_params,
                    "bytes": c.bytes,
                }
                for c in self.components
            ],
            "weights_bytes": self.weights_bytes,
            "headroom_bytes": self.headroom_bytes,
            "stages": {f"{s.model}:{s.name}": dict(s.activations) for s in self.stages},
            "mode": self.mode,
            "vae": self.vae,
            "peak_bytes": self.peak_bytes,
            "need_bytes": {m: self.need_for(offload) for offload, m in _OFFLOAD_MODES.items()},
            "untraced": self.untraced(),
        }


def default_size(spec: ModelSpec) -> tuple[int, int]:
    """(width, height) a call makes by default: the output of one input tile for upscalers, else the defaults."""
    d = spec.defaults
    if "super-resolve" in spec.tasks:
        return d.tile * (spec.scale or 1), d.tile * (spec.scale or 1)
    return d.width, d.height


def guidance_copies(spec: ModelSpec, guidance: float | None = None) -> int:
    """How many copies of the latents each denoiser step runs: 2 under classifier-free guidance (scale > 1), 3 with
    InstructPix2Pix's image guidance, else 1."""
    scale = spec.defaults.guidance if guidance is None else guidance
    if scale <= 1:
        return 1
    return 3 if spec.defaults.image_guidance else 2


def plan_memory(
    spec: ModelSpec,
    device_gb: float,
    *,
    width: int | None = None,
    height: int | None = None,
    batch: int = 1,
    frames: int | None = None,
    guidance: float | None = None,
    refiner: ModelSpec | None = None,
    device: str = "cuda",
    settings: Settings | None = None,
) -> MemoryPlan:
    """The plan for one call of `spec` (at its default size unless given) on a device with `device_gb` GiB. With
    `refiner`, both stay loaded and the base hands its latents to the refiner, which decodes them. `settings` give
    the dtype mode and safety-checker policy the loader applies, and keep measurements under the cache folder's
    PLANS_FOLDER for later processes; without them, the defaults and an in-process cache."""
    if spec.kind not in ("pipeline", "model"):
        raise NotPlanned(f"{spec.id} ({spec.kind}: {spec.pipeline}) has no diffusers config to plan from.")
    shape = call_shape(spec, width, height, batch, frames, guidance)
    try:
        comps, stages = _measured(spec, device, shape, settings, encodes_image=encodes_image(spec), decodes=not refiner)
        if refiner is not None:
            more = _measured(refiner, device, shape, settings, encodes_image=False, decodes=True)
            comps, stages = comps + more[0], stages + more[1]
    except LookupError as exc:  # hubfacts.MissingFacts: no committed config for a repo or a component
        raise NotPlanned(str(exc)) from exc
    ids = (spec.id,) + ((refiner.id,) if refiner else ())
    w, h, f = shape.width, shape.height, shape.frames
    return MemoryPlan(ids, device, device_gb, w, h, batch, f, tuple(comps), tuple(stages))


def call_shape(
    spec: ModelSpec,
    width: int | None = None,
    height: int | None = None,
    batch: int = 1,
    frames: int | None = None,
    guidance: float | None = None,
) -> Shape:
    """The sizes of one call of `spec`: its defaults where not given."""
    d, (dw, dh) = spec.defaults, default_size(spec)
    frames = d.frames if frames is None else frames
    copies = guidance_copies(spec, guidance)
    return Shape(width or dw, height or dh, frames, batch, copies, d.max_sequence_length, d.decode_chunk)


def encodes_image(spec: ModelSpec) -> bool:
    """Whether a call VAE-encodes an input image (image-to-image, inpaint, image-to-video pipelines)."""
    return bool(set(spec.tasks) & set(IMAGE_TASKS)) and spec.kind == "pipeline"


def _measured(spec: ModelSpec, device: str, shape: Shape, settings: Settings | None, **stages: bool):
    """memory_stages.measure with the loader's dtype mode and safety-checker policy, kept under the cache folder."""
    options = {"dtype_mode": settings.dtype, "safety_policy": settings.safety_checker} if settings else {}
    options |= stages
    folder = Path(settings.cache_dir) / PLANS_FOLDER if settings is not None else None
    path = folder / f"{measurement_key(spec, device, shape, options)}.json" if folder is not None else None

    def measure():
        from . import memory_stages  # lazy: builds models with torch/diffusers/transformers (seconds to import)

        return memory_stages.measure(spec, device, shape, **options)

    return stored(path, measure)


def cuda_memory_gb() -> float:
    """Total memory of CUDA device 0 in GiB."""
    import torch  # lazy: only asked once a model is about to load on CUDA

    return torch.cuda.get_device_properties(0).total_memory / GIB


def device_memory_gb(settings: Settings) -> float:
    """What the planner may use on the GPU: GENART_MEMORY_BUDGET_GB when set, else the whole device."""
    return settings.memory_budget_gb or cuda_memory_gb()


def default_plan(spec: ModelSpec, settings: Settings) -> MemoryPlan | None:
    """The plan the loader and the cache go by: the entry at its default size, batch 1, on this CUDA device."""
    return try_plan(spec, device_memory_gb(settings), device="cuda", settings=settings)


def describes(plan: MemoryPlan, weight_bytes: int) -> bool:
    """Whether a plan describes the checkpoint that loaded, whose modules hold `weight_bytes`: not when those are
    under half the planned weights (a Hub cache mirrored with shrunk weights, as the offline tests load)."""
    return weight_bytes >= plan.weights_bytes / 2


def try_plan(spec: ModelSpec, device_gb: float, **kwargs: Any) -> MemoryPlan | None:
    """plan_memory, or None (logged) where the entry cannot be planned; planning never stops a model loading."""
    try:
        return plan_memory(spec, device_gb, **kwargs)
    except NotPlanned as exc:
        log.info("no memory plan for %s: %s", spec.id, exc)
    except Exception:  # a config or class this planner does not handle: loading goes on as before
        log.warning("memory plan for %s failed", spec.id, exc_info=True)
    return None


def offload_for(spec: ModelSpec, device: str, settings: Settings, *, standin: bool = False) -> str:
    """How the loader places `spec` on `device`: "" (all on the device), "model" or "sequential" CPU offload. Only
    on CUDA; GENART_CPU_OFFLOAD=1 forces model offload, else the plan at the default size decides (a tiny stand-in
    always fits)."""
    if device != "cuda" or (standin and not settings.cpu_offload):
        return ""
    if settings.cpu_offload:
        return "model"
    plan = default_plan(spec, settings)
    if plan is not None and plan.offload:
        log.info("%s", plan.summary())
    return plan.offload if plan is not None else ""


def set_vae_options(pipe: Any, vae: str) -> None:
    """Turn the pipeline's VAE tiling and slicing on or off as the VAE option says (where the VAE has them: diffusers
    autoencoders with `use_tiling` / `use_slicing`)."""
    model = next((getattr(pipe, n) for n in ("vae", "vqvae", "movq") if getattr(pipe, n, None) is not None), None)
    for name, flag, on in (("tiling", "use_tiling", "tiled" in vae), ("slicing", "use_slicing", "sliced" in vae)):
        if hasattr(model, flag):
            getattr(model, f"{'enable' if on else 'disable'}_{name}")()


PLAN_GB = 24.0  # the GPU size `genart models --json` plans for unless --vram gives one
# On a CPU nothing is planned (no offload, and tracing would cost seconds per call); its VAE tiles only past this many
# pixels per image, times frames: the SDXL VAE's float32 decode peaks at 3.0 GiB of live activations at 1024x1024
# (traced), growing with the pixels, so 12 GiB at 2048x2048.
CPU_TILING_PIXELS = 2048 * 2048


def cpu_vae_option(width: int, height: int, frames: int = 0) -> str:
    """The VAE option on a CPU: "tiled" for huge images or videos, else "plain"."""
    return "tiled" if width * height * max(frames, 1) > CPU_TILING_PIXELS else "plain"


def model_plans(specs: list[ModelSpec], device_gb: float, settings: Settings) -> dict[str, dict[str, Any]]:
    """id -> the entry's plan at its default size on `device_gb` GiB (MemoryPlan.to_json), or {"not_planned": why}."""
    plans: dict[str, dict[str, Any]] = {}
    for spec in specs:
        try:
            plans[spec.id] = plan_memory(spec, device_gb, settings=settings).to_json()
        except NotPlanned as exc:
            plans[spec.id] = {"not_planned": str(exc)}
        except Exception as exc:  # a config or class the planner does not handle: listed as such, the rest go on
            log.warning("memory plan for %s failed", spec.id, exc_info=True)
            plans[spec.id] = {"not_planned": f"planning failed: {type(exc).__name__}: {exc}"}
    return plans


def plans_table(plans: Mapping[str, Mapping[str, Any]]) -> str:
    """`genart models --vram GB`: per entry, what fits how at its default size, with weights, headroom and peak."""
    header = ("id", "fits how", "weights GiB", "headroom GiB", "peak GiB", "at (default size, batch)")
    table = [header]
    for model_id, p in plans.items():
        if "not_planned" in p:
            table.append((model_id, "not planned", "", "", "", p["not_planned"]))
            continue
        how = p["mode"] + (f" (VAE {p['vae']})" if p["vae"] != "plain" else "")
        at = f"{p['width']}x{p['height']}" + (f"x{p['frames']}f" if p["frames"] else "") + f" b{p['batch']}"
        gib = [f"{p[k] / GIB:.1f}" for k in ("weights_bytes", "headroom_bytes", "peak_bytes")]
        table.append((model_id, how, *gib, at))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table)
