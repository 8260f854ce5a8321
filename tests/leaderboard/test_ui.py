"""Tests for leaderboard.ui without a server: the gallery's seed and run checks, and tables rounded for reading."""

import hashlib
import json

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from leaderboard.scoring import score_run
from leaderboard.tables import DISPLAY_DECIMALS, load_tables
from leaderboard.ui import gallery_for, gallery_seed, runs_by_set, table_for
from tests.leaderboard.test_scoring import CountingClip, constant, make_run
from tests.leaderboard.test_scoring_metrics import Brightness, pixel_value

MODELS = ("alpha", "beta")
SEEDS = (3, 7)


class ValueClip:
    """ClipScorer-like: an image's score is the mean of its pixels divided by 3 (digits without end)."""

    def __init__(self):
        self.info = {"id": "value-clip", "name": "mean pixel value / 3", "standin": True}

    def score(self, images, prompts, convention="per_sample"):
        return {"per_image": np.array([np.asarray(im, dtype=np.float64).mean() / 3 for im in images]), "truncated": []}


@pytest.fixture(scope="module")
def run(studio) -> str:
    """Two models x 2 prompts x seeds 3 and 7 in the studio's runs folder, timed at 1/3 s and 2/3 s per image."""
    root = studio.settings.workspace.runs / "thirds"
    root.mkdir(parents=True, exist_ok=True)
    (root / "run.json").write_text(
        json.dumps({"format": 1, "prompt_set": "mini", "models": [{"id": m} for m in MODELS], "seeds": list(SEEDS)})
    )
    (root / "prompts.jsonl").write_text("".join(json.dumps({"id": p, "text": f"a {p}"}) + "\n" for p in ("p0", "p1")))
    rows = []
    for k, model in enumerate(MODELS):
        for i, prompt in enumerate(("p0", "p1")):
            for seed in SEEDS:
                rel = f"images/{model}/{prompt}-s{seed}.png"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.full((8, 8, 3), 10 * (k + 1) + i + seed, dtype=np.uint8)).save(root / rel)
                digest = hashlib.sha256((root / rel).read_bytes()).hexdigest()
                rows.append(
                    {"model": model, "prompt_id": prompt, "prompt": f"a {prompt}", "category": "", "challenge": ""}
                    | {"seed": seed, "path": rel, "sha256": digest, "seconds": (k + 1) / 3, "standin": True}
                )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_run(root, clip=ValueClip(), bootstrap=50)
    return root.name


@pytest.mark.parametrize(
    "value, expected", [(None, None), ("all", None), (" all ", None), ("", None), ("3", 3), (" 7 ", 7), (7, 7)]
)
def test_gallery_seed_takes_all_or_a_seed_of_the_run(value, expected):
    assert gallery_seed(value, SEEDS) == expected


@pytest.mark.parametrize(
    "value, shown",
    [
        ("²", "'²'"),  # str.isdigit() says yes, int() says no
        ("٣", "'٣'"),  # an Arabic-Indic 3: int() reads it, but it is not how a seed is written
        ("9" * 5000, "(5,000 characters)"),  # int() refuses over 4,300 digits
        ("4", "'4'"),  # a whole number, but not a seed of this run
        ("-3", "'-3'"),
        ("3.0", "'3.0'"),
        (True, "a bool"),
        ([3], "a list"),
    ],
)
def test_gallery_seed_refuses_with_the_field_and_the_choices(value, shown):
    with pytest.raises(InputError) as refused:
        gallery_seed(value, SEEDS)
    message = str(refused.value)
    assert message.startswith("Seed ") and shown in message and "choose 'all' or 3, 7" in message
    assert len(message) < 200


def test_gallery_seed_without_listed_seeds_takes_any_32_bit_seed():
    assert gallery_seed("4294967295", []) == 2**32 - 1
    with pytest.raises(InputError, match="a whole number 0-4294967295 in digits 0-9"):
        gallery_seed("4294967296", [])


