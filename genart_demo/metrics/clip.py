"""CLIPScore and CLIP R-precision over transformers' CLIPModel, plus a CLIP image-feature extractor for FD.

Conventions:

- **CLIPScore** = 100·cos(image embedding, text embedding). Hessel et al. (2021) define CLIP-S = w·max(cos, 0)
  per image with w = 2.5; like torchmetrics and the diffusers docs we use w = 100. `clamp="per_sample"` clamps
  each image's score at 0 and then averages (the paper's convention); `clamp="mean"` averages the unclamped
  100·cos and clamps the mean at 0 (torchmetrics' CLIPScore), and its per-image values are left unclamped.
  Every result names its convention.
- **Prompts over 77 tokens** are cut to 77 *keeping* the closing <|endoftext|> token, which is where CLIP pools the
  text. torchmetrics instead slices the token ids to the first 77, dropping it (an open bug, Lightning-AI/
  torchmetrics#2883), so its score for a long prompt is pooled at an ordinary token. Results list the indices of
  the prompts that were cut so a UI can warn.
- **Images**: transformers' `CLIPImageProcessorPil`, i.e. PIL bicubic resize of the shortest side to 224, centre
  crop 224x224, scale to [0, 1], CLIP mean/std: the original CLIP preprocessing, and what transformers 4's
  CLIPProcessor did when the diffusers reference numbers were made. transformers 5's default `CLIPImageProcessor`
  (torchvision backend, antialiased bicubic on tensors) differs by rounding; `image_backend="torchvision"` picks it.
- **CLIP R-precision** (Park et al. 2021): for each image, its true prompt and R-1 = 99 distractor prompts drawn
  at random (seeded) from the *other* prompts of the set; the image counts as a hit when its true prompt has the
  strictly highest cosine. The score is the hit rate (R = 1 precision). With fewer than 100 distinct prompts,
  all the others are the distractors and the result says so. Identical prompts count as one prompt.

Note for torchmetrics 1.9 with transformers >= 5: `get_image_features` returns a ModelOutput, so torchmetrics'
CLIPScore fails with "'BaseModelOutputWithPooling' object has no attribute 'norm'" (torchmetrics#3407); we take
`pooler_output` (the projected embedding) in either case.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .base import ExtractorInfo, check_uint8_images
from .ids import model_slug

CLAMPS = ("per_sample", "mean")
CONVENTIONS = {
    "per_sample": "100·max(cos, 0) per image, then the mean (Hessel et al. 2021 clamp, w=100)",
    "mean": "max(mean of 100·cos, 0) (torchmetrics); per-image values unclamped",
}
R_PRECISION_DISTRACTORS = 99  # Park et al. 2021: 1 true prompt + 99 random others
DEFAULT_CLIP = "openai/clip-vit-base-patch16"
IMAGE_BACKENDS = ("pil", "torchvision")


def _embedding(out: Any) -> torch.Tensor:
    """transformers < 5 returns the projected embedding; >= 5 a ModelOutput whose pooler_output is that embedding."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def _unit(features: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(features, torch.Tensor) or features.dim() != 2:
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"{what} must be a (N, D) tensor; got {shape}")
    features = features.double()
    return features / features.norm(dim=1, keepdim=True)


def clip_score(image_features: torch.Tensor, text_features: torch.Tensor, clamp: str = "per_sample") -> dict:
    """CLIPScore of paired rows: {"per_image": (N,) float64, "mean": float, "clamp": ..., "convention": text}."""
    if clamp not in CLAMPS:
        raise ValueError(f"CLIPScore clamp {clamp!r} — allowed: {', '.join(CLAMPS)}")
    img, txt = _unit(image_features, "image_features"), _unit(text_features, "text_features")
    if img.shape != txt.shape:
        raise ValueError(
            f"CLIPScore pairs image i with prompt i; got {tuple(img.shape)} image features and "
            f"{tuple(txt.shape)} text features"
        )
    scores = 100 * (img * txt).sum(1)  # (N,)
    if clamp == "per_sample":
        per_image = scores.clamp(min=0)
        mean = per_image.mean().item()
    else:
        per_image = scores
        mean = max(scores.mean().item(), 0.0)
    return {"per_image": per_image, "mean": mean, "clamp": clamp, "convention": CONVENTIONS[clamp]}


