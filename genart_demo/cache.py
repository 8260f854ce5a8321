"""The process-wide cache of loaded models (pipelines and metric networks), bounded by one memory budget."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import TaskFailed
from .loading import best_device, effective_spec, load_pipeline, pipeline_nbytes
from .memory import (
    CUDA_RESERVE_BYTES,
    GIB,
    cpu_vae_option,
    default_plan,
    describes,
    device_memory_gb,
    offload_for,
    set_vae_options,
    try_plan,
)
from .registry import ModelSpec
from .settings import Settings

log = logging.getLogger("genart.loading")

METRIC_PREFIX = "metric:"  # cache keys of metric networks (registry ids never contain ":")


@dataclass
class LoadedPipeline:
    """A pipeline in the cache, with what the tasks need to run it safely."""

    pipe: Any
    spec: ModelSpec  # the effective spec (stand-in sizes when standin)
    standin: bool
    device: str
    nbytes: int
    scheduler_config: dict  # the checkpoint's own scheduler config, to derive other samplers from
    sampler: str = ""  # the sampler name the pipeline's scheduler was last built for ("" = the checkpoint's own)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one generation at a time per pipeline
    offload: str = ""  # how the loader placed it: "" (on the device), "model" or "sequential" CPU offload
    planned: bool = False  # whether a memory plan describes it (a real checkpoint on CUDA), so calls follow plans
    cache: PipelineCache | None = field(default=None, repr=False)  # the cache holding it (runs it within memory)

    def run(self, kwargs: dict) -> Any:
        """`pipe(**kwargs)` within memory (see PipelineCache.run)."""
        return self.cache.run(self, kwargs) if self.cache is not None else self.pipe(**kwargs)


@dataclass
class LoadedModel:
    """Any other model in the cache (a metric network: an extractor, CLIP, LPIPS)."""

    model: Any
    nbytes: int


def _default_budget_bytes(device: str) -> int:
    """GPU memory less the CUDA context's reserve on CUDA (entries count their weights and activation headroom);
    half the machine's RAM otherwise."""
    if device == "cuda":
        import torch  # lazy: only asked once a model is about to load on CUDA

        return int(torch.cuda.get_device_properties(0).total_memory) - CUDA_RESERVE_BYTES
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return int(pages * page_size * 0.5)


