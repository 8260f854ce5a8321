"""/evaluate and its sibling endpoints on the launched app through gradio_client, and the tab in Debian chromium."""

import csv

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def _rows(table):
    return {row[0]: row for row in table["data"]}


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


@pytest.mark.browser
def test_evaluate_tab_in_chromium(page, app_server, image_zips, artifacts):
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
    path = artifacts / "evaluate-tab.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
