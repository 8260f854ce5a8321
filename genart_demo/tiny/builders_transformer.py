"""Stand-in builders for the transformer pipelines: DiT, PixArt-Sigma, Stable Diffusion 3, Flux, aMUSEd."""

from __future__ import annotations

from diffusers import (
    AmusedPipeline,
    AmusedScheduler,
    DDIMScheduler,
    DiTPipeline,
    DiTTransformer2DModel,
    DPMSolverMultistepScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    PixArtSigmaPipeline,
    PixArtTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    UVit2DModel,
    VQModel,
)

from .components import (
    TEXT_HIDDEN,
    TEXT_PROJECTION,
    clip_text_encoder,
    clip_text_encoder_with_projection,
    imagenet_id2label,
    kl_vae,
    t5_encoder,
)
from .tokenizers import make_clip_tokenizer, make_t5_tokenizer

T5_DIM = 32  # d_model of the PixArt and Flux T5 encoders
AMUSED_CODEBOOK = 8192  # VQ-GAN codes, as real: samplers are built from the repo's scheduler config (mask id 8255)
AMUSED_VOCAB = 8256  # the U-ViT's token ids: the codes, then the mask token (the last id) and unused ids
SD3_T5_DIM = 64  # SD3 zero-pads the concatenated CLIP-L/G states (32 + 32) up to T5's width, so T5 must be >= 64


def build_dit() -> DiTPipeline:
    """DiTPipeline: class-conditional DiT (1000 ImageNet classes + 1 null class for guidance), 8x8 latents."""
    transformer = DiTTransformer2DModel(
        num_attention_heads=2,
        attention_head_dim=8,
        in_channels=4,
        out_channels=8,  # learned sigma: noise (4) + variance (4) channels, as in DiT-XL/2
        num_layers=2,
        sample_size=8,  # latent side: the pipeline generates sample_size x 8 = 64 px
        patch_size=2,
        num_embeds_ada_norm=1000,  # ImageNet-1k classes
    )
    scheduler = DDIMScheduler(beta_schedule="linear", clip_sample=False)
    id2label = imagenet_id2label()
    pipe = DiTPipeline(transformer=transformer, vae=kl_vae(), scheduler=scheduler, id2label=id2label)
    # DiTPipeline does not record id2label itself; the real model_index.json carries it, so do the same.
    pipe.register_to_config(id2label={str(k): v for k, v in id2label.items()})
    return pipe


def build_pixart_sigma() -> PixArtSigmaPipeline:
    """PixArtSigmaPipeline: T5 + PixArt transformer; sample_size 32 selects the pipeline's 256 px aspect-ratio bins."""
    tokenizer = make_t5_tokenizer()
    transformer = PixArtTransformer2DModel(
        num_attention_heads=2,
        attention_head_dim=8,
        in_channels=4,
        out_channels=8,  # learned sigma, as in the real checkpoints
        num_layers=2,
        cross_attention_dim=16,  # = heads x head_dim
        caption_channels=T5_DIM,
        sample_size=32,  # resolution binning only accepts 32/64/128/256; 32 -> ASPECT_RATIO_256_BIN
        patch_size=2,
        use_additional_conditions=False,  # PixArt-Sigma has no resolution/aspect micro-conditioning
    )
    scheduler = DPMSolverMultistepScheduler(beta_schedule="linear", prediction_type="epsilon")
    return PixArtSigmaPipeline(
        tokenizer=tokenizer,
        text_encoder=t5_encoder(tokenizer, d_model=T5_DIM),
        vae=kl_vae(),
        transformer=transformer,
        scheduler=scheduler,
    )


