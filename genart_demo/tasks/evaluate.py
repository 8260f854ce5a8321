"""The evaluate task for image sets: FID / KID / IS / precision-recall / density-coverage, intra-FID and accuracy."""
from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputError
from ..imagesets import MIN_SET_IMAGES, ImageSet, describe_sizes, read_files, read_set
from ..media import read_png_settings
from ..studio import Studio
from ..atomic import atomic_write
from ..workspace import Workspace
from .common import ProgressFn, workspace_for

SET_METRICS = ("fid", "kid", "is", "prdc", "intra-fid", "accuracy")  # what section (a) can compute
SET_EXTRACTORS = ("fid-inception", "timm-inception", "dinov2", "clip")  # feature networks people can pick
EXTRACT_BATCH = 16  # images per feature pass
LEADERBOARD_PREFIX = "leaderboard:"  # "leaderboard:<run>" names a run folder under <outputs>/leaderboard


@dataclass
class EvalResult:
    """One evaluation: rows of a table (also written as CSV and JSON), plus notes and, for some, images."""

    rows: list[dict[str, Any]]  # each: metric, value, std, subject, n, extractor, convention
    notes: list[str] = field(default_factory=list)
    csv_path: Path | None = None
    json_path: Path | None = None
    images: list[tuple[Any, str]] = field(default_factory=list)  # (PIL image, caption) for galleries
    info: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def row(metric: str, value: float, *, subject: str, std: float | None = None, n: int | None = None,
        extractor: str = "", convention: str = "") -> dict[str, Any]:
    return {"metric": metric, "value": float(value), "std": None if std is None else float(std), "subject": subject,
            "n": n, "extractor": extractor, "convention": convention}


def write_result(result: EvalResult, workspace: Workspace, kind: str) -> EvalResult:
    """Write the table as CSV and everything as JSON under the workspace's evaluations folder (atomically)."""
    base = workspace.evaluation_base(kind)
    columns = ["metric", "value", "std", "subject", "n", "extractor", "convention"]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: r.get(k) for k in columns} for r in result.rows)
    result.csv_path = atomic_write(base.with_suffix(".csv"), table.getvalue())
    result.json_path = atomic_write(base.with_suffix(".json"), json.dumps(
        {"kind": kind, "rows": result.rows, "notes": result.notes, "info": result.info, "genart": __version__},
        indent=2, default=str))
    return result


def extractor_for(studio: Studio, name: str):
    """The named feature extractor; its tiny stand-in when the studio is offline."""
    from ..metrics.extractors import load_extractor

    if name not in SET_EXTRACTORS and name != "classifier":
        raise InputError(f"Unknown feature extractor {name!r}. Allowed: {', '.join(SET_EXTRACTORS)}.")
    weights = studio.settings.fid_weights if name == "fid-inception" else None
    return studio.cache.get_model(f"extractor:{name}", lambda: load_extractor(
        name, device=studio.cache.device, standin=studio.offline, weights_path=weights or None,
        allow_download=not studio.offline))


# --- reading sets and extracting features ------------------------------------------------------------------


def resolve_set(studio: Studio, source: Any, label: str, minimum: int = MIN_SET_IMAGES) -> ImageSet:
    """A zip (path or upload), a list of uploaded files, a folder under an allowed root, or "leaderboard:<run>"."""
    if source is None or source == "" or source == []:
        raise InputError(f"{label}: no images given. Allowed: a .zip, a folder under {allowed_roots_text(studio)}, "
                         f"or a leaderboard run.")
    if isinstance(source, (list, tuple)):
        found = read_files([getattr(s, "name", s) for s in source], label=label, minimum=minimum)
    else:
        source = str(getattr(source, "name", source))
        if source.startswith(LEADERBOARD_PREFIX):
            try:
                source = str(studio.settings.workspace.run(source[len(LEADERBOARD_PREFIX):]))
            except InputError as exc:
                raise InputError(f"{label}: {exc}") from None
        found = read_set(source, roots=allowed_roots(studio), label=label, minimum=minimum)
    found.label, found.limit = label, studio.settings.max_pixels
    return found


def allowed_roots(studio: Studio) -> list[Path]:
    return list(studio.settings.eval_roots) or [studio.settings.output_dir]


def allowed_roots_text(studio: Studio) -> str:
    return ", ".join(str(p) for p in allowed_roots(studio))


def leaderboard_runs(studio: Studio) -> list[str]:
    """The leaderboard's runs as set sources ("leaderboard:<run>"), newest first."""
    return [LEADERBOARD_PREFIX + name for name in studio.settings.workspace.run_names()]


