"""Every arena vote written out as CSV or JSON lines (the CLI's `export`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from genart_demo.atomic import atomic_write
from genart_demo.errors import InputError

from .store import ArenaStore, Vote


def export_votes(store: ArenaStore, path: Path, *, modes: tuple[str, ...] | None = None) -> Path:
    """Every vote (all modes unless narrowed) as CSV or JSON lines, by the file's suffix; written atomically."""
    path = Path(path)
    if path.suffix not in (".jsonl", ".csv"):
        raise InputError(f"Export to {path.name!r}: use a .csv or .jsonl file name.")
    rows = [asdict(v) for v in store.votes(modes=modes)]
    if path.suffix == ".jsonl":
        return atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    rows = [{**r, "tags": ";".join(r["tags"])} for r in rows]  # a CSV cell per vote: its tags joined with ";"
    return atomic_write(path, pd.DataFrame(rows, columns=list(Vote.__dataclass_fields__)).to_csv(index=False))
