"""The metric-vs-rater agreement table recovers preferences planted in an arena database (arena and session votes)."""

import argparse
import sys
import types
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from genart_demo.errors import InputError
from genart_demo.metrics import scorers
from genart_demo.metrics.scorers import ScorerEntry, ScorerInfo
from genart_demo.studio import Studio
from leaderboard import agreement_metrics
from leaderboard.agreement import agreement_table, agreement_text, bootstrap_ci, vote_agreement
from leaderboard.agreement_cli import score_agreement
from leaderboard.agreement_metrics import ImageValues, PairMetric, default_metrics, measure_metric
from leaderboard.agreement_ui import AgreementPage
from leaderboard.arena.records import Battle, RatingSession
from leaderboard.arena.store import ArenaStore
from leaderboard.cli import register
from leaderboard.ui import build_leaderboard_ui

NOW = 1_700_000_000.0
SESSION = "AGREE001"
MODELS = ("sd15", "sd-turbo", "sdxl")
ARENA_VOTES, SESSION_VOTES = 200, 100  # decisive; raters pick the brighter side except every 10th vote
ARENA_TIES, SESSION_TIES = 20, 10  # "tie" in the arena, "bothbad" in the session
LEFTY_VOTES = 20  # arena votes of a rater who always picks A: the side check flags them, so they do not count


def grey(outputs: Path, name: str, level: int) -> str:
    """A 4x4 grey PNG whose bytes are unique to `name` (a text chunk), so each image has its own sha256."""
    info = PngInfo()
    info.add_text("planted", name)
    Image.new("RGB", (4, 4), (level,) * 3).save(outputs / "planted" / f"{name}.png", pnginfo=info)
    return f"planted/{name}.png"


def plant(store, outputs, i, outcome_of, *, session=False, rater=None):
    """Battle i: two distinct grey levels, voted 10 s after it started by `rater` (default: one of five raters)."""
    rng = np.random.default_rng(i)
    la, lb = (int(v) for v in rng.choice(np.arange(20, 236), size=2, replace=False))
    rater = rater or f"anon:r{i % 5}"
    at = NOW + 20 * i
    battle = Battle(
        id=f"b{i:05d}",
        task="text-to-image",
        mode="session" if session else "anonymous",
        model_a=MODELS[i % 3],
        model_b=MODELS[(i + 1) % 3],
        prompt=f"prompt {i % 7}",
        seed=i,
        outputs_a=(grey(outputs, f"{i}a", la),),
        outputs_b=(grey(outputs, f"{i}b", lb),),
        rater=rater,
        created_at=at,
        expires_at=at + 60,
        session_code=SESSION if session else None,
        item=0 if session else None,
    )
    store.add_battle(battle)
    store.record_vote(battle.id, rater, outcome_of(i, la, lb), now=at + 10)


def brighter(i, la, lb):
    """The planted rater: the brighter side, except every 10th vote (exactly 90% of each block of 10)."""
    pick = "a" if la > lb else "b"
    return pick if i % 10 != 9 else {"a": "b", "b": "a"}[pick]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("agreement")
    outputs = root / "outputs"
    (outputs / "planted").mkdir(parents=True)
    store = ArenaStore(f"sqlite:///{root / 'arena.db'}")
    store.create_session(
        RatingSession(SESSION, "panel", "text-to-image", MODELS, ("p",), 6, 3, NOW)  # code, name, task, ..., seed
    )
    i = 0
    for n, outcome_of, session, rater in (
        (ARENA_VOTES, brighter, False, None),
        (ARENA_TIES, lambda *_: "tie", False, None),
        (LEFTY_VOTES, lambda *_: "a", False, "anon:lefty"),
        (SESSION_VOTES, brighter, True, None),
        (SESSION_TIES, lambda *_: "bothbad", True, None),
    ):
        for _ in range(n):
            plant(store, outputs, i, outcome_of, session=session, rater=rater)
            i += 1
    yield store, outputs, root / "arena.db"
    store.close()


def random_metric(seed: int) -> PairMetric:
    def score(images, prompts):
        return np.random.default_rng([seed, len(images), *map(len, prompts)]).random(len(images))

    return PairMetric("random", "Random", f"random-{seed}", True, False, score)


