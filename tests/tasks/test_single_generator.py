"""Pipelines whose `generator` takes a single generator (aMUSEd): generate passes one, and refuses a batch."""

import numpy as np
import pytest

from genart_demo.errors import InputError
from genart_demo.tasks.common import generator_arg, takes_generator_list
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tiny import STANDIN_SIZES


def test_which_pipelines_take_a_list():
    assert takes_generator_list("StableDiffusionPipeline") and takes_generator_list("FluxPipeline")
    assert not takes_generator_list("AmusedPipeline")
    assert takes_generator_list("NotADiffusersClass")  # a genart GAN: its own module, not diffusers' signature


def test_generator_arg_is_one_generator_or_one_per_image():
    gens = generator_arg("StableDiffusionPipeline", 40, 2)
    assert [g.initial_seed() for g in gens] == [40, 41]
    assert generator_arg("AmusedPipeline", 40, 1).initial_seed() == 40
    with pytest.raises(InputError, match="AmusedPipeline takes a single random generator.*batch must be 1; got 2"):
        generator_arg("AmusedPipeline", 40, 2)


def pixels(studio, tmp_path, seed: int) -> np.ndarray:
    req = GenerateRequest(model="amused-256", prompt="a red fox", steps=2, seed=seed)
    return np.asarray(generate(studio, req, output_dir=tmp_path).images[0], dtype=int)


def test_amused_generates_per_seed(studio, tmp_path):
    first, again, other = (pixels(studio, tmp_path, seed) for seed in (5, 5, 6))
    assert first.shape == (STANDIN_SIZES["AmusedPipeline"],) * 2 + (3,)  # a stand-in runs at its own size
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_amused_batch_is_refused_with_the_reason(studio, tmp_path):
    req = GenerateRequest(model="amused-256", prompt="a red fox", steps=2, seed=1, batch=2)
    with pytest.raises(InputError, match="batch must be 1; got 2"):
        generate(studio, req, output_dir=tmp_path)