def test_gallery_for_one_seed_and_bad_fields(studio, run):
    rows = gallery_for(studio, run, "p1", "7")
    assert [caption.split(" · ")[:2] for _, caption in rows] == [["alpha", "seed 7"], ["beta", "seed 7"]]
    for args, message in (
        ((run, "p1", "4"), "Seed '4' is not a seed of this run: choose 'all' or 3, 7."),
        (("nosuchrun", "p1", "²"), "Seed '²' is not a seed of this run: choose 'all' or a whole number 0-4294967295"),
        (("r" * 300, "p1", "all"), "is not a run name: use up to 100 letters"),
        ((["thirds"], "p1", "all"), "['thirds'] is not a run name"),
        ((run, ["p1"], "all"), "Prompt a list is not a prompt id of this run"),
        ((run, "p" * 300, "all"), "(300 characters) is not a prompt id of this run"),
    ):
        with pytest.raises(gr.Error) as refused:
            gallery_for(studio, *args)
        assert message in refused.value.message


def test_tables_show_rounded_numbers_and_sort_on_every_digit(studio, run):
    full = load_tables(studio.settings.workspace.runs / run)["overall"].set_index("model")
    assert full.loc["alpha", "seconds_per_image"] == pytest.approx(1 / 3, abs=1e-15)  # the CSV keeps every digit
    shown = table_for(studio, run, "overall", [], [], "", "seconds_per_image", False)
    assert shown["model"].tolist() == ["alpha", "beta"]
    assert shown["seconds_per_image"].tolist() == [0.333, 0.667]
    for column in ("clip_score", "clip_ci_low", "clip_max"):
        assert all(round(v, DISPLAY_DECIMALS[column]) == v for v in shown[column]), shown[column]
    per_prompt = table_for(studio, run, "per_prompt", [], [], "", "", True)
    assert {round(v, 3) for v in per_prompt["seconds"]} == set(per_prompt["seconds"]) == {0.333, 0.667}


def test_skill_runs_get_their_tab_metric_columns_and_a_skills_view(studio, run):
    root = make_run(studio.settings.workspace.runs / "skills", pixels=lambda m, p, s: constant(pixel_value(m, p, s)))
    (root / "run.json").write_text(json.dumps({"format": 1, "prompt_set": "geneval", "seeds": [0, 1]}))
    score_run(root, clip=CountingClip(), metrics="pickscore", scorers={"pickscore": Brightness("pickscore", 0.5)})
    by_set = runs_by_set(studio)
    assert by_set["geneval"] == ["skills"] and "skills" not in by_set.get("", [])
    overall = table_for(studio, "skills", "overall", [], [], "", "", True)
    assert {"clip_score", "pickscore", "pickscore_lo", "pickscore_hi"} <= set(overall.columns)
    best = table_for(studio, "skills", "by_category", ["Counting"], [], "pickscore", "", True)
    assert list(best.columns) == ["model", "category", "n_prompts", "n_images", "pickscore", "pickscore_lo"] + [
        "pickscore_hi"
    ]
    assert best["model"].tolist() == ["m-b", "m-a"] and best["pickscore"].tolist() == [38.25, 23.25]
    skills = table_for(studio, "skills", "skills", [], [], "pickscore", "", True).set_index("model")
    assert list(skills.columns) == ["overall", "Colors", "Counting", "Text"]
    assert skills.loc["m-a", "Colors"] == 9.25 and skills.loc["m-b", "overall"] == 29.5
    with pytest.raises(gr.Error, match="'vqascore' is not in the per-skill table"):
        table_for(studio, "skills", "skills", [], [], "vqascore", "", True)
    recomputed = table_for(studio, "skills", "overall", ["Text"], [], "", "", True).set_index("model")
    assert recomputed.loc["m-a", "pickscore"] == 0.5 * (10 + 7 * 3.5 + 1.5)  # prompts 3, 4 only
