"""/translate, /inpaint and /upscale on the launched app through gradio_client: PNGs with their parameters."""

import json
import re

import numpy as np
import pytest
from bad_inputs import inpaint  # the endpoints' default arguments (tests/ui/bad_inputs.py)
from gradio_client import Client, handle_file
from PIL import Image

from genart_demo.media import read_png_settings

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def _saved(notes: str, out_dir) -> list:
    """The files a run's notes say it saved (relative to the output folder), each checked to exist there."""
    names = re.findall(r"💾 Saved `([^`]+)` in the output folder", notes)
    assert names and all((out_dir / name).is_file() for name in names), notes
    return names


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("api-inputs")
    y, x = np.mgrid[0:80, 0:96]
    arr = np.stack([x * 2.6, y * 3.1, (x + y) * 1.4], -1).clip(0, 255).astype(np.uint8)
    Image.fromarray(arr).save(d / "photo.png")
    mask = Image.new("L", (96, 80), 0)
    mask.paste(255, (30, 20, 60, 50))
    mask.save(d / "mask.png")
    return d / "photo.png", d / "mask.png"


def test_translate(client, inputs, app_server):
    fitted, control, gallery, notes, params = client.predict(
        "controlnet-canny",
        handle_file(str(inputs[0])),
        "a watercolor",
        "",
        0.75,
        1.5,
        3,
        7.5,
        64,
        64,
        "resize",
        7,
        1,
        "UniPC",
        100,
        200,
        api_name="/translate",
    )
    settings = json.loads(params)
    assert settings["model"] == "controlnet-canny" and settings["seed"] == 7
    assert Image.open(fitted).size == (64, 64) and set(np.unique(np.asarray(Image.open(control)))) <= {0, 255}
    assert read_png_settings(gallery[0]["image"]).to_metadata() == settings
    assert "resized from 96×80" in notes
    (saved,) = _saved(notes, app_server[1])
    assert read_png_settings(app_server[1] / saved).to_metadata() == settings


def test_inpaint_keeps_unmasked_pixels(client, inputs):
    editor = {"background": handle_file(str(inputs[0])), "layers": [], "composite": None}
    args = inpaint(editor=editor, mask=handle_file(str(inputs[1])), prompt="a cat", steps=3, seed=9)
    mask, gallery, notes, params = client.predict(*args, api_name="/inpaint")
    settings = json.loads(params)
    out = np.asarray(Image.open(gallery[0]["image"]).convert("RGB")).astype(int)
    original = np.asarray(Image.open(inputs[0]).convert("RGB")).astype(int)
    outside = np.asarray(Image.open(inputs[1])) < 8
    assert np.abs(out - original)[outside].max() == 0
    assert read_png_settings(gallery[0]["image"]).to_metadata() == settings and settings["task"] == "inpaint"


def test_outpaint_shows_the_wide_canvas_with_its_new_strips(client, inputs, app_server):
    """Left and right strips make a 160×80 result; the mask preview is that canvas with the strips tinted (a bare mask
    showed them white, the page's colour), and the notes name the file saved."""
    editor = {"background": handle_file(str(inputs[0])), "layers": [], "composite": None}
    args = inpaint(editor=editor, mask=None, prompt="hills", left=32, right=32, steps=2, seed=9)
    preview, gallery, notes, _ = client.predict(*args, api_name="/inpaint")
    shown = np.asarray(Image.open(preview).convert("RGB")).astype(int)
    assert shown.shape == (80, 160, 3) and Image.open(gallery[0]["image"]).size == (160, 80)
    original = np.asarray(Image.open(inputs[0]).convert("RGB")).astype(int)
    assert np.array_equal(shown[:, 32:128], original)  # the picture itself, untinted
    assert (shown[:, :32, 1] < 110).all() and (shown[:, 128:, 1] < 110).all()  # strips tinted, not white
    (saved,) = _saved(notes, app_server[1])
    assert Image.open(app_server[1] / saved).size == (160, 80)


def test_inpaint_without_mask_is_refused(client, inputs):
    editor = {"background": handle_file(str(inputs[0])), "layers": [], "composite": None}
    with pytest.raises(Exception, match="No mask"):
        client.predict(
            "sd15-inpaint",
            editor,
            None,
            "a cat",
            "",
            1.0,
            4,
            False,
            32,
            0,
            0,
            0,
            0,
            3,
            7.5,
            64,
            64,
            9,
            1,
            "PNDM",
            api_name="/inpaint",
        )


def test_upscale_with_reference(client, inputs):
    reference = inputs[0].with_name("ref.png")
    Image.open(inputs[0]).resize((384, 320), Image.BICUBIC).save(reference)
    slider, scores, notes, params = client.predict(
        "sd-x4-upscaler",
        handle_file(str(inputs[0])),
        "a photo",
        "",
        20,
        2,
        9.0,
        64,
        8,
        1,
        handle_file(str(reference)),
        api_name="/upscale",
    )
    settings = json.loads(params)
    before, after = slider
    assert Image.open(after).size == (384, 320) and Image.open(before).size == (384, 320)
    assert read_png_settings(after).model == "sd-x4-upscaler" and settings["tile"] == 64
    assert "| bicubic |" in scores and settings["metric_bicubic_ssim"] > 0.99


def test_not_an_image_is_refused_and_the_server_keeps_serving(client, inputs, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_bytes(b"this is not a png")
    with pytest.raises(Exception):  # noqa: B017  (gradio_client's error class differs between versions)
        client.predict(
            "sd-x4-upscaler", handle_file(str(bogus)), "", "", 20, 2, 9.0, 64, 8, 1, None, api_name="/upscale"
        )
    slider, _, _, _ = client.predict(
        "sd-x4-upscaler", handle_file(str(inputs[0])), "", "", 20, 1, 9.0, 128, 8, 1, None, api_name="/upscale"
    )
    assert Image.open(slider[1]).size == (384, 320)
