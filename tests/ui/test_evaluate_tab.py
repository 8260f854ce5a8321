"""The Evaluate tab: without a server, run lists read afresh, sets labelled, every reconstruction shown and where a
result was saved; /evaluate and its sibling endpoints on the launched app through gradio_client, and the tab in
Debian chromium."""

import csv
import dataclasses
import json
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from handlers import build_tab, by_elem_id, component, handler
from PIL import Image

from genart_demo.tasks.evaluate_images import MAX_AUTOENCODERS
from genart_demo.ui.evaluate import TABLE_HEADERS, build_evaluate_ui
from genart_demo.workspace import RUN_FILE

RUN_LIST = "…or a leaderboard run"


@pytest.fixture
def fresh(studio, tmp_path):
    """A studio of its own output folder (runs made here are seen by no other test), and its Evaluate tab."""
    own = dataclasses.replace(studio, settings=dataclasses.replace(studio.settings, output_dir=tmp_path))
    return own, build_tab(own, build_evaluate_ui)


def _make_run(studio, name: str) -> None:
    folder = studio.settings.workspace.run(name)
    folder.mkdir(parents=True)
    (folder / RUN_FILE).write_text(json.dumps({"name": name}))


def test_a_run_made_after_the_app_started_is_offered(fresh):
    """The run lists were filled once when the app was built and never again."""
    studio, tab = fresh
    a, b = (c for c in tab.blocks.values() if isinstance(c, gr.Dropdown) and c.label == RUN_LIST)
    assert a.choices == b.choices == []
    _make_run(studio, "drawbench-late")
    for trigger, event in ((a, "focus"), (b, "focus"), (by_elem_id(tab, "eval-refresh-runs"), "click")):
        got_a, got_b = handler(tab, trigger, event)(None, "leaderboard:gone")
        assert got_a["choices"] == got_b["choices"] == ["leaderboard:drawbench-late"]
        assert got_a["value"] is None and got_b["value"] is None  # a run no longer there is not kept chosen
    kept, _ = handler(tab, a, "focus")("leaderboard:drawbench-late", None)
    assert kept["value"] == "leaderboard:drawbench-late"


def test_the_sets_say_which_is_reference_and_which_generated(fresh):
    _, tab = fresh
    assert component(tab, gr.File, "Set A — reference (real): a .zip or image files").elem_id == "eval-a-files"
    assert component(tab, gr.File, "Set B — generated: a .zip or image files").elem_id == "eval-b-files"


def test_tables_set_column_widths_and_the_gallery_has_room_for_every_reconstruction(fresh):
    _, tab = fresh
    tables = [c for c in tab.blocks.values() if isinstance(c, gr.Dataframe) and c.elem_id != "eval-score-per-image"]
    assert len(tables) == 5 and all(len(t.column_widths or []) == len(TABLE_HEADERS) for t in tables)
    gallery = by_elem_id(tab, "eval-ae-gallery")
    assert gallery.columns >= 1 + MAX_AUTOENCODERS and gallery.object_fit == "contain"


def test_a_result_says_where_its_csv_and_json_were_saved(fresh, tmp_path):
    studio, tab = fresh
    Image.new("RGB", (32, 32), (10, 20, 30)).save(tmp_path / "a.png")
    Image.new("RGB", (32, 32), (12, 20, 30)).save(tmp_path / "b.png")
    *_, csv_path, notes = handler(tab, api_name="evaluate_pair")(
        str(tmp_path / "a.png"), str(tmp_path / "b.png"), ["mse"]
    )
    saved = [line.split("`")[1] for line in notes.splitlines() if line.startswith("💾 Saved")]
    assert [Path(p).suffix for p in saved] == [".csv", ".json"]
    assert (tmp_path / saved[0]).resolve() == Path(csv_path).resolve() and (tmp_path / saved[1]).is_file()


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def _rows(table):
    return {row[0]: row for row in table["data"]}


