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

from .loading import best_device, effective_spec, load_pipeline, pipeline_nbytes
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


@dataclass
class LoadedModel:
    """Any other model in the cache (a metric network: an extractor, CLIP, LPIPS)."""

    model: Any
    nbytes: int


def _default_budget_bytes(device: str) -> int:
    """90% of GPU memory on CUDA; half the machine's RAM otherwise."""
    if device == "cuda":
        import torch  # lazy: only asked once a model is about to load on CUDA

        return int(torch.cuda.get_device_properties(0).total_memory * 0.9)
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

        Ids in `keep` are never evicted by this call (a base model while its refiner loads)."""
        standin = self.runs_standin(spec)
        estimate = 0 if standin else int(spec.memory_gb * 2**30)

        def load() -> LoadedPipeline:
            pipe = self._loader(spec, standin=standin, device=self.device, settings=self.settings)
            return LoadedPipeline(
                pipe=pipe,
                spec=effective_spec(spec, standin),
                standin=standin,
                device=self.device,
                nbytes=pipeline_nbytes(pipe),
                scheduler_config=dict(getattr(getattr(pipe, "scheduler", None), "config", None) or {}),
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
