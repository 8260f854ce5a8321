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


class Runs:
    """Generate and video calls on the session studio (2 steps, the stand-ins' sizes). The cached pipelines they
    switch through samplers get back the scheduler they had when `restore` is called (other tests read it)."""

    def __init__(self, studio, tmp_path):
        self.studio, self.tmp_path, self._before = studio, tmp_path, {}

    def _remember(self, model_id: str) -> None:
        entry = self.studio.cache.get(self.studio.registry.get(model_id))
        self._before.setdefault(model_id, (entry, entry.pipe.scheduler, entry.sampler))

    def images(self, model_id: str, sampler: str, seed: int, batch: int = 1) -> list[np.ndarray]:
        self._remember(model_id)
        req = GenerateRequest(model=model_id, prompt="a red fox", steps=2, seed=seed, batch=batch, scheduler=sampler)
        return [np.asarray(img, dtype=int) for img in generate(self.studio, req, output_dir=self.tmp_path).images]

    def frames(self, model_id: str, sampler: str, seed: int) -> np.ndarray:
        self._remember(model_id)
        req = VideoRequest(model=model_id, prompt="a boat", steps=2, seed=seed, frames=2, scheduler=sampler)
        return generate_video(self.studio, req, output_dir=self.tmp_path).frames.astype(int)

    def restore(self) -> None:
        for entry, scheduler, name in self._before.values():
            entry.pipe.scheduler, entry.sampler = scheduler, name


@pytest.fixture(scope="module")
def runs(studio, tmp_path_factory):
    made = Runs(studio, tmp_path_factory.mktemp("seeds"))
    yield made
    made.restore()


def test_cases_cover_every_sampler_a_generate_model_offers():
    offered = {name for spec in REGISTRY.for_tasks(GENERATE_TASKS) for name in spec.samplers()}
    assert {name for _, name in CASES} == offered
    assert set(SDE) <= offered
    assert len({REGISTRY.get(m).family for m, name in CASES if name == "DPM++ SDE"}) >= 4  # sd, sdxl, turbo, pixart


@pytest.mark.parametrize(("model_id", "sampler"), CASES, ids=[f"{m}:{s}" for m, s in CASES])
def test_same_seed_same_pixels(runs, model_id, sampler):
    first, second = (runs.images(model_id, sampler, 321) for _ in range(2))
    assert np.abs(first[0] - second[0]).max() == 0, (model_id, sampler)


@pytest.mark.parametrize("sampler", SDE)
@pytest.mark.parametrize("model_id", ["sd15", "sdxl-base"])
def test_sde_noise_follows_each_images_seed(runs, model_id, sampler):
    """Image i of a batch has its own Brownian noise seeded with seed + i: it comes out as when made alone, and
    another seed gives another image."""
    batch = runs.images(model_id, sampler, 40, batch=3)
    alone = runs.images(model_id, sampler, 42)[0]
    assert np.abs(batch[2] - alone).max() <= 1  # batched and single convolutions may round differently by one level
    assert np.abs(batch[0] - batch[1]).max() > 10
    assert np.abs(runs.images(model_id, sampler, 43)[0] - alone).max() > 10


@pytest.mark.parametrize("model_id", ["modelscope-t2v", "animatediff-sd15"])
def test_video_with_sde_noise_is_reproducible(runs, model_id):
    """Video pipelines step all frames at once (ModelScope as a batch of frames): the noise still follows the seed."""
    first, second, other = (runs.frames(model_id, "DPM++ SDE", seed) for seed in (5, 5, 6))
    assert np.abs(first - second).max() == 0
    assert np.abs(first - other).max() > 10
