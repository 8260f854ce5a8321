"""The Arena tab in Debian chromium: a blind battle played to the reveal, and a two-rater session to the export."""

import csv
import io
import urllib.request

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]


def _open_arena(page, url, inner_tab):
    page.goto(url)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="Arena").click()
    page.get_by_role("tab", name=inner_tab).click()


def _wait_text(page, selector, text, timeout=120_000):
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
        arg=[selector, text],
        timeout=timeout,
    )


def test_blind_battle_to_the_reveal(page, app_server, artifacts):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _open_arena(page, app_server[0], "Battle (blind)")
    assert page.is_disabled("#arena-vote-a")  # nothing to vote on yet
    page.fill("#arena-prompt textarea", "a lighthouse at dusk")
    page.click("#arena-go")
    page.wait_for_selector("#arena-image-a img", timeout=120_000)
    page.wait_for_selector("#arena-image-b img", timeout=120_000)
    for side in ("a", "b"):  # shown whole and large, not as a 64 px thumbnail in a short strip
        box = page.locator(f"#arena-image-{side} img").bounding_box()
        assert box["height"] >= 300 and box["width"] >= 300, box
    _wait_text(page, "#arena-message", "revealed after your vote")
    assert "sd15" not in page.inner_text("#arena-message") and "sd-turbo" not in page.inner_text("#arena-message")
    page.wait_for_function("() => !document.querySelector('#arena-vote-a').disabled", timeout=30_000)
    page.click("#arena-vote-a")
    _wait_text(page, "#arena-message", "A was")
    message = page.inner_text("#arena-message")
    assert "sd15" in message and "sd-turbo" in message and "Your vote for A (" in message
    page.wait_for_function("() => document.querySelector('#arena-vote-b').disabled", timeout=30_000)
    page.screenshot(path=str(artifacts / "arena-battle.png"), full_page=True)
    assert not errors, errors


def _rate_all(page, code, name):
    page.fill("#arena-session-code input", code)
    page.fill("#arena-session-name input", name)
    page.click("#arena-session-join")
    _wait_text(page, "#arena-session-progress", "0 / 2")
    for done, button in ((1, "#arena-session-vote-a"), (2, "#arena-session-vote-tie")):
        page.wait_for_selector("#arena-session-image-a img", timeout=120_000)
        page.wait_for_function("(s) => !document.querySelector(s).disabled", arg=button, timeout=120_000)
        page.click(button)
        _wait_text(page, "#arena-session-progress", f"{done} / 2")
    _wait_text(page, "#arena-session-progress", "all done")


def test_two_raters_session_to_the_export(page, app_server, artifacts):
    _open_arena(page, app_server[0], "Organise a session")
    page.fill("#arena-org-name textarea", "browser pilot")
    page.fill("#arena-org-prompts textarea", "a red kite\na blue door")
    page.fill("#arena-org-pairs input", "2")
    page.click("#arena-org-create")
    _wait_text(page, "#arena-org-created", "Code:")
    code = page.input_value("#arena-org-code input")
    assert len(code) == 8 and code in page.inner_text("#arena-org-created")

    page.get_by_role("tab", name="Rating session").click()
    _rate_all(page, code, "Ada")
    _rate_all(page, code, "Bob")
    page.screenshot(path=str(artifacts / "arena-session.png"), full_page=True)

    page.get_by_role("tab", name="Organise a session").click()
    page.click("#arena-org-status")
    _wait_text(page, "#arena-org-raters", "Bob")
    raters = page.inner_text("#arena-org-raters")
    assert "Ada" in raters and "2" in raters
    _wait_text(page, "#arena-org-kappa", "Fleiss")
    page.click("#arena-org-export")
    page.wait_for_selector('#arena-org-files a[download$="-votes.csv"]', timeout=60_000)
    href = page.get_attribute('#arena-org-files a[download$="-votes.csv"]', "href")
    rows = list(csv.DictReader(io.StringIO(urllib.request.urlopen(href, timeout=30).read().decode())))
    assert len(rows) == 4 and sorted({r["rater"] for r in rows}) == ["Ada", "Bob"]  # 2 raters x 2 pairs
    assert sorted(r["outcome"] for r in rows) == ["a", "a", "tie", "tie"]
    assert page.query_selector('#arena-org-files a[download$="-agreement.csv"]') is not None
    page.screenshot(path=str(artifacts / "arena-organise.png"), full_page=True)