def rows_by_source(table: pd.DataFrame, metric: str) -> dict[str, dict]:
    return {r["source"]: r for r in table[table["metric"] == metric].to_dict("records")}


def test_planted_brightness_preference_is_recovered_from_arena_and_session_votes(planted):
    store, outputs, _ = planted
    bright = measure_metric("brightness")
    darker = replace(bright, key="darkness", label="Darkness", higher_is_better=False)  # the negated metric
    values = ImageValues()
    result = agreement_table(store, outputs, [bright, darker, random_metric(4)], values=values)
    table = result.table
    for source, n, ties in (("arena", 200, 20), ("sessions", 100, 10), ("all", 300, 30)):
        b, d, r = (rows_by_source(table, m)[source] for m in ("brightness", "darkness", "random"))
        assert (b["n"], b["human_ties"], b["missing"], b["metric_ties"]) == (n, ties, 0, 0)
        assert b["agreement"] == pytest.approx(0.9) and b["ci_low"] <= 0.9 <= b["ci_high"]
        assert b["ci_low"] > 0.8 and b["ci_high"] < 0.96  # 95% of a proportion 0.9 over >= 100 votes: about ±0.06
        assert d["agreement"] == pytest.approx(0.1) and d["ci_low"] <= 0.1 <= d["ci_high"]
        assert abs(r["agreement"] - 0.5) < 0.12 and r["ci_low"] < 0.5 < r["ci_high"]
    images = 2 * (300 + 30)  # the lefty's battles are not counted, so not scored
    assert values.scored == {"measure-brightness": images, "random-4": images}  # darkness shares brightness's id
    again = agreement_table(store, outputs, [bright, darker, random_metric(4)], values=values)
    pd.testing.assert_frame_equal(again.table, table)  # seeded bootstrap, cached values: the same table
    assert values.scored["measure-brightness"] == images  # nothing scored twice
    text = agreement_text(result)
    assert "Brightness (higher wins)" in text and "90.0" in text and "FID, KID and CMMD are left out" in text


def test_flagged_raters_count_only_when_kept(planted):
    """The votes the ratings count: the always-A rater's 20 votes drop out unless keep_flagged (or an organiser)
    keeps them; kept, they agree with brightness about half the time."""
    store, outputs, _ = planted
    kept = rows_by_source(
        agreement_table(store, outputs, [measure_metric("brightness")], keep_flagged=True).table, "brightness"
    )
    assert kept["arena"]["n"] == ARENA_VOTES + LEFTY_VOTES and kept["all"]["n"] == 320
    assert 0.75 < kept["arena"]["agreement"] < 0.9


def test_metric_ties_count_half_and_human_ties_are_not_counted():
    values = np.array([[1.0, 1.0], [2.0, 1.0], [1.0, 2.0], [2.0, 1.0], [np.nan, 1.0]])
    outcomes = ["a", "a", "a", "tie", "b"]
    got = vote_agreement(values, outcomes, higher_is_better=True)
    np.testing.assert_array_equal(got[:3], [0.5, 1.0, 0.0])
    assert np.isnan(got[3]) and np.isnan(got[4])
    np.testing.assert_array_equal(vote_agreement(values[:3], outcomes[:3], higher_is_better=False), [0.5, 0.0, 1.0])


def test_bootstrap_is_seeded_and_refuses_bad_options(planted):
    scores = np.r_[np.ones(90), np.zeros(10)]
    assert bootstrap_ci(scores, 1000, 0.95, seed=1) == bootstrap_ci(scores, 1000, 0.95, seed=1)
    assert bootstrap_ci(np.ones(5)) == (1.0, 1.0)
    assert all(np.isnan(bootstrap_ci(np.array([]))))
    store, outputs, _ = planted
    with pytest.raises(InputError, match="Bootstrap rounds -1"):
        agreement_table(store, outputs, [], rounds=-1)
    with pytest.raises(InputError, match="Confidence 1.5"):
        agreement_table(store, outputs, [], confidence=1.5)