def _batches(images: ImageSet, notes: list[str]):
    """(indices, uint8 (B, 3, H, W)) batches of same-size images, so nothing is resampled twice."""
    import torch

    by_size: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
    sizes, modes = [], []
    for i in range(len(images)):
        loaded = images.decode(i)
        pil = loaded.image
        sizes.append(loaded.original_size)
        modes.append(loaded.original_mode)
        group = by_size.setdefault(pil.size, [])
        group.append((i, np.asarray(pil, dtype=np.uint8)))
        if len(group) == EXTRACT_BATCH:
            yield [g[0] for g in group], torch.from_numpy(np.stack([g[1] for g in group])).permute(0, 3, 1, 2)
            group.clear()
    for group in by_size.values():
        if group:
            yield [g[0] for g in group], torch.from_numpy(np.stack([g[1] for g in group])).permute(0, 3, 1, 2)
    notes.extend(f"{images.label}: {n}" for n in describe_sizes(sizes, modes))


def extract(extractor, images: ImageSet, progress: ProgressFn | None, desc: str, notes: list[str]) -> dict[str, np.ndarray]:
    """Features (and logits where the network has them) for every image, in the set's order."""
    n = len(images)
    out: dict[str, np.ndarray] = {}
    done = 0
    for indices, batch in _batches(images, notes):
        got = extractor(batch)
        for key, value in got.items():
            value = value.detach().float().cpu().numpy()
            if key not in out:
                out[key] = np.zeros((n, value.shape[1]), dtype=np.float32)
            out[key][indices] = value
        done += len(indices)
        if progress:
            progress(done, n, desc)
    return out


def features_with_cache(studio: Studio, extractor, images: ImageSet, progress: ProgressFn | None, desc: str,
                        notes: list[str]):
    """(CachedReference, hit): the set's features from the on-disk cache when this extractor has seen these exact
    files before, else extracted now and stored."""
    from ..metrics.refcache import ReferenceCache

    cache = ReferenceCache(studio.settings.workspace.reference_stats)
    key = images.content_hash()
    cached = cache.get(extractor.info.id, key)
    if cached is not None:
        notes.append(f"{images.label}: features read from the reference cache ({extractor.info.id}, {key[:12]}…); "
                     "no feature pass needed.")
        return cached, True
    got = extract(extractor, images, progress, desc, notes)
    return cache.put(extractor.info.id, key, got["features"], logits=got.get("logits")), False


def class_labels(images: ImageSet) -> list[int | None]:
    """Each image's intended class: a numeric top folder ("207/x.png") or genart's PNG settings (class_label)."""
    labels: list[int | None] = []
    for name, blob in zip(images.names, images.blobs):
        top = name.split("/")[0] if "/" in name else ""
        if top.isdigit():
            labels.append(int(top))
            continue
        try:
            settings = read_png_settings(io.BytesIO(blob))
        except (OSError, ValueError, SyntaxError):  # not a readable PNG (or unreadable settings): no label from it
            settings = None
        index = getattr(settings, "class_index", None)
        label = getattr(settings, "class_label", None)
        labels.append(index if index is not None else int(label) if str(label or "").isdigit() else None)
    return labels


# --- section (a): two image sets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SetsRequest:
    reference: Any  # set A, the real/reference images: zip, folder under an allowed root, uploads, "leaderboard:<run>"
    generated: Any  # set B, the generated images, same kinds
    metrics: tuple[str, ...] = ("fid", "kid", "is", "prdc")  # a subset of SET_METRICS
    extractor: str = "fid-inception"  # one of SET_EXTRACTORS
    kid_subset_size: int = 1000  # clipped to the smaller set
    kid_subsets: int = 100


