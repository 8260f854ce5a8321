"""genart's GANs (pix2pix U-Net and CycleGAN ResNet translators, a StyleGAN sampler): the class table, inference,
and tiny stand-ins."""

from __future__ import annotations

import inspect
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from .atomic import atomic_folder
from .gan_nets import CycleGANResnetGenerator, Pix2PixUNetGenerator, ResnetBlock
from .stylegan_nets import StyleGANGenerator
from .workspace import Workspace

__all__ = [
    "GAN_CLASSES",
    "STANDIN_CONFIGS",
    "CycleGANResnetGenerator",
    "Pix2PixUNetGenerator",
    "ResnetBlock",
    "StyleGANGenerator",
    "build_gan_standin",
    "default_config",
    "ensure_gan_standin",
    "gan_standin_path",
    "pil_to_tensor",
    "run_size",
    "tensor_to_pil",
    "translate_image",
]

STANDIN_VERSION = 2  # bump when a layout or a stand-in config changes: cached stand-ins are keyed on it
STANDIN_NGF = 8  # stand-ins keep the real layout (every key name) and shrink only the base width ngf...
STANDIN_WIDTHS = {
    "ngf": STANDIN_NGF,
    "z_dim": 16,
    "w_dim": 16,
    "width": 16,
}  # ...or a StyleGAN's latent and channel widths

GAN_CLASSES: dict[str, type[nn.Module]] = {
    "Pix2PixUNetGenerator": Pix2PixUNetGenerator,
    "CycleGANResnetGenerator": CycleGANResnetGenerator,
    "StyleGANGenerator": StyleGANGenerator,  # unconditional: called like a pipeline, see stylegan_nets
}


def default_config(cls: type[nn.Module]) -> dict[str, Any]:
    """The constructor defaults of a GAN class: the config of the Hub repo it stands for (those repos ship none)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


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


def run_size(model: nn.Module, width: int, height: int) -> tuple[int, int]:
    """The size `model` runs a width x height image at: each side rounded up to a multiple of `model.size_multiple`
    (2**8 = 256 for the U-Net, 4 for the ResNet)."""
    multiple = int(getattr(model, "size_multiple", 1))
    return -(-width // multiple) * multiple, -(-height // multiple) * multiple


def translate_image(model: nn.Module, image: Image.Image) -> Image.Image:
    """Run a GAN translator on one image; the output has the input's size.

    An image whose sides are not multiples of `model.size_multiple` is resized (bicubic) to `run_size`, translated,
    and the result resized back; the tasks fit inputs to the registry's size, which is always such a multiple.
    Runs on the model's device and dtype under inference_mode.
    """
    size = run_size(model, image.width, image.height)
    resized = image if size == image.size else image.resize(size, Image.Resampling.BICUBIC)
    param = next(model.parameters())
    x = pil_to_tensor(resized, int(getattr(model, "input_nc", 3))).to(param.device, param.dtype)  # (1, C, H, W)
    with torch.inference_mode():
        y = model(x)  # (1, output_nc, H, W)
    out = tensor_to_pil(y)
    return out if out.size == image.size else out.resize(image.size, Image.Resampling.BICUBIC)


# ---------------------------------------------------------------------------------------------------------------
# Tiny stand-ins
# ---------------------------------------------------------------------------------------------------------------

# Each stand-in is its class's real config (the constructor defaults) with only its widths shrunk: the same key
# names, the same depth and size rules, 1/64 of the parameters or fewer.
STANDIN_CONFIGS: dict[str, dict[str, Any]] = {
    name: {**(config := default_config(cls)), **{k: v for k, v in STANDIN_WIDTHS.items() if k in config}}
    for name, cls in GAN_CLASSES.items()
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
