"""Prompt-length warnings: which of a pipeline's text encoders will cut a prompt short, counted under its lock."""

from __future__ import annotations

import inspect
from typing import Any

TOKENIZER_ATTRS = ("tokenizer", "tokenizer_2", "tokenizer_3")  # a pipeline's text tokenizers, one per text encoder


def encoder_limits(pipe: Any, max_sequence_length: int = 0) -> list[tuple[str, Any, int]]:
    """(tokenizer attribute, tokenizer, tokens its text encoder reads) for each text encoder of `pipe`. A T5 encoder
    reads `max_sequence_length` tokens (the registry entry's, else the pipeline's own default, e.g. 256 for FLUX
    schnell, 300 for PixArt-Sigma); a CLIP or BERT encoder its tokenizer's model_max_length (77 for CLIP)."""
    own = inspect.signature(type(pipe).__call__).parameters.get("max_sequence_length")
    t5_limit = max_sequence_length or (own.default if own is not None and isinstance(own.default, int) else 0)
    limits = []
    for attr in TOKENIZER_ATTRS:
        tokenizer = getattr(pipe, attr, None)
        if tokenizer is None:
            continue
        is_t5 = "T5" in type(tokenizer).__name__
        limits.append((attr, tokenizer, t5_limit if (is_t5 and t5_limit) else tokenizer.model_max_length))
    return limits


def _encoder_name(tokenizer: Any) -> str:
    return type(tokenizer).__name__.replace("TokenizerFast", "").replace("Tokenizer", "") or "text"


def prompt_warnings(pipe: Any, prompt: str, max_sequence_length: int = 0) -> list[str]:
    """A visible warning per text encoder that will cut `prompt` short (the pipeline keeps the end token), saying
    which of the model's other encoders still read the whole prompt."""
    if not prompt:
        return []
    counted = []
    for attr, tokenizer, limit in encoder_limits(pipe, max_sequence_length):
        ids = tokenizer(prompt, truncation=False, add_special_tokens=True).input_ids
        counted.append((attr, tokenizer, limit, ids))
    warnings = []
    for attr, tokenizer, limit, ids in counted:
        if len(ids) <= limit:
            continue
        kept = tokenizer.decode(ids[: limit - 1], skip_special_tokens=True)
        dropped = prompt[len(kept) :].strip() if prompt.startswith(kept) else ""
        tail = f' Dropped: "{dropped[:80]}…"' if dropped else ""
        whole = [
            f"the {_encoder_name(t)} encoder ({a}, up to {n} tokens)"
            for a, t, n, other in counted
            if a != attr and len(other) <= n
        ]
        rest = f"; {' and '.join(whole)} still reads all of it" if whole else ""
        warnings.append(
            f"Prompt is {len(ids)} tokens for the {_encoder_name(tokenizer)} text encoder ({attr}), which reads "
            f"{limit} (end token included): it ignores the rest{rest}.{tail}"
        )
    return warnings


def locked_prompt_warnings(entry: Any, prompt: str, max_sequence_length: int = 0) -> list[str]:
    """prompt_warnings for a cached pipeline, under its lock: a fast tokenizer keeps its padding and truncation as
    state, so counting tokens while another request encodes its prompts on the same pipeline changes theirs (its
    empty negative prompt then comes out 2 tokens long instead of 77, and the pipeline fails to join them)."""
    with entry.lock:
        return prompt_warnings(entry.pipe, prompt, max_sequence_length)
