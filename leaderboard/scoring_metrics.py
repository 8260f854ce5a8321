"""Per-image scores of a run's images by the scorers of genart_demo.metrics.scorers (beside CLIPScore), cached.

Each metric `m` fills two per-image columns: `m` (the scorer's number) and `m_id` (its ScorerInfo.id). A cached
row is reused when (model, prompt_id, seed, sha256) match, its `m_id` is the scorer's id and its prompt is the
same, so scoring again with one more metric computes only that metric. A scorer is loaded only when some image
needs it: its id is known before loading from an injected scorer, or from the last scores.json when that scorer was
loaded with the same `standin`.

GenEval's scorer checks each image against its prompt's GenEval metadata (objects, counts, colours, positions): it
is loaded with `metadata=` {prompt: row} of leaderboard.prompt_suites.geneval_metadata (the bundled
GenEval_evaluation_metadata.jsonl the geneval prompt set comes from), and a run whose prompts are not all in it is
refused before any scoring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from genart_demo.errors import InputError
from genart_demo.metrics.scorers import SCORERS, load_scorer

from .features import decoded_image
from .prompt_suites import geneval_metadata

BASE_METRIC = "clip_score"  # always computed: the tables' base column (CLIPScore, leaderboard.features)
DEFAULT_METRICS = (BASE_METRIC,)
METADATA_SCORERS = ("geneval",)  # scorers that need GenEval's per-prompt metadata
ProgressFn = Callable[[int, int, str], None]


def allowed_metrics() -> tuple[str, ...]:
    """Every metric name score_run takes: CLIPScore, then each SCORERS key."""
    return (BASE_METRIC, *SCORERS)


def check_metrics(names: str | Sequence[str]) -> tuple[str, ...]:
    """The metrics asked for (a comma-separated string or names), CLIPScore first, each once; InputError naming any
    unknown one and the allowed list."""
    if isinstance(names, str):
        names = names.split(",")
    wanted = [n.strip() for n in names if n.strip()]
    unknown = [n for n in wanted if n not in allowed_metrics()]
    if unknown:
        raise InputError(f"unknown metric(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed_metrics())}")
    return tuple(dict.fromkeys([BASE_METRIC, *wanted]))


def id_column(metric: str) -> str:
    """The per-image column holding the ScorerInfo.id that produced `metric`."""
    return f"{metric}_id"


def image_columns(metrics: Sequence[str]) -> list[str]:
    """Per-image columns of the scorer metrics among `metrics` (CLIPScore's are the run's IMAGE_COLUMNS)."""
    return [c for m in metrics if m != BASE_METRIC for c in (m, id_column(m))]


def load_options(metric: str, records: Sequence[dict]) -> dict:
    """What load_scorer(metric, ...) needs besides standin for these images: GenEval's metadata, after checking that
    every prompt has a row (InputError naming one that has none)."""
    if metric not in METADATA_SCORERS:
        return {}
    table = geneval_metadata()
    missing = sorted({r["prompt"] for r in records} - set(table))
    if missing:
        raise InputError(
            f"GenEval scores only GenEval's own prompts (prompt set geneval); {len(missing)} prompt(s) of this run "
            f"have no GenEval metadata, e.g. {missing[0]!r}"
        )
    return {"metadata": table}


def scorer_info(scorer) -> dict:
    """A scorer's ScorerInfo as scores.json records it."""
    return scorer.info.as_dict()


def _todo(records: Sequence[dict], cached: dict[tuple, dict], metric: str, scorer_id: str | None) -> list[int]:
    """Indices of records without a cached `metric` from scorer `scorer_id` for the same prompt (None: all)."""
    out = []
    for i, r in enumerate(records):
        c = cached.get((r["model"], r["prompt_id"], r["seed"], r["sha256"]))
        if scorer_id is None or c is None or c.get(id_column(metric)) != scorer_id or c["prompt"] != r["prompt"]:
            out.append(i)
    return out


def _scores(scorer, run: Path, rows: list[dict], batch_size: int, progress, label: str) -> np.ndarray:
    """scorer.score over rows in batches: (N,) float64."""
    out = np.zeros(len(rows))
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        images = [decoded_image(run / r["path"]) for r in chunk]
        got = scorer.score(images, [r["prompt"] for r in chunk], batch_size=batch_size)
        out[start : start + len(chunk)] = np.asarray(got, dtype=np.float64).reshape(len(chunk))
        if progress:
            progress(start + len(chunk), len(rows), label)
    return out


def score_metrics(
    run: Path,
    records: list[dict],
    cached: dict[tuple, dict],
    metrics: Sequence[str],
    *,
    scorers: dict | None = None,
    previous: dict | None = None,
    standin: bool = False,
    device: str = "cpu",
    batch_size: int = 32,
    progress: ProgressFn | None = None,
) -> tuple[dict[str, dict], dict[str, dict]]:
    """Fill records[i][m] and records[i][m_id] for every scorer metric m in `metrics` (cache first, see the module
    docstring); return ({m: scorer info}, {m: {"scored": n, "reused": k}}).

    scorers: {m: ImageScorer} injected (tests, a preloaded scorer); others load with load_scorer(m, standin=...).
    previous: the last scores.json's "scorers" ({m: info}), whose ids spare loading a scorer when all is cached."""
    scorers, previous = dict(scorers or {}), previous or {}
    infos, counts = {}, {}
    for metric in metrics:
        if metric == BASE_METRIC:
            continue
        known = previous.get(metric)
        if metric in scorers:
            info = scorer_info(scorers[metric])
        elif isinstance(known, dict) and known.get("standin") == standin and known.get("id"):
            info = known
        else:
            info = None
        todo = _todo(records, cached, metric, info and info["id"])
        if todo and metric not in scorers:
            scorers[metric] = load_scorer(metric, standin=standin, **load_options(metric, records)).to(device)
            info = scorer_info(scorers[metric])
            todo = _todo(records, cached, metric, info["id"])
        rows = [records[i] for i in todo]
        label = SCORERS[metric].label
        fresh = _scores(scorers[metric], run, rows, batch_size, progress, label) if rows else []
        values = dict(zip(todo, fresh))
        for i, r in enumerate(records):
            key = (r["model"], r["prompt_id"], r["seed"], r["sha256"])
            r[metric] = float(values[i]) if i in values else float(cached[key][metric])
            r[id_column(metric)] = info["id"]
        infos[metric] = dict(info)
        counts[metric] = {"scored": len(todo), "reused": len(records) - len(todo)}
    return infos, counts


__all__ = [
    "BASE_METRIC",
    "DEFAULT_METRICS",
    "allowed_metrics",
    "check_metrics",
    "id_column",
    "image_columns",
    "load_options",
    "score_metrics",
]