def build_sd3() -> StableDiffusion3Pipeline:
    """StableDiffusion3Pipeline: CLIP-L + CLIP-G (with projection) + T5, MMDiT on 16-channel latents."""
    tokenizer = make_clip_tokenizer()
    tokenizer_2 = make_clip_tokenizer(pad_token="!")
    tokenizer_3 = make_t5_tokenizer()
    transformer = SD3Transformer2DModel(
        sample_size=8,  # default image side = 8 x 8 = 64 px
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        joint_attention_dim=SD3_T5_DIM,
        caption_projection_dim=32,  # = heads x head_dim
        pooled_projection_dim=2 * TEXT_PROJECTION,  # pooled CLIP-L and CLIP-G embeddings, concatenated
        pos_embed_max_size=96,  # 96 patches x 2 x 8 = 1536 px, the registry's largest SD3 size
    )
    vae = kl_vae(latent_channels=16, scaling_factor=1.5305, shift_factor=0.0609, use_quant_conv=False)
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae,
        text_encoder=clip_text_encoder_with_projection(tokenizer, hidden_act="quick_gelu"),
        tokenizer=tokenizer,
        text_encoder_2=clip_text_encoder_with_projection(tokenizer_2),
        tokenizer_2=tokenizer_2,
        text_encoder_3=t5_encoder(tokenizer_3, d_model=SD3_T5_DIM),
        tokenizer_3=tokenizer_3,
    )


def build_flux() -> FluxPipeline:
    """FluxPipeline (FLUX.1 [schnell] layout: no guidance embedding, unshifted flow-matching schedule)."""
    tokenizer = make_clip_tokenizer()
    tokenizer_2 = make_t5_tokenizer()
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=64,  # 16 latent channels packed 2x2
        num_layers=1,
        num_single_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_DIM,
        pooled_projection_dim=TEXT_HIDDEN,  # Flux pools CLIPTextModel's pooler_output (no projection)
        guidance_embeds=False,
        axes_dims_rope=(4, 6, 6),  # rotary dims per axis (text/row/col): even, summing to attention_head_dim
    )
    vae = kl_vae(latent_channels=16, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)
    return FluxPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=clip_text_encoder(tokenizer),
        tokenizer=tokenizer,
        text_encoder_2=t5_encoder(tokenizer_2, d_model=T5_DIM),
        tokenizer_2=tokenizer_2,
        transformer=transformer,
    )


def build_amused() -> AmusedPipeline:
    """AmusedPipeline (amused/amused-256's layout): CLIP-L-style text encoder with projection, a U-ViT predicting
    VQ-GAN tokens, and a five-level VQ-GAN (factor 16: 64 px <-> 4x4 tokens) decoding them by codebook lookup."""
    tokenizer = make_clip_tokenizer(pad_token="!")  # the repo's tokenizer pads with '!'
    vqvae = VQModel(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 5,
        up_block_types=("UpDecoderBlock2D",) * 5,
        block_out_channels=(8,) * 5,
        layers_per_block=1,
        latent_channels=8,  # real: 64
        num_vq_embeddings=AMUSED_CODEBOOK,
        norm_num_groups=4,
        sample_size=64,
        lookup_from_codebook=True,  # the pipeline hands it token ids, not latents
        mid_block_add_attention=False,
        force_upcast=True,
    )
    transformer = UVit2DModel(
        hidden_size=16,
        num_attention_heads=2,
        block_out_channels=16,
        block_num_heads=2,
        in_channels=8,
        intermediate_size=32,
        cond_embed_dim=TEXT_PROJECTION,  # the pooled, projected CLIP embedding
        encoder_hidden_size=TEXT_HIDDEN,  # CLIP's penultimate hidden states
        micro_cond_encode_dim=4,
        micro_cond_embed_dim=5 * 4,  # five micro-conditions (size, crop, aesthetic score), each encoded to 4
        vocab_size=AMUSED_VOCAB,
        codebook_size=AMUSED_CODEBOOK,
        num_hidden_layers=1,
        num_res_blocks=1,
        sample_size=4,  # tokens per side: 4 x 16 = 64 px by default
    )
    scheduler = AmusedScheduler(mask_token_id=AMUSED_VOCAB - 1, masking_schedule="cosine")
    return AmusedPipeline(
        vqvae=vqvae,
        tokenizer=tokenizer,
        text_encoder=clip_text_encoder_with_projection(tokenizer, hidden_act="quick_gelu"),
        transformer=transformer,
        scheduler=scheduler,
    )