def test_values_come_from_a_runs_per_image_csv_when_the_sha256_matches(planted, tmp_path):
    store, outputs, _ = planted
    fake = PairMetric("clip_score", "CLIPScore", "clip-x", True, True, lambda im, p: pytest.fail("scored"), False)
    fake = replace(fake, run_column="clip_score", run_id_column="clip_id")
    values = ImageValues()
    path = outputs / "planted" / "0a.png"
    rows = pd.DataFrame(
        {"sha256": [values.sha256(path)] * 2, "prompt": ["prompt 0", "prompt 0"], "clip_score": [31.5, 7.0]}
    ).assign(clip_id=["clip-x", "clip-other"])
    (tmp_path / "scores").mkdir()
    rows.head(1).to_csv(tmp_path / "scores" / "per_image.csv", index=False)
    assert values.add_run(tmp_path, [fake]) == 1
    assert values.values(fake, [path], ["prompt 0"]).tolist() == [31.5]  # read, not scored
    with pytest.raises(InputError, match="has no scores/per_image.csv"):
        values.add_run(tmp_path / "nowhere", [fake])


class PlantedScorer:
    """A stand-in scorer for the test: brightness on 0..100 (the SCORERS contract: images, prompts -> (N,))."""

    info = ScorerInfo("standin-planted-seed0", "planted brightness", "planted", "RGB mean", "0..100", True)

    def score(self, images, prompts, batch_size=8):
        scorers.check_pairs(images, prompts, "planted scorer")
        return np.array([100 * np.asarray(im.convert("L"), float).mean() / 255 for im in images])

    def to(self, device):
        return self


def test_default_metrics_run_a_standin_scorer_through_load_scorer_end_to_end(planted, monkeypatch):
    module = types.ModuleType("planted_scorer_module")
    module.DEFAULT_MODEL = "planted/brightness"
    module.load = lambda model_id=None, *, standin=False, local_files_only=False, **options: PlantedScorer()
    monkeypatch.setitem(sys.modules, "planted_scorer_module", module)
    table = {
        "planted": ScorerEntry("Planted brightness", "planted_scorer_module", False),
        "broken": ScorerEntry("Not installed", "no_such_scorer_module", True),
    }
    monkeypatch.setattr(scorers, "SCORERS", table)
    monkeypatch.setattr(agreement_metrics, "SCORERS", table)
    with pytest.raises(InputError, match="Metric 'fid' is not one the agreement table knows; allowed: clip_score, "):
        default_metrics(standin=True, only="clip_score,fid")
    metrics, notes = default_metrics(standin=True, only=["clip_score", "planted", "broken"])
    assert [m.key for m in metrics] == ["clip_score", "planted"] and all(m.standin for m in metrics)
    assert notes == [
        "Not installed left out: it did not load (ModuleNotFoundError: No module named 'no_such_scorer_module')."
    ]
    store, outputs, _ = planted

    def refuse(images, prompts):
        raise InputError("no metadata for 'prompt 0'")  # as GenEval's checker does for a prompt outside its suite

    refusing = PairMetric("refusing", "Refusing", "refusing", True, True, refuse)
    result = agreement_table(store, outputs, [*metrics, refusing], rounds=200)
    refused = "Refusing left out: it could not score the battles' images (InputError: no metadata for 'prompt 0')."
    assert refused in result.notes
    assert "refusing" not in set(result.table["metric"])
    rows = rows_by_source(result.table, "planted")
    assert rows["all"]["agreement"] == pytest.approx(0.9) and rows["all"]["n"] == 300
    clip = rows_by_source(result.table, "clip_score")["all"]
    assert clip["n"] == 300 and 0 <= clip["agreement"] <= 1 and clip["standin"]
    assert any("tiny random weights" in n for n in result.notes)


def test_cli_prints_the_table_from_the_arena_database(planted, genart_cli, tmp_path):
    store, outputs, db = planted
    proc = genart_cli(
        "leaderboard",
        "agreement",
        "--db",
        f"sqlite:///{db}",
        "--outputs",
        str(outputs),
        "--rounds",
        "99",
        "--metrics",
        "clip_score,brightness",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {
        tuple(line.split()[3:5]): line.split() for line in proc.stdout.splitlines() if line.startswith("Brightness")
    }
    elsewhere = genart_cli(
        "leaderboard", "agreement", "--db", f"sqlite:///{db}", "--outputs", str(tmp_path), "--metrics", "contrast"
    )
    assert "300 decisive vote(s) have no image a metric can read" in elsewhere.stdout
    assert rows[("all", "90.0")][6:10] == ["300", "0", "30", "0"]  # n, metric ties, human ties, missing
    assert {source for source, _ in rows} == {"arena", "sessions", "all"}
    assert "CLIPScore" in proc.stdout and "FID, KID and CMMD are left out" in proc.stdout


def test_score_takes_agreement_with_an_optional_url():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["leaderboard", "score", "RUN"]).agreement is None
    assert parser.parse_args(["leaderboard", "score", "RUN", "--agreement"]).agreement == ""
    given = parser.parse_args(["leaderboard", "score", "RUN", "--agreement", "sqlite:///x.db"])
    assert (
        given.agreement == "sqlite:///x.db"
        and score_agreement(None, parser.parse_args(["leaderboard", "show", "R"])) is None
    )


