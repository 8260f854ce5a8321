"""The scheduler classes genart builds: diffusers' own, except where a sampler needs a fix (seeded step noise)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import diffusers
import torch

Generators = torch.Generator | Sequence[torch.Generator] | None


def noise_seeds(generator: Generators, sample: torch.Tensor) -> int | list[int]:
    """Seeds for the noise a sampler adds in its steps, fixed at a run's first step from what it is given there.

    - One generator per image (genart's tasks seed image i's with seed + i): each image's own seed, so an image
      comes out the same in a batch as alone.
    - More rows than generators (a video pipeline stepping its frames as one batch): the first generator's seed.
    - No generator (DiTPipeline and LDMTextToImagePipeline call `step` without one): a seed per image read from its
      starting noise, which that image's generator drew.
    """
    batch = sample.shape[0]
    if generator is None:
        rows = sample.detach().to("cpu", torch.float32).reshape(batch, -1).numpy()  # (B, C*H*W)
        return [int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little") for row in rows]
    seeds = [g.initial_seed() for g in (generator if isinstance(generator, (list, tuple)) else [generator])]
    return seeds if len(seeds) == batch else seeds[0]


class SeededDPMSolverSDEScheduler(diffusers.DPMSolverSDEScheduler):
    """DPM++ SDE whose Brownian noise is seeded by `noise_seeds`.

    diffusers seeds its Brownian tree from the `noise_sampler_seed` config value or, when that is None (every real
    checkpoint), from the global torch RNG, so the same seed gave other images. Taking `generator` in `step` makes
    pipelines pass theirs (they hand it to every scheduler whose step takes one).
    """

    def step(
        self,
        model_output: torch.Tensor,
        timestep: float | torch.Tensor,
        sample: torch.Tensor,
        return_dict: bool = True,
        s_noise: float = 1.0,
        generator: Generators = None,
    ):
        if self.noise_sampler is None:  # set_timesteps clears it: one tree per run, made at its first step
            self.noise_sampler_seed = noise_seeds(generator, sample)
        return super().step(model_output, timestep, sample, return_dict=return_dict, s_noise=s_noise)


class SeededDDPMScheduler(diffusers.DDPMScheduler):
    """DDPM that draws its step noise from per-image generators seeded by `noise_seeds` when the pipeline passes
    none (diffusers would draw from the global torch RNG); a pipeline's own generator is used as it is."""

    def set_timesteps(self, *args, **kwargs):
        self._noise_generators = None  # a new run: seeded again at its first step
        return super().set_timesteps(*args, **kwargs)

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int,
        sample: torch.Tensor,
        generator: Generators = None,
        return_dict: bool = True,
    ):
        if generator is None:
            if getattr(self, "_noise_generators", None) is None:
                seeds = noise_seeds(None, sample)
                self._noise_generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
            generator = self._noise_generators
        return super().step(model_output, timestep, sample, generator=generator, return_dict=return_dict)


# diffusers class name -> the class genart builds instead
REPLACED = {"DPMSolverSDEScheduler": SeededDPMSolverSDEScheduler, "DDPMScheduler": SeededDDPMScheduler}


def scheduler_class(name: str) -> type:
    """The class genart builds for the diffusers scheduler class called `name`."""
    return REPLACED.get(name) or getattr(diffusers, name)
