"""Loading: device and dtype choice, offline probing, pickle refusal, the fp16 variant retry, and bare autoencoders
(subfolder, fp32 on GPU)."""

import socket
import time
from dataclasses import replace

import pytest
import torch

from genart_demo.loading import LoadError, best_device, dtype_for, hub_reachable, load_pipeline
from genart_demo.registry import Registry

REGISTRY = Registry.load()


def test_best_device_order_and_dtypes():
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    assert best_device() == expected  # "cpu" in CI, which has no GPU
    assert best_device("cpu") == "cpu"
    assert dtype_for("cpu", REGISTRY.get("sd15")) == torch.float32
    assert dtype_for("cuda", REGISTRY.get("sd15")) == torch.float16
    assert dtype_for("cuda", REGISTRY.get("flux-schnell")) == torch.bfloat16


def test_hub_probe_is_quick_when_nothing_answers():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()  # nothing listens here: connection refused
    started = time.perf_counter()
    assert hub_reachable(f"http://127.0.0.1:{port}", 1.0) is False
    assert time.perf_counter() - started < 1.5


def test_hub_probe_true_when_the_endpoint_answers():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        assert hub_reachable(f"http://127.0.0.1:{server.getsockname()[1]}", 1.0) is True
    finally:
        server.close()


def test_pickle_only_repo_is_refused_online(settings):
    with pytest.raises(LoadError, match="only pickle .* GENART_ALLOW_PICKLE=1"):
        load_pipeline(REGISTRY.get("ddpm-celebahq"), standin=False, device="cpu", settings=settings)


def test_hub_load_passes_revision_safetensors_and_token(settings, monkeypatch):
    import diffusers

    seen = {}

    def fake_from_pretrained(source, **kwargs):
        seen.update(kwargs, source=source)
        raise OSError("offline in tests")

    monkeypatch.setattr(diffusers.LDMTextToImagePipeline, "from_pretrained", fake_from_pretrained)
    with pytest.raises(LoadError, match="Could not load ldm-text2im"):
        load_pipeline(
            REGISTRY.get("ldm-text2im"),
            standin=False,
            device="cpu",
            settings=replace(settings, hf_token="hf_test_token"),
        )
    assert seen["source"] == "CompVis/ldm-text2im-large-256" and seen["revision"] == "refs/pr/10"
    assert seen["use_safetensors"] is True and seen["token"] == "hf_test_token"
    assert seen["dtype"] == torch.float32 and "trust_remote_code" not in seen


def test_studio_goes_offline_when_the_hub_does_not_answer(settings, monkeypatch):
    from genart_demo.studio import Studio

    started = time.perf_counter()  # the discard port: nothing listens
    studio = Studio.create(replace(settings, offline=False, hub_probe_timeout_s=1.0, hub_endpoint="http://127.0.0.1:9"))
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
    assert calls[0]["dtype"] == torch.float16


# --- bare autoencoders ("autoencode" entries: AutoencoderKL / VQModel, not pipelines) ---


def test_autoencoder_gpu_dtypes():
    assert dtype_for("cuda", REGISTRY.get("sdxl-vae")) == torch.float32  # overflows in fp16: kept in fp32
    assert dtype_for("mps", REGISTRY.get("sdxl-vae")) == torch.float32
    assert dtype_for("cuda", REGISTRY.get("sdxl-vae-fp16-fix")) == torch.float16
    assert dtype_for("cuda", REGISTRY.get("ldm-vq-f4")) == torch.float16


def fake_hub(monkeypatch, cls_name, calls, fail_variant=False):
    """Replace `diffusers.<cls_name>.from_pretrained` by one that records its arguments and fails as offline; with
    `fail_variant`, a variant request fails as diffusers fails it for a bare model from the Hub (naming the file)."""
    import diffusers

    def fake_from_pretrained(source, **kwargs):
        calls.append(dict(kwargs, source=source))
        if fail_variant and "variant" in kwargs:
            raise OSError(
                f"{source} does not appear to have a file named "
                f"{kwargs.get('subfolder', '')}/diffusion_pytorch_model.{kwargs['variant']}.safetensors."
            )
        raise OSError("offline in tests")

    monkeypatch.setattr(getattr(diffusers, cls_name), "from_pretrained", fake_from_pretrained)


