"""Which automatic metric agrees with your raters: per vote, does the metric pick the side people picked?

For every decisive vote (outcome A or B) of the votes that count in a task's ratings (arena.rated.rated_votes: blind
arena and rating-session votes, less flagged raters unless kept), each per-image metric gives each side a value (the
mean over the side's images) and picks the side with the better value (the higher, or the lower where lower is
better). A vote's agreement is 1 when the metric picks the side people picked, 0 when it picks the other, and 1/2
when the two sides' values are equal (within SAME). The table's agreement is the mean over votes, with a percentile
bootstrap CI over votes (`rounds` resamples with replacement, numpy default_rng(seed); the CI is the (1-c)/2 and
(1+c)/2 quantiles of the resampled means). Rows are given for the open arena's votes, the rating sessions' votes and
both together. Human ties (tie, both bad) say nothing about a side: they are counted apart (human_ties), never in
the agreement. Votes whose images are missing or unreadable for a metric are left out of its n (missing).

Set metrics (FID, KID, CMMD) compare a model's whole image set with a reference; they give no value to one image, so
they have no per-vote agreement and are left out here: the overall leaderboard table shows their model ranking beside
the human rating.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genart_demo.errors import InputError

from .aggregate import CONFIDENCE
from .agreement_metrics import ImageValues, PairMetric
from .arena.image_measures import SAME
from .arena.rated import rated_votes
from .arena.store import ArenaStore

DECISIVE = ("a", "b")
BOOTSTRAP_ROUNDS = 1000  # resampled means are cheap (unlike the ratings' Bradley-Terry refits, 100 there)
HUMAN_TIES = ("tie", "bothbad")
SOURCES = ("arena", "sessions", "all")  # which votes a row covers: open arena (anonymous, named), sessions, both
TASK = "text-to-image"  # the only task whose outputs are single images every metric can score
COLUMNS = (
    "metric",
    "label",
    "source",
    "agreement",
    "ci_low",
    "ci_high",
    "n",
    "metric_ties",
    "human_ties",
    "missing",
    "higher_is_better",
    "metric_id",
    "standin",
)
SET_METRICS_NOTE = (
    "FID, KID and CMMD are left out: they compare whole image sets, so no single image (and no vote) has a value."
)


@dataclass
class AgreementResult:
    """The agreement table and what people should be told about it."""

    table: pd.DataFrame  # COLUMNS, one row per metric and source
    notes: list[str] = field(default_factory=list)
    confidence: float = CONFIDENCE  # of the CIs


def vote_pairs(store: ArenaStore, task: str = TASK, *, include_named: bool = False, keep_flagged: bool = False):
    """The votes that count in the task's ratings, one row each: source ("arena" or "sessions"), outcome, prompt
    and each side's output paths (outputs_a, outputs_b as stored: relative to the output folder or absolute)."""
    votes = rated_votes(store, task, include_named=include_named, keep_flagged=keep_flagged).votes
    if votes.empty:
        return pd.DataFrame(columns=["battle_id", "source", "outcome", "prompt", "outputs_a", "outputs_b"])
    shown = {b.id: (b.outputs_a, b.outputs_b) for b in store.battles()}
    sides = [shown.get(str(i), ((), ())) for i in votes["battle_id"]]
    return pd.DataFrame(
        {
            "battle_id": votes["battle_id"].astype(str),
            "source": np.where(votes["mode"] == "session", "sessions", "arena"),
            "outcome": votes["outcome"].astype(str),
            "prompt": votes["prompt"].astype(str),
            "outputs_a": [a for a, _ in sides],
            "outputs_b": [b for _, b in sides],
        }
    )


def side_values(pairs: pd.DataFrame, metric: PairMetric, values: ImageValues, outputs: Path) -> np.ndarray:
    """(V, 2) float64: each vote's side A and side B value, the mean over that side's images (NaN if none has one)."""
    images = [
        (rel, prompt)
        for rels in ("outputs_a", "outputs_b")
        for row, prompt in zip(pairs[rels], pairs["prompt"])
        for rel in row
    ]
    unique = list(dict.fromkeys(images))
    scored = values.values(metric, [Path(outputs) / rel for rel, _ in unique], [p for _, p in unique])
    value_of = dict(zip(unique, scored))
    out = np.full((len(pairs), 2), np.nan)
    for side, column in enumerate(("outputs_a", "outputs_b")):
        for i, (rels, prompt) in enumerate(zip(pairs[column], pairs["prompt"])):
            known = [value_of[(rel, prompt)] for rel in rels if not np.isnan(value_of[(rel, prompt)])]
            out[i, side] = float(np.mean(known)) if known else np.nan
    return out


def vote_agreement(values: np.ndarray, outcomes: Sequence[str], higher_is_better: bool) -> np.ndarray:
    """(V,) per decisive vote: 1 where the metric's better side is the side people picked, 0 where it is the other,
    0.5 where the sides' values differ by at most SAME; NaN for a human tie or a missing value."""
    values = np.asarray(values, dtype=np.float64).reshape(-1, 2)
    outcomes = np.asarray(outcomes, dtype=object)
    diff = values[:, 0] - values[:, 1]  # > 0: A is higher
    a_better = diff > SAME if higher_is_better else diff < -SAME
    b_better = diff < -SAME if higher_is_better else diff > SAME
    picked_a = outcomes == "a"
    out = np.where(a_better, picked_a, np.where(b_better, ~picked_a, 0.5)).astype(np.float64)
    out[~np.isin(outcomes, DECISIVE) | np.isnan(diff)] = np.nan
    return out


