"""Variation seeds (AUTOMATIC1111's): slerp against its closed form, the noise mechanism, and generate on a stand-in."""

import dataclasses
import sys
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from genart_demo.errors import InputError, TaskFailed
from genart_demo.media import read_png_settings
from genart_demo.registry import GENERATE_TASKS, Registry
from genart_demo.run_settings import RunSettings
from genart_demo.tasks.common import generators
from genart_demo.tasks.generate import (
    CompareRequest,
    GenerateRequest,
    checked_settings,
    compare,
    generate,
    generate_many,
    request_from_settings,
)
from genart_demo.tasks.variation import check_variation, draws_gaussian_noise, mixed_noise, slerp, varied_noise

REGISTRY = Registry.load()


def _closed_form(t, low, high):
    """Spherical interpolation of each (C, W) column along H, in float64: sin((1-t)w)/sin w a + sin(t w)/sin w b."""
    a, b = low.double().numpy(), high.double().numpy()
    out = np.empty_like(a)
    for c in range(a.shape[0]):
        for w in range(a.shape[2]):
            x, y = a[c, :, w], b[c, :, w]
            omega = np.arccos(np.dot(x, y) / np.linalg.norm(x) / np.linalg.norm(y))
            out[c, :, w] = (np.sin((1 - t) * omega) * x + np.sin(t * omega) * y) / np.sin(omega)
    return out


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 1.0])
def test_slerp_is_a1111s_per_column_slerp(t):
    g = torch.Generator().manual_seed(0)
    low, high = torch.randn(4, 8, 6, generator=g), torch.randn(4, 8, 6, generator=g)  # (C, H, W)
    np.testing.assert_allclose(slerp(t, low, high).numpy(), _closed_form(t, low, high), rtol=1e-4, atol=1e-5)


def test_slerp_of_near_identical_noise_is_linear():
    low = torch.randn(4, 8, 6, generator=torch.Generator().manual_seed(1))
    high = low + 1e-4
    torch.testing.assert_close(slerp(0.25, low, high), 0.75 * low + 0.25 * high)


def test_mixed_noise_is_exact_at_both_ends_and_slerped_per_image():
    g = torch.Generator().manual_seed(2)
    base, other = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)  # (B, C, H, W)
    assert mixed_noise(base, other, 0.0) is base and mixed_noise(base, other, 1.0) is other
    half = mixed_noise(base, other, 0.5)
    for i in range(2):
        np.testing.assert_allclose(half[i].numpy(), _closed_form(0.5, base[i], other[i]), rtol=1e-4, atol=1e-5)
    assert mixed_noise(base.half(), other.half(), 0.5).dtype == torch.float16


class Pipe:
    """A pipeline class whose module draws with randn_tensor, as every diffusers pipeline module does."""


def _pipe_module():
    from diffusers.utils.torch_utils import randn_tensor  # lazy: diffusers takes seconds to import

    sys.modules[__name__].randn_tensor = randn_tensor  # this test module stands in for a pipeline's module
    return sys.modules[__name__]


def test_only_the_first_draw_from_the_calls_generators_is_varied():
    module, shape = _pipe_module(), (2, 4, 8, 8)
    plain_gens = generators(5, 2)
    plain = [module.randn_tensor(shape, generator=plain_gens) for _ in range(2)]  # before any variation exists
    gens = generators(5, 2)
    with varied_noise(Pipe(), gens, 9, 1.0):
        first, second = (module.randn_tensor(shape, generator=gens) for _ in range(2))
    assert torch.equal(first, torch.cat([torch.randn(shape[1:], generator=g)[None] for g in generators(9, 2)]))
    assert torch.equal(second, plain[1])  # later draws (ancestral per-step noise) come from the seed's generators
    assert torch.equal(module.randn_tensor(shape, generator=generators(5, 2)), plain[0])  # no variation: unchanged


def test_a_retry_that_restores_the_generators_is_varied_again():
    module, gens = _pipe_module(), generators(5, 1)
    states = [g.get_state() for g in gens]
    with varied_noise(Pipe(), gens, 9, 0.5):
        first = module.randn_tensor((1, 4, 8, 8), generator=gens)
        for g, state in zip(gens, states):  # what PipelineCache.run does before retrying after out of memory
            g.set_state(state)
        again = module.randn_tensor((1, 4, 8, 8), generator=gens)
    assert torch.equal(first, again)


