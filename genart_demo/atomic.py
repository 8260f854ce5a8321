"""All-or-nothing writes: a file or folder appears complete, or not at all, whatever crashes or races meanwhile."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Writer = Callable[[Path], object]  # writes the whole file at the path it is given
_UMASK = os.umask(0o022)  # read once at import (os.umask can only be read by setting it) and put back at once
os.umask(_UMASK)


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (a no-op where a folder cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a folder; the rename itself is still atomic
        pass
    finally:
        os.close(fd)


def _ordinary_modes(folder: Path) -> None:
    """Give `folder` and everything in it the modes new files and folders get (0o666 / 0o777 less the umask):
    mkdtemp makes the folder 0700 and some writers (safetensors) make files 0600, which kept a cache or result
    shared by a group readable by its owner only. Links are left alone."""
    for path in (folder, *folder.rglob("*")):
        if path.is_symlink():
            continue
        executable = path.is_dir() or path.stat().st_mode & 0o111
        os.chmod(path, (0o777 if executable else 0o666) & ~_UMASK)


def atomic_write(
    path: str | os.PathLike, data: bytes | str | Writer, *, encoding: str = "utf-8", mode: int | None = None
) -> Path:
    """Write `data` to `path` all or nothing, and return the path.

    `data` is bytes, text (encoded with `encoding`), or a writer called with a temporary path to fill (for writers
    that take a path: ffmpeg, Pillow, pandas, numpy). The temporary file is new and unique in the target's folder
    (so concurrent writers never share one), starts with "." and ends in ".part" plus the target's suffix (so
    writers that infer the format from it still can); it is fsynced, renamed over `path`, and the folder fsynced.
    The file gets permissions `mode`, default those of a newly created file (0o666 less the umask). On any error
    the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    tmp = Path(name)
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode(encoding) if isinstance(data, str) else data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, (0o666 & ~_UMASK) if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


@contextmanager
def atomic_folder(final: str | os.PathLike, *, replace: bool = False) -> Iterator[Path]:
    """Yield a new, empty temporary folder beside `final` to fill; on success it is renamed to `final`, it and its
    contents with the permissions of newly created folders and files.

    Without `replace`, a complete `final` that another process renamed into place meanwhile wins and ours is
    discarded (both built the same thing). With `replace`, an existing `final` is moved aside and removed, so
    readers see the old folder or the new one, never a mix. On error nothing is left behind.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    try:
        yield tmp
        _ordinary_modes(tmp)
        if replace and final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, trash / final.name)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(tmp, final)  # atomic; fails when `final` appeared meanwhile
        except OSError:
            if replace or not final.is_dir():
                raise
        _fsync_dir(final.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
