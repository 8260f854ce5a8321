"""The SANA stand-in and its tiny Gemma tokenizer: the real layout shrunk, and its output decided by the seed."""

import json
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm
import torch
from standin_helpers import load
from transformers import GemmaTokenizerFast

from genart_demo.mirror_tokenizers import tokenizer_family, vocabulary_file
from genart_demo.tiny import STANDIN_SIZES
from genart_demo.tiny.tokenizers import GEMMA_TURN_TOKENS, gemma_sentencepiece_model, make_gemma_tokenizer

PROMPT = "a photo of a cat riding a horse"
KEY = "SanaPipeline"


@pytest.fixture(scope="module")
def sana(cache_dir: Path):
    return load(KEY, cache_dir)


def make(pipe, seed: int) -> np.ndarray:
    """One 2-step image as uint8 pixels."""
    side = STANDIN_SIZES[KEY]
    out = pipe(
        prompt=PROMPT,
        height=side,
        width=side,
        num_inference_steps=2,
        output_type="np",
        generator=[torch.Generator("cpu").manual_seed(seed)],
    ).images
    return (out[0] * 255).round().astype(int)


def test_sana_layout_is_the_real_one_shrunk(sana) -> None:
    t, vae, gemma = sana.transformer.config, sana.vae.config, sana.text_encoder.config
    assert t.caption_channels == gemma.hidden_size  # Gemma's hidden states are the captions
    assert t.num_cross_attention_heads * t.cross_attention_head_dim == t.cross_attention_dim
    assert t.cross_attention_dim == t.num_attention_heads * t.attention_head_dim
    assert t.sample_size == 16 and t.in_channels == vae.latent_channels == 32  # 512 px bins, 32 latent channels
    assert sana.vae.spatial_compression_ratio == 32 and len(vae.decoder_block_out_channels) == 6
    assert vae.scaling_factor == 0.41407
    assert gemma.num_attention_heads % gemma.num_key_value_heads == 0
    assert gemma.vocab_size == len(sana.tokenizer)
    assert sana.scheduler.config.prediction_type == "flow_prediction" and sana.scheduler.config.flow_shift == 3.0


def test_sana_output_follows_the_seed(sana) -> None:
    first, again, other = make(sana, 7), make(sana, 7), make(sana, 8)
    assert first.shape == (STANDIN_SIZES[KEY], STANDIN_SIZES[KEY], 3)  # sampled at 512 px, resized as asked
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_gemma_tokenizer_has_gemmas_special_ids_and_pads_right() -> None:
    tok = make_gemma_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>", *GEMMA_TURN_TOKENS)}
    assert list(ids.values()) == [0, 1, 2, 3, 4, 5, 6]
    batch = tok([PROMPT, "a cat"], padding="max_length", max_length=24)
    assert [row[0] for row in batch.input_ids] == [2, 2]  # <bos> first, as SANA's prompt selection expects
    assert batch.input_ids[1][-1] == 0 and batch.attention_mask[1][-1] == 0  # padded on the right with <pad>
    assert tok.decode(tok("Zürich 東京!").input_ids, skip_special_tokens=True) == "Zürich 東京!"  # byte fallback


def test_gemma_tokenizer_json_and_tokenizer_model_encode_alike(tmp_path: Path) -> None:
    """The mirror writes tokenizer.json and tokenizer.model of one tiny vocabulary: both encode a prompt to the same
    ids, and the folder loads back as the repo's GemmaTokenizerFast."""
    assert tokenizer_family("GemmaTokenizerFast", ["tokenizer.model", "tokenizer.json"]) == "gemma"
    (tmp_path / "tokenizer.json").write_bytes(vocabulary_file("gemma", "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": True, "padding_side": "right"}))
    model = vocabulary_file("gemma", "tokenizer.model")
    assert model == gemma_sentencepiece_model()
    sp = spm.SentencePieceProcessor(model_proto=model)
    loaded = GemmaTokenizerFast.from_pretrained(tmp_path)
    for text in (PROMPT, "Zürich 東京!", "<start_of_turn>user"):
        assert loaded(text).input_ids == [2, *sp.encode(text)]
