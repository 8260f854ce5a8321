"""The leaderboard runner on tiny stand-ins: planning checks, rows and files, resume and repair, other configs,
fixed batches shared across processes, and a 2-process `accelerate launch` against a 1-process run."""

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.media import read_png_settings
from leaderboard import manifest as mf
from leaderboard.manifest import merge
from leaderboard.plan import plan_run
from leaderboard.prompts import PromptItem, PromptSet
from leaderboard.runner import main, run, run_from_args

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["sd15", "sd-turbo"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _prompt_set(n: int, name: str = "hand") -> PromptSet:
    items = tuple(
        PromptItem(f"{name}-{i:03d}", f"a {c} cube on a table, view {i}", c, "")
        for i, c in enumerate(["red", "blue", "green", "red", "blue", "green", "red", "blue"][:n])
    )
    return PromptSet(name, "(built in the test)", hashlib.sha256(name.encode()).hexdigest(), items)


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / mf.MANIFEST_FILE).read_text().splitlines()]


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def small(studio, tmp_path_factory):
    """2 models x 6 prompts x 2 seeds, 2 steps, batches of 4: (config, run_dir, first stats)."""
    config = plan_run(studio, _prompt_set(6), MODELS, [0, 1], 4, steps=2)
    run_dir = tmp_path_factory.mktemp("small")
    return config, run_dir, run(studio, run_dir, config)


def test_plan_checks_models_and_seeds(studio):
    ps = _prompt_set(2)
    with pytest.raises(InputError, match=r"Unknown model 'nope'.*sd15.*flux-schnell"):
        plan_run(studio, ps, ["sd15", "nope"], [0])
    with pytest.raises(InputError, match=r"ddpm-cifar10 is not a text-to-image model.*Text-to-image models: .*sd15"):
        plan_run(studio, ps, ["ddpm-cifar10"], [0])
    for seeds, message in (
        ([], "No seeds"),
        ([0, 0], "repeated: 0"),
        ([-1], "Seed -1"),
        ([True], "Seed True"),
        (["1"], "Seed '1'"),
    ):
        with pytest.raises(InputError, match=message):
            plan_run(studio, ps, ["sd15"], seeds)
    with pytest.raises(InputError, match="repeated: sd15"):
        plan_run(studio, ps, ["sd15", "sd15"], [0])
    with pytest.raises(InputError, match="Batch size"):
        plan_run(studio, ps, ["sd15"], [0], 0)
    with pytest.raises(InputError, match="Steps"):
        plan_run(studio, ps, ["sd15"], [0], steps=0)


def test_plan_settings_and_config_hash(studio):
    ps = _prompt_set(3)
    plain = plan_run(studio, ps, ["sd15", "sd-turbo"], [0, 1])
    d = studio.registry.get("sd15").defaults
    assert plain.settings["sd15"] == {
        "steps": d.steps,
        "guidance": d.guidance,
        "width": 64,
        "height": 64,
        "scheduler": d.scheduler,
    }  # registry defaults at the stand-in's size
    assert plain.settings["sd-turbo"]["steps"] == 1 and plain.batch_size == 4
    assert plain.models[0] == {
        "id": "sd15",
        "repo": "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "revision": "main",
        "pipeline": "StableDiffusionPipeline",
        "standin": True,
    }
    again = plan_run(studio, ps, ["sd15", "sd-turbo"], [0, 1])
    expected = hashlib.sha256(mf.canonical_json(plain.hashed()).encode()).hexdigest()
    assert plain.config_hash == again.config_hash == expected == plain.run_json()["config_hash"]
    others = [
        plan_run(studio, ps, ["sd15", "sd-turbo"], [0, 2]),
        plan_run(studio, ps, ["sd-turbo", "sd15"], [0, 1]),
        plan_run(studio, ps, ["sd15", "sd-turbo"], [0, 1], steps=2),
        plan_run(studio, ps.limit(2), ["sd15", "sd-turbo"], [0, 1]),
        plan_run(studio, ps, ["sd15", "sd-turbo"], [0, 1], 2),
    ]
    assert len({plain.config_hash, *(o.config_hash for o in others)}) == 6


def test_batches_are_fixed_per_model(studio):
    config = plan_run(studio, _prompt_set(3), MODELS, [0, 1], 4, steps=2)
    batches = [(m, [(item.id, seed) for item, seed in pairs]) for m, pairs in config.batches()]
    assert batches == [
        ("sd15", [("hand-000", 0), ("hand-000", 1), ("hand-001", 0), ("hand-001", 1)]),
        ("sd15", [("hand-002", 0), ("hand-002", 1)]),
        ("sd-turbo", [("hand-000", 0), ("hand-000", 1), ("hand-001", 0), ("hand-001", 1)]),
        ("sd-turbo", [("hand-002", 0), ("hand-002", 1)]),
    ]


