"""Translate, Inpaint (drawing a mask stroke) and Super-resolve, each clicked through in Debian chromium."""
import numpy as np
import pytest
from PIL import Image


pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    y, x = np.mgrid[0:80, 0:96]
    arr = np.stack([x * 2.6, y * 3.1, (x + y) * 1.4], -1).clip(0, 255).astype(np.uint8)
    arr[20:60, 30:66] = (240, 50, 50)
    path = tmp_path_factory.mktemp("browser-inputs") / "picture.png"
    Image.fromarray(arr).save(path)
    return path


def _open_tab(page, url, name):
    page.goto(url)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name=name).click()


def _wait_for_output_image(page, selector, timeout=120_000):
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{selector} img')].some(i => i.naturalWidth > 0)", timeout=timeout
    )


def _click_until_output(page, button, selector, tries=3):
    """Click `button` until `selector` shows an image. On a loaded machine the image editor may still be
    processing its upload when first clicked, and that click then sends nothing; a later click does."""
    for attempt in range(tries):
        page.click(button)
        try:
            _wait_for_output_image(page, selector, timeout=90_000)
            return attempt + 1
        except Exception:
            if attempt == tries - 1:
                raise
            page.wait_for_timeout(2000)


def _shot(page, directory, name):
    path = directory / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_translate_tab(page, app_server, picture, artifacts):
    url, out_dir, _ = app_server
    _open_tab(page, url, "Translate")
    page.set_input_files("#translate-input input[type=file]", str(picture))
    page.fill("#translate-prompt textarea", "a watercolor painting")
    page.click("#translate-button")
    _wait_for_output_image(page, "#translate-gallery")
    assert "resized from 96×80" in page.inner_text("#translate-notes")
    _shot(page, artifacts, "translate-tab.png")


def test_inpaint_tab_with_a_drawn_stroke(page, app_server, picture, artifacts):
    url, out_dir, _ = app_server
    _open_tab(page, url, "Inpaint")
    page.set_input_files("#inpaint-editor input[type=file]", str(picture))
    canvas = page.wait_for_selector("#inpaint-editor canvas", timeout=30_000)
    page.wait_for_timeout(2000)  # the uploaded picture is still being laid out on the canvas
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 40, cy)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(cx - 40 + step * 10, cy + step * 2)
    page.mouse.up()
    page.wait_for_timeout(1500)  # let the editor commit the stroke to its layer
    page.fill("#inpaint-prompt textarea", "a small cat")
    before = set(out_dir.rglob("*inpaint*.png"))
    _click_until_output(page, "#inpaint-button", "#inpaint-gallery")
    new = sorted(set(out_dir.rglob("*inpaint*.png")) - before)
    assert len(new) == 1
    out = np.asarray(Image.open(new[0]).convert("RGB")).astype(int)
    original = np.asarray(Image.open(picture).convert("RGB")).astype(int)
    changed = np.abs(out - original).sum(-1) > 0
    assert 0 < changed.mean() < 0.5  # the stroke was repainted, the rest of the picture kept exactly
    _shot(page, artifacts, "inpaint-tab.png")


def test_super_resolve_tab(page, app_server, picture, artifacts):
    url, out_dir, _ = app_server
    _open_tab(page, url, "Super-resolve")
    page.set_input_files("#upscale-input input[type=file]", str(picture))
    page.click("#upscale-button")
    _wait_for_output_image(page, "#upscale-slider")
    _shot(page, artifacts, "super-resolve-tab.png")
