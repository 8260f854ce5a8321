"""Real checkpoints from the Hub, opt-in: `GENART_REAL=1 pytest -m real` on a machine with the Hub (a GPU helps).

Each test runs the genart CLI as a user would (no offline flags, the machine's own Hub cache) on the smallest real
checkpoint of a kind and checks statistics that random weights would not give. Skipped unless GENART_REAL=1 and the
Hub answers; CI has no Hub, so these never run there.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genart_demo.loading import hub_reachable
from genart_demo.media import read_png_settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(os.environ.get("GENART_REAL") != "1", reason="real checkpoints: set GENART_REAL=1"),
    pytest.mark.skipif(
        os.environ.get("GENART_REAL") == "1"
        and not hub_reachable(os.environ.get("HF_ENDPOINT", "https://huggingface.co")),
        reason="the Hugging Face Hub does not answer",
    ),
]


def genart(*args: str, out: Path) -> list[Path]:
    """Run `genart ARGS --out OUT` online (the test session's offline flags removed); the PNGs it wrote."""
    env = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_OFFLINE", "GENART_OFFLINE", "HF_HUB_CACHE"}}
    done = subprocess.run(
        [sys.executable, "-m", "genart_demo.cli", *args, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    pngs = sorted(out.rglob("*.png"))
    assert pngs, done.stdout
    return pngs


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def test_ddpm_cifar10_makes_images_not_noise(tmp_path):
    (png,) = genart("generate", "--model", "ddim-cifar10", "--steps", "50", "--seed", "0", out=tmp_path)
    settings = read_png_settings(png)
    assert settings.standin is False and settings.repo == "google/ddpm-cifar10-32"
    img = pixels(png)
    assert img.shape == (32, 32, 3)
    # A trained model gives smooth images: neighbouring pixels correlate; i.i.d. noise would give ~0.
    flat = img.mean(axis=2)
    corr = np.corrcoef(flat[:, :-1].ravel(), flat[:, 1:].ravel())[0, 1]
    assert corr > 0.6 and img.std() > 15


def test_sd_turbo_draws_the_prompt(tmp_path):
    (png,) = genart(
        "generate", "--model", "sd-turbo", "--prompt", "a bright red apple on a plain white table",
        "--steps", "1", "--seed", "0", "--width", "512", "--height", "512",
        out=tmp_path,
    )  # fmt: skip
    assert read_png_settings(png).standin is False
    img = pixels(png)
    r, g, b = (img[..., i].mean() for i in range(3))
    assert img.shape == (512, 512, 3) and r > g + 5 and r > b + 5  # a red subject on white


def test_realesrgan_beats_bicubic(tmp_path):
    y, x = np.mgrid[0:256, 0:256]
    sharp = ((np.sin(x / 6.0) > 0) ^ (np.sin(y / 9.0) > 0)).astype(np.uint8) * 200 + 30
    reference = tmp_path / "reference.png"
    Image.fromarray(np.stack([sharp] * 3, axis=-1)).save(reference)
    small = tmp_path / "small.png"
    Image.open(reference).resize((64, 64), Image.BICUBIC).save(small)
    (png,) = genart(
        "upscale", "--model", "realesrgan-x4plus", "--image", str(small), "--reference", str(reference),
        out=tmp_path / "out",
    )  # fmt: skip
    settings = read_png_settings(png)
    assert settings.standin is False and Image.open(png).size == (256, 256)
    ours, truth = pixels(png), pixels(reference)
    upsampled = np.asarray(Image.open(small).resize((256, 256), Image.BICUBIC).convert("RGB"), dtype=np.float64)

    def psnr(a):
        return 10 * np.log10(255.0**2 / np.mean((a - truth) ** 2))

    assert psnr(ours) > psnr(upsampled)  # a trained ESRGAN restores edges better than bicubic interpolation
