"""The seed decides the output: every sampler on every stand-in family, same seed twice -> the same pixels."""

import numpy as np
import pytest

from genart_demo.registry import GENERATE_TASKS, Registry
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tasks.video import VideoRequest, generate_video

REGISTRY = Registry.load()


def _cases() -> list[tuple[str, str]]:
    """(model id, sampler) for every sampler each model family offers, on the family's first model offering it."""
    cases: dict[tuple[str, str], str] = {}
    for spec in REGISTRY.for_tasks(GENERATE_TASKS):
        for name in spec.samplers():
            cases.setdefault((spec.family, name), spec.id)
    return [(model_id, name) for (_, name), model_id in cases.items()]


CASES = _cases()
SDE = ["DPM++ SDE", "DPM++ SDE Karras"]


def _pixels(studio, model_id: str, sampler: str, seed: int, tmp_path, batch: int = 1) -> list[np.ndarray]:
    """The images of one generate call (2 steps, the stand-in's size), as int arrays."""
    req = GenerateRequest(model=model_id, prompt="a red fox", steps=2, seed=seed, batch=batch, scheduler=sampler)
    return [np.asarray(img, dtype=int) for img in generate(studio, req, output_dir=tmp_path).images]


def test_cases_cover_every_sampler_a_generate_model_offers():
    offered = {name for spec in REGISTRY.for_tasks(GENERATE_TASKS) for name in spec.samplers()}
    assert {name for _, name in CASES} == offered
    assert {"DPM++ SDE", "DPM++ SDE Karras"} <= offered
    assert len({REGISTRY.get(m).family for m, name in CASES if name == "DPM++ SDE"}) >= 4  # sd, sdxl, turbo, pixart


@pytest.mark.parametrize(("model_id", "sampler"), CASES, ids=[f"{m}:{s}" for m, s in CASES])
def test_same_seed_same_pixels(studio, model_id, sampler, tmp_path):
    first, second = (_pixels(studio, model_id, sampler, 321, tmp_path) for _ in range(2))
    assert np.abs(first[0] - second[0]).max() == 0, (model_id, sampler)


@pytest.mark.parametrize("sampler", SDE)
@pytest.mark.parametrize("model_id", ["sd15", "sdxl-base"])
def test_sde_noise_follows_each_images_seed(studio, model_id, sampler, tmp_path):
    """Image i of a batch has its own Brownian noise seeded with seed + i: it comes out as when made alone, and
    another seed gives another image."""
    batch = _pixels(studio, model_id, sampler, 40, tmp_path, batch=3)
    alone = _pixels(studio, model_id, sampler, 42, tmp_path)[0]
    assert np.abs(batch[2] - alone).max() <= 1  # batched and single convolutions may round differently by one level
    assert np.abs(batch[0] - batch[1]).max() > 10
    assert np.abs(_pixels(studio, model_id, sampler, 43, tmp_path)[0] - alone).max() > 10


@pytest.mark.parametrize("model_id", ["modelscope-t2v", "animatediff-sd15"])
def test_video_with_sde_noise_is_reproducible(studio, model_id, tmp_path):
    """Video pipelines step all frames at once (ModelScope as a batch of frames): the noise still follows the seed."""

    def frames(seed: int) -> np.ndarray:
        req = VideoRequest(model=model_id, prompt="a boat", steps=2, seed=seed, frames=2, scheduler="DPM++ SDE")
        return generate_video(studio, req, output_dir=tmp_path).frames.astype(int)

    first, second, other = frames(5), frames(5), frames(6)
    assert np.abs(first - second).max() == 0
    assert np.abs(first - other).max() > 10
