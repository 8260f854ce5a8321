"""Tests for the tiny offline video stand-ins (genart_demo/tiny/builders_video.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import pytest
import torch
from PIL import Image
from standin_helpers import gradient_image, load

from genart_demo.tiny import STANDIN_FRAMES, STANDIN_SIZES, standin_class_name
from genart_demo.tiny.builders import STANDIN_BUILDERS, build_standin
from genart_demo.tiny.store import ensure_standin

# diffusers' Euler scheduler calls np.array() on a torch tensor, which numpy 2 flags; not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

VIDEO_KEYS = sorted(STANDIN_FRAMES)
IMAGE_TO_VIDEO = {"StableVideoDiffusionPipeline"}
PROMPT = "a photo of a cat riding a horse"


def call_kwargs(key: str) -> dict[str, Any]:
    size = STANDIN_SIZES[key]
    kwargs: dict[str, Any] = {
        "num_inference_steps": 2,
        "num_frames": STANDIN_FRAMES[key],
        "height": size,
        "width": size,
        "output_type": "np",
    }
    if key in IMAGE_TO_VIDEO:
        return {**kwargs, "image": gradient_image(size), "decode_chunk_size": 2}
    return {**kwargs, "prompt": PROMPT}


def generate(pipe: diffusers.DiffusionPipeline, key: str, **overrides: Any) -> np.ndarray:
    kwargs = {**call_kwargs(key), **overrides}
    return pipe(generator=torch.Generator("cpu").manual_seed(0), **kwargs).frames


def test_video_keys_are_registered() -> None:
    assert set(VIDEO_KEYS) == {
        "TextToVideoSDPipeline",
        "AnimateDiffPipeline",
        "CogVideoXPipeline",
        "StableVideoDiffusionPipeline",
        "WanPipeline",
        "LTXPipeline",
    }
    assert set(VIDEO_KEYS) <= set(STANDIN_BUILDERS) and set(VIDEO_KEYS) <= set(STANDIN_SIZES)
    assert (STANDIN_FRAMES["CogVideoXPipeline"] - 1) % 8 == 0  # CogVideoX: 8k + 1 frames come back exactly


@pytest.mark.parametrize("key", VIDEO_KEYS)
def test_video_standin_saves_loads_and_generates(key: str, cache_dir: Path) -> None:
    pipe = load(key, cache_dir)
    assert type(pipe).__name__ == standin_class_name(key)

    first = generate(pipe, key)
    size, frames = STANDIN_SIZES[key], STANDIN_FRAMES[key]
    assert isinstance(first, np.ndarray)
    assert first.shape == (1, frames, size, size, 3)
    assert np.isfinite(first).all()
    assert first.min() >= 0.0 and first.max() <= 1.0
    assert np.array_equal(first, generate(pipe, key))


@pytest.mark.parametrize("key", VIDEO_KEYS)
def test_video_standin_is_deterministic_from_the_seed(key: str) -> None:
    a, b = build_standin(key, seed=0), build_standin(key, seed=0)
    for name, component in a.components.items():
        if isinstance(component, torch.nn.Module):
            sa, sb = component.state_dict(), b.components[name].state_dict()
            assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa), (key, name)


def test_video_layouts(cache_dir: Path) -> None:
    animatediff = load("AnimateDiffPipeline", cache_dir)
    assert type(animatediff.unet).__name__ == "UNetMotionModel"
    assert type(animatediff.motion_adapter).__name__ == "MotionAdapter"
    index = json.loads((ensure_standin("AnimateDiffPipeline", cache_dir) / "model_index.json").read_text())
    assert index["unet"] == ["diffusers", "UNetMotionModel"]

    cog = load("CogVideoXPipeline", cache_dir)
    assert cog.vae_scale_factor_spatial == 8 and cog.vae_scale_factor_temporal == 4
    assert cog.transformer.config.max_text_seq_length == 226  # the pipeline's default max_sequence_length

    svd = load("StableVideoDiffusionPipeline", cache_dir)
    assert svd.vae_scale_factor == 8
    assert svd.unet.config.num_frames == STANDIN_FRAMES["StableVideoDiffusionPipeline"]
    assert svd.scheduler.config.use_karras_sigmas and svd.scheduler.config.prediction_type == "v_prediction"
    assert svd.image_encoder.config.image_size == 224  # the pipeline resizes its input to 224 itself

    t2v = load("TextToVideoSDPipeline", cache_dir)
    assert t2v.vae_scale_factor == 8 and t2v.tokenizer.model_max_length == 77


@pytest.mark.parametrize("num_frames", [1, 17])
def test_cogvideox_returns_8k_plus_1_frames_exactly(num_frames: int, cache_dir: Path) -> None:
    """1, 9, 17, ... (odd latent counts) decode to exactly num_frames; 8k + 5 gives 8k + 8 (the causal VAE's
    temporal upsampling keeps the first frame only for odd counts), as with the real CogVideoX-2b."""
    pipe = load("CogVideoXPipeline", cache_dir)
    out = generate(pipe, "CogVideoXPipeline", num_frames=num_frames)
    assert out.shape == (1, num_frames, 64, 64, 3)


def test_svd_input_image_steers_the_video(cache_dir: Path) -> None:
    key = "StableVideoDiffusionPipeline"
    pipe = load(key, cache_dir)
    flipped = gradient_image(STANDIN_SIZES[key]).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert not np.array_equal(generate(pipe, key), generate(pipe, key, image=flipped))


def test_wan_standin_is_the_real_config_shrunk(cache_dir: Path) -> None:
    """Every key of the committed Wan 2.1 1.3B configs survives except widths and depths (genart_demo.mirror_shrink)."""
    from genart_demo.hubfacts import repo_facts

    facts = repo_facts("Wan-AI/Wan2.1-T2V-1.3B-Diffusers")
    wan = load("WanPipeline", cache_dir)
    real = facts.json("transformer/config.json")
    got = wan.transformer.config
    assert (list(got.patch_size), got.in_channels, got.qk_norm, got.freq_dim) == (
        [1, 2, 2],
        16,
        "rms_norm_across_heads",
        256,
    )
    assert (got.num_layers, got.ffn_dim, got.text_dim) == (1, real["ffn_dim"] // 64, wan.text_encoder.config.d_model)
    assert wan.vae.config.temperal_downsample == [False, True, True] and wan.vae.config.z_dim == 16
    assert wan.vae.config.latents_std == facts.json("vae/config.json")["latents_std"]
    assert wan.vae_scale_factor_spatial == 8 and wan.vae_scale_factor_temporal == 4
    scheduler = wan.scheduler.config
    assert (scheduler.flow_shift, scheduler.use_flow_sigmas, scheduler.prediction_type) == (
        3.0,
        True,
        "flow_prediction",
    )
    assert type(wan.text_encoder).__name__ == "UMT5EncoderModel"


def test_ltx_standin_is_the_real_config_shrunk(cache_dir: Path) -> None:
    """The committed LTX-Video configs shrunk in width and depth only: the VAE's 4x4 patch and three halvings (space
    / 32, time / 8), its 128 latent channels, the decoder widths its config leaves to the class defaults (shrunk
    like the encoder's), one token per latent, and the repo's dynamically shifted flow-matching Euler."""
    from genart_demo.hubfacts import repo_facts

    facts = repo_facts("Lightricks/LTX-Video")
    ltx = load("LTXPipeline", cache_dir)
    got, vae = ltx.transformer.config, ltx.vae.config
    assert (got.patch_size, got.patch_size_t, got.in_channels, got.qk_norm) == (1, 1, 128, "rms_norm_across_heads")
    assert (got.num_layers, got.caption_channels) == (1, ltx.text_encoder.config.d_model)
    assert (vae.patch_size, vae.latent_channels, list(vae.spatio_temporal_scaling)) == (
        4,
        128,
        [True, True, True, False],
    )
    assert list(vae.block_out_channels) == list(vae.decoder_block_out_channels) == [8, 16, 32, 32]
    assert (ltx.vae_spatial_compression_ratio, ltx.vae_temporal_compression_ratio) == (32, 8)
    real = {k: v for k, v in facts.json("scheduler/scheduler_config.json").items() if not k.startswith("_")}
    assert {k: ltx.scheduler.config[k] for k in real} == real and real["shift_terminal"] == 0.1
    assert type(ltx.text_encoder).__name__ == "T5EncoderModel"
