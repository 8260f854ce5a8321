"""The inpaint task on stand-ins: exact compositing outside the mask, only-masked crops, outpainting, bad input."""

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.imageio import load_mask, same_aspect
from genart_demo.registry import Registry
from genart_demo.tasks.inpaint import MASK_TINT, InpaintRequest, composite, extend_canvas, inpaint, mask_preview

IDS = [s.id for s in Registry.load().for_tasks(["inpaint"])]


def _req(model_id, image, mask, **kw):
    base = {"prompt": "a small cat", "steps": 4, "seed": 5}
    base.update(kw)
    return InpaintRequest(model=model_id, image=image, mask=mask, **base)


def _outside(mask_path):
    return np.asarray(Image.open(mask_path)) < 8


@pytest.mark.parametrize("model_id", IDS)
@pytest.mark.parametrize("only_masked", [False, True])
def test_pixels_outside_the_mask_are_exactly_the_input(studio, photo, square_mask, model_id, only_masked, tmp_path):
    result = inpaint(
        studio, _req(model_id, photo, square_mask, only_masked=only_masked, mask_blur=6), output_dir=tmp_path
    )
    original = np.asarray(Image.open(photo).convert("RGB")).astype(int)
    outside = _outside(square_mask)
    for img, path in zip(result.images, result.paths):
        out = np.asarray(img).astype(int)
        assert out.shape == original.shape
        assert np.abs(out - original)[outside].max() == 0  # exact outside the mask
        assert np.abs(out - original)[~outside].max() > 0  # something was painted inside
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), out.astype(np.uint8))


def test_outpaint_extends_and_keeps_the_original(studio, photo, tmp_path):
    result = inpaint(studio, _req("sd15-inpaint", photo, None, outpaint=(16, 8, 0, 24)), output_dir=tmp_path)
    out = np.asarray(result.images[0]).astype(int)
    assert out.shape == (80 + 24, 100 + 16 + 8, 3)
    original = np.asarray(Image.open(photo).convert("RGB")).astype(int)
    assert np.array_equal(out[0:80, 16:116], original)
    assert np.asarray(result.mask)[0:80, 16:116].max() == 0 and np.asarray(result.mask)[:, :16].min() == 255


def test_mask_of_another_size_is_resized_with_a_note(studio, photo, tmp_path):
    small = tmp_path / "small-mask.png"
    m = Image.new("L", (50, 40), 0)
    m.paste(255, (20, 15, 30, 25))
    m.save(small)
    result = inpaint(studio, _req("sd15-inpaint", photo, small), output_dir=tmp_path)
    assert any("resized" in n and "mask" in n for n in result.notes)
    assert result.mask.size == (100, 80)


def test_a_mask_of_another_shape_is_refused(studio, photo, tmp_path):
    """A 40×50 mask on a 100×80 image would cover other pixels once stretched: refused, nothing written."""
    tall = tmp_path / "tall-mask.png"
    Image.new("L", (40, 50), 255).save(tall)
    with pytest.raises(
        InputError, match="The mask is 40×50 but the image is 100×80: a mask must have the image's shape"
    ):
        inpaint(studio, _req("sd15-inpaint", photo, tall), output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.png"))


def test_mask_shape_rules(tmp_path):
    assert same_aspect((100, 80), (100, 80)) and same_aspect((100, 80), (50, 40)) and same_aspect((100, 80), (51, 41))
    assert not same_aspect((100, 80), (80, 100)) and not same_aspect((100, 80), (50, 45))
    rotated = tmp_path / "rotated.jpg"  # stored 80×100, shown 100×80 once its EXIF orientation (6) is applied
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("L", (80, 100), 255).save(rotated, exif=exif)
    assert load_mask(rotated, (100, 80), keep_aspect=True)[0].size == (100, 80)
    array = np.full((40, 50), 255, np.uint8)  # an array is (rows, columns): 50×40
    assert load_mask(array, (100, 80), keep_aspect=True)[0].size == (100, 80)
    with pytest.raises(InputError, match="The mask is 80×100"):
        load_mask(Image.new("L", (80, 100), 255), (100, 80), keep_aspect=True)
    assert load_mask(Image.new("L", (80, 100), 255), (100, 80))[0].size == (100, 80)  # without it: resized


def test_composite_helpers():
    a, b = Image.new("RGB", (10, 10), (10, 20, 30)), Image.new("RGB", (10, 10), (200, 200, 200))
    mask = Image.new("L", (10, 10), 0)
    mask.paste(255, (3, 3, 7, 7))
    out = np.asarray(composite(a, b, mask, blur=3))
    assert (out[np.asarray(mask) == 0] == (10, 20, 30)).all()
    canvas, border = extend_canvas(a, 2, 0, 1, 0)
    assert canvas.size == (12, 11) and np.asarray(border)[0].min() == 255 and np.asarray(border)[1:, 2:].max() == 0


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(mask="EMPTY"), "mask is empty"),
        (dict(mask=None), "No mask"),
        (dict(strength=2.0), "Strength must be from 0 to 1"),
        (dict(outpaint=(0, 0, 0, 5000)), "from 0 to 1024"),
        (dict(outpaint=(0, -8, 0, 0)), "from 0 to 1024"),
        (dict(mask_blur=100), "Mask blur must be from 0 to 64"),
        (dict(prompt=" "), "prompt is empty"),
    ],
)
def test_bad_input(studio, photo, square_mask, change, message, tmp_path):
    if change.get("mask") == "EMPTY":
        empty = tmp_path / "empty.png"
        Image.new("L", (100, 80), 0).save(empty)
        change = {"mask": empty}
    request = _req("sd15-inpaint", photo, square_mask)
    request = InpaintRequest(**{**request.__dict__, **change})
    with pytest.raises(InputError, match=message):
        inpaint(studio, request, output_dir=tmp_path)
    assert not list(tmp_path.rglob("*.png")) or all(p.name in {"empty.png"} for p in tmp_path.rglob("*.png"))


def test_the_mask_preview_shows_outpaint_strips(studio, photo, tmp_path):
    """The preview is the widened canvas with the area to repaint tinted: the new strips (white in the bare mask, the
    page's own colour) are tinted like the painted mask, and every other pixel is the canvas's."""
    result = inpaint(studio, _req("sd15-inpaint", photo, None, outpaint=(32, 32, 0, 0)), output_dir=tmp_path)
    preview = np.asarray(mask_preview(result.input_image, result.mask)).astype(int)
    canvas = np.asarray(result.input_image.convert("RGB")).astype(int)
    assert preview.shape == (80, 164, 3)
    assert np.array_equal(preview[:, 32:132], canvas[:, 32:132])  # the original picture, untouched
    tinted = (canvas * (255 - 160) + np.array(MASK_TINT) * 160) / 255  # 160/255 of the tint over the canvas
    for strip in (np.s_[:, :32], np.s_[:, 132:]):
        assert np.abs(preview[strip] - tinted[strip]).max() <= 1
        assert (preview[strip][..., 1] < 110).all()  # green pulled down by the tint: no strip pixel is white
