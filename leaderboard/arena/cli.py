"""`genart arena ratings|export|session create|status|export`: the arena from the command line (genart.cli plugin)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

import sqlalchemy as sa

from genart_demo.cache import PipelineCache
from genart_demo.errors import InputError
from genart_demo.registry import Registry
from genart_demo.settings import Settings
from genart_demo.studio import Studio

from ..prompts import load_prompt_set
from .battles import BATTLE_TASKS, Arena, export_votes
from .rating_report import DEFAULT_WIDTH, coefficients_frame, fragility_text, rating_report, report_json, stop_text
from .ratings import MIN_VOTES, write_ratings_csv
from .sampling import RULES
from .sessions import agreement_tables, create_session, export_session, get_session, status_table
from .slices import arena_slices, rater_ratings


def _arena(args: argparse.Namespace, *, create: bool = False):
    """An Arena on --db (or GENART_DB_URL, or the SQLite file under the output folder). No Hub probe: the CLI
    only reads and writes votes, sessions and tables. A --db SQLite file that does not exist is refused unless the
    command creates something (`create`), and a database that cannot be reached is a message, not a traceback."""
    settings = Settings.from_env()
    if getattr(args, "db", None):
        settings = dataclasses.replace(settings, db_url=args.db)
        try:
            url = sa.make_url(args.db)
        except sa.exc.ArgumentError:
            raise InputError(
                f"--db {args.db!r} is not a database URL, e.g. sqlite:////path/arena.db or "
                "postgresql+psycopg://user@host/db."
            ) from None
        database = url.database or ""
        missing = database not in ("", ":memory:") and not Path(database).is_file()
        if url.get_backend_name() == "sqlite" and missing and not create:
            raise InputError(f"No vote database at {database} (--db): check the path; nothing was created.")
    studio = Studio(
        settings,
        Registry.load(),
        PipelineCache(settings, standin=True),
        offline=True,
        offline_reason="the arena CLI makes no images",
    )
    try:
        return Arena.open(studio)
    except sa.exc.SQLAlchemyError as exc:
        where = sa.make_url(settings.db_url).render_as_string(hide_password=True) if settings.db_url else "SQLite"
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise InputError(f"Cannot open the vote database {where}: {reason}") from None


def cmd_ratings(args: argparse.Namespace) -> int:
    arena = _arena(args)
    if args.by or args.rater:
        return _print_slice(arena, args)
    report = rating_report(
        arena,
        args.task,
        include_named=args.include_named,
        rule=args.stop or ("width" if args.width is not None else RULES[0]),
        width=args.width,
        rounds=args.rounds,
        min_votes=args.min_votes,
    )
    table = report.table
    if args.csv:
        write_ratings_csv(table, Path(args.csv))
    elif not args.db:  # the default store: refresh the table the leaderboard joins
        arena.write_ratings(table, args.task)
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    elif table.empty:
        print(f"no votes yet for {args.task}")
    else:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
        _print_robustness(report)
    return 0


def _print_robustness(report) -> None:
    """What the ratings rest on, after the table: stopping rule, fragility, covariates, flagged raters."""
    print(f"\n{stop_text(report)}\n{fragility_text(report)}")
    coefficients = coefficients_frame(report)
    if len(coefficients):
        print(f"\ncontrolled Bradley-Terry ({report.covariate_votes} votes), rating points:")
        print(coefficients.to_string(index=False, float_format=lambda x: f"{x:+.1f}"))
    if len(report.flags):
        print("\nflagged raters (kept = counted all the same):")
        print(report.flags.to_string(index=False))
    else:
        print("\nflagged raters: none")


def _print_slice(arena: Arena, args: argparse.Namespace) -> int:
    """`--by category`: the ratings per prompt category; `--rater ID`: that rater's own ratings (after 30 votes)."""
    if args.rater:
        personal = rater_ratings(arena, args.task, args.rater, include_named=args.include_named)
        table = personal.table
        if args.json:
            rows = None if table is None else json.loads(table.to_json(orient="records"))
            print(
                json.dumps({"rater": args.rater, "votes": personal.votes, "needed": personal.needed, "ratings": rows})
            )
            return 0
        print(personal.message())
    else:
        min_votes = MIN_VOTES if args.min_votes is None else args.min_votes
        table = arena_slices(
            arena, args.task, include_named=args.include_named, min_votes=min_votes, rounds=args.rounds
        )
        if args.json:
            print(table.to_json(orient="records", indent=2))
            return 0
        if table.empty:
            print(f"no votes yet for {args.task}")
    if table is not None and len(table):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    arena = _arena(args)
    path = export_votes(arena.store, Path(args.out))
    print(f"{arena.store.vote_count()} votes -> {path}")
    return 0


def _lines(path: str) -> list[str]:
    """Prompts from a .txt/.csv/.tsv file, or a leaderboard prompt set by name (drawbench, parti)."""
    return [item.text for item in load_prompt_set(path).items]


