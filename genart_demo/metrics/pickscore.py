"""PickScore (Kirstain et al. 2023, "Pick-a-Pic"): a CLIP-H fine-tuned on human picks, as a per-image scorer.

Score of image i for prompt i = logit_scale.exp() · cos(image embedding, text embedding), the number the model card's
`calc_probs` computes before its softmax (https://huggingface.co/yuvalkirstain/PickScore_v1, README.md: model
`yuvalkirstain/PickScore_v1` loaded as a transformers CLIP model, processor from
`laion/CLIP-ViT-H-14-laion2B-s32B-b79K`). Real images score about 18-24; only differences between images of the same
prompt mean much. There is no PyPI package by the authors (their code is the GitHub repo yuvalkirstain/PickScore).

- **Images**: the laion repo's CLIP image processor as transformers 4's CLIPProcessor ran it when the card was
  written: PIL bicubic resize of the shortest side to 224, centre crop 224x224, CLIP mean/std (`CLIPImageProcessorPil`;
  transformers 5's default torchvision backend differs by rounding, see metrics/clip.py).
- **Prompts**: the laion repo's CLIP tokenizer, padded and cut to 77 tokens keeping <|endoftext|>, where CLIP pools
  the text (metrics/clip.py's ClipScorer.tokenize, the one home of that rule). The card's
  `processor(text=..., truncation=True, max_length=77)` keeps it too, so long prompts score alike.
- **dtype**: `dtype="float16"` loads the weights in half precision (what a GPU would use); pixels are cast to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .base import ExtractorInfo
from .clip import ClipScorer, _embedding
from .ids import model_slug
from .scorers import ScorerInfo, check_pairs
from .weights import torch_dtype

METRIC = "pickscore"
DEFAULT_MODEL = "yuvalkirstain/PickScore_v1"
PROCESSOR_REPO = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"  # the card's processor_name_or_path
SCALE = "logit_scale.exp()·cos(image, text) (PickScore; about 18-24 for real images)"


class PickScorer:
    """A CLIP model, its tokenizer and image processor: N images and N prompts -> N PickScores (float64)."""

    def __init__(self, clip: ClipScorer, info: ScorerInfo) -> None:
        self.clip, self.info = clip, info

    @property
    def model(self):
        return self.clip.model

    def to(self, device) -> PickScorer:
        self.clip.to(device)
        return self

    @torch.no_grad()
    def _features(self, images: Sequence, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit image and text embeddings in float64, (B, D) each."""
        model = self.clip.model
        param = next(model.parameters())
        pixels = self.clip.image_processor(images=[im.convert("RGB") for im in images], return_tensors="pt")
        pixels = pixels["pixel_values"].to(param.device, param.dtype)  # (B, 3, 224, 224)
        enc, _ = self.clip.tokenize(list(prompts))
        enc = {k: v.to(param.device) for k, v in enc.items()}
        img = _embedding(model.get_image_features(pixel_values=pixels)).double()
        txt = _embedding(model.get_text_features(**enc)).double()
        return img / img.norm(dim=1, keepdim=True), txt / txt.norm(dim=1, keepdim=True)

    def score(self, images: Sequence, prompts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """PickScore of image i for prompt i, (N,) float64."""
        check_pairs(images, prompts, "PickScore")
        if batch_size < 1:
            raise ValueError(f"PickScore batch_size must be at least 1; got {batch_size}")
        scale = self.clip.model.logit_scale.detach().double().exp().cpu()
        out = []
        for start in range(0, len(images), batch_size):
            img, txt = self._features(images[start : start + batch_size], prompts[start : start + batch_size])
            out.append((scale * (img * txt).sum(1).cpu()).numpy())
        return np.concatenate(out) if out else np.zeros(0)


def _standin(seed: int, dtype: torch.dtype) -> PickScorer:
    """The same classes as the real scorer (CLIPModel, CLIPTokenizer, CLIPImageProcessorPil), tiny and random."""
    # lazy: transformers takes seconds to import; only the stand-in needs it
    from .tiny_clip import PROJECTION_DIM, tiny_clip_image_processor, tiny_clip_model, tiny_clip_tokenizer

    tokenizer, processor = tiny_clip_tokenizer(), tiny_clip_image_processor()
    model = tiny_clip_model(tokenizer, seed).to(dtype)
    extractor = ExtractorInfo(f"standin-clip-seed{seed}", "tiny CLIP", PROJECTION_DIM, _preprocessing(processor), True)
    info = ScorerInfo(
        id=f"standin-{METRIC}-seed{seed}",
        name=f"PickScore tiny random stand-in (seed {seed})",
        metric=METRIC,
        preprocessing=_preprocessing(processor),
        scale=SCALE,
        standin=True,
    )
    return PickScorer(ClipScorer(model, tokenizer, processor, extractor), info)


def _preprocessing(processor) -> str:
    side = processor.size.get("shortest_edge")
    crop = processor.crop_size
    return (
        f"PIL bicubic shortest side {side} + centre crop {crop['height']}x{crop['width']}, CLIP mean/std; "
        "CLIP tokenizer, 77 tokens keeping <|endoftext|>"
    )


def load(
    model_id: str | None = None,
    *,
    standin: bool = False,
    local_files_only: bool = False,
    seed: int = 0,
    processor_id: str = PROCESSOR_REPO,
    dtype: str = "float32",
) -> PickScorer:
    """PickScore from `model_id` (default DEFAULT_MODEL) with `processor_id`'s tokenizer and image processor.

    `standin=True` builds tiny random weights of the same classes offline (numbers test the plumbing only).
    """
    dtype_ = torch_dtype(dtype, "PickScore")
    if standin:
        return _standin(seed, dtype_)
    # lazy: transformers takes seconds to import; only this scorer needs it
    from transformers import CLIPModel, CLIPTokenizer
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    model_id = model_id or DEFAULT_MODEL
    kwargs = {"local_files_only": local_files_only}
    model = CLIPModel.from_pretrained(model_id, dtype=dtype_, **kwargs).eval()
    tokenizer = CLIPTokenizer.from_pretrained(processor_id, **kwargs)
    processor = CLIPImageProcessorPil.from_pretrained(processor_id, **kwargs)
    slug = model_slug(model_id)
    extractor = ExtractorInfo(
        f"clip-{slug}", model_id, int(model.config.projection_dim), _preprocessing(processor), False
    )
    info = ScorerInfo(
        id=f"{METRIC}-{slug}" + ("" if dtype == "float32" else f"-{dtype}"),
        name=f"PickScore ({model_id})",
        metric=METRIC,
        preprocessing=_preprocessing(processor) + f" (processor {processor_id})",
        scale=SCALE,
        standin=False,
    )
    return PickScorer(ClipScorer(model, tokenizer, processor, extractor), info)


__all__ = ["DEFAULT_MODEL", "PROCESSOR_REPO", "PickScorer", "load"]
