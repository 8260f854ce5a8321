"""Shrink a real model config to a tiny one of the same architecture: only widths and depths change.

`shrink_config(class_name, config)` takes a diffusers or transformers config exactly as a Hub repo ships it (a
UNet's config.json, a CLIP text encoder's, a T5's, ...) and returns a copy whose width and depth keys are small,
every other key (sample sizes, channels in and out, prediction types, norms, activations, flags) untouched.

Widths that connect two models of one pipeline must shrink the same way in both: a UNet's `cross_attention_dim` is
its text encoder's `hidden_size`, SDXL's is the sum of two encoders' widths, and its
`projection_class_embeddings_input_dim` is 6 time ids x `addition_time_embed_dim` + the second encoder's
`projection_dim`. So every such width is divided by the same factor (EMBED_DIVISOR), which keeps sums and products
exact; widths inside one model (UNet levels, a transformer's heads) shrink freely.

The stand-ins (genart_demo.tiny) are meant to be built the same way: the real config through this function.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

EMBED_DIVISOR = 64  # widths shared between models (text widths, projections, time embeddings): 768 -> 12, 4096 -> 64
LEVEL_BASE = 8  # a UNet's or VAE's first level gets this many channels; later levels keep the real ratios...
LEVEL_CAP = 32  # ...up to this many
# Models that hard-code 32 GroupNorm groups (Stable Video Diffusion's UNet and temporal decoder): levels of 32-64.
WIDE_LEVELS = {"UNetSpatioTemporalConditionModel": (32, 64), "AutoencoderKLTemporalDecoder": (32, 32)}
SKIP_GROUPS = 32  # UNet2DModel's Skip blocks (NCSN++) hard-code 32 GroupNorm groups
TRANSFORMER_HEADS = 2  # attention heads of every shrunk transformer
TRANSFORMER_HEAD_DIM = 8  # their head width (FLUX: its rotary axes divided by ROPE_DIVISOR instead)
ROPE_DIVISOR = 4  # FLUX's axes_dims_rope (16, 56, 56) -> (4, 14, 14): each stays even, their sum is the head width
TEXT_LAYERS = 2  # layers of every text / vision encoder
TEXT_HEADS = 4  # at most this many heads in an encoder (fewer where the width is not a multiple)
CONV_EMBED_DIVISOR = 4  # ControlNet's conditioning embedding channels (16, 32, 96, 256) -> (4, 8, 24, 64)
DEPTH_KEYS = (
    "layers_per_block",
    "transformer_layers_per_block",
    "reverse_transformer_layers_per_block",
    "motion_layers_per_block",
    "motion_mid_block_layers_per_block",
    "temporal_transformer_layers_per_block",
    "decoder_layers_per_block",  # LTX-Video's VAE: its decoder's depths (class defaults where a config omits them)
)
TEXT_KEYS = ("hidden_size", "intermediate_size", "projection_dim", "d_model", "d_ff", "encoder_ffn_dim")
GAN_SIZES = {"ngf": 8, "n_blocks": 2, "num_downs": 5}  # genart_demo.gan's generators: filters, blocks, levels
STYLEGAN_SIZES = {"z_dim": 16, "w_dim": 16, "width": 16}  # genart_demo.stylegan_nets: latent and channel widths
TOKEN_ID_KEYS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")


class ShrinkError(ValueError):
    """A config this module cannot shrink exactly (a shared width that is not a multiple of EMBED_DIVISOR)."""


def embed(width: int | None, key: str = "width") -> int | None:
    """A width shared between models, divided by EMBED_DIVISOR (None stays None)."""
    if width is None:
        return None
    if width % EMBED_DIVISOR:
        raise ShrinkError(f"{key}={width} is not a multiple of {EMBED_DIVISOR}; shared widths must divide exactly")
    return width // EMBED_DIVISOR


def _levels(channels: list[int], class_name: str) -> list[int]:
    """Per-level channels: the first LEVEL_BASE, the rest in the real ratios, capped."""
    base, cap = WIDE_LEVELS.get(class_name, (LEVEL_BASE, LEVEL_CAP))
    return [min(cap, max(base, base * c // channels[0])) for c in channels]


def _per_level(value: Any, channels: list[int]) -> Any:
    """Heads (or a head width) per level, made to divide each level's channels: gcd with the channels."""
    if isinstance(value, (list, tuple)):
        return [math.gcd(int(v), c) for v, c in zip(value, channels)]
    return math.gcd(int(value), *channels)


