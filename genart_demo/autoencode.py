"""Autoencoder round trips: images through a VAE (AutoencoderKL) or VQ-VAE (VQModel) and back, and what they compress to."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

KINDS = {"AutoencoderKL": "kl", "VQModel": "vq"}  # diffusers class -> kind of latent space
RGB_CHANNELS = 3


@dataclass(frozen=True)
class AutoencoderInfo:
    """What an autoencoder turns an RGB image into (shown on the evaluate tab's round-trip card)."""

    kind: str  # "kl": continuous Gaussian latents (the mode is decoded); "vq": vectors snapped to a codebook
    latent_channels: int  # C of the latents
    factor: int  # spatial downsampling: H x W pixels -> (H / factor) x (W / factor) latents
    codebook_size: int = 0  # VQ: number of codebook vectors; 0 for KL
    scaling_factor: float = 1.0  # what latent diffusion multiplies the latents by (a round trip does not use it)

    @property
    def name(self) -> str:
        """The latent-diffusion paper's short name, e.g. "KL-f8" or "VQ-f4"."""
        return f"{self.kind.upper()}-f{self.factor}"

    @property
    def values_ratio(self) -> float:
        """How many times fewer numbers the latents hold than the RGB image (3 f^2 / C)."""
        return RGB_CHANNELS * self.factor**2 / self.latent_channels

    @property
    def bits_per_pixel(self) -> float:
        """VQ: bits per image pixel of the code indices (log2(codebook) / f^2; 24 for raw RGB). NaN for KL."""
        if self.kind != "vq":
            return math.nan
        return math.log2(self.codebook_size) / self.factor**2

    def check_size(self, height: int, width: int) -> None:
        """ValueError unless `height` and `width` are positive multiples of the downsampling factor."""
        bad = [
            f"{label} {side}"
            for label, side in (("height", height), ("width", width))
            if side < self.factor or side % self.factor
        ]
        if bad:
            raise ValueError(
                f"{' and '.join(bad)} px: this {self.name} autoencoder needs sides that are multiples of "
                f"{self.factor} (at least {self.factor}); e.g. {_nearest_multiple(height, self.factor)} x "
                f"{_nearest_multiple(width, self.factor)}."
            )

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(C, h, w) of the latents of a `height` x `width` image; ValueError for a size the model cannot take."""
        self.check_size(height, width)
        return (self.latent_channels, height // self.factor, width // self.factor)

    def describe(self) -> str:
        """One line for a caption, e.g. "KL-f8, 4 latent channels: 48x fewer values than RGB"."""
        text = f"{self.name}, {self.latent_channels} latent channels: {self.values_ratio:g}x fewer values than RGB"
        if self.kind == "vq":
            text += f"; {self.codebook_size}-code codebook, {self.bits_per_pixel:.3g} bits/pixel"
        return text


def _nearest_multiple(side: int, multiple: int) -> int:
    return max(multiple, round(side / multiple) * multiple)


def autoencoder_info(model: Any) -> AutoencoderInfo:
    """The AutoencoderInfo of a loaded AutoencoderKL or VQModel (read from its config; runs nothing)."""
    kind = KINDS.get(type(model).__name__)
    if kind is None:
        raise ValueError(
            f"{type(model).__name__} is not an autoencoder genart can round-trip; allowed: {', '.join(KINDS)}."
        )
    config = model.config
    factor = 2 ** (len(config.block_out_channels) - 1)  # one 2x downsampling per encoder level but the last
    codebook = config.num_vq_embeddings if kind == "vq" else 0
    return AutoencoderInfo(kind, config.latent_channels, factor, codebook, float(config.scaling_factor))


def describe_autoencoder(model: Any) -> str:
    """A one-line description of what `model` compresses an image to (see AutoencoderInfo.describe)."""
    return autoencoder_info(model).describe()


def latent_shape(model: Any, height: int, width: int) -> tuple[int, int, int]:
    """(C, h, w) of `model`'s latents for a `height` x `width` image; ValueError naming the allowed multiple."""
    return autoencoder_info(model).latent_shape(height, width)


def check_images(images: torch.Tensor) -> None:
    """ValueError unless `images` is a float (B, 3, H, W) tensor with values in [0, 1]."""
    import torch  # lazy: torch takes seconds to import; only model work needs it

    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise ValueError(f"images must be a float tensor of shape (B, 3, H, W) in [0, 1]; got {_what(images)}.")
    if images.ndim != 4 or images.shape[1] != RGB_CHANNELS or images.shape[0] == 0:
        raise ValueError(f"images must have shape (B, 3, H, W) with B >= 1 (RGB); got {tuple(images.shape)}.")
    low, high = images.min().item(), images.max().item()
    if not (low >= 0.0 and high <= 1.0):
        raise ValueError(
            f"images must lie in [0, 1] (divide uint8 pixels by 255); got values from {low:g} to {high:g}."
        )


def _what(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    return f"{type(value).__name__} of dtype {dtype}" if dtype is not None else type(value).__name__


def _model_input(model: Any, images: torch.Tensor) -> torch.Tensor:
    """[0, 1] images -> the [-1, 1] input the encoder was trained on, on the model's device and dtype."""
    check_images(images)
    autoencoder_info(model).check_size(images.shape[2], images.shape[3])
    return (images.to(device=model.device, dtype=model.dtype) * 2.0 - 1.0).contiguous()  # (B, 3, H, W)


def codebook_indices(model: Any, images: torch.Tensor) -> torch.Tensor:
    """VQ: the index of the codebook vector each latent position snaps to, (B, h, w) int64 on CPU."""
    import torch  # lazy: torch takes seconds to import; only model work needs it

    if autoencoder_info(model).kind != "vq":
        raise ValueError(f"{type(model).__name__} has no codebook; codebook indices exist only for: VQModel.")
    with torch.inference_mode():
        return _vq_indices(model, model.encode(_model_input(model, images)).latents).cpu()


def _vq_indices(model: Any, latents: torch.Tensor) -> torch.Tensor:
    """Nearest codebook vector of each (B, C, h, w) latent position -> (B, h, w) indices, via the model's quantizer."""
    quantizer = model.quantize
    if getattr(quantizer, "remap", None) is not None:
        raise ValueError("VQ models with a remapped codebook (remap=...) are not supported.")
    batch, _, height, width = latents.shape
    return quantizer(latents)[2][2].reshape(batch, height, width)


def encode_latents(model: Any, images: torch.Tensor) -> torch.Tensor:
    """The latents the decoder receives for [0, 1] `images`, (B, C, h, w) in the model's dtype and device.

    KL: the mode (mean) of the posterior, as at inference; VQ: the encoder output replaced by its nearest
    codebook vectors (exact rows of the codebook).
    """
    import torch  # lazy: torch takes seconds to import; only model work needs it

    with torch.inference_mode():
        x = _model_input(model, images)  # (B, 3, H, W) in [-1, 1]
        if autoencoder_info(model).kind == "kl":
            return model.encode(x).latent_dist.mode()  # (B, C, H / f, W / f)
        indices = _vq_indices(model, model.encode(x).latents)  # (B, h, w)
        return model.quantize.embedding(indices).permute(0, 3, 1, 2).contiguous()  # (B, C, h, w)


def decode_latents(model: Any, latents: torch.Tensor) -> torch.Tensor:
    """Decode (B, C, h, w) latents from encode_latents to float32 CPU images in [0, 1], (B, 3, h f, w f)."""
    import torch  # lazy: torch takes seconds to import; only model work needs it

    with torch.inference_mode():
        z = latents.to(device=model.device, dtype=model.dtype)
        if autoencoder_info(model).kind == "kl":
            decoded = model.decode(z).sample
        elif (
            model.config.lookup_from_codebook
        ):  # this layout decodes indices: find them again (exact: z is codebook rows)
            indices = _vq_indices(model, z)
            shape = (*indices.shape, z.shape[1])  # (B, h, w, C)
            decoded = model.decode(indices.flatten(), force_not_quantize=True, shape=shape).sample
        else:  # already quantised: decode the codebook vectors as they are
            decoded = model.decode(z, force_not_quantize=True).sample
        return ((decoded.float() + 1.0) / 2.0).clamp(0.0, 1.0).cpu()  # (B, 3, H, W)


def roundtrip(model: Any, images: torch.Tensor) -> torch.Tensor:
    """Encode [0, 1] `images` (B, 3, H, W) with `model` and decode them again: float32 CPU, same shape, in [0, 1].

    H and W must be multiples of the model's downsampling factor (ValueError otherwise); the work runs in
    inference mode on the model's device and dtype.
    """
    return decode_latents(model, encode_latents(model, images))
