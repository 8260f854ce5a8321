"""Autoencoder round trips (genart_demo/autoencode.py) on the registry's "autoencode" stand-ins, loaded as the app does."""

import json
import math
from pathlib import Path

import pytest
import torch

from genart_demo.autoencode import (
    AutoencoderInfo,
    autoencoder_info,
    codebook_indices,
    describe_autoencoder,
    encode_latents,
    latent_shape,
    roundtrip,
)
from genart_demo.loading import load_pipeline
from genart_demo.registry import Registry

REGISTRY = Registry.load()
AUTOENCODERS = [s.id for s in REGISTRY.for_tasks(["autoencode"])]
SIDE = 32  # (1, 3, 32, 32) test images: 4x4 KL-f8 latents, 8x8 VQ-f4 latents
# The VQ forward pass decodes z + (z_q - z).detach() (straight-through), which equals the codebook row z_q only up to
# float32 rounding of the add and subtract; KL paths are the same operations in the same order, so they agree exactly.
FORWARD_TOL = {"kl": 0.0, "vq": 1e-5}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from threads; on a busy shared CPU, OpenMP spinning makes them much slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models(settings):
    """Each autoencode entry's stand-in, loaded through load_pipeline as the pipeline cache loads it."""
    return {
        mid: load_pipeline(REGISTRY.get(mid), standin=True, device="cpu", settings=settings) for mid in AUTOENCODERS
    }


def images(batch: int = 1, height: int = SIDE, width: int = SIDE, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))  # (B, 3, H, W)


def diffusers_forward(model, x: torch.Tensor) -> torch.Tensor:
    """The reference: diffusers' own forward (KL decodes the posterior mode, VQ quantises in decode), mapped to [0, 1]."""
    with torch.inference_mode():
        return ((model(x * 2 - 1).sample + 1) / 2).clamp(0, 1)


def test_registry_has_the_three_kinds_of_autoencoder():
    repos = {REGISTRY.get(mid).repo: REGISTRY.get(mid) for mid in AUTOENCODERS}
    assert repos["stabilityai/sd-vae-ft-mse"].pipeline == "AutoencoderKL"
    assert repos["stabilityai/sdxl-vae"].pipeline == "AutoencoderKL"
    vq = repos["CompVis/ldm-celebahq-256"]
    assert (vq.pipeline, vq.subfolder, vq.family) == ("VQModel", "vqvae", "vq-vae")


@pytest.mark.parametrize("model_id", AUTOENCODERS)
def test_standin_loads_and_round_trips(model_id, models):
    spec, model = REGISTRY.get(model_id), models[model_id]
    assert type(model).__name__ == spec.pipeline and not model.training
    assert model.dtype == torch.float32 and model.device.type == "cpu"
    info = autoencoder_info(model)
    assert info.factor == spec.defaults.size_multiple  # the registry's size rule is the architecture's
    x = images()
    out = roundtrip(model, x)
    assert out.shape == x.shape and out.dtype == torch.float32 and out.device.type == "cpu"
    assert out.min().item() >= 0.0 and out.max().item() <= 1.0
    assert torch.allclose(out, diffusers_forward(model, x), rtol=0, atol=FORWARD_TOL[info.kind])
    assert torch.equal(out, roundtrip(model, x))  # deterministic: the KL mode, not a posterior sample


@pytest.mark.parametrize("model_id", ["sd-vae-ft-mse", "ldm-vq-f4"])
def test_batch_items_are_independent(model_id, models):
    model, x = models[model_id], images(batch=2, seed=3)
    together = roundtrip(model, x)
    apart = torch.cat([roundtrip(model, x[:1]), roundtrip(model, x[1:])])
    assert torch.allclose(together, apart, rtol=0, atol=1e-5)


