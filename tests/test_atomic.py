"""All-or-nothing writes: unique temporary names, nothing left behind on error, concurrent writers never mix."""

import os
import threading

import pytest

from genart_demo import atomic
from genart_demo.atomic import atomic_folder, atomic_write


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
