"""Stand-in builders for the image-conditioned pipelines: img2img, instruct-pix2pix, ControlNet, inpainting
(SD 1.5 and SDXL) and the two 4x upscalers (SD x4 upscaler, LDM super-resolution).

Where a real checkpoint is the same repo as an existing stand-in (SD 1.5 loaded as img2img, the SDXL base
loaded as img2img, an ordinary SD 1.5 checkpoint loaded for inpainting), the builder reuses that stand-in's
builder, so for the same seed the weights are identical to it, as they are for the real repos.
"""

from __future__ import annotations

import torch
from diffusers import (
    ControlNetModel,
    DDIMScheduler,
    DDPMScheduler,
    EulerAncestralDiscreteScheduler,
    LDMSuperResolutionPipeline,
    StableDiffusionControlNetPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionInstructPix2PixPipeline,
    StableDiffusionUpscalePipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
)

from . import builders_unet as bu
from .components import TEXT_HIDDEN, clip_text_encoder, clip_text_encoder_with_projection, kl_vae, vq_vae
from .table import STANDIN_SIZES, STANDIN_UPSCALE
from .tokenizers import make_clip_tokenizer

# ControlNet's conditioning embedding: conv_in + one stride-2 conv per extra entry, so four entries
# downsample by 2 ** 3 = 8, the VAE factor: a 64x64 control image becomes the 8x8 latent grid.
CONTROLNET_EMBEDDING_CHANNELS = (4, 4, 8, 8)  # real: (16, 32, 96, 256)
ZERO_CONV_INIT_STD = 0.02  # see _wake_zero_convs

# SD x4 upscaler (stabilityai/stable-diffusion-x4-upscaler).
UPSCALER_VAE_CHANNELS = (8, 8, 8)  # three levels: latent scale factor 4, as the real one (128, 256, 512)
UPSCALER_MAX_NOISE_LEVEL = 350
UPSCALER_NUM_CLASS_EMBEDS = 1000  # the noise level is passed to the UNet as a class label (real: 1000)


def _sd_components() -> dict[str, object]:
    """The SD 1.5 stand-in's components (same weights as StableDiffusionPipeline for the same seed)."""
    return dict(bu.build_sd().components)


def _sdxl_base_components() -> dict[str, object]:
    """The SDXL base stand-in's components (same weights as StableDiffusionXLPipeline for the same seed)."""
    return dict(bu.build_sdxl().components)


def build_sd_img2img() -> StableDiffusionImg2ImgPipeline:
    """StableDiffusionImg2ImgPipeline: the SD 1.5 stand-in, as `from_pretrained` of an SD 1.5 repo gives it."""
    return StableDiffusionImg2ImgPipeline(**_sd_components(), requires_safety_checker=False)


def build_sd_inpaint_legacy() -> StableDiffusionInpaintPipeline:
    """StableDiffusionInpaintPipeline on a plain 4-channel SD 1.5 UNet: the pipeline blends latents by the mask."""
    return StableDiffusionInpaintPipeline(**_sd_components(), requires_safety_checker=False)


