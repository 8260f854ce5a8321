"""What every evaluation shares: where its images come from (uploads, a zip, a folder, a leaderboard run) and the
byte budget they share, its rows, the metric names it takes, and its record on disk (CSV and JSON)."""

from __future__ import annotations

import csv
import ctypes
import functools
import gc
import io
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .. import __version__
from ..atomic import atomic_write
from ..errors import InputError
from ..imagesets import MIN_SET_IMAGES, ByteBudget, ImageSet, read_files, read_set
from ..studio import Studio
from ..workspace import Workspace

LEADERBOARD_PREFIX = "leaderboard:"  # "leaderboard:<run>" names a run of the workspace as an image set
Task = TypeVar("Task", bound=Callable[..., Any])


@dataclass
class EvalResult:
    """One evaluation: rows of a table (also written as CSV and JSON), plus notes and, for some, images."""

    rows: list[dict[str, Any]]  # each: metric, value, std, subject, n, extractor, convention
    notes: list[str] = field(default_factory=list)
    csv_path: Path | None = None
    json_path: Path | None = None
    images: list[tuple[Any, str]] = field(default_factory=list)  # (PIL image, caption) for galleries
    info: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def row(
    metric: str,
    value: float,
    *,
    subject: str,
    std: float | None = None,
    n: int | None = None,
    extractor: str = "",
    convention: str = "",
) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": float(value),
        "std": None if std is None else float(std),
        "subject": subject,
        "n": n,
        "extractor": extractor,
        "convention": convention,
    }


def write_result(result: EvalResult, workspace: Workspace, kind: str) -> EvalResult:
    """Write the table as CSV and everything as JSON under the workspace's evaluations folder (atomically)."""
    base = workspace.evaluation_base(kind)
    columns = ["metric", "value", "std", "subject", "n", "extractor", "convention"]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: r.get(k) for k in columns} for r in result.rows)
    result.csv_path = atomic_write(base.with_suffix(".csv"), table.getvalue())
    result.json_path = atomic_write(
        base.with_suffix(".json"),
        json.dumps(
            {"kind": kind, "rows": result.rows, "notes": result.notes, "info": result.info, "genart": __version__},
            indent=2,
            default=str,
        ),
    )
    return result


def check_metrics(names: Any, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = tuple(str(n).lower() for n in (names or ()))
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise InputError(f"{what}: {', '.join(unknown) or 'nothing chosen'} — allowed: {', '.join(allowed)}.")
    return names


def request_budget(studio: Studio) -> ByteBudget:
    """The bytes one request may read, all its sets, zips and files together (GENART_EVAL_MAX_MB)."""
    return ByteBudget.of_mb(studio.settings.eval_max_mb)


def resolve_set(
    studio: Studio, source: Any, label: str, minimum: int = MIN_SET_IMAGES, *, budget: ByteBudget | None = None
) -> ImageSet:
    """The images `source` names, counted against `budget` (a request's sets share one; default: a fresh one).

    A list is what the upload widget handed over: image files and zips, read wherever Gradio keeps uploads. A string
    is typed: "leaderboard:<run>", or a folder or .zip that must lie under the allowed roots (never the private
    folder), so a typed path cannot reach a zip elsewhere on the server."""
    if source is None or source == "" or source == []:
        raise InputError(
            f"{label}: no images given. Allowed: a .zip, a folder under {allowed_roots_text(studio)}, "
            f"or a leaderboard run."
        )
    budget = budget or request_budget(studio)
    if isinstance(source, (list, tuple)):
        found = read_files([getattr(s, "name", s) for s in source], label=label, minimum=minimum, budget=budget)
    else:
        source = str(getattr(source, "name", source))
        if source.startswith(LEADERBOARD_PREFIX):
            try:
                source = str(studio.settings.workspace.run(source[len(LEADERBOARD_PREFIX) :]))
            except InputError as exc:
                raise InputError(f"{label}: {exc}") from None
        found = read_set(
            source,
            roots=allowed_roots(studio),
            label=label,
            minimum=minimum,
            private=studio.settings.workspace.private,
            budget=budget,
        )
    found.label, found.limit = label, studio.settings.max_pixels
    return found


def returns_memory(task: Task) -> Task:
    """`task`, after which the memory its image sets took goes back to the system, whether it returned or raised.

    Freed bytes alone are not enough: glibc keeps the heap pages of many freed blobs (a server held 1 GB after
    one evaluation of 900 MB of images), so the heap is trimmed too. A raised error keeps its traceback for the log
    but not the frames' locals (the image sets), whoever holds on to it."""

    @functools.wraps(task)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return task(*args, **kwargs)
        except BaseException as exc:
            _drop_locals(exc)
            raise
        finally:
            release_memory()

    return run  # type: ignore[return-value]


def _drop_locals(exc: BaseException | None) -> None:
    """Clear the local variables of every finished frame in `exc`'s traceback and in the errors it chains to."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


def release_memory() -> None:
    """Collect garbage, then hand free heap pages back to the system where the C library can (glibc's malloc_trim)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc only; musl, macOS and Windows have none (or no CDLL(None))
    except (OSError, AttributeError, TypeError):
        return None


def allowed_roots(studio: Studio) -> list[Path]:
    return list(studio.settings.eval_roots) or [studio.settings.output_dir]


def allowed_roots_text(studio: Studio) -> str:
    return ", ".join(str(p) for p in allowed_roots(studio))


def leaderboard_runs(studio: Studio) -> list[str]:
    """The leaderboard's runs as set sources ("leaderboard:<run>"), newest first."""
    return [LEADERBOARD_PREFIX + name for name in studio.settings.workspace.run_names()]
