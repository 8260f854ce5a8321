"""Tests for the tiny offline stand-in pipelines (genart_demo.tiny)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import pytest
import torch
from PIL import Image

from genart_demo.tiny import (
    STANDIN_BUILDERS,
    STANDIN_SIZES,
    STANDIN_VERSION,
    build_standin,
    ensure_standin,
    standin_path,
)
from genart_demo.tiny.tokenizers import make_clip_tokenizer, make_t5_tokenizer

# diffusers' Euler scheduler calls np.array() on a torch tensor, which numpy 2 flags; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

UNCONDITIONAL = {"DDPMPipeline", "DDIMPipeline", "ScoreSdeVePipeline", "LDMPipeline"}
PROMPT = "a photo of a cat riding a horse"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and on a busy 2-core box OpenMP spinning makes runs 30x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One stand-in cache shared by the module's tests, so each class is built once."""
    return tmp_path_factory.mktemp("genart-cache")


def load(pipeline_class: str, cache_dir: Path) -> diffusers.DiffusionPipeline:
    """Ensure the stand-in and load it the way a Hub checkpoint is loaded."""
    path = ensure_standin(pipeline_class, cache_dir)
    pipe = getattr(diffusers, pipeline_class).from_pretrained(path, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def call_kwargs(pipeline_class: str, size: int) -> dict[str, Any]:
    """Arguments for one 2-step generation of a `size` x `size` image."""
    kwargs: dict[str, Any] = {"num_inference_steps": 2, "output_type": "np"}
    if pipeline_class in UNCONDITIONAL:
        return kwargs
    if pipeline_class == "DiTPipeline":
        return {**kwargs, "class_labels": [207]}
    kwargs["prompt"] = PROMPT
    if pipeline_class == "StableDiffusionXLImg2ImgPipeline":
        gradient = np.linspace(0, 255, size * size * 3).reshape(size, size, 3).astype(np.uint8)
        return {**kwargs, "image": Image.fromarray(gradient), "strength": 0.5}
    if pipeline_class == "PixArtSigmaPipeline":
        kwargs["clean_caption"] = False  # needs beautifulsoup4 + ftfy, which genart does not install
    return {**kwargs, "height": size, "width": size}


def generate(pipe: diffusers.DiffusionPipeline, pipeline_class: str, **overrides: Any) -> np.ndarray:
    kwargs = {**call_kwargs(pipeline_class, STANDIN_SIZES[pipeline_class]), **overrides}
    return pipe(generator=torch.Generator("cpu").manual_seed(0), **kwargs).images


@pytest.mark.parametrize("pipeline_class", sorted(STANDIN_BUILDERS))
def test_standin_saves_loads_and_generates(pipeline_class: str, cache_dir: Path) -> None:
    pipe = load(pipeline_class, cache_dir)
    assert type(pipe).__name__ == pipeline_class

    first = generate(pipe, pipeline_class)
    size = STANDIN_SIZES[pipeline_class]
    assert first.shape == (1, size, size, 3)
    assert np.isfinite(first).all()
    assert first.min() >= 0.0 and first.max() <= 1.0
    assert np.array_equal(first, generate(pipe, pipeline_class))


def test_every_class_has_a_size() -> None:
    assert set(STANDIN_SIZES) == set(STANDIN_BUILDERS)


def test_saved_folder_is_safetensors_only(cache_dir: Path) -> None:
    path = ensure_standin("StableDiffusionPipeline", cache_dir)
    assert path == cache_dir / "standins" / f"StableDiffusionPipeline-v{STANDIN_VERSION}"
    weights = [p.name for p in path.rglob("*") if p.suffix in {".bin", ".safetensors", ".pt"}]
    assert weights and all(name.endswith(".safetensors") for name in weights)


def test_ensure_standin_builds_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = STANDIN_BUILDERS["DDPMPipeline"]

    def counting_builder():
        calls.append("built")
        return original()

    monkeypatch.setitem(STANDIN_BUILDERS, "DDPMPipeline", counting_builder)
    first = ensure_standin("DDPMPipeline", tmp_path)
    mtime = (first / "model_index.json").stat().st_mtime_ns
    second = ensure_standin("DDPMPipeline", tmp_path)
    assert first == second
    assert calls == ["built"]
    assert (second / "model_index.json").stat().st_mtime_ns == mtime
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temp folder left behind


def test_incomplete_folder_is_rebuilt(tmp_path: Path) -> None:
    path = standin_path("DDPMPipeline", tmp_path)
    (path / "unet").mkdir(parents=True)  # what a crash mid-copy could look like
    assert ensure_standin("DDPMPipeline", tmp_path) == path
    assert (path / "model_index.json").is_file()
    assert (path / "unet" / "diffusion_pytorch_model.safetensors").is_file()


def test_unknown_class_names_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="StableDiffusionXLPipeline") as info:
        build_standin("Nope")
    assert "Nope" in str(info.value) and "FluxPipeline" in str(info.value)
    with pytest.raises(ValueError, match="DDPMPipeline"):
        ensure_standin("Nope", tmp_path)
    assert not (tmp_path / "standins").exists()


