"""Stand-in builders for the flow-matching text-to-video pipelines (Wan 2.1, LTX-Video), from their real configs shrunk.

Unlike the older hand-written stand-ins, each component here is its Hub repo's committed config (genart_demo/hubfacts)
through `shrink_config`, the function the mirrored Hub cache uses: only widths and depths change, so every other key
(patch sizes, temporal downsampling, latent statistics, norms, the scheduler's flow shift) is the real one. The text
encoder's vocabulary is the tiny T5 tokenizer's (tiny/tokenizers.py).

Call: WanPipeline(prompt=..., num_frames=4k + 1, height=..., width=..., output_type="np").frames is an array
(batch, frames, height, width, 3); the VAE compresses time by 4 after the first frame and space by 8, and the
transformer patches 2x2 latents, so height and width must be multiples of 16.
LTXPipeline takes the same call with num_frames = 8k + 1: its VAE compresses time by 8 after the first frame and
space by 32 (a 4x4 patch, then three halvings), and its transformer reads each latent as one token.
"""

from __future__ import annotations

from diffusers import (
    AutoencoderKLLTXVideo,
    AutoencoderKLWan,
    FlowMatchEulerDiscreteScheduler,
    LTXPipeline,
    LTXVideoTransformer3DModel,
    UniPCMultistepScheduler,
    WanPipeline,
    WanTransformer3DModel,
)
from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

from ..hubfacts import repo_facts
from ..mirror_shrink import shrink_config
from ..mirror_tokenizers import token_ids
from ..mirror_weights import class_defaults
from .tokenizers import make_t5_tokenizer

WAN_REPO = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
LTX_REPO = "Lightricks/LTX-Video"


def build_wan() -> WanPipeline:
    """WanPipeline (Wan 2.1 T2V 1.3B layout): UMT5 + Wan causal 3D VAE + Wan transformer + flow UniPC."""
    facts = repo_facts(WAN_REPO)
    tokenizer = make_t5_tokenizer()
    text_config = shrink_config("UMT5EncoderModel", facts.json("text_encoder/config.json"), token_ids(tokenizer))
    text_encoder = UMT5EncoderModel(UMT5Config.from_dict(text_config)).eval()
    transformer = WanTransformer3DModel.from_config(
        shrink_config("WanTransformer3DModel", facts.json("transformer/config.json"))
    )
    vae = AutoencoderKLWan.from_config(shrink_config("AutoencoderKLWan", facts.json("vae/config.json")))
    scheduler = UniPCMultistepScheduler.from_config(facts.json("scheduler/scheduler_config.json"))
    return WanPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler
    )


def build_ltx() -> LTXPipeline:
    """LTXPipeline (LTX-Video 0.9 layout): T5 + LTX causal 3D VAE (space /32, time /8) + LTX transformer + the
    repo's dynamically shifted flow-matching Euler. The VAE config leaves its decoder's widths and depths to the
    class defaults, so those are shrunk from the defaults as the mirror does."""
    facts = repo_facts(LTX_REPO)
    tokenizer = make_t5_tokenizer()
    text_config = shrink_config("T5EncoderModel", facts.json("text_encoder/config.json"), token_ids(tokenizer))
    text_encoder = T5EncoderModel(T5Config.from_dict(text_config)).eval()
    transformer = LTXVideoTransformer3DModel.from_config(
        shrink_config("LTXVideoTransformer3DModel", facts.json("transformer/config.json"))
    )
    vae_config = facts.json("vae/config.json")
    vae = AutoencoderKLLTXVideo.from_config(
        shrink_config("AutoencoderKLLTXVideo", vae_config, defaults=class_defaults(AutoencoderKLLTXVideo))
    )
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(facts.json("scheduler/scheduler_config.json"))
    return LTXPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler
    )
