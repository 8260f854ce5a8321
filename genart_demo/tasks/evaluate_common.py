"""What every evaluation shares: where its images come from (uploads, a zip, a folder, a leaderboard run), its rows,
the metric names it takes, and its record on disk (CSV and JSON)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import atomic_write
from ..errors import InputError
from ..imagesets import MIN_SET_IMAGES, ImageSet, read_files, read_set
from ..studio import Studio
from ..workspace import Workspace

LEADERBOARD_PREFIX = "leaderboard:"  # "leaderboard:<run>" names a run of the workspace as an image set


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


def resolve_set(studio: Studio, source: Any, label: str, minimum: int = MIN_SET_IMAGES) -> ImageSet:
    """A zip (path or upload), a list of uploaded files, a folder under an allowed root, or "leaderboard:<run>"."""
    if source is None or source == "" or source == []:
        raise InputError(
            f"{label}: no images given. Allowed: a .zip, a folder under {allowed_roots_text(studio)}, "
            f"or a leaderboard run."
        )
    if isinstance(source, (list, tuple)):
        found = read_files([getattr(s, "name", s) for s in source], label=label, minimum=minimum)
    else:
        source = str(getattr(source, "name", source))
        if source.startswith(LEADERBOARD_PREFIX):
            try:
                source = str(studio.settings.workspace.run(source[len(LEADERBOARD_PREFIX) :]))
            except InputError as exc:
                raise InputError(f"{label}: {exc}") from None
        found = read_set(
            source, roots=allowed_roots(studio), label=label, minimum=minimum, private=studio.settings.workspace.private
        )
    found.label, found.limit = label, studio.settings.max_pixels
    return found


def allowed_roots(studio: Studio) -> list[Path]:
    return list(studio.settings.eval_roots) or [studio.settings.output_dir]


def allowed_roots_text(studio: Studio) -> str:
    return ", ".join(str(p) for p in allowed_roots(studio))


def leaderboard_runs(studio: Studio) -> list[str]:
    """The leaderboard's runs as set sources ("leaderboard:<run>"), newest first."""
    return [LEADERBOARD_PREFIX + name for name in studio.settings.workspace.run_names()]
