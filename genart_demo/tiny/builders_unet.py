"""Stand-in builders for the UNet pipelines: DDPM, DDIM, score SDE-VE, LDM, Stable Diffusion 1.x/XL."""

from __future__ import annotations

from diffusers import (
    DDIMPipeline,
    DDIMScheduler,
    DDPMPipeline,
    DDPMScheduler,
    EulerDiscreteScheduler,
    LDMPipeline,
    LDMTextToImagePipeline,
    PNDMScheduler,
    ScoreSdeVePipeline,
    ScoreSdeVeScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
    UNet2DModel,
)
from diffusers.pipelines.latent_diffusion.pipeline_latent_diffusion import LDMBertConfig, LDMBertModel

from .components import (
    TEXT_HIDDEN,
    TEXT_PROJECTION,
    clip_text_encoder,
    clip_text_encoder_with_projection,
    kl_vae,
    vq_vae,
)
from .table import STANDIN_SIZES
from .tokenizers import BERT_MAX_LENGTH, make_bert_tokenizer, make_clip_tokenizer

PIXEL_SIZE = STANDIN_SIZES[
    "DDPMPipeline"
]  # DDPM/DDIM/score-SDE stand-ins sample 32x32 pixels directly (like google/ddpm-cifar10-32)
LATENT_SIZE = 8  # latent pipelines: 8x8 latents x VAE factor 8 = 64x64 images
SDXL_TIME_DIM = 8  # addition_time_embed_dim (real SDXL: 256)
SD_SCHEDULER = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}  # SD 1.x/2.x/XL betas


def _pixel_unet(time_embedding_type: str = "positional", sample_size: int = PIXEL_SIZE, **extra: object) -> UNet2DModel:
    """A two-level 3-channel UNet (the real CIFAR-10 one has four levels of 128-256 channels); `extra` overrides."""
    config: dict[str, object] = {
        "sample_size": sample_size,
        "in_channels": 3,
        "out_channels": 3,
        "block_out_channels": (16, 32),
        "layers_per_block": 1,
        "down_block_types": ("DownBlock2D", "AttnDownBlock2D"),
        "up_block_types": ("AttnUpBlock2D", "UpBlock2D"),
        "norm_num_groups": 8,
        "time_embedding_type": time_embedding_type,
    }
    config.update(extra)
    return UNet2DModel(**config)


def _ddpm_scheduler() -> DDPMScheduler:
    """google/ddpm-cifar10-32's scheduler: linear betas over 1000 steps, clipped samples."""
    return DDPMScheduler(
        num_train_timesteps=1000, beta_schedule="linear", variance_type="fixed_large", clip_sample=True
    )


def build_ddpm() -> DDPMPipeline:
    """DDPMPipeline: pixel UNet + DDPMScheduler, 32x32."""
    return DDPMPipeline(unet=_pixel_unet(), scheduler=_ddpm_scheduler())


def build_ddim() -> DDIMPipeline:
    """DDIMPipeline: DDPM weights; the pipeline's constructor converts the scheduler to DDIM, as for the real repo."""
    return DDIMPipeline(unet=_pixel_unet(), scheduler=_ddpm_scheduler())


def build_score_sde_ve() -> ScoreSdeVePipeline:
    """ScoreSdeVePipeline: NCSN++ takes continuous sigmas, hence the Fourier time embedding."""
    return ScoreSdeVePipeline(unet=_pixel_unet(time_embedding_type="fourier"), scheduler=ScoreSdeVeScheduler())


def build_ldm() -> LDMPipeline:
    """LDMPipeline (unconditional): VQ-VAE with factor 4 like ldm-celebahq-256, 16x16x3 latents -> 64x64."""
    vqvae = vq_vae()
    unet = _pixel_unet(sample_size=16)  # 16 latent px x VQ factor 4 = 64 px; the VQ latents have 3 channels
    scheduler = DDIMScheduler(beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear", clip_sample=False)
    return LDMPipeline(vqvae=vqvae, unet=unet, scheduler=scheduler)


def _cross_attn_unet(cross_attention_dim: int, **extra: object) -> UNet2DConditionModel:
    """A two-level text-conditioned UNet on 4-channel 8x8 latents."""
    config: dict[str, object] = {
        "sample_size": LATENT_SIZE,
        "in_channels": 4,
        "out_channels": 4,
        "block_out_channels": (32, 64),
        "layers_per_block": 1,
        "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
        "cross_attention_dim": cross_attention_dim,
        "attention_head_dim": 4,  # diffusers' name for the number of heads in these UNets
        "norm_num_groups": 8,
    }
    config.update(extra)
    return UNet2DConditionModel(**config)


def build_ldm_text2im() -> LDMTextToImagePipeline:
    """LDMTextToImagePipeline: LDMBert + BertTokenizer + AutoencoderKL (factor 8) + cross-attention UNet."""
    tokenizer = make_bert_tokenizer()
    bert_config = LDMBertConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=BERT_MAX_LENGTH,
        encoder_layers=2,
        encoder_ffn_dim=37,
        encoder_attention_heads=4,
        head_dim=8,
        d_model=32,
    )
    bert = LDMBertModel(bert_config).eval()
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False)
    return LDMTextToImagePipeline(
        vqvae=kl_vae(),
        bert=bert,
        tokenizer=tokenizer,
        unet=_cross_attn_unet(cross_attention_dim=bert_config.d_model),
        scheduler=scheduler,
    )


