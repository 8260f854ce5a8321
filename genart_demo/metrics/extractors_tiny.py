"""Network builders behind the extractors: tiny seeded offline stand-ins, random FID weights, DINOv2 resizing."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

ModuleT = TypeVar("ModuleT", bound=nn.Module)

TINY_FID_SIZE = 32  # the FID stand-in resizes to 32x32 (the real graph uses 299x299)
TINY_FID_DIM = 64  # its pooled feature width (the real pool3 is 2048)
INCEPTION_LOGITS = 1008  # the TF 2015-12-05 graph has 1008 outputs (1000 classes + 8 unused)


def seeded_module(build: Callable[[], ModuleT], seed: int) -> ModuleT:
    """build() under torch.manual_seed(seed) on the CPU, restoring the global RNG afterwards.

    Same seed, same torch/timm version -> same weights in any process; callers' random streams are untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = build()
    return module.eval().requires_grad_(False)


def tf1_bilinear_resized(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32 (B, 3, size, size) with torch-fidelity's TF1-exact bilinear resize."""
    # lazy: torch-fidelity is needed only by the FID Inception
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    return interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(size, size), align_corners=False)


class TinyFidInception(nn.Module):
    """Stand-in for torch-fidelity's FeatureExtractorInceptionV3 with the same input convention and outputs.

    uint8 (B, 3, H, W) -> TF1 bilinear to 32x32 -> (x - 128) / 128 -> three strided convs -> average pool,
    returning ((B, 64) pooled features, (B, 1008) bias-free logits) like its ("2048", "logits_unbiased").
    """

    def __init__(self, dim: int = TINY_FID_DIM, num_logits: int = INCEPTION_LOGITS):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1),
            nn.ReLU(),  # (B, 16, 16, 16)
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),  # (B, 32, 8, 8)
            nn.Conv2d(32, dim, 3, stride=2, padding=1),
            nn.ReLU(),  # (B, dim, 4, 4)
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),  # (B, dim)
        )
        self.fc = nn.Linear(dim, num_logits)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (tf1_bilinear_resized(images, TINY_FID_SIZE) - 128) / 128  # (B, 3, 32, 32) in [-1, 1]
        features = self.body(x)  # (B, dim), non-negative like pool3
        return features, features @ self.fc.weight.T  # (B, dim), (B, 1008)


def tiny_fid_inception(seed: int = 0) -> TinyFidInception:
    """The seeded FID Inception stand-in."""
    return seeded_module(TinyFidInception, seed)


def tiny_timm_classifier(seed: int = 0) -> nn.Module:
    """timm's test_resnet (0.5M parameters, 96-d pooled features) with a 1000-way head, seeded."""
    import timm  # lazy: timm is needed only by its extractors

    return seeded_module(lambda: timm.create_model("test_resnet", pretrained=False, num_classes=1000), seed)


TINY_DINOV2_GRID = (5, 4)  # built with a 5x5 patch grid, resized to 4x4 as the real one goes 37x37 -> 16x16


def tiny_dinov2(seed: int = 0) -> nn.Module:
    """A 2-block, 32-wide DINOv2-architecture ViT/14 built at 70x70 (no head, CLS-token pooling), seeded.

    The caller resizes it to 56x56 with the DINOv2 position-embedding interpolation, like the real 518 -> 224.
    """
    import timm  # lazy: timm is needed only by its extractors

    def build() -> nn.Module:
        return timm.create_model(
            "vit_small_patch14_dinov2",
            pretrained=False,
            depth=2,
            embed_dim=32,
            num_heads=2,
            img_size=14 * TINY_DINOV2_GRID[0],
            num_classes=0,
            global_pool="token",
            init_values=1.0,  # LayerScale 1 (DINOv2's 1e-5 init would leave the CLS token nearly image-independent)
        )

    return seeded_module(build, seed)


