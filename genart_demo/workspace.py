"""Where genart keeps things on disk: every path under the output and cache folders, and the run-name rule."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

RUN_FILE = "run.json"  # a leaderboard run folder is one that holds this file (its configuration)
RUN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # run folder names: no separators, no leading "." or "-"
MAX_RUN_NAME = 100  # characters


def check_run_name(name: object) -> str:
    """`name` when it can name a run folder: letters, digits, '.', '_' and '-', not starting with '.' or '-', at
    most MAX_RUN_NAME characters; InputError saying so otherwise."""
    text = name if isinstance(name, str) else ""
    if not RUN_NAME.fullmatch(text) or len(text) > MAX_RUN_NAME:
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
        raise InputError(
            f"{shown} is not a run name: use up to {MAX_RUN_NAME} letters, digits, '.', '_' and '-' "
            "(no '/', '\\' or spaces), not starting with '.' or '-'."
        )
    return text


@dataclass(frozen=True)
class Workspace:
    """The output folder (what people make and keep) and the cache folder (what genart can rebuild)."""

    outputs: Path  # GENART_OUTPUT_DIR: dated image/video folders, leaderboard runs, evaluations, the arena
    cache: Path  # GENART_CACHE_DIR: stand-ins and reference statistics

    # ---------------------------------------------------------------- outputs

    def output_path(self, model_id: str, seed: int, suffix: str = ".png") -> Path:
        """outputs/YYYY-MM-DD/HHMMSS-ffffff-<model>-<seed><suffix>: unique per image (or video) made."""
        now = _dt.datetime.now()
        return self.outputs / now.strftime("%Y-%m-%d") / f"{now.strftime('%H%M%S-%f')}-{model_id}-{seed}{suffix}"

    def grid_path(self) -> Path:
        """outputs/grids/YYYY-MM-DD/HHMMSS-ffffff-grid.png: one X/Y/Z grid picture (its cells are ordinary outputs)."""
        now = _dt.datetime.now()
        return self.outputs / "grids" / now.strftime("%Y-%m-%d") / f"{now.strftime('%H%M%S-%f')}-grid.png"

    @property
    def runs(self) -> Path:
        """Leaderboard runs, one folder each (`genart leaderboard run --out` puts them here by default)."""
        return self.outputs / "leaderboard"

    def run(self, name: object) -> Path:
        """The folder of the leaderboard run called `name` (checked by the one run-name rule; it may not exist)."""
        return self.runs / check_run_name(name)

    def run_names(self) -> list[str]:
        """Names of the run folders that hold a run file, newest first."""
        found = [p for p in self.runs.glob(f"*/{RUN_FILE}") if RUN_NAME.fullmatch(p.parent.name)]
        return [p.parent.name for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]

    def evaluation_base(self, kind: str) -> Path:
        """outputs/evaluations/YYYY-MM-DD/HHMMSS-ffffff-<kind>: where one evaluation's .csv and .json go."""
        stamp = _dt.datetime.now().strftime("%Y-%m-%d/%H%M%S-%f")
        return self.outputs / "evaluations" / f"{stamp}-{kind}"

    # ---------------------------------------------------------------- the arena's private folder (never served)

    @property
    def arena(self) -> Path:
        """The arena's folder: its default vote database, the key that signs vote tickets, images, backup."""
        return self.outputs / "arena"

    @property
    def arena_db(self) -> Path:
        return self.arena / "arena.db"

    @property
    def arena_key(self) -> Path:
        return self.arena / "secret.key"

    @property
    def arena_images(self) -> Path:
        return self.arena / "images"

    @property
    def arena_backup(self) -> Path:
        return self.arena / "backup"

    @property
    def arena_ratings(self) -> Path:
        """The ratings table the arena writes and the leaderboard joins."""
        return self.arena / "ratings.csv"

    @property
    def private(self) -> tuple[Path, ...]:
        """Folders under outputs that are never served by URL (Settings.file_routes blocks them)."""
        return (self.arena,)

    # ---------------------------------------------------------------- cache

    @property
    def standins(self) -> Path:
        """Tiny random-weight stand-ins, one folder or file per class and version."""
        return self.cache / "standins"

    @property
    def reference_stats(self) -> Path:
        """Features and statistics of image sets, by extractor and content hash."""
        return self.cache / "reference-stats"
