"""Tests for leaderboard.scoring on hand-made run folders: per-prompt and per-group tables, FID/KID, bad files, and
the per-image cache."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from genart_demo.errors import InputError
from leaderboard.features import default_clip_id, set_hash
from leaderboard.scoring import KID_OPTIONS, score_run

PROMPTS = [
    ("p-00", "Colors", "Basic"),
    ("p-01", "Colors", "Basic"),
    ("p-02", "Colors", "Complex"),
    ("p-03", "Text", "Basic"),
    ("p-04", "Text", ""),
    ("p-05", "Counting", "Complex"),
]


class CountingClip:
    """A stand-in with ClipScorer's .score(): an image's score is the mean of its pixels (known by construction)."""

    def __init__(self):
        self.info = {"id": "counting-clip", "name": "mean pixel value", "standin": True}
        self.images = 0

    def score(self, images, prompts, convention="per_sample"):
        assert convention == "per_sample" and len(images) == len(prompts)
        self.images += len(images)
        return {"per_image": torch.tensor([np.asarray(im, dtype=np.float64).mean() for im in images]), "truncated": []}


def write_png(path: Path, pixels: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_run(root: Path, models=("m-a", "m-b"), seeds=(0, 1), pixels=None) -> Path:
    """A run folder as the runner writes it: prompts.jsonl, images/<model>/<pid>-s<seed>.png, manifest.jsonl.
    pixels(model, prompt_id, seed) -> (32, 32, 3) uint8; default: seeded random noise."""
    rng = np.random.default_rng(0)
    pixels = pixels or (lambda m, p, s: rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    root.mkdir(parents=True, exist_ok=True)
    (root / "prompts.jsonl").write_text(
        "".join(
            json.dumps({"id": p, "text": f"prompt {p}", "category": c, "challenge": ch, "note": ""}) + "\n"
            for p, c, ch in PROMPTS
        )
    )
    rows = []
    for m in models:
        for p, c, ch in PROMPTS:
            for s in seeds:
                rel = f"images/{m}/{p}-s{s}.png"
                sha = write_png(root / rel, pixels(m, p, s))
                rows.append(
                    {
                        "model": m,
                        "revision": "main",
                        "pipeline": "x",
                        "standin": True,
                        "prompt_id": p,
                        "prompt": f"prompt {p}",
                        "category": c,
                        "challenge": ch,
                        "seed": s,
                        "settings": {},
                        "path": rel,
                        "sha256": sha,
                        "seconds": 0.5 if m == "m-a" else 1.5,
                        "width": 32,
                        "height": 32,
                    }
                )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def constant(value):
    return np.full((32, 32, 3), value, dtype=np.uint8)


# ---------------------------------------------------------------- tables from a fake run


def test_mean_max_over_seeds_and_group_counts(tmp_path):
    values = {("m-a", 0): 10, ("m-a", 1): 30, ("m-b", 0): 50, ("m-b", 1): 20}  # per model and seed, + prompt index
    run = make_run(tmp_path / "run", pixels=lambda m, p, s: constant(values[m, s] + int(p[-1])))
    result = score_run(run, clip=CountingClip(), bootstrap=200)
    pp = result.tables["per_prompt"].set_index(["model", "prompt_id"])
    assert pp.loc[("m-a", "p-03"), "clip_score"] == 23.0 and pp.loc[("m-a", "p-03"), "clip_max"] == 33.0
    assert pp.loc[("m-b", "p-05"), "clip_score"] == 40.0 and pp.loc[("m-b", "p-05"), "clip_max"] == 55.0
    assert (pp["n_seeds"] == 2).all()
    overall = result.tables["overall"].set_index("model")
    assert overall.loc["m-a", "clip_score"] == pytest.approx(20 + 2.5, abs=1e-12)  # mean of 20 + prompt index
    assert overall.loc["m-b", "clip_max"] == pytest.approx(50 + 2.5, abs=1e-12)
    assert overall.loc["m-a", "clip_ci_low"] <= 22.5 <= overall.loc["m-a", "clip_ci_high"]
    assert overall.loc["m-a", "seconds_per_image"] == 0.5 and overall.loc["m-b", "seconds_per_image"] == 1.5
    assert list(overall["n_prompts"]) == [6, 6] and list(overall["n_images"]) == [12, 12]
    expected_cat = pd.Series([p[1] for p in PROMPTS]).value_counts()
    for _model, group in result.tables["by_category"].groupby("model"):
        got = group.set_index("category")
        assert got["n_prompts"].to_dict() == expected_cat.to_dict()
        assert (got["n_images"] == 2 * got["n_prompts"]).all()
    by_ch = result.tables["by_challenge"]
    assert by_ch[by_ch.model == "m-a"].set_index("challenge")["n_prompts"].to_dict() == {"Basic": 3, "Complex": 2}
    colors = result.tables["by_category"].set_index(["model", "category"]).loc[("m-b", "Colors")]
    assert colors["clip_score"] == pytest.approx(35 + 1, abs=1e-12)  # prompts 0, 1, 2


def test_files_written_and_info(tmp_path):
    run = make_run(tmp_path / "run")
    result = score_run(run, clip=CountingClip(), bootstrap=100, seed=4)
    names = {p.name for p in (run / "scores").iterdir() if p.is_file()}
    assert names == {
        "per_image.csv",
        "per_prompt.csv",
        "overall.csv",
        "by_category.csv",
        "by_challenge.csv",
        "scores.json",
    }
    info = json.loads((run / "scores" / "scores.json").read_text())
    assert info["clip"]["id"] == "counting-clip" and info["clip_convention"] == "per_sample"
    assert info["bootstrap"]["resamples"] == 100 and info["bootstrap"]["seed"] == 4
    assert info["images"] == {"scored": 24, "reused": 0, "skipped": 0}
    assert not list((run / "scores").glob(".*tmp*"))  # atomic writes leave no temporaries
    assert result.scored == 24


def test_missing_and_corrupt_files_are_reported_and_skipped(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "images/m-a/p-01-s0.png").unlink()
    write_png(run / "images/m-b/p-02-s1.png", constant(9))  # bytes differ from the manifest's sha256
    result = score_run(run, clip=CountingClip(), bootstrap=50)
    reasons = {(s["model"], s["prompt_id"], s["seed"]): s["reason"] for s in result.skipped}
    assert reasons == {("m-a", "p-01", 0): "file missing", ("m-b", "p-02", 1): "sha256 differs"}
    assert sum("p-01" in n and "file missing" in n for n in result.notes) == 1
    assert sum("p-02" in n and "sha256" in n for n in result.notes) == 1
    per_image = result.tables["per_image"]
    assert (
        len(per_image) == 22
        and not ((per_image.model == "m-a") & (per_image.prompt_id == "p-01") & (per_image.seed == 0)).any()
    )
    assert result.tables["per_prompt"].set_index(["model", "prompt_id"]).loc[("m-a", "p-01"), "n_seeds"] == 1


def test_rescoring_scores_only_new_or_changed_images(tmp_path):
    run = make_run(tmp_path / "run")
    clip = CountingClip()
    first = score_run(run, clip=clip, bootstrap=50)
    assert clip.images == 24
    second = score_run(run, clip=clip, bootstrap=50)
    assert clip.images == 24 and second.scored == 0 and second.reused == 24
    pd.testing.assert_frame_equal(first.tables["overall"], second.tables["overall"])
    # change one image (and its manifest row, as the runner would after regenerating it)
    sha = write_png(run / "images/m-b/p-04-s1.png", constant(200))
    rows = [json.loads(line) for line in (run / "manifest.jsonl").read_text().splitlines()]
    for r in rows:
        if r["path"] == "images/m-b/p-04-s1.png":
            r["sha256"] = sha
    (run / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    third = score_run(run, clip=clip, bootstrap=50)
    assert clip.images == 25 and third.scored == 1
    row = third.tables["per_image"].set_index(["model", "prompt_id", "seed"]).loc[("m-b", "p-04", 1)]
    assert row["clip_score"] == 200.0


def test_default_standin_clip_end_to_end_and_cache_skips_loading(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", models=("m-a",), seeds=(0,))
    calls = []
    first = score_run(run, standin=True, bootstrap=50, batch_size=4, progress=lambda d, t, s: calls.append((d, t, s)))
    assert first.info["clip"]["id"] == default_clip_id(True)  # the id of the CLIP load_clip(standin=True) built
    assert calls[-1] == (6, 6, "CLIPScore") and len(calls) == 2
    scores = first.tables["per_image"]["clip_score"]
    assert ((scores >= 0) & (scores <= 100)).all()
    import genart_demo.metrics.clip as clip_module

    monkeypatch.setattr(clip_module, "load_clip", lambda **kw: pytest.fail("all scores are cached"))
    again = score_run(run, standin=True, bootstrap=50)
    assert again.scored == 0 and again.info["clip"] == first.info["clip"]  # full CLIP info kept without loading it


@pytest.mark.parametrize("name", ["drawbench", "parti"])
def test_group_counts_on_the_real_prompt_sets(tmp_path, name):
    from leaderboard.prompts import load_prompt_set

    prompt_set = load_prompt_set(name)
    run = tmp_path / name
    pixels = constant(1)[:8, :8]
    sha = write_png(run / "images" / "one.png", pixels)
    rows = [
        {
            "model": "m",
            "prompt_id": it.id,
            "prompt": it.text,
            "category": it.category,
            "challenge": it.challenge,
            "seed": 0,
            "path": "images/one.png",
            "sha256": sha,
            "seconds": 1.0,
        }
        for it in prompt_set.items
    ]
    (run / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    clip = CountingClip()
    result = score_run(run, clip=clip, bootstrap=10, batch_size=256)
    assert clip.images == len(prompt_set.items)
    assert result.tables["by_category"].set_index("category")["n_prompts"].to_dict() == prompt_set.categories()
    by_challenge = result.tables["by_challenge"].set_index("challenge")["n_prompts"].to_dict()
    assert by_challenge == {k: v for k, v in prompt_set.challenges().items() if k}
    if name == "drawbench":
        assert len(by_challenge) == 0 and prompt_set.categories()["Colors"] == 25
    else:
        assert (len(prompt_set.categories()), len(by_challenge)) == (12, 11)


# ---------------------------------------------------------------- FID / KID


def _features(extractor, paths):
    batch = torch.from_numpy(np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])).permute(0, 3, 1, 2)
    return extractor(batch)["features"].numpy()


def test_fid_kid_equal_the_metric_functions_on_the_same_features(tmp_path):
    from genart_demo.metrics.cmmd import cmmd, cmmd_extractor
    from genart_demo.metrics.extractors import load_extractor
    from genart_demo.metrics.frechet import frechet_distance_features
    from genart_demo.metrics.kid import kid
    from genart_demo.metrics.refcache import content_hash

    run = make_run(tmp_path / "run", models=("m-a", "m-b", "m-c"))
    rng = np.random.default_rng(7)
    ref_paths = [tmp_path / "ref" / f"r{i:02d}.png" for i in range(10)]
    for p in ref_paths:
        write_png(p, (rng.integers(0, 128, (32, 32, 3))).astype(np.uint8))
    extractor, clip_extractor = load_extractor("fid-inception", standin=True), cmmd_extractor(standin=True)
    result = score_run(
        run,
        reference=tmp_path / "ref",
        between_models=True,
        clip=CountingClip(),
        extractor=extractor,
        cmmd_extractor=clip_extractor,
        bootstrap=50,
    )
    ref, clip_ref = _features(extractor, ref_paths), _features(clip_extractor, ref_paths)
    per_image = result.tables["per_image"]
    model_feats = {m: _features(extractor, [run / p for p in g["path"]]) for m, g in per_image.groupby("model")}
    fid = result.tables["fid"]
    for m, f in model_feats.items():
        row = fid[(fid.model == m) & (fid.against == "reference")].iloc[0]
        assert row["fid"] == pytest.approx(frechet_distance_features(ref, f), rel=1e-9)
        kid_mean, kid_std = kid(ref, f, **KID_OPTIONS)
        assert row["kid"] == pytest.approx(kid_mean, rel=1e-9, abs=1e-12)
        assert row["kid_std"] == pytest.approx(kid_std, rel=1e-9, abs=1e-12)
        assert (row["n"], row["n_against"]) == (12, 10)
        clip_model = _features(clip_extractor, [run / p for p in per_image[per_image.model == m]["path"]])
        assert row["cmmd"] == pytest.approx(cmmd(clip_ref, clip_model), rel=1e-6) and row["cmmd"] > 0
        assert result.tables["overall"].set_index("model").loc[m, "fid"] == row["fid"]
        assert result.tables["overall"].set_index("model").loc[m, "cmmd"] == row["cmmd"]
    assert fid[fid.against != "reference"]["cmmd"].isna().all()  # CMMD is against the reference only
    assert info_cmmd(result) == clip_extractor.info.id
    matrix = result.tables["fid_matrix"].set_index("model")
    assert list(matrix.index) == list(matrix.columns) == ["m-a", "m-b", "m-c"]
    assert np.allclose(np.diag(matrix.to_numpy()), 0) and np.allclose(matrix.to_numpy(), matrix.to_numpy().T)
    assert matrix.loc["m-a", "m-c"] == pytest.approx(
        frechet_distance_features(model_feats["m-a"], model_feats["m-c"]), rel=1e-9
    )
    info = result.info
    assert info["reference"]["content_hash"] == content_hash(p.read_bytes() for p in ref_paths)
    assert info["extractor"]["id"] == extractor.info.id
    # the cache holds 3 model sets + the reference, for Inception and for CLIP; a re-run extracts nothing
    assert len(list((run / "scores" / "cache").iterdir())) == 8

    class NoCalls:
        info = extractor.info

        def __call__(self, images):
            raise AssertionError("features should come from the cache")

    class NoClipCalls(NoCalls):
        info = clip_extractor.info

    again = score_run(
        run,
        reference=tmp_path / "ref",
        between_models=True,
        clip=CountingClip(),
        extractor=NoCalls(),
        cmmd_extractor=NoClipCalls(),
    )
    pd.testing.assert_frame_equal(again.tables["fid"], fid)
    # without a reference or between_models the FID files from before are removed, and the removal is noted
    last = score_run(run, clip=CountingClip())
    assert "fid" not in last.tables and not (run / "scores" / "fid.csv").exists()
    assert any("fid.csv" in n for n in last.notes)


def info_cmmd(result) -> str:
    return result.info["cmmd"]["extractor"]["id"]


def test_set_hash_equals_content_hash_of_the_files(tmp_path):
    from genart_demo.metrics.refcache import content_hash

    blobs = [b"one", b"two", b"one"]
    assert set_hash([hashlib.sha256(b).hexdigest() for b in blobs]) == content_hash(blobs)


def test_bad_run_folders_are_refused(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        score_run(tmp_path / "nope", clip=CountingClip())
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no manifest"):
        score_run(tmp_path / "empty", clip=CountingClip())
    run = make_run(tmp_path / "run", models=("m-a",), seeds=(0,))
    for p in (run / "images" / "m-a").iterdir():
        p.unlink()
    with pytest.raises(InputError, match="nothing to score"):
        score_run(run, clip=CountingClip())