def _depth(value: Any, depth: int = 1) -> Any:
    """A depth (int, or list / nested list per level) set to `depth`."""
    if isinstance(value, (list, tuple)):
        return [_depth(v, depth) for v in value]
    return depth if isinstance(value, int) and value > depth else value


def _shrink_levels(class_name: str, config: dict[str, Any]) -> None:
    """UNets, VAEs, ControlNets and motion adapters: channels per level, depth per level, heads, norm groups."""
    real = list(config["block_out_channels"])
    # NCSN++ (norm_num_groups null): its Skip blocks take 32 GroupNorm groups themselves, so every level keeps 32.
    wide = "norm_num_groups" in config and config["norm_num_groups"] is None
    channels = [SKIP_GROUPS] * len(real) if wide else _levels(real, class_name)
    config["block_out_channels"] = channels
    if config.get("decoder_block_out_channels"):  # LTX-Video's VAE: its decoder's own levels
        config["decoder_block_out_channels"] = _levels(list(config["decoder_block_out_channels"]), class_name)
    for key in DEPTH_KEYS:
        if key in config:
            config[key] = _depth(config[key])
    for key in ("norm_num_groups", "motion_norm_num_groups", "attn_norm_num_groups"):
        if config.get(key):
            config[key] = math.gcd(int(config[key]), *channels)
    for key in ("attention_head_dim", "num_attention_heads", "motion_num_attention_heads"):
        if config.get(key):  # heads (or a head width, in UNet2DModel): either way it must divide the channels
            config[key] = _per_level(config[key], channels)
    if config.get("conditioning_embedding_out_channels"):
        config["conditioning_embedding_out_channels"] = [
            max(1, c // CONV_EMBED_DIVISOR) for c in config["conditioning_embedding_out_channels"]
        ]
    for key in ("cross_attention_dim", "encoder_hid_dim", "addition_time_embed_dim"):
        if isinstance(config.get(key), int):
            config[key] = embed(config[key], key)
        elif isinstance(config.get(key), list):
            config[key] = [embed(v, key) for v in config[key]]
    if config.get("projection_class_embeddings_input_dim"):
        config["projection_class_embeddings_input_dim"] = embed(config["projection_class_embeddings_input_dim"])
    if config.get("time_embedding_dim"):
        config["time_embedding_dim"] = channels[0] * 4


def _shrink_transformer(class_name: str, config: dict[str, Any]) -> None:
    """Diffusion transformers (DiT, PixArt, SD3, FLUX, CogVideoX, Wan, SANA): heads, head width, layers, shared
    widths."""
    inner = config["num_attention_heads"] * config["attention_head_dim"]
    head_dim = TRANSFORMER_HEAD_DIM
    if config.get("axes_dims_rope"):
        config["axes_dims_rope"] = [d // ROPE_DIVISOR for d in config["axes_dims_rope"]]
        head_dim = sum(config["axes_dims_rope"])
    config["num_attention_heads"], config["attention_head_dim"] = TRANSFORMER_HEADS, head_dim
    new_inner = TRANSFORMER_HEADS * head_dim
    for key in ("num_layers", "num_single_layers"):
        if key in config:
            config[key] = _depth(config[key])
    if config.get("num_cross_attention_heads"):  # SANA: cross-attention heads of their own, as wide as the inner width
        config["num_cross_attention_heads"], config["cross_attention_head_dim"] = TRANSFORMER_HEADS, head_dim
    if config.get("dual_attention_layers"):
        config["dual_attention_layers"] = [i for i in config["dual_attention_layers"] if i < config["num_layers"]]
    # Widths equal to the inner width follow it (PixArt's cross_attention_dim, SD3's caption_projection_dim);
    # the others are shared with the text encoders or the time embedding.
    for key in (
        "cross_attention_dim",
        "caption_projection_dim",
        "joint_attention_dim",
        "pooled_projection_dim",
        "caption_channels",
        "text_embed_dim",
        "time_embed_dim",
        "text_dim",  # Wan: its UMT5 encoder's width
        "ffn_dim",  # Wan: the feed-forward width (8960 for the 1.3B)
    ):
        if config.get(key):
            config[key] = new_inner if config[key] == inner else embed(config[key], key)


def _shrink_text(config: dict[str, Any], tokens: Mapping[str, int] | None) -> None:
    """Text and vision encoders (CLIP, T5, LDMBert, CLIP vision): widths, layers, heads; the vocabulary is the tiny
    tokenizer's, and token ids it cannot hold become its ids for the same role."""
    for key in TEXT_KEYS:
        if config.get(key):
            config[key] = embed(config[key], key)
    width = config.get("hidden_size") or config.get("d_model")
    for key in ("num_hidden_layers", "num_layers", "num_decoder_layers", "encoder_layers"):
        if key in config:
            config[key] = _depth(config[key], TEXT_LAYERS)
    for key in ("num_attention_heads", "num_heads", "encoder_attention_heads"):
        if config.get(key):
            config[key] = math.gcd(int(config[key]), int(width), TEXT_HEADS)
    if config.get("num_key_value_heads"):  # Gemma 2 (grouped-query attention): key/value heads divide the heads
        config["num_key_value_heads"] = math.gcd(int(config["num_key_value_heads"]), int(config["num_attention_heads"]))
    if config.get("d_kv"):  # T5: per-head width, independent of d_model
        config["d_kv"] = TRANSFORMER_HEAD_DIM
    if config.get("head_dim"):  # LDMBert: likewise
        config["head_dim"] = TRANSFORMER_HEAD_DIM
    if tokens is not None and "vocab_size" in config:
        config["vocab_size"] = tokens["vocab_size"]
        for key in TOKEN_ID_KEYS:
            if isinstance(config.get(key), int) and config[key] >= tokens["vocab_size"] and key in tokens:
                config[key] = tokens[key]


def _shrink_uvit(class_name: str, config: dict[str, Any]) -> None:
    """aMUSEd's U-ViT (UVit2DModel): its conv blocks' channels and heads, the transformer's width and heads, depths,
    and the widths it shares with the CLIP text encoder (hidden states, pooled projection) and with the five
    micro-conditions (micro_cond_embed_dim = 5 x micro_cond_encode_dim, so both divide by the same factor).
    The codebook and vocabulary sizes are the VQ-GAN's token ids and stay as they are."""
    config["hidden_size"], config["num_attention_heads"] = TRANSFORMER_HEADS * TRANSFORMER_HEAD_DIM, TRANSFORMER_HEADS
    config["block_out_channels"], config["block_num_heads"] = (
        TRANSFORMER_HEADS * TRANSFORMER_HEAD_DIM,
        TRANSFORMER_HEADS,
    )
    config["in_channels"] = LEVEL_BASE  # the token embedding's width, inside the model
    for key in ("num_hidden_layers", "num_res_blocks"):
        config[key] = _depth(config[key])
    for key in ("intermediate_size", "cond_embed_dim", "encoder_hidden_size", "micro_cond_encode_dim"):
        config[key] = embed(config[key], key)
    config["micro_cond_embed_dim"] = embed(config["micro_cond_embed_dim"], "micro_cond_embed_dim")


def _shrink_dc_autoencoder(class_name: str, config: dict[str, Any]) -> None:
    """SANA's deep-compression autoencoder (AutoencoderDC): encoder and decoder channels per level, depths per level,
    and the attention head width of its EfficientViT levels. The number of levels (its 32x compression) and the
    latent channels stay."""
    for side in ("encoder", "decoder"):
        config[f"{side}_block_out_channels"] = _levels(config[f"{side}_block_out_channels"], class_name)
        config[f"{side}_layers_per_block"] = _depth(config[f"{side}_layers_per_block"])
    config["attention_head_dim"] = TRANSFORMER_HEAD_DIM


# Models whose config names its widths in a way no generic rule above reads: class name -> its shrink.
CLASS_SHRINKS = {"UVit2DModel": _shrink_uvit, "AutoencoderDC": _shrink_dc_autoencoder}


def _shrink_clip_pair(config: dict[str, Any], tokens: Mapping[str, int] | None) -> None:
    """A CLIPConfig (Stable Diffusion's safety checker): its text and vision towers and their shared projection."""
    for key in ("text_config", "vision_config", "text_config_dict", "vision_config_dict"):
        if isinstance(config.get(key), dict):
            _shrink_text(config[key], tokens if key.startswith("text") else None)
    if config.get("projection_dim"):
        config["projection_dim"] = embed(config["projection_dim"], "projection_dim")


def shrink_config(
    class_name: str,
    config: Mapping[str, Any],
    tokens: Mapping[str, int] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> dict:
    """A copy of `config` (of model class `class_name`) with tiny widths and depths and every other key as it was.

    `tokens` is the tiny tokenizer's `vocab_size` (and its special ids, e.g. `eos_token_id`) for text encoders;
    without it a text encoder keeps its real vocabulary size. `defaults` are the class's own values for keys a
    config may leave out (FLUX's rotary axes, a CLIP config's token ids): those the shrink changes are written out.
    """
    full = {**copy.deepcopy(dict(defaults or {})), **copy.deepcopy(dict(config))}
    shrunk = _shrink(class_name, full, tokens)
    return {
        **copy.deepcopy(dict(config)),
        **{k: v for k, v in shrunk.items() if k in config or _plain(v) != _plain((defaults or {}).get(k))},
    }


def _plain(value: Any) -> Any:
    """Tuples as lists, so a class default (a tuple) and a config value (a JSON list) compare equal."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _shrink(class_name: str, config: dict[str, Any], tokens: Mapping[str, int] | None) -> dict[str, Any]:
    if class_name in CLASS_SHRINKS:
        CLASS_SHRINKS[class_name](class_name, config)
    elif config.get("model_type") == "clip" or "vision_config" in config or "vision_config_dict" in config:
        _shrink_clip_pair(config, tokens)
    elif "block_out_channels" in config:
        _shrink_levels(class_name, config)
    elif "base_dim" in config and "dim_mult" in config:  # Wan's VAE: levels are base_dim x dim_mult, RMS norms
        config["base_dim"], config["num_res_blocks"] = LEVEL_BASE, _depth(config["num_res_blocks"])
    elif isinstance(config.get("num_attention_heads"), int) and config.get("attention_head_dim"):
        _shrink_transformer(class_name, config)
    elif "ngf" in config:  # a genart GAN (pix2pix U-Net, CycleGAN ResNet): its constructor's arguments
        config.update({k: v for k, v in GAN_SIZES.items() if k in config})
    elif "w_dim" in config and "mapping_layers" in config:  # genart's StyleGAN (its config has no `width`: 512)
        config.update(STYLEGAN_SIZES)
    elif any(key in config for key in TEXT_KEYS):
        _shrink_text(config, tokens)
    else:
        raise ShrinkError(f"{class_name}: no width keys genart knows how to shrink ({', '.join(sorted(config))})")
    return config