def cmd_session_create(args: argparse.Namespace) -> int:
    arena = _arena(args, create=True)
    prompts = _lines(args.prompts)[: args.limit] if args.limit else _lines(args.prompts)
    session = create_session(
        arena, args.name, [m for m in args.models.split(",") if m.strip()], prompts, args.pairs, task=args.task
    )
    print(session.code)
    print(
        f"{session.name}: {len(session.models)} models, {len(session.prompts)} prompts, "
        f"{session.pairs_per_rater} pairs per rater",
        file=sys.stderr,
    )
    return 0


def cmd_session_status(args: argparse.Namespace) -> int:
    arena = _arena(args)
    session = get_session(arena, args.code)
    raters = status_table(arena, session.code)
    matrix, kappa = agreement_tables(arena, session.code)
    if args.json:
        print(
            json.dumps(
                {
                    "code": session.code,
                    "name": session.name,
                    "models": list(session.models),
                    "pairs_per_rater": session.pairs_per_rater,
                    "raters": json.loads(raters.to_json(orient="records", date_format="iso")),
                    "agreement": json.loads(matrix.to_json(orient="index")),
                    "fleiss_kappa": None if math.isnan(kappa) else kappa,
                },
                indent=2,
            )
        )
        return 0
    print(f"{session.code} · {session.name} · {', '.join(session.models)} · {session.pairs_per_rater} pairs per rater")
    print(raters.to_string(index=False) if len(raters) else "no raters yet")
    if len(matrix):
        print("\nagreement (share of shared items chosen alike):")
        print(matrix.to_string(float_format=lambda x: f"{x:.2f}"))
    print(f"\nFleiss' kappa: {'n/a' if math.isnan(kappa) else f'{kappa:.3f}'}")
    return 0


def cmd_session_export(args: argparse.Namespace) -> int:
    for path in export_session(_arena(args), args.code, Path(args.out)):
        print(path)
    return 0


def register(sub) -> None:
    """Add `arena` and its subcommands to genart's argparse subparsers."""
    arena = sub.add_parser("arena", help="votes, ratings and rating sessions of the arena")
    cmds = arena.add_subparsers(dest="arena_command", required=True)
    db_help = "SQLAlchemy URL of the vote store (default GENART_DB_URL, else SQLite under the output folder)"

    ratings = cmds.add_parser("ratings", help="Bradley-Terry ratings with 95%% bootstrap intervals, Elo, counts")
    ratings.add_argument("--db", help=db_help)
    ratings.add_argument("--task", default=BATTLE_TASKS[0], choices=BATTLE_TASKS)
    ratings.add_argument("--include-named", action="store_true", help="count named (side-by-side) votes too")
    ratings.add_argument("--rounds", type=int, default=100, help="bootstrap rounds (default 100)")
    ratings.add_argument("--min-votes", type=int, help="models with fewer votes are listed unranked")
    ratings.add_argument(
        "--stop",
        choices=RULES,
        help="stopping rule: separated (all adjacent ranks separated; the default) or width (every interval "
        "narrower than --width points; the default when --width is given)",
    )
    ratings.add_argument(
        "--width", type=float, help=f"the width rule's interval width in rating points (default {DEFAULT_WIDTH:g})"
    )
    ratings.add_argument("--csv", help="also write the table here (default: the leaderboard's ratings.csv)")
    ratings.add_argument("--json", action="store_true", help="print JSON records")
    sliced = ratings.add_mutually_exclusive_group()
    sliced.add_argument("--by", choices=("category",), help="one table per prompt category (#tag or benchmark's)")
    sliced.add_argument("--rater", help="one rater's own ratings (a rater id as in the export), after 30 votes")
    ratings.set_defaults(func=cmd_ratings)

    export = cmds.add_parser("export", help="every vote as .csv or .jsonl")
    export.add_argument("--db", help=db_help)
    export.add_argument("--out", required=True, help="file to write (.csv or .jsonl)")
    export.set_defaults(func=cmd_export)

    session = cmds.add_parser("session", help="rating sessions: create, status, export")
    scmds = session.add_subparsers(dest="session_command", required=True)
    create = scmds.add_parser("create", help="a new session; prints its code")
    create.add_argument("--db", help=db_help)
    create.add_argument("--name", default="rating session")
    create.add_argument("--models", required=True, help="comma-separated registry ids")
    create.add_argument("--prompts", required=True, help="drawbench, parti, or a .txt/.csv/.tsv file of prompts")
    create.add_argument("--limit", type=int, help="only the first N prompts")
    create.add_argument("--pairs", type=int, default=20, help="pairs per rater (default 20)")
    create.add_argument("--task", default=BATTLE_TASKS[0], choices=BATTLE_TASKS)
    create.set_defaults(func=cmd_session_create)

    status = scmds.add_parser("status", help="raters' progress and agreement between raters")
    status.add_argument("code")
    status.add_argument("--db", help=db_help)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_session_status)

    sexport = scmds.add_parser("export", help="per-rater votes and the agreement table as CSV")
    sexport.add_argument("code")
    sexport.add_argument("--db", help=db_help)
    sexport.add_argument("--out", required=True, help="folder for the CSV files")
    sexport.set_defaults(func=cmd_session_export)