def test_kl_latents_are_the_posterior_mean(models):
    model, x = models["sd-vae-ft-mse"], images()
    z = encode_latents(model, x)
    assert z.shape == (1, 4, SIDE // 8, SIDE // 8) == (1, *latent_shape(model, SIDE, SIDE))
    with torch.inference_mode():
        posterior = model.encode(x * 2 - 1).latent_dist
    assert torch.equal(z, posterior.mean) and posterior.std.min() > 0  # a Gaussian whose mode is its mean


def test_vq_round_trip_goes_through_the_codebook(models):
    model, x = models["ldm-vq-f4"], images(seed=1)
    codebook = model.quantize.embedding.weight.detach()  # (K, C)
    z_q = encode_latents(model, x)  # (1, C, h, w)
    assert z_q.shape == (1, 3, SIDE // 4, SIDE // 4)
    vectors = z_q.permute(0, 2, 3, 1).reshape(-1, 3)  # (h w, C)
    with torch.inference_mode():
        raw = model.encode(x * 2 - 1).latents.permute(0, 2, 3, 1).reshape(-1, 3).double()  # before quantising
    nearest = torch.cdist(raw, codebook.double()).argmin(dim=1)  # brute-force nearest codebook rows, in float64
    assert torch.equal(codebook_indices(model, x).flatten(), nearest)
    assert torch.equal(vectors, codebook[nearest])  # every latent is exactly a codebook row
    assert not torch.allclose(vectors.double(), raw)  # and quantising moved them
    with torch.inference_mode():
        decoded_q = ((model.decode(z_q, force_not_quantize=True).sample + 1) / 2).clamp(0, 1)
    assert torch.equal(roundtrip(model, x), decoded_q)


def test_codebook_indices_exist_only_for_vq(models):
    indices = codebook_indices(models["ldm-vq-f4"], images())
    assert indices.shape == (1, SIDE // 4, SIDE // 4) and indices.dtype == torch.int64
    assert indices.min() >= 0 and indices.max() < 64
    with pytest.raises(ValueError, match="no codebook.*VQModel"):
        codebook_indices(models["sdxl-vae"], images())


def test_compression_numbers():
    kl = AutoencoderInfo("kl", latent_channels=4, factor=8, scaling_factor=0.18215)
    vq = AutoencoderInfo("vq", latent_channels=3, factor=4, codebook_size=8192)  # CompVis vq-f4 (real config)
    assert kl.values_ratio == 48 and math.isnan(kl.bits_per_pixel)  # 3 * 8^2 / 4
    assert vq.values_ratio == 16 and vq.bits_per_pixel == 13 / 16  # log2(8192) / 4^2
    assert kl.latent_shape(512, 768) == (4, 64, 96) and vq.latent_shape(256, 256) == (3, 64, 64)
    assert kl.describe() == "KL-f8, 4 latent channels: 48x fewer values than RGB"
    assert vq.describe() == "VQ-f4, 3 latent channels: 16x fewer values than RGB; 8192-code codebook, 0.812 bits/pixel"


def test_descriptions_of_the_loaded_standins(models):
    assert describe_autoencoder(models["sdxl-vae"]).startswith("KL-f8, 4 latent channels")
    assert autoencoder_info(models["sdxl-vae"]).scaling_factor == pytest.approx(0.13025)
    assert "64-code codebook, 0.375 bits/pixel" in describe_autoencoder(models["ldm-vq-f4"])


def test_sizes_must_be_multiples_of_the_factor(models):
    with pytest.raises(ValueError, match=r"height 30 px: .*KL-f8 .*multiples of 8.*e\.g\. 32 x 32"):
        roundtrip(models["sd-vae-ft-mse"], images(height=30))
    with pytest.raises(ValueError, match=r"width 34 px: .*VQ-f4 .*multiples of 4"):
        roundtrip(models["ldm-vq-f4"], images(width=34))
    with pytest.raises(ValueError, match="height 4 and width 12 px: .*at least 8"):
        latent_shape(models["sdxl-vae"], 4, 12)
    assert latent_shape(models["ldm-vq-f4"], 36, 20) == (3, 9, 5)


def test_bad_images_are_refused_with_what_is_allowed(models):
    model = models["sd-vae-ft-mse"]
    with pytest.raises(ValueError, match=r"float tensor .* got Tensor of dtype torch\.uint8"):
        roundtrip(model, torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"shape \(B, 3, H, W\) .* got \(1, 1, 32, 32\)"):
        roundtrip(model, torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\[0, 1\] .* from -1 to 1"):
        roundtrip(model, torch.linspace(-1, 1, 3 * 32 * 32).reshape(1, 3, 32, 32))
    with pytest.raises(ValueError, match="not an autoencoder .* AutoencoderKL, VQModel"):
        roundtrip(torch.nn.Identity(), images())


def test_cli_lists_the_autoencoders_and_the_readme_table_has_them(capsys):
    from genart_demo.cli import build_parser, models_markdown

    args = build_parser().parse_args(["models", "--task", "autoencode", "--json"])
    assert args.func(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == AUTOENCODERS and all(r["offline"] for r in rows)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert models_markdown([REGISTRY.get(mid) for mid in AUTOENCODERS]).split("\n", 2)[2] in readme  # their rows