def build_sd() -> StableDiffusionPipeline:
    """StableDiffusionPipeline (SD 1.x layout): one CLIP text encoder, PNDM, no safety checker."""
    tokenizer = make_clip_tokenizer()
    scheduler = PNDMScheduler(**SD_SCHEDULER, skip_prk_steps=True, set_alpha_to_one=False, steps_offset=1)
    return StableDiffusionPipeline(
        vae=kl_vae(),
        text_encoder=clip_text_encoder(tokenizer),
        tokenizer=tokenizer,
        unet=_cross_attn_unet(cross_attention_dim=TEXT_HIDDEN),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _sdxl_vae():
    """The VAE shared by the SDXL base and refiner stand-ins (real SDXL VAE scaling factor)."""
    return kl_vae(scaling_factor=0.13025)


def _sdxl_unet(cross_attention_dim: int, time_ids: int, **extra: object) -> UNet2DConditionModel:
    """SDXL UNet: text_time conditioning on pooled text embeds + `time_ids` micro-conditioning values."""
    return _cross_attn_unet(
        **extra,
        cross_attention_dim=cross_attention_dim,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=SDXL_TIME_DIM,
        # Each time id is embedded to SDXL_TIME_DIM values, then concatenated with the pooled text embedding.
        projection_class_embeddings_input_dim=time_ids * SDXL_TIME_DIM + TEXT_PROJECTION,
    )


def _sdxl_scheduler() -> EulerDiscreteScheduler:
    """stabilityai/stable-diffusion-xl-*-1.0's Euler scheduler config."""
    return EulerDiscreteScheduler(**SD_SCHEDULER, steps_offset=1, timestep_spacing="leading")


def build_sdxl() -> StableDiffusionXLPipeline:
    """StableDiffusionXLPipeline (base): two CLIP encoders whose penultimate states are concatenated (32 + 32)."""
    vae = _sdxl_vae()  # built first so base and refiner get identical VAE weights for the same seed
    tokenizer = make_clip_tokenizer()
    tokenizer_2 = make_clip_tokenizer(pad_token="!")  # the real tokenizer_2 pads with "!"
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=clip_text_encoder(tokenizer),
        text_encoder_2=clip_text_encoder_with_projection(tokenizer_2),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        # 6 time ids: original size (2), crop top-left (2), target size (2).
        unet=_sdxl_unet(cross_attention_dim=2 * TEXT_HIDDEN, time_ids=6),
        scheduler=_sdxl_scheduler(),
        add_watermarker=False,
    )


def build_sdxl_refiner() -> StableDiffusionXLImg2ImgPipeline:
    """StableDiffusionXLImg2ImgPipeline in the refiner layout: text_encoder_2 only, aesthetic-score conditioning."""
    vae = _sdxl_vae()  # same config and build order as the base: its latents decode the same way
    tokenizer_2 = make_clip_tokenizer(pad_token="!")
    return StableDiffusionXLImg2ImgPipeline(
        vae=vae,
        text_encoder=None,
        text_encoder_2=clip_text_encoder_with_projection(tokenizer_2),
        tokenizer=None,
        tokenizer_2=tokenizer_2,
        # 5 time ids: original size (2), crop top-left (2), aesthetic score (1).
        unet=_sdxl_unet(cross_attention_dim=TEXT_HIDDEN, time_ids=5),
        scheduler=_sdxl_scheduler(),
        requires_aesthetics_score=True,
        force_zeros_for_empty_prompt=False,
        add_watermarker=False,
    )