@pytest.mark.server
def test_evaluate_endpoint_returns_table_plot_and_csv(client, image_zips):
    table, plot, csv_path, notes = client.predict(
        [handle_file(str(image_zips[0]))],
        "",
        None,
        [handle_file(str(image_zips[1]))],
        "",
        None,
        ["fid", "kid", "prdc"],
        "fid-inception",
        1000,
        api_name="/evaluate",
    )
    rows = _rows(table)
    assert {"FID", "KID", "Precision", "Recall", "Density", "Coverage"} <= set(rows)
    assert rows["FID"][1] > 0 and rows["KID"][3] == "B (7) vs A (8)"
    with open(csv_path) as handle:
        written = {r["metric"]: float(r["value"]) for r in csv.DictReader(handle)}
    assert written["FID"] == pytest.approx(rows["FID"][1], rel=1e-5)
    assert "../outside.png" in notes and "rank-deficient" in notes


@pytest.mark.server
def test_evaluate_refuses_a_single_image_set_and_keeps_serving(client, image_zips, tmp_path):
    one = tmp_path / "one.png"
    Image.new("RGB", (16, 16), (1, 2, 3)).save(one)
    with pytest.raises(Exception, match="at least 2"):
        client.predict(
            [handle_file(str(image_zips[0]))],
            "",
            None,
            [handle_file(str(one))],
            "",
            None,
            ["fid"],
            "fid-inception",
            1000,
            api_name="/evaluate",
        )
    with pytest.raises(Exception, match="outside the folders genart may read"):
        client.predict(
            [],
            "/etc",
            None,
            [handle_file(str(image_zips[1]))],
            "",
            None,
            ["fid"],
            "fid-inception",
            1000,
            api_name="/evaluate",
        )
    table, *_ = client.predict(
        [handle_file(str(image_zips[0]))],
        "",
        None,
        [handle_file(str(image_zips[1]))],
        "",
        None,
        ["kid"],
        "fid-inception",
        1000,
        api_name="/evaluate",
    )
    assert list(_rows(table)) == ["KID"]


@pytest.mark.server
def test_pair_autoencoder_and_clip_endpoints(client, tmp_path):
    y, x = np.mgrid[0:64, 0:64]
    base = np.stack([x * 4, y * 4, (x + y) * 2], -1).clip(0, 255).astype(np.uint8)
    Image.fromarray(base).save(tmp_path / "ref.png")
    Image.fromarray((base.astype(int) + 3).clip(0, 255).astype(np.uint8)).save(tmp_path / "img.png")
    table, *_ = client.predict(
        handle_file(str(tmp_path / "img.png")),
        handle_file(str(tmp_path / "ref.png")),
        ["psnr", "ssim", "lpips"],
        api_name="/evaluate_pair",
    )
    assert _rows(table)["PSNR (dB)"][1] > 35
    gallery, table, *_ = client.predict(
        handle_file(str(tmp_path / "ref.png")), ["sd-vae-ft-mse", "ldm-vq-f4"], api_name="/evaluate_autoencoder"
    )
    assert len(gallery) == 3 and {r[3] for r in table["data"]} == {"sd-vae-ft-mse", "ldm-vq-f4"}
    table, _, _, notes = client.predict(
        [handle_file(str(tmp_path / "ref.png")), handle_file(str(tmp_path / "img.png"))],
        "a gradient\na brighter gradient",
        "per_sample",
        api_name="/evaluate_clip",
    )
    rows = [r for r in table["data"] if r[0] == "CLIPScore"]
    assert len(rows) == 2 and all(0 <= r[1] <= 100 for r in rows)
    assert "stand-in" in notes


