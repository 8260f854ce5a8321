"""The stand-in table: pipeline class name -> tiny random-weight builder, default sizes, build_standin()."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from . import builders_transformer as bt
from . import builders_unet as bu
from .table import STANDIN_CLASSES, STANDIN_SIZES, STANDIN_VERSION  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

STANDIN_BUILDERS: dict[str, Callable[[], "DiffusionPipeline"]] = {
    "DDPMPipeline": bu.build_ddpm,
    "DDIMPipeline": bu.build_ddim,
    "ScoreSdeVePipeline": bu.build_score_sde_ve,
    "LDMPipeline": bu.build_ldm,
    "LDMTextToImagePipeline": bu.build_ldm_text2im,
    "DiTPipeline": bt.build_dit,
    "StableDiffusionPipeline": bu.build_sd,
    "StableDiffusionXLPipeline": bu.build_sdxl,
    "StableDiffusionXLImg2ImgPipeline": bu.build_sdxl_refiner,
    "PixArtSigmaPipeline": bt.build_pixart_sigma,
    "StableDiffusion3Pipeline": bt.build_sd3,
    "FluxPipeline": bt.build_flux,
}
assert set(STANDIN_BUILDERS) == set(STANDIN_CLASSES), "tiny/table.py and the builders disagree"

def supported_classes() -> list[str]:
    """The pipeline class names that have a stand-in."""
    return sorted(STANDIN_BUILDERS)


def builder_for(pipeline_class: str) -> Callable[[], "DiffusionPipeline"]:
    """The builder for `pipeline_class`; ValueError naming the supported classes for an unknown one."""
    builder = STANDIN_BUILDERS.get(pipeline_class)
    if builder is None:
        raise ValueError(
            f"No stand-in for pipeline class {pipeline_class!r}. Supported: {', '.join(supported_classes())}."
        )
    return builder


def build_standin(pipeline_class: str, seed: int = 0) -> "DiffusionPipeline":
    """A tiny random-weight pipeline of class `pipeline_class`; the same seed gives the same weights.

    The global torch RNG state is restored afterwards, so building does not disturb callers' sampling.
    """
    builder = builder_for(pipeline_class)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        pipe = builder()
    pipe.set_progress_bar_config(disable=True)
    return pipe
