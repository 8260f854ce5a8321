"""Stand-in builder for SANA (SanaPipeline: Gemma 2 text encoder, linear-attention DiT, 32x deep-compression
autoencoder), from its Hub repo's committed configs shrunk.

As for Wan (builders_video_flow.py), each component is the real config (genart_demo/hubfacts) through
`shrink_config`, the function the mirrored Hub cache uses: only widths and depths change, so the autoencoder keeps
its six levels (32x compression, 32 latent channels, scaling factor), the transformer its sample size (16: the
pipeline's 512 px resolution bins) and the scheduler its flow-DPM-Solver settings. The text encoder's vocabulary is
the tiny Gemma tokenizer's (tiny/tokenizers.py).

With use_resolution_binning (the pipeline's default) it samples at the nearest 512-px bin and resizes the image to
the size asked for, as the real model does.
"""

from __future__ import annotations

from diffusers import AutoencoderDC, DPMSolverMultistepScheduler, SanaPipeline, SanaTransformer2DModel
from transformers import Gemma2Config, Gemma2Model

from ..hubfacts import repo_facts
from ..mirror_shrink import shrink_config
from ..mirror_tokenizers import token_ids
from .tokenizers import make_gemma_tokenizer

SANA_REPO = "Efficient-Large-Model/Sana_600M_512px_diffusers"


def build_sana() -> SanaPipeline:
    """SanaPipeline (Sana 600M 512px layout): Gemma 2 + SANA transformer + AutoencoderDC + flow DPM-Solver++."""
    facts = repo_facts(SANA_REPO)
    tokenizer = make_gemma_tokenizer()
    text_config = shrink_config("Gemma2Model", facts.json("text_encoder/config.json"), token_ids(tokenizer))
    text_encoder = Gemma2Model(Gemma2Config.from_dict(text_config)).eval()
    transformer = SanaTransformer2DModel.from_config(
        shrink_config("SanaTransformer2DModel", facts.json("transformer/config.json"))
    )
    vae = AutoencoderDC.from_config(shrink_config("AutoencoderDC", facts.json("vae/config.json")))
    scheduler = DPMSolverMultistepScheduler.from_config(facts.json("scheduler/scheduler_config.json"))
    return SanaPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler
    )