def test_another_thread_draws_unvaried_while_a_variation_is_active():
    module, gens = _pipe_module(), generators(5, 1)
    seen = {}

    def other():
        seen["noise"] = module.randn_tensor((1, 4, 8, 8), generator=generators(5, 1))

    with varied_noise(Pipe(), gens, 9, 1.0):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        module.randn_tensor((1, 4, 8, 8), generator=gens)
    assert torch.equal(seen["noise"], torch.randn((1, 4, 8, 8), generator=generators(5, 1)[0]))


def test_a_call_that_draws_no_initial_noise_is_not_labelled_varied():
    _pipe_module()
    with pytest.raises(TaskFailed, match="drew no initial noise"), varied_noise(Pipe(), generators(5, 1), 9, 0.5):
        pass


# ---------------------------------------------------------------- generate on the sd15 stand-in

BASE = {"model": "sd15", "prompt": "a red fox", "steps": 2, "scheduler": "Euler"}  # a deterministic sampler


def _pixels(studio, tmp_path, **kw):
    result = generate(studio, GenerateRequest(**{**BASE, **kw}), output_dir=tmp_path)
    return [np.asarray(img, dtype=int) for img in result.images], result


def test_strength_0_is_the_seeds_image_and_1_the_variation_seeds(studio, tmp_path):
    (base,), _ = _pixels(studio, tmp_path, seed=5)
    (other,), _ = _pixels(studio, tmp_path, seed=9)
    (zero,), _ = _pixels(studio, tmp_path, seed=5, variation_seed=9, variation_strength=0.0)
    (one,), result = _pixels(studio, tmp_path, seed=5, variation_seed=9, variation_strength=1.0)
    (half,), _ = _pixels(studio, tmp_path, seed=5, variation_seed=9, variation_strength=0.5)
    assert not np.array_equal(base, other)
    assert np.array_equal(zero, base) and np.array_equal(one, other)
    assert np.abs(half - base).mean() > 1 and np.abs(half - other).mean() > 1
    assert (result.settings[0].seed, result.settings[0].variation_seed, result.settings[0].variation_strength) == (
        5,
        9,
        1.0,
    )


def test_batch_image_i_uses_variation_seed_plus_i(studio, tmp_path):
    others, _ = _pixels(studio, tmp_path, seed=9, batch=2)
    varied, result = _pixels(studio, tmp_path, seed=5, batch=2, variation_seed=9, variation_strength=1.0)
    assert all(np.array_equal(a, b) for a, b in zip(varied, others))
    assert [(s.seed, s.variation_seed) for s in result.settings] == [(5, 9), (6, 10)]


def test_the_png_remakes_a_varied_image(studio, tmp_path):
    (first,), result = _pixels(studio, tmp_path, seed=5, variation_seed=7, variation_strength=0.3)
    path = result.paths[0]
    assert "Variation seed: 7, Variation seed strength: 0.3" in Image.open(path).text["parameters"]
    for settings in (read_png_settings(path), RunSettings.from_parameters_text(Image.open(path).text["parameters"])):
        req = request_from_settings(settings)
        assert (req.variation_seed, req.variation_strength) == (7, 0.3)
        remade = generate(studio, dataclasses.replace(req, model="sd15"), output_dir=tmp_path).images[0]
        assert np.array_equal(np.asarray(remade, dtype=int), first)


def test_a_random_variation_seed_is_drawn_and_recorded(studio, tmp_path):
    (image,), result = _pixels(studio, tmp_path, seed=5, variation_strength=1.0)  # variation_seed -1
    (again,), _ = _pixels(studio, tmp_path, seed=result.settings[0].variation_seed)
    assert np.array_equal(image, again)


def test_no_variation_records_none(studio, tmp_path):
    _, result = _pixels(studio, tmp_path, seed=5, variation_seed=9)
    assert (result.settings[0].variation_seed, result.settings[0].variation_strength) == (None, None)
    assert "Variation" not in result.settings[0].parameters_text()