def save_random_fid_inception_weights(path: str | Path, seed: int = 0) -> Path:
    """Write a state dict with the real FID Inception's keys and shapes but random weights (for offline tests).

    Builds torch-fidelity's FeatureExtractorInceptionV3 without loading weights, re-initialises the convs
    Kaiming-normal so activations stay O(1) through 47 layers (the default init shrinks them into denormals,
    which makes CPU inference several times slower), and saves a plain tensor dict (~96 MB) to path.
    """
    # lazy: torch-fidelity is needed only by the FID Inception
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class _RandomInit(FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, strict=True, assign=False):  # keep the random init
            return None

    def build() -> nn.Module:
        with tempfile.TemporaryDirectory() as tmp:
            empty = Path(tmp) / "empty.pt"
            torch.save({}, empty)  # the constructor insists on loading a file
            model = _RandomInit("random-inception", ["2048"], feature_extractor_weights_path=str(empty))
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        return model

    model = seeded_module(build, seed)
    path = Path(path)
    torch.save({k: v.clone() for k, v in model.state_dict().items()}, path)
    return path


def dinov2_pos_embed(pos_embed: torch.Tensor, old_grid: int, new_grid: int) -> torch.Tensor:
    """(1, 1 + old_grid**2, D) -> (1, 1 + new_grid**2, D), exactly as DINOv2's hub model interpolates per call.

    facebookresearch/dinov2 `interpolate_pos_encoding`: bicubic, no antialias, scale_factor (g + 0.1) / M
    (the "+0.1" kludge also sets the sampling positions). timm's resample_abs_pos_embed uses
    size=g with antialias=True instead, which gives different numbers (hence FD-DINOv2 drift).
    """
    if pos_embed.dim() != 3 or pos_embed.shape[1] != 1 + old_grid * old_grid:
        raise ValueError(
            f"pos_embed must be (1, 1 + {old_grid}**2, D) with one class token; got {tuple(pos_embed.shape)}"
        )
    if new_grid == old_grid:
        return pos_embed
    dim = pos_embed.shape[-1]
    cls_pos, patch_pos = pos_embed[:, :1].float(), pos_embed[:, 1:].float()
    patch_pos = patch_pos.reshape(1, old_grid, old_grid, dim).permute(0, 3, 1, 2)  # (1, D, M, M)
    scale = (new_grid + 0.1) / old_grid
    patch_pos = F.interpolate(patch_pos, scale_factor=(scale, scale), mode="bicubic", align_corners=False)
    if patch_pos.shape[-2:] != (new_grid, new_grid):
        raise RuntimeError(f"DINOv2 pos-embed interpolation gave grid {tuple(patch_pos.shape[-2:])}, wanted {new_grid}")
    patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, new_grid * new_grid, dim)  # (1, g*g, D)
    return torch.cat([cls_pos, patch_pos], dim=1).to(pos_embed.dtype)


def set_dinov2_input_size(model: nn.Module, img_size: int) -> nn.Module:
    """Resize a timm DINOv2 ViT to img_size x img_size inputs with DINOv2's own pos-embed interpolation."""
    patch = model.patch_embed.patch_size[0]
    if img_size % patch:
        raise ValueError(f"img_size must be a multiple of the patch size {patch}; got {img_size}")
    old_grid, new_grid = model.patch_embed.grid_size[0], img_size // patch
    pos_embed = model.pos_embed.detach().clone()  # (1, 1 + M*M, D)
    model.set_input_size(img_size=(img_size, img_size))  # updates patch_embed and timm's own (antialiased) copy
    with torch.no_grad():
        model.pos_embed.copy_(dinov2_pos_embed(pos_embed, old_grid, new_grid))
    return model


__all__ = [
    "INCEPTION_LOGITS",
    "TINY_FID_DIM",
    "TINY_FID_SIZE",
    "TinyFidInception",
    "dinov2_pos_embed",
    "save_random_fid_inception_weights",
    "seeded_module",
    "set_dinov2_input_size",
    "tf1_bilinear_resized",
    "tiny_dinov2",
    "tiny_fid_inception",
    "tiny_timm_classifier",
]
