"""Leaderboard statistics: per-prompt rows and per-model (and per-category) tables with bootstrap intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

CONFIDENCE = 0.95  # of every interval in the leaderboard's tables


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
    """One row per (model, prompt): CLIPScore mean and max over its seeds, seeds, mean seconds per image."""
    keys = ["model", "prompt_id", "category", "challenge", "prompt"]
    grouped = per_image.groupby(keys, sort=True, dropna=False)
    out = grouped.agg(
        n_seeds=("seed", "size"),
        clip_score=("clip_score", "mean"),
        clip_max=("clip_score", "max"),
        seconds=("seconds", "mean"),
    ).reset_index()
    return out[
        ["model", "prompt_id", "category", "challenge", "n_seeds", "clip_score", "clip_max", "seconds", "prompt"]
    ]


def aggregate_table(
    per_prompt: pd.DataFrame, by: str | None = None, *, bootstrap: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Per model (and per value of `by`: "category" or "challenge"): clip_score with its bootstrap CI over prompts,
    clip_max, n_prompts, n_images, seconds_per_image. Rows with an empty `by` value are left out."""
    if by not in (None, "category", "challenge"):
        raise ValueError(f"aggregate by {by!r}; allowed: None, 'category', 'challenge'")
    keys = ["model"] + ([by] if by else [])
    table = per_prompt[per_prompt[by] != ""] if by else per_prompt
    rows = []
    for key, group in table.sort_values(keys + ["prompt_id"]).groupby(keys, sort=True):
        low, high = bootstrap_ci(group["clip_score"].to_numpy(), bootstrap, CONFIDENCE, seed)
        n_images = int(group["n_seeds"].sum())
        timed = group[group["seconds"].notna()]  # prompt mean seconds weighted by images: the mean per image
        seconds = float((timed["seconds"] * timed["n_seeds"]).sum() / timed["n_seeds"].sum()) if len(timed) else np.nan
        rows.append(
            {
                **dict(zip(keys, key)),
                "clip_score": float(group["clip_score"].mean()),
                "clip_ci_low": low,
                "clip_ci_high": high,
                "clip_max": float(group["clip_max"].mean()),
                "n_prompts": len(group),
                "n_images": n_images,
                "seconds_per_image": seconds,
            }
        )
    columns = keys + [
        "clip_score",
        "clip_ci_low",
        "clip_ci_high",
        "clip_max",
        "n_prompts",
        "n_images",
        "seconds_per_image",
    ]
    return pd.DataFrame(rows, columns=columns)
