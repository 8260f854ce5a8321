"""A tiny random-weight CLIP (tokenizer, model, image processor) built in code, for offline tests and stand-ins.

The tokenizer is a real byte-level CLIP BPE tokenizer (lowercasing, '</w>' word ends, <|startoftext|> and
<|endoftext|> wrapping, 77-token context) over a small vocabulary: the 256 byte characters, their word-final
forms, a handful of merged words and the two specials (last, as in the real vocabulary). The model has 2-layer
32-wide text and vision towers, 32x32 images in 8x8 patches and 16-d embeddings; its numbers mean nothing.
"""

from __future__ import annotations

from functools import lru_cache

import torch

CONTEXT_LENGTH = 77  # CLIP's text context, special tokens included
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
WORDS = (
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "with",
    "and",
    "photo",
    "painting",
    "cat",
    "dog",
    "red",
    "blue",
    "green",
    "car",
    "tree",
    "house",
    "sky",
    "sea",
    "astronaut",
    "riding",
    "horse",
)
IMAGE_SIZE = 32  # tiny vision tower input side
PATCH_SIZE = 8
HIDDEN = 32
PROJECTION_DIM = 16


@lru_cache(maxsize=1)
def _byte_chars() -> tuple[str, ...]:
    """GPT-2/CLIP's reversible byte -> printable character table, in byte order (256 characters)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = dict(zip(printable, printable)), 0
    for b in range(256):
        if b not in table:
            table[b] = 256 + extra
            extra += 1
    return tuple(chr(table[b]) for b in range(256))


def tiny_vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte characters, their '</w>' forms, merged words, then <|startoftext|> and <|endoftext|> (the top ids)."""
    chars = list(_byte_chars())
    tokens = chars + [c + "</w>" for c in chars]
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        current = word[0]
        for i, ch in enumerate(word[1:], start=1):  # "c a t</w>" -> "ca t</w>" -> "cat</w>"
            right = ch + "</w>" if i == len(word) - 1 else ch
            merges.append((current, right))
            current += right
            tokens.append(current)
    tokens = list(dict.fromkeys(tokens)) + [BOS, EOS]
    return {tok: i for i, tok in enumerate(tokens)}, list(dict.fromkeys(merges))


def tiny_clip_tokenizer():
    """A CLIPTokenizer over the tiny vocabulary, padding with <|endoftext|> like openai/clip-vit-*."""
    from transformers import CLIPTokenizer  # lazy: transformers takes seconds to import; only this model needs it

    vocab, merges = tiny_vocab_and_merges()
    return CLIPTokenizer(vocab=vocab, merges=merges, pad_token=EOS, model_max_length=CONTEXT_LENGTH)


def tiny_clip_image_processor():
    """CLIP's PIL image processor at the tiny size: bicubic shortest side 32, centre crop 32, CLIP mean/std."""
    # lazy: transformers takes seconds to import; only this model needs it
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    crop = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    return CLIPImageProcessorPil(size={"shortest_edge": IMAGE_SIZE}, crop_size=crop)


def tiny_clip_model(tokenizer, seed: int = 0):
    """A CLIPModel with tiny random towers, seeded without disturbing the global RNG; eval mode."""
    # lazy: transformers takes seconds to import; only this model needs it
    from transformers import CLIPConfig, CLIPModel

    tower = {"hidden_size": HIDDEN, "intermediate_size": 2 * HIDDEN, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(
        text_config={
            **tower,
            "vocab_size": len(tokenizer),
            "max_position_embeddings": CONTEXT_LENGTH,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },  # a real eos id: pooled at the first <|endoftext|>
        vision_config={**tower, "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE},
        projection_dim=PROJECTION_DIM,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(config)
    return model.eval()


__all__ = [
    "CONTEXT_LENGTH",
    "tiny_clip_image_processor",
    "tiny_clip_model",
    "tiny_clip_tokenizer",
    "tiny_vocab_and_merges",
]
