"""The `genart` command line: list the registry, run each task, evaluate, build Spaces and serve the app."""

from __future__ import annotations

import argparse
import ast
import atexit
import contextlib
import dataclasses
import importlib.util
import json
import os
import sys
import threading
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, NoReturn

from .cli_common import add_request_options, one_thread_for_standin, progress_line, request_from_args, studio_for
from .cli_eval import add_eval_parser
from .cli_grid import add_grid_parser
from .cli_spaces import add_spaces_parser
from .errors import InputError, TaskFailed
from .loading import LoadError, offline_capable
from .memory import PLAN_GB, model_plans, plans_table
from .pages import all_pages
from .quiet import silence_library_noise
from .registry import TASKS, Registry
from .safety import FLAGGED_TEXT
from .settings import Settings, SettingsError
from .studio import Studio
from .tasks.generate import GenerateRequest, generate
from .tasks.inpaint import InpaintRequest, inpaint
from .tasks.translate import TranslateRequest, translate
from .tasks.upscale import UpscaleRequest, upscale
from .tasks.video import VideoRequest, generate_video

# Packages built on genart add commands here (the leaderboard and the arena): each entry point is named after the
# command it adds, and its value is a function given the subparsers to add that command to.
PLUGIN_GROUP = "genart.cli"


def models_markdown(specs) -> str:
    """The model table as Markdown (the README's table is this output)."""
    lines = ["| id | model | family | tasks | Hub repo | pipeline | licence |", "|---|---|---|---|---|---|---|"]
    for s in specs:
        lines.append(
            f"| `{s.id}` | {s.name} | {s.family} | {', '.join(s.tasks)} | `{s.repo}` | {s.pipeline} | {s.licence} |"
        )
    return "\n".join(lines)