def test_same_seed_same_weights_and_global_rng_untouched() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = build_standin("DDPMPipeline", seed=0).unet.state_dict()
    assert torch.equal(torch.rand(3), expected)  # building did not consume the caller's RNG
    b = build_standin("DDPMPipeline", seed=0).unet.state_dict()
    c = build_standin("DDPMPipeline", seed=1).unet.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_clip_tokenizer_truncates_to_77_ending_with_eos() -> None:
    tokenizer = make_clip_tokenizer()
    ids = tokenizer(" ".join(["painting"] * 200), truncation=True, max_length=tokenizer.model_max_length).input_ids
    assert tokenizer.model_max_length == 77
    assert len(ids) == 77
    assert ids[0] == tokenizer.bos_token_id
    assert ids[-1] == tokenizer.eos_token_id


def test_tokenizers_survive_the_pipeline_round_trip(cache_dir: Path) -> None:
    sd3 = load("StableDiffusion3Pipeline", cache_dir)
    fresh_t5, fresh_clip = make_t5_tokenizer(), make_clip_tokenizer(pad_token="!")
    assert sd3.tokenizer_3(PROMPT).input_ids == fresh_t5(PROMPT).input_ids
    assert sd3.tokenizer_3(PROMPT).input_ids[-1] == 1  # T5 appends </s>
    assert sd3.tokenizer_3.pad_token_id == 0 and sd3.tokenizer_3.model_max_length == 512
    assert sd3.tokenizer_2(PROMPT).input_ids == fresh_clip(PROMPT).input_ids
    assert sd3.tokenizer_2.pad_token == "!"
    assert sd3.text_encoder.config.max_position_embeddings == 77


def test_dit_knows_the_imagenet_labels(cache_dir: Path) -> None:
    index = json.loads((ensure_standin("DiTPipeline", cache_dir) / "model_index.json").read_text())
    assert sorted(index["id2label"], key=int) == [str(i) for i in range(1000)]
    assert index["id2label"]["207"] == "golden retriever"
    dit = load("DiTPipeline", cache_dir)
    assert dit.transformer.config.num_embeds_ada_norm == 1000
    assert dit.get_label_ids(["tench", "golden retriever"]) == [0, 207]


def test_sdxl_base_latents_hand_off_to_refiner(cache_dir: Path) -> None:
    base = load("StableDiffusionXLPipeline", cache_dir)
    refiner = load("StableDiffusionXLImg2ImgPipeline", cache_dir)
    latents = base(
        prompt=PROMPT,
        height=64,
        width=64,
        num_inference_steps=2,
        denoising_end=0.8,
        output_type="latent",
        generator=torch.Generator("cpu").manual_seed(0),
    ).images
    assert latents.shape == (1, 4, 8, 8)
    image = refiner(
        prompt=PROMPT,
        image=latents,
        num_inference_steps=2,
        denoising_start=0.8,
        output_type="np",
        generator=torch.Generator("cpu").manual_seed(0),
    ).images
    assert image.shape == (1, 64, 64, 3)
    assert np.isfinite(image).all()


def test_sdxl_base_and_refiner_share_the_vae() -> None:
    base, refiner = build_standin("StableDiffusionXLPipeline"), build_standin("StableDiffusionXLImg2ImgPipeline")
    a, b = base.vae.state_dict(), refiner.vae.state_dict()
    assert base.vae.config == refiner.vae.config
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_offline_environment() -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
