"""Swappable feature extractors (FID Inception, timm Inception, DINOv2, ImageNet classifier) and their factory."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .base import Extractor, ExtractorInfo, check_uint8_images
from .extractors_tiny import (
    INCEPTION_LOGITS,
    TINY_DINOV2_GRID,
    TINY_FID_DIM,
    TINY_FID_SIZE,
    set_dinov2_input_size,
    tiny_dinov2,
    tiny_fid_inception,
    tiny_timm_classifier,
)
from .weights import fid_inception_weights_file, pretrained_timm_model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ---------------------------------------------------------------- preprocessing


@dataclass(frozen=True)
class Preprocess:
    """How uint8 images become a network input (B, 3, size, size)."""

    size: int  # output side
    interpolation: str  # "bilinear" or "bicubic"; antialiased when shrinking, then rounded to uint8 levels
    mean: tuple[float, float, float]  # per channel, on [0, 1] pixels
    std: tuple[float, float, float]
    crop_pct: float | None = None  # None: squash the whole image to size x size; else timm's eval resize + crop

    @classmethod
    def from_timm(cls, name: str, *, size: int | None = None, crop: bool = False) -> Preprocess:
        """The convention in timm's data config for checkpoint name (size overrides its input size)."""
        # lazy: timm is needed only by its extractors
        from timm.data import resolve_data_config
        from timm.models import get_pretrained_cfg

        cfg = resolve_data_config(pretrained_cfg=get_pretrained_cfg(name).to_dict())
        return cls(
            size or cfg["input_size"][-1],
            cfg["interpolation"],
            tuple(cfg["mean"]),
            tuple(cfg["std"]),
            cfg["crop_pct"] if crop else None,
        )

    def describe(self) -> str:
        """Text for ExtractorInfo.resize."""
        if self.crop_pct is None:
            how = f"{self.interpolation} (antialiased) to {self.size}x{self.size}"
        else:
            how = (
                f"{self.interpolation} (antialiased) shorter side to {math.floor(self.size / self.crop_pct)}, "
                f"centre crop {self.size}x{self.size}"
            )
        imagenet = (self.mean, self.std) == (IMAGENET_MEAN, IMAGENET_STD)
        return f"{how}, " + ("ImageNet mean/std" if imagenet else f"mean {self.mean} std {self.std}")


