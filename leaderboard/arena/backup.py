"""An append-only JSON-lines copy of every arena vote, optionally committed to a Hub dataset every few minutes."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

log = logging.getLogger(__name__)

BACKUP_EVERY_MIN = 5  # minutes between two commits of the backup folder to the Hub dataset
BACKUP_PATH_IN_REPO = "arena"  # folder of the Hub dataset that receives the JSONL files


def _commit_scheduler(**kwargs):
    """huggingface_hub's CommitScheduler, imported only when a backup repo is configured."""
    from huggingface_hub import CommitScheduler  # lazy: only reaching the Hub needs it

    return CommitScheduler(**kwargs)


class JsonlBackup:
    """One JSON line per committed vote in `folder/votes-<host>-<pid>.jsonl`; with `repo_id`, a CommitScheduler
    uploads the folder to that Hub dataset every BACKUP_EVERY_MIN minutes (`scheduler_factory` replaces
    huggingface_hub.CommitScheduler, e.g. in tests). Files are only ever appended to, one per process, so
    replicas and worker processes never write into the same file."""

    def __init__(self, folder: Path, repo_id: str = "", scheduler_factory=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.repo_id = repo_id
        self._lock = threading.Lock()
        self.scheduler = None
        if repo_id:
            factory = scheduler_factory or _commit_scheduler
            self.scheduler = factory(
                repo_id=repo_id,
                repo_type="dataset",
                folder_path=self.folder,
                path_in_repo=BACKUP_PATH_IN_REPO,
                every=BACKUP_EVERY_MIN,
            )

    @property
    def path(self) -> Path:
        """This process's JSONL file (the pid is read each time, so a forked worker gets its own file)."""
        host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"
        return self.folder / f"votes-{host}-{os.getpid()}.jsonl"

    def append(self, vote) -> Path:
        """Write the vote (a leaderboard.arena_store.Vote) as one JSON line, flushed and fsynced; the file's path."""
        line = (json.dumps(asdict(vote), ensure_ascii=False) + "\n").encode("utf-8")
        path = self.path
        # the scheduler's lock keeps a commit from uploading a half-written line
        with self._lock, getattr(self.scheduler, "lock", None) or nullcontext(), open(path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return path

    def lines(self) -> list[dict]:
        """Every backed-up vote in this folder (all processes' files), file by file in name order."""
        rows = []
        for path in sorted(self.folder.glob("votes-*.jsonl")):
            rows.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        return rows

    def close(self) -> None:
        """Ask the scheduler for one more commit now (it also commits when the process exits)."""
        if self.scheduler is not None:
            try:
                self.scheduler.trigger()
            except Exception:  # a failed upload never loses a vote: the JSONL file stays and goes up next time
                log.exception("arena backup: the final commit to %s could not be started", self.repo_id)
