"""`genart spaces list|build|push|write`: the deployable Hugging Face Spaces from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .spaces_build import SPACES_DIR, build_space, push_space, write_spaces
from .spaces_table import SPACES


def cmd_list(args: argparse.Namespace) -> int:
    header = ("name", "title", "page", "default model", "hardware")
    table = [header] + [(s.name, s.title, s.page, s.default_model or "-", s.hardware) for s in SPACES.values()]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    out = build_space(args.name, args.out_dir, runs=args.runs)
    for path in sorted(p for p in out.iterdir()):
        print(path)
    print(f"built the {args.name} Space in {out}; try it with `cd {out} && python app.py`", file=sys.stderr)
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    url = push_space(args.name, args.repo, private=True if args.private else None, runs=args.runs)
    print(url)
    return 0


def cmd_write(args: argparse.Namespace) -> int:

    root = Path(args.root) if args.root else SPACES_DIR
    changed = write_spaces(root, check=args.check)
    for path in changed:
        print(path)
    if args.check and changed:
        print(
            f"{len(changed)} Space file(s) differ from what genart generates; run `genart spaces write`.",
            file=sys.stderr,
        )
        return 1
    return 0


def add_spaces_parser(sub) -> None:
    """Register `genart spaces ...` on the main CLI's subparsers."""
    sp = sub.add_parser("spaces", help="the deployable Hugging Face Spaces: list, build a folder, push, regenerate")
    cmds = sp.add_subparsers(dest="spaces_command", required=True)

    p = cmds.add_parser("list", help="the Spaces, with their page, default model and suggested hardware")
    p.set_defaults(func=cmd_list)

    p = cmds.add_parser("build", help="assemble a folder that runs as the Space without installing genart")
    p.add_argument("name", help="a Space name (see `genart spaces list`)")
    p.add_argument("out_dir", metavar="OUT_DIR", help="a new or empty folder")
    p.add_argument("--runs", help="leaderboard runs to bundle (a run folder, or a folder of them)")
    p.set_defaults(func=cmd_build)

    p = cmds.add_parser("push", help="build a Space and upload it to the Hub (HF_TOKEN or `hf auth login`)")
    p.add_argument("name", help="a Space name (see `genart spaces list`)")
    p.add_argument("repo", help="the Space repo, USER/NAME or ORG/NAME (created if missing)")
    p.add_argument("--private", action="store_true", help="create the Space private")
    p.add_argument("--runs", help="leaderboard runs to bundle (a run folder, or a folder of them)")
    p.set_defaults(func=cmd_push)

    p = cmds.add_parser("write", help="regenerate spaces/<name>/ (README.md, app.py, requirements.txt)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file differs")
    p.add_argument("--root", help="folder holding the Space folders (default: the checkout's spaces/)")
    p.set_defaults(func=cmd_write)
