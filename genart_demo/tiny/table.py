"""What the stand-ins are, without building or importing anything heavy: classes, version, default sizes."""

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
}

# Pipeline classes that have a tiny stand-in (builders.py maps each to its builder).
STANDIN_CLASSES: frozenset[str] = frozenset(STANDIN_SIZES)