def build_sd_inpaint() -> StableDiffusionInpaintPipeline:
    """StableDiffusionInpaintPipeline (runwayml/stable-diffusion-inpainting layout): a 9-channel UNet.

    The UNet input is the noisy latents (4) + the mask at latent size (1) + the masked image's latents (4).
    """
    tokenizer = make_clip_tokenizer()
    # The inpainting repo ships a DDIM scheduler with SD's betas.
    scheduler = DDIMScheduler(**bu.SD_SCHEDULER, clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    return StableDiffusionInpaintPipeline(
        vae=kl_vae(),
        text_encoder=clip_text_encoder(tokenizer),
        tokenizer=tokenizer,
        unet=bu._cross_attn_unet(cross_attention_dim=TEXT_HIDDEN, in_channels=9),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_sd_instruct_pix2pix() -> StableDiffusionInstructPix2PixPipeline:
    """StableDiffusionInstructPix2PixPipeline (timbrooks/instruct-pix2pix): 8-channel UNet (latents + image latents)."""
    tokenizer = make_clip_tokenizer()
    scheduler = EulerAncestralDiscreteScheduler(**bu.SD_SCHEDULER, steps_offset=1)  # the real repo's scheduler
    return StableDiffusionInstructPix2PixPipeline(
        vae=kl_vae(),
        text_encoder=clip_text_encoder(tokenizer),
        tokenizer=tokenizer,
        unet=bu._cross_attn_unet(cross_attention_dim=TEXT_HIDDEN, in_channels=8),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _wake_zero_convs(controlnet: ControlNetModel) -> None:
    """Give ControlNet's zero-initialised output convs small random weights.

    A freshly made ControlNet adds exactly zero to the UNet, so the control image would have no effect at all;
    small weights (drawn from the builder's seeded RNG) let a changed control image change the output.
    """
    zero_convs = [
        *controlnet.controlnet_down_blocks,
        controlnet.controlnet_mid_block,
        controlnet.controlnet_cond_embedding.conv_out,
    ]
    with torch.no_grad():
        for conv in zero_convs:
            torch.nn.init.normal_(conv.weight, std=ZERO_CONV_INIT_STD)
            torch.nn.init.normal_(conv.bias, std=ZERO_CONV_INIT_STD)


def build_sd_controlnet() -> StableDiffusionControlNetPipeline:
    """StableDiffusionControlNetPipeline: the SD 1.5 stand-in + a ControlNet copied from its UNet (as trained).

    The ControlNet takes a 64x64 RGB control image; its conditioning embedding brings it to the 8x8 latents.
    """
    components = _sd_components()
    controlnet = ControlNetModel.from_unet(
        components["unet"], conditioning_embedding_out_channels=CONTROLNET_EMBEDDING_CHANNELS
    )
    _wake_zero_convs(controlnet)
    components.pop("image_encoder", None)  # not an argument of every version's constructor; None anyway
    return StableDiffusionControlNetPipeline(**components, controlnet=controlnet, requires_safety_checker=False)


def build_sdxl_img2img_base() -> StableDiffusionXLImg2ImgPipeline:
    """StableDiffusionXLImg2ImgPipeline with the SDXL BASE layout: both text encoders, 6 time ids, no aesthetics.

    This is what `StableDiffusionXLImg2ImgPipeline.from_pretrained("stabilityai/stable-diffusion-xl-base-1.0")`
    gives; the "StableDiffusionXLImg2ImgPipeline" key is the refiner layout.
    """
    return StableDiffusionXLImg2ImgPipeline(
        **_sdxl_base_components(), requires_aesthetics_score=False, add_watermarker=False
    )


def build_sdxl_inpaint() -> StableDiffusionXLInpaintPipeline:
    """StableDiffusionXLInpaintPipeline (diffusers/stable-diffusion-xl-1.0-inpainting-0.1): SDXL base + 9-ch UNet."""
    vae = bu._sdxl_vae()
    tokenizer = make_clip_tokenizer()
    tokenizer_2 = make_clip_tokenizer(pad_token="!")
    return StableDiffusionXLInpaintPipeline(
        vae=vae,
        text_encoder=clip_text_encoder(tokenizer),
        text_encoder_2=clip_text_encoder_with_projection(tokenizer_2),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=bu._sdxl_unet(cross_attention_dim=2 * TEXT_HIDDEN, time_ids=6, in_channels=9),
        scheduler=bu._sdxl_scheduler(),
        requires_aesthetics_score=False,
        force_zeros_for_empty_prompt=True,
        add_watermarker=False,
    )


def build_sd_upscale() -> StableDiffusionUpscalePipeline:
    """StableDiffusionUpscalePipeline (the SD 2 x4 upscaler): VAE factor 4, 7-channel UNet (4 latents + 3 RGB).

    The low-res image itself (noised by `low_res_scheduler` to `noise_level`) is concatenated to the latents,
    which have the low-res image's size; the VAE decodes them 4x larger. The noise level enters the UNet as
    a class label. SD 2's text encoder: OpenCLIP-H style (gelu), tokenizer padding with "!".
    """
    key = "StableDiffusionUpscalePipeline"
    tokenizer = make_clip_tokenizer(pad_token="!")
    vae = kl_vae(scaling_factor=0.08333, block_out_channels=UPSCALER_VAE_CHANNELS)
    unet = bu._cross_attn_unet(
        cross_attention_dim=TEXT_HIDDEN,
        sample_size=STANDIN_SIZES[key] // STANDIN_UPSCALE[key],
        in_channels=vae.config.latent_channels + 3,
        out_channels=vae.config.latent_channels,
        num_class_embeds=UPSCALER_NUM_CLASS_EMBEDS,
        use_linear_projection=True,
    )
    # The real repo's schedulers: DDIM (v-prediction) for sampling, DDPM to noise the low-res input.
    scheduler = DDIMScheduler(
        **bu.SD_SCHEDULER, clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="v_prediction"
    )
    low_res_scheduler = DDPMScheduler(
        beta_start=0.0001, beta_end=0.02, beta_schedule="scaled_linear", clip_sample=True, variance_type="fixed_small"
    )
    return StableDiffusionUpscalePipeline(
        vae=vae,
        text_encoder=clip_text_encoder(tokenizer, hidden_act="gelu"),
        tokenizer=tokenizer,
        unet=unet,
        low_res_scheduler=low_res_scheduler,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        watermarker=None,
        max_noise_level=UPSCALER_MAX_NOISE_LEVEL,
    )


def build_ldm_super_resolution() -> LDMSuperResolutionPipeline:
    """LDMSuperResolutionPipeline (CompVis/ldm-super-resolution-4x-openimages): VQ factor 4, 6-channel UNet.

    The UNet sees the 3-channel VQ latents concatenated with the low-res RGB image at the same size; the
    VQ decoder makes them 4x larger. The pipeline crops a PIL input to a multiple of 32 px, hence 32 -> 128.
    """
    key = "LDMSuperResolutionPipeline"
    unet = bu._pixel_unet(sample_size=STANDIN_SIZES[key] // STANDIN_UPSCALE[key], in_channels=6, out_channels=3)
    # The real repo: DDIM with latent-diffusion's bsr_sr betas (linear_start 0.0015, linear_end 0.0155).
    scheduler = DDIMScheduler(beta_start=0.0015, beta_end=0.0155, beta_schedule="scaled_linear", clip_sample=False)
    return LDMSuperResolutionPipeline(vqvae=vq_vae(), unet=unet, scheduler=scheduler)
