"""The options of a leaderboard run, declared once for `genart leaderboard run` and `python -m leaderboard.runner`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .prompts import prompt_set_names

ProgressFn = Callable[[int, int, str], None]


def seeds_list(text: str) -> list[int]:
    """ "0,1,2" -> [0, 1, 2]; anything else is refused with an example."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of whole numbers, e.g. 0,1,2"
        ) from exc


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """What a run is made of: models x prompts x seeds, the prompt cut, steps, batching, and its folder."""
    parser.add_argument("--models", required=True, help="comma-separated registry ids (text-to-image)")
    parser.add_argument(
        "--prompts",
        required=True,
        help=f"a named set ({', '.join(prompt_set_names())}) or a .txt/.csv/.tsv file of prompts",
    )
    parser.add_argument("--seeds", type=seeds_list, default=[0], help="comma-separated seeds (default 0)")
    parser.add_argument("--limit", type=int, help="only the first N prompts")
    parser.add_argument("--sample", type=int, help="a stratified sample of N prompts (by category)")
    parser.add_argument("--categories", help="comma-separated categories (the skills of skill-tagged sets) to keep")
    parser.add_argument("--challenges", help="comma-separated challenges to keep (PartiPrompts)")
    parser.add_argument("--steps", type=int, help="override every model's default steps")
    parser.add_argument("--batch-size", type=int, default=4, help="images per pipeline call (default 4)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="reuse a run directory made with other settings "
        "(its old images and manifest are moved aside, never mixed)",
    )
    parser.add_argument("--out", required=True, help="run directory")


def run_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of leaderboard.runner.run_from_args that the options give."""
    return {
        "run_dir": Path(args.out),
        "prompts": args.prompts,
        "models": args.models,
        "seeds": args.seeds,
        "limit": args.limit,
        "batch_size": args.batch_size,
        "force": args.force,
        "steps": args.steps,
        "categories": args.categories,
        "challenges": args.challenges,
        "sample": args.sample,
    }


def stats_text(stats: Any, out: str) -> str:
    """One line saying what a run did (a leaderboard.runner.RunStats)."""
    flagged = ", ".join(f"{model} {n}" for model, n in stats.flagged.items())
    return (
        f"generated {stats.generated}, already done {stats.skipped}, regenerated {len(stats.repaired)} "
        f"in {stats.seconds:.1f} s -> {out}"
        + (f"; flagged by safety checkers, left out of scores and battles: {flagged}" if flagged else "")
    )


def tqdm_progress() -> ProgressFn:
    """A tqdm bar (with ETA) as a progress(done, total, desc) callback; a new bar starts when the total changes."""
    state: dict = {}

    def progress(done: int, total: int, desc: str) -> None:
        bar = state.get("bar")
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = state["bar"] = tqdm(total=total, unit="img", file=sys.stderr, dynamic_ncols=True)
        bar.set_description(desc, refresh=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            state.pop("bar")

    return progress
