"""The Arena tab in Debian chromium for the tasks beside text-to-image: a blind battle played to the reveal for image
editing, inpainting, super-resolution and text-to-video, and a super-resolution rating session, each showing the
input beside both sides."""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.ui.conftest import ARENA_TASK_MODELS as MODELS

pytestmark = [pytest.mark.browser, pytest.mark.server]

ERRORS = "[data-testid='status-tracker'] .error, [data-testid='toast-body']"  # error badges and popups
PROMPTED = ("inpaint", "text-to-video")  # these stand-ins need a prompt; the GANs and upscalers take none
VISIBLE_ERRORS = f'() => [...document.querySelectorAll("{ERRORS}")].map(e => e.innerText)'


@pytest.fixture(scope="module")
def arena_page(page, arena_tasks_server):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(arena_tasks_server)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="Arena").click()
    yield page
    assert not errors, errors


def _wait_text(page, selector, text, timeout=240_000):
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
        arg=[selector, text],
        timeout=timeout,
    )


def _pick(page, dropdown, option):
    page.click(f"{dropdown} input")
    page.get_by_role("option", name=option, exact=True).click()


def _shown(page, prefix, side, kind, count):
    """Side `side` shows `count` images (gallery or single image) or a video, large enough to judge."""
    if kind == "video":
        page.wait_for_selector(f"#{prefix}-video-{side} video", timeout=240_000)
        return
    where = f"#{prefix}-gallery-{side}" if count > 1 else f"#{prefix}-image-{side}"
    page.wait_for_function(  # n images loaded and laid out at least 100 px each way
        """([s, n]) => [...document.querySelectorAll(s + ' img')].filter(
            i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width >= 100
                && i.getBoundingClientRect().height >= 100).length >= n""",
        arg=[where, count],
        timeout=240_000,
    )


@pytest.mark.parametrize(
    "task, per_side, kind",
    [
        ("super-resolve", 2, "image"),
        ("image-to-image", 1, "image"),
        ("inpaint", 1, "image"),
        ("text-to-video", 1, "video"),
    ],
)
def test_blind_battle_for_each_task(arena_page, task_files, artifacts, task, per_side, kind):
    page = arena_page
    page.get_by_role("tab", name="Battle (blind)").click()
    _pick(page, "#arena-task", task)
    page.wait_for_selector("#arena-instant", state="hidden", timeout=30_000)  # pre-made outputs: text-to-image only
    takes_image = task != "text-to-video"
    page.wait_for_selector("#arena-input-image", state="visible" if takes_image else "hidden", timeout=30_000)
    if takes_image:
        page.set_input_files("#arena-input-image input[type=file]", task_files["image"])
    if task == "inpaint":
        page.set_input_files("#arena-input-mask input[type=file]", task_files["mask"])
    page.fill("#arena-prompt textarea", "a boat" if task in PROMPTED else "")
    page.fill("#arena-per-side input[type=number]", str(per_side))
    page.press("#arena-per-side input[type=number]", "Enter")
    page.click("#arena-go")
    try:
        _wait_text(page, "#arena-message", "revealed after your vote")
    except PlaywrightTimeout:
        raise AssertionError(f"no battle; on screen: {page.evaluate(VISIBLE_ERRORS)}") from None
    for side in "ab":
        _shown(page, "arena", side, kind, per_side)
    if takes_image:  # the input beside the pair
        page.wait_for_selector("#arena-input img", timeout=30_000)
        assert page.locator("#arena-input img").bounding_box()["height"] >= 100
    message = page.inner_text("#arena-message")
    assert not any(m in message for m in MODELS[task])
    page.wait_for_function("() => !document.querySelector('#arena-vote-a').disabled", timeout=30_000)
    page.click("#arena-vote-b")
    _wait_text(page, "#arena-message", "A was")
    message = page.inner_text("#arena-message")
    assert all(m in message for m in MODELS[task]) and "Your vote for B (" in message
    assert page.evaluate(VISIBLE_ERRORS) == []
    page.screenshot(path=str(artifacts / f"arena-{task}.png"), full_page=True)


def test_super_resolve_session(arena_page, task_files, artifacts):
    page = arena_page
    page.get_by_role("tab", name="Organise a session").click()
    _pick(page, "#arena-org-task", "super-resolve")
    page.wait_for_selector("#arena-org-images", state="visible", timeout=30_000)
    page.set_input_files("#arena-org-images input[type=file]", [task_files["image"], task_files["mask"]])
    page.fill("#arena-org-pairs input", "2")
    page.fill("#arena-org-name textarea", "upscalers")
    page.click("#arena-org-create")
    _wait_text(page, "#arena-org-created", "Code:")
    code = page.input_value("#arena-org-code input")
    page.get_by_role("tab", name="Rating session").click()
    page.fill("#arena-session-code input", code)
    page.fill("#arena-session-name input", "Ada")
    page.click("#arena-session-join")
    _wait_text(page, "#arena-session-progress", "0 / 2")
    for side in "ab":
        _shown(page, "arena-session", side, "image", 1)
    page.wait_for_selector("#arena-session-input img", timeout=30_000)
    page.wait_for_function("() => !document.querySelector('#arena-session-vote-a').disabled", timeout=30_000)
    page.screenshot(path=str(artifacts / "arena-session-super-resolve.png"), full_page=True)
    page.click("#arena-session-vote-a")
    _wait_text(page, "#arena-session-progress", "1 / 2")
    assert all(m in page.inner_text("#arena-session-progress") for m in MODELS["super-resolve"])  # revealed
    page.wait_for_function("() => !document.querySelector('#arena-session-vote-a').disabled", timeout=60_000)
    page.click("#arena-session-vote-tie")
    _wait_text(page, "#arena-session-progress", "all done")
    assert page.evaluate(VISIBLE_ERRORS) == []
