"""Tiny stand-in LoRAs for the tiny SD 1.5 stand-in: random non-zero adapters on its UNet and text encoder, offline.

Made the way a real LoRA is trained and saved (peft's LoraConfig on the UNet's attention projections and the CLIP
encoder's, then StableDiffusionPipeline.save_lora_weights), so loading one walks diffusers' real LoRA path.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig, get_peft_model_state_dict

from .builders_unet import build_sd

RANK = 2
UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")  # the attention projections SD LoRAs train
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj")  # CLIP's
SCALE = 0.5  # std of the random A and B matrices: large enough to change a tiny model's image visibly


def _randomize(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Every lora_A/lora_B weight drawn from `generator` (peft starts lora_B at zero: a no-op adapter)."""
    with torch.no_grad():
        for name, param in sorted(module.named_parameters()):
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * SCALE)


def build_tiny_lora(path: str | Path, seed: int = 0, text_encoder: bool = False) -> Path:
    """Write a LoRA for the SD 1.5 stand-in (UNet, and its text encoder unless `text_encoder` is False) to `path`
    (a .safetensors file); the same seed writes the same weights. Returns the path.

    UNet-only by default: transformers 5 loads a text encoder's adapter only with peft >= 0.22, newer than PyPI has."""
    path = Path(path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        pipe = build_sd()
    generator = torch.Generator("cpu").manual_seed(seed)
    pipe.unet.add_adapter(LoraConfig(r=RANK, lora_alpha=RANK, target_modules=list(UNET_TARGETS)))
    _randomize(pipe.unet, generator)
    layers = {"unet_lora_layers": convert_state_dict_to_diffusers(get_peft_model_state_dict(pipe.unet))}
    if text_encoder:
        pipe.text_encoder.add_adapter(LoraConfig(r=RANK, lora_alpha=RANK, target_modules=list(TEXT_TARGETS)))
        _randomize(pipe.text_encoder, generator)
        layers["text_encoder_lora_layers"] = convert_state_dict_to_diffusers(
            get_peft_model_state_dict(pipe.text_encoder)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(path.parent, weight_name=path.name, safe_serialization=True, **layers)
    return path
