"""What a leaderboard run is: its configuration (run.json), checked against the registry, and how it differs from
the run already on disk."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genart_demo import __version__
from genart_demo.errors import InputError
from genart_demo.registry import UnknownModelError
from genart_demo.settings import MAX_SEED
from genart_demo.studio import Studio
from genart_demo.tasks.generate import GenerateRequest, checked_settings

from . import manifest as mf
from .prompts import PromptItem, PromptSet

TASK = "text-to-image"  # the only task a leaderboard run generates
SETTING_KEYS = ("steps", "guidance", "width", "height", "scheduler")  # per model, in run.json and every row
MAX_BATCH_SIZE = 64  # images per pipeline call
SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # prompt ids become file names


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
            raise InputError(
                f"{model_id} is not a text-to-image model (it serves {', '.join(spec.tasks)}). "
                f"Text-to-image models: {', '.join(usable)}."
            )
        specs.append(spec)
    return specs


def plan_run(
    studio: Studio,
    prompt_set: PromptSet,
    model_ids: Sequence[str],
    seeds: Iterable[int],
    batch_size: int = 4,
    *,
    steps: int | None = None,
) -> RunConfig:
    """The run's configuration, checked: text-to-image models, distinct seeds, each model's settings as the
    studio runs them (registry defaults; stand-in sizes offline), `steps` overriding every model's default."""
    if not prompt_set.items:
        raise InputError(f"Prompt set {prompt_set.name!r} has no prompts.")
    ids = [item.id for item in prompt_set.items]
    bad = [pid for pid in ids if not SAFE_ID.fullmatch(pid)] + sorted({pid for pid in ids if ids.count(pid) > 1})
    if bad:
        raise InputError(
            f"Prompt ids name image files, so they must be distinct and use only letters, digits, "
            f"'.', '_' and '-'; bad or repeated: {', '.join(map(repr, bad[:5]))}."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InputError(f"Batch size must be a whole number from 1 to {MAX_BATCH_SIZE}; got {batch_size!r}.")
    specs = _check_models(studio, model_ids)
    seeds = _check_seeds(seeds)
    models, settings = [], {}
    for spec in specs:
        resolved = checked_settings(studio, GenerateRequest(model=spec.id, prompt="-", steps=steps))
        settings[spec.id] = {k: getattr(resolved, k) for k in SETTING_KEYS}
        models.append(
            {
                "id": spec.id,
                "repo": spec.repo,
                "revision": spec.revision,
                "pipeline": spec.pipeline,
                "standin": studio.runs_standin(spec),
            }
        )
    return RunConfig(
        prompt_set.name, prompt_set.sha256, tuple(prompt_set.items), tuple(models), seeds, settings, batch_size
    )


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two run.json configurations, in words."""
    out = []
    if (old.get("prompt_set"), old.get("prompt_sha256"), old.get("prompt_ids")) != (
        new["prompt_set"],
        new["prompt_sha256"],
        new["prompt_ids"],
    ):
        out.append(
            f"prompt set {old.get('prompt_set')!r} ({len(old.get('prompt_ids') or [])} prompts, file sha256 "
            f"{str(old.get('prompt_sha256'))[:12]}) vs {new['prompt_set']!r} ({len(new['prompt_ids'])} "
            f"prompts, {new['prompt_sha256'][:12]})"
        )
    if old.get("models") != new["models"]:

        def names(ms):
            return ", ".join(
                f"{m.get('id')}{' (stand-in)' if m.get('standin') else ''}@{m.get('revision')}" for m in ms or []
            )

        out.append(f"models [{names(old.get('models'))}] vs [{names(new['models'])}]")
    if old.get("seeds") != new["seeds"]:
        out.append(f"seeds {old.get('seeds')} vs {new['seeds']}")
    old_settings = old.get("settings") or {}
    changed = [
        f"{mid} {k} {old_settings[mid].get(k)!r} -> {s[k]!r}"
        for mid, s in new["settings"].items()
        if mid in old_settings
        for k in s
        if old_settings[mid].get(k) != s[k]
    ]
    if changed:
        out.append(f"settings ({'; '.join(changed)})")
    if old.get("batch_size") != new["batch_size"]:
        out.append(f"batch size {old.get('batch_size')} vs {new['batch_size']}")
    if old.get("format") != new["format"]:
        out.append(f"run format {old.get('format')} vs {new['format']}")
    return out or ["configuration hash"]


def config_problem(run_dir: Path, config: RunConfig) -> str:
    """ "" when `run_dir` is new or holds this very configuration; else why it cannot be resumed."""
    old = mf.read_run_json(run_dir)
    if old is None:
        leftovers = [n for n in (mf.MANIFEST_FILE, mf.SHARD_DIR, mf.IMAGES_DIR) if (Path(run_dir) / n).exists()]
        return (
            (
                f"{run_dir} holds {', '.join(leftovers)} but no {mf.RUN_FILE}, so its images cannot be matched "
                "to this configuration"
            )
            if leftovers
            else ""
        )
    if old.get("config_hash") == config.config_hash:
        return ""
    return f"{run_dir} holds a run with another configuration: {'; '.join(_differences(old, config.hashed()))}"
