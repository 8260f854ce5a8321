"""The LAION aesthetic predictor v2 (Schuhmann, "improved-aesthetic-predictor") as a per-image scorer.

Score = MLP(CLIP ViT-L/14 image embedding / its L2 norm), the prompt unused (SCORERS: uses_prompt False):

- **Weights**: `sac+logos+ava1-l14-linearMSE.pth`, the predictor LAION-Aesthetics v2 used (trained on SAC, LAION-Logos
  and AVA ratings, MSE loss, linear head): a state dict of the reward_head MLP (metrics/reward_nets.py) with keys
  layers.0/.2/.4/.6/.7. The authors publish it in their GitHub repo, not on the Hub; DEFAULT_MODEL is a Hub copy of
  that repo (camenduru/improved-aesthetic-predictor, file list in genart_demo/hubfacts/). Scores run roughly 1-10,
  like the AVA ratings it was trained on; LAION-Aesthetics kept images above 5, 6 or 6.5.
- **Features**: the projected image embedding (768-d) of openai/clip-vit-large-patch14, the transformers port of
  OpenAI's "ViT-L/14" that simple_inference.py loads with `clip.load`; divided by its L2 norm (`normalized` there,
  `F.normalize` in image-reward 1.5's models/AestheticScore.py), then the head in float32 (both cast to float).
- **Images**: CLIP's preprocessing as `clip.load` gives it: PIL bicubic resize of the shortest side to 224, centre
  crop 224, CLIP mean/std (`CLIPImageProcessorPil`; see metrics/clip.py on the torchvision backend).
- **dtype**: `dtype="float16"` runs the CLIP tower in half precision (AestheticScore converts CLIP to fp16 on a GPU);
  the head stays float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .ids import model_slug
from .reward_nets import reward_head
from .scorers import ScorerInfo, check_pairs
from .tiny_clip import HIDDEN, IMAGE_SIZE, PATCH_SIZE, PROJECTION_DIM, tiny_clip_image_processor
from .weights import read_state_dict, torch_dtype

METRIC = "aesthetic"
DEFAULT_MODEL = "camenduru/improved-aesthetic-predictor"
WEIGHTS_FILE = "sac+logos+ava1-l14-linearMSE.pth"
DEFAULT_CLIP = "openai/clip-vit-large-patch14"
SCALE = "LAION aesthetic score, about 1-10 like AVA ratings (LAION-Aesthetics v2 kept images above 5, 6 or 6.5)"


class AestheticScorer:
    """A CLIP vision tower with projection, its image processor and the MLP head: N images -> N scores (float64)."""

    def __init__(self, clip, image_processor, head: torch.nn.Module, info: ScorerInfo) -> None:
        self.clip, self.image_processor, self.head, self.info = clip.eval(), image_processor, head.eval(), info

    def to(self, device) -> AestheticScorer:
        self.clip.to(device)
        self.head.to(device)
        return self

    @torch.no_grad()
    def embeddings(self, images: Sequence) -> torch.Tensor:
        """CLIP's projected image embeddings before normalisation, (B, D) float32 on the CPU."""
        param = next(self.clip.parameters())
        pixels = self.image_processor(images=[im.convert("RGB") for im in images], return_tensors="pt")
        pixels = pixels["pixel_values"].to(param.device, param.dtype)  # (B, 3, 224, 224)
        return self.clip(pixel_values=pixels).image_embeds.float().cpu()

    @torch.no_grad()
    def head_scores(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The head on L2-normalised embeddings, (B,) float64: the predictor's formula on given CLIP features."""
        param = next(self.head.parameters())
        unit = torch.nn.functional.normalize(embeddings.float(), dim=1).to(param.device, param.dtype)
        return self.head(unit).squeeze(1).double().cpu()

    def score(self, images: Sequence, prompts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """Aesthetic score of each image, (N,) float64; the prompts are checked for pairing and otherwise unused."""
        check_pairs(images, prompts, "LAION aesthetic")
        if batch_size < 1:
            raise ValueError(f"LAION aesthetic batch_size must be at least 1; got {batch_size}")
        out = [self.head_scores(self.embeddings(images[i : i + batch_size])) for i in range(0, len(images), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros(0)


def _preprocessing(processor, clip_id: str) -> str:
    side = processor.size.get("shortest_edge")
    crop = processor.crop_size
    return (
        f"PIL bicubic shortest side {side} + centre crop {crop['height']}x{crop['width']}, CLIP mean/std; "
        f"{clip_id} projected image embedding, L2-normalised; prompt unused"
    )


def _info(model_id: str, clip_id: str, processor, dtype: str, standin: bool, seed: int) -> ScorerInfo:
    suffix = "" if dtype == "float32" else f"-{dtype}"
    slug = model_slug(f"{model_id} {clip_id}")
    return ScorerInfo(
        id=f"standin-{METRIC}-seed{seed}{suffix}" if standin else f"{METRIC}-{slug}{suffix}",
        name=f"LAION aesthetic tiny random stand-in (seed {seed})"
        if standin
        else f"LAION aesthetic v2 ({model_id}/{WEIGHTS_FILE} on {clip_id})",
        metric=METRIC,
        preprocessing=_preprocessing(processor, clip_id),
        scale=SCALE,
        standin=standin,
    )


def _standin(seed: int, dtype: str) -> AestheticScorer:
    """Tiny random CLIPVisionModelWithProjection (tiny_clip's sizes) and head: the real classes, shrunk."""
    # lazy: transformers takes seconds to import; only the stand-in needs it
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        projection_dim=PROJECTION_DIM,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clip = CLIPVisionModelWithProjection(config)
        head = reward_head(PROJECTION_DIM)
    processor = tiny_clip_image_processor()
    info = _info("", "tiny CLIP", processor, dtype, True, seed)
    return AestheticScorer(clip.to(torch_dtype(dtype, "LAION aesthetic")), processor, head, info)


def load(
    model_id: str | None = None,
    *,
    standin: bool = False,
    local_files_only: bool = False,
    seed: int = 0,
    clip_id: str = DEFAULT_CLIP,
    dtype: str = "float32",
) -> AestheticScorer:
    """The predictor: WEIGHTS_FILE of `model_id` (default DEFAULT_MODEL) on `clip_id`'s vision tower and processor.

    `standin=True` builds tiny random weights of the same classes offline (numbers test the plumbing only).
    """
    torch_dtype(dtype, "LAION aesthetic")
    if standin:
        return _standin(seed, dtype)
    # lazy: only loading real weights reaches the Hub cache and transformers
    from huggingface_hub import hf_hub_download
    from transformers import CLIPVisionModelWithProjection
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    model_id = model_id or DEFAULT_MODEL
    kwargs = {"local_files_only": local_files_only}
    state = read_state_dict(hf_hub_download(model_id, WEIGHTS_FILE, **kwargs))
    clip = CLIPVisionModelWithProjection.from_pretrained(clip_id, dtype=torch_dtype(dtype, "LAION aesthetic"), **kwargs)
    processor = CLIPImageProcessorPil.from_pretrained(clip_id, **kwargs)
    head = reward_head(int(clip.config.projection_dim))
    head.load_state_dict({k.removeprefix("layers."): v for k, v in state.items()})  # strict, as the authors load it
    return AestheticScorer(clip, processor, head, _info(model_id, clip_id, processor, dtype, False, seed))


__all__ = ["DEFAULT_CLIP", "DEFAULT_MODEL", "WEIGHTS_FILE", "AestheticScorer", "load"]
