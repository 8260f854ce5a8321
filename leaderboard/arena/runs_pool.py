"""The pool instant battles draw from: the outputs of the workspace's leaderboard runs, re-read when one changes."""

from __future__ import annotations

from genart_demo.workspace import Workspace

from ..flagged import row_flagged
from ..manifest import MANIFEST_FILE, read_manifest


class RunsPool:
    """model -> (prompt, seed) -> image path (relative to the output folder) over the leaderboard runs; the table is
    kept until a manifest is added or rewritten."""

    def __init__(self):
        self._cache: tuple[tuple, dict] | None = None

    def outputs(self, workspace: Workspace) -> dict[str, dict[tuple[str, int], str]]:
        root = workspace.runs
        runs = sorted(p for p in root.glob(f"*/{MANIFEST_FILE}")) if root.is_dir() else []
        stamp = tuple((str(p), p.stat().st_mtime_ns) for p in runs)
        if self._cache and self._cache[0] == stamp:
            return self._cache[1]
        found: dict[str, dict[tuple[str, int], str]] = {}
        for manifest in runs:
            run = manifest.parent
            for row in read_manifest(run):
                if row_flagged(row):
                    continue  # a black image its safety checker put in: never offered to voters
                rel = (run / row["path"]).relative_to(workspace.outputs)
                found.setdefault(row["model"], {})[(row["prompt"], int(row["seed"]))] = str(rel)
        self._cache = (stamp, found)
        return found
