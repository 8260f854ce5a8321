"""HPS v2.1 (Wu et al. 2023, "Human Preference Score v2"): an open_clip ViT-H-14 fine-tuned on human preferences.

Score of image i for prompt i = cos(image features, text features), as the authors' `hpsv2` package computes it
(hpsv2 1.2.0, hpsv2/img_score.py: `model(image, text)` returns unit features, the score is the diagonal of
image_features @ text_features.T). Real images score about 0.2-0.35.

- **Weights**: the state dict `HPS_v2.1_compressed.pt` of Hub repo `xswu/HPSv2` (hpsv2/utils.py, hps_version_map),
  a dict {"state_dict": tensors}, read with torch.load(weights_only=True): a file holding pickled code is refused
  (metrics/weights.py). The architecture is open_clip's `ViT-H-14`, built without any pretrained download.
- **Only v2.1.** The repo's `HPS_v2_compressed.pt` (v2.0) has the same architecture, but its numbers are not
  comparable with v2.1's and the column this scorer fills is "hpsv21", so it is not offered.
- **Images**: what hpsv2's score() runs, which is *not* open_clip's centre crop: img_score.py builds its transforms with
  light_augmentation=True, so preprocess_val = image_transform(224, is_train=False, resize_longest_max=True)
  (hpsv2/src/open_clip/factory.py, transform.py): RGB, ToTensor, then ResizeMaxSize: bicubic (antialiased, on the
  tensor) resize of the *longest* side to 224, zero padding to 224x224 (a letterbox), OpenAI CLIP mean/std. The
  whole image is scored. One divergence: hpsv2 skips the padding when the longest side is already 224 (and then
  fails on a non-square image); we always pad.
- **Prompts**: open_clip's ViT-H-14 tokenizer (CLIP BPE, 77 tokens; a longer prompt is cut keeping <|endoftext|>).
- **dtype**: `dtype="float16"` casts the model to half precision (hpsv2 runs it under CUDA autocast).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import open_clip
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torchvision import transforms
from torchvision.transforms import functional as F

from .scorers import ScorerInfo, check_pairs
from .weights import read_state_dict, torch_dtype

METRIC = "hpsv21"
DEFAULT_MODEL = "xswu/HPSv2"
WEIGHTS_FILE = "HPS_v2.1_compressed.pt"  # hpsv2.utils.hps_version_map["v2.1"]
ARCHITECTURE = "ViT-H-14"
TINY_ARCHITECTURE = "genart-tiny-hps"  # the stand-in: ViT-H-14's classes and tokenizer, tiny widths and depths
TINY_CONFIG = {  # open_clip model config, the shape of model_configs/ViT-H-14.json
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
SCALE = "cos(image, text) of HPS v2.1 features (about 0.2-0.35 for real images)"


def build_model(architecture: str = ARCHITECTURE) -> torch.nn.Module:
    """An open_clip CLIP of `architecture` with initial weights and no download (what open_clip.create_model builds for
    a config without a Hugging Face text tower, as hpsv2's does); TINY_ARCHITECTURE comes from TINY_CONFIG."""
    config = TINY_CONFIG if architecture == TINY_ARCHITECTURE else open_clip.get_model_config(architecture)
    if config is None:
        raise ValueError(f"unknown open_clip architecture {architecture!r}; HPS v2.1 is {ARCHITECTURE!r}")
    return open_clip.model.CLIP(**config)


class Letterbox:
    """hpsv2's ResizeMaxSize on a (3, H, W) tensor: bicubic (antialiased) resize of the longest side to `size`, then
    zero padding (black, before normalisation) to size x size, the extra pixel of an odd pad going right/bottom."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        height, width = img.shape[1:]
        scale = self.size / max(height, width)
        new_h, new_w = round(height * scale), round(width * scale)
        if (new_h, new_w) != (height, width):
            img = F.resize(img, [new_h, new_w], transforms.InterpolationMode.BICUBIC, antialias=True)
        pad_h, pad_w = self.size - new_h, self.size - new_w  # hpsv2 pads only after a resize; we always make it square
        return F.pad(img, [pad_w // 2, pad_h // 2, pad_w - pad_w // 2, pad_h - pad_h // 2], fill=0)


def eval_transform(image_size: int) -> transforms.Compose:
    """The transform hpsv2's score() uses (light_augmentation=True): ToTensor, Letterbox, OpenAI mean/std."""
    return transforms.Compose(
        [transforms.ToTensor(), Letterbox(image_size), transforms.Normalize(OPENAI_DATASET_MEAN, OPENAI_DATASET_STD)]
    )


class HpsScorer:
    """An open_clip CLIP with HPS weights, its tokenizer and eval transform: N (image, prompt) pairs -> N cosines."""

    def __init__(self, model: torch.nn.Module, info: ScorerInfo) -> None:
        self.model, self.info = model.eval().requires_grad_(False), info
        self.tokenizer = open_clip.get_tokenizer(ARCHITECTURE)  # ViT-H-14's: CLIP BPE, 77 tokens, offline
        self.transform = eval_transform(int(model.visual.image_size[0]))

    def to(self, device) -> HpsScorer:
        self.model.to(device)
        return self

    @torch.no_grad()
    def _cosines(self, images: Sequence, prompts: Sequence[str]) -> np.ndarray:
        param = next(self.model.parameters())
        pixels = torch.stack([self.transform(im.convert("RGB")) for im in images]).to(param.device, param.dtype)
        tokens = self.tokenizer(list(prompts)).to(param.device)  # (B, 77)
        img = self.model.encode_image(pixels).double()  # (B, D)
        txt = self.model.encode_text(tokens).double()
        img, txt = img / img.norm(dim=1, keepdim=True), txt / txt.norm(dim=1, keepdim=True)
        return (img * txt).sum(1).cpu().numpy()

    def score(self, images: Sequence, prompts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """HPS v2.1 of image i for prompt i, (N,) float64."""
        check_pairs(images, prompts, "HPS v2.1")
        if batch_size < 1:
            raise ValueError(f"HPS v2.1 batch_size must be at least 1; got {batch_size}")
        out = [
            self._cosines(images[s : s + batch_size], prompts[s : s + batch_size])
            for s in range(0, len(images), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros(0)


def _info(model_id: str, architecture: str, dtype: str, standin: bool, seed: int) -> ScorerInfo:
    size = TINY_CONFIG["vision_cfg"]["image_size"] if architecture == TINY_ARCHITECTURE else 224
    suffix = "" if dtype == "float32" else f"-{dtype}"
    return ScorerInfo(
        id=f"standin-{METRIC}-seed{seed}{suffix}"
        if standin
        else f"{METRIC}-{model_id.lower().replace('/', '-')}-{architecture.lower()}{suffix}",
        name=f"HPS v2.1 tiny random stand-in (seed {seed})" if standin else f"HPS v2.1 ({model_id}/{WEIGHTS_FILE})",
        metric=METRIC,
        preprocessing=f"ToTensor, bicubic (antialiased) longest side {size} + zero padding to {size}x{size}, OpenAI "
        "CLIP mean/std (hpsv2 score()'s letterbox); open_clip ViT-H-14 tokenizer, 77 tokens",
        scale=SCALE,
        standin=standin,
    )


def load(
    model_id: str | None = None,
    *,
    standin: bool = False,
    local_files_only: bool = False,
    seed: int = 0,
    weights_path: str | Path | None = None,
    architecture: str = ARCHITECTURE,
    dtype: str = "float32",
) -> HpsScorer:
    """HPS v2.1: WEIGHTS_FILE of `model_id` (default DEFAULT_MODEL) from the Hub cache, or `weights_path`.

    `standin=True` builds the tiny architecture with seeded random weights offline (numbers test the plumbing only).
    `architecture` names the open_clip model the state dict fits (TINY_ARCHITECTURE for tests of the loading path).
    """
    dtype_ = torch_dtype(dtype, "HPS v2.1")
    if standin:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(TINY_ARCHITECTURE)
        return HpsScorer(model.to(dtype_), _info("", TINY_ARCHITECTURE, dtype, True, seed))
    model_id = model_id or DEFAULT_MODEL
    if weights_path is None:
        from huggingface_hub import hf_hub_download  # lazy: only loading real weights reaches the Hub cache

        weights_path = hf_hub_download(model_id, WEIGHTS_FILE, local_files_only=local_files_only)
    model = build_model(architecture)
    model.load_state_dict(read_state_dict(weights_path))  # strict, as hpsv2 loads it
    return HpsScorer(model.to(dtype_), _info(model_id, architecture, dtype, False, seed))


__all__ = ["ARCHITECTURE", "DEFAULT_MODEL", "TINY_ARCHITECTURE", "WEIGHTS_FILE", "HpsScorer", "build_model", "load"]
