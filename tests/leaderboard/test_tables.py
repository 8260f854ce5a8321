"""Tests for leaderboard.tables: loading, filtering, CSV/Parquet export round trips, ratings, text and gallery."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from genart_demo.errors import InputError
from leaderboard.scoring import score_run
from leaderboard.tables import (
    export_tables,
    filter_table,
    gallery_rows,
    join_ratings,
    load_tables,
    read_csv_table,
    run_rows,
    show_text,
    skill_table,
    summary_table,
)
from tests.leaderboard.test_scoring import CountingClip, constant, make_run
from tests.leaderboard.test_scoring_metrics import Brightness, pixel_value

PROMPTS = [
    ("q-0", "Colors", "Basic"),
    ("q-1", "Colors", "Complex"),
    ("q-2", "Text", "Basic"),
    ("q-3", "Text", "Basic"),
    ("q-4", "None", ""),
]  # a category literally called "None" stays a string
MODELS = ("zeta", "alpha", "mid")  # run.json lists them in this order


class ValueClip:
    """ClipScorer-like: an image's score is the mean of its pixels."""

    def __init__(self):
        self.info = {"id": "value-clip", "name": "mean pixel value", "standin": True}

    def score(self, images, prompts, convention="per_sample"):
        return {"per_image": np.array([np.asarray(im, dtype=np.float64).mean() for im in images]), "truncated": []}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """Three models x 5 prompts x 2 seeds of constant images: model k scores 10·(k+1) + prompt index + seed."""
    root = tmp_path_factory.mktemp("lb") / "run"
    root.mkdir()
    (root / "run.json").write_text(
        json.dumps({"format": 1, "prompt_set": "mini", "models": [{"id": m} for m in MODELS]})
    )
    (root / "prompts.jsonl").write_text(
        "".join(json.dumps({"id": p, "text": f"a {p}", "category": c, "challenge": ch}) + "\n" for p, c, ch in PROMPTS)
    )
    rows = []
    for k, m in enumerate(MODELS):
        for i, (p, c, ch) in enumerate(PROMPTS):
            for s in (0, 1):
                rel = f"images/{m}/{p}-s{s}.png"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.full((16, 16, 3), 10 * (k + 1) + i + s, dtype=np.uint8)).save(root / rel)
                rows.append(
                    {
                        "model": m,
                        "prompt_id": p,
                        "prompt": f"a {p}",
                        "category": c,
                        "challenge": ch,
                        "seed": s,
                        "path": rel,
                        "sha256": hashlib.sha256((root / rel).read_bytes()).hexdigest(),
                        "seconds": 0.25 * (k + 1),
                        "width": 16,
                        "height": 16,
                        "standin": True,
                    }
                )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_run(root, clip=ValueClip(), bootstrap=200)
    return root


def test_load_tables_keys_and_string_columns(run):
    tables = load_tables(run)
    assert set(tables) == {"overall", "by_category", "by_challenge", "per_prompt", "per_image"}
    assert sorted(tables["by_category"]["category"].unique()) == ["Colors", "None", "Text"]
    assert (tables["per_image"].loc[tables["per_image"].prompt_id == "q-4", "challenge"] == "").all()
    overall = tables["overall"].set_index("model")
    assert overall.loc["alpha", "clip_score"] == pytest.approx(20 + 2 + 0.5, abs=1e-12)
    assert overall.loc["mid", "clip_max"] == pytest.approx(30 + 2 + 1, abs=1e-12)
    with pytest.raises(InputError, match="not been scored"):
        load_tables(run.parent)


def test_filter_table_by_category_challenge_and_metric(run):
    tables = load_tables(run)
    cat = filter_table(tables["by_category"], categories=["Text"])
    assert set(cat["category"]) == {"Text"} and (cat["n_prompts"] == 2).all() and len(cat) == 3
    ch = filter_table(tables["per_prompt"], categories="Colors", challenges=["Basic"])
    assert set(ch["prompt_id"]) == {"q-0"} and len(ch) == 3
    assert len(filter_table(tables["per_prompt"], categories=[])) == len(tables["per_prompt"])  # empty = all
    best = filter_table(tables["overall"], metric="clip_score")
    assert list(best["model"]) == ["mid", "alpha", "zeta"]
    assert list(best.columns) == [
        "model",
        "n_prompts",
        "n_images",
        "standin",
        "n_flagged",  # images left out as flagged: beside any metric, since the metric is over the rest
        "clip_score",
        "clip_ci_low",
        "clip_ci_high",
    ]
    fastest = filter_table(tables["overall"], metric="seconds_per_image")  # lower is better
    assert list(fastest["model"]) == ["zeta", "alpha", "mid"]
    with pytest.raises(InputError, match="no category column"):
        filter_table(tables["overall"], categories=["Text"])
    with pytest.raises(InputError, match="allowed here: clip_score"):
        filter_table(tables["overall"], metric="fid")


