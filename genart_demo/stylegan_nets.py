"""A style-based GAN generator (mapping network, AdaIN synthesis, noise inputs, to-RGB) sampled like a pipeline.

The layout is that of hajar001/stylegan2-ffhq-128 (HajarHAMDOUCH01/Face-Generator-StyleGAN-PyTorch, model/style_gan.py):
a StyleGAN-1 style synthesis (AdaIN after each conv) trained with StyleGAN2's regularisers, weights in safetensors
with a config.json, no NVIDIA pickle. Its checkpoint holds the generator only (no discriminator), w_mean included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .gan_nets import _StrictHubMixin

NOISE_SEED = 0  # noise inputs are fixed ("const", NVIDIA's gen_images.py default), so an image depends on its z only
W_AVG_SAMPLES = 10_000  # z's mapped to estimate w_avg when a checkpoint's w_mean is all zeros (as its own code does)
W_AVG_SEED = 0
# Channels per resolution as multiples of `width` / 4: 4 and 8 px at width, 16 and 32 at width/2, 64 and 128 at width/4.
CHANNEL_QUARTERS = {4: 4, 8: 4, 16: 2, 32: 2, 64: 1, 128: 1}


@dataclass
class GANOutput:
    """What a pipeline returns: the images (PIL), like diffusers' ImagePipelineOutput."""

    images: list


class EqualizedLinear(nn.Module):
    """Linear layer whose N(0, 1) weight is scaled at run time by sqrt(gain / fan_in) (equalized learning rate)."""

    def __init__(self, in_features: int, out_features: int, gain: float = 2.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = (gain / in_features) ** 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)  # (B, in) -> (B, out)


