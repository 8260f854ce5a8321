"""The leaderboard runner: models x prompts x seeds -> PNGs + manifest, batched, resumable, one shard per process."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from genart_demo.atomic import atomic_write
from genart_demo.errors import InputError
from genart_demo.media import save_png
from genart_demo.settings import Settings
from genart_demo.studio import Studio
from genart_demo.tasks.generate import GenerateRequest, generate_many

from . import manifest as mf
from .flagged import flagged_counts, row_flagged
from .plan import RunConfig, config_problem, plan_run
from .prompts import PromptItem, load_prompt_set
from .run_options import add_run_options, run_arguments, stats_text, tqdm_progress

log = logging.getLogger("genart.leaderboard")

ProgressFn = Callable[[int, int, str], None]  # progress(done, total, description), after every batch


@dataclass
class RunStats:
    generated: int = 0  # images written by this process
    skipped: int = 0  # images of this process's share already done (file present, sha256 matching)
    repaired: list[str] = field(default_factory=list)  # "<path>: file missing" / "<path>: sha256 differs", regenerated
    seconds: float = 0.0  # wall time of run()
    flagged: dict[str, int] = field(default_factory=dict)  # model -> images of this share its safety checker flagged


def move_aside(run_dir: Path) -> Path:
    """Move the old run's files into RUN/.replaced-<timestamp>/ (nothing deleted, nothing mixed)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest, n = Path(run_dir) / f".replaced-{stamp}", 1
    while dest.exists():
        dest, n = Path(run_dir) / f".replaced-{stamp}-{n}", n + 1
    dest.mkdir()
    for name in mf.RUN_ENTRIES:
        if (Path(run_dir) / name).exists():
            os.replace(Path(run_dir) / name, dest / name)
    return dest


def process_rank(settings: Settings) -> tuple[int, int]:
    """(rank, world): from accelerate's PartialState under `accelerate launch` / torchrun (settings.world_size > 1),
    else (0, 1)."""
    if settings.world_size > 1:
        import torch  # lazy: seconds to import; a one-process run needs it only once a model loads
        from accelerate import PartialState  # lazy: only under a distributed launch

        state = PartialState(cpu=not torch.cuda.is_available())  # no GPU: gloo on CPU
        if torch.cuda.is_available():
            torch.cuda.set_device(state.local_process_index % torch.cuda.device_count())  # "cuda" = this process's GPU
        return state.process_index, state.num_processes
    if settings.accelerate_cpu:
        log.warning(
            "`accelerate launch --cpu --num_processes N` starts ONE process unless MPI (--mpirun_hostfile) "
            "is set up; this process does all the work. For N CPU processes use `accelerate launch "
            "--multi_gpu --num_processes N -m leaderboard.runner ...` (torchrun; gloo on CPU)."
        )
    return 0, 1


def _barrier(world: int, settings: Settings) -> None:
    """Wait for every process of a distributed launch. Ranks given by hand outside one (e.g. a job array) do
    not wait: each writes its own shard, and `merge` (or a last rank-0 run) joins them when all are done."""
    if world > 1 and settings.world_size > 1:
        from accelerate import PartialState  # lazy: only under a distributed launch

        PartialState().wait_for_everyone()


def _row(
    config: RunConfig,
    model: Mapping[str, Any],
    item: PromptItem,
    seed: int,
    rel: str,
    digest: str,
    seconds: float,
    width: int,
    height: int,
    nsfw_flagged: bool | None,
) -> dict:
    return {
        "model": model["id"],
        "revision": model["revision"],
        "pipeline": model["pipeline"],
        "standin": model["standin"],
        "prompt_id": item.id,
        "prompt": item.text,
        "category": item.category,
        "challenge": item.challenge,
        "seed": seed,
        "settings": dict(config.settings[model["id"]]),
        "path": rel,
        "sha256": digest,
        "seconds": seconds,
        "width": width,
        "height": height,
        "nsfw_flagged": nsfw_flagged,
    }


