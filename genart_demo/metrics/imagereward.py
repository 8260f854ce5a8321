"""ImageReward (Xu et al. 2023) as a per-image scorer, on transformers' BLIP classes with the authors' weights.

What the authors' package computes (image-reward 1.5, ImageReward/ImageReward.py `ImageReward.score`, read in this
repo's .venv; github THUDM/ImageReward), and what this module does the same way:

- **Network**: BLIP's ViT-L/16 image encoder (models/BLIP/blip.py `create_vit('large')`: 1024 wide, 24 blocks,
  16 heads of 64, LayerNorm eps 1e-6, exact GELU) feeds a BERT text encoder that cross-attends to every image token
  in every layer (BLIP's "med" encoder, sized by the repo's med_config.json, its encoder width set to the ViT's).
  Here they are transformers' BlipVisionModel and BlipTextModel (built as a decoder so each layer has its
  cross-attention, run bidirectionally as BLIP's encoder is); the checkpoint's keys are renamed by KEY_RULES.
- **Reward**: the text encoder's output at position 0 through the reward_head MLP (metrics/reward_nets.py), then
  normalised: (r - 0.16717362830052426) / 1.0333394966054072, the constants in `ImageReward.__init__`. The head
  runs in float32 on float32 features, as `score` casts them (`.float()`), whatever dtype the encoders use.
- **Prompt**: the bert-base-uncased tokenizer with BLIP's two added specials ([DEC] as bos, [ENC]; blip.py
  `init_tokenizer`), padding="max_length", truncation at 35 tokens. The first token stays [CLS]: `score` does not
  swap in [ENC] (BLIP's own ITM head does; ImageReward's scoring path never reads `enc_token_id`).
- **Image**: torchvision Resize(224, bicubic) of the shortest side on the PIL image, CenterCrop(224), then RGB,
  ToTensor and CLIP's mean/std (`_transform(224)`), in that order.

Hub: THUDM/ImageReward holds ImageReward.pt (1.79 GB, the whole model's state dict) and med_config.json; see
genart_demo/hubfacts/THUDM--ImageReward@main. The tokenizer comes from google-bert/bert-base-uncased (the authors'
'bert-base-uncased' redirects there).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from .ids import model_slug
from .reward_nets import reward_head
from .scorers import ScorerInfo, check_pairs
from .tiny_clip import WORDS
from .weights import read_state_dict, torch_dtype

METRIC = "imagereward"
DEFAULT_MODEL = "THUDM/ImageReward"
DEFAULT_TOKENIZER = "google-bert/bert-base-uncased"
WEIGHTS_FILE = "ImageReward.pt"
CONFIG_FILE = "med_config.json"
MAX_TOKENS = 35  # prompt tokens, [CLS] and [SEP] included
REWARD_MEAN = 0.16717362830052426
REWARD_STD = 1.0333394966054072
VISION_HEAD_DIM = 64  # BLIP ViT-B (768/12) and ViT-L (1024/16): the head count is width / 64
VISION_LAYER_NORM_EPS = 1e-6  # BLIP's VisionTransformer: partial(nn.LayerNorm, eps=1e-6)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SCALE = "ImageReward, normalised (r - 0.16717) / 1.03334: about -2 (poor) to +2 (good), 0 = mean of its training set"
# checkpoint prefix -> our prefix; '#' is a block index. Keys the scorer never reads are dropped (UNUSED_PREFIXES).
KEY_RULES = (
    ("blip.visual_encoder.cls_token", "vision.embeddings.class_embedding"),
    ("blip.visual_encoder.pos_embed", "vision.embeddings.position_embedding"),
    ("blip.visual_encoder.patch_embed.proj.", "vision.embeddings.patch_embedding."),
    ("blip.visual_encoder.blocks.#.norm1.", "vision.encoder.layers.#.layer_norm1."),
    ("blip.visual_encoder.blocks.#.attn.qkv.", "vision.encoder.layers.#.self_attn.qkv."),
    ("blip.visual_encoder.blocks.#.attn.proj.", "vision.encoder.layers.#.self_attn.projection."),
    ("blip.visual_encoder.blocks.#.norm2.", "vision.encoder.layers.#.layer_norm2."),
    ("blip.visual_encoder.blocks.#.mlp.", "vision.encoder.layers.#.mlp."),
    ("blip.visual_encoder.norm.", "vision.post_layernorm."),
    ("blip.text_encoder.", "text."),
    ("mlp.layers.", "head."),
)
UNUSED_PREFIXES = ("blip.vision_proj.", "blip.text_proj.", "blip.text_encoder.embeddings.position_ids")
# the stand-in's sizes: same classes and layout, tiny widths (the text width is free; the vision heads are 64 wide)
TINY_VISION = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 1}
TINY_MED = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "max_position_embeddings": 40,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
}


def _rule_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.escape(template).replace("\\#", r"(\d+)"))


def _renamed(key: str, rules: Sequence[tuple[str, str]]) -> str:
    for source, target in rules:
        match = _rule_regex(source).match(key)
        if match:
            head = target.replace("#", match.group(1)) if match.groups() else target
            return head + key[match.end() :]
    raise ValueError(f"unexpected key {key!r}: not an ImageReward checkpoint key (see imagereward.KEY_RULES)")


def checkpoint_to_ours(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' ImageReward state dict renamed to ImageRewardNet's keys (unused projections dropped)."""
    return {_renamed(k, KEY_RULES): v for k, v in state.items() if not k.startswith(UNUSED_PREFIXES)}


