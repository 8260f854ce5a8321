"""Tiny offline tokenizers (CLIP BPE, BERT WordPiece, T5 Unigram, Gemma byte-fallback BPE) built from in-code
vocabularies."""

from __future__ import annotations

import io
import string
from functools import lru_cache

import sentencepiece as spm
from transformers import BertTokenizer, CLIPTokenizer, GemmaTokenizer, T5TokenizerFast
from transformers.convert_slow_tokenizer import generate_merges

CLIP_MAX_LENGTH = 77  # CLIP's context length; SD/SDXL/SD3/Flux all tokenize to exactly 77
BERT_MAX_LENGTH = 77  # LDMTextToImagePipeline pads/truncates LDMBert input to 77
T5_MAX_LENGTH = 512  # T5's model_max_length; pipelines pass their own max_sequence_length (<= 512)
GEMMA_VOCAB_SIZE = 420  # pieces of the tiny Gemma model: 5 specials, 2 turn markers, 256 bytes, letters and words
GEMMA_TURN_TOKENS = ("<start_of_turn>", "<end_of_turn>")  # the chat markers Gemma's tokenizer lists as special

CLIP_BOS = "<|startoftext|>"
CLIP_EOS = "<|endoftext|>"

# A few whole words, so common prompts are not spelled out letter by letter.
COMMON_WORDS: tuple[str, ...] = (
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "with",
    "and",
    "by",
    "to",
    "for",
    "from",
    "photo",
    "painting",
    "portrait",
    "picture",
    "image",
    "drawing",
    "sketch",
    "render",
    "cat",
    "dog",
    "bird",
    "fish",
    "horse",
    "astronaut",
    "robot",
    "city",
    "forest",
    "mountain",
    "sea",
    "sky",
    "sun",
    "moon",
    "river",
    "house",
    "tree",
    "flower",
    "car",
    "street",
    "night",
    "red",
    "blue",
    "green",
    "yellow",
    "black",
    "white",
    "golden",
    "dark",
    "bright",
    "high",
    "quality",
    "detailed",
    "style",
    "art",
    "oil",
    "watercolor",
    "digital",
    "realistic",
    "beautiful",
    "cinematic",
    "lighting",
    "riding",
    "sitting",
    "standing",
)


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable unicode character table (256 entries)."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def clip_vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary: every byte char, its '</w>' word-final form, a few merged words, specials.

    Specials come last, as in the real CLIP vocabulary (where they are 49406/49407).
    """
    chars = list(bytes_to_unicode().values())
    tokens: list[str] = chars + [c + "</w>" for c in chars]
    merges: list[tuple[str, str]] = []
    for word in COMMON_WORDS:
        if len(word) < 2:
            continue
        # Merge left to right: "c a t</w>" -> "ca t</w>" -> "cat</w>".
        current = word[0]
        for i, ch in enumerate(word[1:], start=1):
            right = ch + "</w>" if i == len(word) - 1 else ch
            merges.append((current, right))
            current = current + right
            tokens.append(current)
    tokens = list(dict.fromkeys(tokens))  # dedupe, keep order
    merges = list(dict.fromkeys(merges))
    tokens += [CLIP_BOS, CLIP_EOS]
    return {tok: i for i, tok in enumerate(tokens)}, merges


def make_clip_tokenizer(pad_token: str = CLIP_EOS) -> CLIPTokenizer:
    """A CLIPTokenizer with the real pipeline (lowercasing, byte-level BPE, '</w>' suffix, bos/eos wrapping).

    SD 1.x pads with '<|endoftext|>'; SDXL's tokenizer_2 and SD3's tokenizer_2 pad with '!'.
    """
    vocab, merges = clip_vocab_and_merges()
    return CLIPTokenizer(vocab=vocab, merges=merges, pad_token=pad_token, model_max_length=CLIP_MAX_LENGTH)


def bert_vocab() -> dict[str, int]:
    """WordPiece vocabulary: BERT specials, single characters, '##' continuations, common words."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    continuations = ["##" + c for c in string.ascii_lowercase + string.digits]
    tokens = list(dict.fromkeys(specials + chars + continuations + list(COMMON_WORDS)))
    return {tok: i for i, tok in enumerate(tokens)}


def make_bert_tokenizer() -> BertTokenizer:
    """A lowercasing BertTokenizer (LDMBert's tokenizer is bert-base-uncased)."""
    return BertTokenizer(vocab=bert_vocab(), do_lower_case=True, model_max_length=BERT_MAX_LENGTH)


def t5_vocab() -> list[tuple[str, float]]:
    """Unigram (piece, log-prob) list: <pad>=0, </s>=1, <unk>=2, '▁', characters, '▁'-prefixed words.

    Scores make whole words cheaper than spelling them out, like a trained SentencePiece model.
    """
    pieces: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    for ch in string.ascii_letters + string.digits + string.punctuation:
        pieces.append((ch, -5.0))
        pieces.append(("▁" + ch, -5.5))
    for word in COMMON_WORDS:
        if len(word) > 1:
            pieces.append(("▁" + word, -4.0))
    return pieces


def make_t5_tokenizer() -> T5TokenizerFast:
    """A T5 tokenizer (Metaspace pre-tokenizer, '</s>' appended) with no sentinel <extra_id_*> tokens.

    With transformers >= 5 T5TokenizerFast is T5Tokenizer; building it from `vocab` (rather than a
    hand-made `tokenizer_object`) makes save_pretrained/from_pretrained rebuild exactly the same tokenizer.
    """
    return T5TokenizerFast(vocab=t5_vocab(), extra_ids=0, model_max_length=T5_MAX_LENGTH)


@lru_cache(maxsize=1)
def gemma_sentencepiece_model() -> bytes:
    """A tiny SentencePiece BPE model laid out like Gemma's tokenizer.model: <pad>=0, <eos>=1, <bos>=2, <unk>=3,
    <mask>=4, the turn markers, byte fallback (<0x00>..<0xFF>, so any text encodes), no dummy prefix."""
    text = [" ".join(COMMON_WORDS)] * 20 + [" ".join((string.ascii_letters, string.digits, string.punctuation))]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_writer=model,
        vocab_size=GEMMA_VOCAB_SIZE,
        hard_vocab_limit=False,
        model_type="bpe",
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        pad_piece="<pad>",
        eos_piece="<eos>",
        bos_piece="<bos>",
        unk_piece="<unk>",
        user_defined_symbols=["<mask>", *GEMMA_TURN_TOKENS],
        byte_fallback=True,
        add_dummy_prefix=False,
        character_coverage=1.0,
        normalization_rule_name="identity",
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def make_gemma_tokenizer() -> GemmaTokenizer:
    """Gemma's tokenizer (byte-fallback BPE, '▁' for spaces, <bos> prepended) over the tiny SentencePiece model's
    pieces, so it encodes exactly as that tokenizer.model would; pads on the right, as SANA's repo saves it."""
    sp = spm.SentencePieceProcessor(model_proto=gemma_sentencepiece_model())
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    return GemmaTokenizer(
        vocab=vocab,
        merges=generate_merges(vocab),
        additional_special_tokens=list(GEMMA_TURN_TOKENS),
        add_bos_token=True,  # as Gemma's post-processor does; SANA keeps that first token's state
        add_eos_token=False,
        padding_side="right",
    )
