"""The evaluate task for per-image scorers (human preference, aesthetics, prompt alignment): one column per scorer.

The scorers are metrics.scorers.SCORERS, loaded through the studio's model cache like the CLIP network (stand-ins
when offline). A scorer whose module is missing or that fails to load or score leaves its column empty and says why
in a note: the others still run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics.scorers import SCORERS, load_scorer
from ..studio import Studio
from .common import ProgressFn, workspace_for
from .evaluate_common import EvalResult, check_metrics, resolve_set, returns_memory, row, write_result
from .evaluate_images import decoded_images, images_with_prompts

SCORE_BATCH = 8  # images per scorer call, so progress moves and memory stays bounded
MEAN_LABEL = "mean"  # the per-image table's last row


@dataclass(frozen=True)
class ScoreRequest:
    images: Any  # uploads (list of files), a zip, a folder under an allowed root, or "leaderboard:<run>"
    prompts: Any = ""  # one per line in the images' (sorted file name) order; empty = each PNG's own prompt
    scorers: tuple[str, ...] = ("pickscore",)  # keys of metrics.scorers.SCORERS


def scorer_model(studio: Studio, name: str):
    """The scorer `name` from the studio's model cache: its stand-in when offline, its Hub weights otherwise."""
    return studio.cache.get_model(
        f"scorer:{name}",
        lambda: load_scorer(name, standin=studio.offline, local_files_only=studio.offline).to(studio.cache.device),
    )


def _failure(label: str, exc: BaseException) -> str:
    return f"{label} gave no scores: {type(exc).__name__}: {exc}"


def _scores(studio: Studio, name: str, pils: list, prompts: list[str], progress: ProgressFn | None, notes: list[str]):
    """(scorer info dict, (N,) float64 scores), or (None, None) with a note saying why the scorer gave none."""
    label = SCORERS[name].label
    try:
        scorer = scorer_model(studio, name)
        out = []
        for start in range(0, len(pils), SCORE_BATCH):
            chunk = slice(start, start + SCORE_BATCH)
            out.append(np.asarray(scorer.score(pils[chunk], prompts[chunk]), dtype=np.float64).reshape(-1))
            if progress:
                progress(min(start + SCORE_BATCH, len(pils)), len(pils), f"{label} scores")
        values = np.concatenate(out)
        if values.shape != (len(pils),):
            raise ValueError(f"returned {values.shape[0]} scores for {len(pils)} images")
    except Exception as exc:  # noqa: BLE001 - a missing module, weights or a broken scorer: say so, others still run
        notes.append(_failure(label, exc))
        return None, None
    info = scorer.info.as_dict()
    if info.get("standin"):
        notes.append(f"{label}: {info['name']} is a tiny random-weight stand-in: its numbers test the plumbing only.")
    return info, values


def _images_and_prompts(studio: Studio, req: ScoreRequest, names: tuple[str, ...]):
    """The images and their prompts; image-only scorers (the aesthetic predictor) need no prompt at all."""
    typed = req.prompts.strip() if isinstance(req.prompts, str) else req.prompts
    if typed or any(SCORERS[n].uses_prompt for n in names):
        return images_with_prompts(studio, req.images, req.prompts)
    images = resolve_set(studio, req.images, "images", minimum=1)
    return images, [""] * len(images)


def per_image_table(names: list[str], prompts: list[str], columns: dict[str, np.ndarray | None]) -> dict:
    """{"columns": [image, prompt, one per scorer], "rows": one per image, then the mean row}; None where none."""
    labels = [SCORERS[n].label for n in columns]
    rows = [
        [name, prompt] + [None if v is None else float(v[i]) for v in columns.values()]
        for i, (name, prompt) in enumerate(zip(names, prompts))
    ]
    rows.append([MEAN_LABEL, ""] + [None if v is None else float(np.mean(v)) for v in columns.values()])
    return {"columns": ["image", "prompt", *labels], "rows": rows}


@returns_memory
def evaluate_scorers(
    studio: Studio, req: ScoreRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> EvalResult:
    """Each chosen scorer on every image with its prompt: a row per image and scorer, a mean row per scorer, and the
    per-image table (image, prompt, a column per scorer, a mean row) in info["table"]."""
    started = time.perf_counter()
    names = check_metrics(req.scorers, tuple(SCORERS), "Scorers")
    names = tuple(dict.fromkeys(names))  # a scorer chosen twice is one column
    images, prompts = _images_and_prompts(studio, req, names)
    notes = list(images.notes)
    pils = decoded_images(images, progress)
    rows, columns, infos = [], {}, {}
    for name in names:
        info, values = _scores(studio, name, pils, prompts, progress, notes)
        columns[name] = values
        if values is None:
            continue
        infos[name] = info
        entry = SCORERS[name]
        convention = f"{info['scale']}; {'higher' if entry.higher_is_better else 'lower'} is better"
        for i, v in enumerate(values):
            subject = f"{images.names[i]}: {prompts[i][:60]}" if prompts[i] else images.names[i]
            rows.append(row(entry.label, v, subject=subject, n=1, extractor=info["name"], convention=convention))
        std = float(np.std(values, ddof=1)) if len(values) > 1 else None
        rows.append(
            row(
                f"{entry.label} (mean)",
                float(np.mean(values)),
                std=std,
                subject=f"{len(values)} images",
                n=len(values),
                extractor=info["name"],
                convention=f"mean over images, std ddof=1; {convention}",
            )
        )
        if not all(math.isfinite(v) for v in values):
            notes.append(f"{entry.label} gave non-finite scores for some images.")
    table = per_image_table(list(images.names), prompts, columns)
    result = EvalResult(rows, notes, info={"scorers": infos, "table": table, "standin": studio.offline})
    result.seconds = time.perf_counter() - started
    return write_result(result, workspace_for(studio, output_dir), "scorers")