def test_generate_many_and_compare_vary_like_generate(studio, tmp_path):
    (other,), _ = _pixels(studio, tmp_path, seed=9)
    many = generate_many(studio, [GenerateRequest(**BASE, seed=5, variation_seed=9, variation_strength=1.0)])
    assert np.array_equal(np.asarray(many.images[0], dtype=int), other) and many.settings[0].variation_seed == 9
    request = GenerateRequest(**BASE, seed=5, variation_seed=-1, variation_strength=1.0)
    results = compare(studio, CompareRequest(request, ("sd15", "sd15"), own_defaults=False), output_dir=tmp_path)
    assert results[0].settings[0].variation_seed == results[1].settings[0].variation_seed  # drawn once


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"variation_strength": 1.5}, "Variation strength must be from 0 to 1; got 1.5."),
        ({"variation_strength": "lots"}, "Variation strength must be a number from 0 to 1; got 'lots'."),
        ({"variation_strength": 0.5, "variation_seed": 2**40}, "Variation seed 1099511627776 is not allowed"),
    ],
)
def test_bad_variation_settings_are_refused(studio, tmp_path, change, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        generate(studio, GenerateRequest(**BASE, seed=5, **change), output_dir=tmp_path)


def test_models_without_gaussian_initial_noise_refuse_a_variation():
    sd15 = REGISTRY.get("sd15")
    for name in ("AmusedPipeline", "CycleGANResnetGenerator", "StyleGANGenerator"):
        assert not draws_gaussian_noise(name)
        with pytest.raises(InputError, match=f"x \\({name}\\) starts from no Gaussian noise"):
            check_variation(dataclasses.replace(sd15, id="x", pipeline=name), 3, 0.5)
        assert check_variation(dataclasses.replace(sd15, pipeline=name), 3, 0) is None  # strength 0 asks nothing
    for spec in REGISTRY.for_tasks(GENERATE_TASKS):  # every diffusion entry can vary; the rest refuse
        if spec.pipeline.endswith("Pipeline") and spec.pipeline != "AmusedPipeline":
            assert draws_gaussian_noise(spec.pipeline), spec.id


NO_NOISE = [s.id for s in REGISTRY.for_tasks(GENERATE_TASKS) if not draws_gaussian_noise(s.pipeline)]


@pytest.mark.parametrize("model_id", NO_NOISE or ["(none in the registry)"])
def test_registry_models_without_gaussian_noise_refuse_before_running(studio, model_id):
    if not NO_NOISE:
        pytest.skip("every generate model draws Gaussian initial noise")
    request = GenerateRequest(model=model_id, prompt="a face", seed=1, variation_seed=2, variation_strength=0.5)
    with pytest.raises(InputError, match="starts from no Gaussian noise, so a variation seed cannot vary it"):
        checked_settings(studio, request)
    assert checked_settings(studio, dataclasses.replace(request, variation_strength=0)).variation_strength is None


def test_a_single_generator_call_is_varied_too():
    module, gen = _pipe_module(), generators(5, 1)[0]  # pipelines that take one generator get one, not a list
    with varied_noise(Pipe(), gen, 9, 1.0):
        noise = module.randn_tensor((1, 4, 8, 8), generator=gen)
    assert torch.equal(noise, torch.randn((1, 4, 8, 8), generator=generators(9, 1)[0]))


# one model per pipeline class drawing Gaussian noise: the wrapper is per pipeline module
NOISY = list(
    {s.pipeline: s.id for s in REGISTRY.for_tasks(GENERATE_TASKS) if draws_gaussian_noise(s.pipeline)}.values()
)


@pytest.mark.parametrize("model_id", NOISY)
def test_every_model_with_gaussian_noise_varies_its_image(studio, tmp_path, model_id):
    """The first draw from the call's generators is its initial noise in every such pipeline (else TaskFailed)."""
    request = GenerateRequest(model=model_id, prompt="a red fox", steps=2, seed=5)
    base = generate(studio, request, output_dir=tmp_path)
    varied = generate(
        studio, dataclasses.replace(request, variation_seed=9, variation_strength=1.0), output_dir=tmp_path
    )
    assert not np.array_equal(np.asarray(base.images[0]), np.asarray(varied.images[0]))
    assert varied.settings[0].variation_seed == 9
