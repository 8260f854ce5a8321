"""Safety checkers for the stand-ins, which ship none: a tiny real StableDiffusionSafetyChecker and a scripted one."""

import contextlib

import numpy as np
import torch
from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
from transformers import CLIPConfig, CLIPImageProcessor

CHECKER_SIZE = 32  # pixels the tiny checker's CLIP vision tower reads


def tiny_checker(flags_everything: bool) -> StableDiffusionSafetyChecker:
    """diffusers' own checker on a tiny CLIP vision tower. Its concept thresholds decide alone: a cosine lies in
    [-1, 1], so a threshold of -2 makes every image match every concept (flagged) and +2 makes none match."""
    config = CLIPConfig(
        text_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2},
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": CHECKER_SIZE,
            "patch_size": 8,
        },
        projection_dim=8,
    )
    torch.manual_seed(0)
    checker = StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(-2.0 if flags_everything else 2.0)
        checker.special_care_embeds_weights.fill_(2.0)
    return checker


def tiny_feature_extractor() -> CLIPImageProcessor:
    return CLIPImageProcessor(
        size={"shortest_edge": CHECKER_SIZE}, crop_size={"height": CHECKER_SIZE, "width": CHECKER_SIZE}
    )


class ScriptedChecker(torch.nn.Module):
    """Flags the n-th image it is shown (counting from 0 over all calls) when pattern[n % len(pattern)] is true, and
    blacks it out as diffusers' checker does (zeros, which the pipeline then leaves un-denormalised: black)."""

    def __init__(self, pattern):
        super().__init__()
        self.pattern = list(pattern)
        self.calls = 0
        self.seen = 0  # images checked so far
        self.register_buffer("anchor", torch.zeros(1))  # a pipeline asks its modules for their device and dtype

    @property
    def device(self) -> torch.device:
        return self.anchor.device

    @property
    def dtype(self) -> torch.dtype:
        return self.anchor.dtype

    def forward(self, clip_input, images):
        flags = [bool(self.pattern[(self.seen + i) % len(self.pattern)]) for i in range(len(images))]
        self.seen += len(images)
        for i, flag in enumerate(flags):
            if flag:
                images[i] = torch.zeros_like(images[i]) if torch.is_tensor(images) else np.zeros(images[i].shape)
        self.calls += 1
        return images, flags


@contextlib.contextmanager
def checked(studio, model_id: str, checker):
    """The studio's loaded `model_id` with `checker` and a tiny feature extractor attached, as a checkpoint that
    ships a checker loads; its own (none, for a stand-in) put back afterwards."""
    entry = studio.cache.get(studio.registry.get(model_id))
    pipe = entry.pipe
    before = {"safety_checker": pipe.safety_checker, "feature_extractor": pipe.feature_extractor}
    pipe.register_modules(safety_checker=checker, feature_extractor=tiny_feature_extractor())  # config too
    try:
        yield entry
    finally:
        pipe.register_modules(**before)
