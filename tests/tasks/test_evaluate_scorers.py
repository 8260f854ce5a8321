"""Per-image scorers through the evaluate task: a fake scorer's exact numbers, a missing or broken one named in a note."""

import json
import sys
import types

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.media import save_png
from genart_demo.metrics import scorers
from genart_demo.metrics.scorers import ScorerEntry, ScorerInfo
from genart_demo.run_settings import GenerateSettings
from genart_demo.tasks.evaluate_scorers import ScoreRequest, evaluate_scorers


class RedScorer:
    """Mean red level / 255 plus the prompt's word count: numbers the test can recompute by hand."""

    def __init__(self, standin):
        self.info = ScorerInfo("fake-red", "Fake red scorer", "fakered", "none", "red + words", standin)

    def score(self, images, prompts, batch_size=8):
        red = [np.asarray(im.convert("RGB"), dtype=np.float64)[..., 0].mean() / 255 for im in images]
        return np.array([r + len(p.split()) for r, p in zip(red, prompts)])

    def to(self, device):
        return self


def _load_red(model_id=None, *, standin=False, local_files_only=False, seed=0, **options):
    return RedScorer(standin)


def _load_broken(model_id=None, **kwargs):
    raise RuntimeError("weights file is truncated")


@pytest.fixture
def fake_scorers(monkeypatch):
    monkeypatch.setitem(sys.modules, "fake_red_scorer", types.SimpleNamespace(load=_load_red, DEFAULT_MODEL="x/red"))
    monkeypatch.setitem(sys.modules, "fake_broken_scorer", types.SimpleNamespace(load=_load_broken))
    table = dict(scorers.SCORERS)
    table["fakered"] = ScorerEntry("Fake red", "fake_red_scorer", True)
    table["fakeplain"] = ScorerEntry("Fake plain", "fake_red_scorer", False, higher_is_better=False)
    table["broken"] = ScorerEntry("Broken", "fake_broken_scorer", True)
    table["missing"] = ScorerEntry("Missing", "genart_demo.metrics.no_such_scorer_module", True)
    monkeypatch.setattr(scorers, "SCORERS", table)
    monkeypatch.setattr("genart_demo.tasks.evaluate_scorers.SCORERS", table)
    return table


def red_images(folder, reds, with_prompts=()):
    folder.mkdir(parents=True, exist_ok=True)
    for i, red in enumerate(reds):
        image = Image.new("RGB", (24, 16), (red, 40, 90))
        if i < len(with_prompts):
            save_png(image, folder / f"{i:02d}.png", GenerateSettings(model="sd15", prompt=with_prompts[i]))
        else:
            image.save(folder / f"{i:02d}.png")
    return folder


def test_fake_scorer_rows_table_and_mean_are_its_numbers(studio, fake_scorers):
    folder = red_images(studio.settings.output_dir / "score-a", [255, 0, 51])
    result = evaluate_scorers(studio, ScoreRequest(str(folder), "a cat\ntwo red cats\nx", ("fakered",)))
    expected = [1.0 + 2, 0.0 + 3, 0.2 + 1]
    per_image = [r for r in result.rows if r["metric"] == "Fake red"]
    assert [r["value"] for r in per_image] == pytest.approx(expected)
    assert per_image[1]["subject"] == "01.png: two red cats" and per_image[0]["extractor"] == "Fake red scorer"
    assert per_image[0]["convention"] == "red + words; higher is better"
    mean = result.rows[-1]
    assert mean["metric"] == "Fake red (mean)" and mean["value"] == pytest.approx(np.mean(expected))
    assert mean["std"] == pytest.approx(np.std(expected, ddof=1)) and mean["n"] == 3
    table = result.info["table"]
    assert table["columns"] == ["image", "prompt", "Fake red"]
    assert table["rows"][0] == ["00.png", "a cat", pytest.approx(3.0)]
    assert table["rows"][-1] == ["mean", "", pytest.approx(np.mean(expected))]
    saved = json.loads(result.json_path.read_text())
    assert saved["info"]["table"]["rows"][2][2] == pytest.approx(1.2) and saved["kind"] == "scorers"


def test_prompts_come_from_png_settings_and_image_only_scorers_need_none(studio, fake_scorers):
    folder = red_images(studio.settings.output_dir / "score-b", [255, 255], with_prompts=("one two three", "four"))
    result = evaluate_scorers(studio, ScoreRequest(str(folder), "", ("fakered",)))
    assert [r["value"] for r in result.rows[:2]] == pytest.approx([4.0, 2.0])
    plain = red_images(studio.settings.output_dir / "score-c", [0, 255])  # no PNG prompts at all
    with pytest.raises(InputError, match="carries a prompt"):
        evaluate_scorers(studio, ScoreRequest(str(plain), "", ("fakered",)))
    alone = evaluate_scorers(studio, ScoreRequest(str(plain), "", ("fakeplain",)))
    assert [r["value"] for r in alone.rows[:2]] == pytest.approx([0.0, 1.0])  # prompts "" count no words
    assert alone.rows[0]["subject"] == "00.png" and "lower is better" in alone.rows[0]["convention"]


