"""Images a safety checker flagged: kept out of the leaderboard's scores and the arena's battles, and counted per model.

A checkpoint that ships a safety checker (the Stable Diffusion 1.x family) returns a black image in place of each one
it flags. Scoring such an image would rate the filter, not the model, so a manifest row whose `nsfw_flagged` is true
is left out of every metric and every battle, and the tables say how many were left out per model. Rows written
before genart recorded the flag (no `nsfw_flagged`) count as not checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from genart_demo.safety import FLAGGED_TEXT


def row_flagged(row: Mapping[str, Any]) -> bool:
    """Whether a manifest row's image was flagged by its model's safety checker (its pixels are black)."""
    return row.get("nsfw_flagged") is True


def split_flagged(rows: Iterable[dict]) -> tuple[list[dict], list[dict]]:
    """(kept, flagged): the rows to score, and the rows left out because their image was flagged."""
    kept, flagged = [], []
    for row in rows:
        (flagged if row_flagged(row) else kept).append(row)
    return kept, flagged


def flagged_counts(flagged: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """model -> how many of its images were left out as flagged."""
    return dict(sorted(Counter(str(row["model"]) for row in flagged).items()))


def flagged_notes(flagged: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per model with flagged images, for the run's notes."""
    return [
        f"{model}: {n} image(s) left out of every score, {FLAGGED_TEXT}" for model, n in flagged_counts(flagged).items()
    ]


def with_flagged_column(overall: pd.DataFrame, flagged: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The overall table with `n_flagged` (images left out per model); a model whose every image was flagged gets
    a row of its own with no scores, so it does not silently vanish."""
    counts = flagged_counts(flagged)
    missing = [m for m in counts if m not in set(overall["model"])]
    if missing:
        extra = pd.DataFrame({"model": missing, "n_prompts": 0, "n_images": 0})
        if "standin" in overall.columns:
            extra["standin"] = [any(r.get("standin") for r in flagged if r["model"] == m) for m in missing]
        overall = pd.concat([overall, extra], ignore_index=True).sort_values("model", kind="stable")
    out = overall.reset_index(drop=True)
    out["n_flagged"] = out["model"].map(counts).fillna(0).astype(np.int64)
    return out
