"""A leaderboard run directory on disk: run.json, prompts.jsonl, per-process manifest shards, the merged manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from genart_demo.atomic import atomic_write
from genart_demo.fields import whole_number_text
from genart_demo.workspace import RUN_FILE  # the configuration, with its config_hash

log = logging.getLogger("genart.leaderboard")

RUN_FORMAT = 1  # bump when run.json or a manifest row changes shape
PROMPTS_FILE = "prompts.jsonl"  # one PromptItem per line (id, text, category, challenge, note)
MANIFEST_FILE = "manifest.jsonl"  # merged rows, sorted by (model, prompt_id, seed); written by merge()
SHARD_DIR = "manifest"  # manifest/shard-<rank>.jsonl: rows appended by process <rank>
IMAGES_DIR = "images"  # images/<model>/<prompt_id>-s<seed>.png
RUN_ENTRIES = (RUN_FILE, PROMPTS_FILE, MANIFEST_FILE, SHARD_DIR, IMAGES_DIR, "scores")  # what --force moves aside
ROW_FIELDS = (
    "model",
    "revision",
    "pipeline",
    "standin",
    "prompt_id",
    "prompt",
    "category",
    "challenge",
    "seed",
    "settings",
    "path",
    "sha256",
    "seconds",
    "width",
    "height",
    "nsfw_flagged",  # true: its safety checker blacked it out (left out of scores and battles); null: not checked
)

Key = tuple[str, str, int]  # (model, prompt_id, seed): one image of a run


def image_relpath(model: str, prompt_id: str, seed: int) -> str:
    """Where an image lives, relative to the run directory (the manifest's `path`)."""
    return f"{IMAGES_DIR}/{model}/{prompt_id}-s{seed}.png"


def shard_path(run_dir: Path, rank: int) -> Path:
    return Path(run_dir) / SHARD_DIR / f"shard-{rank}.jsonl"


def row_key(row: Mapping[str, Any]) -> Key:
    return (str(row["model"]), str(row["prompt_id"]), int(row["seed"]))


def canonical_json(obj: Any) -> str:
    """The one JSON spelling of `obj` (sorted keys, no spaces): what config hashes are taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_jsonl_atomic(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """One JSON object per line, written all or nothing."""
    return atomic_write(path, "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows))


def read_run_json(run_dir: Path) -> dict | None:
    """The run's configuration, or None when the directory holds no run.json yet."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def read_prompts(run_dir: Path) -> list[dict]:
    """The run's prompts (id, text, category, challenge, note), in file order."""
    return _read_jsonl(Path(run_dir) / PROMPTS_FILE)


def _read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file; a torn last line (a process killed mid-write) or other bad line is skipped."""
    rows, bad = [], 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(row, dict):
                rows.append(row)
            else:
                bad += 1
    if bad:
        log.warning("%s: skipped %d unreadable line(s) (a write cut short by a crash)", path, bad)
    return rows


def shard_paths(run_dir: Path) -> list[Path]:
    """Every process's shard, by rank."""
    folder = Path(run_dir) / SHARD_DIR
    shards = folder.glob("shard-*.jsonl") if folder.is_dir() else []
    return sorted(shards, key=lambda p: whole_number_text(p.stem.split("-", 1)[1]) or 1 << 30)


def read_rows(run_dir: Path) -> list[dict]:
    """All rows ever written, oldest source first: the merged manifest, then each shard. Not verified."""
    run_dir = Path(run_dir)
    sources = ([run_dir / MANIFEST_FILE] if (run_dir / MANIFEST_FILE).is_file() else []) + shard_paths(run_dir)
    return [
        row for path in sources for row in _read_jsonl(path) if all(k in row for k in ("model", "prompt_id", "seed"))
    ]


def row_problem(run_dir: Path, row: Mapping[str, Any], hashes: dict[str, str] | None = None) -> str:
    """ "" when the row's image exists and its sha256 matches; else what is wrong. `hashes` caches file hashes."""
    rel = str(row.get("path") or "")
    path = Path(run_dir) / rel
    if not rel or not path.is_file():
        return "file missing"
    if hashes is None or rel not in hashes:
        digest = sha256_file(path)
        if hashes is not None:
            hashes[rel] = digest
    else:
        digest = hashes[rel]
    return "" if digest == row.get("sha256") else "sha256 differs"


def check_rows(run_dir: Path, rows: Sequence[Mapping[str, Any]]) -> tuple[dict[Key, dict], dict[Key, str]]:
    """(valid, broken): for each image the last row whose file exists with a matching sha256; and, for images
    that have rows but no valid one, what is wrong with the last of them."""
    valid: dict[Key, dict] = {}
    broken: dict[Key, str] = {}
    hashes: dict[str, str] = {}
    for row in reversed(rows):  # newest first: the first valid row seen per key is the last one written
        key = row_key(row)
        if key in valid:
            continue
        problem = row_problem(run_dir, row, hashes)
        if problem:
            broken.setdefault(key, f"{row.get('path')}: {problem}")
        else:
            valid[key] = dict(row)
            broken.pop(key, None)
    return valid, broken


def read_manifest(run_dir: Path) -> list[dict]:
    """One verified row per (model, prompt_id, seed), sorted: the merged manifest and any newer shard rows,
    keeping for each image the last row whose file exists and whose sha256 matches."""
    valid, _ = check_rows(run_dir, read_rows(run_dir))
    return [valid[key] for key in sorted(valid)]


def merge(run_dir: Path) -> Path:
    """Join every shard (and the previous merge) into manifest.jsonl, verified, de-duplicated, sorted; atomic."""
    return write_jsonl_atomic(Path(run_dir) / MANIFEST_FILE, read_manifest(run_dir))


class ShardWriter:
    """Appends one process's rows to its shard; each append is flushed and fsynced before it returns."""

    def __init__(self, run_dir: Path, rank: int):
        self.path = shard_path(run_dir, rank)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+b")  # noqa: SIM115  (held open across batches; closed by close())
        self._fh.seek(0, os.SEEK_END)
        if self._fh.tell():  # a line torn by a kill would swallow the next row: end it first
            self._fh.seek(-1, os.SEEK_END)
            if self._fh.read(1) != b"\n":
                self._fh.write(b"\n")

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        data = "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
