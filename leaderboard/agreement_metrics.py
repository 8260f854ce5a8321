"""The per-image metrics the agreement table compares with the raters, and their values cached by image sha256.

A PairMetric turns N images (and their N prompts) into N numbers, like genart_demo.metrics.scorers' ImageScorer. The
agreement table needs one number per image shown in a battle; ImageValues computes each (metric, file content,
prompt) once, and takes the numbers a scored leaderboard run already has from its per_image.csv when the image's
sha256 and the metric's id match (CLIPScore: the clip_score and clip_id columns; a SCORERS metric `m`: columns m and
scoring_metrics.id_column(m)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.metrics.scorers import SCORERS, load_scorer

from .arena.image_measures import MEASURES, measure_image
from .manifest import sha256_file
from .scoring import IMAGE_COLUMNS
from .scoring_metrics import id_column
from .tables import read_csv_table

BATCH = 16  # images per score call
PER_IMAGE_CSV = Path("scores") / "per_image.csv"  # where `genart leaderboard score` leaves a run's per-image numbers


@dataclass(frozen=True)
class PairMetric:
    """One per-image metric as the agreement table reads it."""

    key: str  # column name: "clip_score", a SCORERS key, or an image measure ("brightness")
    label: str  # what people read, e.g. "CLIPScore"
    id: str  # cache key: changes when the weights change (ScorerInfo.id / ExtractorInfo.id)
    higher_is_better: bool  # the side with the higher value is the metric's pick (else the lower)
    uses_prompt: bool  # False: an image's value does not depend on its prompt
    score: Callable[[list, list[str]], np.ndarray]  # (N PIL images, N prompts) -> (N,) float64
    standin: bool = False  # True: tiny random weights, numbers for testing only
    run_column: str | None = None  # the per_image.csv column holding this metric's value
    run_id_column: str | None = None  # the per_image.csv column that must equal `id` for that value to be reused


def clip_metric(clip) -> PairMetric:
    """CLIPScore (genart_demo.metrics.clip, per-sample convention: 100·max(cos, 0) per image, as the leaderboard)."""
    return PairMetric(
        key="clip_score",
        label="CLIPScore",
        id=str(clip.info.id),
        higher_is_better=True,
        uses_prompt=True,
        score=lambda images, prompts: np.asarray(clip.score(images, list(prompts))["per_image"], dtype=np.float64),
        standin=bool(clip.info.standin),
        run_column="clip_score",
        run_id_column="clip_id",
    )


def scorer_metric(name: str, scorer) -> PairMetric:
    """A SCORERS scorer (load_scorer) as a PairMetric; its direction and prompt use come from its SCORERS entry."""
    entry = SCORERS[name]
    return PairMetric(
        key=name,
        label=entry.label,
        id=str(scorer.info.id),
        higher_is_better=entry.higher_is_better,
        uses_prompt=entry.uses_prompt,
        score=lambda images, prompts: np.asarray(scorer.score(list(images), list(prompts)), dtype=np.float64),
        standin=bool(scorer.info.standin),
        run_column=name,
        run_id_column=id_column(name),
    )


def measure_metric(name: str) -> PairMetric:
    """An image measure of arena.image_measures (brightness, contrast, saturation on 0..1) taken as "higher wins": a
    baseline that says whether raters simply follow it (agreement well above or below 1/2)."""
    if name not in MEASURES:
        raise InputError(f"Image measure {name!r}; allowed: {', '.join(MEASURES)}.")
    return PairMetric(
        key=name,
        label=f"{name.capitalize()} (higher wins)",
        id=f"measure-{name}",
        higher_is_better=True,
        uses_prompt=False,
        score=lambda images, prompts: np.array([measure_image(im)[name] for im in images], dtype=np.float64),
    )


def metric_names() -> tuple[str, ...]:
    """Every metric the agreement table knows: CLIPScore, the SCORERS scorers, the image measures."""
    return ("clip_score", *SCORERS, *MEASURES)


def chosen_metrics(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """The metric names of a comma-separated list (None or empty: all of them); InputError naming an unknown one."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text or ()) if n.strip()]
    unknown = [n for n in names if n not in metric_names()]
    if unknown:
        raise InputError(
            f"Metric {unknown[0]!r} is not one the agreement table knows; allowed: {', '.join(metric_names())}."
        )
    return tuple(names) or metric_names()


