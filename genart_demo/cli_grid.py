"""`genart grid`: an X/Y/Z grid from the command line (the generate options, plus --x, --y and --z axes)."""

from __future__ import annotations

import argparse
import sys

from .cli_common import add_request_options, one_thread_for_standin, progress_line, request_from_args, studio_for
from .tasks.generate import GenerateRequest
from .tasks.grid import GridRequest, run_grid
from .tasks.grid_axes import AXIS_KINDS, Axis

AXIS_HELP = "KIND: VALUES, e.g. 'seed: 1, 2, 3' or 'steps: 10-30 (+10)'; kinds: " + ", ".join(AXIS_KINDS)


def cmd_grid(args: argparse.Namespace) -> int:
    studio = studio_for(args)
    one_thread_for_standin(studio, args.model)
    axes = tuple(Axis.from_text(text) for text in (args.x, args.y, args.z) if text)
    result = run_grid(studio, GridRequest(request_from_args(GenerateRequest, args), axes), progress=progress_line)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"{len(result.made())} cells ({result.encoder_calls} text encodings, {result.shared_encodings} shared) "
        f"in {result.seconds:.1f} s; each cell's PNG is listed in the grid's genart-grid chunk",
        file=sys.stderr,
    )
    print(result.path)
    return 0


def add_grid_parser(sub: argparse._SubParsersAction) -> None:
    text = "an X/Y/Z grid: one text-to-image request swept over 2 or 3 axes; prints the grid PNG's path"
    grid = sub.add_parser("grid", help=text, description=text)
    add_request_options(grid, GenerateRequest, skip=("batch",))
    grid.add_argument("--x", required=True, help=f"the X axis (columns): {AXIS_HELP}")
    grid.add_argument("--y", required=True, help="the Y axis (rows), as --x")
    grid.add_argument("--z", help="an optional Z axis, as --x: one block of rows per value, stacked")
    grid.add_argument("--out", help="output folder (default: GENART_OUTPUT_DIR, else outputs)")
    grid.set_defaults(func=cmd_grid)
