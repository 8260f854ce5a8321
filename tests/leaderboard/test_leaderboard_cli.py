"""`genart leaderboard` end to end: a full DrawBench run of 3 stand-in models, scored, shown and exported."""

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from leaderboard.prompt_suites import GENEVAL_TAGS, T2I_COMPBENCH_FILES
from leaderboard.tables import load_tables

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("sd15", "sd-turbo", "pixart-sigma")
DRAWBENCH = {
    "Colors": 25,
    "Conflicting": 10,
    "Counting": 19,
    "DALL-E": 20,
    "Descriptions": 20,
    "Gary Marcus et al.": 10,
    "Misspellings": 10,
    "Positional": 20,
    "Rare Words": 7,
    "Reddit": 38,
    "Text": 21,
}


@pytest.fixture(scope="module")
def drawbench_run(genart_cli, tmp_path_factory):
    run = tmp_path_factory.mktemp("lb") / "drawbench"
    proc = genart_cli(
        "leaderboard",
        "run",
        "--models",
        ",".join(MODELS),
        "--prompts",
        "drawbench",
        "--seeds",
        "0",
        "--steps",
        "2",
        "--batch-size",
        "8",
        "--out",
        str(run),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "generated 600, already done 0" in proc.stdout
    proc = genart_cli("leaderboard", "score", str(run))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run, proc.stdout


def test_full_drawbench_run_has_every_image_once(drawbench_run):
    run, _ = drawbench_run
    rows = [json.loads(line) for line in (run / "manifest.jsonl").read_text().splitlines()]
    keys = {(r["model"], r["prompt_id"], r["seed"]) for r in rows}
    assert len(rows) == len(keys) == 3 * 200
    assert {r["model"] for r in rows} == set(MODELS)


def test_category_table_counts_match_drawbench(drawbench_run):
    run, shown = drawbench_run
    by_category = pd.read_csv(run / "scores" / "by_category.csv")
    for model in MODELS:
        counts = dict(zip(*by_category[by_category.model == model][["category", "n_prompts"]].to_numpy().T))
        assert counts == DRAWBENCH
    overall = pd.read_csv(run / "scores" / "overall.csv")
    assert sorted(overall.model) == sorted(MODELS) and (overall.n_images == 200).all()
    assert (overall.clip_ci_low <= overall.clip_score).all() and (overall.clip_score <= overall.clip_ci_high).all()
    assert all(model in shown for model in MODELS)


def test_rerun_generates_nothing_and_export_round_trips(drawbench_run, genart_cli, tmp_path):
    run, _ = drawbench_run
    proc = genart_cli(
        "leaderboard",
        "run",
        "--models",
        ",".join(MODELS),
        "--prompts",
        "drawbench",
        "--seeds",
        "0",
        "--steps",
        "2",
        "--batch-size",
        "8",
        "--out",
        str(run),
    )
    assert proc.returncode == 0 and "generated 0, already done 600" in proc.stdout
    for fmt in ("csv", "parquet"):
        proc = genart_cli("leaderboard", "export", str(run), "--format", fmt, "--dest", str(tmp_path / fmt))
        assert proc.returncode == 0, proc.stderr
        written = {Path(p).name for p in proc.stdout.split()}
        assert f"overall.{fmt}" in written
    back = pd.read_parquet(tmp_path / "parquet" / "overall.parquet")
    with open(tmp_path / "csv" / "overall.csv") as handle:
        assert len(list(csv.DictReader(handle))) == len(back) == 3


def test_bad_input_exits_2_with_a_message(genart_cli, tmp_path):
    proc = genart_cli("leaderboard", "run", "--models", "sd99", "--prompts", "drawbench", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "sd99" in proc.stderr
    proc = genart_cli("leaderboard", "run", "--models", "sd15", "--prompts", "drawbnch", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "drawbench" in proc.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing here\n")
    proc = genart_cli("leaderboard", "run", "--models", "sd15", "--prompts", str(empty), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "no prompts" in proc.stderr.lower()
    proc = genart_cli("leaderboard", "export", str(tmp_path / "r"), "--format", "xlsx")
    assert proc.returncode == 2 and "parquet" in proc.stderr
    proc = genart_cli("leaderboard", "score", str(tmp_path / "r"), "--metrics", "pickscore,fid,clip")
    assert proc.returncode == 2
    assert "unknown metric(s) 'fid', 'clip'; allowed: clip_score, pickscore, hpsv21" in proc.stderr


SKILL_RUNS = {  # prompt set -> (its skills, the per-image metrics scored)
    "geneval": (GENEVAL_TAGS, "geneval,vqascore"),
    "t2i-compbench": (tuple(skill for _, skill in T2I_COMPBENCH_FILES), "vqascore"),
}


@pytest.mark.parametrize("prompt_set", list(SKILL_RUNS))
def test_skill_sets_run_score_and_show_per_skill_tables(genart_cli, tmp_path, prompt_set):
    skills, metrics = SKILL_RUNS[prompt_set]
    run = tmp_path / prompt_set
    args = ["--prompts", prompt_set, "--sample", str(len(skills)), "--seeds", "0", "--steps", "2", "--out", str(run)]
    proc = genart_cli("leaderboard", "run", "--models", "sd15,sd-turbo", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = genart_cli("leaderboard", "score", str(run), "--metrics", metrics)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tables = load_tables(run)
    per_image, by_skill = tables["per_image"], tables["by_category"]
    for metric in metrics.split(","):
        assert ((per_image[metric] >= 0) & (per_image[metric] <= 1)).all()  # GenEval 0/1, VQAScore a probability
        assert (per_image[f"{metric}_id"] == f"standin-{metric}-seed0").all()
        for (model, skill), group in per_image.groupby(["model", "category"]):
            row = by_skill[(by_skill.model == model) & (by_skill.category == skill)].iloc[0]
            assert row[metric] == pytest.approx(group[metric].mean(), abs=1e-12)  # one seed: the prompts' mean
            assert row[f"{metric}_lo"] <= row[metric] <= row[f"{metric}_hi"]
    if "geneval" in metrics:
        assert set(per_image["geneval"]) <= {0.0, 1.0}
    assert set(by_skill["model"]) == {"sd15", "sd-turbo"}
    for _model, group in by_skill.groupby("model"):
        assert sorted(group["category"]) == sorted(skills) and (group["n_prompts"] == 1).all()
    info = json.loads((run / "scores" / "scores.json").read_text())
    assert info["scorers"]["vqascore"]["standin"] and info["run"]["prompt_set"] == prompt_set
    shown = genart_cli("leaderboard", "show", str(run))
    assert shown.returncode == 0 and shown.stdout == proc.stdout
    lines = shown.stdout.splitlines()
    assert "VQAScore" in lines[lines.index("by skill") + 1] and ("GenEval" in shown.stdout) == ("geneval" in metrics)
    skill_rows = [line.split() for line in lines[lines.index("by skill") + 3 :] if line.strip()]
    assert {cells[1] for cells in skill_rows if cells[0] in ("sd15", "sd-turbo")} == set(skills)
