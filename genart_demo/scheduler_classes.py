"""The scheduler classes genart builds: diffusers' own, except where a sampler needs a fix (seeded step noise, PLMS
on v-prediction models)."""

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


class NoiseHistoryPNDMScheduler(diffusers.PNDMScheduler):
    """PLMS that keeps noise predictions in its multistep history whatever the model predicts.

    PLMS extrapolates from the model outputs of its last four steps. diffusers stores them as the model gave them and
    turns a v-prediction into noise only after combining, with the current step's alpha and sample, which are not
    those the older outputs were made at: on a v-prediction model (SD 2.1) the samples differed from what the same
    model answering in noise gives. Each output is turned into noise at the step it was made at instead.
    """

    def step(self, model_output: torch.Tensor, timestep: int, sample: torch.Tensor, return_dict: bool = True):
        if self.config.prediction_type == "v_prediction":
            alpha_prod = self.alphas_cumprod[timestep]
            model_output = alpha_prod**0.5 * model_output + (1 - alpha_prod) ** 0.5 * sample
        return super().step(model_output, timestep, sample, return_dict=return_dict)

    def _get_prev_sample(
        self, sample: torch.Tensor, timestep: int, prev_timestep: int, model_output: torch.Tensor
    ) -> torch.Tensor:
        """x_(t-delta) from x_t and the (combined) noise prediction: formula (9) of the PNDM paper."""
        alpha_prod_t = self.alphas_cumprod[timestep]
        alpha_prod_t_prev = self.alphas_cumprod[prev_timestep] if prev_timestep >= 0 else self.final_alpha_cumprod
        beta_prod_t, beta_prod_t_prev = 1 - alpha_prod_t, 1 - alpha_prod_t_prev
        sample_coeff = (alpha_prod_t_prev / alpha_prod_t) ** 0.5
        denom = alpha_prod_t * beta_prod_t_prev**0.5 + (alpha_prod_t * beta_prod_t * alpha_prod_t_prev) ** 0.5
        return sample_coeff * sample - (alpha_prod_t_prev - alpha_prod_t) * model_output / denom


# diffusers class name -> the class genart builds instead
REPLACED = {
    "DPMSolverSDEScheduler": SeededDPMSolverSDEScheduler,
    "DDPMScheduler": SeededDDPMScheduler,
    "PNDMScheduler": NoiseHistoryPNDMScheduler,
}


def scheduler_class(name: str) -> type:
    """The class genart builds for the diffusers scheduler class called `name`."""
    return REPLACED.get(name) or getattr(diffusers, name)