def test_summary_table_recomputes_overall_over_the_chosen_prompts(run):
    from leaderboard.aggregate import aggregate_table

    tables = load_tables(run)
    assert summary_table(tables) is tables["overall"]
    text = summary_table(tables, categories=["Text"], bootstrap=200).set_index("model")
    assert text.loc["alpha", "clip_score"] == pytest.approx(20 + 2.5 + 0.5, abs=1e-12)  # prompts 2, 3; seeds 0, 1
    assert (text["n_prompts"] == 2).all() and (text["n_images"] == 4).all() and text["standin"].all()
    basic = summary_table(tables, categories=["Text", "Colors"], challenges="Basic", bootstrap=200)
    assert (basic["n_prompts"] == 3).all()  # q-0, q-2, q-3
    per_prompt = tables["per_prompt"]
    expected = aggregate_table(per_prompt[per_prompt.prompt_id.isin(["q-0", "q-2", "q-3"])], bootstrap=200)
    pd.testing.assert_frame_equal(basic.drop(columns="standin"), expected)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_exports_round_trip(run, tmp_path, fmt):
    paths = export_tables(run, fmt=fmt, out=tmp_path / fmt)
    tables = load_tables(run)
    assert sorted(p.name for p in paths) == sorted(f"{name}.{fmt}" for name in tables)
    for path in paths:
        back = read_csv_table(path) if fmt == "csv" else pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, tables[path.stem], check_exact=True)


def test_unknown_export_format_is_refused(run):
    with pytest.raises(InputError, match=r"unknown export format 'xlsx'; allowed: csv, parquet"):
        export_tables(run, fmt="xlsx")


def test_join_ratings_left_joins_on_model(run):
    overall = load_tables(run)["overall"]
    ratings = pd.DataFrame(
        {
            "model": ["alpha", "zeta", "unlisted"],
            "rating": [1010.0, 990.0, 1200.0],
            "ci_low": [1000.0, 970.0, 1100.0],
            "ci_high": [1020.0, 1010.0, 1300.0],
            "votes": [40, 40, 3],
        }
    )
    joined = join_ratings(overall, ratings)
    assert list(joined["model"]) == list(overall["model"]) and len(joined) == len(overall)
    by_model = joined.set_index("model")
    assert by_model.loc["alpha", "rating"] == 1010.0 and by_model.loc["zeta", "rating_ci_high"] == 1010.0
    assert np.isnan(by_model.loc["mid", "rating"]) and np.isnan(by_model.loc["mid", "votes"])
    assert list(filter_table(joined, metric="rating")["model"]) == ["alpha", "zeta", "mid"]
    by_cat = join_ratings(load_tables(run)["by_category"], ratings[["model", "rating"]])
    assert (by_cat.loc[by_cat.model == "zeta", "rating"] == 990.0).all()
    assert join_ratings(overall, None) is overall
    with pytest.raises(InputError, match="missing rating"):
        join_ratings(overall, pd.DataFrame({"model": ["alpha"], "elo": [1.0]}))
    with pytest.raises(InputError, match="more than one row"):
        join_ratings(overall, pd.DataFrame({"model": ["alpha", "alpha"], "rating": [1.0, 2.0]}))


def test_show_text_lists_every_model_best_first(run):
    text = show_text(run)
    lines = text.splitlines()
    table = [line for line in lines if line.split(" ")[0] in MODELS]
    assert [line.split(" ")[0] for line in table] == ["mid", "alpha", "zeta"]
    assert "prompt set mini" in lines[0] and "value-clip" in text and "STAND-IN" in text
    assert "32.50" in table[0]  # mid's mean CLIPScore: 30 + 2 + 0.5


def test_gallery_rows_one_prompt_across_models(run):
    rows = gallery_rows(run, "q-2")
    assert [Path(p).relative_to(run).as_posix() for p, _ in rows] == [
        f"images/{m}/q-2-s{s}.png" for s in (0, 1) for m in MODELS
    ]
    assert rows[0][1] == "zeta · seed 0 · CLIP 12.00"
    one_seed = gallery_rows(run, "q-2", seed=1)
    assert [c for _, c in one_seed] == [
        "zeta · seed 1 · CLIP 13.00",
        "alpha · seed 1 · CLIP 23.00",
        "mid · seed 1 · CLIP 33.00",
    ]
    with pytest.raises(InputError, match="no images"):
        gallery_rows(run, "q-99")
    with pytest.raises(InputError, match="seed 7"):
        gallery_rows(run, "q-2", seed=7)