def test_small_run_rows_files_and_metadata(small):
    config, run_dir, stats = small
    assert (stats.generated, stats.skipped, stats.repaired) == (24, 0, [])
    rows = _rows(run_dir)
    keys = [mf.row_key(r) for r in rows]
    assert len(rows) == 24 and keys == sorted(set(keys))
    assert set(keys) == {(m, f"hand-{i:03d}", s) for m in MODELS for i in range(6) for s in (0, 1)}
    assert len(mf.read_rows(run_dir)) == 48  # the merged file + shard-0, the same 24 rows in each
    for row in rows:
        assert set(row) == set(mf.ROW_FIELDS)
        path = run_dir / row["path"]
        assert row["path"] == f"images/{row['model']}/{row['prompt_id']}-s{row['seed']}.png"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        meta = read_png_settings(path)
        assert (meta.prompt, meta.seed, meta.extra["prompt_id"], meta.model) == (
            row["prompt"],
            row["seed"],
            row["prompt_id"],
            row["model"],
        )
        assert meta.steps == row["settings"]["steps"] == 2 and (row["width"], row["height"]) == (64, 64)
        assert row["seconds"] > 0 and row["standin"] is True and row["category"] in {"red", "blue", "green"}
    saved = json.loads((run_dir / mf.RUN_FILE).read_text())
    assert saved["config_hash"] == config.config_hash and saved["prompt_ids"] == [f"hand-{i:03d}" for i in range(6)]
    assert [json.loads(line)["id"] for line in (run_dir / mf.PROMPTS_FILE).read_text().splitlines()] == saved[
        "prompt_ids"
    ]


def test_rerun_generates_nothing_and_repairs_missing_or_corrupt_images(studio, small):
    config, run_dir, _ = small
    again = run(studio, run_dir, config)
    assert (again.generated, again.skipped, again.repaired) == (0, 24, [])
    rows = {mf.row_key(r): r for r in _rows(run_dir)}
    gone, bad = rows[("sd15", "hand-002", 1)], rows[("sd-turbo", "hand-005", 0)]
    (run_dir / gone["path"]).unlink()
    (run_dir / bad["path"]).write_bytes(b"not a png")
    fixed = run(studio, run_dir, config)
    assert fixed.generated == 2 and fixed.skipped == 22
    assert sorted(fixed.repaired) == sorted([f"{gone['path']}: file missing", f"{bad['path']}: sha256 differs"])
    after = {mf.row_key(r): r for r in _rows(run_dir)}
    assert len(after) == 24 and all(mf.sha256_file(run_dir / r["path"]) == r["sha256"] for r in after.values())
    # the whole batch is re-run, so the repaired images are the very same files as before
    assert after[mf.row_key(gone)]["sha256"] == gone["sha256"] and after[mf.row_key(bad)]["sha256"] == bad["sha256"]


def test_other_config_is_refused_then_moved_aside_with_force(studio, tmp_path):
    other = tmp_path / "other"
    run(studio, other, plan_run(studio, _prompt_set(2), ["sd-turbo"], [0], 4, steps=2))
    before = sorted(p.relative_to(other) for p in other.rglob("*"))
    for changed, words in (
        (plan_run(studio, _prompt_set(2), ["sd-turbo"], [0, 1], 4, steps=2), "seeds [0] vs [0, 1]"),
        (plan_run(studio, _prompt_set(2), ["sd-turbo"], [0], 4, steps=3), "sd-turbo steps 2 -> 3"),
        (plan_run(studio, _prompt_set(3), ["sd-turbo"], [0], 4, steps=2), "prompt set 'hand' (2 prompts"),
        (plan_run(studio, _prompt_set(2), ["sd15"], [0], 4, steps=2), "models [sd-turbo"),
    ):
        with pytest.raises(
            InputError, match=r"another configuration.*" + words.replace("[", r"\[").replace("(", r"\(")
        ) as err:
            run(studio, other, changed)
        assert "--force" in str(err.value)
    assert sorted(p.relative_to(other) for p in other.rglob("*")) == before  # refused: nothing touched
    new = plan_run(studio, _prompt_set(2), ["sd-turbo"], [0, 1], 4, steps=2)
    stats = run(studio, other, new, force=True)
    assert stats.generated == 4 and stats.skipped == 0
    aside = list(other.glob(".replaced-*"))
    assert len(aside) == 1 and json.loads((aside[0] / mf.RUN_FILE).read_text())["seeds"] == [0]
    assert len((aside[0] / mf.MANIFEST_FILE).read_text().splitlines()) == 2
    assert len(list((aside[0] / mf.IMAGES_DIR).glob("*/*.png"))) == 2
    assert json.loads((other / mf.RUN_FILE).read_text())["config_hash"] == new.config_hash
    assert len(_rows(other)) == 4