@pytest.fixture(scope="module")
def planted_studio(planted, settings):
    _, outputs, db = planted
    return Studio.create(replace(settings, output_dir=outputs, db_url=f"sqlite:///{db}"))


def test_leaderboard_section_shows_the_workspace_arenas_table(planted_studio):
    table, notes = AgreementPage(planted_studio).compute(["brightness", "contrast"])
    rows = {(r["label"], r["source"]): r for r in table.to_dict("records")}
    bright = rows[("Brightness (higher wins)", "all")]
    assert (bright["agreement %"], bright["n"], bright["human_ties"]) == (90.0, 300, 30)
    assert bright["CI low %"] <= 90.0 <= bright["CI high %"]
    assert rows[("Contrast (higher wins)", "all")]["agreement %"] == 50.0  # flat greys: every vote a metric tie
    assert f"`{planted_studio.settings.db_url}`" in notes and "- FID, KID and CMMD are left out" in notes
    with pytest.raises(InputError, match="Metric 'fid' is not one the agreement table knows"):
        AgreementPage(planted_studio).compute(["fid"])


def test_leaderboard_tab_has_the_agreement_section(planted_studio):
    with gr.Blocks() as demo:
        build_leaderboard_ui(planted_studio)
    ids = {c.get("props", {}).get("elem_id") for c in demo.config["components"]}
    assert {"lb-agreement", "lb-agreement-metrics", "lb-agreement-run", "lb-agreement-table"} <= ids


def test_score_agreement_prints_the_table_reusing_the_runs_values(planted_studio, planted, tmp_path, monkeypatch):
    monkeypatch.setattr(scorers, "SCORERS", {})  # CLIPScore's stand-in and the image measures only: quick
    monkeypatch.setattr(agreement_metrics, "SCORERS", {})
    _, outputs, db = planted
    sha = ImageValues().sha256(outputs / "planted" / "0a.png")
    (tmp_path / "scores").mkdir()
    pd.DataFrame(
        {"sha256": [sha], "prompt": ["prompt 0"], "clip_score": [99.0], "clip_id": ["standin-clip-seed0"]}
    ).to_csv(tmp_path / "scores" / "per_image.csv", index=False)
    args = argparse.Namespace(agreement=f"sqlite:///{db}", run=str(tmp_path))
    text = score_agreement(planted_studio, args)
    assert f"arena: sqlite:///{db}" in text and "Brightness (higher wins)" in text and "CLIPScore" in text
    empty = argparse.Namespace(agreement=f"sqlite:///{tmp_path / 'none.db'}", run=str(tmp_path))
    assert "No counted votes on text-to-image yet" in score_agreement(planted_studio, empty)


def test_the_repos_own_scorer_standins_run_on_the_planted_arena(planted):
    """PickScore (prompt and image) and the LAION aesthetic predictor (image only) load as their stand-ins through
    load_scorer and fill every row; random weights, so only the counts and ranges are known."""
    metrics, notes = default_metrics(standin=True, only="pickscore,aesthetic")
    assert [m.key for m in metrics] == ["pickscore", "aesthetic"] and notes == []
    store, outputs, _ = planted
    table = agreement_table(store, outputs, metrics, rounds=100).table
    assert sorted(table["metric"]) == ["aesthetic"] * 3 + ["pickscore"] * 3
    assert (table["n"] == table["source"].map({"arena": 200, "sessions": 100, "all": 300})).all()
    assert table["standin"].all() and table["agreement"].between(0, 1).all()
    assert (table["ci_low"] <= table["agreement"]).all() and (table["agreement"] <= table["ci_high"]).all()
