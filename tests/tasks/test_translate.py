"""The translate task on stand-ins: every image-to-image model, fitting, ControlNet edges, bad input."""

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.media import read_png_settings
from genart_demo.registry import Registry
from genart_demo.tasks.translate import TranslateRequest, canny_edges, translate

IDS = [s.id for s in Registry.load().for_tasks(["image-to-image"])]


def _req(model_id, image, **kw):
    base = {"prompt": "turn it into a watercolor", "steps": 4, "seed": 3}
    base.update(kw)
    return TranslateRequest(model=model_id, image=image, **base)


@pytest.mark.parametrize("model_id", IDS)
def test_every_translate_model_runs_offline(studio, photo, model_id, tmp_path):
    spec = studio.spec(model_id)
    batch = 2 if spec.denoises else 1  # a GAN translator is deterministic: one image per call
    result = translate(studio, _req(model_id, photo, batch=batch), output_dir=tmp_path)
    assert result.standin and len(result.images) == batch
    entry = studio.cache.get(studio.registry.get(model_id))
    assert type(entry.pipe).__name__ == spec.pipeline
    size = (spec.defaults.width, spec.defaults.height)
    assert result.input_image.size == size and all(img.size == size for img in result.images)
    assert any("resized from 100×80" in n for n in result.notes)
    assert [read_png_settings(p).seed for p in result.paths] == [3, 4][:batch]
    again = translate(studio, _req(model_id, photo, batch=batch), output_dir=tmp_path)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(again.images, result.images))


def test_controlnet_gets_and_shows_canny_edges(studio, photo, tmp_path):
    result = translate(studio, _req("controlnet-canny", photo), output_dir=tmp_path)
    edges = np.asarray(result.control_image)
    assert result.control_image.size == (64, 64) and set(np.unique(edges)) <= {0, 255}
    assert (edges == 255).any()  # the red square's border
    assert result.settings[0].canny_low == 100
    with pytest.raises(InputError, match="0 <= low < high <= 255"):
        canny_edges(Image.open(photo), 200, 100)


def test_fit_modes(studio, photo, tmp_path):
    cropped = translate(studio, _req("sd15-img2img", photo, fit="crop"), output_dir=tmp_path)
    assert any("centre-cropped" in n or "cropped" in n for n in cropped.notes)
    with pytest.raises(InputError, match="resize, crop, pad"):
        translate(studio, _req("sd15-img2img", photo, fit="stretch"), output_dir=tmp_path)


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(strength=1.5), "Strength must be from 0 to 1"),
        (dict(strength=-0.1), "Strength must be from 0 to 1"),
        (dict(prompt=""), "prompt is empty"),
        (dict(width=100), "multiple of 8"),
        (dict(scheduler="Flow Euler"), "Compatible schedulers"),
    ],
)
def test_bad_input(studio, photo, change, message, tmp_path):
    with pytest.raises(InputError, match=message):
        translate(studio, _req("sd15-img2img", photo, **change), output_dir=tmp_path)


def test_unreadable_input_and_wrong_task(studio, tmp_path):
    bogus = tmp_path / "not-an-image.png"
    bogus.write_text("hello")
    with pytest.raises(InputError, match="could not be read as an image"):
        translate(studio, _req("sd15-img2img", bogus), output_dir=tmp_path)
    with pytest.raises(InputError, match="Translate models"):
        translate(studio, _req("sd15", bogus), output_dir=tmp_path)


@pytest.mark.parametrize("model_id", [i for i in IDS if not Registry.load().get(i).denoises])
def test_a_deterministic_translator_refuses_a_batch(studio, photo, model_id, tmp_path):
    """One forward pass gives the same image every time: a batch of copies is refused (the UI hides seed and batch)."""
    with pytest.raises(InputError, match=rf"Batch size must be 1 for {model_id}: it is deterministic"):
        translate(studio, _req(model_id, photo, batch=2), output_dir=tmp_path)


def test_a_one_size_model_ignores_a_size_it_does_not_take(studio, photo, tmp_path):
    """pix2pix-facades makes 256×256 only: its size is no control, so a width or height sent is not applied."""
    result = translate(studio, _req("pix2pix-facades", photo, width=64, height=128), output_dir=tmp_path)
    assert result.images[0].size == (256, 256) and result.settings[0].width == 256
