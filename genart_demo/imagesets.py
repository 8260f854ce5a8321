"""Image sets for evaluation: a zip upload, a folder under an allowed root, or a list of files — read safely, every
byte a request reads counted against one budget."""

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
from .settings import DEFAULT_EVAL_MAX_MB, DEFAULT_MAX_PIXELS, MAX_ZIP_RATIO, ZIP_RATIO_FLOOR

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_SET_IMAGES = 50_000  # images one set may hold
MIN_SET_IMAGES = 2  # a covariance (and any set metric) needs at least two samples
MB = 1024**2


def _mb(size: int) -> str:
    """A byte count in MB as people read it: "4,096", "1.5", "0.05"."""
    return f"{size / MB:,.2f}".rstrip("0").rstrip(".")


class ByteBudget:
    """The bytes (unpacked) one request may still read, shared by every set, zip and file it names: a zip given three
    times counts three times. Sizes are taken before reading, so nothing over the limit is ever inflated."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.used = 0

    @classmethod
    def of_mb(cls, limit_mb: int) -> ByteBudget:
        """A budget of `limit_mb` MB (GENART_EVAL_MAX_MB); 0 = no limit."""
        return cls(limit_mb * MB if limit_mb else 2**63)

    def take(self, size: int, what: str) -> None:
        """Count `size` bytes of `what` (a file, a zip's images); InputError naming it and the limit if they do not fit."""
        if self.used + size > self.limit:
            raise InputError(
                f"{what} unpacks to {_mb(size)} MB, which would bring this request to {_mb(self.used + size)} MB of "
                f"images; the limit is {_mb(self.limit)} MB per request, all sets and files together "
                "(GENART_EVAL_MAX_MB). Give fewer or smaller images."
            )
        self.used += size


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


def _check_ratio(label: str, member: zipfile.ZipInfo) -> None:
    """Refuse an entry that declares it inflates more than MAX_ZIP_RATIO times (a zip bomb), before inflating it.
    Entries under ZIP_RATIO_FLOOR may compress as well as they like: they cannot hurt."""
    if member.file_size > ZIP_RATIO_FLOOR and member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1):
        ratio = member.file_size / max(member.compress_size, 1)
        raise InputError(
            f"{label}: {member.filename} would unpack to {ratio:,.0f} times its packed size ({_mb(member.file_size)} MB "
            f"from {member.compress_size:,} bytes); the limit is {MAX_ZIP_RATIO} times for entries over "
            f"{_mb(ZIP_RATIO_FLOOR)} MB. Refusing the archive (a zip bomb?)."
        )


def read_zip(
    source: str | os.PathLike,
    *,
    label: str | None = None,
    minimum: int = MIN_SET_IMAGES,
    max_images: int = MAX_SET_IMAGES,
    budget: ByteBudget | None = None,
) -> ImageSet:
    """The images inside a zip, read into memory; nothing is written to disk.

    Members whose path would escape the archive root and members that are not images are skipped and named in
    the notes. Before anything is inflated, a zip is refused when it holds more than `max_images` images, when an
    entry declares an absurd compression ratio, or when its declared sizes do not fit the request's `budget`; an
    entry is never read past its declared size.
    """
    name = Path(source).name
    label = label or name
    where = label if label == name else f"{label}: {name}"  # messages name the set and the file
    budget = budget or ByteBudget.of_mb(DEFAULT_EVAL_MAX_MB)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{where} is not a readable zip file ({exc}). Allowed: a .zip of image files.") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        escaping = [m.filename for m in members if _escapes(m.filename)]
        hidden = [m.filename for m in members if PurePosixPath(m.filename).name.startswith(("._", "."))]
        members = [m for m in members if m.filename not in escaping and m.filename not in hidden]
        others = [m.filename for m in members if not _is_image_name(m.filename)]
        members = [m for m in members if _is_image_name(m.filename)]
        if len(members) > max_images:
            raise InputError(f"{where} holds {len(members)} images; the limit is {max_images:,} per set.")
        for member in members:
            _check_ratio(where, member)
        budget.take(sum(m.file_size for m in members), f"{where}, {len(members)} images,")
        notes: list[str] = []
        if escaping:
            notes.append(_skipped_note(where, escaping, "file(s) whose paths point outside the archive"))
        if others:
            notes.append(_skipped_note(where, others, "file(s) that are not images"))
        names, blobs = [], []
        for member in members:
            with archive.open(member) as handle:
                blob = handle.read(member.file_size + 1)  # a lying header cannot make us read more than declared
            if len(blob) > member.file_size:
                raise InputError(
                    f"{where}: {member.filename} is larger than its zip header says; refusing the archive."
                )
            names.append(member.filename)
            blobs.append(blob)
    return _finish(label, names, blobs, notes, minimum)


