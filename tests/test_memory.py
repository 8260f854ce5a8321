"""Memory plans from the real configs: exact weights, traced activations, what fits how on 24/40/80 GB, and their use
(the loader's offload, the cache's budget, VAE tiling per call, one retry after CUDA out of memory).

Parameter counts checked against published figures and the Hub's file sizes (genart_demo/hubfacts tree.json):
- SDXL base UNet 2,567,463,684 (the SDXL report's 2.6 B UNet; 5.14 GB in fp16), CLIP ViT-L/14 text encoder
  123,060,480, OpenCLIP ViT-bigG/14 text encoder with projection 694,659,840, SDXL VAE 83,653,863 (335 MB fp32);
- FLUX.1-schnell transformer 11,891,178,560: FLUX.1's 11.9 B (FLUX.1-dev: 11,901,408,320) less the guidance
  embedder's 10,229,760 parameters, which schnell's config (guidance_embeds false) leaves out; its three bf16 shards
  on the Hub are 9.96 + 9.95 + 3.87 = 23.78 GB = 2 bytes x 11.89 B;
- T5-XXL v1.1 encoder 4,762,310,656 (FLUX's text_encoder_2 shards 4.99 + 4.53 GB in bf16), whose 24 `wo`
  projections (24 x 10240 x 4096 = 1,006,632,960 parameters) transformers keeps in float32 under float16;
- CogVideoX-2b transformer 1,693,783,872 (3.39 GB in fp16 on the Hub), its VAE 215,583,907 (862 MB in fp32).
"""

import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from genart_demo import loading
from genart_demo.cache import PipelineCache
from genart_demo.cli import main
from genart_demo.errors import TaskFailed
from genart_demo.memory import (
    ACTIVATION_SLACK,
    CUDA_RESERVE_BYTES,
    GIB,
    MODEL_OFFLOAD,
    NO_FIT,
    ON_GPU,
    ON_GPU_VAE,
    SEQUENTIAL_OFFLOAD,
    Component,
    MemoryPlan,
    Stage,
    offload_for,
    plan_memory,
    set_vae_options,
)
from genart_demo.memory_calls import make_call
from genart_demo.memory_meta import build_model, meta_model, traced_peak
from genart_demo.memory_stages import vae_factors
from genart_demo.registry import Registry

REGISTRY = Registry.load()
SDXL, REFINER = REGISTRY.get("sdxl-base"), REGISTRY.get("sdxl-refiner")
FLUX, COG = REGISTRY.get("flux-schnell"), REGISTRY.get("cogvideox-2b")
CLIP_POSITION_IDS = 77 * 8  # CLIP text models' int64 position-id buffer, kept as it is


def params(plan: MemoryPlan) -> dict[str, int]:
    return {f"{c.model}/{c.name}": c.params for c in plan.components}


def stage(plan: MemoryPlan, name: str) -> Stage:
    return next(s for s in plan.stages if f"{s.model}:{s.name}" == name)


def test_weights_are_the_real_configs_parameter_counts_in_the_run_dtype():
    pair = plan_memory(SDXL, 24, refiner=REFINER)
    assert params(pair) == {
        "sdxl-base/text_encoder": 123_060_480,
        "sdxl-base/text_encoder_2": 694_659_840,
        "sdxl-base/unet": 2_567_463_684,
        "sdxl-base/vae": 83_653_863,
        "sdxl-refiner/text_encoder_2": 694_659_840,
        "sdxl-refiner/unet": 2_259_526_660,
        "sdxl-refiner/vae": 83_653_863,
    }
    for c in pair.components:
        assert (c.dtype, c.fp32_params) == ("float16", 0)
        assert c.bytes == 2 * c.params + (CLIP_POSITION_IDS if c.name.startswith("text_encoder") else 0)
    flux = plan_memory(FLUX, 24)
    assert params(flux) == {
        "flux-schnell/text_encoder": 123_060_480,
        "flux-schnell/text_encoder_2": 4_762_310_656,
        "flux-schnell/transformer": 11_891_178_560,
        "flux-schnell/vae": 83_819_683,
    }
    assert {c.dtype for c in flux.components} == {"bfloat16"} and not any(c.fp32_params for c in flux.components)
    assert flux.weights_bytes == 2 * sum(params(flux).values()) + CLIP_POSITION_IDS  # 31.4 GiB
    cog = plan_memory(COG, 24)
    assert params(cog) == {
        "cogvideox-2b/text_encoder": 4_762_310_656,
        "cogvideox-2b/transformer": 1_693_783_872,
        "cogvideox-2b/vae": 215_583_907,
    }
    t5 = next(c for c in cog.components if c.name == "text_encoder")
    assert (t5.dtype, t5.fp32_params) == ("float16", 24 * 10240 * 4096)  # T5's `wo` stays float32 under float16
    assert t5.bytes == 2 * (t5.params - t5.fp32_params) + 4 * t5.fp32_params
    transformer = next(c for c in cog.components if c.name == "transformer")
    positions = (226 + 13 * 30 * 45) * 1920  # its sincos table: text + 13 latent frames x 30 x 45 patches, width 1920
    assert transformer.bytes == 2 * transformer.params + 2 * positions