def run(
    studio: Studio,
    run_dir: Path,
    config: RunConfig,
    *,
    force: bool = False,
    progress: ProgressFn | None = None,
    rank: int | None = None,
    world: int | None = None,
) -> RunStats:
    """Generate this process's share of the run's missing images; on rank 0, merge the shards at the end.

    Resumable: an image counts as done only when its manifest row's file exists with a matching sha256; an
    image is written (atomically) before its row, and a batch's rows are fsynced together, so a kill loses at
    most the batch in flight. A batch with some images missing is re-run whole (the same batch as before, so
    the same pixels) and only the missing images are written."""
    started = time.perf_counter()
    if rank is None or world is None:
        rank, world = process_rank(studio.settings)
    run_dir = Path(run_dir)
    problem = config_problem(run_dir, config)  # every process checks before any of them writes
    if problem and not force:
        raise InputError(
            f"{problem}. Use another output directory, or --force to move the old run into "
            f"{run_dir}/.replaced-<timestamp>/ and start over."
        )
    _barrier(world, studio.settings)
    if rank == 0:
        if problem:
            log.warning("%s; moved it aside into %s", problem, move_aside(run_dir))
        for stray in (run_dir / mf.IMAGES_DIR).glob("*/*.part"):  # temp files of images cut short by a kill
            stray.unlink(missing_ok=True)
        if mf.read_run_json(run_dir) is None:
            mf.write_jsonl_atomic(run_dir / mf.PROMPTS_FILE, (item.as_dict() for item in config.items))
            atomic_write(run_dir / mf.RUN_FILE, json.dumps(config.run_json(), indent=1, ensure_ascii=False) + "\n")
        elif not (run_dir / mf.PROMPTS_FILE).is_file():
            mf.write_jsonl_atomic(run_dir / mf.PROMPTS_FILE, (item.as_dict() for item in config.items))
    _barrier(world, studio.settings)

    valid, broken = mf.check_rows(run_dir, mf.read_rows(run_dir))
    _barrier(world, studio.settings)  # every process has read the rows before any appends new ones
    stats = RunStats()
    todo, done_rows = [], []
    for k, (model_id, pairs) in enumerate(config.batches()):
        if k % world != rank:
            continue
        keys = [(model_id, item.id, seed) for item, seed in pairs]
        missing = {key for key in keys if key not in valid}
        stats.skipped += len(keys) - len(missing)
        done_rows += [valid[key] for key in keys if key not in missing]
        stats.repaired += [broken[key] for key in keys if key in broken]
        if missing:
            todo.append((model_id, pairs, missing))
    for message in stats.repaired:
        log.warning("regenerating %s", message)
    total = sum(len(missing) for _, _, missing in todo)
    models = {m["id"]: m for m in config.models}
    if progress is not None:
        progress(0, total, "generating")
    with mf.ShardWriter(run_dir, rank) as shard:
        for model_id, pairs, missing in todo:
            rows = _run_batch(studio, run_dir, config, models[model_id], pairs, missing, shard)
            stats.generated += len(rows)
            done_rows += rows
            if progress is not None:
                progress(stats.generated, total, model_id)
    stats.flagged = flagged_counts(row for row in done_rows if row_flagged(row))
    _barrier(world, studio.settings)
    if rank == 0:
        mf.merge(run_dir)
    stats.seconds = time.perf_counter() - started
    return stats


def _run_batch(
    studio: Studio,
    run_dir: Path,
    config: RunConfig,
    model: Mapping[str, Any],
    pairs: Sequence[tuple[PromptItem, int]],
    missing: set,
    shard: mf.ShardWriter,
) -> list[dict]:
    """One pipeline call for the batch; saves the missing images, then appends (and fsyncs) their rows (returned)."""
    s = config.settings[model["id"]]
    requests = [
        GenerateRequest(
            model=model["id"],
            prompt=item.text,
            seed=seed,
            steps=s["steps"],
            guidance=s["guidance"],
            width=s["width"],
            height=s["height"],
            scheduler=s["scheduler"],
        )
        for item, seed in pairs
    ]
    result = generate_many(studio, requests)
    seconds = result.seconds / len(pairs)  # per image: the batch's wall time over its size
    rows = []
    for (item, seed), image, settings in zip(pairs, result.images, result.settings):
        if (model["id"], item.id, seed) not in missing:
            continue
        rel = mf.image_relpath(model["id"], item.id, seed)
        save_png(image, run_dir / rel, replace(settings, extra={"prompt_id": item.id}))  # atomic
        digest = mf.sha256_file(run_dir / rel)
        rows.append(
            _row(config, model, item, seed, rel, digest, seconds, image.width, image.height, settings.nsfw_flagged)
        )
    shard.append(rows)
    return rows


def _names(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [p.strip() for p in parts if p and p.strip()] or None


def run_from_args(
    run_dir: Path,
    prompts: str,
    models: str | Sequence[str],
    seeds: Sequence[int] = (0,),
    limit: int | None = None,
    batch_size: int = 4,
    force: bool = False,
    *,
    steps: int | None = None,
    categories: str | Sequence[str] | None = None,
    challenges: str | Sequence[str] | None = None,
    sample: int | None = None,
    progress: ProgressFn | None = None,
    studio: Studio | None = None,
    rank: int | None = None,
    world: int | None = None,
) -> RunStats:
    """What `genart leaderboard run` and `python -m leaderboard.runner` do: load and cut the prompt set
    (categories / challenges, then a stratified sample, then the first `limit`), plan, run."""
    studio = studio or Studio.create()
    prompt_set = load_prompt_set(prompts, online=not studio.offline)
    if _names(categories) or _names(challenges):
        prompt_set = prompt_set.subset(categories=_names(categories), challenges=_names(challenges))
    if sample is not None:
        prompt_set = prompt_set.stratified(sample)
    if limit is not None:
        prompt_set = prompt_set.limit(limit)
    model_ids = _names(models) or []
    config = plan_run(studio, prompt_set, model_ids, seeds, batch_size, steps=steps)
    return run(studio, Path(run_dir), config, force=force, progress=progress, rank=rank, world=world)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m leaderboard.runner` (also under `accelerate launch ... -m leaderboard.runner`): the options of
    `genart leaderboard run`, plus --threads; each process runs its share and prints what it did."""
    parser = argparse.ArgumentParser(prog="python -m leaderboard.runner", description=__doc__)
    add_run_options(parser)
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads per process (default: torch's; torchrun sets 1). "
        "On CPU the thread count can move a pixel by one level: compare runs made with the same count.",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:
        import torch  # lazy: seconds to import; set before any model loads

        torch.set_num_threads(args.threads)
    try:
        studio = Studio.create()
        rank, world = process_rank(studio.settings)
        stats = run_from_args(
            **run_arguments(args),
            progress=tqdm_progress() if rank == 0 else None,
            studio=studio,
            rank=rank,
            world=world,
        )
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"[rank {rank}/{world}] {stats_text(stats, args.out)}", flush=True)
    return 0


if __name__ == "__main__":  # `python -m leaderboard.runner ...`, also under `accelerate launch`
    sys.exit(main())
