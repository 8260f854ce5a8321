"""Stand-in builders for the video pipelines: ModelScope text-to-video, AnimateDiff, CogVideoX, Stable Video
Diffusion.

Every one makes 64x64 frames (8x8 latents x the real spatial factor 8); the default frame count of each is
STANDIN_FRAMES[key]. Call arguments (all take `num_frames`, `height`, `width`; the output is `.frames`, with
output_type="np" an array (batch, frames, height, width, 3)):
- TextToVideoSDPipeline(prompt=...)
- AnimateDiffPipeline(prompt=..., decode_chunk_size=...)
- CogVideoXPipeline(prompt=...): the VAE compresses time by 4, latent frames = (num_frames - 1) // 4 + 1;
  8k + 1 frames (1, 9, 17, ...: an odd latent count) decode to exactly num_frames, 8k + 5 decode to 8k + 8
  (diffusers' causal VAE keeps the first frame apart only for odd counts; the real 49-frame default is 8k + 1)
- StableVideoDiffusionPipeline(image=<PIL>, decode_chunk_size=...): height/width default to 576x1024 in the
  pipeline's signature, so pass them.
"""

from __future__ import annotations

from diffusers import (
    AnimateDiffPipeline,
    AutoencoderKLCogVideoX,
    AutoencoderKLTemporalDecoder,
    CogVideoXDDIMScheduler,
    CogVideoXPipeline,
    CogVideoXTransformer3DModel,
    DDIMScheduler,
    EulerDiscreteScheduler,
    MotionAdapter,
    StableVideoDiffusionPipeline,
    TextToVideoSDPipeline,
    UNet3DConditionModel,
    UNetSpatioTemporalConditionModel,
)
from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

from . import builders_unet as bu
from .components import TEXT_HIDDEN, clip_text_encoder, kl_vae, t5_encoder
from .table import STANDIN_FRAMES, STANDIN_SIZES
from .tokenizers import make_clip_tokenizer, make_t5_tokenizer

SPATIAL_FACTOR = 8  # every video VAE here has the real spatial compression
LATENT_SIZE = STANDIN_SIZES["TextToVideoSDPipeline"] // SPATIAL_FACTOR  # 8x8 latents -> 64x64 frames

# CogVideoX (THUDM/CogVideoX-2b layout).
COGVIDEOX_TEMPORAL = 4  # latent frames = (num_frames - 1) / 4 + 1
COGVIDEOX_T5_DIM = 32
COGVIDEOX_TEXT_LENGTH = 226  # the real max_text_seq_length: the pipeline's default max_sequence_length

# Stable Video Diffusion (stabilityai/stable-video-diffusion-img2vid layout).
SVD_CHANNELS = 32  # the temporal VAE decoder and the spatio-temporal UNet hard-code 32 GroupNorm groups
SVD_TIME_DIM = 8  # addition_time_embed_dim (real: 256); fps, motion bucket and noise level each embedded
# CLIP vision input side. StableVideoDiffusionPipeline resizes a PIL/numpy input to 224x224 itself (hard-coded)
# and calls the feature extractor with do_resize/do_center_crop off, so the encoder must take 224 like the
# real one; a 32 px patch keeps it to 7x7 = 49 patches (real ViT-H/14: 16x16).
SVD_CLIP_SIZE = 224
SVD_CLIP_PATCH = 32


def build_text_to_video_sd() -> TextToVideoSDPipeline:
    """TextToVideoSDPipeline (damo-vilab/text-to-video-ms-1.7b layout): CLIP + SD VAE + UNet3DConditionModel."""
    tokenizer = make_clip_tokenizer()
    unet = UNet3DConditionModel(
        sample_size=LATENT_SIZE,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
        block_out_channels=(32, 64),
        layers_per_block=1,
        norm_num_groups=8,
        cross_attention_dim=TEXT_HIDDEN,
        attention_head_dim=8,
    )
    scheduler = DDIMScheduler(**bu.SD_SCHEDULER, clip_sample=False, set_alpha_to_one=False)
    return TextToVideoSDPipeline(
        vae=kl_vae(), text_encoder=clip_text_encoder(tokenizer), tokenizer=tokenizer, unet=unet, scheduler=scheduler
    )