def test_plans_on_24_40_and_80_gb():
    pair = {gb: plan_memory(SDXL, gb, refiner=REFINER) for gb in (12, 24, 40, 80)}
    assert [pair[gb].mode for gb in (24, 40, 80)] == [ON_GPU] * 3
    assert pair[12].mode == MODEL_OFFLOAD  # the two pipelines' 12.1 GiB of weights plus the decode do not fit
    decode = stage(pair[24], "sdxl-refiner:decode")  # the refiner decodes the handed-over latents, the base does not
    assert not any(s.name == "decode" for s in pair[24].stages if s.model == "sdxl-base")
    assert decode.extra_weights == 83_653_863 * 2  # SDXL casts its fp16 VAE to float32 to decode (force_upcast)
    # the float32 decode at 1024x1024 holds about three 256-channel float32 maps at full resolution
    assert 3 * 256 * 1024 * 1024 * 4 <= decode.act() < 3 * 256 * 1024 * 1024 * 4 + 2**20
    assert pair[24].peak_bytes == pair[24].need(ON_GPU) < 18 * GIB

    flux = {gb: plan_memory(FLUX, gb) for gb in (16, 24, 40, 80)}
    assert [flux[gb].mode for gb in (16, 24, 40, 80)] == [SEQUENTIAL_OFFLOAD, MODEL_OFFLOAD, ON_GPU, ON_GPU]
    assert 34 * GIB < flux[40].need(ON_GPU) < 35 * GIB  # 31.4 GiB of weights do not fit 24 GB ...
    assert 23 * GIB < flux[24].peak_bytes <= 24 * GIB  # ... the 22.1 GiB transformer alone does, just

    cog = {gb: plan_memory(COG, gb) for gb in (24, 40, 80)}
    assert (cog[24].mode, cog[24].vae, cog[24].vae_tiling) == (ON_GPU_VAE, "tiled", True)
    assert [cog[gb].mode for gb in (40, 80)] == [ON_GPU, ON_GPU] and cog[40].vae == "plain"
    decode = stage(cog[24], "cogvideox-2b:decode")
    assert decode.act("plain") > 14 * GIB and decode.act("tiled") < 4.5 * GIB  # 49 frames at 720x480, fp16
    assert cog[24].need(ON_GPU) > 33 * GIB and cog[24].peak_bytes <= 24 * GIB


