"""The leaderboard runner: models x prompts x seeds -> PNGs + manifest, batched, resumable, one shard per process."""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from genart_demo import __version__
from genart_demo.atomic import atomic_write
from genart_demo.errors import InputError
from genart_demo.media import save_png
from genart_demo.registry import UnknownModelError
from genart_demo.settings import MAX_SEED, Settings
from genart_demo.studio import Studio
from genart_demo.tasks.generate import GenerateRequest, checked_settings, generate_many

from . import manifest as mf
from .manifest import merge, read_manifest  # noqa: F401  (re-exported: the runner's public API)
from .prompts import PromptItem, PromptSet, load_prompt_set
from .run_options import add_run_options, run_arguments, stats_text, tqdm_progress

log = logging.getLogger("genart.leaderboard")

TASK = "text-to-image"  # the only task a leaderboard run generates
SETTING_KEYS = ("steps", "guidance", "width", "height", "scheduler")  # per model, in run.json and every row
MAX_BATCH_SIZE = 64  # images per pipeline call
SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # prompt ids become file names
ProgressFn = Callable[[int, int, str], None]  # progress(done, total, description), after every batch


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's images; run.json is its JSON form and config_hash names it."""

    prompt_set: str  # PromptSet.name
    prompt_sha256: str  # of the prompt file's bytes
    items: tuple[PromptItem, ...]  # the prompts, in file order (after subset / sample / limit)
    models: tuple[dict, ...]  # {"id", "repo", "revision", "pipeline", "standin"} per model, in the order given
    seeds: tuple[int, ...]
    settings: dict  # model id -> {steps, guidance, width, height, scheduler}
    batch_size: int  # images per pipeline call; part of the config since batching can move a pixel by one level

    def hashed(self) -> dict:
        """run.json without the genart version and the hash itself: what config_hash is taken over."""
        return {
            "format": mf.RUN_FORMAT,
            "prompt_set": self.prompt_set,
            "prompt_sha256": self.prompt_sha256,
            "prompt_ids": [item.id for item in self.items],
            "models": [dict(m) for m in self.models],
            "seeds": list(self.seeds),
            "settings": {mid: dict(s) for mid, s in self.settings.items()},
            "batch_size": self.batch_size,
        }

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(mf.canonical_json(self.hashed()).encode("utf-8")).hexdigest()

    def run_json(self) -> dict:
        return {**self.hashed(), "genart": __version__, "config_hash": self.config_hash}

    def batches(self) -> list[tuple[str, tuple[tuple[PromptItem, int], ...]]]:
        """The fixed work units: per model, prompts in file order x seeds, cut into batch_size chunks.
        They do not depend on the number of processes; batch k goes to process k % world."""
        out = []
        for model in self.models:
            pairs = [(item, seed) for item in self.items for seed in self.seeds]
            out += [(model["id"], tuple(pairs[i : i + self.batch_size])) for i in range(0, len(pairs), self.batch_size)]
        return out


@dataclass
class RunStats:
    generated: int = 0  # images written by this process
    skipped: int = 0  # images of this process's share already done (file present, sha256 matching)
    repaired: list[str] = field(default_factory=list)  # "<path>: file missing" / "<path>: sha256 differs", regenerated
    seconds: float = 0.0  # wall time of run()


def _check_seeds(seeds: Iterable[Any]) -> tuple[int, ...]:
    seeds = tuple(seeds)
    if not seeds:
        raise InputError("No seeds given: pass at least one, e.g. --seeds 0 or --seeds 0,1,2.")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise InputError(f"Seed {seed!r} is not allowed: seeds are whole numbers 0..{MAX_SEED}.")
    dupes = sorted({s for s in seeds if seeds.count(s) > 1})
    if dupes:
        raise InputError(f"Seeds must be distinct; repeated: {', '.join(map(str, dupes))}.")
    return seeds


def _check_models(studio: Studio, model_ids: Sequence[str]) -> list:
    usable = [s.id for s in studio.registry.for_tasks((TASK,))]
    ids = [m.strip() for m in model_ids if m and m.strip()]
    if not ids:
        raise InputError(f"No models given. Text-to-image models: {', '.join(usable)}.")
    dupes = sorted({m for m in ids if ids.count(m) > 1})
    if dupes:
        raise InputError(f"Models must be distinct; repeated: {', '.join(dupes)}.")
    specs = []
    for model_id in ids:
        try:
            spec = studio.spec(model_id)
        except UnknownModelError:
            raise InputError(f"Unknown model {model_id!r}. Text-to-image models: {', '.join(usable)}.") from None
        if TASK not in spec.tasks:
            raise InputError(f"{model_id} is not a text-to-image model (it serves {', '.join(spec.tasks)}). "
                             f"Text-to-image models: {', '.join(usable)}.")
        specs.append(spec)
    return specs


