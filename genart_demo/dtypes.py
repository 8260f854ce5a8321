"""Half precision that holds: each pipeline component casts the image-like tensors it is given to its own dtype."""

from __future__ import annotations

import functools
from typing import Any

CAST_METHODS = ("forward", "encode", "decode")  # what pipelines call on a component (vqvae.decode, vae.encode, unet)


def _cast(value: Any, dtype) -> Any:
    """`value` in `dtype` when it is a floating tensor of 3 or more dimensions (images, latents, hidden states);
    anything else unchanged. Timesteps and sigmas (0-1 dimensions) keep their precision: models embed them in fp32."""
    import torch  # lazy: only called while a model runs

    if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dim() >= 3 and value.dtype != dtype:
        return value.to(dtype)
    return value


def _module_dtype(module: Any):
    """The dtype the module computes in: its library's own `dtype` where it has one (diffusers and transformers skip
    the parameters they keep in float32, e.g. Wan's scale_shift_table, listed first), else its first parameter's."""
    import torch  # lazy: only called while a model runs

    own = getattr(module, "dtype", None)
    if isinstance(own, torch.dtype):
        return own
    return next((p.dtype for p in module.parameters()), None)


def cast_inputs(module: Any) -> None:
    """Make `module`'s forward, encode and decode cast their image-like tensor arguments to the module's dtype at
    call time (so an fp32 upcast of the module, as SDXL's VAE does, is followed).

    Some diffusers pipelines make their initial noise in float32 and never cast it (ScoreSdeVePipeline,
    LDMPipeline; score SDE's corrector adds float32 noise to the sample): with fp16 or bf16 weights their first
    convolution fails with "Input type (float) and bias type (c10::Half) should be the same". Idempotent."""
    if getattr(module, "_genart_casts_inputs", False):
        return
    for name in CAST_METHODS:
        method = getattr(module, name, None)
        if method is None:
            continue

        @functools.wraps(method)
        def casting(*args, __method=method, **kwargs):
            dtype = _module_dtype(module)
            if dtype is None:
                return __method(*args, **kwargs)
            args = tuple(_cast(a, dtype) for a in args)
            kwargs = {k: _cast(v, dtype) for k, v in kwargs.items()}
            return __method(*args, **kwargs)

        object.__setattr__(module, name, casting)
    object.__setattr__(module, "_genart_casts_inputs", True)


def cast_pipeline_inputs(pipe: Any) -> None:
    """cast_inputs on every torch module component of a diffusers pipeline (unet, vae, vqvae, transformer, ...)."""
    import torch  # lazy: only called on a loaded pipeline

    for component in getattr(pipe, "components", {}).values():
        if isinstance(component, torch.nn.Module) and not isinstance(component, torch.nn.Identity):
            cast_inputs(component)