def r_precision(
    image_features: torch.Tensor, text_features: torch.Tensor, distractors: int = R_PRECISION_DISTRACTORS, seed: int = 0
) -> dict:
    """CLIP R-precision: the share of images whose own prompt (row i of text_features) beats random other prompts.

    Returns {"r_precision": float, "hits": (N,) bool, "distractors": k used, "candidates": k + 1, "convention"}.
    Rows of text_features that are exactly equal (the same prompt) are merged and never each other's distractors.
    """
    img, txt = _unit(image_features, "image_features"), _unit(text_features, "text_features")
    if img.shape != txt.shape:
        raise ValueError(
            f"R-precision pairs image i with prompt i; got {tuple(img.shape)} image features and "
            f"{tuple(txt.shape)} text features"
        )
    if distractors < 1:
        raise ValueError(f"R-precision needs at least 1 distractor; got {distractors}")
    unique, true_index = torch.unique(txt, dim=0, return_inverse=True)  # (M, D), (N,)
    m = unique.shape[0]
    if m < 2:
        raise ValueError("R-precision needs at least 2 different prompts to rank")
    k = min(distractors, m - 1)
    rng = np.random.default_rng(seed)
    sims = img @ unique.T  # (N, M)
    hits = torch.zeros(img.shape[0], dtype=torch.bool)
    for i, t in enumerate(true_index.tolist()):
        others = rng.choice(m - 1, size=k, replace=False)
        others = torch.from_numpy(others + (others >= t))  # skip the true prompt's index
        hits[i] = bool(sims[i, t] > sims[i, others].max())
    if k == distractors:
        how = f"1 true prompt + {k} random others (seed {seed})"
    else:
        how = f"1 true prompt + all {k} other prompts (fewer than {distractors + 1} distinct prompts)"
    return {
        "r_precision": hits.double().mean().item(),
        "hits": hits,
        "distractors": k,
        "candidates": k + 1,
        "convention": f"CLIP R-precision (Park et al. 2021), top-1 among {how}; ties count as misses",
    }


class ClipScorer:
    """A CLIPModel with its tokenizer and image processor: features, CLIPScore and R-precision in one call each."""

    def __init__(self, model, tokenizer, image_processor, info: ExtractorInfo) -> None:
        self.model, self.tokenizer, self.image_processor, self.info = model.eval(), tokenizer, image_processor, info
        # A fast tokenizer keeps padding and truncation as state, and one scorer serves concurrent requests: its two
        # calls per tokenize (count uncut, then pad and cut) are made as one step.
        self._tokenizing = threading.Lock()
        config = getattr(model.config, "text_config", model.config)
        self.max_length = min(int(tokenizer.model_max_length), int(config.max_position_embeddings))

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device) -> ClipScorer:
        self.model.to(device)
        return self

    def tokenize(self, prompts: Sequence[str]) -> tuple[dict[str, torch.Tensor], list[int]]:
        """Token ids padded to the longest prompt, cut to max_length keeping <|endoftext|>; indices that were cut."""
        if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
            raise ValueError("prompts must be a list of strings, one per image")
        with self._tokenizing:
            full = self.tokenizer(list(prompts), truncation=False, padding=False, verbose=False)["input_ids"]
            enc = self.tokenizer(
                list(prompts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            )
        truncated = [i for i, ids in enumerate(full) if len(ids) > self.max_length]
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}, truncated

    def _pixels(self, images) -> torch.Tensor:
        if isinstance(images, torch.Tensor):
            items = list(check_uint8_images(images).cpu())  # [(3, H, W) uint8]
        elif isinstance(images, (list, tuple)) and images and all(hasattr(im, "convert") for im in images):
            items = [im.convert("RGB") for im in images]  # PIL images
        else:
            raise ValueError(
                "CLIP takes a uint8 (B, 3, H, W) tensor in [0, 255] or a non-empty list of PIL images; "
                f"got {type(images).__name__}"
            )
        return self.image_processor(images=items, return_tensors="pt")["pixel_values"]  # (B, 3, S, S)

    @torch.no_grad()
    def image_features(self, images, batch_size: int = 32) -> torch.Tensor:
        """Unit-norm image embeddings, (B, dim) float32."""
        pixels = self._pixels(images)
        out = [
            _embedding(self.model.get_image_features(pixel_values=chunk.to(self.device)))
            for chunk in pixels.split(batch_size)
        ]
        feats = torch.cat(out).float().cpu()
        return feats / feats.norm(dim=1, keepdim=True)

    @torch.no_grad()
    def text_features(self, prompts: Sequence[str], batch_size: int = 64) -> tuple[torch.Tensor, list[int]]:
        """Unit-norm text embeddings, (N, dim) float32, and the indices of prompts cut to max_length.

        Each distinct prompt is encoded once, so repeated prompts get bit-identical rows (r_precision merges them).
        """
        if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
            raise ValueError("prompts must be a list of strings, one per image")
        unique = list(dict.fromkeys(prompts))
        feats, cut_unique = [], set()
        for start in range(0, len(unique), batch_size):
            enc, cut = self.tokenize(unique[start : start + batch_size])
            cut_unique.update(unique[start + i] for i in cut)
            enc = {k: v.to(self.device) for k, v in enc.items()}
            feats.append(_embedding(self.model.get_text_features(**enc)).float().cpu())
        out = torch.cat(feats)  # (U, dim)
        out = out / out.norm(dim=1, keepdim=True)
        row = {p: i for i, p in enumerate(unique)}
        return out[[row[p] for p in prompts]], [i for i, p in enumerate(prompts) if p in cut_unique]

    def score(self, images, prompts: Sequence[str], convention: str = "per_sample", batch_size: int = 32) -> dict:
        """CLIPScore of image i against prompt i: per_image (B,), mean, truncated, convention, features, info."""
        n_images = images.shape[0] if isinstance(images, torch.Tensor) else len(images)
        if isinstance(prompts, str) or len(prompts) != n_images:
            count = "1 string" if isinstance(prompts, str) else f"{len(prompts)} prompts"
            raise ValueError(f"CLIPScore needs one prompt per image; got {n_images} images and {count}")
        image_feats = self.image_features(images, batch_size)
        text_feats, truncated = self.text_features(prompts)
        result = clip_score(image_feats, text_feats, clamp=convention)
        result.update(
            truncated=truncated, image_features=image_feats, text_features=text_feats, info=self.info.as_dict()
        )
        return result

    def r_precision(
        self, images, prompts: Sequence[str], distractors: int = R_PRECISION_DISTRACTORS, seed: int = 0
    ) -> dict:
        """CLIP R-precision of image i against prompt i among the other prompts (see `r_precision`)."""
        scored = self.score(images, prompts)
        result = r_precision(scored["image_features"], scored["text_features"], distractors, seed)
        result.update(truncated=scored["truncated"], info=self.info.as_dict())
        return result


