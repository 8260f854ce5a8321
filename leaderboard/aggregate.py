"""Leaderboard statistics: per-prompt rows and per-model (and per-category) tables with bootstrap intervals.

CLIPScore keeps its own columns (clip_score, clip_max, clip_ci_low, clip_ci_high); every other per-image metric `m`
(a key of genart_demo.metrics.scorers.SCORERS) gets m (per prompt: the mean over seeds; per group: the mean of the
per-prompt means) and m_lo / m_hi (the bootstrap CI over prompts, the same seed as CLIPScore's, so every metric and
group resamples the same prompt indices).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from genart_demo.metrics.scorers import SCORERS

CONFIDENCE = 0.95  # of every interval in the leaderboard's tables


def ci_columns(metric: str) -> tuple[str, str]:
    """The (low, high) columns of a metric's CI in the aggregate tables: CLIPScore's historic names, else m_lo/m_hi."""
    return ("clip_ci_low", "clip_ci_high") if metric == "clip_score" else (f"{metric}_lo", f"{metric}_hi")


def extra_metrics(table: pd.DataFrame) -> list[str]:
    """The per-image metrics besides CLIPScore whose columns `table` has, in SCORERS order."""
    return [m for m in SCORERS if m in table.columns]


def bootstrap_ci(
    values: Sequence[float], resamples: int = 1000, confidence: float = CONFIDENCE, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean: `resamples` draws of len(values) values with replacement."""
    x = np.asarray(values, dtype=np.float64)  # (n,)
    if not (isinstance(resamples, (int, np.integer)) and resamples >= 0):
        raise ValueError(f"bootstrap resamples must be an integer >= 0 (0 turns CIs off); got {resamples!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1; got {confidence!r}")
    if x.ndim != 1 or x.size == 0 or resamples == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    step = max(1, 2_000_000 // x.size)  # bounded memory: (step, n) indices at a time
    for start in range(0, resamples, step):
        stop = min(resamples, start + step)
        means[start:stop] = x[rng.integers(0, x.size, size=(stop - start, x.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def per_prompt_table(per_image: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, prompt): CLIPScore mean and max over its seeds, each other metric's mean over its seeds
    (extra_metrics), seeds, mean seconds per image."""
    keys = ["model", "prompt_id", "category", "challenge", "prompt"]
    extra = extra_metrics(per_image)
    grouped = per_image.groupby(keys, sort=True, dropna=False)
    out = grouped.agg(
        n_seeds=("seed", "size"),
        clip_score=("clip_score", "mean"),
        clip_max=("clip_score", "max"),
        **{m: (m, "mean") for m in extra},
        seconds=("seconds", "mean"),
    ).reset_index()
    return out[
        ["model", "prompt_id", "category", "challenge", "n_seeds", "clip_score", "clip_max", *extra, "seconds"]
        + ["prompt"]
    ]


def aggregate_table(
    per_prompt: pd.DataFrame, by: str | None = None, *, bootstrap: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Per model (and per value of `by`: "category" or "challenge"): clip_score with its bootstrap CI over prompts,
    clip_max, each extra metric with its CI (m, m_lo, m_hi; prompts where it is NaN left out), n_prompts, n_images,
    seconds_per_image. Rows with an empty `by` value are left out."""
    if by not in (None, "category", "challenge"):
        raise ValueError(f"aggregate by {by!r}; allowed: None, 'category', 'challenge'")
    keys = ["model"] + ([by] if by else [])
    table = per_prompt[per_prompt[by] != ""] if by else per_prompt
    extra = extra_metrics(per_prompt)
    rows = []
    for key, group in table.sort_values(keys + ["prompt_id"]).groupby(keys, sort=True):
        low, high = bootstrap_ci(group["clip_score"].to_numpy(), bootstrap, CONFIDENCE, seed)
        n_images = int(group["n_seeds"].sum())
        timed = group[group["seconds"].notna()]  # prompt mean seconds weighted by images: the mean per image
        seconds = float((timed["seconds"] * timed["n_seeds"]).sum() / timed["n_seeds"].sum()) if len(timed) else np.nan
        row = {
            **dict(zip(keys, key)),
            "clip_score": float(group["clip_score"].mean()),
            "clip_ci_low": low,
            "clip_ci_high": high,
            "clip_max": float(group["clip_max"].mean()),
        }
        for m in extra:
            values = group[m].dropna().to_numpy()
            row[m] = float(values.mean()) if values.size else np.nan
            row.update(zip(ci_columns(m), bootstrap_ci(values, bootstrap, CONFIDENCE, seed)))
        rows.append({**row, "n_prompts": len(group), "n_images": n_images, "seconds_per_image": seconds})
    columns = keys + [
        "clip_score",
        "clip_ci_low",
        "clip_ci_high",
        "clip_max",
        *[c for m in extra for c in (m, *ci_columns(m))],
        "n_prompts",
        "n_images",
        "seconds_per_image",
    ]
    return pd.DataFrame(rows, columns=columns)
