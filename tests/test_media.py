"""PNG metadata: the A1111 `parameters` text and the genart JSON chunk, written and read back."""
from PIL import Image

from genart_demo.media import a1111_parameters, parse_a1111_parameters, read_png_settings, save_png

SETTINGS = {
    "model": "sd15", "prompt": "a cat, sitting: on a mat", "negative_prompt": "blurry", "steps": 20,
    "scheduler": "DPM++ 2M Karras", "guidance": 7.5, "seed": 42, "width": 64, "height": 48, "standin": True,
}


def test_a1111_text_layout():
    text = a1111_parameters(SETTINGS)
    lines = text.split("\n")
    assert lines[0] == "a cat, sitting: on a mat"
    assert lines[1] == "Negative prompt: blurry"
    assert lines[2].startswith("Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 42, Size: 64x48, Model: sd15")


def test_a1111_text_round_trip():
    back = parse_a1111_parameters(a1111_parameters(SETTINGS))
    for key in ("prompt", "negative_prompt", "steps", "scheduler", "guidance", "seed", "width", "height", "model"):
        assert back[key] == SETTINGS[key], key


def test_parses_a_webui_string():
    text = ("masterpiece, a castle\nNegative prompt: lowres, bad hands\n"
            "Steps: 28, Sampler: Euler a, CFG scale: 6.5, Seed: 1234, Size: 512x768, Model hash: abc123, Model: foo")
    back = parse_a1111_parameters(text)
    assert back["prompt"] == "masterpiece, a castle" and back["negative_prompt"] == "lowres, bad hands"
    assert (back["steps"], back["seed"], back["guidance"], back["width"], back["height"]) == (28, 1234, 6.5, 512, 768)
    assert back["scheduler"] == "Euler a" and back["Model hash"] == "abc123"


def test_png_round_trip(tmp_path):
    path = save_png(Image.new("RGB", (64, 48), "red"), tmp_path / "a" / "x.png", SETTINGS)
    assert path.exists() and not list(path.parent.glob("*.part"))
    assert read_png_settings(path) == SETTINGS
    img = Image.open(path)
    assert img.size == (64, 48)
    assert img.text["parameters"].startswith("a cat, sitting: on a mat\nNegative prompt: blurry\nSteps: 20")


def test_reads_a1111_only_png(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a dog\nSteps: 5, Sampler: DDIM, CFG scale: 3, Seed: 9, Size: 8x8")
    Image.new("RGB", (8, 8)).save(tmp_path / "w.png", pnginfo=info)
    assert read_png_settings(tmp_path / "w.png")["seed"] == 9
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.png")
    assert read_png_settings(tmp_path / "plain.png") == {}