class EqualizedConv2d(nn.Module):
    """Conv2d (with bias) with the equalized-learning-rate weight scale sqrt(gain / (in * k * k))."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, padding: int = 0, gain: float = 2.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.padding = padding
        self.scale = (gain / (in_ch * kernel_size * kernel_size)) ** 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class Blur(nn.Module):
    """Depthwise [1 2 1] x [1 2 1] / 16 blur; its kernel is a (saved) buffer, as in the checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        row = torch.tensor([[1.0, 2.0, 1.0]])
        kernel = row.t() @ row
        self.register_buffer("kernel", (kernel / kernel.sum()).view(1, 1, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = self.kernel.to(x.dtype).repeat(x.shape[1], 1, 1, 1)  # (C, 1, 3, 3)
        return F.conv2d(x, kernel, padding=1, groups=x.shape[1])


class MappingNetwork(nn.Module):
    """z -> w: pixel norm, then `layers` equalized linear layers each followed by LeakyReLU(0.2)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int) -> None:
        super().__init__()
        stack: list[nn.Module] = []
        for i in range(layers):
            stack += [EqualizedLinear(z_dim if i == 0 else w_dim, w_dim), nn.LeakyReLU(0.2)]
        self.mapping = nn.Sequential(*stack)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)  # (B, z_dim), pixel norm
        return self.mapping(z)  # (B, w_dim)


class AdaIN(nn.Module):
    """Instance norm, then a per-channel scale and bias computed from w."""

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        self.style_scale = EqualizedLinear(w_dim, channels)
        self.style_bias = EqualizedLinear(w_dim, channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = F.instance_norm(x)  # (B, C, H, W)
        return self.style_scale(w)[:, :, None, None] * x + self.style_bias(w)[:, :, None, None]


class NoiseInjection(nn.Module):
    """Adds per-pixel noise scaled by a learned per-channel weight."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.weight * noise  # noise: (B or 1, 1, H, W)


class StyleBlock(nn.Module):
    """(bilinear x2 upsample + blur), 3x3 conv, noise, LeakyReLU(0.2), AdaIN."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, upsample: bool) -> None:
        super().__init__()
        self.upsample = upsample
        if upsample:
            self.blur = Blur()
        self.conv = EqualizedConv2d(in_ch, out_ch, 3, padding=1)
        self.noise = NoiseInjection(out_ch)
        self.adain = AdaIN(out_ch, w_dim)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if self.upsample:  # (B, C, h, w) -> (B, C, 2h, 2w)
            x = self.blur(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        x = F.leaky_relu(self.noise(self.conv(x), noise), 0.2)
        return self.adain(x, w)


class SynthesisNetwork(nn.Module):
    """w -> image: a learned 4x4 constant, two style blocks at 4 px, two per doubling up to img_size, 1x1 to RGB, tanh."""

    def __init__(self, w_dim: int, img_size: int, img_channels: int, width: int) -> None:
        super().__init__()
        if img_size not in CHANNEL_QUARTERS or img_size < 8:
            raise ValueError(f"img_size={img_size}: allowed values are 8, 16, 32, 64 and 128")
        channels = {res: width * quarters // 4 for res, quarters in CHANNEL_QUARTERS.items()}
        self.const = nn.Parameter(torch.ones(1, channels[4], 4, 4))
        self.initial_conv1 = StyleBlock(channels[4], channels[4], w_dim, upsample=False)
        self.initial_conv2 = StyleBlock(channels[4], channels[4], w_dim, upsample=False)
        self.blocks = nn.ModuleList()
        for i in range(3, int(math.log2(img_size)) + 1):
            res = 2**i
            self.blocks.append(StyleBlock(channels[res // 2], channels[res], w_dim, upsample=True))
            self.blocks.append(StyleBlock(channels[res], channels[res], w_dim, upsample=False))
        self.to_rgb = EqualizedConv2d(channels[img_size], img_channels, 1, gain=1.0)

    def layers(self) -> list[StyleBlock]:
        return [self.initial_conv1, self.initial_conv2, *self.blocks]

    def noise_shapes(self) -> list[tuple[int, int, int, int]]:
        """(1, 1, side, side) of each style block's noise input, in order (4, 4, 8, 8, 16, 16, ...)."""
        sides = [4 if i < 2 else 4 * 2 ** ((i - 2) // 2 + 1) for i in range(len(self.layers()))]
        return [(1, 1, side, side) for side in sides]

    def forward(self, w: torch.Tensor, noises: list[torch.Tensor]) -> torch.Tensor:
        x = self.const.expand(w.shape[0], -1, -1, -1)  # (B, C4, 4, 4)
        for block, noise in zip(self.layers(), noises):
            x = block(x, w, noise)
        return torch.tanh(self.to_rgb(x))  # (B, img_channels, img_size, img_size) in [-1, 1]


class StyleGANGenerator(
    nn.Module, _StrictHubMixin, library_name="genart", paper_url="https://arxiv.org/abs/1812.04948"
):
    """Unconditional style-based generator, called like a diffusers pipeline:
    `model(batch_size, generator, truncation_psi)` -> GANOutput(images=[PIL, ...]).

    The defaults are hajar001/stylegan2-ffhq-128's config (z_dim, w_dim, img_size, img_channels, mapping_layers);
    `width` (512 there) is the 4 px channel count, the only size a stand-in shrinks besides the latent widths.
    """

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        img_size: int = 128,
        img_channels: int = 3,
        mapping_layers: int = 8,
        style_mixing_prob: float = 0.9,  # training only (its config.json has it); sampling never mixes styles
        width: int = 512,
    ) -> None:
        super().__init__()
        if width % 4 or width <= 0:
            raise ValueError(f"width={width}: allowed values are positive multiples of 4 (512 for the real model)")
        self.z_dim, self.w_dim, self.img_size = z_dim, w_dim, img_size
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers)
        self.synthesis = SynthesisNetwork(w_dim, img_size, img_channels, width)
        self.register_buffer("w_mean", torch.zeros(w_dim))  # w_avg; the checkpoint stores it under this name
        self._estimated_w_avg: torch.Tensor | None = None

    def w_avg(self) -> torch.Tensor:
        """The checkpoint's w_mean, or where it is all zeros (never filled in), the mean of W_AVG_SAMPLES mapped z's
        drawn with seed W_AVG_SEED (computed once)."""
        if bool(self.w_mean.any()):
            return self.w_mean
        if self._estimated_w_avg is None or self._estimated_w_avg.device != self.w_mean.device:
            self._estimated_w_avg = estimate_w_avg(self.mapping, self.z_dim, self.w_mean)
        return self._estimated_w_avg.to(self.w_mean.dtype)

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """The truncation trick: w_avg + psi * (w - w_avg); psi 1 leaves w as it is, psi 0 gives w_avg."""
        avg = self.w_avg()
        return avg + psi * (w - avg)  # (B, w_dim)

    def const_noise(self, device: Any, dtype: torch.dtype) -> list[torch.Tensor]:
        """The fixed noise inputs, one (1, 1, side, side) per style block, drawn on the CPU from NOISE_SEED."""
        gen = torch.Generator("cpu").manual_seed(NOISE_SEED)
        return [torch.randn(shape, generator=gen).to(device, dtype) for shape in self.synthesis.noise_shapes()]

    def synthesize(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        """z (B, z_dim) -> images (B, C, img_size, img_size) in [-1, 1], noise fixed."""
        w = self.truncate(self.mapping(z), truncation_psi)
        return self.synthesis(w, self.const_noise(z.device, z.dtype))

    def progress_bar(self, iterable=None, total=None):
        """One step per call; genart's step_progress replaces this to count it (as with a diffusers pipeline)."""
        return iterable

    def forward(
        self,
        batch_size: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        truncation_psi: float = 0.7,
        num_inference_steps: int = 1,
        output_type: str = "pil",
    ) -> GANOutput:
        """Sample `batch_size` images; z of image i is drawn on the CPU from generator[i] (its seed + i), so any image
        can be remade alone. `num_inference_steps` is accepted for the pipelines' common call and ignored (one pass)."""
        gens = generator if isinstance(generator, list) else [generator] * batch_size
        if len(gens) != batch_size:
            raise ValueError(f"{len(gens)} generators for batch_size={batch_size}: give one per image")
        param = self.w_mean
        z = torch.cat([torch.randn((1, self.z_dim), generator=g) for g in gens]).to(param.device, param.dtype)
        with torch.inference_mode():
            for _ in self.progress_bar(range(1)):
                # one image at a time: a batched convolution may round apart, and image i must remake alone
                x = torch.cat([self.synthesize(z[i : i + 1], float(truncation_psi)) for i in range(len(z))])
        if output_type == "pt":
            return GANOutput(images=list(x))
        arr = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return GANOutput(images=[Image.fromarray(a[..., 0] if a.shape[2] == 1 else a).convert("RGB") for a in arr])


def estimate_w_avg(mapping: MappingNetwork, z_dim: int, like: torch.Tensor, count: int = W_AVG_SAMPLES) -> torch.Tensor:
    """Mean w of `count` z's drawn on the CPU with seed W_AVG_SEED, mapped on `like`'s device in chunks of 1000."""
    gen = torch.Generator("cpu").manual_seed(W_AVG_SEED)
    total = torch.zeros_like(like, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, count, 1000):
            z = torch.randn((min(1000, count - start), z_dim), generator=gen).to(like.device, like.dtype)
            total += mapping(z).double().sum(dim=0)
    return (total / count).to(like.dtype)
