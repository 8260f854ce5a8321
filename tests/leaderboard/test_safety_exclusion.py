"""Images a safety checker flagged (black) are left out of the leaderboard's scores and counted per model: on a
hand-made run with planted flags, and through the runner on a stand-in with a scripted checker."""

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safety_checkers import ScriptedChecker, checked

from genart_demo.errors import InputError
from genart_demo.safety import FLAGGED_TEXT
from leaderboard import manifest as mf
from leaderboard.run_options import stats_text
from leaderboard.runner import run_from_args
from leaderboard.scoring import score_run
from leaderboard.tables import gallery_rows, load_tables, show_text

PROMPTS = ("p-0", "p-1", "p-2")


class MeanClip:
    """A ClipScorer stand-in: an image's score is the mean of its pixels."""

    info = {"id": "mean-clip", "name": "mean pixel value", "standin": True}

    def score(self, images, prompts, convention="per_sample"):
        return {"per_image": torch.tensor([np.asarray(im, dtype=np.float64).mean() for im in images]), "truncated": []}


def plant_run(root: Path, flagged: set) -> Path:
    """Models m-a, m-b and m-c, PROMPTS x seeds 0 and 1; pixel value 10 * (prompt + 1) + seed. Images in `flagged`
    ((model, prompt_id, seed)) are black and their rows say nsfw_flagged: true; the others say false or null."""
    root.mkdir(parents=True)
    (root / mf.PROMPTS_FILE).write_text("".join(json.dumps({"id": p, "text": f"prompt {p}"}) + "\n" for p in PROMPTS))
    rows = []
    for model in ("m-a", "m-b", "m-c"):
        for k, prompt_id in enumerate(PROMPTS):
            for seed in (0, 1):
                is_flagged = (model, prompt_id, seed) in flagged
                value = 0 if is_flagged else 10 * (k + 1) + seed
                rel = mf.image_relpath(model, prompt_id, seed)
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.full((16, 16, 3), value, np.uint8)).save(root / rel)
                rows.append(
                    {
                        "model": model,
                        "prompt_id": prompt_id,
                        "prompt": f"prompt {prompt_id}",
                        "seed": seed,
                        "path": rel,
                        "sha256": hashlib.sha256((root / rel).read_bytes()).hexdigest(),
                        "seconds": 1.0,
                        "standin": True,
                        "nsfw_flagged": True if is_flagged else (False if model == "m-a" else None),
                    }
                )
    (root / mf.MANIFEST_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_flagged_images_are_left_out_of_every_score_and_counted(tmp_path):
    flagged = {("m-a", "p-1", 1)} | {("m-c", p, s) for p in PROMPTS for s in (0, 1)}
    run = plant_run(tmp_path / "run", flagged)
    result = score_run(run, clip=MeanClip(), bootstrap=20)
    per_image = result.tables["per_image"]
    assert len(per_image) == 18 - 7 and set(per_image["model"]) == {"m-a", "m-b"}
    overall = result.tables["overall"].set_index("model")
    assert overall.loc["m-a", "n_images"] == 5 and overall.loc["m-b", "n_images"] == 6
    # m-a's p-1 keeps only seed 0 (20): (10.5 + 20 + 30.5) / 3, not the (10.5 + 10 + 30.5) / 3 a black image gives
    assert overall.loc["m-a", "clip_score"] == pytest.approx(61 / 3, abs=1e-12)
    assert overall.loc["m-b", "clip_score"] == pytest.approx(20.5, abs=1e-12)
    assert overall["n_flagged"].to_dict() == {"m-a": 1, "m-b": 0, "m-c": 6}
    assert overall.loc["m-c", "n_images"] == 0 and math.isnan(overall.loc["m-c", "clip_score"])  # listed, unscored
    assert bool(overall.loc["m-c", "standin"]) is True
    assert f"m-a: 1 image(s) left out of every score, {FLAGGED_TEXT}" in result.notes
    assert result.info["flagged"] == {"m-a": 1, "m-c": 6} and result.skipped == []
    assert load_tables(run)["overall"].set_index("model")["n_flagged"].to_dict() == {"m-a": 1, "m-b": 0, "m-c": 6}
    table = show_text(run)
    assert "flagged" in table.splitlines()[4] and FLAGGED_TEXT in table  # the column, and the line saying what it is
    captions = dict((Path(p).parent.name, c) for p, c in gallery_rows(run, "p-1", seed=1))
    assert captions["m-a"].endswith(FLAGGED_TEXT) and FLAGGED_TEXT not in captions["m-b"]


def test_a_run_whose_every_image_is_flagged_says_so(tmp_path):
    run = plant_run(tmp_path / "run", {(m, p, s) for m in ("m-a", "m-b", "m-c") for p in PROMPTS for s in (0, 1)})
    with pytest.raises(InputError, match="all 18 intact images are flagged"):
        score_run(run, clip=MeanClip(), bootstrap=0)


def test_the_runner_records_flags_and_counts_them(studio, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red kite\na blue boat\n")
    out = tmp_path / "run"
    with checked(studio, "sd15", ScriptedChecker([False, True])) as entry:
        stats = run_from_args(
            out, prompts=str(prompts), models=["sd15", "sd-turbo"], seeds=[0], batch_size=2, steps=2, studio=studio
        )
        assert entry.pipe.safety_checker.calls == 1  # one batched call for sd15's two prompts
    rows = {(r["model"], r["prompt"]): r for r in mf.read_manifest(out)}
    assert all(set(r) == set(mf.ROW_FIELDS) for r in rows.values())
    flags = {key: row["nsfw_flagged"] for key, row in rows.items()}
    assert sorted(flags.values(), key=str) == [False, None, None, True]
    assert [key[0] for key, flag in flags.items() if flag is not None] == ["sd15", "sd15"]
    flagged_row = next(r for r in rows.values() if r["nsfw_flagged"])
    assert np.asarray(Image.open(out / flagged_row["path"])).max() == 0
    assert stats.flagged == {"sd15": 1}
    assert stats_text(stats, str(out)).endswith("; flagged by safety checkers, left out of scores and battles: sd15 1")
    again = run_from_args(
        out, prompts=str(prompts), models=["sd15", "sd-turbo"], seeds=[0], batch_size=2, steps=2, studio=studio
    )
    assert again.generated == 0 and again.flagged == {"sd15": 1}  # a resumed run still says so
