"""Tests for leaderboard.scoring_metrics through score_run: scorer metrics beside CLIPScore, per-skill tables with
hand-computed means and CIs, the per-metric cache, GenEval metadata, and refused metric names."""

import json

import numpy as np
import pandas as pd
import pytest

from genart_demo.errors import InputError
from genart_demo.metrics.scorers import ScorerInfo
from leaderboard.prompt_suites import geneval_metadata
from leaderboard.scoring import score_run
from leaderboard.scoring_metrics import check_metrics
from tests.leaderboard.test_scoring import PROMPTS, CountingClip, constant, make_run


class Brightness:
    """A deterministic ImageScorer: an image's score is its mean pixel value times `scale` (known by construction)."""

    def __init__(self, metric: str, scale: float = 1.0, version: str = "v1"):
        self.info = ScorerInfo(f"brightness-{metric}-{version}", "mean pixel", metric, "none", "pixel mean", True)
        self.scale, self.images, self.metadata = scale, 0, []

    def score(self, images, prompts, batch_size=8, **options):
        assert len(images) == len(prompts) and batch_size >= 1
        self.images += len(images)
        self.metadata += options.get("metadata", [])
        return np.array([np.asarray(im, dtype=np.float64).mean() * self.scale for im in images])

    def to(self, device):
        return self


def pixel_value(model: str, prompt_id: str, seed: int) -> int:
    return {"m-a": 10, "m-b": 40}[model] + 7 * int(prompt_id[-1]) + 3 * seed


