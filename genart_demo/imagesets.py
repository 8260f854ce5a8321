"""Image sets for evaluation: a zip upload, a folder under an allowed root, or a list of files — read safely."""

from __future__ import annotations

import os
import stat
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import InputError
from .imageio import LoadedImage, load_image
from .settings import DEFAULT_MAX_PIXELS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_SET_IMAGES = 50_000  # images one set may hold
MAX_SET_BYTES = 4 * 1024**3  # uncompressed bytes one set may hold (zip bombs stop here, before decoding)
MIN_SET_IMAGES = 2  # a covariance (and any set metric) needs at least two samples


@dataclass
class ImageSet:
    """The encoded files of one set (never extracted to disk), plus what people should be told about them."""

    label: str  # "set A", a folder name, a zip name
    names: list[str]  # file names inside the set, sorted
    blobs: list[bytes]  # encoded image bytes, same order as names
    notes: list[str] = field(default_factory=list)
    limit: int = DEFAULT_MAX_PIXELS  # largest image decoded (pixels); the studio sets its Settings.max_pixels
    _hash: str | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.blobs)

    def content_hash(self) -> str:
        """The reference cache's key for these files: the same bytes give the same hash whatever their names/order."""
        if self._hash is None:  # computed once: the cache lookup and the result info both need it
            # lazy: imports torch (seconds); only this path needs it
            from .metrics.refcache import content_hash

            self._hash = content_hash(self.blobs)
        return self._hash

    def decode(self, index: int) -> LoadedImage:
        """File `index` decoded to RGB (pixel limits apply before decoding), with its original mode and notes."""
        return load_image(self.blobs[index], label=f"{self.label}: {self.names[index]}", limit=self.limit)


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def _finish(label: str, names: list[str], blobs: list[bytes], notes: list[str], minimum: int) -> ImageSet:
    if len(blobs) < minimum:
        raise InputError(
            f"{label} holds {len(blobs)} image file(s); at least {minimum} are needed "
            f"(allowed formats: {', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES)})."
        )
    order = sorted(range(len(names)), key=names.__getitem__)
    return ImageSet(label, [names[i] for i in order], [blobs[i] for i in order], notes)


def _skipped_note(label: str, skipped: list[str], why: str) -> str:
    shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
    return f"{label}: skipped {len(skipped)} {why}: {shown}."


def _escapes(name: str) -> bool:
    """A zip member name that would land outside the extraction root (absolute, drive letter or '..')."""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def read_zip(
    source: str | os.PathLike,
    *,
    label: str | None = None,
    minimum: int = MIN_SET_IMAGES,
    max_images: int = MAX_SET_IMAGES,
    max_bytes: int = MAX_SET_BYTES,
) -> ImageSet:
    """The images inside a zip, read into memory; nothing is written to disk.

    Members whose path would escape the archive root and members that are not images are skipped and named in
    the notes; a zip declaring more than `max_bytes` uncompressed or `max_images` images is refused before reading.
    """
    label = label or Path(source).name
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{label} is not a readable zip file ({exc}). Allowed: a .zip of image files.") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        escaping = [m.filename for m in members if _escapes(m.filename)]
        hidden = [m.filename for m in members if PurePosixPath(m.filename).name.startswith(("._", "."))]
        members = [m for m in members if m.filename not in escaping and m.filename not in hidden]
        others = [m.filename for m in members if not _is_image_name(m.filename)]
        members = [m for m in members if _is_image_name(m.filename)]
        if len(members) > max_images:
            raise InputError(f"{label} holds {len(members)} images; the limit is {max_images:,} per set.")
        declared = sum(m.file_size for m in members)
        if declared > max_bytes:
            raise InputError(
                f"{label} unpacks to {declared / 1024**2:,.0f} MiB; the limit is {max_bytes / 1024**2:,.0f} MiB per set."
            )
        notes: list[str] = []
        if escaping:
            notes.append(_skipped_note(label, escaping, "file(s) whose paths point outside the archive"))
        if others:
            notes.append(_skipped_note(label, others, "file(s) that are not images"))
        names, blobs, total = [], [], 0
        for member in members:
            with archive.open(member) as handle:
                blob = handle.read(member.file_size + 1)  # a lying header cannot make us read more than declared
            total += len(blob)
            if len(blob) > member.file_size or total > max_bytes:
                raise InputError(
                    f"{label}: {member.filename} is larger than its zip header says; refusing the archive."
                )
            names.append(member.filename)
            blobs.append(blob)
    return _finish(label, names, blobs, notes, minimum)