def test_need_is_the_stated_formula():
    parts = (
        Component("m", "text_encoder", "T", "float16", 0, 0, 4 * GIB, GIB // 4, "encode"),
        Component("m", "unet", "U", "float16", 0, 0, 10 * GIB, GIB // 2, "denoise"),
        Component("m", "vae", "V", "float16", 0, 0, GIB, GIB // 8, "decode"),
        Component("m", "safety_checker", "S", "float16", 0, 0, GIB // 2, GIB // 8, "encode", offloaded=False),
    )
    stages = (
        Stage("m", "encode:text_encoder", ("text_encoder",), {"plain": GIB // 16}),
        Stage("m", "denoise", ("unet",), {"plain": 2 * GIB}),
        Stage("m", "decode", ("vae",), {"plain": 8 * GIB, "tiled": GIB}, extra_weights=GIB),
    )
    plan = MemoryPlan(("m",), "cuda", 16, 1024, 1024, 1, 0, parts, stages)
    weights = 15.5 * GIB
    assert plan.need(ON_GPU) == int(CUDA_RESERVE_BYTES + weights + ACTIVATION_SLACK * 8 * GIB + GIB)
    assert plan.need(ON_GPU, "tiled") == int(CUDA_RESERVE_BYTES + weights + ACTIVATION_SLACK * 2 * GIB)
    assert plan.need(MODEL_OFFLOAD) == int(CUDA_RESERVE_BYTES + GIB / 2 + 10 * GIB + ACTIVATION_SLACK * 2 * GIB)
    assert plan.need(SEQUENTIAL_OFFLOAD, "tiled") == int(CUDA_RESERVE_BYTES + GIB / 2 + GIB / 2 + 2.5 * GIB)
    assert (plan.mode, plan.vae) == (MODEL_OFFLOAD, "plain")  # 19 GiB on the GPU even tiled; 14 GiB offloaded
    assert MemoryPlan(("m",), "cuda", 2, 1024, 1024, 1, 0, parts, stages).mode == NO_FIT


class TinyAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(64, 192, bias=False)

    def forward(self, x):  # (1, N, 64)
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # views of one (1, N, 192) tensor
        return F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])  # (1, 1, N, 64)


def test_trace_counts_live_tensors_and_attention_as_a_fused_kernel():
    with torch.device("meta"):
        model, x = TinyAttention(), torch.empty(1, 4096, 64)
    peak = traced_peak(model, lambda: model(x), [x])
    assert peak == 4096 * 192 * 4 + 4096 * 64 * 4  # q/k/v and the output: no 4096 x 4096 attention map


def test_the_traced_calls_run_on_real_weights():
    """What benchmarks/memory_plan.py replays on a GPU: the call the plan traced, on a model with real weights."""
    key = ("stabilityai/sd-vae-ft-mse", "main", "config.json", "diffusers", "AutoencoderKL")
    vae = build_model(*key, "float32", "cpu")
    assert sum(p.numel() for p in vae.parameters()) == 83_653_863
    with torch.no_grad():
        assert make_call(vae, ("vae", "decode", 1, 0, 8, 8))().sample.shape == (1, 3, 64, 64)
    meta = meta_model(*key, "float32")
    peak = traced_peak(meta, make_call(meta, ("vae", "decode", 1, 0, 8, 8)), [])
    assert 128 * 64 * 64 * 4 < peak < 64 * 2**20  # at least a 128-channel float32 map at full size


class RecordingPipe:
    """Records how the loader placed it."""

    def __init__(self):
        self.calls, self.components = [], {}

    def enable_model_cpu_offload(self):
        self.calls.append("model offload")

    def enable_sequential_cpu_offload(self):
        self.calls.append("sequential offload")

    def to(self, device):
        self.calls.append(f"to {device}")
        return self

    def set_progress_bar_config(self, **_):
        pass


@pytest.mark.parametrize(
    ("gb", "forced", "placed"),
    [
        (80, False, "to cuda"),
        (24, False, "model offload"),
        (16, False, "sequential offload"),
        (80, True, "model offload"),
    ],
)
def test_the_loader_offloads_as_the_plan_says(settings, monkeypatch, gb, forced, placed):
    pipe = RecordingPipe()
    monkeypatch.setattr(loading, "_from_pretrained", lambda *args: pipe)
    run = replace(settings, memory_budget_gb=gb, cpu_offload=forced, offline=False)
    assert loading._load_diffusers_pipeline(FLUX, standin=False, device="cuda", settings=run) is pipe
    assert pipe.calls == [placed]
    assert offload_for(FLUX, "cuda", run, standin=True) == ("model" if forced else "")  # stand-ins always fit
    assert offload_for(FLUX, "cpu", run) == ""  # CPU runs are never offloaded


class FakeVae:
    def __init__(self):
        self.use_tiling = self.use_slicing = False

    def enable_tiling(self):
        self.use_tiling = True

    def disable_tiling(self):
        self.use_tiling = False

    def enable_slicing(self):
        self.use_slicing = True

    def disable_slicing(self):
        self.use_slicing = False


class FakePipe:
    """A pipeline of `params` meta-device weights (so none are allocated) that draws its noise from the call's
    generator and runs out of memory on its first `failures` calls."""

    def __init__(self, params=1024, failures=0, error=None):
        with torch.device("meta"):
            self.components = {"unet": torch.nn.Linear(params, 1, bias=False)}
        self.vae, self.scheduler = FakeVae(), type("S", (), {"config": {}})()
        self.failures, self.error, self.calls = failures, error or torch.cuda.OutOfMemoryError, []

    def __call__(self, **kwargs):
        self.calls.append(kwargs["generator"][0].get_state().clone())
        noise = torch.randn(4, generator=kwargs["generator"][0])
        if len(self.calls) <= self.failures:
            raise self.error("CUDA out of memory. Tried to allocate 20.00 GiB")
        return noise


def test_cache_counts_the_plan_and_tiles_the_vae_when_the_plan_says(settings):
    cache = PipelineCache(
        replace(settings, memory_budget_gb=24), standin=False, loader=lambda *a, **k: FakePipe(8 * 2**30)
    )
    cache._device = "cuda"
    entry = cache.get(COG)  # a pipe of 32 GiB of (meta) weights: the plan's 14.4 GiB describe it
    plan = plan_memory(COG, 24)
    assert entry.planned and entry.nbytes == plan.peak_bytes - CUDA_RESERVE_BYTES > plan.weights_bytes
    gen = [torch.Generator().manual_seed(0)]
    entry.run({"prompt": ["a"], "width": 720, "height": 480, "num_frames": 49, "generator": gen})
    assert (entry.pipe.vae.use_tiling, entry.pipe.vae.use_slicing) == (True, False)
    entry.run({"prompt": ["a"], "width": 256, "height": 256, "num_frames": 9, "generator": gen})
    assert (entry.pipe.vae.use_tiling, entry.pipe.vae.use_slicing) == (False, False)
    forced = replace(settings, memory_budget_gb=80, cpu_offload=True)  # GENART_CPU_OFFLOAD=1 on an 80 GB card
    cache = PipelineCache(forced, standin=False, loader=lambda *a, **k: FakePipe(8 * 2**30))
    cache._device = "cuda"
    flux, plan = cache.get(FLUX), plan_memory(FLUX, 80)
    assert flux.offload == "model" and flux.nbytes == plan.need(MODEL_OFFLOAD) - CUDA_RESERVE_BYTES < plan.weights_bytes


def test_set_vae_options_switches_both_ways():
    pipe = FakePipe()
    set_vae_options(pipe, "tiled+sliced")
    assert (pipe.vae.use_tiling, pipe.vae.use_slicing) == (True, True)
    set_vae_options(pipe, "sliced")
    assert (pipe.vae.use_tiling, pipe.vae.use_slicing) == (False, True)


def oom_cache(settings, pipe):
    run = replace(settings, memory_budget_gb=1.0)
    cache = PipelineCache(run, standin=True, loader=lambda spec, **_: pipe if spec.id == "sdxl-base" else FakePipe())
    cache._device = "cuda"
    cache.get(REGISTRY.get("sd15"))
    return cache, cache.get(SDXL)


def test_out_of_memory_evicts_empties_and_retries_once_with_the_same_noise(settings, monkeypatch):
    emptied = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(True))
    pipe = FakePipe(failures=1)
    cache, entry = oom_cache(settings, pipe)
    noise = entry.run({"prompt": ["a"], "width": 1024, "height": 1024, "generator": [torch.Generator().manual_seed(7)]})
    assert len(pipe.calls) == 2 and torch.equal(pipe.calls[0], pipe.calls[1])  # retried from the same seed state
    assert torch.equal(noise, torch.randn(4, generator=torch.Generator().manual_seed(7)))
    assert cache.loaded_ids() == ["sdxl-base"] and cache.evictions == ["sd15"] and emptied


def test_out_of_memory_twice_is_a_clear_error(settings, monkeypatch):
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    pipe = FakePipe(failures=2)
    _, entry = oom_cache(settings, pipe)
    with pytest.raises(TaskFailed) as failed:
        entry.run({"prompt": ["a"] * 2, "width": 1024, "height": 768, "generator": [torch.Generator()] * 2})
    assert len(pipe.calls) == 2  # once, then one retry
    message = str(failed.value)
    for part in ("sdxl-base", "1024x768", "batch 2", "smaller size", "GENART_CPU_OFFLOAD=1"):
        assert part in message


def test_other_errors_are_not_retried(settings):
    pipe = FakePipe(failures=1, error=ValueError)
    _, entry = oom_cache(settings, pipe)
    with pytest.raises(ValueError):
        entry.run({"prompt": ["a"], "generator": [torch.Generator()]})
    assert len(pipe.calls) == 1


def test_models_command_prints_and_lists_plans(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GENART_CACHE_DIR", str(tmp_path))
    assert main(["models", "--task", "text-to-video", "--vram", "24"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "on GPU with VAE tiling/slicing (VAE tiled)" in lines["cogvideox-2b"]
    assert main(["models", "--task", "text-to-video", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    cog = rows["cogvideox-2b"]["memory"]
    assert cog["device_gb"] == 24 and cog["mode"] == ON_GPU_VAE and (cog["width"], cog["frames"]) == (720, 49)
    assert {c["name"]: (c["dtype"], c["params"]) for c in cog["components"]}["transformer"] == (
        "float16",
        1_693_783_872,
    )
    assert cog["weights_bytes"] == sum(c["bytes"] for c in cog["components"]) and cog["headroom_bytes"] > 19 * GIB
    assert list((tmp_path / "memory-plans").glob("*.json"))  # measurements kept for the next process


def test_wan_plan_counts_the_hub_sized_weights_and_traces_every_stage():
    """Wan 2.1 1.3B from its rebuilt configs: the parameter counts are the Hub's fp32 file sizes / 4 (transformer
    shards 5.68 GB, UMT5 shards 22.73 GB, VAE 508 MB), and its transformer and Wan VAE are traced, in bfloat16."""
    plan = plan_memory(REGISTRY.get("wan21-t2v-1-3b"), 24)
    assert params(plan) == {
        "wan21-t2v-1-3b/text_encoder": 5_680_910_336,
        "wan21-t2v-1-3b/transformer": 1_418_996_800,
        "wan21-t2v-1-3b/vae": 126_892_531,
    }
    assert {c.dtype for c in plan.components} == {"bfloat16"}
    assert {s.name for s in plan.stages} == {"encode:text_encoder", "denoise", "decode"}
    assert all(s.act() > 0 for s in plan.stages) and plan.peak_bytes < 24 * GIB


def test_ltx_plan_counts_the_hub_sized_weights_and_traces_every_stage():
    """LTX-Video 0.9 from its Hub configs: parameter counts are the Hub's fp32 file sizes / 4 (transformer shards
    7.69 GB, T5 shards 19.05 GB with the tied embedding stored once, VAE 1.68 GB); its transformer (one token per
    latent) and its VAE (space / 32, time / 8) are traced, in bfloat16."""
    plan = plan_memory(REGISTRY.get("ltx-video"), 24)
    assert params(plan) == {
        "ltx-video/text_encoder": 4_762_310_656,
        "ltx-video/transformer": 1_923_385_472,
        "ltx-video/vae": 419_193_649,
    }
    assert {c.dtype for c in plan.components} == {"bfloat16"}
    assert {s.name for s in plan.stages} == {"encode:text_encoder", "denoise", "decode"}
    assert all(s.act() > 0 for s in plan.stages) and plan.peak_bytes < 24 * GIB
    vae = meta_model("Lightricks/LTX-Video", "main", "vae/config.json", "diffusers", "AutoencoderKLLTXVideo")
    assert vae_factors(vae) == (32, 8)  # its config leaves both ratios None: the model works them out itself
