"""GAN image translators (pix2pix U-Net, CycleGAN ResNet) as Hub-loadable modules, with tiny stand-ins."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from PIL import Image
from torch import nn

from .atomic import atomic_folder
from .workspace import Workspace

STANDIN_VERSION = 1
NORMS = ("batch", "instance")


def _norm_layer(norm: str) -> Callable[[int], nn.Module]:
    """The junyanz `get_norm_layer`: affine BatchNorm with running stats, or InstanceNorm without either."""
    if norm == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    raise ValueError(f"norm={norm!r}: allowed values are {', '.join(NORMS)}")


class _StrictHubMixin(PyTorchModelHubMixin):
    """PyTorchModelHubMixin loading with strict=True: a checkpoint of another layout fails instead of half-loading."""

    @classmethod
    def _from_pretrained(cls, *, strict: bool = True, **kwargs: Any):  # type: ignore[override]
        # The mixin's default is strict=False, which silently keeps random weights for every missing key.
        return super()._from_pretrained(strict=strict, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# pix2pix U-Net (junyanz/pytorch-CycleGAN-and-pix2pix `UnetGenerator`; same module tree, so same state-dict keys)
# ---------------------------------------------------------------------------------------------------------------


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: down -> submodule -> up, concatenated with its input (except the outermost level)."""

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        use_dropout: bool = False,
        use_bias: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu, uprelu = nn.LeakyReLU(0.2, True), nn.ReLU(True)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers: list[nn.Module] = [downconv, submodule, uprelu, upconv, nn.Tanh()]  # type: ignore[list-item]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            layers = [downrelu, downconv, uprelu, upconv, norm_layer(outer_nc)]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            layers = [downrelu, downconv, norm_layer(inner_nc), submodule, uprelu, upconv, norm_layer(outer_nc)]
            layers += [nn.Dropout(0.5)] if use_dropout else []
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, input_nc, H, W) -> (B, outer_nc, H, W) outermost, else (B, 2*outer_nc, H, W)
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class Pix2PixUNetGenerator(
    nn.Module,
    _StrictHubMixin,
    library_name="genart",
    repo_url="https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix",
    paper_url="https://arxiv.org/abs/1611.07004",
):
    """pix2pix U-Net generator: `num_downs` stride-2 levels, so H and W must be multiples of 2**num_downs.

    Output is tanh, in [-1, 1]. unet_256 in the reference code is num_downs=8, ngf=64, norm="batch".
    """

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs={num_downs}: allowed values are >= 5 (the reference U-Net's minimum)")
        norm_layer = _norm_layer(norm)
        kw = dict(norm_layer=norm_layer, use_bias=norm == "instance")
        self.input_nc, self.output_nc, self.num_downs = input_nc, output_nc, num_downs
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, **kw)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, use_dropout=use_dropout, **kw)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, **kw)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, **kw)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, **kw)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, **kw)

    @property
    def size_multiple(self) -> int:
        """H and W of the input must be multiples of this (the caller resizes)."""
        return 2**self.num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, input_nc, H, W) in [-1, 1] -> (B, output_nc, H, W) in [-1, 1]
        return self.model(x)