def cmd_models(args: argparse.Namespace) -> int:
    registry = Registry.load()
    specs = registry.for_tasks([args.task]) if args.task else list(registry)
    rows = [
        {
            "id": s.id,
            "tasks": list(s.tasks),
            "family": s.family,
            "repo": s.repo,
            "pipeline": s.pipeline,
            "licence": s.licence,
            "offline": offline_capable(s),
        }
        for s in specs
    ]
    plans = {}
    if args.json or args.vram:
        print(
            f"Planning the memory of {len(specs)} model(s) from their real configs on the meta device "
            "(about a second each the first time; kept in GENART_CACHE_DIR/memory-plans)…",
            file=sys.stderr,
        )
        plans = model_plans(specs, args.vram or PLAN_GB, Settings.from_env())
    if args.json:
        print(json.dumps([{**row, "memory": plans[row["id"]]} for row in rows], indent=2))
        return 0
    if args.vram:
        print(plans_table(plans))
        return 0
    if args.markdown:
        print(models_markdown(specs))
        return 0
    header = ("id", "tasks", "family", "repo", "offline")
    table = [header] + [
        (r["id"], ",".join(r["tasks"]), r["family"], r["repo"], "yes" if r["offline"] else "no") for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


# Each task command: (request class, task function, help, the files its result wrote).
TASK_COMMANDS: dict[str, tuple[type, Callable[..., Any], str, Callable[[Any], list]]] = {
    "generate": (GenerateRequest, generate, "generate images and write PNGs with their settings", lambda r: r.paths),
    "translate": (
        TranslateRequest,
        translate,
        "image-to-image: img2img, InstructPix2Pix, ControlNet, GAN",
        lambda r: r.paths,
    ),
    "inpaint": (InpaintRequest, inpaint, "repaint the white area of a mask, or outpaint", lambda r: r.paths),
    "upscale": (UpscaleRequest, upscale, "super-resolve with a diffusion or GAN upscaler", lambda r: [r.path]),
    "video": (
        VideoRequest,
        generate_video,
        "text-to-video or image-to-video; writes mp4 (+ .json and .gif)",
        lambda r: [r.mp4, r.mp4.with_suffix(".json"), r.gif],
    ),
}


def cmd_task(args: argparse.Namespace) -> int:
    cls, run, _, written = TASK_COMMANDS[args.command]
    studio = studio_for(args)
    one_thread_for_standin(studio, args.model)
    result = run(studio, request_from_args(cls, args), progress=progress_line)
    for warning in getattr(result, "warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    for note in getattr(result, "notes", []):
        print(f"note: {note}", file=sys.stderr)
    for name, value in (getattr(result, "metrics", None) or {}).items():
        print(f"{name}: {value}", file=sys.stderr)
    paths, settings = written(result), result.settings
    for path, one in zip(paths, settings if isinstance(settings, list) else [settings] * len(paths)):
        print(path)
        if one.nsfw_flagged:
            print(f"warning: {path}: {FLAGGED_TEXT}; {one.model}'s pipeline returned a black image", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .ui.app import serve  # lazy: Gradio takes seconds to import, and only this command needs it

    settings = Settings.from_env()
    given = {"host": args.host, "port": args.port, "share": args.share or None}
    settings = dataclasses.replace(settings, **{k: v for k, v in given.items() if v is not None})
    serve(Studio.create(settings), all_pages())
    return 0


def plugin_help(plugin: EntryPoint) -> str | None:
    """The help line `plugin` gives its command, read without importing it: the text literal passed as `help=` where
    its module calls `add_parser("<entry point name>", ...)`. None where its source does not show one."""
    try:
        source = Path(importlib.util.find_spec(plugin.module).origin).read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (ImportError, AttributeError, TypeError, ValueError, OSError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_parser"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == plugin.name
        ):
            for keyword in node.keywords:
                if keyword.arg == "help" and isinstance(keyword.value, ast.Constant):
                    return keyword.value.value if isinstance(keyword.value.value, str) else None
    return None


def add_plugins(sub: argparse._SubParsersAction, argv: list[str] | None) -> None:
    """Each plugin's command. Only the plugin whose command `argv` runs is loaded (every one when `argv` is None);
    the others are named, and described by their help line when `argv` runs no command (`genart --help`)."""
    command = None if argv is None else next((word for word in argv if not word.startswith("-")), None)
    for plugin in entry_points(group=PLUGIN_GROUP):
        listed = argv is not None and command != plugin.name
        help_line = plugin_help(plugin) if listed and command is None else None
        if listed and (command is not None or help_line is not None):
            sub.add_parser(plugin.name, help=help_line)
        else:
            plugin.load()(sub)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The `genart` parser. Given the command line it will parse, it loads only the plugin that line runs (the arena
    and leaderboard plugins import pandas and SQLAlchemy, half a second); without one it loads every plugin."""
    parser = argparse.ArgumentParser(prog="genart", description="Compare generative image and video models.")
    sub = parser.add_subparsers(dest="command", required=True)

    models = sub.add_parser("models", help="list the model registry")
    models.add_argument("--task", choices=TASKS, help="only models serving this task")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.add_argument("--markdown", action="store_true", help="a Markdown table (as in the README)")
    models.add_argument(
        "--vram",
        type=float,
        metavar="GB",
        help=f"what fits how on a GPU of GB GiB (with --json: its plans; default {PLAN_GB:g})",
    )
    models.set_defaults(func=cmd_models)

    for name, (cls, _, help_text, _) in TASK_COMMANDS.items():
        task = sub.add_parser(name, help=help_text, description=help_text)
        add_request_options(task, cls)
        task.add_argument("--out", help="output folder (default: GENART_OUTPUT_DIR, else outputs)")
        task.set_defaults(func=cmd_task)

    add_grid_parser(sub)
    add_eval_parser(sub)
    add_spaces_parser(sub)
    add_plugins(sub, argv)

    serve_parser = sub.add_parser("serve", help="start the web app with every page (the same as `python app.py`)")
    serve_parser.add_argument("--host", help="address to bind (default: GENART_HOST, else 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port (default: GENART_PORT, else 7860)")
    serve_parser.add_argument("--share", action="store_true", help="ask Gradio for a public link")
    serve_parser.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command `argv` (default: this process's command line) and return its exit code. Run as the process's
    own command line (no `argv`), it ends the process itself when done (see end_process)."""
    silence_library_noise()
    code = run_command(build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv))
    if argv is None:
        end_process(code)
    return code


def run_command(args: argparse.Namespace) -> int:
    """The parsed command's exit code: 2 with one `error:` line for input, settings or loading errors."""
    try:
        return args.func(args)
    except (SettingsError, InputError, LoadError, TaskFailed, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def end_process(code: int) -> NoReturn:
    """Exit with `code` without CPython's teardown of every module: once torch and diffusers are loaded (thousands
    of modules, half a million objects) it takes seconds, to free memory the OS takes back anyway. What exiting must
    still do is done first: the atexit handlers run (logging, temporary folders) and stdout/stderr are flushed. Where
    a non-daemon thread still runs, the ordinary exit waits for it instead."""
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`genart models | head`) or stream
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
