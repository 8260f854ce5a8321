"""The super-resolve task on stand-ins: every upscaler, tiling, reference metrics, bad input."""

import dataclasses

import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.media import read_png_settings
from genart_demo.registry import Registry
from genart_demo.tasks.upscale import UpscaleRequest, upscale

IDS = [s.id for s in Registry.load().for_tasks(["super-resolve"])]


@pytest.mark.parametrize("model_id", IDS)
def test_every_upscaler_runs_offline_tiled_and_untiled(studio, photo, model_id, tmp_path):
    spec = studio.spec(model_id)
    scale = spec.scale
    whole = upscale(
        studio,
        UpscaleRequest(model=model_id, image=photo, prompt="a photo", steps=2, seed=1, tile=128),
        output_dir=tmp_path,
    )
    assert whole.image.size == (100 * scale, 80 * scale) and whole.bicubic.size == whole.image.size
    tiled = upscale(
        studio,
        UpscaleRequest(model=model_id, image=photo, prompt="a photo", steps=2, seed=1, tile=48, overlap=8),
        output_dir=tmp_path,
    )
    assert tiled.image.size == whole.image.size
    assert any("tiles of 48 px" in n for n in tiled.notes)
    settings = read_png_settings(tiled.path)
    assert settings.tile == 48 and settings.scale == scale and settings.input_size == "100x80"


def test_reference_scores_result_and_bicubic(studio, photo, tmp_path):
    model_id = IDS[0]
    reference = Image.open(photo).resize((400, 320), Image.BICUBIC)
    ref_path = tmp_path / "ref.png"
    reference.save(ref_path)
    result = upscale(
        studio,
        UpscaleRequest(model=model_id, image=photo, prompt="a photo", steps=2, seed=1, reference=ref_path),
        output_dir=tmp_path,
    )
    m = result.metrics
    assert set(m) == {"psnr", "ssim", "bicubic_psnr", "bicubic_ssim"}
    assert m["bicubic_psnr"] > 40 and m["bicubic_ssim"] > 0.99  # the reference *is* the bicubic upscale
    assert m["psnr"] < m["bicubic_psnr"]  # a random-weight stand-in is worse than bicubic


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(tile=8), "Tile size must be from 32"),
        (dict(tile=64, overlap=40), "Tile overlap must be from 0 to 31"),
        (dict(noise_level=400), "Noise level must be a whole number from 0 to 350"),
    ],
)
def test_bad_input(studio, photo, change, message, tmp_path):
    request = UpscaleRequest(model="sd-x4-upscaler", image=photo, prompt="x", steps=2, **change)
    with pytest.raises(InputError, match=message):
        upscale(studio, request, output_dir=tmp_path)


def test_pixel_limit_refused_before_decoding(studio, tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (300, 300)).save(big)
    limited = dataclasses.replace(studio, settings=dataclasses.replace(studio.settings, max_pixels=10000))
    with pytest.raises(InputError, match="the limit is 10,000"):
        upscale(limited, UpscaleRequest(model="sd-x4-upscaler", image=big, steps=2), output_dir=tmp_path)


def test_gan_standin_tiled_equals_untiled(studio):
    """The RRDBNet stand-in is deterministic per neighbourhood (receptive radius about 19 input px), so with a
    blend margin wider than that (overlap 80 -> margin 20) tiles reproduce the one-piece result."""
    import torch

    from genart_demo.sr import upscale_tensor
    from genart_demo.tiling import tiled_upscale

    entry = studio.cache.get(studio.registry.get("realesrgan-x4plus"))
    x = torch.rand(1, 3, 170, 200, generator=torch.Generator().manual_seed(0))  # (B, C, H, W)
    whole = upscale_tensor(entry.pipe, x)
    tiled = tiled_upscale(lambda t: upscale_tensor(entry.pipe, t), x, 4, tile=161, overlap=80)
    assert tiled.shape == whole.shape == (1, 3, 680, 800)
    assert (tiled - whole).abs().max().item() <= 1e-4
