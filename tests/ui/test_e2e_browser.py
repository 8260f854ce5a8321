"""End to end in Debian chromium: every studio tab used once on one page, screenshotted, with no browser or server error."""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = [pytest.mark.browser, pytest.mark.server]

RUN_NAME = "e2e"  # the scored leaderboard run this module makes in the app's runs folder
LEADERBOARD_MODELS = ("sd15", "sd-turbo")

# Console errors that are no fault of genart, each as a regex over "<text> @ <source url>" with a comment saying why.
# Empty: the default theme's fonts are served by the app itself, and every tab runs without a console error. Warnings
# (PixiJS deprecations in the image editor, Vega-Lite version notes in plots) are not errors and are not collected.
ALLOWED_CONSOLE: tuple[re.Pattern, ...] = ()
SERVER_PROBLEMS = re.compile(r"Traceback \(most recent call last\)|\sERROR\s|Exception in ASGI application")


@dataclass
class Watch:
    """What the browser and the server reported since the module started; `new()` returns what came since last asked."""

    log_path: Path
    log_offset: int
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    seen: tuple[int, int, int] = (0, 0, 0)

    def on_console(self, msg) -> None:
        if msg.type != "error":
            return
        text = f"{msg.text} @ {msg.location.get('url', '')}"
        if not any(pattern.search(text) for pattern in ALLOWED_CONSOLE):
            self.console.append(text)

    def server_lines(self) -> list[str]:
        with open(self.log_path, "rb") as log:
            log.seek(self.log_offset)
            text = log.read().decode("utf-8", "replace")
        return [line for line in text.splitlines() if SERVER_PROBLEMS.search(line)]

    def forget_browser_errors(self) -> None:
        """Drop the browser errors seen so far (after the self-check has made some on purpose)."""
        self.console.clear()
        self.page_errors.clear()
        self.seen = (0, 0, self.seen[2])

    def new(self) -> dict[str, list[str]]:
        server = self.server_lines()
        c, p, s = self.seen
        self.seen = (len(self.console), len(self.page_errors), len(server))
        found = {"console errors": self.console[c:], "page errors": self.page_errors[p:], "server log": server[s:]}
        return {kind: items for kind, items in found.items() if items}


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    y, x = np.mgrid[0:80, 0:96]
    arr = np.stack([x * 2.6, y * 3.1, (x + y) * 1.4], -1).clip(0, 255).astype(np.uint8)
    arr[20:60, 30:66] = (240, 50, 50)
    path = tmp_path_factory.mktemp("e2e-inputs") / "picture.png"
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture(scope="module")
def scored_run(app_server, genart_cli):
    """A future: a 3-prompt DrawBench sample through two stand-ins, run and scored in the background while the
    first tabs are driven; the leaderboard test waits for it."""

    def make() -> Path:
        out = app_server[1] / "leaderboard" / RUN_NAME
        for args in (
            [
                "run",
                "--models",
                ",".join(LEADERBOARD_MODELS),
                "--prompts",
                "drawbench",
                "--sample",
                "3",
                "--steps",
                "2",
                "--out",
                str(out),
            ],
            ["score", str(out)],
        ):
            proc = genart_cli("leaderboard", *args)
            assert proc.returncode == 0, proc.stderr[-3000:]
        return out

    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(make)


@pytest.fixture(scope="module")
def studio_page(page, app_server, scored_run):
    """The studio open in chromium, with every console error, page error and new server-log line watched."""
    url, _, log_path = app_server
    watch = Watch(log_path, log_path.stat().st_size)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.page_errors.append(f"{exc.name}: {exc.message}"))
    page.goto(url)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    return page, watch


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def _set_number(page, label: str, value) -> None:
    """Type into the number box of the visible slider or number field called `label`."""
    box = page.locator(f"input[aria-label='number input for {label}']:visible").first
    box.fill(str(value))
    box.blur()


