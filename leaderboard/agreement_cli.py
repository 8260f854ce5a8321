"""`genart leaderboard agreement` and `genart leaderboard score RUN --agreement [URL]`: the metric-vs-rater table."""

from __future__ import annotations

import argparse
from pathlib import Path

from genart_demo.studio import Studio

from .agreement import BOOTSTRAP_ROUNDS, TASK, agreement_table, agreement_text
from .agreement_metrics import default_metrics, metric_names
from .arena.store import ArenaStore, default_db_url


def add_agreement_options(parser: argparse.ArgumentParser) -> None:
    """The options the agreement table takes besides the database (both commands share them)."""
    parser.add_argument("--task", default=TASK, help=f"the arena task whose votes are compared (default {TASK})")
    parser.add_argument("--rounds", type=int, default=BOOTSTRAP_ROUNDS, help="bootstrap resamples of the votes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap draws")
    parser.add_argument("--named", action="store_true", help="also count named (side-by-side) votes")
    parser.add_argument("--keep-flagged", action="store_true", help="also count raters the quality checks flagged")


def agreement_report(
    studio: Studio, db_url: str | None, runs=(), outputs: Path | None = None, only=None, **options
) -> str:
    """The agreement table of the arena at `db_url` (default: the workspace's store) as text; values of `runs`'
    per_image.csv are reused where the image and the metric match; battles' image paths are read under `outputs`
    (default: the workspace's output folder); `only` names the metrics (default all); `options` go to
    agreement_table (task, rounds, seed, include_named, keep_flagged)."""
    store = ArenaStore(db_url or default_db_url(studio.settings))
    try:
        metrics, notes = default_metrics(standin=studio.offline, device=studio.cache.device, only=only)
        result = agreement_table(
            store, outputs or studio.settings.workspace.outputs, metrics, runs=[Path(r) for r in runs], **options
        )
    finally:
        store.close()
    result.notes.extend(notes)
    return f"arena: {store.url}\n" + agreement_text(result)


def cmd_agreement(args: argparse.Namespace) -> int:
    studio = Studio.create()
    options = {"task": args.task, "rounds": args.rounds, "seed": args.seed}
    options.update(include_named=args.named, keep_flagged=args.keep_flagged)
    print(agreement_report(studio, args.db, runs=args.run or (), outputs=args.outputs, only=args.metrics, **options))
    return 0


def register_agreement(cmds) -> None:
    """Add `agreement` to `genart leaderboard`'s subcommands."""
    agreement = cmds.add_parser(
        "agreement", help="which per-image metric agrees with the arena's votes (bootstrap CIs)"
    )
    agreement.add_argument("--db", help="the arena's SQLAlchemy URL (default: GENART_DB_URL or the workspace's SQLite)")
    agreement.add_argument(
        "--run", action="append", help="a scored run whose per_image.csv values to reuse (repeatable)"
    )
    agreement.add_argument(
        "--outputs", type=Path, help="the folder the battles' image paths are relative to (default: the workspace's)"
    )
    agreement.add_argument(
        "--metrics", help=f"comma-separated metrics to compare (default all: {', '.join(metric_names())})"
    )
    add_agreement_options(agreement)
    agreement.set_defaults(func=cmd_agreement)


def add_score_agreement(score: argparse.ArgumentParser) -> None:
    """`genart leaderboard score RUN --agreement [URL]`: print the agreement table (default options, this run's
    per_image.csv reused) after the run's tables; `genart leaderboard agreement` takes the other options."""
    score.add_argument(
        "--agreement",
        nargs="?",
        const="",
        metavar="ARENA_DB_URL",
        help="then print each metric's agreement with the arena's votes (default URL: the workspace's arena)",
    )


def score_agreement(studio: Studio, args: argparse.Namespace) -> str | None:
    """The agreement text `score --agreement` prints after the run's tables; None when the flag was not given."""
    if getattr(args, "agreement", None) is None:
        return None
    return agreement_report(studio, args.agreement or None, runs=[args.run])


__all__ = ["add_score_agreement", "agreement_report", "cmd_agreement", "register_agreement", "score_agreement"]