def build_animatediff() -> AnimateDiffPipeline:
    """AnimateDiffPipeline: the SD 1.5 stand-in (same weights for the same seed) + a MotionAdapter for its blocks.

    The pipeline's constructor turns the UNet2DConditionModel + adapter into a UNetMotionModel, which is what
    gets saved as `unet`, as for a real AnimateDiff repo.
    """
    sd = bu.build_sd()
    unet = sd.unet
    adapter = MotionAdapter(
        block_out_channels=tuple(unet.config.block_out_channels),
        motion_layers_per_block=unet.config.layers_per_block,
        motion_num_attention_heads=4,
        motion_norm_num_groups=8,
        motion_max_seq_length=32,
    )
    # The scheduler is the SD 1.5 repo's own, as on the real path: the AnimateDiff settings (linear betas, linspace
    # spacing) are the registry entry's `scheduler_overrides`, applied whenever a sampler is built for either.
    return AnimateDiffPipeline(
        vae=sd.vae,
        text_encoder=sd.text_encoder,
        tokenizer=sd.tokenizer,
        unet=unet,
        motion_adapter=adapter,
        scheduler=sd.scheduler,
    )


def build_cogvideox() -> CogVideoXPipeline:
    """CogVideoXPipeline (CogVideoX-2b layout): T5 + 3D causal VAE (time /4, space /8) + CogVideoX transformer."""
    tokenizer = make_t5_tokenizer()
    frames = STANDIN_FRAMES["CogVideoXPipeline"]
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=COGVIDEOX_TEMPORAL,
        sample_height=STANDIN_SIZES["CogVideoXPipeline"],
        sample_width=STANDIN_SIZES["CogVideoXPipeline"],
    )
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4,
        attention_head_dim=8,
        in_channels=4,
        out_channels=4,
        time_embed_dim=8,
        text_embed_dim=COGVIDEOX_T5_DIM,
        num_layers=2,
        # The pipeline's default height/width are sample_* x 8, and the sin-cos positions are built for them.
        sample_width=LATENT_SIZE,
        sample_height=LATENT_SIZE,
        sample_frames=frames,
        patch_size=2,
        temporal_compression_ratio=COGVIDEOX_TEMPORAL,
        max_text_seq_length=COGVIDEOX_TEXT_LENGTH,
    )
    # THUDM/CogVideoX-2b's scheduler config.
    scheduler = CogVideoXDDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=True,
        steps_offset=0,
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        timestep_spacing="trailing",
        snr_shift_scale=3.0,
    )
    return CogVideoXPipeline(
        tokenizer=tokenizer,
        text_encoder=t5_encoder(tokenizer, d_model=COGVIDEOX_T5_DIM),
        vae=vae,
        transformer=transformer,
        scheduler=scheduler,
    )


def build_svd() -> StableVideoDiffusionPipeline:
    """StableVideoDiffusionPipeline (image-to-video): CLIP vision encoder + temporal-decoder VAE + spatio-temporal UNet."""
    vae = AutoencoderKLTemporalDecoder(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,  # factor 8, as the real one
        block_out_channels=(SVD_CHANNELS,) * 4,
        layers_per_block=1,
        latent_channels=4,
        sample_size=STANDIN_SIZES["StableVideoDiffusionPipeline"],
    )
    vision = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=37,
            projection_dim=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=SVD_CLIP_SIZE,
            patch_size=SVD_CLIP_PATCH,
            hidden_act="gelu",  # real SVD image encoder: OpenCLIP ViT-H (gelu)
        )
    ).eval()
    feature_extractor = CLIPImageProcessor(
        size={"shortest_edge": SVD_CLIP_SIZE}, crop_size={"height": SVD_CLIP_SIZE, "width": SVD_CLIP_SIZE}
    )
    unet = UNetSpatioTemporalConditionModel(
        sample_size=LATENT_SIZE,
        in_channels=8,  # noisy latents + the conditioning image's latents
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(SVD_CHANNELS, 2 * SVD_CHANNELS),
        addition_time_embed_dim=SVD_TIME_DIM,
        projection_class_embeddings_input_dim=3 * SVD_TIME_DIM,  # fps, motion_bucket_id, noise_aug_strength
        layers_per_block=1,
        cross_attention_dim=vision.config.projection_dim,
        num_attention_heads=(4, 8),
        num_frames=STANDIN_FRAMES["StableVideoDiffusionPipeline"],
    )
    # stabilityai/stable-video-diffusion-img2vid's scheduler config (karras sigmas, v-prediction, continuous t).
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )
    return StableVideoDiffusionPipeline(
        vae=vae, image_encoder=vision, unet=unet, scheduler=scheduler, feature_extractor=feature_extractor
    )