def _upload(page, component: str, path: Path, shown: str) -> None:
    """Give `path` to the upload box of `component` and wait until the component shows it (`shown` inside it)."""
    page.set_input_files(f"{component} input[type=file]", str(path))
    if shown.startswith("text="):  # a file list writes a name's stem and extension in separate elements
        js = "([s, t]) => (document.querySelector(s)?.textContent || '').replace(/\\s+/g, '').includes(t)"
        page.wait_for_function(js, arg=[component, shown[5:].replace(" ", "")], timeout=30_000)
    else:
        page.wait_for_selector(f"{component} >> {shown}", timeout=30_000)


def _wait_images(page, selector: str, count: int = 1, timeout: int = 120_000) -> int:
    """Wait until `selector` holds `count` loaded images; how many it holds."""
    js = (
        "([s, n]) => [...document.querySelectorAll(s + ' img')].filter(i => i.complete && i.naturalWidth > 0)"
        ".length >= n"
    )
    page.wait_for_function(js, arg=[selector, count], timeout=timeout)
    return page.evaluate(f"document.querySelectorAll('{selector} img').length")


def _wait_text(page, selector: str, text: str, timeout: int = 120_000) -> str:
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
        arg=[selector, text],
        timeout=timeout,
    )
    return page.inner_text(selector)


def _toasts(page) -> list[str]:
    """The texts of the error/info toasts on screen."""
    return page.locator("[data-testid='toast-body']").all_inner_texts()


def _finish(page, watch: Watch, artifacts: Path, tab: str) -> None:
    """Screenshot the tab to artifacts/e2e-<tab>.png, then fail on anything the browser or server reported."""
    page.wait_for_timeout(500)  # late console messages and log lines of this tab arrive
    path = artifacts / f"e2e-{tab}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    problems = watch.new()
    assert not problems, f"{tab}: {problems}"


def test_the_watch_reports_browser_errors(studio_page):
    """A console.error and an uncaught exception made on purpose are both reported: "nothing reported" means clean."""
    page, watch = studio_page
    page.evaluate("console.error('genart e2e self-check')")
    page.evaluate("setTimeout(() => { throw new Error('genart e2e uncaught') }, 0)")
    page.wait_for_timeout(500)
    found = watch.new()
    assert [e.split(" @ ")[0] for e in found["console errors"]] == ["genart e2e self-check"]
    assert found["page errors"] == ["Error: genart e2e uncaught"]
    assert "server log" not in found and watch.new() == {}
    watch.forget_browser_errors()


