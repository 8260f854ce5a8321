"""ZeroGPU support: on Hugging Face ZeroGPU hardware, task calls run under `spaces.GPU` for an estimated duration.

A ZeroGPU Space holds a GPU only while a function decorated with `spaces.GPU(duration=seconds)` runs, and a
shorter request is served sooner. genart asks, per call, for a duration estimated from the model's size, the
steps, the image size and the frames. Elsewhere (`Settings.zerogpu` false: no `SPACES_ZERO_GPU` in the environment)
nothing changes: tasks are called directly and the `spaces` package is never imported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from .registry import ModelSpec, Registry

T = TypeVar("T")

MIN_SECONDS = 20  # the shortest GPU duration asked for (loading weights onto the GPU alone takes this long)
MAX_SECONDS = 300  # the longest; longer requests are refused to most visitors' quotas
DEFAULT_SECONDS = 60  # what `spaces.GPU` assumes; asked for when a call names no model (e.g. set metrics)
LOAD_SECONDS = 5.0  # fixed cost of moving a pipeline onto the GPU ...
LOAD_SECONDS_PER_GB = 1.0  # ... plus this per GB of fp16 weights (registry `memory_gb`)
STEP_SECONDS_PER_GB = 0.01  # one denoising step of a 512x512 image, per GB of weights (about 2x an A100's time)
REFERENCE_PIXELS = 512 * 512  # per-step time scales with pixels relative to this, and with frames and batch


def clamp_seconds(seconds: float) -> int:
    """A duration in whole seconds within [MIN_SECONDS, MAX_SECONDS]."""
    return int(min(MAX_SECONDS, max(MIN_SECONDS, math.ceil(seconds))))


def estimate_seconds(spec: ModelSpec, steps: int, width: int, height: int, frames: int = 1, batch: int = 1) -> int:
    """GPU seconds to ask for one call: loading the weights, then `steps` steps over width x height x frames x batch
    pixels; grows with each of them and is clamped to [MIN_SECONDS, MAX_SECONDS]."""
    load = LOAD_SECONDS + LOAD_SECONDS_PER_GB * spec.memory_gb
    work = (max(1, width) * max(1, height) / REFERENCE_PIXELS) * max(1, frames) * max(1, batch)
    per_step = STEP_SECONDS_PER_GB * spec.memory_gb * work
    return clamp_seconds(load + max(1, steps) * per_step)


def _whole(value: Any, default: int) -> int:
    """A positive int setting of a request, or the default where it is unset or not a usable number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
        return default
    return int(value)


def call_seconds(registry: Registry, request: Any) -> int:
    """The duration for a task call on `request`: the sum over the models it runs (`request.model_ids()`) of
    `estimate_seconds` with the request's settings (the model's defaults where unset); DEFAULT_SECONDS where no
    model is named or known. Never raises: a bad request is the task's to refuse, with its own message."""
    settings = getattr(request, "request", request)  # compare: the shared settings of its one request
    try:
        model_ids = [m for m in request.model_ids() if isinstance(m, str)]
    except (AttributeError, TypeError):
        model_ids = []
    total = 0.0
    for model_id in model_ids:
        if model_id not in registry:
            continue
        spec = registry.get(model_id)
        refiner = spec.refiner if getattr(settings, "refine", False) and spec.refiner in registry else ""
        for part in (spec, registry.get(refiner)) if refiner else (spec,):  # SDXL + its refiner run in one call
            d = part.defaults
            total += estimate_seconds(
                part,
                steps=_whole(getattr(settings, "steps", None), d.steps),
                width=_whole(getattr(settings, "width", None), d.width),
                height=_whole(getattr(settings, "height", None), d.height),
                frames=_whole(getattr(settings, "frames", None), d.frames or 1),
                batch=_whole(getattr(settings, "batch", None), 1),
            )
    return clamp_seconds(total) if total else DEFAULT_SECONDS


def gpu_call(fn: Callable[..., T], duration: int, zerogpu: bool) -> Callable[..., T]:
    """`fn` wrapped with `spaces.GPU(duration=duration)` on ZeroGPU (`zerogpu`: Settings.zerogpu); `fn` itself
    everywhere else.

    `spaces` keeps one wrapper per function object (a second decoration of the same function keeps the first
    duration) and pickles a call's arguments into its GPU worker, so callers pass a fresh zero-argument callable
    per call (see `genart_demo.ui.common.run_task`).
    """
    if not zerogpu:
        return fn
    import spaces  # lazy: present on ZeroGPU hardware only, and imported only there

    return spaces.GPU(duration=int(duration))(fn)


def _gpu_ready() -> bool:
    """Registered with `spaces` at startup (see `prepare_zerogpu`); says the GPU worker answered."""
    return True


def prepare_zerogpu(zerogpu: bool) -> bool:
    """On ZeroGPU (`zerogpu`: Settings.zerogpu), tell `spaces` before the app launches that it uses the GPU: ZeroGPU
    reports a Space's `spaces.GPU` functions at launch, and genart's are made per call. True there; elsewhere
    nothing, False."""
    if not zerogpu:
        return False
    import spaces  # lazy: see gpu_call

    spaces.GPU(duration=MIN_SECONDS)(_gpu_ready)
    return True
