"""The forward calls a memory plan measures, on inputs of a call's shapes: meta tensors to trace, real ones to time.

Each stage of a diffusers call is one forward here, with the arguments the pipeline passes (diffusers' own names and
shapes): a text encoder on token ids, an image encoder on pixels, one denoiser step per class, a VAE encode or decode.
`make_call(model, call)` builds it for a model on any device from a hashable description (what memory_stages caches
and benchmarks/memory_plan.py replays on a GPU).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch

from .memory_meta import signature_params

CLIP_TOKENS = 77  # CLIP tokenizers' model_max_length


def _tensor(model, *shape: int) -> torch.Tensor:
    """Float input in the model's dtype on its device: empty on the meta device, random elsewhere."""
    p = next(model.parameters())
    make = torch.empty if p.device.type == "meta" else torch.randn
    # the library's own dtype skips parameters kept in float32 (Wan's first one, scale_shift_table)
    return make(*shape, device=p.device, dtype=getattr(model, "dtype", p.dtype))


def _ids(model, *shape: int) -> torch.Tensor:
    return torch.zeros(*shape, device=next(model.parameters()).device, dtype=torch.long)


def encoder_call(model, n: int, length: int) -> Callable | None:
    """A text encoder on (n, length) token ids, or an image encoder on (n, 3, size, size) pixels; None for others
    (a safety checker)."""
    params = signature_params(type(model), "forward")
    if "input_ids" in params:
        ids = _ids(model, n, length)
        return lambda: model(input_ids=ids)
    if "pixel_values" in params and hasattr(model.config, "image_size"):
        pixels = _tensor(model, n, 3, model.config.image_size, model.config.image_size)
        return lambda: model(pixel_values=pixels)
    return None