def plan_run(studio: Studio, prompt_set: PromptSet, model_ids: Sequence[str], seeds: Iterable[int],
             batch_size: int = 4, *, steps: int | None = None) -> RunConfig:
    """The run's configuration, checked: text-to-image models, distinct seeds, each model's settings as the
    studio runs them (registry defaults; stand-in sizes offline), `steps` overriding every model's default."""
    if not prompt_set.items:
        raise InputError(f"Prompt set {prompt_set.name!r} has no prompts.")
    ids = [item.id for item in prompt_set.items]
    bad = [pid for pid in ids if not SAFE_ID.fullmatch(pid)] + sorted({pid for pid in ids if ids.count(pid) > 1})
    if bad:
        raise InputError(f"Prompt ids name image files, so they must be distinct and use only letters, digits, "
                         f"'.', '_' and '-'; bad or repeated: {', '.join(map(repr, bad[:5]))}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(f"Batch size must be a whole number from 1 to {MAX_BATCH_SIZE}; got {batch_size!r}.")
    specs = _check_models(studio, model_ids)
    seeds = _check_seeds(seeds)
    models, settings = [], {}
    for spec in specs:
        resolved = checked_settings(studio, GenerateRequest(model=spec.id, prompt="-", steps=steps))
        settings[spec.id] = {k: getattr(resolved, k) for k in SETTING_KEYS}
        models.append({"id": spec.id, "repo": spec.repo, "revision": spec.revision, "pipeline": spec.pipeline,
                       "standin": studio.offline})
    return RunConfig(prompt_set.name, prompt_set.sha256, tuple(prompt_set.items), tuple(models), seeds, settings,
                     batch_size)


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two run.json configurations, in words."""
    out = []
    if (old.get("prompt_set"), old.get("prompt_sha256"), old.get("prompt_ids")) != (
            new["prompt_set"], new["prompt_sha256"], new["prompt_ids"]):
        out.append(f"prompt set {old.get('prompt_set')!r} ({len(old.get('prompt_ids') or [])} prompts, file sha256 "
                   f"{str(old.get('prompt_sha256'))[:12]}) vs {new['prompt_set']!r} ({len(new['prompt_ids'])} "
                   f"prompts, {new['prompt_sha256'][:12]})")
    if old.get("models") != new["models"]:
        def names(ms):
            return ", ".join(f"{m.get('id')}{' (stand-in)' if m.get('standin') else ''}@{m.get('revision')}" for m in ms or [])
        out.append(f"models [{names(old.get('models'))}] vs [{names(new['models'])}]")
    if old.get("seeds") != new["seeds"]:
        out.append(f"seeds {old.get('seeds')} vs {new['seeds']}")
    old_settings = old.get("settings") or {}
    changed = [f"{mid} {k} {old_settings[mid].get(k)!r} -> {s[k]!r}" for mid, s in new["settings"].items()
               if mid in old_settings for k in s if old_settings[mid].get(k) != s[k]]
    if changed:
        out.append(f"settings ({'; '.join(changed)})")
    if old.get("batch_size") != new["batch_size"]:
        out.append(f"batch size {old.get('batch_size')} vs {new['batch_size']}")
    if old.get("format") != new["format"]:
        out.append(f"run format {old.get('format')} vs {new['format']}")
    return out or ["configuration hash"]


def config_problem(run_dir: Path, config: RunConfig) -> str:
    """"" when `run_dir` is new or holds this very configuration; else why it cannot be resumed."""
    old = mf.read_run_json(run_dir)
    if old is None:
        leftovers = [n for n in (mf.MANIFEST_FILE, mf.SHARD_DIR, mf.IMAGES_DIR) if (Path(run_dir) / n).exists()]
        return (f"{run_dir} holds {', '.join(leftovers)} but no {mf.RUN_FILE}, so its images cannot be matched "
                "to this configuration") if leftovers else ""
    if old.get("config_hash") == config.config_hash:
        return ""
    return f"{run_dir} holds a run with another configuration: {'; '.join(_differences(old, config.hashed()))}"


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
        log.warning("`accelerate launch --cpu --num_processes N` starts ONE process unless MPI (--mpirun_hostfile) "
                    "is set up; this process does all the work. For N CPU processes use `accelerate launch "
                    "--multi_gpu --num_processes N -m leaderboard.runner ...` (torchrun; gloo on CPU).")
    return 0, 1


def _barrier(world: int, settings: Settings) -> None:
    """Wait for every process of a distributed launch. Ranks given by hand outside one (e.g. a job array) do
    not wait: each writes its own shard, and `merge` (or a last rank-0 run) joins them when all are done."""
    if world > 1 and settings.world_size > 1:
        from accelerate import PartialState  # lazy: only under a distributed launch

        PartialState().wait_for_everyone()


def _row(config: RunConfig, model: Mapping[str, Any], item: PromptItem, seed: int, rel: str, digest: str,
         seconds: float, width: int, height: int) -> dict:
    return {"model": model["id"], "revision": model["revision"], "pipeline": model["pipeline"],
            "standin": model["standin"], "prompt_id": item.id, "prompt": item.text, "category": item.category,
            "challenge": item.challenge, "seed": seed, "settings": dict(config.settings[model["id"]]), "path": rel,
            "sha256": digest, "seconds": seconds, "width": width, "height": height}


def run(studio: Studio, run_dir: Path, config: RunConfig, *, force: bool = False, progress: ProgressFn | None = None,
        rank: int | None = None, world: int | None = None) -> RunStats:
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
        raise InputError(f"{problem}. Use another output directory, or --force to move the old run into "
                         f"{run_dir}/.replaced-<timestamp>/ and start over.")
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
    todo = []
    for k, (model_id, pairs) in enumerate(config.batches()):
        if k % world != rank:
            continue
        keys = [(model_id, item.id, seed) for item, seed in pairs]
        missing = {key for key in keys if key not in valid}
        stats.skipped += len(keys) - len(missing)
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
            stats.generated += _run_batch(studio, run_dir, config, models[model_id], pairs, missing, shard)
            if progress is not None:
                progress(stats.generated, total, model_id)
    _barrier(world, studio.settings)
    if rank == 0:
        mf.merge(run_dir)
    stats.seconds = time.perf_counter() - started
    return stats


def _run_batch(studio: Studio, run_dir: Path, config: RunConfig, model: Mapping[str, Any],
               pairs: Sequence[tuple[PromptItem, int]], missing: set, shard: mf.ShardWriter) -> int:
    """One pipeline call for the batch; saves the missing images, then appends (and fsyncs) their rows."""
    s = config.settings[model["id"]]
    requests = [GenerateRequest(model=model["id"], prompt=item.text, seed=seed, steps=s["steps"],
                                guidance=s["guidance"], width=s["width"], height=s["height"],
                                scheduler=s["scheduler"]) for item, seed in pairs]
    result = generate_many(studio, requests)
    seconds = result.seconds / len(pairs)  # per image: the batch's wall time over its size
    rows = []
    for (item, seed), image, settings in zip(pairs, result.images, result.settings):
        if (model["id"], item.id, seed) not in missing:
            continue
        rel = mf.image_relpath(model["id"], item.id, seed)
        save_png(image, run_dir / rel, replace(settings, extra={"prompt_id": item.id}))  # atomic
        rows.append(_row(config, model, item, seed, rel, mf.sha256_file(run_dir / rel), seconds,
                         image.width, image.height))
    shard.append(rows)
    return len(rows)


def _names(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [p.strip() for p in parts if p and p.strip()] or None


def run_from_args(run_dir: Path, prompts: str, models: str | Sequence[str], seeds: Sequence[int] = (0,),
                  limit: int | None = None, batch_size: int = 4, force: bool = False, *, steps: int | None = None,
                  categories: str | Sequence[str] | None = None, challenges: str | Sequence[str] | None = None,
                  sample: int | None = None, progress: ProgressFn | None = None, studio: Studio | None = None,
                  rank: int | None = None, world: int | None = None) -> RunStats:
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
    parser.add_argument("--threads", type=int, help="torch CPU threads per process (default: torch's; torchrun sets 1). "
                        "On CPU the thread count can move a pixel by one level: compare runs made with the same count.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:
        import torch  # lazy: seconds to import; set before any model loads

        torch.set_num_threads(args.threads)
    try:
        studio = Studio.create()
        rank, world = process_rank(studio.settings)
        stats = run_from_args(**run_arguments(args), progress=tqdm_progress() if rank == 0 else None, studio=studio,
                              rank=rank, world=world)
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"[rank {rank}/{world}] {stats_text(stats, args.out)}", flush=True)
    return 0


if __name__ == "__main__":  # `python -m leaderboard.runner ...`, also under `accelerate launch`
    sys.exit(main())
