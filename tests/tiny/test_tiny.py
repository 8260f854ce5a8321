"""Tests for the tiny offline stand-in pipelines and bare autoencoders (genart_demo.tiny)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import pytest
import torch
from PIL import Image
from standin_helpers import gradient_image, load

from genart_demo.tiny import (
    STANDIN_FRAMES,
    STANDIN_MODELS,
    STANDIN_SIZES,
    STANDIN_UPSCALE,
    STANDIN_VERSION,
    standin_class_name,
)
from genart_demo.tiny.builders import STANDIN_BUILDERS, build_standin
from genart_demo.tiny.store import ensure_standin, is_complete, standin_path
from genart_demo.tiny.tokenizers import make_clip_tokenizer, make_t5_tokenizer

# diffusers' Euler scheduler calls np.array() on a torch tensor, which numpy 2 flags; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

UNCONDITIONAL = {"DDPMPipeline", "DDIMPipeline", "ScoreSdeVePipeline", "LDMPipeline"}
INPAINT = {
    "StableDiffusionInpaintPipeline",
    "StableDiffusionInpaintPipeline@legacy",
    "StableDiffusionXLInpaintPipeline",
}
PROMPT = "a photo of a cat riding a horse"
VIDEO = set(STANDIN_FRAMES)  # video stand-ins return .frames: tested in test_tiny_video.py


def square_mask(size: int) -> Image.Image:
    """An "L" mask: white (repaint) square in the middle half, black (keep) around it."""
    mask = np.zeros((size, size), dtype=np.uint8)
    mask[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 255
    return Image.fromarray(mask, mode="L")


def call_kwargs(key: str, size: int) -> dict[str, Any]:
    """Arguments for one 2-step generation of a `size` x `size` image (for an upscaler, `size` is the output)."""
    kwargs: dict[str, Any] = {"num_inference_steps": 2, "output_type": "np"}
    if key in UNCONDITIONAL:
        return kwargs
    if key == "DiTPipeline":
        return {**kwargs, "class_labels": [207]}
    if key == "LDMSuperResolutionPipeline":
        return {**kwargs, "image": gradient_image(size // STANDIN_UPSCALE[key])}
    kwargs["prompt"] = PROMPT
    if key == "StableDiffusionUpscalePipeline":
        return {**kwargs, "image": gradient_image(size // STANDIN_UPSCALE[key]), "noise_level": 20}
    if key == "StableDiffusionXLImg2ImgPipeline":  # the refiner
        return {**kwargs, "image": gradient_image(size), "strength": 0.5}
    if key in {"StableDiffusionImg2ImgPipeline", "StableDiffusionXLImg2ImgPipeline@base"}:
        # strength 0.75 of 4 steps runs the last 3
        return {**kwargs, "image": gradient_image(size), "strength": 0.75, "num_inference_steps": 4}
    if key == "StableDiffusionInstructPix2PixPipeline":
        return {**kwargs, "image": gradient_image(size), "image_guidance_scale": 1.5}
    if key == "StableDiffusionControlNetPipeline":
        return {**kwargs, "image": gradient_image(size)}  # the control image; the output takes its size
    if key in INPAINT:
        return {**kwargs, "image": gradient_image(size), "mask_image": square_mask(size), "strength": 1.0}
    if key == "PixArtSigmaPipeline":
        kwargs["clean_caption"] = False  # needs beautifulsoup4 + ftfy, which genart does not install
    return {**kwargs, "height": size, "width": size}


def generate(pipe: diffusers.DiffusionPipeline, key: str, **overrides: Any) -> np.ndarray:
    kwargs = {**call_kwargs(key, STANDIN_SIZES[key]), **overrides}
    return pipe(generator=torch.Generator("cpu").manual_seed(0), **kwargs).images


@pytest.mark.parametrize("key", sorted(set(STANDIN_BUILDERS) - VIDEO - STANDIN_MODELS))  # bare models: tested below
def test_standin_saves_loads_and_generates(key: str, cache_dir: Path) -> None:
    pipe = load(key, cache_dir)
    assert type(pipe).__name__ == standin_class_name(key)

    first = generate(pipe, key)
    size = STANDIN_SIZES[key]
    assert first.shape == (1, size, size, 3)
    assert np.isfinite(first).all()
    assert first.min() >= 0.0 and first.max() <= 1.0
    assert np.array_equal(first, generate(pipe, key))


def test_every_class_has_a_size() -> None:
    assert set(STANDIN_SIZES) == set(STANDIN_BUILDERS)


def test_saved_folder_is_safetensors_only(cache_dir: Path) -> None:
    path = ensure_standin("StableDiffusionPipeline", cache_dir)
    assert path == cache_dir / "standins" / f"StableDiffusionPipeline-v{STANDIN_VERSION}"
    weights = [p.name for p in path.rglob("*") if p.suffix in {".bin", ".safetensors", ".pt"}]
    assert weights and all(name.endswith(".safetensors") for name in weights)


def test_ensure_standin_builds_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = STANDIN_BUILDERS["DDPMPipeline"]

    def counting_builder():
        calls.append("built")
        return original()

    monkeypatch.setitem(STANDIN_BUILDERS, "DDPMPipeline", counting_builder)
    first = ensure_standin("DDPMPipeline", tmp_path)
    mtime = (first / "model_index.json").stat().st_mtime_ns
    second = ensure_standin("DDPMPipeline", tmp_path)
    assert first == second
    assert calls == ["built"]
    assert (second / "model_index.json").stat().st_mtime_ns == mtime
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temp folder left behind


def test_incomplete_folder_is_rebuilt(tmp_path: Path) -> None:
    path = standin_path("DDPMPipeline", tmp_path)
    (path / "unet").mkdir(parents=True)  # what a crash mid-copy could look like
    assert ensure_standin("DDPMPipeline", tmp_path) == path
    assert (path / "model_index.json").is_file()
    assert (path / "unet" / "diffusion_pytorch_model.safetensors").is_file()


def test_unknown_class_names_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="StableDiffusionXLPipeline") as info:
        build_standin("Nope")
    assert "Nope" in str(info.value) and "FluxPipeline" in str(info.value)
    with pytest.raises(ValueError, match="DDPMPipeline"):
        ensure_standin("Nope", tmp_path)
    assert not (tmp_path / "standins").exists()


def test_same_seed_same_weights_and_global_rng_untouched() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = build_standin("DDPMPipeline", seed=0).unet.state_dict()
    assert torch.equal(torch.rand(3), expected)  # building did not consume the caller's RNG
    b = build_standin("DDPMPipeline", seed=0).unet.state_dict()
    c = build_standin("DDPMPipeline", seed=1).unet.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_clip_tokenizer_truncates_to_77_ending_with_eos() -> None:
    tokenizer = make_clip_tokenizer()
    ids = tokenizer(" ".join(["painting"] * 200), truncation=True, max_length=tokenizer.model_max_length).input_ids
    assert tokenizer.model_max_length == 77
    assert len(ids) == 77
    assert ids[0] == tokenizer.bos_token_id
    assert ids[-1] == tokenizer.eos_token_id


def test_tokenizers_survive_the_pipeline_round_trip(cache_dir: Path) -> None:
    sd3 = load("StableDiffusion3Pipeline", cache_dir)
    fresh_t5, fresh_clip = make_t5_tokenizer(), make_clip_tokenizer(pad_token="!")
    assert sd3.tokenizer_3(PROMPT).input_ids == fresh_t5(PROMPT).input_ids
    assert sd3.tokenizer_3(PROMPT).input_ids[-1] == 1  # T5 appends </s>
    assert sd3.tokenizer_3.pad_token_id == 0 and sd3.tokenizer_3.model_max_length == 512
    assert sd3.tokenizer_2(PROMPT).input_ids == fresh_clip(PROMPT).input_ids
    assert sd3.tokenizer_2.pad_token == "!"
    assert sd3.text_encoder.config.max_position_embeddings == 77


def test_dit_knows_the_imagenet_labels(cache_dir: Path) -> None:
    index = json.loads((ensure_standin("DiTPipeline", cache_dir) / "model_index.json").read_text())
    assert sorted(index["id2label"], key=int) == [str(i) for i in range(1000)]
    assert index["id2label"]["207"] == "golden retriever"
    dit = load("DiTPipeline", cache_dir)
    assert dit.transformer.config.num_embeds_ada_norm == 1000
    assert dit.get_label_ids(["tench", "golden retriever"]) == [0, 207]


def test_sdxl_base_latents_hand_off_to_refiner(cache_dir: Path) -> None:
    base = load("StableDiffusionXLPipeline", cache_dir)
    refiner = load("StableDiffusionXLImg2ImgPipeline", cache_dir)
    latents = base(
        prompt=PROMPT,
        height=64,
        width=64,
        num_inference_steps=2,
        denoising_end=0.8,
        output_type="latent",
        generator=torch.Generator("cpu").manual_seed(0),
    ).images
    assert latents.shape == (1, 4, 8, 8)
    image = refiner(
        prompt=PROMPT,
        image=latents,
        num_inference_steps=2,
        denoising_start=0.8,
        output_type="np",
        generator=torch.Generator("cpu").manual_seed(0),
    ).images
    assert image.shape == (1, 64, 64, 3)
    assert np.isfinite(image).all()


def test_sdxl_base_and_refiner_share_the_vae() -> None:
    base, refiner = build_standin("StableDiffusionXLPipeline"), build_standin("StableDiffusionXLImg2ImgPipeline")
    a, b = base.vae.state_dict(), refiner.vae.state_dict()
    assert base.vae.config == refiner.vae.config
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_offline_environment() -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


# --- image-conditioned stand-ins (builders_image.py) ---


def test_keys_name_their_diffusers_class() -> None:
    assert standin_class_name("StableDiffusionInpaintPipeline@legacy") == "StableDiffusionInpaintPipeline"
    assert standin_class_name("FluxPipeline") == "FluxPipeline"
    for key in STANDIN_BUILDERS:
        base = diffusers.ModelMixin if key in STANDIN_MODELS else diffusers.DiffusionPipeline
        assert issubclass(getattr(diffusers, standin_class_name(key)), base), key
    assert set(STANDIN_UPSCALE) <= set(STANDIN_SIZES)
    assert all(STANDIN_SIZES[key] % STANDIN_UPSCALE[key] == 0 for key in STANDIN_UPSCALE)


def test_variant_key_path_round_trips(cache_dir: Path) -> None:
    key = "StableDiffusionXLImg2ImgPipeline@base"
    path = ensure_standin(key, cache_dir)
    assert path == standin_path(key, cache_dir) and path.name == f"{key}-v{STANDIN_VERSION}"
    index = json.loads((path / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionXLImg2ImgPipeline"
    assert index["requires_aesthetics_score"] is False


def test_image_standin_layouts(cache_dir: Path) -> None:
    unet_in = {
        "StableDiffusionImg2ImgPipeline": 4,
        "StableDiffusionInstructPix2PixPipeline": 8,  # latents + image latents
        "StableDiffusionControlNetPipeline": 4,
        "StableDiffusionInpaintPipeline": 9,  # latents + mask + masked-image latents
        "StableDiffusionInpaintPipeline@legacy": 4,
        "StableDiffusionXLInpaintPipeline": 9,
        "StableDiffusionXLImg2ImgPipeline@base": 4,
        "StableDiffusionUpscalePipeline": 7,  # latents + low-res RGB
        "LDMSuperResolutionPipeline": 6,  # VQ latents + low-res RGB
    }
    for key, channels in unet_in.items():
        pipe = load(key, cache_dir)
        assert pipe.unet.config.in_channels == channels, key
        vae = pipe.vqvae if key == "LDMSuperResolutionPipeline" else pipe.vae
        factor = 2 ** (len(vae.config.block_out_channels) - 1)
        assert factor == STANDIN_UPSCALE.get(key, 8), key

    xl = load("StableDiffusionXLImg2ImgPipeline@base", cache_dir)
    assert xl.text_encoder is not None and xl.tokenizer is not None
    assert xl.config.requires_aesthetics_score is False
    assert load("StableDiffusionXLInpaintPipeline", cache_dir).config.requires_aesthetics_score is False

    up = load("StableDiffusionUpscalePipeline", cache_dir)
    assert type(up.low_res_scheduler).__name__ == "DDPMScheduler"
    assert up.config.max_noise_level == 350
    assert up.vae.config.scaling_factor == 0.08333
    assert up.unet.config.num_class_embeds > up.config.max_noise_level  # the noise level is a class label

    controlnet = load("StableDiffusionControlNetPipeline", cache_dir).controlnet
    assert type(controlnet).__name__ == "ControlNetModel"
    embedding = controlnet.controlnet_cond_embedding(torch.zeros(1, 3, 64, 64))
    assert embedding.shape == (1, controlnet.config.block_out_channels[0], 8, 8)  # 64 px control -> 8x8 latents


def test_reused_layouts_have_their_base_weights() -> None:
    """An SD 1.5 / SDXL base repo loaded with another class has the same weights: so do these stand-ins."""
    pairs = [
        ("StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline"),
        ("StableDiffusionPipeline", "StableDiffusionInpaintPipeline@legacy"),
        ("StableDiffusionPipeline", "StableDiffusionControlNetPipeline"),
        ("StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline@base"),
    ]
    for base_key, key in pairs:
        a, b = build_standin(base_key).unet.state_dict(), build_standin(key).unet.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), key


def test_control_image_steers_controlnet(cache_dir: Path) -> None:
    pipe = load("StableDiffusionControlNetPipeline", cache_dir)
    key = "StableDiffusionControlNetPipeline"
    flipped = gradient_image(64).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert not np.array_equal(generate(pipe, key), generate(pipe, key, image=flipped))


def test_ldm_super_resolution_crops_pil_input_to_multiples_of_32(cache_dir: Path) -> None:
    pipe = load("LDMSuperResolutionPipeline", cache_dir)
    out = generate(pipe, "LDMSuperResolutionPipeline", image=gradient_image(40))  # cropped to 32 -> 128 out
    assert out.shape == (1, 128, 128, 3)


# --- bare-autoencoder stand-ins (components.build_sd_vae / build_sdxl_vae / build_vq_f4) ---

# key -> (diffusers class, latent channels, downsampling factor, scaling factor, codebook size or 0)
AUTOENCODERS = {
    "AutoencoderKL": ("AutoencoderKL", 4, 8, 0.18215, 0),
    "AutoencoderKL@sdxl": ("AutoencoderKL", 4, 8, 0.13025, 0),
    "VQModel": ("VQModel", 3, 4, 0.18215, 64),
}


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_model_keys_are_the_autoencoders() -> None:
    assert set(AUTOENCODERS) == set(STANDIN_MODELS)
    assert all(STANDIN_SIZES[key] % AUTOENCODERS[key][2] == 0 for key in STANDIN_MODELS)


@pytest.mark.parametrize("key", sorted(STANDIN_MODELS))
def test_standin_saves_as_a_bare_model_and_loads_back(key: str, cache_dir: Path) -> None:
    path = ensure_standin(key, cache_dir)
    assert path == standin_path(key, cache_dir) and is_complete(path)
    files = sorted(p.name for p in path.iterdir())
    assert files == ["config.json", "diffusion_pytorch_model.safetensors"]  # no model_index.json, no pickle
    cls_name, channels, factor, scaling, codes = AUTOENCODERS[key]
    assert json.loads((path / "config.json").read_text())["_class_name"] == cls_name

    model = load(key, cache_dir)  # <Class>.from_pretrained(path, use_safetensors=True), as for a Hub repo
    assert type(model).__name__ == cls_name and isinstance(model, diffusers.ModelMixin)
    assert same_weights(model, build_standin(key))  # saving and loading kept every tensor
    config = model.config
    assert config.latent_channels == channels
    assert 2 ** (len(config.block_out_channels) - 1) == factor
    assert config.scaling_factor == pytest.approx(scaling)
    if codes:
        assert config.num_vq_embeddings == codes and model.quantize.embedding.weight.shape == (codes, channels)


def test_incomplete_model_folder_is_rebuilt(tmp_path: Path) -> None:
    path = standin_path("VQModel", tmp_path)
    path.mkdir(parents=True)
    (path / "diffusion_pytorch_model.safetensors").write_bytes(b"")  # weights but no config: a crash mid-copy
    assert not is_complete(path)
    assert ensure_standin("VQModel", tmp_path) == path and is_complete(path)
    assert (path / "config.json").is_file()


def test_vq_standin_is_the_ldm_pipelines_vqvae() -> None:
    """ldm-vq-f4 loads the vqvae/ folder of the repo LDMPipeline loads: the two stand-ins share those weights."""
    assert same_weights(build_standin("VQModel"), build_standin("LDMPipeline").vqvae)


def test_sd_and_sdxl_standins_differ_but_are_reproducible() -> None:
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    sdxl = build_standin("AutoencoderKL@sdxl")  # its builder re-seeds inside build_standin's forked RNG
    assert torch.equal(torch.rand(3), expected)  # the caller's RNG is untouched
    assert same_weights(sdxl, build_standin("AutoencoderKL@sdxl"))
    assert not same_weights(sdxl, build_standin("AutoencoderKL"))
    assert not same_weights(sdxl, build_standin("AutoencoderKL@sdxl", seed=1))
