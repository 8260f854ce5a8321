"""Every model of every tab with a model picker, picked in turn in Debian chromium: no component shows Gradio's red
error badge (pix2pix-facades once turned every control of the Translate form into one), and a non-square result is
shown whole in the gallery. Screenshots: artifacts/every-model-<tab>.png."""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = [pytest.mark.browser, pytest.mark.server]

TABS = ("Generate", "Translate", "Inpaint", "Super-resolve", "Video")  # the tabs with a "Model" picker
# A component whose event failed shows Gradio's status tracker in its error state: a red "Error" badge.
VISIBLE_ERRORS = """() => [...document.querySelectorAll("[data-testid='status-tracker'] .error")]
    .filter(e => e.offsetParent !== null)
    .map(e => (e.closest('.block') || e).querySelector('label, [data-testid=block-label]')?.innerText || '?')"""


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def _model_picker(page):
    return page.locator("input[aria-label='Model']:visible").first


def _options(page) -> list[str]:
    """The labels the visible model picker offers ("Name [id]"), read from its open list."""
    picker = _model_picker(page)
    picker.click()
    listbox = f"#{picker.get_attribute('aria-controls')}"
    page.wait_for_selector(f"{listbox} li[role=option]", timeout=10_000)
    labels = page.locator(f"{listbox} li[role=option]").evaluate_all("items => items.map(i => i.ariaLabel)")
    page.keyboard.press("Escape")
    picker.evaluate("input => input.blur()")
    return labels


def _pick(page, label: str) -> None:
    """Choose `label` in the visible model picker and wait until its card shows the model (or an error shows)."""
    picker = _model_picker(page)
    option = page.locator(f"#{picker.get_attribute('aria-controls')} li[role=option][aria-label='{label}']")
    for _ in range(3):  # the list opens when the picker gains focus: blur it first, so the click gives it focus
        picker.evaluate("input => input.blur()")
        picker.click()
        try:
            option.wait_for(state="attached", timeout=3_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.dispatch_event("mousedown")  # the list scrolls as it opens: a pointer click waits for it to settle
    name = label.rsplit(" [", 1)[0]
    page.wait_for_function(
        f"""([name]) => [...document.querySelectorAll('strong')].some(s => s.offsetParent && s.innerText === name)
            || ({VISIBLE_ERRORS})().length > 0""",
        arg=[name],
        timeout=30_000,
    )
    page.wait_for_timeout(100)  # the rest of the update lands


def test_every_model_of_every_tab_shows_no_error_badge(page, app_server, artifacts):
    page.goto(app_server[0])
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    failures, picked = {}, 0
    for tab in TABS:
        _tab(page, tab)
        labels = _options(page)
        assert labels, tab
        for label in labels[1:] + labels[:1]:  # the first model last: the tab shows its own again at the end
            _pick(page, label)
            picked += 1
            errors = page.evaluate(VISIBLE_ERRORS)
            if errors:
                failures[f"{tab}: {label}"] = errors
                page.screenshot(path=str(artifacts / f"every-model-error-{tab}.png"), full_page=True)
                page.reload()  # a form in its error state takes no more picks: start the tab afresh
                page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
                _tab(page, tab)
        page.screenshot(path=str(artifacts / f"every-model-{tab}.png"), full_page=True)
    assert picked >= 30 and not failures, failures


def test_a_wide_result_is_shown_whole_in_the_gallery(page, app_server, artifacts):
    """128×64 from the Generate tab: the gallery tile is square, so the image must be letterboxed ("contain"), not cut
    to its middle square (Gradio's default "cover")."""
    page.goto(app_server[0])
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.fill("#generate-prompt textarea", "a long low bridge over a river")
    for label, value in (("Width", 128), ("Height", 64), ("Steps", 1)):
        box = page.locator(f"input[aria-label='number input for {label}']:visible").first
        box.fill(str(value))
        box.blur()
    page.click("#generate-button")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#generate-gallery img')].some(i => i.complete && i.naturalWidth > 0)",
        timeout=120_000,
    )
    shown = page.evaluate(
        """() => { const i = document.querySelector('#generate-gallery img'); const r = i.getBoundingClientRect();
            const view = i.closest('.grid-wrap').getBoundingClientRect();
            return {fit: getComputedStyle(i).objectFit, natural: i.naturalWidth / i.naturalHeight,
                    box: r.width / r.height, inView: r.top >= view.top - 1 && r.bottom <= view.bottom + 1}; }"""
    )
    page.screenshot(path=str(artifacts / "every-model-wide-result.png"), full_page=True)
    assert shown["natural"] == pytest.approx(2.0)  # the 128×64 image itself
    whole = shown["fit"] in ("contain", "scale-down") or abs(shown["box"] - shown["natural"]) < 0.02
    assert whole and shown["inView"], shown  # letterboxed (or a box of its own shape), none of it scrolled away
