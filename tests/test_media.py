"""PNG I/O: an image written with its run settings reads back as the same settings, atomically and with plain
permissions; PNGs of other tools read through their A1111 text."""

import json
import os
import stat

from PIL import Image, PngImagePlugin

from genart_demo.media import read_png_settings, save_png
from genart_demo.run_settings import GenerateSettings

SETTINGS = GenerateSettings(
    model="sd15",
    prompt="a cat, sitting: on a mat",
    negative_prompt="blurry",
    steps=20,
    scheduler="DPM++ 2M Karras",
    guidance=7.5,
    seed=42,
    width=64,
    height=48,
    standin=True,
)


def test_png_round_trip(tmp_path):
    path = save_png(Image.new("RGB", (64, 48), "red"), tmp_path / "a" / "x.png", SETTINGS)
    assert path.exists() and [p.name for p in path.parent.iterdir()] == ["x.png"]  # no temporary file left
    assert read_png_settings(path) == SETTINGS
    img = Image.open(path)
    assert img.size == (64, 48)
    assert img.text["parameters"].startswith("a cat, sitting: on a mat\nNegative prompt: blurry\nSteps: 20")
    assert json.loads(img.text["genart"]) == SETTINGS.to_metadata()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_umask()  # a plain file, not mkstemp's 0600


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_reads_a1111_only_png(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a dog\nSteps: 5, Sampler: DDIM, CFG scale: 3, Seed: 9, Size: 8x8")
    Image.new("RGB", (8, 8)).save(tmp_path / "w.png", pnginfo=info)
    back = read_png_settings(tmp_path / "w.png")
    assert isinstance(back, GenerateSettings) and (back.seed, back.steps, back.width, back.scheduler) == (
        9,
        5,
        8,
        "DDIM",
    )
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.png")
    assert read_png_settings(tmp_path / "plain.png") is None
