"""`genart leaderboard run|score|show|export`: registered on genart's CLI through the `genart.cli` entry point."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genart_demo.errors import InputError
from genart_demo.studio import Studio

from .agreement_cli import add_score_agreement, register_agreement, score_agreement
from .run_options import add_run_options, run_arguments, stats_text, tqdm_progress
from .runner import run_from_args
from .scoring import score_run
from .scoring_metrics import DEFAULT_METRICS, allowed_metrics, check_metrics
from .tables import export_tables, show_text


def cmd_run(args: argparse.Namespace) -> int:
    stats = run_from_args(**run_arguments(args), progress=tqdm_progress())
    print(stats_text(stats, args.out))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    studio = Studio.create()
    print(studio.notice, file=sys.stderr)
    result = score_run(
        Path(args.run),
        reference=args.reference,
        between_models=args.between_models,
        standin=studio.offline,
        device=studio.cache.device,
        progress=tqdm_progress(),
        metrics=args.metrics,
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(show_text(Path(args.run)))
    agreement = score_agreement(studio, args)
    if agreement is not None:
        print(agreement)
    return 0


def metrics_argument(text: str) -> tuple[str, ...]:
    """--metrics: comma-separated metric names, checked before anything loads (argparse exits 2 naming the
    allowed ones)."""
    try:
        return check_metrics(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_score_options(score: argparse.ArgumentParser) -> None:
    """The options of `genart leaderboard score` that choose what is scored."""
    score.add_argument("run")
    score.add_argument("--reference", help="folder (or .zip) of reference images for FID/KID/CMMD")
    score.add_argument("--between-models", action="store_true", help="also FID between every pair of models")
    score.add_argument(
        "--metrics",
        type=metrics_argument,
        default=DEFAULT_METRICS,
        help=f"comma-separated per-image metrics (default {','.join(DEFAULT_METRICS)}; CLIPScore is always "
        f"computed): {', '.join(allowed_metrics())}",
    )


def cmd_show(args: argparse.Namespace) -> int:
    print(show_text(Path(args.run)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    for path in export_tables(Path(args.run), fmt=args.format, out=Path(args.dest) if args.dest else None):
        print(path)
    return 0


def register(sub) -> None:
    """Add `leaderboard` and its subcommands to genart's argparse subparsers."""
    lb = sub.add_parser(
        "leaderboard",
        help="benchmark prompt sets (DrawBench, PartiPrompts, GenEval, T2I-CompBench, ...) run through many models, "
        "scored and tabled",
    )
    cmds = lb.add_subparsers(dest="leaderboard_command", required=True)

    run = cmds.add_parser("run", help="generate models x prompts x seeds into a run directory (resumable)")
    add_run_options(run)
    run.set_defaults(func=cmd_run)

    score = cmds.add_parser(
        "score", help="CLIPScore and other per-image metrics, FID/KID/CMMD per model, tables by category/challenge"
    )
    add_score_options(score)
    add_score_agreement(score)
    score.set_defaults(func=cmd_score)

    register_agreement(cmds)

    show = cmds.add_parser("show", help="print a scored run's table")
    show.add_argument("run")
    show.set_defaults(func=cmd_show)

    export = cmds.add_parser("export", help="write the tables as CSV or Parquet")
    export.add_argument("run")
    export.add_argument("--format", default="csv", help="csv or parquet")
    export.add_argument("--dest", help="directory for the files (default RUN/export)")
    export.set_defaults(func=cmd_export)
