"""Prompt truncation is reported per text encoder: FLUX's and SD3's T5 read far more than their CLIP encoders."""

import pytest

from genart_demo.registry import Registry
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tasks.prompt_length import encoder_limits, prompt_warnings
from genart_demo.tiny.builders import build_standin

REGISTRY = Registry.load()


@pytest.fixture(scope="module")
def flux():
    return build_standin("FluxPipeline")


def words(n: int) -> str:
    """About n tokens for both stand-in tokenizers (one token per "a", plus start/end tokens)."""
    return " ".join(["a"] * n)


def test_flux_reads_each_encoder_to_its_own_limit(flux):
    limit = REGISTRY.get("flux-schnell").defaults.max_sequence_length
    assert [(attr, n) for attr, _, n in encoder_limits(flux, limit)] == [("tokenizer", 77), ("tokenizer_2", 256)]
    assert prompt_warnings(flux, words(60), limit) == []

    (clip_only,) = prompt_warnings(flux, words(120), limit)  # past CLIP's 77, within T5's 256
    assert "for the CLIP text encoder (tokenizer), which reads 77" in clip_only
    assert "the T5 encoder (tokenizer_2, up to 256 tokens) still reads all of it" in clip_only

    clip, t5 = prompt_warnings(flux, words(400), limit)  # past both: regression, T5 (tokenizer_2) was never checked
    assert "(tokenizer), which reads 77" in clip and "still reads" not in clip
    assert "for the T5 text encoder (tokenizer_2), which reads 256" in t5


def test_the_pipelines_own_t5_length_when_the_entry_gives_none(flux):
    assert [n for _, _, n in encoder_limits(flux)] == [77, 512]  # FluxPipeline.__call__'s max_sequence_length
    assert [n for _, _, n in encoder_limits(build_standin("StableDiffusion3Pipeline"))] == [77, 77, 256]
    assert [n for _, _, n in encoder_limits(build_standin("StableDiffusionPipeline"))] == [77]


def test_tokens_are_counted_under_the_pipelines_lock(studio, tmp_path, monkeypatch):
    """A fast tokenizer keeps its padding and truncation as state: counting a prompt's tokens while another request
    encodes on the same pipeline turned that request's empty negative prompt into 2 tokens instead of 77 (seen
    under load as "Expected size 2 but got size 77"). Every count is made holding the pipeline's lock."""
    entry = studio.cache.get(REGISTRY.get("sd15"))
    counted = []
    tokenizer_class = type(entry.pipe.tokenizer)
    real = tokenizer_class.__call__

    def recording(self, *args, **kwargs):
        if kwargs.get("truncation") is False:  # prompt_warnings' count (the pipeline's own encoding truncates)
            counted.append(entry.lock.locked())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(tokenizer_class, "__call__", recording)
    generate(studio, GenerateRequest(model="sd15", prompt=words(100), steps=1, seed=1), output_dir=tmp_path)
    assert counted == [True] and not entry.lock.locked()