def test_verified_rows_keep_the_last_good_row_and_report_the_rest(tmp_path):
    from leaderboard.tables import verified_rows

    (tmp_path / "manifest").mkdir()
    (tmp_path / "a.png").write_bytes(b"png bytes")
    good_sha = hashlib.sha256(b"png bytes").hexdigest()
    row = {"model": "a", "prompt_id": "p", "seed": 0, "path": "a.png", "sha256": good_sha}
    (tmp_path / "manifest.jsonl").write_text(json.dumps({**row, "sha256": "0" * 64}) + "\n")
    (tmp_path / "manifest" / "shard-0.jsonl").write_text(
        json.dumps(row)
        + "\n"
        + json.dumps({**row, "seed": 1, "path": "gone.png"})
        + "\n"
        + json.dumps({**row, "seed": 2, "path": "../outside.png"})
        + "\n"
    )
    (tmp_path / "manifest" / "shard-1.jsonl").write_text(json.dumps({**row, "sha256": "1" * 64}) + "\n")
    rows = run_rows(tmp_path)
    assert len(rows) == 5
    good, skipped = verified_rows(tmp_path, rows)
    assert [(r["seed"], r["sha256"]) for r in good] == [(0, good_sha)]  # a later broken row does not win
    assert [(s["seed"], s["reason"]) for s in skipped] == [(1, "file missing"), (2, "path outside the run folder")]
    with pytest.raises(InputError, match="no manifest rows"):
        run_rows(tmp_path / "manifest")


def test_show_text_and_skill_table_carry_every_scored_metric(tmp_path):
    run = make_run(tmp_path / "run", pixels=lambda m, p, s: constant(pixel_value(m, p, s)))
    (run / "run.json").write_text(json.dumps({"prompt_set": "t2i-compbench", "models": [{"id": "m-a"}, {"id": "m-b"}]}))
    scorers = {"pickscore": Brightness("pickscore", 0.5), "aesthetic": Brightness("aesthetic", 2.0)}
    score_run(run, clip=CountingClip(), metrics="pickscore,aesthetic", scorers=scorers, bootstrap=100)
    text = show_text(run)
    lines = text.splitlines()
    heading = next(line for line in lines if line.startswith("model"))
    assert heading.split()[:9] == ["model", "CLIPScore", "95%", "CI", "max/seeds", "PickScore", "95%", "CI", "LAION"]
    assert "PickScore: pixel mean; brightness-pickscore-v1" in text and "STAND-IN" in lines[2]
    m_b = next(line for line in lines if line.startswith("m-b *"))  # overall pickscore 0.5·(40 + 7·2.5 + 1.5)
    assert m_b.split()[6] == "29.500" and m_b.split()[9] == "118.000"  # "m-b", "*", clip, "[lo,", "hi]", max
    skill = lines[lines.index("by skill") + 1 :]
    counting = next(line for line in skill if line.startswith("m-b") and " Counting " in line)
    assert counting.split()[5] == "38.250"  # one prompt (p-05): 0.5·(40 + 35 + 1.5)
    wide = skill_table(load_tables(run), "pickscore").set_index("model")
    assert list(wide.columns) == ["overall", "Colors", "Counting", "Text"]
    assert wide.loc["m-b", "Counting"] == 38.25 and wide.loc["m-a", "overall"] == pytest.approx(14.5)
    assert wide.loc["m-a", "Colors"] == pytest.approx(9.25)
    with pytest.raises(InputError, match="'vqascore' is not in the per-skill table; allowed here: clip_score"):
        skill_table(load_tables(run), "vqascore")
    ratings = pd.DataFrame({"model": ["m-b", "m-a"], "rating": [1010.0, 990.0], "ci_low": [1000.0, 980.0]})
    side_by_side = join_ratings(load_tables(run)["overall"], ratings).set_index("model")
    assert side_by_side.loc["m-b", ["rating", "rating_ci_low", "pickscore", "aesthetic_hi"]].notna().all()
    assert side_by_side.loc["m-a", "rating"] == 990.0 and side_by_side.loc["m-a", "aesthetic"] == 2 * 29.0
    # a run of a set without skills shows no per-skill section
    (run / "run.json").write_text(json.dumps({"prompt_set": "drawbench"}))
    score_run(run, clip=CountingClip(), metrics="pickscore,aesthetic", scorers=scorers, bootstrap=100)
    assert "by skill" not in show_text(run)
