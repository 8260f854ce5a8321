"""Leaderboard scoring of a run folder: per-image CLIPScore, per-prompt and per-group tables with bootstrap CIs, FID/KID.

Conventions (also written to RUN/scores/scores.json):

- **CLIPScore** is genart_demo.metrics.clip's `per_sample` convention: 100·max(cos, 0) for each image, then means.
- **Other metrics** (`metrics=`, keys of genart_demo.metrics.scorers.SCORERS: PickScore, VQAScore, GenEval, ...):
  one per-image column each plus `<metric>_id`, cached per image, scorer id and prompt (leaderboard.scoring_metrics);
  per prompt the mean over seeds, per group the mean over prompts with its CI in `<metric>_lo` / `<metric>_hi`
  (the same bootstrap and seed as CLIPScore's, so the intervals of every metric resample the same prompts).
- **Per prompt** (per model): the mean and the max of the images' CLIPScores over seeds.
- **Per group** (a model overall, or within one category / challenge): `clip_score` = the mean over the group's
  prompts of the per-prompt means (= the mean over images when all prompts have the same seeds); `clip_max` = the
  mean of the per-prompt maxima. Its 95% CI is a percentile bootstrap over prompts: `bootstrap` resamples of the
  group's prompts with replacement (numpy default_rng(seed)); CI = the 2.5% and 97.5% quantiles of the resampled
  means. Every group uses the same seed, so models scored on the same prompts share the resampled prompt indices
  (common random numbers). One prompt gives a zero-width CI; bootstrap=0 gives NaN.
- **FID / KID** against a reference folder, or between models: leaderboard.scoring_fid.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from genart_demo import __version__
from genart_demo.atomic import atomic_write
from genart_demo.errors import InputError

from . import tables as tb
from .aggregate import CONFIDENCE, aggregate_table, per_prompt_table
from .features import CLIP_CONVENTION, clip_scores, describe_clip, expected_clip_info
from .flagged import flagged_counts, flagged_notes, split_flagged, with_flagged_column
from .manifest import read_run_json
from .scoring_fid import KID_OPTIONS, fid_tables
from .scoring_metrics import DEFAULT_METRICS, check_metrics, image_columns, score_metrics

IMAGE_COLUMNS = (
    "model",
    "prompt_id",
    "seed",
    "category",
    "challenge",
    "prompt",
    "path",
    "sha256",
    "width",
    "height",
    "seconds",
    "standin",
    "clip_score",
    "truncated",
    "clip_id",
)
ProgressFn = Callable[[int, int, str], None]


# ---------------------------------------------------------------- the run


@dataclass
class ScoreResult:
    """What score_run computed and wrote."""

    run_dir: Path
    tables: dict[str, pd.DataFrame]  # per_image, per_prompt, overall, by_category, by_challenge[, fid, fid_matrix]
    info: dict[str, Any]  # the contents of scores.json: what produced the numbers
    notes: list[str] = field(default_factory=list)  # what people should be told (skipped files, cut prompts, ...)
    skipped: list[dict] = field(default_factory=list)  # manifest rows not scored: model, prompt_id, seed, path, reason
    scored: int = 0  # images CLIP-scored by this call
    reused: int = 0  # images whose CLIPScore came from the per_image.csv cache
    paths: list[Path] = field(default_factory=list)  # files written
    metric_images: dict[str, dict] = field(default_factory=dict)  # scorer metric -> {"scored": n, "reused": k}


def _image_record(row: dict, prompts: dict[str, dict]) -> dict:
    prompt = prompts.get(str(row["prompt_id"]), {})
    return {
        "model": str(row["model"]),
        "prompt_id": str(row["prompt_id"]),
        "seed": int(row["seed"]),
        "category": str(row.get("category", prompt.get("category", "")) or ""),
        "challenge": str(row.get("challenge", prompt.get("challenge", "")) or ""),
        "prompt": str(row.get("prompt", prompt.get("text", ""))),
        "path": str(row["path"]),
        "sha256": str(row["sha256"]),
        "width": row.get("width"),
        "height": row.get("height"),
        "seconds": float(row["seconds"]) if row.get("seconds") is not None else float("nan"),
        "standin": bool(row.get("standin", False)),
    }


def _previous_info(out_dir: Path) -> dict:
    """The last scores.json of this run, or {} when there is none or it cannot be read."""
    try:
        info = json.loads((out_dir / "scores.json").read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _cached_scores(path: Path) -> dict[tuple, dict]:
    if not path.is_file():
        return {}
    try:
        old = tb.read_csv_table(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return {}  # an unreadable cache is a miss; everything is scored again
    if not set(IMAGE_COLUMNS) <= set(old.columns):
        return {}
    return {(r["model"], r["prompt_id"], int(r["seed"]), r["sha256"]): r for r in old.to_dict("records")}


def score_run(
    run_dir: str | os.PathLike,
    *,
    reference=None,
    between_models: bool = False,
    standin: bool = False,
    device: str = "cpu",
    clip=None,
    extractor=None,
    cmmd_extractor=None,
    progress: ProgressFn | None = None,
    batch_size: int = 32,
    bootstrap: int = 1000,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    scorers: dict | None = None,
) -> ScoreResult:
    """Score RUN (see the module docstring) and write RUN/scores/*.csv + scores.json; re-runs reuse cached scores.

    reference: a folder or .zip of real images (or an ImageSet) for FID/KID; clip: a ClipScorer-like object
    (.score(images, prompts, convention=...) -> {"per_image": (N,)}), default load_clip(standin=standin);
    extractor: a metrics Extractor, default load_extractor("fid-inception", standin=standin); cmmd_extractor: CMMD's
    CLIP image extractor, default genart_demo.metrics.cmmd.cmmd_extractor(standin=standin), loaded only with a
    reference; cache_dir: where
    image-set features are cached (default RUN/scores/cache); metrics: "clip_score" (always computed) and any
    keys of genart_demo.metrics.scorers.SCORERS (leaderboard.scoring_metrics; unknown names: InputError);
    scorers: {metric: ImageScorer} to use instead of load_scorer(metric, standin=standin).
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise InputError(f"{run} is not a folder; give a run folder written by `genart leaderboard run`.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    metrics = check_metrics(metrics)
    out_dir = run / tb.SCORES_DIR
    prompts = tb.run_prompts(run)
    good, skipped = tb.verified_rows(run, tb.run_rows(run))
    good, flagged = split_flagged(good)  # a black image a safety checker put in is no measure of its model
    notes = [f"skipped {s['model']} {s['prompt_id']} seed {s['seed']} ({s['path']}): {s['reason']}" for s in skipped]
    notes += flagged_notes(flagged)
    if not good:
        why = "no image whose file exists with the manifest's sha256"
        raise InputError(
            f"{run}: {f'all {len(flagged)} intact images are flagged' if flagged else why}; nothing to score."
        )
    records = [_image_record(r, prompts) for r in good]

    # per-image CLIPScores: reuse rows cached under the same (model, prompt_id, seed, sha256), CLIP and prompt
    cached = _cached_scores(out_dir / "per_image.csv")
    clip_info = describe_clip(clip) if clip is not None else expected_clip_info(out_dir, standin)

    def todo_for(clip_id: str) -> list[int]:
        return [
            i
            for i, r in enumerate(records)
            if (c := cached.get((r["model"], r["prompt_id"], r["seed"], r["sha256"]))) is None
            or c["clip_id"] != clip_id
            or c["prompt"] != r["prompt"]
        ]

    todo = todo_for(clip_info["id"])
    if todo and clip is None:
        # lazy: imports torch (seconds); only this path needs it
        from genart_demo.metrics.clip import load_clip

        clip = load_clip(standin=standin).to(device)
        clip_info = describe_clip(clip)
        todo = todo_for(clip_info["id"])
    scores, truncated = clip_scores(clip, run, [records[i] for i in todo], batch_size, progress) if todo else ([], [])
    fresh = {i: (float(s), bool(t)) for i, s, t in zip(todo, scores, truncated)}
    for i, r in enumerate(records):
        if i in fresh:
            r["clip_score"], r["truncated"] = fresh[i]
        else:
            c = cached[(r["model"], r["prompt_id"], r["seed"], r["sha256"])]
            r["clip_score"], r["truncated"] = float(c["clip_score"]), bool(c["truncated"])
        r["clip_id"] = clip_info["id"]
    run_meta = read_run_json(run) or {}
    scorer_infos, metric_counts = score_metrics(
        run,
        records,
        cached,
        metrics,
        scorers=scorers,
        previous=_previous_info(out_dir).get("scorers"),
        standin=standin,
        device=device,
        batch_size=batch_size,
        progress=progress,
    )
    per_image = pd.DataFrame(records, columns=[*IMAGE_COLUMNS, *image_columns(metrics)])
    if per_image["truncated"].any():
        notes.append(
            f"{int(per_image['truncated'].sum())} image(s) had prompts longer than CLIP's 77 tokens; "
            "they were cut keeping the end-of-text token."
        )
    for model, group in per_image.groupby("model"):
        missing = sorted(set(prompts) - set(group["prompt_id"]))
        if prompts and missing:
            notes.append(f"{model}: {len(missing)} prompt(s) of the run have no scored image (e.g. {missing[0]}).")

    per_prompt = per_prompt_table(per_image)
    tables = {
        "per_image": per_image,
        "per_prompt": per_prompt,
        "overall": aggregate_table(per_prompt, bootstrap=bootstrap, seed=seed),
        "by_category": aggregate_table(per_prompt, "category", bootstrap=bootstrap, seed=seed),
        "by_challenge": aggregate_table(per_prompt, "challenge", bootstrap=bootstrap, seed=seed),
    }
    standins = per_image.groupby("model")["standin"].any()
    tables["overall"]["standin"] = tables["overall"]["model"].map(standins).astype(bool)
    fid_info: dict[str, Any] = {"extractor": None, "reference": None, "cmmd": None}
    if reference is not None or between_models:
        if extractor is None:
            # lazy: imports torch (seconds); only this path needs it
            from genart_demo.metrics.extractors import load_extractor

            extractor = load_extractor("fid-inception", device=device, standin=standin)
        if cmmd_extractor is None and reference is not None:
            from genart_demo.metrics.cmmd import cmmd_extractor as load_cmmd  # lazy: imports torch (seconds)

            cmmd_extractor = load_cmmd(standin=standin)
            cmmd_extractor.scorer.to(device)
        fid_found, fid_info = fid_tables(
            run,
            per_image,
            reference=reference,
            between_models=between_models,
            extractor=extractor,
            cmmd_extractor=cmmd_extractor,
            cache_dir=Path(cache_dir or out_dir / "cache"),
            batch_size=batch_size,
            progress=progress,
            notes=notes,
        )
        tables.update(fid_found)
        if reference is not None:
            ref_rows = fid_found["fid"][fid_found["fid"]["against"] == "reference"].set_index("model")
            for column in ("fid", "kid", "kid_std", "cmmd"):
                tables["overall"][column] = tables["overall"]["model"].map(ref_rows[column])
    tables["overall"] = with_flagged_column(tables["overall"], flagged)

    from genart_demo.metrics.clip import CONVENTIONS  # lazy: imports torch (seconds); only this path needs it

    info = {
        "format": 1,
        "genart": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(),
        "run": {"prompt_set": run_meta.get("prompt_set"), "config_hash": run_meta.get("config_hash")},
        "clip": clip_info,
        "clip_convention": CLIP_CONVENTION,
        "clip_convention_text": CONVENTIONS[CLIP_CONVENTION],
        "metrics": list(metrics),
        "scorers": scorer_infos,  # metric -> the ScorerInfo of the scorer that filled its column
        "per_prompt": "mean and max of CLIPScore over seeds; the mean over seeds of every other metric",
        "aggregate": "mean over prompts of the per-prompt mean (clip_score and every other metric) and max "
        "(clip_max); other metrics' CIs in <metric>_lo / <metric>_hi",
        "bootstrap": {
            "resamples": bootstrap,
            "confidence": CONFIDENCE,
            "seed": seed,
            "method": "percentile bootstrap of the mean over prompts, resampled with replacement; "
            "numpy default_rng(seed), the same seed for every group",
        },
        **fid_info,
        "between_models": bool(between_models),
        "images": {"scored": len(todo), "reused": len(records) - len(todo), "skipped": len(skipped)},
        "metric_images": metric_counts,  # metric -> images scored now / reused from per_image.csv
        "skipped": skipped,
        "flagged": flagged_counts(flagged),  # model -> images left out: flagged by its safety checker
        "notes": notes,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [tb.write_csv_atomically(df, out_dir / f"{name}.csv") for name, df in tables.items()]
    for stale in set(tb.OPTIONAL_TABLES) - set(tables):
        if (out_dir / f"{stale}.csv").is_file():
            (out_dir / f"{stale}.csv").unlink()
            notes.append(f"removed {stale}.csv from an earlier scoring (not computed this time).")
    info["files"] = [p.name for p in paths]
    scores_json = out_dir / "scores.json"
    atomic_write(scores_json, json.dumps(info, indent=1, default=str) + "\n")
    return ScoreResult(
        run, tables, info, notes, skipped, len(todo), len(records) - len(todo), paths + [scores_json], metric_counts
    )


__all__ = ["KID_OPTIONS", "ScoreResult", "score_run"]