def normalised_input(images: torch.Tensor, pre: Preprocess) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32 (B, 3, size, size), resized as pre says and normalised."""
    x = images.float()  # (B, 3, H, W) in [0, 255]
    h, w = x.shape[-2:]
    if pre.crop_pct is None:
        out_h = out_w = pre.size
    else:  # torchvision Resize(int) on the shorter side, as timm's eval transform does
        short = math.floor(pre.size / pre.crop_pct)
        out_h, out_w = (short, int(short * w / h)) if h <= w else (int(short * h / w), short)
    if (out_h, out_w) != (h, w):
        x = F.interpolate(x, size=(out_h, out_w), mode=pre.interpolation, align_corners=False, antialias=True)
        x = x.clamp(0, 255).round()  # what a uint8 resize (PIL, torchvision on uint8) would keep
    if pre.crop_pct is not None:  # centre crop, torchvision's rounding
        top, left = round((out_h - pre.size) / 2.0), round((out_w - pre.size) / 2.0)
        x = x[..., top : top + pre.size, left : left + pre.size]
    mean = torch.tensor(pre.mean, device=x.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(pre.std, device=x.device).view(1, 3, 1, 1) * 255
    return (x - mean) / std  # (B, 3, size, size)


# ---------------------------------------------------------------- extractors


def _standin_id(base: str, seed: int) -> str:
    return f"standin-{base}" + (f"-seed{seed}" if seed else "")  # stand-in features never share a cache key


class FidInception:
    """The standard FID network: TF Inception 2015-12-05 (torch-fidelity port), pool3 2048-d + 1008 logits.

    "logits" are torch-fidelity's "logits_unbiased" (fc without bias), what both torch-fidelity's and
    torchmetrics' Inception Score use. Weights: see fid_inception_weights_file. standin=True swaps in
    TinyFidInception (same input convention at 32x32, 64-d features, 1008 logits).
    """

    def __init__(
        self,
        device: str | torch.device = "cpu",
        *,
        standin: bool = False,
        weights_path: str | Path | None = None,
        allow_download: bool = False,
        seed: int = 0,
    ):
        self.device = torch.device(device)
        self.num_logits = INCEPTION_LOGITS
        if standin:
            self.model = tiny_fid_inception(seed)
            resize = f"TF1-exact bilinear to {TINY_FID_SIZE}x{TINY_FID_SIZE} (torch-fidelity)"
            self.info = ExtractorInfo(
                _standin_id("fid-inception", seed),
                "stand-in FID Inception (tiny random convnet)",
                TINY_FID_DIM,
                resize,
                True,
            )
        else:
            # lazy: torch-fidelity is needed only by the FID Inception
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

            path = fid_inception_weights_file(weights_path, allow_download=allow_download)
            self.model = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path)
            )
            self.info = ExtractorInfo(
                "fid-inception-tf2015",
                "FID Inception v3 (TF 2015-12-05 port, torch-fidelity), pool3",
                2048,
                "TF1-exact bilinear to 299x299 (torch-fidelity)",
                False,
            )
        self.model.to(self.device).eval()

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        images = check_uint8_images(images)
        with torch.inference_mode():
            features, logits = self.model(images.to(self.device))  # (B, dim), (B, 1008); resize inside
        return {"features": features.float(), "logits": logits.float()}


class _TimmExtractor:
    """A timm network behind a Preprocess: pooled pre-logits as features, the classifier head as logits."""

    def __init__(self, model: nn.Module, info: ExtractorInfo, pre: Preprocess, device: str | torch.device):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.info, self.preprocess = info, pre
        self.num_logits = getattr(model, "num_classes", 0) or None  # None: features only

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        images = check_uint8_images(images)
        with torch.inference_mode():
            x = normalised_input(images.to(self.device), self.preprocess)  # (B, 3, S, S)
            tokens = self.model.forward_features(x)  # (B, C, h, w) or (B, N, D)
            out = {"features": self.model.forward_head(tokens, pre_logits=True).float()}  # (B, dim)
            if self.num_logits:
                out["logits"] = self.model.forward_head(tokens).float()  # (B, K)
        return out


def _feature_dim(model: nn.Module) -> int:
    return int(getattr(model, "head_hidden_size", None) or model.num_features)


class TimmInception(_TimmExtractor):
    """timm inception_v3.tv_in1k (torchvision's ImageNet weights): pooled 2048-d features + 1000 logits.

    Preprocessing from timm's data config for the checkpoint (bicubic, mean = std = 0.5: the torchvision port
    folds its transform_input into that), applied to the whole image (no crop, as FID-style metrics do).
    Stand-in: timm's test_resnet (96-d) at 32x32 with the same convention.
    """

    MODEL = "inception_v3.tv_in1k"

    def __init__(
        self,
        device: str | torch.device = "cpu",
        *,
        standin: bool = False,
        weights_path: str | Path | None = None,
        allow_download: bool = False,
        seed: int = 0,
    ):
        if standin:
            model, pre = tiny_timm_classifier(seed), Preprocess.from_timm(self.MODEL, size=32)
            info = ExtractorInfo(
                _standin_id("timm-inception", seed),
                "stand-in timm Inception (timm test_resnet)",
                _feature_dim(model),
                pre.describe(),
                True,
            )
        else:
            model = pretrained_timm_model(self.MODEL, weights_path=weights_path, allow_download=allow_download)
            pre = Preprocess.from_timm(self.MODEL)
            info = ExtractorInfo(
                "timm-inception-v3-tv-in1k",
                f"timm {self.MODEL} (torchvision weights), pooled",
                _feature_dim(model),
                pre.describe(),
                False,
            )
        super().__init__(model, info, pre, device)


class DinoV2(_TimmExtractor):
    """FD-DINOv2 features (Stein et al. 2023): DINOv2 ViT-L/14 final-norm CLS token, 1024-d, at 224x224.

    Images: bicubic to 224x224, ImageNet mean/std (as dgm-eval). timm builds this checkpoint for 518x518;
    we load it there and resize to 224 with DINOv2's own pos-embed interpolation (set_dinov2_input_size),
    matching the torch.hub model dgm-eval runs. Stand-in: 2-block 32-wide ViT/14 at 56x56.
    """

    MODEL = "vit_large_patch14_dinov2.lvd142m"
    SIZE = 224

    def __init__(
        self,
        device: str | torch.device = "cpu",
        *,
        standin: bool = False,
        weights_path: str | Path | None = None,
        allow_download: bool = False,
        seed: int = 0,
    ):
        if standin:
            size, model = 14 * TINY_DINOV2_GRID[1], tiny_dinov2(seed)
            key, name = _standin_id("dinov2", seed), "stand-in DINOv2 (tiny random ViT/14), CLS"
        else:
            size, key, name = self.SIZE, "dinov2-vitl14-224", "DINOv2 ViT-L/14 (lvd142m) CLS token, FD-DINOv2"
            model = pretrained_timm_model(
                self.MODEL, weights_path=weights_path, allow_download=allow_download, num_classes=0, global_pool="token"
            )  # built at 518, as the checkpoint
        model = set_dinov2_input_size(model, size)
        pre = Preprocess(size, "bicubic", IMAGENET_MEAN, IMAGENET_STD)
        super().__init__(model, ExtractorInfo(key, name, _feature_dim(model), pre.describe(), standin), pre, device)


class Classifier(_TimmExtractor):
    """An ImageNet classifier for the classification accuracy of class-conditional generations.

    Default resnet50.a1_in1k (ResNet Strikes Back A1, 80.4% top-1 at 224): accurate, and a different
    network from the Inception behind FID/IS, so a generator tuned to Inception features is not also
    graded by it. It was trained with BCE: use argmax / top-k, its softmax is not calibrated.
    Preprocessing is timm's eval transform for the checkpoint (resize + centre crop). Returns
    {"logits": (B, 1000), "features": pooled (B, dim)}. Stand-in: timm test_resnet at 32x32.
    """

    DEFAULT_MODEL = "resnet50.a1_in1k"

    def __init__(
        self,
        device: str | torch.device = "cpu",
        *,
        standin: bool = False,
        weights_path: str | Path | None = None,
        allow_download: bool = False,
        seed: int = 0,
        model_name: str = DEFAULT_MODEL,
    ):
        if standin:
            model, pre = tiny_timm_classifier(seed), Preprocess.from_timm(model_name, size=32, crop=True)
            base = "classifier" if model_name == self.DEFAULT_MODEL else f"classifier-{model_name}"  # its resize
            info = ExtractorInfo(
                _standin_id(base, seed),
                "stand-in ImageNet classifier (timm test_resnet)",
                _feature_dim(model),
                pre.describe(),
                True,
            )
        else:
            model = pretrained_timm_model(model_name, weights_path=weights_path, allow_download=allow_download)
            if not getattr(model, "num_classes", 0):
                raise ValueError(f"{model_name!r} has no classifier head; pick an ImageNet-1k classifier")
            pre = Preprocess.from_timm(model_name, crop=True)
            info = ExtractorInfo(
                f"classifier-{model_name}",
                f"timm {model_name} ImageNet classifier",
                _feature_dim(model),
                pre.describe(),
                False,
            )
        super().__init__(model, info, pre, device)


# ---------------------------------------------------------------- factory and adapters


# name -> constructor(device=..., standin=..., weights_path=..., allow_download=...). The lead adds "clip" here.
def clip_image_extractor(
    device: str | torch.device = "cpu",
    *,
    standin: bool = False,
    weights_path: str | Path | None = None,
    allow_download: bool = False,
) -> Extractor:
    """CLIP image embeddings (metrics.clip); weights_path may name a local save_pretrained folder."""
    # lazy: imports torch (seconds); only this path needs it
    from .clip import DEFAULT_CLIP, ClipImageExtractor, load_clip

    source = str(weights_path) if weights_path else DEFAULT_CLIP
    return ClipImageExtractor(load_clip(source, local_files_only=not allow_download, standin=standin).to(device))


EXTRACTORS: dict[str, Callable[..., Extractor]] = {
    "fid-inception": FidInception,
    "timm-inception": TimmInception,
    "dinov2": DinoV2,
    "classifier": Classifier,
    "clip": clip_image_extractor,
}


def load_extractor(
    name: str,
    *,
    device: str | torch.device = "cpu",
    standin: bool = False,
    weights_path: str | Path | None = None,
    allow_download: bool = False,
) -> Extractor:
    """The extractor called name (a key of EXTRACTORS); standin=True gives its tiny seeded offline stand-in."""
    if name not in EXTRACTORS:
        raise ValueError(f"unknown extractor {name!r}; choose one of {sorted(EXTRACTORS)}")
    return EXTRACTORS[name](device=device, standin=standin, weights_path=weights_path, allow_download=allow_download)


class _FeatureModule(nn.Module):
    """nn.Module view of an extractor output, e.g. for torchmetrics' `feature=` argument."""

    def __init__(self, extractor: Extractor, key: str, num_features: int):
        super().__init__()
        self.extractor, self.key, self.num_features = extractor, key, num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        device = getattr(self.extractor, "device", images.device)
        return self.extractor(images.to(device))[self.key].to(images.device)  # (B, d) float32


def as_feature_module(extractor: Extractor, key: str = "features") -> nn.Module:
    """An nn.Module whose forward maps uint8 (B, 3, H, W) to extractor(images)[key], (B, d) float32.

    It carries `num_features` (an int: torchmetrics' FID reads it instead of probing a dummy image; KID, IS
    just call forward).
    The extractor stays on its own device; inputs are moved there and results moved back.
    """
    if key == "features":
        num_features = extractor.info.dim
    elif key == "logits" and getattr(extractor, "num_logits", None):
        num_features = extractor.num_logits
    else:
        probe = extractor(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
        if key not in probe:
            raise ValueError(f"extractor {extractor.info.id} gives {sorted(probe)}, not {key!r}")
        num_features = probe[key].shape[-1]
    return _FeatureModule(extractor, key, int(num_features))


__all__ = [
    "EXTRACTORS",
    "Classifier",
    "DinoV2",
    "FidInception",
    "Preprocess",
    "TimmInception",
    "as_feature_module",
    "load_extractor",
    "normalised_input",
]