class ClipImageExtractor:
    """base.Extractor over a ClipScorer: uint8 (B, 3, H, W) -> {"features": unit-norm CLIP image embeddings}."""

    def __init__(self, scorer: ClipScorer) -> None:
        self.scorer = scorer
        self.info = scorer.info

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"features": self.scorer.image_features(check_uint8_images(images))}


def _image_processor(source: str, backend: str, **kwargs):
    # lazy: transformers takes seconds to import; only this model needs it
    from transformers import CLIPImageProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    if backend not in IMAGE_BACKENDS:
        raise ValueError(f"CLIP image backend {backend!r} — allowed: {', '.join(IMAGE_BACKENDS)}")
    cls = CLIPImageProcessorPil if backend == "pil" else CLIPImageProcessor
    return cls.from_pretrained(source, **kwargs)


def _resize_text(processor, backend: str) -> str:
    side = processor.size.get("shortest_edge", processor.size)
    crop = processor.crop_size
    how = "PIL bicubic" if backend == "pil" else "torchvision antialiased bicubic"
    return f"{how}, shortest side {side} + centre crop {crop['height']}x{crop['width']}, CLIP mean/std"


def tiny_clip(seed: int = 0) -> ClipScorer:
    """A tiny random-weight CLIP built offline (see tiny_clip.py); numbers test the plumbing only."""
    # lazy: imports torch (seconds); only this path needs it
    from .tiny_clip import PROJECTION_DIM, tiny_clip_image_processor, tiny_clip_model, tiny_clip_tokenizer

    tokenizer = tiny_clip_tokenizer()
    processor = tiny_clip_image_processor()
    info = ExtractorInfo(
        id=f"standin-clip-seed{seed}",
        name=f"tiny random CLIP stand-in (seed {seed})",
        dim=PROJECTION_DIM,
        resize=_resize_text(processor, "pil"),
        standin=True,
    )
    return ClipScorer(tiny_clip_model(tokenizer, seed), tokenizer, processor, info)


def load_clip(
    model_id_or_path: str = DEFAULT_CLIP,
    local_files_only: bool = False,
    standin: bool = False,
    image_backend: str = "pil",
    seed: int = 0,
) -> ClipScorer:
    """A ClipScorer for a Hub id or a local save_pretrained folder; `standin=True` gives `tiny_clip(seed)`."""
    if standin:
        return tiny_clip(seed)
    # lazy: transformers takes seconds to import; only this model needs it
    from transformers import CLIPModel, CLIPTokenizer

    kwargs = {"local_files_only": local_files_only}
    model = CLIPModel.from_pretrained(model_id_or_path, **kwargs)
    tokenizer = CLIPTokenizer.from_pretrained(model_id_or_path, **kwargs)
    processor = _image_processor(model_id_or_path, image_backend, **kwargs)
    slug = model_slug(model_id_or_path)
    info = ExtractorInfo(
        id=f"clip-{slug}",
        name=f"CLIP {model_id_or_path}",
        dim=int(model.config.projection_dim),
        resize=_resize_text(processor, image_backend),
        standin=False,
    )
    return ClipScorer(model, tokenizer, processor, info)


__all__ = [
    "CLAMPS",
    "DEFAULT_CLIP",
    "R_PRECISION_DISTRACTORS",
    "ClipImageExtractor",
    "ClipScorer",
    "clip_score",
    "load_clip",
    "r_precision",
    "tiny_clip",
]
