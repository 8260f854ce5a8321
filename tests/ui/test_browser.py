"""A person's path through the Generate tab in Debian chromium: type a prompt, click Generate, see the image."""

import pytest

pytestmark = pytest.mark.browser


def test_type_prompt_click_generate_see_image(page, app_server, artifacts):
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
    shot = artifacts / "generate-tab.png"
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