def reference_ci(values: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """The percentile bootstrap written out: default_rng(seed) draws (resamples, n) prompt indices at once."""
    means = values[np.random.default_rng(seed).integers(0, values.size, (resamples, values.size))].mean(axis=1)
    return tuple(np.quantile(means, [0.025, 0.975]))


def test_per_skill_tables_equal_hand_computed_means_and_cis(tmp_path):
    run = make_run(tmp_path / "run", pixels=lambda m, p, s: constant(pixel_value(m, p, s)))
    pick = Brightness("pickscore", scale=0.5)
    result = score_run(
        run, clip=CountingClip(), metrics="clip_score,pickscore", scorers={"pickscore": pick}, bootstrap=300, seed=2
    )
    per_image = result.tables["per_image"].set_index(["model", "prompt_id", "seed"])
    assert per_image.loc[("m-b", "p-03", 1), "pickscore"] == 0.5 * (40 + 21 + 3)
    assert (per_image["pickscore_id"] == "brightness-pickscore-v1").all()
    pp = result.tables["per_prompt"].set_index(["model", "prompt_id"])
    assert pp.loc[("m-a", "p-02"), "pickscore"] == 0.5 * (10 + 14 + 1.5)  # mean over seeds 0, 1
    by_cat = result.tables["by_category"].set_index(["model", "category"])
    for (model, category), row in by_cat.iterrows():
        ids = sorted(p for p, c, _ in PROMPTS if c == category)
        values = np.array([0.5 * (pixel_value(model, p, 0) + pixel_value(model, p, 1)) / 2 for p in ids])
        assert row["pickscore"] == pytest.approx(values.mean(), abs=1e-12)
        lo, hi = reference_ci(values, 300, 2)
        assert (row["pickscore_lo"], row["pickscore_hi"]) == pytest.approx((lo, hi), abs=1e-12)
    colors = by_cat.loc[("m-a", "Colors")]  # prompts 0, 1, 2: per-prompt means 0.5·(11.5 + 7k) = 5.75, 9.25, 12.75
    assert colors["pickscore"] == pytest.approx(9.25) and 5.75 <= colors["pickscore_lo"] < 9.25
    assert by_cat.loc[("m-b", "Counting"), ["pickscore_lo", "pickscore_hi"]].tolist() == [38.25] * 2  # one prompt: p-05
    overall = result.tables["overall"].set_index("model")
    assert overall.loc["m-a", "pickscore"] == pytest.approx(0.5 * (10 + 7 * 2.5 + 1.5))
    assert list(result.tables["overall"].columns[:8]) == ["model", "clip_score", "clip_ci_low", "clip_ci_high"] + [
        "clip_max",
        "pickscore",
        "pickscore_lo",
        "pickscore_hi",
    ]
    info = json.loads((run / "scores" / "scores.json").read_text())
    assert info["metrics"] == ["clip_score", "pickscore"]
    assert info["scorers"]["pickscore"]["id"] == "brightness-pickscore-v1" and info["scorers"]["pickscore"]["standin"]


def test_rescoring_with_one_more_metric_computes_only_that_metric(tmp_path):
    run = make_run(tmp_path / "run", pixels=lambda m, p, s: constant(pixel_value(m, p, s)))
    clip, pick, aesthetic = CountingClip(), Brightness("pickscore"), Brightness("aesthetic", scale=2.0)
    first = score_run(run, clip=clip, metrics=["pickscore"], scorers={"pickscore": pick}, bootstrap=50)
    assert (clip.images, pick.images) == (24, 24) and first.metric_images == {"pickscore": {"scored": 24, "reused": 0}}
    second = score_run(
        run,
        clip=clip,
        metrics=["pickscore", "aesthetic"],
        scorers={"pickscore": pick, "aesthetic": aesthetic},
        bootstrap=50,
    )
    assert (clip.images, pick.images, aesthetic.images) == (24, 24, 24)
    assert second.metric_images["pickscore"] == {"scored": 0, "reused": 24}
    pd.testing.assert_series_equal(first.tables["per_image"]["pickscore"], second.tables["per_image"]["pickscore"])
    assert second.tables["per_image"]["aesthetic"].tolist() == [2 * x for x in second.tables["per_image"]["pickscore"]]
    # a scorer with other weights (another id) is computed again; the one loaded before is not asked for
    score_run(run, clip=clip, metrics=["pickscore"], scorers={"pickscore": Brightness("pickscore", version="v2")})
    assert pick.images == 24


def test_cached_metric_loads_no_scorer(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", models=("m-a",), seeds=(0,))
    made = []

    def fake_load(name, model_id=None, *, standin=False, **options):
        made.append((name, standin))
        return Brightness(name)

    monkeypatch.setattr("leaderboard.scoring_metrics.load_scorer", fake_load)
    score_run(run, clip=CountingClip(), metrics=["aesthetic"], standin=True, bootstrap=10)
    again = score_run(run, clip=CountingClip(), metrics=["aesthetic"], standin=True, bootstrap=10)
    assert made == [("aesthetic", True)] and again.metric_images["aesthetic"]["reused"] == 6


def test_geneval_loads_with_the_bundled_metadata_and_refuses_other_prompts(tmp_path, monkeypatch):
    texts = list(geneval_metadata())[:2]
    assert len(geneval_metadata()) == 553 and geneval_metadata()[texts[0]]["tag"] == "single_object"
    run = make_run(tmp_path / "run", models=("m-a",), seeds=(0,))
    rows = [json.loads(line) for line in (run / "manifest.jsonl").read_text().splitlines()]
    for r in rows:
        r["prompt"] = texts[int(r["prompt_id"][-1]) % 2]
    (run / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = []

    def fake_load(name, model_id=None, *, standin=False, **options):
        loaded.append(options)
        return Brightness(name)

    monkeypatch.setattr("leaderboard.scoring_metrics.load_scorer", fake_load)
    result = score_run(run, clip=CountingClip(), metrics=["geneval"], standin=True, bootstrap=10)
    assert loaded[0]["metadata"] is geneval_metadata() and result.metric_images["geneval"]["scored"] == 6
    rows[0]["prompt"] = "a prompt GenEval never wrote"
    (run / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match="GenEval scores only GenEval's own prompts.*1 prompt.*never wrote"):
        score_run(run, clip=CountingClip(), metrics=["geneval"], standin=True, bootstrap=10)


def test_metric_names_are_checked():
    assert check_metrics("pickscore, clip_score,pickscore") == ("clip_score", "pickscore")
    assert check_metrics([]) == ("clip_score",)
    with pytest.raises(InputError, match=r"unknown metric\(s\) 'fid'; allowed: clip_score, pickscore, hpsv21"):
        check_metrics("pickscore,fid")
