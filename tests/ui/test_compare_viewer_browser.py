"""Compare's viewer in Debian chromium: a compare of two stand-ins shows the A/B slider, the difference map and the
cost table, and picking another B redraws them; screenshotted to artifacts/compare-viewer.png."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]


def _wait_text(page, selector, text, timeout=120_000):
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
        arg=[selector, text],
        timeout=timeout,
    )


def _loaded_images(page, selector: str) -> list[dict]:
    """Natural sizes of the loaded images inside `selector`."""
    return page.evaluate(
        "(s) => [...document.querySelectorAll(s + ' img')].filter(i => i.complete && i.naturalWidth > 0)"
        ".map(i => ({w: i.naturalWidth, h: i.naturalHeight}))",
        selector,
    )


def test_compare_fills_slider_diff_map_and_cost_table(page, app_server, artifacts):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_server[0])
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_text("Compare models side by side").click()
    page.fill("#compare-prompt textarea", "a red fox in the snow")
    steps = page.locator("input[aria-label='number input for Steps']:visible").first
    steps.fill("2")  # the generate form's steps, which compare takes without each model's own defaults
    steps.blur()
    page.get_by_label("Each model uses its own steps, guidance, size and scheduler").uncheck()
    page.click("#compare-button")
    _wait_text(page, "#compare-legend", "pixels differ by more than")
    page.locator("#compare-costs").scroll_into_view_if_needed()  # images below the fold load only when scrolled to
    for selector, count in (("#compare-slider", 2), ("#compare-diff", 1)):  # A and B; the map
        page.wait_for_function(
            "([s, n]) => [...document.querySelectorAll(s + ' img')].filter(i => i.complete && i.naturalWidth > 0)"
            ".length >= n",
            arg=[selector, count],
            timeout=60_000,
        )
    assert _loaded_images(page, "#compare-slider") == [{"w": 64, "h": 64}] * 2  # both stand-ins draw 64 px
    assert _loaded_images(page, "#compare-diff") == [{"w": 64, "h": 64}]
    legend = page.inner_text("#compare-legend")
    assert "mean " in legend and "max " in legend and "of 255" in legend
    table = page.inner_text("#compare-costs")
    assert "seconds per image" in table and "peak memory" in table and table.count("tiny stand-in") == 2
    assert "MiB (+" in table or "GiB (+" in table
    assert "resident memory" in page.inner_text("#compare-cost-note")
    page.screenshot(path=str(artifacts / "compare-viewer.png"), full_page=True)
    assert not errors, errors
