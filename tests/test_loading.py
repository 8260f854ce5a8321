"""Loading: device and dtype choice, the pipeline cache (hits, LRU eviction), offline probing, pickle refusal,
and bare autoencoders (subfolder, fp32 on GPU, sized and evicted like pipelines)."""
import socket
import time
from dataclasses import replace

import pytest
import torch

from genart_demo.loading import (
    LoadError,
    PipelineCache,
    best_device,
    dtype_for,
    hub_reachable,
    load_pipeline,
)
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


def test_best_device_order_and_dtypes():
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    assert best_device() == expected  # "cpu" in CI, which has no GPU
    assert best_device("cpu") == "cpu"
    assert dtype_for("cpu", REGISTRY.get("sd15")) == torch.float32
    assert dtype_for("cuda", REGISTRY.get("sd15")) == torch.float16
    assert dtype_for("cuda", REGISTRY.get("flux-schnell")) == torch.bfloat16
    with pytest.raises(ValueError, match="cuda, mps, cpu"):
        best_device("tpu")


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
    cache = PipelineCache(replace(settings, memory_budget_gb=2.5 * one_model / 2**30), standin=True,
                          loader=counting_loader(calls))
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


def test_hub_probe_is_quick_when_nothing_answers(monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()  # nothing listens here: connection refused
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    assert hub_reachable(1.0) is False
    assert time.perf_counter() - started < 1.5


def test_hub_probe_true_when_the_endpoint_answers(monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    try:
        assert hub_reachable(1.0) is True
    finally:
        server.close()


def test_pickle_only_repo_is_refused_online(settings, monkeypatch):
    monkeypatch.delenv("GENART_ALLOW_PICKLE", raising=False)
    with pytest.raises(LoadError, match="only pickle .* GENART_ALLOW_PICKLE=1"):
        load_pipeline(REGISTRY.get("ddpm-celebahq"), standin=False, device="cpu", settings=settings)


def test_hub_load_passes_revision_safetensors_and_token(settings, monkeypatch):
    import diffusers

    seen = {}

    def fake_from_pretrained(source, **kwargs):
        seen.update(kwargs, source=source)
        raise OSError("offline in tests")

    monkeypatch.setattr(diffusers.LDMTextToImagePipeline, "from_pretrained", fake_from_pretrained)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    with pytest.raises(LoadError, match="Could not load ldm-text2im"):
        load_pipeline(REGISTRY.get("ldm-text2im"), standin=False, device="cpu", settings=settings)
    assert seen["source"] == "CompVis/ldm-text2im-large-256" and seen["revision"] == "refs/pr/10"
    assert seen["use_safetensors"] is True and seen["token"] == "hf_test_token"
    assert seen["torch_dtype"] == torch.float32 and "trust_remote_code" not in seen


def test_studio_goes_offline_when_the_hub_does_not_answer(settings, monkeypatch):
    from genart_demo.studio import Studio

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    started = time.perf_counter()
    studio = Studio.create(replace(settings, offline=False, hub_probe_timeout_s=1.0))
    assert time.perf_counter() - started < 2.0
    assert studio.offline and "did not answer" in studio.offline_reason
    assert "tiny random-weight stand-in" in studio.notice


def test_missing_fp16_variant_falls_back_to_full_weights(settings, monkeypatch):
    import diffusers

    calls = []

    def fake_from_pretrained(source, **kwargs):
        calls.append(dict(kwargs))
        if "variant" in kwargs:
            raise ValueError("no such modeling files are available for variant=fp16")
        raise OSError("offline in tests")

    monkeypatch.setattr(diffusers.StableDiffusionXLPipeline, "from_pretrained", fake_from_pretrained)
    with pytest.raises(LoadError):
        load_pipeline(REGISTRY.get("sdxl-turbo"), standin=False, device="cuda", settings=settings)
    assert [c.get("variant") for c in calls] == ["fp16", None]
    assert calls[0]["torch_dtype"] == torch.float16


def test_keep_protects_a_model_from_eviction(settings):
    calls = []
    one_model = 1024 * 4
    cache = PipelineCache(replace(settings, memory_budget_gb=1.5 * one_model / 2**30), standin=True,
                          loader=counting_loader(calls))
    base = cache.get(REGISTRY.get("sdxl-base"))
    cache.get(REGISTRY.get("sdxl-refiner"), keep=("sdxl-base",))
    assert "sdxl-base" in cache.loaded_ids() and cache.evictions == []
    assert base.pipe is not None  # still usable by a run that holds it
    cache.get(REGISTRY.get("sd15"))
    assert cache.loaded_ids() == ["sd15"] and cache.evictions == ["sdxl-base", "sdxl-refiner"]


# --- bare autoencoders ("autoencode" entries: AutoencoderKL / VQModel, not pipelines) ---


def test_autoencoder_gpu_dtypes():
    assert dtype_for("cuda", REGISTRY.get("sdxl-vae")) == torch.float32  # overflows in fp16: kept in fp32
    assert dtype_for("mps", REGISTRY.get("sdxl-vae")) == torch.float32
    assert dtype_for("cuda", REGISTRY.get("sdxl-vae-fp16-fix")) == torch.float16
    assert dtype_for("cuda", REGISTRY.get("ldm-vq-f4")) == torch.float16


def fake_hub(monkeypatch, cls_name, calls, fail_variant=False):
    """Replace `diffusers.<cls_name>.from_pretrained` by one that records its arguments and fails as offline."""
    import diffusers

    def fake_from_pretrained(source, **kwargs):
        calls.append(dict(kwargs, source=source))
        if fail_variant and "variant" in kwargs:
            raise ValueError("no such modeling files are available for variant=fp16")
        raise OSError("offline in tests")

    monkeypatch.setattr(getattr(diffusers, cls_name), "from_pretrained", fake_from_pretrained)


def test_autoencoder_hub_load_passes_subfolder_revision_and_safetensors(settings, monkeypatch):
    calls = []
    fake_hub(monkeypatch, "VQModel", calls)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    with pytest.raises(LoadError, match="Could not load ldm-vq-f4 from CompVis/ldm-celebahq-256"):
        load_pipeline(REGISTRY.get("ldm-vq-f4"), standin=False, device="cpu", settings=settings)
    assert calls == [{
        "source": "CompVis/ldm-celebahq-256", "subfolder": "vqvae", "revision": "refs/pr/7", "use_safetensors": True,
        "torch_dtype": torch.float32, "token": "hf_test_token",
    }]


def test_autoencoder_hub_load_on_gpu(settings, monkeypatch):
    calls = []
    fake_hub(monkeypatch, "AutoencoderKL", calls, fail_variant=True)
    for model_id in ("sdxl-vae", "sd15-vae"):
        with pytest.raises(LoadError):
            load_pipeline(REGISTRY.get(model_id), standin=False, device="cuda", settings=settings)
    sdxl, sd15_fp16, sd15_full = calls
    assert sdxl["source"] == "stabilityai/sdxl-vae" and sdxl["torch_dtype"] == torch.float32
    assert "subfolder" not in sdxl and "variant" not in sdxl
    assert (sd15_fp16["subfolder"], sd15_fp16["variant"], sd15_fp16["torch_dtype"]) == ("vae", "fp16", torch.float16)
    assert "variant" not in sd15_full and sd15_full["subfolder"] == "vae"  # retried with the full-precision files


def test_pickle_only_autoencoder_needs_the_opt_in(settings, monkeypatch):
    spec = replace(REGISTRY.get("ldm-vq-f4"), revision="main", safetensors=False)  # main holds only the .bin
    monkeypatch.delenv("GENART_ALLOW_PICKLE", raising=False)
    with pytest.raises(LoadError, match="only pickle .* GENART_ALLOW_PICKLE=1"):
        load_pipeline(spec, standin=False, device="cpu", settings=settings)
    calls = []
    fake_hub(monkeypatch, "VQModel", calls)
    monkeypatch.setenv("GENART_ALLOW_PICKLE", "1")
    with pytest.raises(LoadError):
        load_pipeline(spec, standin=False, device="cpu", settings=settings)
    assert calls[0]["use_safetensors"] is False


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