class PipelineCache:
    """Loaded models, least recently used evicted first when the budget is full.

    A hit takes only a short bookkeeping lock, so it never waits behind a load. Loads take turns on one load lock:
    diffusers' and transformers' from_pretrained is not thread-safe (accelerate's init_empty_weights patches
    torch.nn.Module process-wide while a model is built; two at once leave weights on the meta device). A request
    for a model that is being loaded waits for that load and then hits, instead of loading it twice.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        standin: bool | Callable[[ModelSpec], bool],
        loader: Callable[..., Any] = load_pipeline,
    ):
        """`standin`: whether models load as tiny stand-ins, for all of them or per model (Studio.runs_standin)."""
        self.settings = settings
        self._standin = standin if callable(standin) else (lambda _spec, every=bool(standin): every)
        self._device = ""  # resolved on first use, so building the app imports no torch
        self._budget_bytes = int(settings.memory_budget_gb * 2**30)  # 0 = automatic, resolved on first use
        self._loader = loader
        self._entries: OrderedDict[str, LoadedPipeline | LoadedModel] = OrderedDict()
        self._lock = threading.Lock()  # guards _entries and the counters; never held during a load
        self._load_lock = threading.Lock()  # one load at a time (see the class docstring)
        self.loads = 0  # models built (a hit does not count)
        self.hits = 0
        self.evictions: list[str] = []  # keys evicted, oldest first
        self._plans: dict[str, Any] = {}  # registry id -> its memory plan at its default size (None: no plan)

    @property
    def device(self) -> str:
        if not self._device:
            self._device = best_device(self.settings.device)
        return self._device

    @property
    def budget_bytes(self) -> int:
        if self._budget_bytes <= 0:
            self._budget_bytes = _default_budget_bytes(self.device)
        return self._budget_bytes

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def runs_standin(self, spec: ModelSpec) -> bool:
        return self._standin(spec)

    def loaded_ids(self) -> list[str]:
        """Keys in the cache (registry ids; metric networks as "metric:<name>"), least recently used first."""
        return list(self._entries)

    def used_bytes(self) -> int:
        return sum(e.nbytes for e in list(self._entries.values()))

    def get(self, spec: ModelSpec, keep: tuple[str, ...] = ()) -> LoadedPipeline:
        """The loaded pipeline for `spec`, loading (and evicting to make room) only on a miss.

        Ids in `keep` are never evicted by this call (a base model while its refiner loads). On CUDA, a real model
        counts what its memory plan needs at its default size (weights and activation headroom, placed as the loader
        places it); a stand-in, a model without a plan, or any model elsewhere, the bytes of its weights."""
        standin = self.runs_standin(spec)
        plan = self._default_plan(spec) if self.device == "cuda" and not standin else None
        offload = offload_for(spec, self.device, self.settings, standin=standin)
        need = plan.need_for(offload) - plan.reserve_bytes if plan is not None else 0
        estimate = 0 if standin else need or int(spec.memory_gb * 2**30)

        def load() -> LoadedPipeline:
            pipe = self._loader(spec, standin=standin, device=self.device, settings=self.settings)
            weights = pipeline_nbytes(pipe)
            planned = plan is not None and describes(plan, weights)
            return LoadedPipeline(
                pipe=pipe,
                spec=effective_spec(spec, standin),
                standin=standin,
                device=self.device,
                nbytes=need if planned else weights,
                scheduler_config=dict(getattr(getattr(pipe, "scheduler", None), "config", None) or {}),
                offload=offload,
                planned=planned,
                cache=self,
            )

        return self._get(spec.id, load, estimate, keep)

    def get_model(self, name: str, build: Callable[[], Any]) -> Any:
        """A metric network (or other model) called `name`: built by `build()` on first use, then kept under the
        same budget as the pipelines."""

        def load() -> LoadedModel:
            model = build()
            return LoadedModel(model, pipeline_nbytes(model))

        return self._get(METRIC_PREFIX + name, load, 0, ()).model

    def _get(self, key: str, load: Callable[[], Any], estimate: int, keep: tuple[str, ...]):
        with self._lock:
            entry = self._hit(key)
            if entry is not None:
                return entry
        with self._load_lock:
            with self._lock:
                entry = self._hit(key)  # loaded by another request while this one waited
                if entry is not None:
                    return entry
                self._evict_until(self.budget_bytes - estimate, keep)
            started = time.perf_counter()
            entry = load()
            log.info("loaded %s in %.1fs (%.1f MB)", key, time.perf_counter() - started, entry.nbytes / 2**20)
            with self._lock:
                self.loads += 1
                self._evict_until(self.budget_bytes - entry.nbytes, keep + (key,))
                self._entries[key] = entry
            return entry

    def _hit(self, key: str):
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
        return entry

    def _evict_until(self, limit_bytes: int, keep: tuple[str, ...] = ()) -> None:
        """Drop least recently used entries until the rest fit in `limit_bytes`. A generation still running on
        a dropped pipeline keeps its own reference, so memory is freed when that run ends, not mid-run."""
        evicted = False
        while self.used_bytes() > max(limit_bytes, 0):
            victim = next((key for key in self._entries if key not in keep), None)
            if victim is None:
                break
            del self._entries[victim]
            self.evictions.append(victim)
            evicted = True
            log.info("evicted %s", victim)
        if evicted:
            gc.collect()
            if self.device == "cuda":
                import torch  # lazy: only on CUDA, where torch is loaded already

                torch.cuda.empty_cache()

    def _default_plan(self, spec: ModelSpec):
        """The entry's plan at its default size (memory.default_plan), made once per entry."""
        if spec.id not in self._plans:
            self._plans[spec.id] = default_plan(spec, self.settings)
        return self._plans[spec.id]

    def free_gb(self, other_than: str) -> float:
        """GiB a call of `other_than` may plan with: the GPU (or GENART_MEMORY_BUDGET_GB) less what the other cached
        models hold."""
        held = sum(e.nbytes for k, e in list(self._entries.items()) if k != other_than)
        return max(device_memory_gb(self.settings) * GIB - held, 0) / GIB

    def free_memory(self, keep: tuple[str, ...] = ()) -> None:
        """Evict every model but those in `keep`, collect garbage and empty torch's CUDA cache."""
        with self._lock:
            self._evict_until(0, keep)
        gc.collect()
        if self.device == "cuda":
            import torch  # lazy: only on CUDA, where torch is loaded already

            torch.cuda.empty_cache()

    def run(self, entry: LoadedPipeline, kwargs: dict) -> Any:
        """`entry.pipe(**kwargs)` within memory. A planned model first gets the VAE tiling and slicing its plan asks
        for at this call's size, with the memory the other cached models leave (on a CPU: tiling only for huge
        outputs). On CUDA out of memory, every other model is evicted, torch's CUDA cache emptied and the call
        retried once with the same seeds; running out again is a TaskFailed naming the model, the size asked and
        what to try."""
        asked = call_size(entry, kwargs)
        if entry.planned:
            gb = self.free_gb(entry.spec.id)
            plan = try_plan(entry.spec, gb, device=entry.device, settings=self.settings, **asked)
            if plan is not None:
                set_vae_options(entry.pipe, plan.vae_for(entry.offload))
        elif entry.device == "cpu" and not entry.standin:
            set_vae_options(entry.pipe, cpu_vae_option(asked["width"], asked["height"], asked["frames"]))
        seeds = _generator_states(kwargs)
        try:
            return entry.pipe(**kwargs)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
        # out of the except block: the failed call's exception, and the frames holding its activations, are gone
        log.warning("%s ran out of GPU memory; unloading other models and retrying once", entry.spec.id)
        self.free_memory(keep=(entry.spec.id,))
        _restore_generators(seeds)
        try:
            return entry.pipe(**kwargs)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            message = out_of_memory_message(entry.spec.id, asked)
        self.free_memory(keep=(entry.spec.id,))
        raise TaskFailed(message)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` is torch's CUDA out-of-memory error."""
    import torch  # lazy: only asked after a pipeline call failed, when torch is loaded already

    return isinstance(exc, torch.cuda.OutOfMemoryError)


def call_size(entry: LoadedPipeline, kwargs: dict) -> dict[str, int]:
    """width, height, batch and frames of a pipeline call, from its arguments (the entry's defaults where the call
    does not say: an img2img call takes the input image's size, a refiner its latents' size)."""
    d = entry.spec.defaults
    width, height = kwargs.get("width"), kwargs.get("height")
    image = kwargs.get("image")
    if width is None and hasattr(image, "size") and isinstance(image.size, tuple):  # a PIL image
        width, height = image.size
    elif width is None and getattr(image, "ndim", 0) == 4:  # latents (B, C, h, w) handed over by a base model
        factor = getattr(entry.pipe, "vae_scale_factor", 8)
        height, width = int(image.shape[-2]) * factor, int(image.shape[-1]) * factor
    prompts, generator = kwargs.get("prompt"), kwargs.get("generator")
    batch = len(prompts) if isinstance(prompts, list) else len(generator) if isinstance(generator, list) else 1
    return {
        "width": int(width or d.width),
        "height": int(height or d.height),
        "batch": batch * int(kwargs.get("num_images_per_prompt") or 1),
        "frames": int(kwargs.get("num_frames") or 0),
    }


def out_of_memory_message(model_id: str, asked: dict[str, int]) -> str:
    frames = f", {asked['frames']} frames" if asked["frames"] else ""
    return (
        f"{model_id} ran out of GPU memory making {asked['width']}x{asked['height']}{frames} (batch {asked['batch']}), "
        "even after every other model was unloaded and the call retried. Try a smaller size"
        + (", fewer frames" if asked["frames"] else "")
        + (", a smaller batch" if asked["batch"] > 1 else "")
        + ", or set GENART_CPU_OFFLOAD=1 to keep only the running part of each model on the GPU."
    )


def _generator_states(kwargs: dict) -> list[tuple[Any, Any]]:
    """(generator, its state) for each torch.Generator the call was given, so a retry draws the same noise."""
    given = kwargs.get("generator")
    gens = given if isinstance(given, list) else [given] if given is not None else []
    return [(g, g.get_state()) for g in gens if hasattr(g, "get_state")]


def _restore_generators(states: list[tuple[Any, Any]]) -> None:
    for generator, state in states:
        generator.set_state(state)
