"""What the stand-ins are, without building or importing anything heavy: keys, classes, version, default sizes."""

# Bump when any builder's architecture, config or tokenizer changes: cached stand-ins are keyed on it.
STANDIN_VERSION: int = 1

# Image side (px) each stand-in generates at by default. Pixel-space ones sample their UNet's
# sample_size directly; every latent one is 8x8 latents (16x16 for the factor-4 VQ LDM) = 64 px.
STANDIN_SIZES: dict[str, int] = {
    "DDPMPipeline": 32,
    "DDIMPipeline": 32,
    "ScoreSdeVePipeline": 32,
    "LDMPipeline": 64,
    "LDMTextToImagePipeline": 64,
    "DiTPipeline": 64,
    "StableDiffusionPipeline": 64,
    "StableDiffusionXLPipeline": 64,
    "StableDiffusionXLImg2ImgPipeline": 64,
    "PixArtSigmaPipeline": 64,  # with use_resolution_binning (default) it samples at 256 and resizes to 64
    "StableDiffusion3Pipeline": 64,
    "FluxPipeline": 64,  # Flux packs 2x2 latent patches: 64 px -> 8x8 latents -> 4x4 tokens
    "AmusedPipeline": 64,  # VQ-GAN factor 16: 64 px <-> 4x4 tokens
    "SanaPipeline": 64,  # with use_resolution_binning (default) it samples at 512 (16x16 latents) and resizes to 64
    # Image-conditioned pipelines (builders_image.py): 64 px in, 8x8 latents, 64 px out.
    "StableDiffusionImg2ImgPipeline": 64,
    "StableDiffusionInstructPix2PixPipeline": 64,
    "StableDiffusionControlNetPipeline": 64,  # the control image is 64x64 RGB too
    "StableDiffusionInpaintPipeline": 64,  # 9-channel inpainting UNet
    "StableDiffusionInpaintPipeline@legacy": 64,  # a plain 4-channel SD 1.5 UNet, blended by the mask
    "StableDiffusionXLInpaintPipeline": 64,
    "StableDiffusionXLImg2ImgPipeline@base": 64,  # the SDXL base checkpoint loaded as img2img
    # Upscalers: the OUTPUT side; the input side is STANDIN_SIZES[key] // STANDIN_UPSCALE[key].
    "StableDiffusionUpscalePipeline": 64,  # 16x16 in -> 16x16 latents -> 64x64 out
    # 32x32 in -> 128x128 out: LDMSuperResolutionPipeline crops a PIL input down to a multiple of 32,
    # so a 16x16 PIL image would become 0x0.
    "LDMSuperResolutionPipeline": 128,
    # Video pipelines (builders_video.py): the FRAME side; 8x8 latents x factor 8. Frame counts: STANDIN_FRAMES.
    "TextToVideoSDPipeline": 64,
    "AnimateDiffPipeline": 64,
    "CogVideoXPipeline": 64,
    "StableVideoDiffusionPipeline": 64,  # image-to-video: the input image is 64x64 too
    # Current fast text-to-video (builders_wan.py): the real configs shrunk in width and depth (genart_demo.mirror_shrink).
    "WanPipeline": 64,  # 8x8 latents x the real factor 8, patched 2x2 -> 4x4 tokens a frame
    "LTXPipeline": 64,  # the real factor 32 (4x4 patch, three halvings): 2x2 latents, one token each
    # Bare autoencoders (components.build_*_vae / build_vq_f4): the default INPUT side of a round trip; 8x8 or 16x16 latents.
    "AutoencoderKL": 64,  # SD 1.5-like kl-f8
    "AutoencoderKL@sdxl": 64,  # SDXL-like kl-f8 (scaling factor 0.13025)
    "VQModel": 64,  # LDM vq-f4
}

# Video pipelines: key -> default number of frames generated (pass as num_frames; output .frames).
STANDIN_FRAMES: dict[str, int] = {
    "TextToVideoSDPipeline": 8,
    "AnimateDiffPipeline": 8,
    # 4k + 1 (the VAE compresses time by 4: 9 frames -> 3 latent frames); only 8k + 1 (odd latent counts)
    # decode to exactly num_frames: 5 or 13 come back as 8 or 16 frames, as with the real CogVideoX.
    "CogVideoXPipeline": 9,
    "StableVideoDiffusionPipeline": 8,
    "WanPipeline": 5,  # 4k + 1 (the VAE compresses time by 4 after the first frame): 2 latent frames
    "LTXPipeline": 9,  # 8k + 1 (the VAE compresses time by 8 after the first frame): 2 latent frames
}

# Upscaling pipelines: key -> output side / input side.
STANDIN_UPSCALE: dict[str, int] = {"StableDiffusionUpscalePipeline": 4, "LDMSuperResolutionPipeline": 4}

# Keys whose stand-in is a bare diffusers model (config.json + weights; no model_index.json, no __call__).
STANDIN_MODELS: frozenset[str] = frozenset({"AutoencoderKL", "AutoencoderKL@sdxl", "VQModel"})

# Stand-in keys (builders.py maps each to its builder). A key is a diffusers pipeline class name, or
# "ClassName@variant" for another layout loaded with the same class; the part before "@" is always the class
# (a pipeline class, or a model class for the keys in STANDIN_MODELS).
STANDIN_CLASSES: frozenset[str] = frozenset(STANDIN_SIZES)


def standin_class_name(key: str) -> str:
    """The diffusers class a stand-in key loads with: "StableDiffusionInpaintPipeline@legacy" -> its class."""
    return key.split("@", 1)[0]