def test_autoencoder_hub_load_passes_subfolder_revision_and_safetensors(settings, monkeypatch):
    calls = []
    fake_hub(monkeypatch, "VQModel", calls)
    with pytest.raises(LoadError, match="Could not load ldm-vq-f4 from CompVis/ldm-celebahq-256"):
        load_pipeline(
            REGISTRY.get("ldm-vq-f4"), standin=False, device="cpu", settings=replace(settings, hf_token="hf_test_token")
        )
    assert calls == [
        {
            "source": "CompVis/ldm-celebahq-256",
            "subfolder": "vqvae",
            "revision": "refs/pr/7",
            "use_safetensors": True,
            "dtype": torch.float32,
            "token": "hf_test_token",
            "cache_dir": settings.hub_cache,  # the local Hub cache (HF_HUB_CACHE)
            "local_files_only": True,  # the tests run offline: only the local cache is read
        }
    ]


def test_autoencoder_hub_load_on_gpu(settings, monkeypatch):
    calls = []
    fake_hub(monkeypatch, "AutoencoderKL", calls, fail_variant=True)
    for model_id in ("sdxl-vae", "sd15-vae"):
        with pytest.raises(LoadError):
            load_pipeline(REGISTRY.get(model_id), standin=False, device="cuda", settings=settings)
    sdxl, sd15_fp16, sd15_full = calls
    assert sdxl["source"] == "stabilityai/sdxl-vae" and sdxl["dtype"] == torch.float32
    assert "subfolder" not in sdxl and "variant" not in sdxl
    assert (sd15_fp16["subfolder"], sd15_fp16["variant"], sd15_fp16["dtype"]) == ("vae", "fp16", torch.float16)
    assert "variant" not in sd15_full and sd15_full["subfolder"] == "vae"  # retried with the full-precision files


def test_pickle_only_autoencoder_needs_the_opt_in(settings, monkeypatch):
    spec = replace(REGISTRY.get("ldm-vq-f4"), revision="main", safetensors=False)  # main holds only the .bin
    with pytest.raises(LoadError, match="only pickle .* GENART_ALLOW_PICKLE=1"):
        load_pipeline(spec, standin=False, device="cpu", settings=settings)
    calls = []
    fake_hub(monkeypatch, "VQModel", calls)
    with pytest.raises(LoadError):
        load_pipeline(spec, standin=False, device="cpu", settings=replace(settings, allow_pickle=True))
    assert calls[0]["use_safetensors"] is False


def test_bare_model_without_fp16_files_retries_full_precision(tmp_path, settings):
    """What diffusers really raises for a bare model folder that lacks the fp16 files (it names the file and never says
    "variant"): genart retries without the variant and loads the full-precision weights."""
    import diffusers

    from genart_demo.loading import _from_pretrained

    vae = diffusers.AutoencoderKL(
        block_out_channels=(8,),
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        latent_channels=4,
        norm_num_groups=8,
        layers_per_block=1,
    )
    vae.save_pretrained(tmp_path)  # no diffusion_pytorch_model.fp16.safetensors
    with pytest.raises(OSError, match=r"diffusion_pytorch_model\.fp16\.safetensors") as raised:
        diffusers.AutoencoderKL.from_pretrained(tmp_path, variant="fp16", use_safetensors=True)
    assert "variant" not in str(raised.value)  # the old retry looked for this word and so never fired
    kwargs = {"variant": "fp16", "use_safetensors": True, "dtype": torch.float16}
    loaded = _from_pretrained(diffusers.AutoencoderKL, str(tmp_path), kwargs, REGISTRY.get("sd15-vae"))
    assert loaded.dtype == torch.float16 and "variant" not in kwargs
    assert torch.equal(loaded.encoder.conv_in.weight.float(), vae.encoder.conv_in.weight.half().float())
