"""The Leaderboard tab on the launched app: a scored run appears, filters and sorting work, the gallery opens."""

from pathlib import Path

import pytest
from gradio_client import Client

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def scored_run(app_server, genart_cli):
    """An 11-prompt stratified DrawBench sample (one per category) through two stand-ins, in the app's runs folder."""
    out = app_server[1] / "leaderboard" / "sample11"
    for args in (
        [
            "run",
            "--models",
            "sd15,sd-turbo",
            "--prompts",
            "drawbench",
            "--sample",
            "11",
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


def test_gallery_endpoint_shows_one_prompt_across_models(app_server, scored_run):
    import json

    first = json.loads((scored_run / "prompts.jsonl").read_text().splitlines()[0])["id"]
    client = Client(app_server[0], verbose=False)
    gallery = client.predict("sample11", first, "all", api_name="/leaderboard_gallery_drawbench")
    assert [item["caption"].split(" ")[0] for item in gallery] == ["sd15", "sd-turbo"]
    with pytest.raises(Exception, match="no images"):
        client.predict("sample11", "drawbench-999", "all", api_name="/leaderboard_gallery_drawbench")
    with pytest.raises(Exception, match="not a seed"):
        client.predict("sample11", first, "x1", api_name="/leaderboard_gallery_drawbench")


@pytest.mark.browser
def test_leaderboard_tab_filter_sort_gallery(page, app_server, scored_run, artifacts):
    page.goto(app_server[0])
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_role("tab", name="DrawBench").click()
    page.click("#lb-drawbench-refresh")
    table = "#lb-drawbench-table"
    page.wait_for_function(f"() => document.querySelector('{table}').innerText.includes('sd-turbo')", timeout=60_000)
    assert "11" in page.inner_text(table)  # n_prompts: one per category

    # sort by model: descending puts "sd15" first ("1" > "-"), ascending "sd-turbo"
    page.fill("#lb-drawbench-sort input", "model")
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => {{ const t = document.querySelector('{table}').innerText; "
        "return t.indexOf('sd15') < t.indexOf('sd-turbo'); }",
        timeout=30_000,
    )
    page.click("#lb-drawbench-descending input")
    page.wait_for_function(
        f"() => {{ const t = document.querySelector('{table}').innerText; "
        "return t.indexOf('sd-turbo') < t.indexOf('sd15'); }",
        timeout=30_000,
    )

    # filter to one category: the overall table is recomputed over that category's single prompt
    page.click("#lb-drawbench-categories input")
    page.keyboard.type("Colors")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => !document.querySelector('{table}').innerText.includes('\\t11\\t')", timeout=30_000)
    page.locator("#lb-drawbench-view label", has_text="By category").click()
    page.wait_for_function(f"() => document.querySelector('{table}').innerText.includes('Colors')", timeout=30_000)
    text = page.inner_text(table)
    assert "Colors" in text and not any(other in text for other in ("Counting", "Reddit", "Positional", "Text\t"))

    # one prompt across both models, side by side
    page.click("#lb-drawbench-show")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#lb-drawbench-gallery img')].filter(i => i.naturalWidth > 0).length >= 2",
        timeout=60_000,
    )
    path = artifacts / "leaderboard-tab.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


@pytest.mark.browser
def test_opening_a_prompt_set_tab_loads_its_table_without_refresh(page, app_server, scored_run):
    page.goto(app_server[0])
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_role("tab", name="PartiPrompts").click()
    page.get_by_role("tab", name="DrawBench").click()  # opened again: no Refresh press
    table = "#lb-drawbench-table"
    page.wait_for_function(f"() => document.querySelector('{table}').innerText.includes('sd-turbo')", timeout=60_000)
    text = page.inner_text(table)
    assert "clip_score" in text and "n_prompts" in text  # every column by default ("All columns")
