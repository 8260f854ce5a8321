"""GAN upscalers (ESRGAN / Real-ESRGAN and the other spandrel architectures), loaded from safe formats only."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_write
from .workspace import Workspace

SAFETENSORS_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
STANDIN_VERSION = 1
STANDIN_CONFIG = dict(in_nc=3, out_nc=3, num_filters=8, num_blocks=1)  # ~226k params (RRDB growth is fixed at 32)


def load_sr_model(repo: str, filename: str, device: str = "cpu", **hub: Any) -> Any:
    """Download `filename` from Hub repo `repo` (cached) and load it as a spandrel ImageModelDescriptor. `hub`:
    hf_hub_download's revision, token, cache_dir and local_files_only (loading.hub_kwargs)."""
    from huggingface_hub import hf_hub_download  # lazy: only reaching the Hub needs it

    path = hf_hub_download(repo, filename, **hub)
    return load_sr_file(path, device=device)


def read_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """Tensors of a .safetensors file, or of a .pth/.pt/.ckpt/.bin pickle read with weights_only=True."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        from safetensors.torch import load_file  # lazy: safetensors.torch imports torch

        return load_file(str(path), device="cpu")
    if suffix in PICKLE_SUFFIXES:
        try:
            # weights_only=True: tensors, dicts, lists and primitives only; never arbitrary objects (no code runs).
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            raise ValueError(
                f"{path.name}: refused, the pickle holds objects other than tensors and plain containers "
                f"(torch.load weights_only=True){_unpickling_detail(e)}"
            ) from e
        if not isinstance(state, dict):
            raise ValueError(f"{path.name}: expected a state dict, the file holds a {type(state).__name__}")
        return state
    allowed = ", ".join(SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES)
    raise ValueError(f"{path.name}: unsupported file type {suffix or '(none)'}; allowed: {allowed}")


def _unpickling_detail(error: Exception) -> str:
    """The line of torch's weights_only error that names the refused global, if any."""
    lines = [ln.strip() for ln in str(error).splitlines() if "Unsupported global" in ln or "GLOBAL" in ln]
    return f": {lines[0]}" if lines else ""


def descriptor_from_state_dict(state_dict: dict[str, Any], name: str = "state dict", device: str = "cpu") -> Any:
    """Detect the architecture with spandrel; only single-image models (ImageModelDescriptor) are accepted."""
    import spandrel  # lazy: spandrel is needed only by GAN upscalers

    state_dict = spandrel.canonicalize_state_dict(state_dict)  # unwraps params_ema / state_dict / ... wrappers
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(state_dict)
    except spandrel.UnsupportedModelError as e:
        keys = ", ".join(list(state_dict)[:4])
        raise ValueError(f"{name}: not an image model architecture spandrel knows (first keys: {keys})") from e
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ValueError(
            f"{name}: a {type(descriptor).__name__} ({descriptor.architecture.name}, purpose "
            f"{descriptor.purpose}); only single-image upscalers/restorers (ImageModelDescriptor) are supported"
        )
    return descriptor.eval().to(device)


def load_sr_file(path: str | os.PathLike, device: str = "cpu") -> Any:
    """A local upscaler checkpoint -> spandrel ImageModelDescriptor in eval mode on `device`."""
    return descriptor_from_state_dict(read_state_dict(path), name=Path(path).name, device=device)


def upscale_tensor(descriptor: Any, x: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) float in [0, 1] -> (1, 3, H*scale, W*scale) in [0, 1], on x's device, float32."""
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"expected a (1, C, H, W) tensor, got {tuple(x.shape)}")
    with torch.inference_mode():
        y = descriptor(x.to(descriptor.device, descriptor.dtype))  # (1, C, H*s, W*s); spandrel pads to its multiple
        return y.clamp(0, 1).to(x.device, torch.float32)


def build_sr_standin(scale: int = 4, seed: int = 0) -> torch.nn.Module:
    """A tiny random-weight ESRGAN RRDBNet (spandrel's class, old-arch keys) of the given scale."""
    from spandrel.architectures.ESRGAN import ESRGAN  # lazy: spandrel is needed only by GAN upscalers

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ESRGAN(**STANDIN_CONFIG, scale=scale).eval()


def sr_standin_path(cache_dir: str | os.PathLike, scale: int = 4) -> Path:
    """Where the stand-in upscaler file lives (whether or not it has been built yet)."""
    return Workspace(Path(), Path(cache_dir)).standins / f"RRDBNet-x{scale}-v{STANDIN_VERSION}.safetensors"


def ensure_sr_standin(cache_dir: str | os.PathLike, scale: int = 4) -> Path:
    """Write the tiny RRDBNet state dict once (temp file + atomic replace) and return its path."""
    from safetensors.torch import save_file  # lazy: safetensors.torch imports torch

    final = sr_standin_path(cache_dir, scale)
    if final.is_file():
        return final
    state = {k: v.contiguous() for k, v in build_sr_standin(scale).state_dict().items()}
    # atomic; a concurrent writer's identical file is simply replaced
    return atomic_write(
        final, lambda tmp: save_file(state, str(tmp), metadata={"format": "pt", "genart": "random-weight stand-in"})
    )
