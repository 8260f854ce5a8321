"""The Evaluate tab's "Human preference and alignment" section: its form, a fake scorer's per-image table and mean
row through the handler, a missing scorer named in the notes, and /evaluate_scorers on the launched app."""

import dataclasses
import json
import sys
import types

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from handlers import build_tab, by_elem_id, component, handler
from PIL import Image

from genart_demo.metrics import scorers
from genart_demo.metrics.scorers import ScorerEntry, ScorerInfo
from genart_demo.ui.evaluate import build_evaluate_ui
from genart_demo.workspace import RUN_FILE


class GreenScorer:
    """Mean green level / 255: a number the test recomputes."""

    info = ScorerInfo("fake-green", "Fake green scorer", "fakegreen", "none", "green share", True)

    def score(self, images, prompts, batch_size=8):
        return np.array([np.asarray(im.convert("RGB"), dtype=np.float64)[..., 1].mean() / 255 for im in images])

    def to(self, device):
        return self


@pytest.fixture
def fake(monkeypatch):
    module = types.SimpleNamespace(load=lambda model_id=None, **kwargs: GreenScorer(), DEFAULT_MODEL="x/green")
    monkeypatch.setitem(sys.modules, "fake_green_scorer", module)
    table = {
        "fakegreen": ScorerEntry("Fake green", "fake_green_scorer", True),
        "gone": ScorerEntry("Gone", "genart_demo.metrics.no_such_scorer_module", True),
    }
    monkeypatch.setattr(scorers, "SCORERS", table)
    monkeypatch.setattr("genart_demo.tasks.evaluate_scorers.SCORERS", table)
    monkeypatch.setattr("genart_demo.ui.evaluate.SCORERS", table)
    return table


@pytest.fixture
def fresh(studio, tmp_path):
    own = dataclasses.replace(studio, settings=dataclasses.replace(studio.settings, output_dir=tmp_path))
    return own


def test_the_section_offers_every_scorer_and_cmmd_is_a_set_metric(fresh):
    tab = build_tab(fresh, build_evaluate_ui)
    offered = by_elem_id(tab, "eval-score-scorers")
    assert [value for _, value in offered.choices] == list(scorers.SCORERS)
    assert offered.value == ["pickscore"]
    assert ("CMMD (its own CLIP ViT-L/14@336)", "cmmd") in by_elem_id(tab, "eval-set-metrics").choices
    assert any(isinstance(c, gr.Tab) and c.label == "Human preference and alignment" for c in tab.blocks.values())


def test_a_folder_scores_into_a_per_image_table_with_a_mean_row(fresh, fake, tmp_path):
    tab = build_tab(fresh, build_evaluate_ui)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, green in enumerate((255, 51)):
        Image.new("RGB", (20, 20), (0, green, 0)).save(folder / f"{i}.png")
    frame, table, _plot, csv_path, notes = handler(tab, api_name="evaluate_scorers")(
        None, str(folder), None, "a green field\na dark field", ["fakegreen", "gone"]
    )
    assert list(frame.columns) == ["image", "prompt", "Fake green", "Gone"]
    assert frame.values.tolist() == [
        ["0.png", "a green field", 1.0, None],
        ["1.png", "a dark field", 0.2, None],
        ["mean", "", 0.6, None],
    ]
    assert [r[:2] for r in table] == [["Fake green", 1.0], ["Fake green", 0.2], ["Fake green (mean)", 0.6]]
    assert "Gone gave no scores\\: ModuleNotFoundError" in notes and csv_path.endswith(".csv")  # Markdown-escaped


def test_no_images_or_no_scorer_is_a_clear_error(fresh, fake, tmp_path):
    tab = build_tab(fresh, build_evaluate_ui)
    run = handler(tab, api_name="evaluate_scorers")
    with pytest.raises(gr.Error, match="Give images to score"):
        run(None, "", None, "", ["fakegreen"])
    Image.new("RGB", (8, 8)).save(tmp_path / "one.png")
    with pytest.raises(gr.Error, match="Scorers: nothing chosen — allowed: fakegreen, gone"):
        run([str(tmp_path / "one.png")], "", None, "a prompt", [])


def test_the_run_list_is_read_again_when_opened(fresh):
    tab = build_tab(fresh, build_evaluate_ui)
    dropdown = component(tab, gr.Dropdown, "…or a leaderboard run (generated images)")
    assert dropdown.choices == []
    folder = fresh.settings.workspace.run("parti-late")
    folder.mkdir(parents=True)
    (folder / RUN_FILE).write_text(json.dumps({"name": "parti-late"}))
    (update,) = handler(tab, dropdown, "focus")(None)
    assert update["choices"] == ["leaderboard:parti-late"]


@pytest.mark.server
def test_evaluate_scorers_endpoint_on_the_app_with_a_standin(app_server, tmp_path):
    pytest.importorskip("genart_demo.metrics.pickscore")
    for i, colour in enumerate(((200, 30, 30), (30, 30, 200))):
        Image.new("RGB", (32, 32), colour).save(tmp_path / f"{i}.png")
    client = Client(app_server[0], verbose=False)
    frame, table, _, _, notes = client.predict(
        [handle_file(str(tmp_path / "0.png")), handle_file(str(tmp_path / "1.png"))],
        "",
        None,
        "a red square\na blue square",
        ["pickscore"],
        api_name="/evaluate_scorers",
    )
    assert frame["headers"] == ["image", "prompt", "PickScore"]
    rows = frame["data"]
    assert [r[1] for r in rows] == ["a red square", "a blue square", ""] and rows[2][0] == "mean"
    assert rows[2][2] == pytest.approx((rows[0][2] + rows[1][2]) / 2, rel=1e-4)
    assert "stand-in" in notes