def _within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _resolved(paths: Iterable[str | os.PathLike]) -> list[Path]:
    return [Path(p).expanduser().resolve() for p in paths]


def _readable(source: str | os.PathLike, roots: list[Path] | None, hidden: list[Path]) -> Path:
    """`source` with symlinks resolved, once it is known to lie under one of `roots` (None: anywhere) and outside the
    `hidden` folders. Every path a person typed (a folder or a .zip) passes here; uploads do not."""
    try:
        real = Path(source).expanduser().resolve()
        real.exists()  # raises for a path the file system refuses to look up (a name over 255 bytes)
    except OSError as exc:
        typed = str(source) if len(str(source)) <= 80 else f"{str(source)[:80]}… ({len(str(source)):,} characters)"
        raise InputError(f"{typed} cannot be used as a path: {exc.strerror or exc}.") from exc
    if roots is not None and not _within(real, roots):
        allowed = ", ".join(str(r) for r in roots) or "(none configured)"
        raise InputError(f"{source} is outside the folders genart may read. Allowed roots: {allowed}.")
    if _within(real, hidden):
        where = "is" if real in hidden else "lies in"
        raise InputError(f"{source} {where} a private folder of the server (the arena's own files): it cannot be read.")
    return real


def _read_counted(path: Path, name: str, budget: ByteBudget) -> bytes:
    """A file's bytes, its size taken from `budget` first; never more than was counted (a file that grew is cut)."""
    size = path.stat().st_size
    budget.take(size, name)
    with open(path, "rb") as handle:
        return handle.read(size)


def read_folder(
    folder: str | os.PathLike,
    *,
    roots: Iterable[str | os.PathLike] | None = None,
    label: str | None = None,
    minimum: int = MIN_SET_IMAGES,
    max_images: int = MAX_SET_IMAGES,
    budget: ByteBudget | None = None,
    private: Iterable[str | os.PathLike] = (),
) -> ImageSet:
    """The images in a folder (recursively). With `roots`, the folder and every file (symlinks resolved) must lie
    under one of them; files that resolve elsewhere are skipped and named. Files under a `private` folder (the
    arena's vote database and key) are never read, listed or named."""
    folder_path = Path(folder).expanduser()
    label = label or folder_path.name or str(folder_path)
    budget = budget or ByteBudget.of_mb(DEFAULT_EVAL_MAX_MB)
    resolved_roots = _resolved(roots) if roots is not None else None
    hidden = _resolved(private)
    real = _readable(folder, resolved_roots, hidden)
    if not real.is_dir():
        raise InputError(f"{folder} is not a folder. Give a folder of image files or a .zip.")
    names, blobs, others, escaping = [], [], [], []
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
        names.append(rel)
        blobs.append(_read_counted(target, f"{label}: {rel}", budget))
    notes = []
    if escaping:
        notes.append(_skipped_note(label, escaping, "link(s) pointing outside the allowed folders"))
    if others:
        notes.append(_skipped_note(label, others, "file(s) that are not images"))
    return _finish(label, names, blobs, notes, minimum)


def read_files(
    paths: Iterable[str | os.PathLike], *, label: str = "images", minimum: int = 1, budget: ByteBudget | None = None
) -> ImageSet:
    """Uploaded files: each must be an image or a zip of images. A zip given alone is the set (its folders kept, so
    numeric class folders still label images); zips among other files are named as folders of the set.
    Uploads are not held to the allowed roots (they are where the upload widget put them); the budget applies."""
    paths = [Path(p) for p in paths]
    budget = budget or ByteBudget.of_mb(DEFAULT_EVAL_MAX_MB)
    names, blobs, notes = [], [], []
    for path in paths:
        if path.suffix.lower() == ".zip":
            inner = read_zip(path, label=label, minimum=0, budget=budget)
            names += inner.names if len(paths) == 1 else [f"{path.name}/{n}" for n in inner.names]
            blobs += inner.blobs
            notes += inner.notes
        elif _is_image_name(path.name):
            names.append(path.name)
            blobs.append(_read_counted(path, f"{label}: {path.name}", budget))
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
    budget: ByteBudget | None = None,
) -> ImageSet:
    """A typed path: a zip file or a folder, whichever `source` is. Either must lie under `roots` (None: anywhere)
    and outside `private`, as for read_folder."""
    real = _readable(source, _resolved(roots) if roots is not None else None, _resolved(private))
    if real.is_file() and Path(source).suffix.lower() == ".zip":
        return read_zip(real, label=label or Path(source).name, minimum=minimum, budget=budget)
    return read_folder(source, roots=roots, label=label, minimum=minimum, private=private, budget=budget)


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
    "MAX_SET_IMAGES",
    "MIN_SET_IMAGES",
    "ByteBudget",
    "ImageSet",
    "describe_sizes",
    "read_files",
    "read_folder",
    "read_set",
    "read_zip",
]