def bootstrap_ci(
    scores: np.ndarray, rounds: int = BOOTSTRAP_ROUNDS, confidence: float = CONFIDENCE, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of `scores` over resampled votes; (NaN, NaN) with no votes or rounds=0."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0 or rounds <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, scores.size, size=(rounds, scores.size))].mean(axis=1)  # (rounds,)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def _check_options(rounds: int, confidence: float) -> None:
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 0:
        raise InputError(f"Bootstrap rounds {rounds!r}: give a whole number of resamples, 0 or more (e.g. 1000).")
    if not 0 < confidence < 1:
        raise InputError(f"Confidence {confidence!r}: give a share between 0 and 1, e.g. 0.95.")


def metric_rows(pairs: pd.DataFrame, metric: PairMetric, sides: np.ndarray, rounds, confidence, seed) -> list[dict]:
    """The table rows of one metric: one per source that has votes (arena, sessions), and one for all of them when
    both have."""
    agree = vote_agreement(sides, pairs["outcome"], metric.higher_is_better)
    decisive = pairs["outcome"].isin(DECISIVE).to_numpy()
    metric_tie = np.abs(sides[:, 0] - sides[:, 1]) <= SAME
    rows = []
    for source in SOURCES:
        inside = np.ones(len(pairs), bool) if source == "all" else (pairs["source"] == source).to_numpy()
        if not inside.any() or (source == "all" and len(set(pairs["source"])) < 2):
            continue
        scores = agree[inside & ~np.isnan(agree)]
        low, high = bootstrap_ci(scores, rounds, confidence, seed)
        rows.append(
            {
                "metric": metric.key,
                "label": metric.label,
                "source": source,
                "agreement": float(scores.mean()) if scores.size else float("nan"),
                "ci_low": low,
                "ci_high": high,
                "n": int(scores.size),
                "metric_ties": int((inside & decisive & metric_tie).sum()),
                "human_ties": int((inside & ~decisive).sum()),
                "missing": int((inside & decisive & np.isnan(agree)).sum()),
                "higher_is_better": metric.higher_is_better,
                "metric_id": metric.id,
                "standin": metric.standin,
            }
        )
    return rows


def agreement_table(
    store: ArenaStore,
    outputs: Path,
    metrics: Sequence[PairMetric],
    *,
    task: str = TASK,
    include_named: bool = False,
    keep_flagged: bool = False,
    values: ImageValues | None = None,
    runs: Sequence[Path] = (),
    rounds: int = BOOTSTRAP_ROUNDS,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> AgreementResult:
    """Each metric's agreement with the votes of `task` (module docstring), battle outputs resolved under `outputs`
    (the workspace's output folder); `runs`' per_image.csv values are reused where the image and metric match."""
    _check_options(rounds, confidence)
    values = values if values is not None else ImageValues()
    for run in runs:
        values.add_run(Path(run), metrics)
    pairs = vote_pairs(store, task, include_named=include_named, keep_flagged=keep_flagged)
    notes = [SET_METRICS_NOTE, "A metric tie (both sides within 1e-9) counts 1/2; human ties are not counted."]
    if pairs.empty:
        notes.insert(0, f"No counted votes on {task} yet: the table is empty.")
        return AgreementResult(pd.DataFrame(columns=list(COLUMNS)), notes, confidence)
    rows = []
    for metric in metrics:
        try:
            sides = side_values(pairs, metric, values, outputs)
        except Exception as err:  # noqa: BLE001 - a scorer that cannot score these prompts: the others still count
            notes.append(
                f"{metric.label} left out: it could not score the battles' images ({type(err).__name__}: {err})."
            )
            continue
        rows.extend(metric_rows(pairs, metric, sides, rounds, confidence, seed))
    missing = max((r["missing"] for r in rows if r["source"] == "all" or len(set(pairs["source"])) < 2), default=0)
    if missing:
        notes.append(f"{missing} decisive vote(s) have no image a metric can read under {outputs}; they are left out.")
    if any(m.standin for m in metrics):
        notes.append("Metrics marked standin use tiny random weights: their agreement is for testing only.")
    return AgreementResult(pd.DataFrame(rows, columns=list(COLUMNS)), notes, confidence)


def agreement_text(result: AgreementResult) -> str:
    """The table as aligned text (agreement and CI as percentages) with its notes, for the command line."""
    if result.table.empty:
        return "\n".join(result.notes)
    shown = result.table.assign(
        agreement=lambda t: (100 * t["agreement"]).round(1),
        ci=lambda t: [f"{100 * lo:.1f}-{100 * hi:.1f}" for lo, hi in zip(t["ci_low"], t["ci_high"])],
    )[["label", "source", "agreement", "ci", "n", "metric_ties", "human_ties", "missing", "standin"]]
    header = f"Agreement with raters (% of decisive votes, {result.confidence:.0%} bootstrap CI):"
    return "\n".join([header, shown.to_string(index=False), *(f"note: {n}" for n in result.notes)])


__all__ = [
    "COLUMNS",
    "SOURCES",
    "AgreementResult",
    "agreement_table",
    "agreement_text",
    "bootstrap_ci",
    "side_values",
    "vote_agreement",
    "vote_pairs",
]