def _within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def read_folder(
    folder: str | os.PathLike,
    *,
    roots: Iterable[str | os.PathLike] | None = None,
    label: str | None = None,
    minimum: int = MIN_SET_IMAGES,
    max_images: int = MAX_SET_IMAGES,
    max_bytes: int = MAX_SET_BYTES,
    private: Iterable[str | os.PathLike] = (),
) -> ImageSet:
    """The images in a folder (recursively). With `roots`, the folder and every file (symlinks resolved) must lie
    under one of them; files that resolve elsewhere are skipped and named. Files under a `private` folder (the
    arena's vote database and key) are never read, listed or named."""
    folder_path = Path(folder).expanduser()
    label = label or folder_path.name or str(folder_path)
    resolved_roots = [Path(r).expanduser().resolve() for r in roots] if roots is not None else None
    hidden = [Path(p).expanduser().resolve() for p in private]
    real = folder_path.resolve()
    if resolved_roots is not None and not _within(real, resolved_roots):
        allowed = ", ".join(str(r) for r in resolved_roots) or "(none configured)"
        raise InputError(f"{folder} is outside the folders genart may read. Allowed roots: {allowed}.")
    if _within(real, hidden):
        raise InputError(f"{folder} is a private folder of the server (the arena's own files): it cannot be read.")
    if not real.is_dir():
        raise InputError(f"{folder} is not a folder. Give a folder of image files or a .zip.")
    names, blobs, others, escaping, total = [], [], [], [], 0
    for path in sorted(real.rglob("*")):
        rel = path.relative_to(real).as_posix()
        try:
            target = path.resolve()
            mode = target.stat().st_mode
        except OSError:
            continue
        if not stat.S_ISREG(mode) or path.name.startswith(".") or _within(target, hidden) or _within(path, hidden):
            continue
        if resolved_roots is not None and not _within(target, resolved_roots):
            escaping.append(rel)
            continue
        if not _is_image_name(path.name):
            others.append(rel)
            continue
        if len(blobs) >= max_images:
            raise InputError(f"{label} holds more than {max_images:,} images; the limit per set.")
        blob = target.read_bytes()
        total += len(blob)
        if total > max_bytes:
            raise InputError(f"{label} holds more than {max_bytes / 1024**2:,.0f} MiB of images; the limit per set.")
        names.append(rel)
        blobs.append(blob)
    notes = []
    if escaping:
        notes.append(_skipped_note(label, escaping, "link(s) pointing outside the allowed folders"))
    if others:
        notes.append(_skipped_note(label, others, "file(s) that are not images"))
    return _finish(label, names, blobs, notes, minimum)


def read_files(paths: Iterable[str | os.PathLike], *, label: str = "images", minimum: int = 1) -> ImageSet:
    """Loose files (uploads): each must be an image; a zip among them is read as a set of its own images."""
    names, blobs, notes = [], [], []
    for p in paths:
        path = Path(p)
        if path.suffix.lower() == ".zip":
            inner = read_zip(path, minimum=0)
            names += [f"{path.name}/{n}" for n in inner.names]
            blobs += inner.blobs
            notes += inner.notes
        elif _is_image_name(path.name):
            names.append(path.name)
            blobs.append(path.read_bytes())
        else:
            notes.append(f"{label}: skipped {path.name} (not an image).")
    return _finish(label, names, blobs, notes, minimum)


def read_set(
    source: str | os.PathLike,
    *,
    roots: Iterable[str | os.PathLike] | None = None,
    label: str | None = None,
    minimum: int = MIN_SET_IMAGES,
    private: Iterable[str | os.PathLike] = (),
) -> ImageSet:
    """A zip file or a folder, whichever `source` is; `roots` and `private` as for read_folder."""
    path = Path(source)
    if path.is_file() and path.suffix.lower() == ".zip":
        return read_zip(path, label=label, minimum=minimum)
    return read_folder(path, roots=roots, label=label, minimum=minimum, private=private)


def describe_sizes(sizes: list[tuple[int, int]], modes: list[str]) -> list[str]:
    """Notes saying how a set's images varied before they were normalised to RGB."""
    notes = []
    size_counts = Counter(sizes)
    if len(size_counts) > 1:
        common = ", ".join(f"{w}×{h} ({n})" for (w, h), n in size_counts.most_common(4))
        notes.append(
            f"sizes vary ({len(size_counts)} distinct: {common}); each image is resized by the extractor's own convention"
        )
    converted = Counter(m for m in modes if m != "RGB")
    if converted:
        notes.append("converted to RGB: " + ", ".join(f"{n} {m}" for m, n in converted.items()))
    return notes


__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_SET_BYTES",
    "MAX_SET_IMAGES",
    "MIN_SET_IMAGES",
    "ImageSet",
    "describe_sizes",
    "read_files",
    "read_folder",
    "read_set",
    "read_zip",
]