def test_the_watch_reads_server_problems_after_its_offset(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("Traceback (most recent call last):\n  old, before the suite\n")
    watch = Watch(log, log.stat().st_size)
    with open(log, "a") as handle:
        handle.write(
            "2026-01-01 10:00:00 genart.ui INFO warm\n2026-01-01 10:00:01 genart.ui ERROR task x failed\n"
            'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom\n'
        )
    assert watch.new() == {
        "server log": ["2026-01-01 10:00:01 genart.ui ERROR task x failed", "Traceback (most recent call last):"]
    }
    assert watch.new() == {}


def test_generate(studio_page, app_server, artifacts):
    page, watch = studio_page
    out_dir = app_server[1]
    before = set(out_dir.glob("*/*-ldm-text2im-*.png"))  # the tab's first model, saved under <outputs>/<date>/
    page.fill("#generate-prompt textarea", "a watercolor lighthouse at dawn")
    _set_number(page, "Steps", 4)
    page.click("#generate-button")
    assert _wait_images(page, "#generate-gallery") == 1
    new = sorted(set(out_dir.glob("*/*-ldm-text2im-*.png")) - before)
    assert len(new) == 1
    settings = json.loads(Image.open(new[0]).text["genart"])  # what the form sent, as the task saw it
    assert (settings["prompt"], settings["steps"]) == ("a watercolor lighthouse at dawn", 4)
    assert "a watercolor lighthouse at dawn" in page.content()  # the parameters panel shows it
    _finish(page, watch, artifacts, "generate")


def test_compare(studio_page, artifacts):
    page, watch = studio_page
    page.fill("#generate-prompt textarea", "a red fox in the snow")  # compare shares the generate form
    _set_number(page, "Steps", 4)
    page.get_by_text("Compare models side by side").click()
    page.get_by_label("Each model uses its own steps, guidance, size and scheduler").uncheck()
    page.click("#compare-button")
    assert _wait_images(page, "#compare-gallery", 2) == 2
    params = page.inner_text("#compare-params")
    assert params.count('"steps": 4') == 2 and "ldm-text2im" in params and "sd15" in params
    seeds = re.findall(r'"seed": (\d+)', params)
    assert len(seeds) == 2 and seeds[0] == seeds[1]  # both models drew from the same seed
    _finish(page, watch, artifacts, "compare")


def test_translate(studio_page, picture, artifacts):
    page, watch = studio_page
    _tab(page, "Translate")
    _upload(page, "#translate-input", picture, "img")
    page.fill("#translate-prompt textarea", "a watercolor painting")
    _set_number(page, "Steps", 4)
    page.click("#translate-button")
    assert _wait_images(page, "#translate-gallery") == 1
    assert "resized from 96×80" in page.inner_text("#translate-notes")
    _finish(page, watch, artifacts, "translate")


def _load_into_editor(page, editor: str, path: Path, tries: int = 3) -> int:
    """Put a picture into an image editor; the number of tries it took. A picture given while the editor's drawing
    engine is still starting (just after its tab first opens, on a busy machine) is dropped, so it is given again
    until the editor's "Upload an image" placeholder goes away."""
    page.wait_for_selector(f"{editor} canvas", timeout=30_000)
    for attempt in range(1, tries + 1):
        page.set_input_files(f"{editor} input[type=file]", str(path))
        try:
            page.wait_for_function(
                "(s) => !document.querySelector(s).innerText.includes('Upload an image')", arg=editor, timeout=10_000
            )
            return attempt
        except PlaywrightTimeout:
            if attempt == tries:
                raise AssertionError(f"the editor still shows its placeholder after {tries} uploads") from None
    return tries


def _draw_stroke(page, canvas_selector: str) -> None:
    """Press, drag across the middle of the canvas in small moves, release."""
    box = page.wait_for_selector(canvas_selector, timeout=30_000).bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 40, cy)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(cx - 40 + step * 10, cy + step * 2)
    page.mouse.up()


def test_inpaint_with_a_drawn_mask(studio_page, app_server, picture, artifacts):
    page, watch = studio_page
    _tab(page, "Inpaint")
    _load_into_editor(page, "#inpaint-editor", picture)
    page.wait_for_timeout(1000)  # the picture is laid out on the canvas
    _draw_stroke(page, "#inpaint-editor canvas")
    page.wait_for_timeout(1500)  # the editor commits the stroke to its layer
    page.fill("#inpaint-prompt textarea", "a small cat")
    _set_number(page, "Steps", 4)
    before = set(app_server[1].rglob("*inpaint*.png"))
    page.click("#inpaint-button")
    try:
        _wait_images(page, "#inpaint-gallery")
    except PlaywrightTimeout:
        page.screenshot(path=str(artifacts / "e2e-inpaint-failed.png"), full_page=True)
        raise AssertionError(f"no inpaint output; messages on screen: {_toasts(page)}") from None
    _wait_images(page, "#inpaint-mask")  # the mask the task used, shown beside the output
    new = sorted(set(app_server[1].rglob("*inpaint*.png")) - before)
    assert len(new) == 1
    out = np.asarray(Image.open(new[0]).convert("RGB")).astype(int)
    original = np.asarray(Image.open(picture).convert("RGB")).astype(int)
    changed = np.abs(out - original).sum(-1) > 0
    assert 0 < changed.mean() < 0.5  # only the stroke was repainted
    _finish(page, watch, artifacts, "inpaint")


def test_super_resolve(studio_page, picture, artifacts):
    page, watch = studio_page
    _tab(page, "Super-resolve")
    _upload(page, "#upscale-input", picture, "img")
    _set_number(page, "Steps", 2)
    page.click("#upscale-button")
    assert _wait_images(page, "#upscale-slider", 2) == 2  # bicubic and upscaled, under the slider
    sizes = page.evaluate("[...document.querySelectorAll('#upscale-slider img')].map(i => i.naturalWidth)")
    assert all(width > 96 for width in sizes), sizes
    _finish(page, watch, artifacts, "super-resolve")


