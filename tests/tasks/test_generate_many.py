"""generate_many: several prompts and seeds through one model in one pipeline call, on tiny stand-ins."""

import numpy as np
import pytest
import torch

from genart_demo.errors import InputError
from genart_demo.tasks.generate import GenerateRequest, checked_settings, generate, generate_many


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _req(prompt, seed, model="sd15", **kw):
    return GenerateRequest(model=model, prompt=prompt, seed=seed, steps=2, **kw)


def test_one_request_matches_generate(studio, tmp_path):
    alone = generate(studio, _req("a red fox in the snow", 5), output_dir=tmp_path)
    many = generate_many(studio, [_req("a red fox in the snow", 5)])
    assert np.array_equal(np.asarray(alone.images[0]), np.asarray(many.images[0]))
    assert many.paths == []  # unsaved: the caller names its files
    assert many.settings[0] == alone.settings[0]  # the same settings dict, so the same PNG metadata


def test_each_image_has_its_own_prompt_and_seed(studio):
    prompts = ["a red fox", "a blue bird", "a green frog"]
    seeds = [3, 11, 3]
    batch = generate_many(studio, [_req(p, s) for p, s in zip(prompts, seeds)])
    assert [s.prompt for s in batch.settings] == prompts
    assert [s.seed for s in batch.settings] == seeds
    assert len(batch.images) == 3 and batch.images[0].size == (64, 64)
    for i, (prompt, seed) in enumerate(zip(prompts, seeds)):
        single = generate_many(studio, [_req(prompt, seed)]).images[0]
        diff = np.abs(np.asarray(batch.images[i], dtype=int) - np.asarray(single, dtype=int))
        assert diff.max() <= 1, (prompt, seed, diff.max())  # batched convolutions may round by one level
    # same seed, different prompt: the prompt changes the image
    assert not np.array_equal(np.asarray(batch.images[0]), np.asarray(batch.images[2]))


def test_negative_prompts_per_image(studio):
    with_neg = generate_many(studio, [_req("a fox", 1, negative_prompt="blur"), _req("a fox", 1)])
    assert [s.negative_prompt for s in with_neg.settings] == ["blur", ""]
    plain = generate_many(studio, [_req("a fox", 1)]).images[0]
    diff = np.abs(np.asarray(with_neg.images[1], dtype=int) - np.asarray(plain, dtype=int))
    assert diff.max() <= 1  # "" in a list encodes as the pipeline's own empty negative prompt


def test_bad_batches_are_refused(studio):
    with pytest.raises(InputError, match="at least one"):
        generate_many(studio, [])
    with pytest.raises(InputError, match="steps"):
        generate_many(studio, [_req("a", 1), GenerateRequest(model="sd15", prompt="b", seed=2, steps=3)])
    with pytest.raises(InputError, match="model"):
        generate_many(studio, [_req("a", 1), _req("b", 2, model="sd-turbo")])
    with pytest.raises(InputError, match="batch"):
        generate_many(studio, [_req("a", 1, batch=2)])
    with pytest.raises(InputError, match="prompt is empty"):
        generate_many(studio, [_req("a", 1), _req(" ", 2)])


def test_checked_settings_fill_defaults(studio):
    s = checked_settings(studio, GenerateRequest(model="sd15", prompt="x"))
    spec = studio.spec("sd15")
    assert (s.steps, s.guidance, s.scheduler) == (spec.defaults.steps, spec.defaults.guidance, spec.defaults.scheduler)
    assert (s.width, s.height) == (64, 64)  # the stand-in's size offline
    with pytest.raises(InputError, match="Steps"):
        checked_settings(studio, GenerateRequest(model="sd15", prompt="x", steps=0))
