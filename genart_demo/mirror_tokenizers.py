"""Tiny but valid tokenizer files under a Hub repo's real names (vocab.json, merges.txt, vocab.txt, spiece.model,
tokenizer.model, tokenizer.json), for the mirrored Hub cache; the repo's own tokenizer_config.json and
special_tokens_map.json are kept as committed, so transformers reads the real settings over a tiny vocabulary."""

from __future__ import annotations

import io
import json
import string
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import sentencepiece as spm
from transformers import BertTokenizer, CLIPTokenizer, T5TokenizerFast

from .tiny.tokenizers import (
    COMMON_WORDS,
    bert_vocab,
    clip_vocab_and_merges,
    gemma_sentencepiece_model,
    make_gemma_tokenizer,
)

FAMILIES = ("clip", "t5", "bert", "gemma")
VOCAB_FILES = ("vocab.json", "merges.txt", "vocab.txt", "spiece.model", "tokenizer.model", "tokenizer.json")
SP_VOCAB_SIZE = 150  # pieces the tiny SentencePiece model is trained to (about this many: the limit is soft)


class TokenizerFamilyError(ValueError):
    """A tokenizer folder whose kind (CLIP BPE, T5 SentencePiece, BERT WordPiece, Gemma BPE) cannot be told."""


def tokenizer_family(class_name: str, files: Iterable[str]) -> str:
    """ "clip", "t5", "bert" or "gemma", from the tokenizer class (model_index / tokenizer_config) or else from its
    files."""
    lowered = class_name.lower()
    for family in FAMILIES:
        if lowered.startswith(family):
            return family
    names = {Path(f).name for f in files}
    if "spiece.model" in names:
        return "t5"
    if "merges.txt" in names:
        return "clip"
    if "vocab.txt" in names:
        return "bert"
    raise TokenizerFamilyError(f"cannot tell the tokenizer kind of {class_name or 'a folder'} with {sorted(names)}")


@cache
def _sentencepiece_model() -> bytes:
    """A tiny unigram SentencePiece model laid out like T5's: <pad>=0, </s>=1, <unk>=2, no <s>."""
    text = [" ".join(COMMON_WORDS)] * 20 + [" ".join((string.ascii_letters, string.digits, string.punctuation))]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_writer=model,
        vocab_size=SP_VOCAB_SIZE,
        hard_vocab_limit=False,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        character_coverage=1.0,
        normalization_rule_name="identity",
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def _sentencepiece_pieces() -> list[tuple[str, float]]:
    sp = spm.SentencePieceProcessor(model_proto=_sentencepiece_model())
    return [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]


@cache
def _fast_tokenizer_json(family: str) -> bytes:
    """tokenizer.json of the tiny tokenizer of `family`, as transformers saves it."""
    if family == "clip":
        vocab, merges = clip_vocab_and_merges()
        tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    elif family == "t5":
        tokenizer = T5TokenizerFast(vocab=_sentencepiece_pieces(), extra_ids=0)
    elif family == "gemma":
        tokenizer = make_gemma_tokenizer()
    else:
        tokenizer = BertTokenizer(vocab=bert_vocab(), do_lower_case=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        return (Path(tmp) / "tokenizer.json").read_bytes()


def vocabulary_file(family: str, name: str) -> bytes:
    """The bytes of tokenizer file `name` (one of VOCAB_FILES) for a tiny tokenizer of `family`."""
    if name == "tokenizer.json":
        return _fast_tokenizer_json(family)
    if family == "clip" and name == "vocab.json":
        return json.dumps(clip_vocab_and_merges()[0], ensure_ascii=False).encode()
    if family == "clip" and name == "merges.txt":
        merges = clip_vocab_and_merges()[1]
        return ("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)).encode()
    if family == "bert" and name == "vocab.txt":
        vocab = bert_vocab()
        return "".join(f"{tok}\n" for tok in sorted(vocab, key=vocab.get)).encode()
    if family == "t5" and name == "spiece.model":
        return _sentencepiece_model()
    if family == "gemma" and name == "tokenizer.model":  # the SentencePiece model tokenizer.json was made from
        return gemma_sentencepiece_model()
    raise TokenizerFamilyError(f"a {family} tokenizer has no file {name}")


def token_ids(tokenizer) -> dict[str, int]:
    """The vocabulary size and special ids a text encoder must agree with, read from a loaded tokenizer."""
    ids = {"vocab_size": max(len(tokenizer), max(tokenizer.get_vocab().values()) + 1)}
    for role in ("bos", "eos", "pad"):
        value = getattr(tokenizer, f"{role}_token_id", None)
        if value is not None:
            ids[f"{role}_token_id"] = value
    if "pad_token_id" in ids:
        ids["decoder_start_token_id"] = ids["pad_token_id"]
    return ids
