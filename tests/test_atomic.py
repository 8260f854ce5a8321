"""All-or-nothing writes: unique temporary names, nothing left behind on error, concurrent writers never mix."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from genart_demo import atomic
from genart_demo.atomic import atomic_folder, atomic_write

ROOT = Path(__file__).resolve().parents[1]


def test_text_bytes_and_writer_forms(tmp_path):
    assert atomic_write(tmp_path / "a" / "t.txt", "héllo").read_text(encoding="utf-8") == "héllo"
    assert atomic_write(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    seen = []

    def writer(tmp):
        seen.append(tmp)
        tmp.write_text("from a writer")

    path = atomic_write(tmp_path / "c.csv", writer)
    assert path.read_text() == "from a writer"
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".c.") and seen[0].name.endswith(".part.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b.bin", "c.csv"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = atomic_write(tmp_path / "keep.json", "old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(path, broken)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.json"]


def test_concurrent_writers_use_their_own_temporary_files(tmp_path, monkeypatch):
    path, barrier, names = tmp_path / "shared.txt", threading.Barrier(8), []
    real_replace = os.replace

    def slow_replace(src, dst):
        names.append(os.path.basename(src))
        barrier.wait(timeout=10)  # every writer has its temporary file before any is renamed
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", slow_replace)
    threads = [threading.Thread(target=atomic_write, args=(path, f"writer {i}\n" * 1000)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(set(names)) == 8  # no fixed ".tmp" name shared between writers
    text = path.read_text()
    assert len(set(text.splitlines())) == 1 and len(text.splitlines()) == 1000  # one writer's whole file
    assert [p.name for p in tmp_path.iterdir()] == ["shared.txt"]


def test_files_get_ordinary_permissions(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    assert os.stat(atomic_write(tmp_path / "x", "x")).st_mode & 0o777 == 0o666 & ~mask
    assert os.stat(atomic_write(tmp_path / "key", b"k", mode=0o600)).st_mode & 0o777 == 0o600


def test_atomic_folder_appears_whole_or_not_at_all(tmp_path):
    final = tmp_path / "entry"
    with pytest.raises(RuntimeError), atomic_folder(final) as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_folder(final) as tmp:
        (tmp / "a").write_text("1")
    assert [p.name for p in final.iterdir()] == ["a"]
    with atomic_folder(final) as tmp:  # another process finished first: its folder stays
        (tmp / "b").write_text("2")
    assert [p.name for p in final.iterdir()] == ["a"]
    with atomic_folder(final, replace=True) as tmp:  # replace: the new folder swaps in whole
        (tmp / "c").write_text("3")
    assert [p.name for p in final.iterdir()] == ["c"] and [p.name for p in tmp_path.iterdir()] == ["entry"]


# Run with a given umask before genart is imported: a PNG, a folder whose writer made its file 0600 (as safetensors
# does) and the arena's private folder, key, database and its log; prints each one's mode.
MODES_SCRIPT = """
import os, sys
os.umask(int(sys.argv[2], 8))
from dataclasses import replace
from pathlib import Path
from PIL import Image
from genart_demo.atomic import atomic_folder
from genart_demo.media import save_png
from genart_demo.run_settings import GenerateSettings
from genart_demo.settings import Settings
from genart_demo.studio import Studio
from leaderboard.arena.battles import Arena

out = Path(sys.argv[1])
paths = {"png": save_png(Image.new("RGB", (8, 8)), out / "x.png", GenerateSettings(prompt="p", seed=1))}
with atomic_folder(out / "standin") as tmp:
    fd = os.open(tmp / "model.safetensors", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
paths.update(folder=out / "standin", folder_file=out / "standin" / "model.safetensors")
settings = replace(Settings.from_env(), output_dir=out, cache_dir=out / "cache")
arena = Arena.open(Studio.create(settings))  # open: its write-ahead log exists too
db = settings.workspace.arena_db
paths.update(arena=db.parent, key=settings.workspace.arena_key, db=db, wal=db.with_name(db.name + "-wal"))
print(" ".join(f"{name}={os.stat(path).st_mode & 0o777:o}" for name, path in paths.items()))
arena.close()
"""


@pytest.mark.parametrize("umask,file,folder", [("022", "644", "755"), ("002", "664", "775")])
def test_results_get_the_umasks_modes_and_private_files_stay_private(tmp_path, umask, file, folder):
    """Regression: folders written whole (stand-ins, reference statistics, mirrors) were mkdtemp's 0700 with their
    safetensors 0600, and the arena's vote database was readable by everyone (0644 in a 0755 folder)."""
    done = subprocess.run(
        [sys.executable, "-c", MODES_SCRIPT, str(tmp_path / "out"), umask],
        cwd=ROOT,
        env={**os.environ, "GENART_OFFLINE": "1", "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modes = dict(pair.split("=") for pair in done.stdout.split())
    assert (modes["png"], modes["folder"], modes["folder_file"]) == (file, folder, file)
    assert (modes["arena"], modes["key"], modes["db"], modes["wal"]) == ("700", "600", "600", "600")
