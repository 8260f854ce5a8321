"""The PNG info tab in Debian chromium: the AUTOMATIC1111 fixture dropped, "Send to Generate" fills the Generate tab;
a PNG naming another model (SDXL-Turbo by its A1111 hash) switches the model and its values survive the switch."""

from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

pytestmark = [pytest.mark.browser, pytest.mark.server]
A1111_PNG = Path(__file__).parents[1] / "fixtures" / "a1111.png"
# The value of the visible input labelled `label` (a slider's number box, a Number, a Textbox): the tabs not shown
# keep their own controls of the same label in the page, hidden.
SHOWN_VALUE = """(label) => {
  const shown = [...document.querySelectorAll('input, textarea')].filter(e => e.offsetParent !== null);
  const hit = shown.find(e => e.getAttribute('aria-label') === 'number input for ' + label
    || (e.closest('label') && e.closest('label').innerText.trim().startsWith(label)));
  return hit ? hit.value : null;
}"""


def _drop(page, path: Path) -> None:
    page.set_input_files("#png-info-image input[type=file]", str(path))


def _wait_value(page, label: str, value: str, timeout=60_000) -> None:
    page.wait_for_function(f"([l, v]) => ({SHOWN_VALUE})(l) === v", arg=[label, value], timeout=timeout)


def test_a1111_png_sent_to_generate(page, app_server, artifacts, tmp_path):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_server[0])
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="PNG info").click()
    _drop(page, A1111_PNG)
    page.wait_for_function(
        "() => document.querySelector('#png-info-not-restored').innerText.includes('Clip skip')", timeout=60_000
    )
    assert "AUTOMATIC1111" in page.inner_text("#png-info-summary")
    page.screenshot(path=str(artifacts / "png-info.png"), full_page=True)
    page.click("#png-info-send-generate")
    page.wait_for_function("() => document.querySelector('#generate-prompt textarea').value === 'a cat'")
    _wait_value(page, "Steps", "20")
    _wait_value(page, "Seed (-1 = random)", "1234")
    assert page.evaluate(SHOWN_VALUE, "Negative prompt") == "blurry"
    page.screenshot(path=str(artifacts / "png-info-sent-generate.png"), full_page=True)

    turbo = tmp_path / "turbo.png"  # another model: its change event must not put its defaults back
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "a fox\nSteps: 3, Sampler: Euler a, CFG scale: 1, Seed: 77, Size: 512x512, "
        "Model hash: e869ac7d69, Model: sd_xl_turbo_1.0_fp16",
    )
    Image.new("RGB", (64, 64), (30, 90, 160)).save(turbo, pnginfo=info)
    page.get_by_role("tab", name="PNG info").click()
    _drop(page, turbo)
    page.wait_for_function(
        "() => document.querySelector('#png-info-not-restored').innerText.includes('sdxl-turbo')", timeout=60_000
    )
    page.click("#png-info-send-generate")
    page.wait_for_function("() => document.querySelector('#generate-prompt textarea').value === 'a fox'")
    page.wait_for_function("() => document.body.innerText.includes('SDXL-Turbo (1-step')", timeout=60_000)
    page.wait_for_timeout(3000)  # the model change event has run by now
    _wait_value(page, "Steps", "3")
    _wait_value(page, "Seed (-1 = random)", "77")
    page.screenshot(path=str(artifacts / "png-info-sent-turbo.png"), full_page=True)
    assert not errors, errors