def test_missing_and_broken_scorers_leave_a_note_and_an_empty_column(studio, fake_scorers):
    folder = red_images(studio.settings.output_dir / "score-d", [255, 0])
    result = evaluate_scorers(studio, ScoreRequest(str(folder), "a\nb", ("missing", "fakered", "broken")))
    assert {r["metric"] for r in result.rows} == {"Fake red", "Fake red (mean)"}
    assert any(n.startswith("Missing gave no scores: ModuleNotFoundError") for n in result.notes)
    assert "Broken gave no scores: RuntimeError: weights file is truncated" in result.notes
    assert result.info["table"]["columns"] == ["image", "prompt", "Missing", "Fake red", "Broken"]
    assert result.info["table"]["rows"][0] == ["00.png", "a", None, pytest.approx(2.0), None]


def test_bad_scorer_names_and_prompt_counts_are_refused(studio, fake_scorers):
    folder = red_images(studio.settings.output_dir / "score-e", [1, 2])
    with pytest.raises(InputError, match="Scorers: clipscore — allowed: pickscore, hpsv21"):
        evaluate_scorers(studio, ScoreRequest(str(folder), "a\nb", ("clipscore",)))
    with pytest.raises(InputError, match="Scorers: nothing chosen"):
        evaluate_scorers(studio, ScoreRequest(str(folder), "a\nb", ()))
    with pytest.raises(InputError, match="2 image\\(s\\) but 3 prompt\\(s\\)"):
        evaluate_scorers(studio, ScoreRequest(str(folder), "a\nb\nc", ("fakered",)))


@pytest.mark.parametrize("name", ["pickscore", "hpsv21", "imagereward", "aesthetic", "vqascore"])
def test_a_real_standin_scores_as_loading_it_directly(studio, name):
    pytest.importorskip(scorers.SCORERS[name].module)
    folder = red_images(studio.settings.output_dir / f"score-{name}", [200, 30, 120])
    prompts = ["a red square", "a dark square", "a purple square"]
    result = evaluate_scorers(studio, ScoreRequest(str(folder), "\n".join(prompts), (name,)))
    direct = scorers.load_scorer(name, standin=True, local_files_only=True)
    images = [Image.open(p).convert("RGB") for p in sorted(folder.glob("*.png"))]
    expected = direct.score(images, prompts)
    assert [r["value"] for r in result.rows[:3]] == pytest.approx(list(expected), rel=1e-5, abs=1e-6)
    assert result.info["scorers"][name]["standin"] is True
    assert any("stand-in" in n for n in result.notes)


def test_every_real_standin_at_once_fills_its_column_or_names_why_not(studio):
    folder = red_images(studio.settings.output_dir / "score-all", [200, 30])
    names = tuple(scorers.SCORERS)
    result = evaluate_scorers(studio, ScoreRequest(str(folder), "a red square\na dark square", names))
    table = result.info["table"]
    assert table["columns"] == ["image", "prompt", *(scorers.SCORERS[n].label for n in names)]
    assert [r[0] for r in table["rows"]] == ["00.png", "01.png", "mean"]
    for j, name in enumerate(names, start=2):
        label = scorers.SCORERS[name].label
        column = [r[j] for r in table["rows"]]
        if name in result.info["scorers"]:
            assert all(isinstance(v, float) and np.isfinite(v) for v in column), name
            assert column[2] == pytest.approx((column[0] + column[1]) / 2)
        else:
            assert column == [None, None, None]
            assert any(n.startswith(f"{label} gave no scores: ") for n in result.notes), (name, result.notes)
    assert {"pickscore", "hpsv21", "imagereward", "aesthetic", "vqascore"} <= set(result.info["scorers"])


def test_geneval_scores_geneval_prompts_in_the_evaluate_task(studio):
    folder = red_images(studio.settings.output_dir / "score-geneval", [200, 30])
    prompts = "a photo of a bench\na photo of a dog right of a teddy bear"  # two of GenEval's own 553
    result = evaluate_scorers(studio, ScoreRequest(str(folder), prompts, ("geneval",)))
    values = [r["value"] for r in result.rows[:2]]
    assert all(v in (0.0, 1.0) for v in values), values  # pass/fail per image, from the bundled metadata
    assert result.info["scorers"]["geneval"]["standin"] is True
    refused = evaluate_scorers(studio, ScoreRequest(str(folder), "a red square\na dark square", ("geneval",)))
    assert any("checks only its own 553 prompts" in n for n in refused.notes), refused.notes