@pytest.mark.server
@pytest.mark.browser
def test_evaluate_tab_in_chromium(page, app_server, image_zips, artifacts, tmp_path):
    url, _, _ = app_server
    page.goto(url)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="Evaluate").click()
    page.set_input_files("#eval-a-files input[type=file]", str(image_zips[0]))
    page.set_input_files("#eval-b-files input[type=file]", str(image_zips[1]))
    page.wait_for_timeout(1500)  # uploads finish before the click
    page.click("#eval-sets-button")
    page.wait_for_function(
        "() => document.querySelector('#eval-sets-table') && "
        "document.querySelector('#eval-sets-table').innerText.includes('FID')",
        timeout=120_000,
    )
    table_text = page.inner_text("#eval-sets-table")
    assert "KID" in table_text and "Coverage" in table_text
    page.wait_for_selector("#eval-sets-plot canvas, #eval-sets-plot svg", timeout=30_000)
    assert "rank-deficient" in page.inner_text("#eval-sets-notes")
    assert page.locator("#eval-sets-csv a").count() >= 1
    assert "💾 Saved" in page.inner_text("#eval-sets-notes")
    path = artifacts / "evaluate-tab.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    # no header wraps: each header's text lies on one line ("std" over an empty column stood one letter per line)
    sets_lines = page.evaluate(HEADER_LINES, "#eval-sets-table")
    y, x = np.mgrid[0:64, 0:64]
    for name, shift in (("img", 3), ("ref", 0)):
        Image.fromarray(np.stack([x * 4, y * 4, (x + y) * 2 + shift], -1).astype(np.uint8)).save(
            tmp_path / f"{name}.png"
        )
    page.get_by_role("tab", name="Image vs reference").click()
    page.set_input_files("#eval-pair-image input[type=file]", str(tmp_path / "img.png"))
    page.set_input_files("#eval-pair-reference input[type=file]", str(tmp_path / "ref.png"))
    page.wait_for_timeout(1500)
    page.click("#eval-pair-button")
    page.wait_for_function(
        "() => document.querySelector('#eval-pair-table').innerText.includes('PSNR')", timeout=60_000
    )
    pair_lines = page.evaluate(HEADER_LINES, "#eval-pair-table")
    for table, lines in (("#eval-sets-table", sets_lines), ("#eval-pair-table", pair_lines)):
        assert set(lines) == set(TABLE_HEADERS) and all(n == 1 for n in lines.values()), (table, lines)
    page.screenshot(path=str(artifacts / "evaluate-pair.png"), full_page=True)


# {header text: the number of lines it takes}, for the table whose selector is given
HEADER_LINES = """(selector) => Object.fromEntries([...document.querySelectorAll(selector + ' thead th')].map(th => {
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    const tops = new Set();
    let text = '';
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.trim() || node.parentElement.closest('button')) continue;  // skip the column menu
        text += node.textContent.trim();
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const rect of range.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.top));
    }
    return [text, tops.size];
}).filter(([text]) => text))"""


@pytest.mark.server
@pytest.mark.browser
def test_every_reconstruction_is_shown(page, app_server, artifacts, tmp_path):
    """With the most autoencoders chosen, the input and every reconstruction are in view (the fifth was hidden)."""
    url, _, _ = app_server
    y, x = np.mgrid[0:64, 0:96]
    Image.fromarray(np.stack([x * 2, y * 3, (x + y)], -1).clip(0, 255).astype(np.uint8)).save(tmp_path / "in.png")
    page.goto(url)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="Evaluate").click()
    page.get_by_role("tab", name="Autoencoder round trip").click()
    page.set_input_files("#eval-ae-image input[type=file]", str(tmp_path / "in.png"))
    boxes = page.locator("#eval-ae-models input[type=checkbox]")
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(i < MAX_AUTOENCODERS)
    page.wait_for_timeout(1000)
    page.click("#eval-ae-button")
    page.wait_for_function(
        f"() => document.querySelectorAll('#eval-ae-gallery img').length >= {1 + MAX_AUTOENCODERS}", timeout=180_000
    )
    page.wait_for_timeout(1000)
    shown = page.evaluate(
        """() => { const box = document.querySelector('#eval-ae-gallery').getBoundingClientRect();
        return [...document.querySelectorAll('#eval-ae-gallery img')].filter(img => { const r = img.getBoundingClientRect();
            return r.width > 20 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1; }).length; }"""
    )
    page.screenshot(path=str(artifacts / "evaluate-autoencoders.png"), full_page=True)
    assert shown == 1 + MAX_AUTOENCODERS
