"""Tiny shared stand-in components: VAEs, text encoders, the ImageNet label table, and the bare-autoencoder stand-ins."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, VQModel
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

from .tokenizers import CLIP_MAX_LENGTH

# Four VAE levels give the real latent scale factor 8 (2 ** (4 - 1)); 8 channels keep it tiny.
VAE_CHANNELS = (8, 8, 8, 8)
VAE_NORM_GROUPS = 4  # must divide every entry of VAE_CHANNELS
TEXT_HIDDEN = 32  # hidden size of every tiny CLIP text encoder
TEXT_PROJECTION = 32  # projection_dim of CLIPTextModelWithProjection (pooled embeddings)
# Bare autoencoders ("autoencode" entries): four levels = factor 8, widening like the real (128, 256, 512, 512).
KL_F8_CHANNELS = (8, 8, 16, 16)  # VAE_NORM_GROUPS divides each
SD_SCALING_FACTOR = 0.18215  # SD 1.x kl-f8 VAEs (sd-vae-ft-mse, the SD 1.5 repo's vae/)
SDXL_SCALING_FACTOR = 0.13025  # stabilityai/sdxl-vae and its fp16 fix
# The SDXL VAE has the SD architecture (retrained), so the same builder under the same seed would give the same
# weights; drawing the SDXL-like one from a shifted seed keeps the two stand-ins' round trips distinguishable.
SDXL_SEED_OFFSET = 1


def kl_vae(
    latent_channels: int = 4,
    scaling_factor: float = SD_SCALING_FACTOR,
    shift_factor: float | None = None,
    use_quant_conv: bool = True,
    block_out_channels: tuple[int, ...] = VAE_CHANNELS,
) -> AutoencoderKL:
    """An AutoencoderKL with the real scale factor 8; SD3/Flux pass 16 latent channels and no quant convs.

    The scale factor is 2 ** (len(block_out_channels) - 1): the x4 upscaler's VAE passes three levels.
    """
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * len(block_out_channels),
        up_block_types=("UpDecoderBlock2D",) * len(block_out_channels),
        block_out_channels=block_out_channels,
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=VAE_NORM_GROUPS,
        sample_size=64,  # only used for tiled decoding
        scaling_factor=scaling_factor,
        shift_factor=shift_factor,
        use_quant_conv=use_quant_conv,
        use_post_quant_conv=use_quant_conv,
    )


def vq_vae() -> VQModel:
    """A VQModel laid out like CompVis/ldm-celebahq-256's: three levels (scale factor 4), 3 latent channels."""
    return VQModel(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(8, 8, 8),
        layers_per_block=1,
        latent_channels=3,
        num_vq_embeddings=64,  # real: 8192
        vq_embed_dim=3,
        norm_num_groups=VAE_NORM_GROUPS,
        sample_size=64,
    )


def build_sd_vae() -> AutoencoderKL:
    """Bare-model stand-in like stabilityai/sd-vae-ft-mse: 4 latent channels, factor 8, scaling factor 0.18215.

    Saved by save_pretrained as config.json + diffusion_pytorch_model.safetensors (no model_index.json) and
    loaded with AutoencoderKL.from_pretrained(path, use_safetensors=True), as a Hub repo is.
    """
    return kl_vae(scaling_factor=SD_SCALING_FACTOR, block_out_channels=KL_F8_CHANNELS).eval()


def build_sdxl_vae() -> AutoencoderKL:
    """Bare-model stand-in like stabilityai/sdxl-vae: the SD layout with scaling factor 0.13025 (other weights)."""
    torch.manual_seed(torch.initial_seed() + SDXL_SEED_OFFSET)  # build_standin restores the caller's RNG after
    return kl_vae(scaling_factor=SDXL_SCALING_FACTOR, block_out_channels=KL_F8_CHANNELS).eval()


def build_vq_f4() -> VQModel:
    """Bare-model stand-in like CompVis/ldm-celebahq-256's vqvae/: factor 4, 3 latent channels, 64 codes.

    It is vq_vae(), which the LDMPipeline stand-in builds first under the same seed, so both carry the same
    VQ-VAE weights, as the real vqvae/ folder is the one LDMPipeline loads.
    """
    return vq_vae().eval()


def _clip_text_config(tokenizer: CLIPTokenizer, hidden_act: str) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_HIDDEN,
        intermediate_size=37,  # deliberately not a multiple of the hidden size, as in diffusers' tests
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=CLIP_MAX_LENGTH,
        projection_dim=TEXT_PROJECTION,
        hidden_act=hidden_act,
        # The pooled output is read at the first eos; these must match the tokenizer's ids.
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def clip_text_encoder(tokenizer: CLIPTokenizer, hidden_act: str = "quick_gelu") -> CLIPTextModel:
    """A CLIPTextModel (CLIP ViT-L/14 style: quick_gelu) sized to `tokenizer`."""
    return CLIPTextModel(_clip_text_config(tokenizer, hidden_act)).eval()


def clip_text_encoder_with_projection(
    tokenizer: CLIPTokenizer, hidden_act: str = "gelu"
) -> CLIPTextModelWithProjection:
    """A CLIPTextModelWithProjection (OpenCLIP bigG style: gelu) sized to `tokenizer`."""
    return CLIPTextModelWithProjection(_clip_text_config(tokenizer, hidden_act)).eval()


def t5_encoder(tokenizer: T5TokenizerFast, d_model: int = 32) -> T5EncoderModel:
    """A T5 v1.1-style encoder (gated-gelu); relative positions, so any sequence length works."""
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
        use_cache=False,
        dropout_rate=0.0,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return T5EncoderModel(config).eval()


def imagenet_id2label() -> dict[int, str]:
    """The 1000 ImageNet-1k class descriptions ('tench, Tinca tinca', ...) from timm's bundled tables."""
    from timm.data import ImageNetInfo  # lazy: timm is needed only by its extractors

    info = ImageNetInfo()
    return {i: info.index_to_description(i) for i in range(info.num_classes())}
