"""`genart eval video VIDEOS [REFERENCE]`: per-video flicker, smoothness and consistency, and FVD between two folders."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

from .cli_common import progress_line
from .tasks.evaluate_video import VideoEvalRequest, evaluate_videos


def cmd_eval_video(args: argparse.Namespace, *, studio_for_args: Callable, finish: Callable) -> int:
    studio = studio_for_args(args)
    request = VideoEvalRequest(args.videos, args.reference)
    return finish(evaluate_videos(studio, request, progress=progress_line), args)


def add_video_parser(metrics, common: Callable, studio_for_args: Callable, finish: Callable) -> None:
    """Register `video` on `genart eval`'s subparsers; `common` adds --json/--out, the other two are cli_eval's own
    studio and printing (passed in, so this module and cli_eval do not import each other)."""
    p = metrics.add_parser(
        "video", help="per-video flicker, smoothness, CLIP/DINO consistency; FVD against a reference"
    )
    p.add_argument("videos", help="a folder of .mp4 videos")
    p.add_argument("reference", nargs="?", help="a second folder of .mp4 videos: FVD between the two sets")
    common(p)
    p.set_defaults(func=functools.partial(cmd_eval_video, studio_for_args=studio_for_args, finish=finish))
