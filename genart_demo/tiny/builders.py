"""The stand-in table: key -> tiny random-weight builder, default sizes, build_standin().

A key is a diffusers pipeline class name or "ClassName@variant"; standin_class_name(key) is the class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from . import builders_image as bi
from . import builders_sana as bsana
from . import builders_transformer as bt
from . import builders_unet as bu
from . import builders_video as bv
from . import builders_video_flow as bvf
from . import components
from .table import (  # noqa: F401  (re-exported)
    STANDIN_CLASSES,
    STANDIN_FRAMES,
    STANDIN_MODELS,
    STANDIN_SIZES,
    STANDIN_UPSCALE,
    STANDIN_VERSION,
    standin_class_name,
)

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline, ModelMixin

STANDIN_BUILDERS: dict[str, Callable[[], DiffusionPipeline | ModelMixin]] = {
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
    "AmusedPipeline": bt.build_amused,
    "SanaPipeline": bsana.build_sana,
    "StableDiffusionImg2ImgPipeline": bi.build_sd_img2img,
    "StableDiffusionInstructPix2PixPipeline": bi.build_sd_instruct_pix2pix,
    "StableDiffusionControlNetPipeline": bi.build_sd_controlnet,
    "StableDiffusionInpaintPipeline": bi.build_sd_inpaint,
    "StableDiffusionInpaintPipeline@legacy": bi.build_sd_inpaint_legacy,
    "StableDiffusionXLInpaintPipeline": bi.build_sdxl_inpaint,
    "StableDiffusionXLImg2ImgPipeline@base": bi.build_sdxl_img2img_base,
    "StableDiffusionUpscalePipeline": bi.build_sd_upscale,
    "LDMSuperResolutionPipeline": bi.build_ldm_super_resolution,
    "TextToVideoSDPipeline": bv.build_text_to_video_sd,
    "AnimateDiffPipeline": bv.build_animatediff,
    "CogVideoXPipeline": bv.build_cogvideox,
    "StableVideoDiffusionPipeline": bv.build_svd,
    "WanPipeline": bvf.build_wan,
    "LTXPipeline": bvf.build_ltx,
    "AutoencoderKL": components.build_sd_vae,
    "AutoencoderKL@sdxl": components.build_sdxl_vae,
    "VQModel": components.build_vq_f4,
}
assert set(STANDIN_BUILDERS) == set(STANDIN_CLASSES), "tiny/table.py and the builders disagree"
assert set(STANDIN_FRAMES) <= set(STANDIN_CLASSES), "tiny/table.py: STANDIN_FRAMES names an unknown key"
assert set(STANDIN_MODELS) <= set(STANDIN_CLASSES), "tiny/table.py: STANDIN_MODELS names an unknown key"


def supported_classes() -> list[str]:
    """The stand-in keys: pipeline (or bare model) class names, and "ClassName@variant" for other layouts."""
    return sorted(STANDIN_BUILDERS)


def builder_for(pipeline_class: str) -> Callable[[], DiffusionPipeline | ModelMixin]:
    """The builder for `pipeline_class`; ValueError naming the supported classes for an unknown one."""
    builder = STANDIN_BUILDERS.get(pipeline_class)
    if builder is None:
        raise ValueError(
            f"No stand-in for pipeline class {pipeline_class!r}. Supported: {', '.join(supported_classes())}."
        )
    return builder


def build_standin(pipeline_class: str, seed: int = 0) -> DiffusionPipeline | ModelMixin:
    """A tiny random-weight pipeline (or bare model) of class `pipeline_class`; the same seed gives the same weights.

    The global torch RNG state is restored afterwards, so building does not disturb callers' sampling.
    """
    builder = builder_for(pipeline_class)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        pipe = builder()
    if pipeline_class not in STANDIN_MODELS:  # bare models have no progress bar
        pipe.set_progress_bar_config(disable=True)
    return pipe
