"""The run directory's files: atomic writes, torn shard lines, verified de-duplication, merge, and a SIGKILL midway."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from genart_demo.atomic import atomic_write
from leaderboard import manifest as mf
from leaderboard.plan import plan_run
from leaderboard.prompts import load_prompt_set
from leaderboard.runner import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _image(run_dir: Path, model: str, pid: str, seed: int, payload: bytes) -> dict:
    """A fake image file and the row that describes it."""
    rel = mf.image_relpath(model, pid, seed)
    (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    (run_dir / rel).write_bytes(payload)
    return {"model": model, "prompt_id": pid, "seed": seed, "path": rel, "sha256": hashlib.sha256(payload).hexdigest()}


def test_paths_and_canonical_json():
    assert mf.image_relpath("sd15", "drawbench-007", 3) == "images/sd15/drawbench-007-s3.png"
    assert mf.shard_path(Path("R"), 1) == Path("R/manifest/shard-1.jsonl")
    assert mf.canonical_json({"b": [1, 2], "a": "é"}) == '{"a":"é","b":[1,2]}'


def test_atomic_write_leaves_no_temp_files(tmp_path):
    path = mf.write_jsonl_atomic(tmp_path / "x" / "rows.jsonl", [{"a": 1}, {"a": 2}])
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'
    atomic_write(path, "new\n")
    assert path.read_text() == "new\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["rows.jsonl"]


def test_shard_writer_ends_a_torn_line_and_readers_skip_it(tmp_path):
    with mf.ShardWriter(tmp_path, 0) as shard:
        shard.append([_image(tmp_path, "m", "p-0", 0, b"zero")])
    with open(mf.shard_path(tmp_path, 0), "ab") as fh:  # a kill in the middle of a row
        fh.write(b'{"model": "m", "prompt_id": "p-1", "se')
    with mf.ShardWriter(tmp_path, 0) as shard:
        shard.append([_image(tmp_path, "m", "p-1", 0, b"one")])
    lines = mf.shard_path(tmp_path, 0).read_text().splitlines()
    assert len(lines) == 3 and lines[1].endswith('"se')  # the torn line is kept, but ended
    assert [r["prompt_id"] for r in mf.read_rows(tmp_path)] == ["p-0", "p-1"]


def test_check_rows_keeps_the_last_valid_row_and_names_broken_ones(tmp_path):
    old = _image(tmp_path, "m", "p-0", 0, b"old")
    new = _image(tmp_path, "m", "p-0", 0, b"new")  # regenerated: the file now matches only the newer row
    gone = _image(tmp_path, "m", "p-1", 0, b"gone")
    (tmp_path / gone["path"]).unlink()
    bad = _image(tmp_path, "m", "p-2", 5, b"good")
    (tmp_path / bad["path"]).write_bytes(b"bitrot")
    later_dupe = {**new, "seconds": 1.0}
    valid, broken = mf.check_rows(tmp_path, [old, new, gone, bad, later_dupe])
    assert set(valid) == {("m", "p-0", 0)} and valid[("m", "p-0", 0)] == later_dupe
    assert broken == {
        ("m", "p-1", 0): f"{gone['path']}: file missing",
        ("m", "p-2", 5): f"{bad['path']}: sha256 differs",
    }


def test_read_manifest_and_merge_dedupe_sort_and_include_newer_shard_rows(tmp_path):
    rows = [_image(tmp_path, m, f"p-{i}", s, f"{m}{i}{s}".encode()) for m in ("b", "a") for i in (1, 0) for s in (1, 0)]
    with mf.ShardWriter(tmp_path, 1) as shard:
        shard.append(rows[:5])
    with mf.ShardWriter(tmp_path, 0) as shard:
        shard.append(rows[3:])  # one row in both shards
    merged = mf.merge(tmp_path)
    keys = [mf.row_key(json.loads(line)) for line in merged.read_text().splitlines()]
    assert keys == sorted(mf.row_key(r) for r in rows) and len(keys) == 8
    extra = _image(tmp_path, "a", "p-9", 0, b"late")  # a row appended after the merge (a resumed run)
    with mf.ShardWriter(tmp_path, 0) as shard:
        shard.append([extra])
    assert len(mf.read_manifest(tmp_path)) == 9
    assert mf.merge(tmp_path).read_text().count("\n") == 9


def _rows_in(path: Path) -> int:
    try:
        return sum(1 for line in path.read_text().splitlines() if line.endswith("}"))
    except FileNotFoundError:
        return 0


def test_sigkill_midway_then_resume_gives_exactly_one_verified_row_per_image(studio, settings, tmp_path):
    """The kill test: a subprocess run is SIGKILLed once some rows exist; the resumed run ends with exactly
    models x prompts x seeds rows, no duplicates, every sha256 matching its file."""
    prompts = tmp_path / "kill.txt"
    prompts.write_text(
        "".join(
            f"prompt number {i}: a small {c} house\n"
            for i, c in enumerate(["red", "blue", "green", "grey", "white", "black"] * 5)
        )
    )
    models, seeds, batch = ["sd15", "sd-turbo"], [0, 1], 3
    for model in models:  # build the stand-ins here, so the child only loads them
        studio.cache.get(studio.registry.get(model))
    run_dir = tmp_path / "run"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GENART_CACHE_DIR": str(settings.cache_dir),
        "HF_HUB_OFFLINE": "1",
        "GENART_OFFLINE": "1",
    }
    cmd = [
        sys.executable,
        "-m",
        "leaderboard.runner",
        "--prompts",
        str(prompts),
        "--models",
        ",".join(models),
        "--seeds",
        "0,1",
        "--steps",
        "2",
        "--batch-size",
        str(batch),
        "--threads",
        "1",
        "--out",
        str(run_dir),
    ]
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    shard, deadline = mf.shard_path(run_dir, 0), time.monotonic() + 180
    total = len(models) * 30 * len(seeds)
    try:
        while _rows_in(shard) <= total // 2 + batch:  # midway, in model 2; polled every 20 ms: anywhere in a batch
            assert child.poll() is None, child.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the child made no rows in time"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    written_before = _rows_in(shard)  # every complete row is valid: its image was written first
    assert total // 2 + batch < written_before < total and not (run_dir / mf.MANIFEST_FILE).exists()

    config = plan_run(studio, load_prompt_set(prompts), models, seeds, batch, steps=2)
    stats = run(studio, run_dir, config)
    assert (stats.skipped, stats.generated, stats.repaired) == (written_before, total - written_before, [])
    rows = [json.loads(line) for line in (run_dir / mf.MANIFEST_FILE).read_text().splitlines()]
    keys = [mf.row_key(r) for r in rows]
    assert len(rows) == total and len(set(keys)) == total
    assert set(keys) == {(m, f"kill-{i:03d}", s) for m in models for i in range(30) for s in seeds}
    assert all(mf.sha256_file(run_dir / r["path"]) == r["sha256"] for r in rows)
    assert not list((run_dir / mf.IMAGES_DIR).glob("*/*.part"))  # temp files of the killed write are gone
    assert len(list((run_dir / mf.IMAGES_DIR).glob("*/*.png"))) == total
    assert run(studio, run_dir, config).generated == 0