def check_metrics(names: Any, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = tuple(str(n).lower() for n in (names or ()))
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise InputError(f"{what}: {', '.join(unknown) or 'nothing chosen'} — allowed: {', '.join(allowed)}.")
    return names


def _labelled(features: np.ndarray, labels: list[int | None]) -> tuple[np.ndarray, np.ndarray]:
    keep = [i for i, label in enumerate(labels) if label is not None]
    return features[keep], np.array([labels[i] for i in keep], dtype=np.int64)


def evaluate_sets(studio: Studio, req: SetsRequest, *, progress: ProgressFn | None = None,
                  output_dir: Path | None = None) -> EvalResult:
    """Compare a generated set with a reference set; every row names the extractor and resize that produced it."""
    from ..metrics import classification_accuracy, intra_fid
    from ..metrics.inception_score import inception_score
    from ..metrics.kid import kid
    from ..metrics.prdc import prdc

    started = time.perf_counter()
    metrics = check_metrics(req.metrics, SET_METRICS, "Set metrics")
    for name, value, low in (("KID subset size", req.kid_subset_size, 2), ("KID subsets", req.kid_subsets, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 100_000:
            raise InputError(f"{name} must be a whole number from {low} to 100000; got {value!r}.")
    extractor = extractor_for(studio, req.extractor)
    info = extractor.info
    one_set = set(metrics) <= {"is", "accuracy"}  # these need no reference set
    gen = resolve_set(studio, req.generated, "set B (generated)")
    ref = None if one_set and req.reference in (None, "", []) else resolve_set(studio, req.reference, "set A (reference)")
    notes = (ref.notes if ref else []) + gen.notes
    b, _ = features_with_cache(studio, extractor, gen, progress, f"features of set B ({info.id})", notes)
    a = ref and features_with_cache(studio, extractor, ref, progress, f"features of set A ({info.id})", notes)[0]
    n_a, n_b = len(ref) if ref else 0, len(gen)
    subject, ext, rows = f"B ({n_b}) vs A ({n_a})", info.name, []
    if info.standin:
        notes.append(f"{info.name} is a tiny random-weight stand-in: these numbers test the plumbing only.")
    if "fid" in metrics:
        if min(n_a, n_b) < info.dim:
            notes.append(f"FID with {min(n_a, n_b)} images per set < the feature width {info.dim}: the covariance is "
                         "rank-deficient and the estimate is biased upwards; compare FIDs only at equal n.")
        rows.append(row("FID", a.reference().distance(b.features), subject=subject, n=n_b, extractor=ext,
                        convention=f"Fréchet distance, float64; resize: {info.resize}"))
    if "kid" in metrics:
        size = min(req.kid_subset_size, n_a, n_b)
        if size < req.kid_subset_size:
            notes.append(f"KID subsets hold {size} images (the smaller set), not {req.kid_subset_size}.")
        mean, std = kid(a.features, b.features, subsets=req.kid_subsets, subset_size=size)
        rows.append(row("KID", mean, std=std, subject=subject, n=n_b, extractor=ext,
                        convention=f"unbiased MMD², cubic polynomial kernel, {req.kid_subsets} subsets of {size}, seed 2020"))
    if "is" in metrics:
        if b.logits is None:
            notes.append(f"Inception Score skipped: {info.name} has no classifier head (use fid-inception).")
        else:
            for label, cached, n in (("B", b, n_b), ("A", a, n_a))[: 2 if a else 1]:
                splits = min(10, n)
                mean, std = inception_score(cached.logits, splits=splits)
                rows.append(row("IS", mean, std=std, subject=f"set {label} ({n})", n=n, extractor=ext,
                                convention=f"{splits} splits, std ddof=0 (torch-fidelity), shuffled with seed 2020"))
    if "prdc" in metrics:
        if min(n_a, n_b) <= 5:
            notes.append("Precision/recall/density/coverage skipped: they need more than 5 images per set (k=5).")
        else:
            for metric, value in prdc(a.features, b.features).items():
                k = 3 if metric in ("precision", "recall") else 5
                rows.append(row(metric.capitalize(), value, subject=subject, n=n_b, extractor=ext,
                                convention=f"k={k} nearest neighbours"))
    if "intra-fid" in metrics or "accuracy" in metrics:
        labels_b = class_labels(gen)
        if all(label is None for label in labels_b):
            raise InputError("Intra-FID and accuracy need class labels for set B: put images in numeric class folders "
                             "(e.g. 207/img.png) or use PNGs genart wrote for a class-conditional model.")
        if "intra-fid" in metrics:
            if a is None:
                raise InputError("Intra-FID needs a reference set A with class labels.")
            fa, la = _labelled(a.features, class_labels(ref))
            fb, lb = _labelled(b.features, labels_b)
            per_class = intra_fid(fa, la, fb, lb)
            for cls, value in sorted(per_class.items()):
                rows.append(row(f"FID class {cls}", value, subject=subject, n=int((lb == cls).sum()), extractor=ext,
                                convention="per-class Fréchet distance"))
            if per_class:
                rows.append(row("Intra-FID (mean)", float(np.mean(list(per_class.values()))), subject=subject,
                                n=len(per_class), extractor=ext, convention="mean over classes"))
        if "accuracy" in metrics:
            classifier = extractor_for(studio, "classifier")
            logits = extract(classifier, gen, progress, "classifying set B", notes)["logits"]
            lg, lb = _labelled(logits, labels_b)
            for metric, value in classification_accuracy(lg, lb).items():
                rows.append(row(f"Accuracy {metric}", value, subject="set B", n=len(lb), extractor=classifier.info.name,
                                convention="pretrained classifier on generated images vs intended class"))
    result = EvalResult(rows, notes, info={"extractor": info.as_dict(), "set_a": ref and ref.label,
                                           "set_b": gen.label, "n_a": n_a, "n_b": n_b,
                                           "hash_a": ref and ref.content_hash(),
                                           "hash_b": gen.content_hash(), "standin": studio.offline})
    result.seconds = time.perf_counter() - started
    return write_result(result, workspace_for(studio, output_dir), "sets")