def test_video(studio_page, artifacts):
    page, watch = studio_page
    _tab(page, "Video")
    page.fill("#video-prompt textarea", "a boat on a lake")
    _set_number(page, "Frames", 8)
    _set_number(page, "Steps", 2)
    page.click("#video-button")
    page.wait_for_function(
        "() => { const v = document.querySelector('#video-output video');"
        " return v && v.src && v.readyState >= 2 && v.duration > 0; }",
        timeout=180_000,
    )
    src, duration = page.evaluate(
        "[document.querySelector('#video-output video').src, document.querySelector('#video-output video').duration]"
    )
    assert src.split("?")[0].endswith(".mp4")
    assert duration == pytest.approx(8 / 8, abs=0.2)  # 8 frames at the model's 8 fps
    _finish(page, watch, artifacts, "video")


def test_evaluate(studio_page, image_zips, artifacts):
    page, watch = studio_page
    _tab(page, "Evaluate")
    _upload(page, "#eval-a-files", image_zips[0], "text=real.zip")
    _upload(page, "#eval-b-files", image_zips[1], "text=fake.zip")
    page.click("#eval-sets-button")
    table = _wait_text(page, "#eval-sets-table", "FID")
    assert all(name in table for name in ("KID", "Inception", "Precision", "Coverage"))
    page.wait_for_selector("#eval-sets-plot canvas, #eval-sets-plot svg", timeout=30_000)
    assert page.locator("#eval-sets-csv a").count() >= 1
    _finish(page, watch, artifacts, "evaluate")


def test_leaderboard(studio_page, scored_run, artifacts):
    page, watch = studio_page
    run = scored_run.result(timeout=600)
    assert (run / "run.json").is_file()
    _tab(page, "Leaderboard")
    _tab(page, "DrawBench")
    page.click("#lb-drawbench-refresh")
    table = "#lb-drawbench-table"
    text = _wait_text(page, table, LEADERBOARD_MODELS[1], timeout=60_000)
    for model in LEADERBOARD_MODELS:  # each row: the model, 3 prompts, 3 images
        assert re.search(rf"{model}\s+3\s+3\s", text), text
    page.click("#lb-drawbench-show")
    assert _wait_images(page, "#lb-drawbench-gallery", 2, timeout=60_000) == 2  # one prompt, both models
    _finish(page, watch, artifacts, "leaderboard")


def test_arena_battle_to_the_reveal_and_ratings(studio_page, artifacts):
    page, watch = studio_page
    _tab(page, "Arena")
    _tab(page, "Battle (blind)")
    page.fill("#arena-prompt textarea", "a lighthouse at dusk")
    page.click("#arena-go")
    _wait_images(page, "#arena-image-a")
    _wait_images(page, "#arena-image-b")
    hidden = _wait_text(page, "#arena-message", "revealed after your vote")
    assert "sd15" not in hidden and "sd-turbo" not in hidden
    page.wait_for_function("() => !document.querySelector('#arena-vote-b').disabled", timeout=30_000)
    page.click("#arena-vote-b")
    revealed = _wait_text(page, "#arena-message", "A was")
    assert "sd15" in revealed and "sd-turbo" in revealed and "Your vote for B (" in revealed
    page.wait_for_function("() => document.querySelector('#arena-vote-a').disabled", timeout=30_000)
    _finish(page, watch, artifacts, "arena")

    _tab(page, "Ratings")
    page.click("#arena-ratings-refresh")
    ratings = _wait_text(page, "#arena-ratings-table", "sd-turbo", timeout=60_000)
    assert "sd15" in ratings
    page.wait_for_selector(
        "#arena-ratings-heatmap canvas, #arena-ratings-heatmap svg, #arena-ratings-heatmap img", timeout=30_000
    )
    _finish(page, watch, artifacts, "arena-ratings")


def test_no_browser_or_server_error_in_the_whole_suite(studio_page):
    page, watch = studio_page
    page.wait_for_timeout(1000)
    assert watch.console == [] and watch.page_errors == []
    assert watch.server_lines() == []
