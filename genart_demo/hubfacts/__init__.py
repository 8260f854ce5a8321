"""The committed facts of each registry repo on the Hub (file tree, small JSON configs): see README.md here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FACTS_DIR = Path(__file__).resolve().parent
TREE_FILE = "tree.json"


class MissingFacts(LookupError):
    """No committed facts for a repo (or for one file of it)."""


def folder_name(repo: str, revision: str = "main") -> str:
    """`org--name@revision` with the revision's slashes as dashes, e.g. CompVis--ldm-text2im-large-256@refs-pr-10."""
    return f"{repo.replace('/', '--')}@{revision.replace('/', '-')}"


@dataclass(frozen=True)
class RepoFacts:
    """One repo at one revision: its file list, where each fact was checked, and its small JSON files."""

    repo: str
    revision: str
    folder: Path
    files: tuple[str, ...]
    checked: tuple[str, ...]
    unchecked: tuple[str, ...]

    def has(self, path: str) -> bool:
        return path in self.files

    def json(self, path: str) -> dict[str, Any]:
        """A JSON file of the repo (e.g. "unet/config.json"), as committed here."""
        try:
            return json.loads((self.folder / path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MissingFacts(f"{self.repo}@{self.revision}: no committed copy of {path}") from None

    def json_files(self) -> list[str]:
        """Relative paths of the committed JSON files (tree.json excluded), sorted."""
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*.json") if p.name != TREE_FILE)

    def scheduler(self) -> tuple[str, dict[str, Any]] | None:
        """(diffusers class name, config) of the pipeline's scheduler as the repo ships it (in scheduler/, or at the
        root for repos such as google/ddpm-cifar10-32); None where the facts hold no scheduler."""
        if not self.has("model_index.json"):
            return None
        entry = self.json("model_index.json").get("scheduler")
        if not (isinstance(entry, list) and len(entry) == 2 and entry[1]):
            return None
        for path in ("scheduler/scheduler_config.json", "scheduler_config.json"):
            if self.has(path) and (self.folder / path).is_file():
                return entry[1], self.json(path)
        return None

    def subfolders(self) -> list[str]:
        """Top-level folders of the repo (components of a pipeline), sorted."""
        return sorted({f.split("/", 1)[0] for f in self.files if "/" in f})


@cache
def repo_facts(repo: str, revision: str = "main") -> RepoFacts:
    """The committed facts of `repo` at `revision`; MissingFacts when there are none."""
    folder = FACTS_DIR / folder_name(repo, revision)
    try:
        tree = json.loads((folder / TREE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MissingFacts(f"No committed Hub facts for {repo}@{revision} (looked in {folder}).") from None
    return RepoFacts(
        repo=tree["repo"],
        revision=tree["revision"],
        folder=folder,
        files=tuple(tree["files"]),
        checked=tuple(tree.get("checked", ())),
        unchecked=tuple(tree.get("unchecked", ())),
    )


def all_repo_facts() -> list[RepoFacts]:
    """Every repo with committed facts, sorted by folder name."""
    return [
        repo_facts(tree["repo"], tree["revision"])
        for tree in (json.loads(p.read_text(encoding="utf-8")) for p in sorted(FACTS_DIR.glob(f"*/{TREE_FILE}")))
    ]
