"""The model cache: hits, LRU eviction under the budget, `keep`, hits that never wait behind a load, loads that take
turns, and metric networks under the same budget."""

import threading
import time
from dataclasses import replace

import torch

from genart_demo.cache import PipelineCache
from genart_demo.loading import load_pipeline
from genart_demo.registry import Registry

REGISTRY = Registry.load()


class FakePipe:
    """Just enough of a pipeline for the cache: components with a known byte size."""

    def __init__(self, n_floats):
        self.components = {"unet": torch.nn.Linear(n_floats, 1, bias=False)}
        self.scheduler = type("S", (), {"config": {"a": 1}})()


def counting_loader(calls, n_floats=1024):
    def loader(spec, **_):
        calls.append(spec.id)
        return FakePipe(n_floats)

    return loader


def test_cached_model_is_not_rebuilt(settings):
    calls = []
    cache = PipelineCache(settings, standin=True, loader=counting_loader(calls))
    first = cache.get(REGISTRY.get("sd15"))
    cache.get(REGISTRY.get("sdxl-turbo"))
    again = cache.get(REGISTRY.get("sd15"))
    assert again is first and calls == ["sd15", "sdxl-turbo"] and cache.hits == 1 and cache.loads == 2


def test_lru_eviction_under_budget(settings):
    calls = []
    one_model = 1024 * 4  # bytes of one FakePipe
    cache = PipelineCache(
        replace(settings, memory_budget_gb=2.5 * one_model / 2**30), standin=True, loader=counting_loader(calls)
    )
    for mid in ("sd15", "sd21", "sd15", "sdxl-base"):  # sd15 used again, so sd21 is least recent
        cache.get(REGISTRY.get(mid))
    assert cache.loaded_ids() == ["sd15", "sdxl-base"] and cache.evictions == ["sd21"]
    assert cache.used_bytes() <= cache.budget_bytes
    cache.get(REGISTRY.get("sd21"))
    assert calls == ["sd15", "sd21", "sdxl-base", "sd21"]  # evicted models are reloaded, cached ones are not


def test_real_studio_cache_reuses_standin(studio):
    spec = studio.registry.get("ddim-cifar10")
    before = studio.cache.loads
    a = studio.cache.get(spec)
    b = studio.cache.get(spec)
    assert a is b and studio.cache.loads <= before + 1


def test_keep_protects_a_model_from_eviction(settings):
    calls = []
    one_model = 1024 * 4
    cache = PipelineCache(
        replace(settings, memory_budget_gb=1.5 * one_model / 2**30), standin=True, loader=counting_loader(calls)
    )
    base = cache.get(REGISTRY.get("sdxl-base"))
    cache.get(REGISTRY.get("sdxl-refiner"), keep=("sdxl-base",))
    assert "sdxl-base" in cache.loaded_ids() and cache.evictions == []
    assert base.pipe is not None  # still usable by a run that holds it
    cache.get(REGISTRY.get("sd15"))
    assert cache.loaded_ids() == ["sd15"] and cache.evictions == ["sdxl-base", "sdxl-refiner"]


def test_cache_sizes_and_evicts_standin_autoencoders(settings):
    model = load_pipeline(REGISTRY.get("sd-vae-ft-mse"), standin=True, device="cpu", settings=settings)
    kl_bytes = sum(p.numel() * p.element_size() for p in model.parameters())  # the tiny kl-f8's float32 weights
    cache = PipelineCache(replace(settings, memory_budget_gb=1.5 * kl_bytes / 2**30), standin=True)
    first = cache.get(REGISTRY.get("sd-vae-ft-mse"))
    assert first.nbytes == kl_bytes and first.scheduler_config == {}  # a bare module: no scheduler, no buffers
    assert (first.spec.defaults.width, first.spec.defaults.size_multiple) == (64, 8)  # the stand-in's sizes
    assert cache.get(REGISTRY.get("sd-vae-ft-mse")) is first and cache.loads == 1
    cache.get(REGISTRY.get("sdxl-vae"))
    assert cache.loaded_ids() == ["sdxl-vae"] and cache.evictions == ["sd-vae-ft-mse"]


def test_a_hit_does_not_wait_behind_another_models_load(settings):
    release, started = threading.Event(), threading.Event()

    def loader(spec, **_):
        if spec.id == "sdxl-base":  # a slow load: blocks until released
            started.set()
            assert release.wait(10)
        return FakePipe(16)

    cache = PipelineCache(settings, standin=True, loader=loader)
    cached = cache.get(REGISTRY.get("sd15"))
    slow = threading.Thread(target=cache.get, args=(REGISTRY.get("sdxl-base"),))
    slow.start()
    assert started.wait(10)
    t = time.perf_counter()
    assert cache.get(REGISTRY.get("sd15")) is cached  # answered while sdxl-base is still loading
    waited = time.perf_counter() - t
    release.set()
    slow.join(10)
    assert waited < 0.5 and cache.loaded_ids() == ["sd15", "sdxl-base"]


def test_concurrent_misses_of_one_model_load_it_once(settings):
    calls = []

    def loader(spec, **_):
        calls.append(spec.id)
        time.sleep(0.2)
        return FakePipe(16)

    cache = PipelineCache(settings, standin=True, loader=loader)
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get(REGISTRY.get("sd15")))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert calls == ["sd15"] and len(got) == 4 and all(g is got[0] for g in got) and cache.hits == 3


def test_metric_networks_share_the_budget(settings):
    one_model = 1024 * 4
    cache = PipelineCache(
        replace(settings, memory_budget_gb=1.5 * one_model / 2**30), standin=True, loader=counting_loader([])
    )
    built = []
    net = cache.get_model("lpips", lambda: built.append(1) or torch.nn.Linear(1024, 1, bias=False))
    assert cache.get_model("lpips", lambda: built.append(1)) is net and built == [1]  # built once
    assert cache.loaded_ids() == ["metric:lpips"] and cache.used_bytes() == one_model
    cache.get(REGISTRY.get("sd15"))  # a pipeline needs the room: the metric network goes
    assert cache.loaded_ids() == ["sd15"] and cache.evictions == ["metric:lpips"]


def test_loads_of_different_models_take_turns(settings):
    """from_pretrained is not thread-safe (accelerate patches torch.nn.Module while it builds a model): two loads at
    once left the arena's stand-ins on the meta device under load. Loads never overlap."""
    active, overlaps = [], []

    def loader(spec, **_):
        active.append(spec.id)
        if len(active) > 1:
            overlaps.append(tuple(active))
        time.sleep(0.1)
        active.remove(spec.id)
        return FakePipe(16)

    cache = PipelineCache(settings, standin=True, loader=loader)
    threads = [threading.Thread(target=cache.get, args=(REGISTRY.get(m),)) for m in ("sd15", "sd21", "sdxl-base")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert overlaps == [] and sorted(cache.loaded_ids()) == ["sd15", "sd21", "sdxl-base"]
