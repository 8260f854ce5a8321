"""The aMUSEd stand-in (masked-token generation): the real layout shrunk, and its output decided by the seed."""

from pathlib import Path

import numpy as np
import pytest
import torch
from standin_helpers import load

from genart_demo.tiny import STANDIN_SIZES
from genart_demo.tiny.builders_transformer import AMUSED_CODEBOOK, AMUSED_VOCAB

PROMPT = "a photo of a cat riding a horse"
KEY = "AmusedPipeline"


def make(pipe, seed: int, output_type: str = "np") -> np.ndarray:
    """One 2-step output: uint8 pixels, or with output_type "latent" the grid of VQ-GAN token ids it decodes."""
    side = STANDIN_SIZES[KEY]
    out = pipe(
        prompt=PROMPT,
        height=side,
        width=side,
        num_inference_steps=2,
        output_type=output_type,
        generator=torch.Generator("cpu").manual_seed(seed),  # aMUSEd's scheduler takes one generator, not a list
    ).images
    return out[0].numpy() if output_type == "latent" else (out[0] * 255).round().astype(int)


@pytest.fixture(scope="module")
def amused(cache_dir: Path):
    return load(KEY, cache_dir)


def test_amused_layout_is_the_real_one_shrunk(amused) -> None:
    vq, uvit = amused.vqvae.config, amused.transformer.config
    assert 2 ** (len(vq.block_out_channels) - 1) == 16  # the VQ-GAN's 16x downsampling
    assert vq.lookup_from_codebook and vq.num_vq_embeddings == uvit.codebook_size == AMUSED_CODEBOOK
    assert amused.scheduler.config.mask_token_id == uvit.vocab_size - 1 == AMUSED_VOCAB - 1 == 8255  # as the repo's
    assert uvit.micro_cond_embed_dim == 5 * uvit.micro_cond_encode_dim  # size, crop and aesthetic score
    assert uvit.cond_embed_dim == amused.text_encoder.config.projection_dim
    assert uvit.encoder_hidden_size == amused.text_encoder.config.hidden_size
    assert amused.tokenizer.pad_token == "!"


def test_amused_output_follows_the_seed(amused) -> None:
    """The seed picks which tokens are unmasked and what they become: the same seed gives the same tokens and pixels,
    another seed other tokens almost everywhere (random tiny weights decode them to nearby colours)."""
    side = STANDIN_SIZES[KEY]
    tokens = {seed: make(amused, seed, "latent") for seed in (7, 8)}
    assert tokens[7].shape == (side // 16, side // 16) and tokens[7].max() < AMUSED_CODEBOOK  # no mask token left
    assert np.array_equal(tokens[7], make(amused, 7, "latent"))
    assert (tokens[7] != tokens[8]).mean() > 0.5
    first, again, other = make(amused, 7), make(amused, 7), make(amused, 8)
    assert first.shape == (side, side, 3)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
