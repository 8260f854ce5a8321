"""`genart leaderboard` end to end: a full DrawBench run of 3 stand-in models, scored, shown and exported."""

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

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
