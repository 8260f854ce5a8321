"""VQAScore's stand-in: the default VLM's real config and processor files with tiny widths, a byte-level tokenizer.

The stand-in is the default repo (Qwen/Qwen2-VL-2B-Instruct) as committed in genart_demo/hubfacts, changed only where
size is concerned: the language model and the vision tower get tiny widths and two layers, while the vocabulary
size, every special token id (<|im_start|> 151644, <|image_pad|> 151655, ...), the M-RoPE layout, the patch and merge
sizes, the image processor and the chat template stay the real ones. The tokenizer knows the 256 byte tokens (ids
0-255, no merges) and the real special tokens at their real ids, so prompts are spelled byte by byte but the chat
template, the image placeholders and the "Yes" answer go through exactly the code paths of the real repo.

`repo_files()` returns the files of such a repo ({path: bytes}); the stand-in loads them from a temporary folder,
and the mirrored-cache test writes the same files into a Hugging Face cache under the real repo id.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from ..hubfacts import repo_facts
from ..tiny.tokenizers import bytes_to_unicode

REPO = "Qwen/Qwen2-VL-2B-Instruct"  # whose facts the stand-in is built from (vqascore.DEFAULT_MODEL names it too)
TEXT_WIDTH = 32  # hidden size of the tiny language model and the vision merger's output: 2 heads of 16
TEXT_HEADS = 2  # attention heads (and key/value heads) of the tiny language model
VISION_WIDTH = 32  # the vision tower's embed_dim: 2 heads of 16
LAYERS = 2  # decoder layers and vision blocks
MROPE_DIVISOR = 8  # mrope_section (16, 24, 24) -> (2, 3, 3): its sum is half the head width (128 -> 16)
COPIED_FILES = ("chat_template.json", "preprocessor_config.json", "tokenizer_config.json", "generation_config.json")


def shrink_qwen2_vl_config(config: dict) -> dict:
    """A copy of a Qwen2-VL config.json (flat text keys + vision_config) with tiny widths and depths; token ids,
    vocabulary size, rope settings (scaled), patch and merge sizes unchanged."""
    tiny = copy.deepcopy(config)
    tiny.update(
        hidden_size=TEXT_WIDTH,
        intermediate_size=2 * TEXT_WIDTH,
        num_attention_heads=TEXT_HEADS,
        num_key_value_heads=TEXT_HEADS,
        num_hidden_layers=LAYERS,
        max_window_layers=LAYERS,
    )
    if "rope_scaling" in tiny:
        section = [s // MROPE_DIVISOR for s in tiny["rope_scaling"]["mrope_section"]]
        tiny["rope_scaling"] = {**tiny["rope_scaling"], "mrope_section": section}
    vision = tiny["vision_config"]
    vision.update(depth=LAYERS, embed_dim=VISION_WIDTH, num_heads=TEXT_HEADS, hidden_size=TEXT_WIDTH)
    return tiny


def _special_tokens(tokenizer_config: dict) -> dict[int, str]:
    """{id: token} of the real tokenizer's added special tokens, from its tokenizer_config.json."""
    return {int(i): t["content"] for i, t in tokenizer_config["added_tokens_decoder"].items()}


def tokenizer_files(tokenizer_config: dict) -> dict[str, bytes]:
    """tokenizer.json, vocab.json and merges.txt of a byte-level BPE with no merges (ids 0-255) whose special tokens
    sit at the real ids."""
    specials = _special_tokens(tokenizer_config)
    # The special tokens are in the model's vocabulary too: tokenizers gives an added token the id the model has for
    # it, and would otherwise number them from 256.
    vocab = {char: byte for byte, char in bytes_to_unicode().items()} | {t: i for i, t in specials.items()}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    data = json.loads(tokenizer.to_str())
    data["added_tokens"] = [
        {
            "id": i,
            "content": t,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, t in sorted(specials.items())
    ]
    merges_txt = "#version: 0.2\n"
    return {
        "tokenizer.json": json.dumps(data, ensure_ascii=False).encode(),
        "vocab.json": json.dumps(vocab, ensure_ascii=False).encode(),
        "merges.txt": merges_txt.encode(),
    }


def repo_files(repo: str = REPO) -> dict[str, bytes]:
    """Every small file of the tiny repo: the committed processor, tokenizer and template files byte for byte, the
    shrunk config.json and the tiny tokenizer's vocabulary files (no weights)."""
    facts = repo_facts(repo)
    files = {name: (facts.folder / name).read_bytes() for name in COPIED_FILES if facts.has(name)}
    files["config.json"] = json.dumps(shrink_qwen2_vl_config(facts.json("config.json")), indent=2).encode()
    files.update(tokenizer_files(facts.json("tokenizer_config.json")))
    return files


def tiny_model(files: dict[str, bytes], seed: int = 0):
    """The tiny Qwen2-VL model of `files`' config.json with seeded random weights, in eval mode."""
    import torch  # lazy: torch
    from transformers import AutoConfig, AutoModelForImageTextToText  # lazy: transformers

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_bytes(files["config.json"])
        config = AutoConfig.from_pretrained(tmp)
    torch.manual_seed(seed)
    return AutoModelForImageTextToText.from_config(config).eval()


def safetensors_bytes(model) -> bytes:
    """The model's state dict as one safetensors file (tied weights saved once, as save_pretrained does)."""
    from safetensors.torch import save  # lazy: safetensors

    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if getattr(model.config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)
    return save(state)


def load_standin(seed: int = 0):
    """(model, processor) of the stand-in repo, built offline."""
    from transformers import AutoProcessor  # lazy: transformers

    files = repo_files()
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        processor = AutoProcessor.from_pretrained(tmp)
    return tiny_model(files, seed), processor


__all__ = ["REPO", "load_standin", "repo_files", "safetensors_bytes", "shrink_qwen2_vl_config", "tiny_model"]
