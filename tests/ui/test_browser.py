"""A person's path through the Generate tab in Debian chromium: type a prompt, click Generate, see the image."""
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("GENART_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"  # screenshots, kept out of git
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Debian chromium is not installed (bash .ci/setup --browser installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


def test_type_prompt_click_generate_see_image(page, app_server):
    url, out_dir, _ = app_server
    page.goto(url)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    assert "tiny random-weight stand-in" in page.inner_text("#genart-notice")
    before = len(list(out_dir.rglob("*.png")))
    page.fill("#generate-prompt textarea", "a watercolor lighthouse at dawn")
    page.click("#generate-button")
    image = page.wait_for_selector("#generate-gallery img", timeout=120_000)
    assert image.is_visible()
    page.wait_for_function("document.querySelector('#generate-gallery img').naturalWidth > 0", timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "generate-tab.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert len(list(out_dir.rglob("*.png"))) == before + 1
    assert "a watercolor lighthouse at dawn" in page.content()  # parameters panel shows the prompt


def test_empty_prompt_shows_the_reason_and_the_page_keeps_working(page, app_server):
    url, _, _ = app_server
    page.goto(url)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.fill("#generate-prompt textarea", "")
    page.click("#generate-button")
    page.wait_for_selector("text=needs a prompt", timeout=60_000)
    page.fill("#generate-prompt textarea", "a red fox")
    page.click("#generate-button")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#generate-gallery img')].some(i => i.naturalWidth > 0)", timeout=120_000
    )
