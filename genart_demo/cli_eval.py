"""`genart eval ...`: the evaluate tab's metrics from the command line, printed as a table, optionally as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli_common import progress_line, studio_for
from .cli_eval_video import add_video_parser
from .metrics.scorers import SCORERS
from .tasks.evaluate import SET_EXTRACTORS, SetsRequest, evaluate_sets
from .tasks.evaluate_images import (
    AutoencodeRequest,
    ClipRequest,
    PairRequest,
    evaluate_autoencoders,
    evaluate_clip,
    evaluate_pair,
)
from .tasks.evaluate_scorers import ScoreRequest, evaluate_scorers

SET_COMMANDS = {
    "fid": ("fid",),
    "kid": ("kid",),
    "cmmd": ("cmmd",),
    "is": ("is",),
    "prdc": ("prdc",),
    "sets": ("fid", "kid", "is", "prdc"),
}
PAIR_COMMANDS = {
    "psnr": ("psnr",),
    "ssim": ("ssim",),
    "ms-ssim": ("ms-ssim",),
    "mse": ("mse",),
    "lpips": ("lpips",),
    "pair": ("psnr", "ssim", "ms-ssim", "mse", "lpips"),
}


def _studio(args: argparse.Namespace):
    """A studio for a local user: any folder they can read is allowed (the web app keeps its allowed roots)."""
    return studio_for(args, eval_roots=(Path("/"),))


def format_rows(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        std = f" ± {r['std']:.6g}" if r["std"] is not None else ""
        lines.append(f"{r['metric']:<22} {r['value']:>14.6g}{std:<14}  {r['subject']}")
    return "\n".join(lines)


def format_table(table: dict) -> str:
    """The scorers' per-image table: image, prompt (cut to 40 characters), one column per scorer; "-" for none."""
    lines = ["  ".join(f"{c:<14}" if i != 1 else f"{c:<40}" for i, c in enumerate(table["columns"]))]
    for r in table["rows"]:
        cells = [f"{r[0]:<14}", f"{r[1][:40]:<40}"] + ["-".ljust(14) if v is None else f"{v:<14.6g}" for v in r[2:]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _finish(result, args: argparse.Namespace) -> int:
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(format_table(result.info["table"]) if "table" in result.info else format_rows(result.rows))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": result.rows, "notes": result.notes, "info": result.info}, indent=2, default=str)
        )
    print(f"table: {result.csv_path}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    studio = _studio(args)
    if args.metric in SET_COMMANDS:
        reference, generated = getattr(args, "reference", None), args.generated
        request = SetsRequest(
            reference=reference,
            generated=generated,
            metrics=SET_COMMANDS[args.metric],
            extractor=args.extractor,
            kid_subset_size=args.kid_subset_size,
        )
        return _finish(evaluate_sets(studio, request, progress=progress_line), args)
    if args.metric in PAIR_COMMANDS:
        request = PairRequest(args.image, args.reference, PAIR_COMMANDS[args.metric])
        return _finish(evaluate_pair(studio, request), args)
    if args.metric == "score":
        prompts = Path(args.prompts).read_text() if args.prompts else ""
        request = ScoreRequest(args.images, prompts, args.scorers)
        return _finish(evaluate_scorers(studio, request, progress=progress_line), args)
    if args.metric == "clip":
        prompts = Path(args.prompts).read_text() if args.prompts else ""
        request = ClipRequest(args.images, prompts, args.convention)
        return _finish(evaluate_clip(studio, request, progress=progress_line), args)
    request = AutoencodeRequest(args.image, tuple(args.models))
    return _finish(evaluate_autoencoders(studio, request, progress=progress_line), args)


def add_eval_parser(sub) -> None:
    """Register `genart eval <metric> ...` on the main CLI's subparsers."""
    ev = sub.add_parser(
        "eval",
        help="metrics: FID, KID, CMMD, IS, PRDC, CLIPScore, preference scorers, PSNR, SSIM, LPIPS, autoencoder round trips",
    )
    metrics = ev.add_subparsers(dest="metric", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", help="also write the rows, notes and extractor info to this JSON file")
        p.add_argument("--out", help="output folder for the CSV/JSON record (default: GENART_OUTPUT_DIR, else outputs)")
        p.set_defaults(func=cmd_eval)

    for name, chosen in SET_COMMANDS.items():
        p = metrics.add_parser(
            name,
            help=f"{', '.join(chosen)} of a generated set against a reference set"
            if name != "is"
            else "Inception Score of one set",
        )
        if name != "is":
            p.add_argument("reference", help="the reference (real) images: a folder or .zip")
        p.add_argument("generated", help="the generated images: a folder or .zip")
        p.add_argument("--extractor", default="fid-inception", choices=SET_EXTRACTORS)
        p.add_argument("--kid-subset-size", type=int, default=1000)
        common(p)
    for name, chosen in PAIR_COMMANDS.items():
        p = metrics.add_parser(name, help=f"{', '.join(chosen)} of an image against its reference")
        p.add_argument("image")
        p.add_argument("reference")
        common(p)
    p = metrics.add_parser("clip", help="CLIPScore (and R-precision) of images against their prompts")
    p.add_argument("images", help="folder or .zip of images")
    p.add_argument("--prompts", help="text file, one prompt per line in file-name order (default: PNG settings)")
    p.add_argument("--convention", default="per_sample", choices=("per_sample", "mean"))
    common(p)
    p = metrics.add_parser("score", help="human-preference / alignment scorers of images against their prompts")
    p.add_argument("images", help="folder or .zip of images")
    p.add_argument("--prompts", help="text file, one prompt per line in file-name order (default: PNG settings)")
    p.add_argument(
        "--scorers", default="pickscore", help=f"comma-separated, from: {', '.join(SCORERS)} (default: pickscore)"
    )
    common(p)
    p = metrics.add_parser("autoencode", help="round trip an image through autoencoders from the registry")
    p.add_argument("image")
    p.add_argument("--models", nargs="+", required=True, help="registry ids (genart models --task autoencode)")
    common(p)
    add_video_parser(metrics, common, _studio, _finish)