def ours_to_checkpoint(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ImageRewardNet's state dict in the authors' key layout (what ImageReward.pt holds, less the unused keys)."""
    return {_renamed(k, [(t, s) for s, t in KEY_RULES]): v for k, v in state.items()}


class ImageRewardNet(nn.Module):
    """BLIP image encoder -> cross-attending BERT -> reward head: (B, 3, S, S) pixels + (B, 35) ids -> (B,) raw r."""

    def __init__(self, vision_config, text_config) -> None:
        super().__init__()
        # lazy: transformers takes seconds to import; only this scorer needs BLIP
        from transformers import BlipTextModel, BlipVisionModel

        self.vision = BlipVisionModel(vision_config)
        self.text = BlipTextModel(text_config, add_pooling_layer=False)
        self.head = reward_head(text_config.hidden_size)

    def forward(self, pixels: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        image_tokens = self.vision(pixel_values=pixels).last_hidden_state  # (B, 1 + patches, vision width)
        text = self.text(
            input_ids=input_ids,
            attention_mask=attention_mask,
            encoder_hidden_states=image_tokens,  # every image token attended: the authors' mask is all ones
            is_decoder=False,
        ).last_hidden_state  # (B, 35, text width)
        return self.head(text[:, 0].float()).squeeze(1)  # (B,) float32


def vision_config_from_state(state: Mapping[str, torch.Tensor]):
    """BlipVisionConfig of the ViT whose weights `state` (our keys) holds: widths, depth, patch and image size."""
    from transformers import BlipVisionConfig  # lazy: transformers takes seconds to import

    width = int(state["vision.embeddings.class_embedding"].shape[-1])
    patch = int(state["vision.embeddings.patch_embedding.weight"].shape[-1])
    grid = math.isqrt(int(state["vision.embeddings.position_embedding"].shape[1]) - 1)
    depth = len({k.split(".")[3] for k in state if k.startswith("vision.encoder.layers.")})
    return BlipVisionConfig(
        hidden_size=width,
        intermediate_size=int(state["vision.encoder.layers.0.mlp.fc1.weight"].shape[0]),
        num_hidden_layers=depth,
        num_attention_heads=max(1, width // VISION_HEAD_DIM),
        image_size=grid * patch,
        patch_size=patch,
        layer_norm_eps=VISION_LAYER_NORM_EPS,
        hidden_act="gelu",
    )


def text_config_from_med(med: Mapping, vocab_size: int, encoder_width: int):
    """BlipTextConfig from a BLIP med_config.json (a BertConfig) with the ViT's width as the cross-attention input."""
    from transformers import BlipTextConfig  # lazy: transformers takes seconds to import

    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "max_position_embeddings")
    return BlipTextConfig(
        **{k: int(med[k]) for k in keys},
        vocab_size=vocab_size,
        encoder_hidden_size=encoder_width,  # blip_pretrain.py: encoder_config.encoder_width = vision_width
        hidden_act=med.get("hidden_act", "gelu"),
        layer_norm_eps=float(med.get("layer_norm_eps", 1e-12)),
        pad_token_id=int(med.get("pad_token_id", 0)),
        bos_token_id=None,  # generation ids (BLIP's [DEC], [SEP]): a scorer never generates, and a small vocabulary
        eos_token_id=None,  # lacks the defaults 30522 / 102
        sep_token_id=None,
        is_decoder=True,  # builds each layer's cross-attention; forward runs it bidirectionally
    )