def default_metrics(*, standin: bool, device=None, only=None) -> tuple[list[PairMetric], list[str]]:
    """CLIPScore, every SCORERS scorer that loads (its stand-in when `standin`), and the image measures (`only`: the
    names of chosen_metrics); with a note for each scorer left out and why."""
    # lazy: genart_demo.metrics.clip imports torch (seconds); `genart leaderboard show` must not wait for it
    from genart_demo.metrics.clip import load_clip

    chosen = chosen_metrics(only)
    notes: list[str] = []
    metrics = []
    if "clip_score" in chosen:
        clip = load_clip(standin=standin)
        metrics.append(clip_metric(clip.to(device) if device is not None else clip))
    for name, entry in SCORERS.items():
        if name not in chosen:
            continue
        try:
            scorer = load_scorer(name, standin=standin)
        except Exception as err:  # noqa: BLE001 - module missing, no weights, a bug: the table goes on without it
            notes.append(f"{entry.label} left out: it did not load ({type(err).__name__}: {err}).")
            continue
        metrics.append(scorer_metric(name, scorer.to(device) if device is not None else scorer))
    metrics.extend(measure_metric(m) for m in MEASURES if m in chosen)
    return metrics, notes


class ImageValues:
    """Per-image metric values keyed by (metric id, file sha256, prompt or "" for image-only metrics): each image is
    scored once per metric however many battles show it; a file is hashed once per (path, mtime, size)."""

    def __init__(self):
        self._values: dict[tuple[str, str, str], float] = {}
        self._hashes: dict[tuple[str, int, int], str | None] = {}
        self.scored: dict[str, int] = {}  # metric id -> images scored (not found in the cache or a run)
        self.reused: dict[str, int] = {}  # metric id -> values taken from a run's per_image.csv

    def sha256(self, path: Path) -> str | None:
        """The file's sha256, None when it cannot be read."""
        try:
            stat = Path(path).stat()
        except OSError:
            return None
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._hashes:
            try:
                self._hashes[key] = sha256_file(Path(path))
            except OSError:
                self._hashes[key] = None
        return self._hashes[key]

    def add_run(self, run_dir: Path, metrics: Sequence[PairMetric]) -> int:
        """Take the values of `metrics` from a scored run's per_image.csv where the run used the same metric id;
        how many values were added."""
        path = Path(run_dir) / PER_IMAGE_CSV
        if not path.is_file():
            raise InputError(f"{run_dir} has no {PER_IMAGE_CSV}: score it first with `genart leaderboard score RUN`.")
        table = read_csv_table(path)
        if not {"sha256", "prompt"} <= set(table.columns):
            raise InputError(
                f"{path} has no sha256 and prompt columns; expected the columns {', '.join(IMAGE_COLUMNS)}."
            )
        added = 0
        for metric in metrics:
            columns = (metric.run_column, metric.run_id_column)
            if not all(c in table.columns for c in columns):
                continue
            same = table[table[metric.run_id_column].astype(str) == metric.id]
            for sha, prompt, value in zip(same["sha256"], same["prompt"], same[metric.run_column]):
                if pd.notna(value):
                    key = (metric.id, str(sha), str(prompt) if metric.uses_prompt else "")
                    added += key not in self._values
                    self._values[key] = float(value)
            self.reused[metric.id] = self.reused.get(metric.id, 0) + len(same)
        return added

    def values(self, metric: PairMetric, paths: Sequence[Path], prompts: Sequence[str]) -> np.ndarray:
        """(N,) float64: the metric's value of image i with prompt i; NaN where the file is missing or not an image."""
        keys = []
        for path, prompt in zip(paths, prompts):
            sha = self.sha256(path)
            keys.append(None if sha is None else (metric.id, sha, str(prompt) if metric.uses_prompt else ""))
        todo = {k: p for k, p in zip(keys, paths) if k is not None and k not in self._values}
        self._score(metric, todo)
        return np.array([math.nan if k is None else self._values.get(k, math.nan) for k in keys], dtype=np.float64)

    def _score(self, metric: PairMetric, todo: dict[tuple[str, str, str], Path]) -> None:
        items = list(todo.items())
        for start in range(0, len(items), BATCH):
            batch, images, prompts = [], [], []
            for key, path in items[start : start + BATCH]:
                try:
                    with Image.open(path) as opened:
                        images.append(opened.convert("RGB"))
                except (OSError, ValueError):  # not an image (a video output): no value
                    self._values[key] = math.nan
                    continue
                batch.append(key)
                prompts.append(key[2])
            if not batch:
                continue
            scores = np.asarray(metric.score(images, prompts), dtype=np.float64).reshape(-1)
            if scores.shape != (len(batch),):
                raise RuntimeError(f"{metric.label} gave {scores.shape[0]} scores for {len(batch)} images")
            self._values.update(zip(batch, scores.tolist()))
            self.scored[metric.id] = self.scored.get(metric.id, 0) + len(batch)


__all__ = [
    "PER_IMAGE_CSV",
    "ImageValues",
    "PairMetric",
    "clip_metric",
    "chosen_metrics",
    "default_metrics",
    "metric_names",
    "measure_metric",
    "scorer_metric",
]
