"""`genart leaderboard run|score|show|export`: registered on genart's CLI through the `genart.cli` entry point."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers, e.g. 0,1,2") from exc


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_from_args, tqdm_progress

    stats = run_from_args(Path(args.out), prompts=args.prompts, models=[m for m in args.models.split(",") if m],
                          seeds=args.seeds, limit=args.limit, batch_size=args.batch_size, force=args.force,
                          steps=args.steps, categories=args.categories, challenges=args.challenges,
                          sample=args.sample, progress=tqdm_progress())
    print(f"generated {stats.generated}, already done {stats.skipped}, regenerated {len(stats.repaired)} "
          f"in {stats.seconds:.1f} s -> {args.out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from genart_demo.studio import Studio

    from .runner import tqdm_progress
    from .scoring import score_run

    studio = Studio.create()
    print(studio.notice, file=sys.stderr)
    result = score_run(Path(args.run), reference=args.reference, between_models=args.between_models,
                       standin=studio.offline, device=studio.cache.device, progress=tqdm_progress())
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    from .tables import show_text

    print(show_text(Path(args.run)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .tables import show_text

    print(show_text(Path(args.run)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .tables import export_tables

    for path in export_tables(Path(args.run), fmt=args.format, out=Path(args.dest) if args.dest else None):
        print(path)
    return 0


def register(sub) -> None:
    """Add `leaderboard` and its subcommands to genart's argparse subparsers."""
    lb = sub.add_parser("leaderboard", help="DrawBench / PartiPrompts runs through many models, scored and tabled")
    cmds = lb.add_subparsers(dest="leaderboard_command", required=True)

    run = cmds.add_parser("run", help="generate models x prompts x seeds into a run directory (resumable)")
    run.add_argument("--models", required=True, help="comma-separated registry ids (text-to-image)")
    run.add_argument("--prompts", required=True, help="drawbench, parti, or a .txt/.csv/.tsv file of prompts")
    run.add_argument("--seeds", type=_ints, default=[0], help="comma-separated seeds (default 0)")
    run.add_argument("--limit", type=int, help="only the first N prompts")
    run.add_argument("--sample", type=int, help="a stratified sample of N prompts (by category)")
    run.add_argument("--categories", help="comma-separated categories to keep")
    run.add_argument("--challenges", help="comma-separated challenges to keep (PartiPrompts)")
    run.add_argument("--steps", type=int, help="override every model's default steps")
    run.add_argument("--batch-size", type=int, default=4, help="images per pipeline call")
    run.add_argument("--force", action="store_true", help="reuse a run directory made with other settings "
                     "(its old images and manifest are moved aside, never mixed)")
    run.add_argument("--out", required=True, help="run directory")
    run.set_defaults(func=cmd_run)

    score = cmds.add_parser("score", help="CLIPScore per image, FID/KID per model, tables by category/challenge")
    score.add_argument("run")
    score.add_argument("--reference", help="folder (or .zip) of reference images for FID/KID")
    score.add_argument("--between-models", action="store_true", help="also FID between every pair of models")
    score.set_defaults(func=cmd_score)

    show = cmds.add_parser("show", help="print a scored run's table")
    show.add_argument("run")
    show.set_defaults(func=cmd_show)

    export = cmds.add_parser("export", help="write the tables as CSV or Parquet")
    export.add_argument("run")
    export.add_argument("--format", default="csv", help="csv or parquet")
    export.add_argument("--dest", help="directory for the files (default RUN/export)")
    export.set_defaults(func=cmd_export)