def with_blip_specials(tokenizer):
    """The tokenizer with BLIP's [DEC] (as bos) and [ENC] tokens added after its vocabulary, as init_tokenizer does."""
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    return tokenizer


class ImageRewardScorer:
    """An ImageRewardNet with its tokenizer: N images and N prompts -> N normalised ImageRewards (float64)."""

    def __init__(self, net: ImageRewardNet, tokenizer, info: ScorerInfo) -> None:
        self.net, self.tokenizer, self.info = net.eval(), tokenizer, info
        self.image_size = int(net.vision.config.image_size)
        self._tokenizing = threading.Lock()  # a fast tokenizer keeps padding/truncation as state

    def to(self, device) -> ImageRewardScorer:
        self.net.to(device)
        return self

    def pixels(self, images: Sequence) -> torch.Tensor:
        """(B, 3, S, S) float32: bicubic shortest side S, centre crop S, RGB, CLIP mean/std (the authors' order)."""
        out = []
        for image in images:
            image = F.resize(image, self.image_size, interpolation=InterpolationMode.BICUBIC)
            image = F.center_crop(image, self.image_size).convert("RGB")
            out.append(F.normalize(F.to_tensor(image), CLIP_MEAN, CLIP_STD))
        return torch.stack(out)

    def tokens(self, prompts: Sequence[str]) -> dict[str, torch.Tensor]:
        """input_ids and attention_mask, (B, 35) each: padded to and cut at MAX_TOKENS."""
        with self._tokenizing:
            enc = self.tokenizer(
                list(prompts), padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            )
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    @torch.no_grad()
    def raw_rewards(self, images: Sequence, prompts: Sequence[str]) -> torch.Tensor:
        """The head's output before normalisation, (B,) float32 on the CPU."""
        param = next(self.net.vision.parameters())
        tokens = {k: v.to(param.device) for k, v in self.tokens(prompts).items()}
        return self.net(self.pixels(images).to(param.device, param.dtype), **tokens).cpu()

    def score(self, images: Sequence, prompts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """Normalised ImageReward of image i for prompt i, (N,) float64."""
        check_pairs(images, prompts, "ImageReward")
        if batch_size < 1:
            raise ValueError(f"ImageReward batch_size must be at least 1; got {batch_size}")
        raw = [
            self.raw_rewards(images[i : i + batch_size], prompts[i : i + batch_size]).double()
            for i in range(0, len(images), batch_size)
        ]
        return ((torch.cat(raw) - REWARD_MEAN) / REWARD_STD).numpy() if raw else np.zeros(0)


def _info(model_id: str, dtype: str, standin: bool, seed: int, tokenizer_id: str, size: int) -> ScorerInfo:
    suffix = "" if dtype == "float32" else f"-{dtype}"
    slug = model_slug(model_id)
    return ScorerInfo(
        id=f"standin-{METRIC}-seed{seed}{suffix}" if standin else f"{METRIC}-{slug}{suffix}",
        name=f"ImageReward tiny random stand-in (seed {seed})" if standin else f"ImageReward ({model_id})",
        metric=METRIC,
        preprocessing=f"torchvision bicubic shortest side {size} + centre crop {size}x{size}, CLIP mean/std; "
        f"{tokenizer_id} WordPiece + [DEC]/[ENC], padded and cut to {MAX_TOKENS} tokens",
        scale=SCALE,
        standin=standin,
    )


def tiny_tokenizer():
    """A BertTokenizer over BERT's five specials and the stand-in words of tiny_clip, plus BLIP's two specials."""
    from transformers import BertTokenizer  # lazy: transformers takes seconds to import

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return with_blip_specials(BertTokenizer(vocab={w: i for i, w in enumerate([*specials, *WORDS])}))


def _standin(seed: int, dtype: str) -> ImageRewardScorer:
    from transformers import BlipVisionConfig  # lazy: transformers takes seconds to import

    tokenizer = tiny_tokenizer()
    vision = BlipVisionConfig(**TINY_VISION, image_size=224, patch_size=16, layer_norm_eps=VISION_LAYER_NORM_EPS)
    text = text_config_from_med(TINY_MED, len(tokenizer), vision.hidden_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ImageRewardNet(vision, text)
    net.to(torch_dtype(dtype, "ImageReward")).head.float()
    return ImageRewardScorer(net, tokenizer, _info("", dtype, True, seed, "tiny BERT vocabulary", 224))


def load(
    model_id: str | None = None,
    *,
    standin: bool = False,
    local_files_only: bool = False,
    seed: int = 0,
    tokenizer_id: str = DEFAULT_TOKENIZER,
    dtype: str = "float32",
) -> ImageRewardScorer:
    """ImageReward from `model_id`'s ImageReward.pt and med_config.json (default DEFAULT_MODEL), `tokenizer_id`'s
    WordPiece vocabulary. `standin=True` builds tiny random weights of the same classes offline (numbers test the
    plumbing only). `dtype` is the encoders' dtype ("float16" on a GPU); the head stays float32."""
    torch_dtype(dtype, "ImageReward")
    if standin:
        return _standin(seed, dtype)
    # lazy: only loading real weights reaches the Hub cache and transformers
    from huggingface_hub import hf_hub_download
    from transformers import BertTokenizer

    model_id = model_id or DEFAULT_MODEL
    med_path = hf_hub_download(model_id, CONFIG_FILE, local_files_only=local_files_only)
    weights_path = hf_hub_download(model_id, WEIGHTS_FILE, local_files_only=local_files_only)
    tokenizer = with_blip_specials(BertTokenizer.from_pretrained(tokenizer_id, local_files_only=local_files_only))
    return scorer_from_files(weights_path, med_path, tokenizer, dtype=dtype, name=model_id, tokenizer_id=tokenizer_id)


def scorer_from_files(
    weights_path, med_path, tokenizer, *, dtype: str = "float32", name: str = "local", tokenizer_id: str = "local"
) -> ImageRewardScorer:
    """An ImageRewardScorer from an ImageReward.pt-layout state dict, a med_config.json and a BLIP tokenizer."""
    with open(med_path, encoding="utf-8") as f:
        med = json.load(f)
    state = checkpoint_to_ours(read_state_dict(weights_path))
    vision = vision_config_from_state(state)
    net = ImageRewardNet(vision, text_config_from_med(med, int(med["vocab_size"]), vision.hidden_size))
    net.load_state_dict(state)  # strict: a missing or extra tensor is an error, not a silent random weight
    net.to(torch_dtype(dtype, "ImageReward")).head.float()
    return ImageRewardScorer(net, tokenizer, _info(name, dtype, False, 0, tokenizer_id, vision.image_size))


__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TOKENIZER",
    "KEY_RULES",
    "ImageRewardNet",
    "ImageRewardScorer",
    "checkpoint_to_ours",
    "load",
    "ours_to_checkpoint",
    "scorer_from_files",
]