def denoiser_call(model, n: int, h: int, w: int, f: int, text: int, pooled: int) -> Callable | None:
    """One denoiser step on n latents of size (f,) h x w, or None for a class with no call written here. `text` is
    the conditioning length, `pooled` the pooled text embedding width (SDXL)."""
    c, cls = model.config, type(model).__name__
    e = partial(_tensor, model)
    i = partial(_ids, model)
    if cls == "UNet2DConditionModel" and f:
        # AnimateDiff: the motion UNet runs its spatial layers on every frame as an image (its motion modules'
        # temporal attention over the frames is not traced)
        n *= f
    if cls in ("UNet2DConditionModel", "UNet3DConditionModel"):
        cross = (
            max(c.cross_attention_dim) if isinstance(c.cross_attention_dim, (list, tuple)) else c.cross_attention_dim
        )
        sample = e(n, c.in_channels, h, w) if cls == "UNet2DConditionModel" else e(n, c.in_channels, f, h, w)
        kw = {"sample": sample, "timestep": e(n), "encoder_hidden_states": e(n, CLIP_TOKENS, cross)}
        if getattr(c, "addition_embed_type", None) == "text_time":
            ids = (c.projection_class_embeddings_input_dim - pooled) // c.addition_time_embed_dim
            kw["added_cond_kwargs"] = {"text_embeds": e(n, pooled), "time_ids": e(n, ids)}
        if getattr(c, "num_class_embeds", None) or getattr(c, "class_embed_type", None):
            kw["class_labels"] = i(n)
        return lambda: model(**kw)
    if cls == "UNet2DModel":
        kw = {"sample": e(n, c.in_channels, h, w), "timestep": e(n)}
        if c.num_class_embeds or c.class_embed_type:
            kw["class_labels"] = i(n)
        return lambda: model(**kw)
    if cls == "UNetSpatioTemporalConditionModel":
        kw = {
            "sample": e(n, f, c.in_channels, h, w),
            "timestep": e(n),
            "encoder_hidden_states": e(n, 1, c.cross_attention_dim),
        }
        kw["added_time_ids"] = e(n, c.projection_class_embeddings_input_dim // c.addition_time_embed_dim)
        return lambda: model(**kw)
    if cls == "FluxTransformer2DModel":
        tokens = (h // 2) * (w // 2)  # FluxPipeline packs 2 x 2 latent patches into one token
        kw = {"hidden_states": e(n, tokens, c.in_channels), "encoder_hidden_states": e(n, text, c.joint_attention_dim)}
        kw |= {"pooled_projections": e(n, c.pooled_projection_dim), "timestep": e(n), "img_ids": e(tokens, 3)}
        kw |= {"txt_ids": e(text, 3), "guidance": e(n) if c.guidance_embeds else None}
        return lambda: model(**kw)
    if cls == "SD3Transformer2DModel":
        kw = {"hidden_states": e(n, c.in_channels, h, w), "timestep": e(n)}
        kw |= {"encoder_hidden_states": e(n, CLIP_TOKENS + text, c.joint_attention_dim)}
        kw["pooled_projections"] = e(n, c.pooled_projection_dim)
        return lambda: model(**kw)
    if cls == "PixArtTransformer2DModel":
        extra = model.use_additional_conditions
        cond = {"resolution": e(n, 2) if extra else None, "aspect_ratio": e(n, 1) if extra else None}
        kw = {"hidden_states": e(n, c.in_channels, h, w), "timestep": e(n), "added_cond_kwargs": cond}
        kw["encoder_hidden_states"] = e(n, text, c.caption_channels)
        return lambda: model(**kw)
    if cls == "DiTTransformer2DModel":
        kw = {"hidden_states": e(n, c.in_channels, h, w), "timestep": i(n), "class_labels": i(n)}
        return lambda: model(**kw)
    if cls == "CogVideoXTransformer3DModel":
        kw = {"hidden_states": e(n, f, c.in_channels, h, w), "timestep": i(n)}
        kw["encoder_hidden_states"] = e(n, text, c.text_embed_dim)
        if c.use_rotary_positional_embeddings:
            tokens = f * (h // c.patch_size) * (w // c.patch_size)
            kw["image_rotary_emb"] = (e(tokens, c.attention_head_dim), e(tokens, c.attention_head_dim))
        return lambda: model(**kw)
    if cls == "WanTransformer3DModel":
        kw = {"hidden_states": e(n, c.in_channels, f, h, w), "timestep": e(n)}
        kw["encoder_hidden_states"] = e(n, text, c.text_dim)
        return lambda: model(**kw)
    if cls == "LTXVideoTransformer3DModel":  # LTXPipeline packs each latent (patch 1x1x1) into one token
        kw = {"hidden_states": e(n, f * h * w, c.in_channels), "timestep": e(n), "num_frames": f, "height": h}
        kw |= {"encoder_hidden_states": e(n, text, c.caption_channels), "encoder_attention_mask": e(n, text)}
        kw |= {"width": w, "rope_interpolation_scale": (8 / 25, 32, 32)}  # the VAE's time / frame rate, space
        return lambda: model(**kw)
    return None


def is_3d(vae) -> bool:
    return "temporal_compression_ratio" in vae.config or "temperal_downsample" in vae.config  # Wan spells it so


def vae_call(vae, op: str, n: int, f: int, h: int, w: int) -> Callable:
    """vae.decode of (n, C, [f,] h, w) latents, or vae.encode of (n, 3, [f,] h, w) pixels."""
    c = vae.config
    channels = c.in_channels if op == "encode" else (c.get("vq_embed_dim") or c.get("latent_channels") or c.z_dim)
    x = _tensor(vae, n, channels, f, h, w) if is_3d(vae) else _tensor(vae, n, channels, h, w)
    kw = {"num_frames": n} if op == "decode" and "num_frames" in signature_params(type(vae), "decode") else {}
    return lambda: getattr(vae, op)(x, **kw)


def make_call(model, call: tuple[Any, ...]) -> Callable | None:
    """The forward `call` describes: ("text", n, length), ("denoise", n, h, w, f, text, pooled) or
    ("vae", op, n, f, h, w)."""
    kind, *args = call
    return {"text": encoder_call, "denoise": denoiser_call, "vae": vae_call}[kind](model, *args)