def test_two_ranks_in_turn_make_the_same_files_as_one(studio, small, tmp_path):
    """world=2 without accelerate: rank 0 then rank 1, each writing its own shard; merged = the 1-process run."""
    config, run_dir, _ = small
    split = tmp_path / "split"
    first = run(studio, split, config, rank=0, world=2)
    second = run(studio, split, config, rank=1, world=2)
    assert (first.generated, second.generated) == (12, 12)  # 6 batches of 4: 3 each
    shard_keys = [{mf.row_key(r) for r in mf._read_jsonl(mf.shard_path(split, k))} for k in (0, 1)]
    assert not shard_keys[0] & shard_keys[1]
    merge(split)
    one = {mf.row_key(r): r["sha256"] for r in _rows(run_dir)}
    assert {mf.row_key(r): r["sha256"] for r in _rows(split)} == one


def test_run_from_args_and_module_cli(studio, tmp_path, capsys):
    prompts = tmp_path / "mine.csv"
    prompts.write_text(
        "prompt,category\na red house,Colors\na tall tree,Nature\na blue car,Colors\nsmall dog,Animals\n"
    )
    stats = run_from_args(
        tmp_path / "r",
        str(prompts),
        "sd-turbo",
        [3],
        limit=1,
        batch_size=2,
        categories="Colors",
        steps=2,
        studio=studio,
    )
    assert stats.generated == 1 and [r["prompt"] for r in _rows(tmp_path / "r")] == ["a red house"]
    assert main(["--prompts", str(prompts), "--models", "sd15,nope", "--out", str(tmp_path / "x")]) == 2
    assert "Unknown model 'nope'" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_accelerate_two_processes_match_one_process(studio, settings, tmp_path):
    """`accelerate launch --multi_gpu --num_processes 2` (torchrun; gloo on CPU): the same images, bit for bit.
    (`accelerate launch --cpu --num_processes 2` starts ONE process without MPI: see process_rank.)"""
    prompts = tmp_path / "acc.txt"
    prompts.write_text(
        "".join(
            f"a {c} bicycle leaning on a wall, photo {i}\n"
            for i, c in enumerate(["red", "blue", "green", "yellow", "pink"])
        )
    )
    args = [
        "--prompts",
        str(prompts),
        "--models",
        ",".join(MODELS),
        "--seeds",
        "0,1",
        "--steps",
        "2",
        "--batch-size",
        "3",
    ]
    from leaderboard.prompts import load_prompt_set

    one_dir, two_dir = tmp_path / "one", tmp_path / "two"
    run(studio, one_dir, plan_run(studio, load_prompt_set(prompts), MODELS, [0, 1], 3, steps=2))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GENART_CACHE_DIR": str(settings.cache_dir),
        "HF_HUB_OFFLINE": "1",
        "GENART_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    launcher = [
        str(Path(sys.executable).with_name("accelerate")),
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(_free_port()),
        "-m",
        "leaderboard.runner",
        *args,
        "--out",
        str(two_dir),
    ]
    done = subprocess.run(launcher, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (
        "[rank 0/2] generated 12" in done.stdout and "[rank 1/2] generated 8" in done.stdout
    )  # 8 batches, 4 each: 3+3+3+3 and 3+1+3+1
    assert len(mf._read_jsonl(mf.shard_path(two_dir, 0))) == 12 and len(mf._read_jsonl(mf.shard_path(two_dir, 1))) == 8
    one, two = {mf.row_key(r): r for r in _rows(one_dir)}, {mf.row_key(r): r for r in _rows(two_dir)}
    assert set(one) == set(two) and len(one) == 20
    for key in one:
        assert np.array_equal(_pixels(one_dir / one[key]["path"]), _pixels(two_dir / two[key]["path"])), key
        assert one[key]["sha256"] == two[key]["sha256"], key  # no rank or time in the PNG: identical bytes