# ---------------------------------------------------------------------------------------------------------------
# CycleGAN ResNet generator (junyanz `ResnetGenerator`; same module tree, so same state-dict keys)
# ---------------------------------------------------------------------------------------------------------------


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convs with a residual connection."""

    def __init__(self, dim: int, norm_layer: Callable[[int], nn.Module], use_dropout: bool, use_bias: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=use_bias),
            norm_layer(dim),
            nn.ReLU(True),
        ]
        layers += [nn.Dropout(0.5)] if use_dropout else []
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, dim, h, w) -> (B, dim, h, w)
        return x + self.conv_block(x)


class CycleGANResnetGenerator(
    nn.Module,
    _StrictHubMixin,
    library_name="genart",
    repo_url="https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix",
    paper_url="https://arxiv.org/abs/1703.10593",
):
    """CycleGAN ResNet generator: 2 stride-2 downsamplings, `n_blocks` residual blocks, 2 upsamplings, tanh.

    H and W must be multiples of 4 for the output to have the input's size. resnet_9blocks is n_blocks=9, ngf=64.
    """

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks={n_blocks}: allowed values are >= 0 (6 and 9 in the paper)")
        norm_layer = _norm_layer(norm)
        use_bias = norm == "instance"
        self.input_nc, self.output_nc = input_nc, output_nc
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, 7, bias=use_bias),
            norm_layer(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):  # downsample: (B, ngf*2**i, h, w) -> (B, ngf*2**(i+1), h/2, w/2)
            mult = 2**i
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                norm_layer(ngf * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 4, norm_layer, use_dropout, use_bias) for _ in range(n_blocks)]
        for i in range(2):  # upsample: (B, ngf*2**(2-i), h, w) -> (B, ngf*2**(1-i), 2h, 2w)
            mult = 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(
                    ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=use_bias
                ),
                norm_layer(ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    @property
    def size_multiple(self) -> int:
        """H and W of the input must be multiples of this for an output of the same size."""
        return 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, input_nc, H, W) in [-1, 1] -> (B, output_nc, H, W) in [-1, 1]
        return self.model(x)


GAN_CLASSES: dict[str, type[nn.Module]] = {
    "Pix2PixUNetGenerator": Pix2PixUNetGenerator,
    "CycleGANResnetGenerator": CycleGANResnetGenerator,
}


# ---------------------------------------------------------------------------------------------------------------
# Inference
# ---------------------------------------------------------------------------------------------------------------


def pil_to_tensor(image: Image.Image, channels: int = 3) -> torch.Tensor:
    """PIL image -> (1, channels, H, W) float32 in [-1, 1] (channels 1 -> grayscale, 3 -> RGB)."""
    mode = {1: "L", 3: "RGB"}.get(channels)
    if mode is None:
        raise ValueError(f"input_nc={channels}: allowed values are 1 and 3")
    arr = np.asarray(image.convert(mode), dtype=np.float32).reshape(image.height, image.width, channels)  # (H, W, C)
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0) / 127.5 - 1.0  # (1, C, H, W)


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """(1, C, H, W) in [-1, 1] (C = 1 or 3) -> RGB PIL image."""
    arr = ((x[0].float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (C, H, W)
    arr = arr.permute(1, 2, 0).cpu().numpy()  # (H, W, C)
    return Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).convert("RGB")


def translate_image(model: nn.Module, image: Image.Image) -> Image.Image:
    """Run a GAN translator on one image; output has the input's size.

    H and W must be multiples of `model.size_multiple` (2**num_downs for the U-Net, 4 for the ResNet); the caller
    resizes. Runs on the model's device and dtype under inference_mode.
    """
    multiple = int(getattr(model, "size_multiple", 1))
    if image.width % multiple or image.height % multiple:
        raise ValueError(
            f"image is {image.width}x{image.height}: {type(model).__name__} needs both sides to be multiples of "
            f"{multiple}; resize first"
        )
    param = next(model.parameters())
    x = pil_to_tensor(image, int(getattr(model, "input_nc", 3))).to(param.device, param.dtype)  # (1, C, H, W)
    with torch.inference_mode():
        y = model(x)  # (1, output_nc, H, W)
    return tensor_to_pil(y)


# ---------------------------------------------------------------------------------------------------------------
# Tiny stand-ins
# ---------------------------------------------------------------------------------------------------------------

STANDIN_CONFIGS: dict[str, dict[str, Any]] = {
    "Pix2PixUNetGenerator": dict(input_nc=3, output_nc=3, num_downs=5, ngf=8, norm="batch"),
    "CycleGANResnetGenerator": dict(input_nc=3, output_nc=3, ngf=8, n_blocks=2, norm="instance"),
}


def build_gan_standin(class_name: str, seed: int = 0, **overrides: Any) -> nn.Module:
    """A tiny random-weight generator of `class_name` (seeded, eval mode); `overrides` change its config."""
    if class_name not in GAN_CLASSES:
        raise ValueError(f"class_name={class_name!r}: allowed values are {', '.join(GAN_CLASSES)}")
    config = {**STANDIN_CONFIGS[class_name], **overrides}
    with torch.random.fork_rng(devices=[]):  # leave the caller's RNG stream alone
        torch.manual_seed(seed)
        model = GAN_CLASSES[class_name](**config)
    return model.eval()


def gan_standin_path(class_name: str, cache_dir: str | os.PathLike) -> Path:
    """Where the stand-in for `class_name` lives (whether or not it has been built yet)."""
    return Workspace(Path(), Path(cache_dir)).standins / f"{class_name}-v{STANDIN_VERSION}"


def _is_complete(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def ensure_gan_standin(class_name: str, cache_dir: str | os.PathLike) -> Path:
    """The saved stand-in folder (config.json + model.safetensors), built once via a temp folder and a rename.

    Load it with `GAN_CLASSES[class_name].from_pretrained(path)`, the same call a Hub repo id takes.
    """
    model = build_gan_standin(class_name)  # unknown class: ValueError before anything is written
    final = gan_standin_path(class_name, cache_dir)
    if _is_complete(final):
        return final
    if final.exists():  # incomplete leftover
        shutil.rmtree(final, ignore_errors=True)
    with atomic_folder(final) as tmp:
        model.save_pretrained(tmp)
    return final
