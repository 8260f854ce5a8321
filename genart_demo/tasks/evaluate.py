"""The evaluate task for image sets: FID / KID / CMMD / IS / precision-recall / density-coverage, intra-FID, accuracy."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..fields import whole_number_text
from ..imagesets import ImageSet, describe_sizes
from ..media import read_png_settings
from ..studio import Studio
from .common import ProgressFn, workspace_for
from .evaluate_common import (
    LEADERBOARD_PREFIX,
    EvalResult,
    check_metrics,
    request_budget,
    resolve_set,
    returns_memory,
    row,
    write_result,
)

SET_METRICS = ("fid", "kid", "cmmd", "is", "prdc", "intra-fid", "accuracy")  # what section (a) can compute
SET_EXTRACTORS = ("fid-inception", "timm-inception", "dinov2", "clip")  # feature networks people can pick
EXTRACT_BATCH = 16  # images per feature pass


def extractor_for(studio: Studio, name: str):
    """The named feature extractor; its tiny stand-in when the studio is offline."""
    from ..metrics.extractors import load_extractor  # lazy: imports torch (seconds); only this path needs it

    if name not in SET_EXTRACTORS and name != "classifier":
        raise InputError(f"Unknown feature extractor {name!r}. Allowed: {', '.join(SET_EXTRACTORS)}.")
    weights = studio.settings.fid_weights if name == "fid-inception" else None
    return studio.cache.get_model(
        f"extractor:{name}",
        lambda: load_extractor(
            name,
            device=studio.cache.device,
            standin=studio.offline,
            weights_path=weights or None,
            allow_download=not studio.offline,
        ),
    )


def cmmd_clip(studio: Studio):
    """CMMD's own CLIP (metrics.cmmd.CMMD_CLIP, whatever the chosen feature network); its stand-in offline."""
    from ..metrics.cmmd import cmmd_extractor  # lazy: imports torch (seconds); only this path needs it

    def load():
        extractor = cmmd_extractor(standin=studio.offline, local_files_only=studio.offline)
        extractor.scorer.to(studio.cache.device)
        return extractor

    return studio.cache.get_model("extractor:cmmd-clip", load)


def cmmd_row(studio: Studio, ref: ImageSet, gen: ImageSet, subject: str, progress, notes: list[str]) -> dict:
    """The CMMD row: both sets through CMMD's CLIP (features cached like the others), then metrics.cmmd.cmmd."""
    from ..metrics.cmmd import CONVENTION, cmmd  # lazy: imports torch (seconds); only this path needs it

    clip = cmmd_clip(studio)
    a, _ = features_with_cache(studio, clip, ref, progress, f"CMMD CLIP features of set A ({clip.info.id})", notes)
    b, _ = features_with_cache(studio, clip, gen, progress, f"CMMD CLIP features of set B ({clip.info.id})", notes)
    if clip.info.standin:
        notes.append(f"CMMD: {clip.info.name} is a tiny random-weight stand-in: its number tests the plumbing only.")
    return row(
        "CMMD",
        cmmd(a.features, b.features),
        subject=subject,
        n=len(gen),
        extractor=clip.info.name,
        convention=f"{CONVENTION}; resize: {clip.info.resize}",
    )


# --- extracting features ---------------------------------------------------------------------------------


def _batches(images: ImageSet, notes: list[str]):
    """(indices, uint8 (B, 3, H, W)) batches of same-size images, so nothing is resampled twice."""
    import torch  # lazy: torch takes seconds to import; only model work needs it

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


def extract(
    extractor, images: ImageSet, progress: ProgressFn | None, desc: str, notes: list[str]
) -> dict[str, np.ndarray]:
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


def features_with_cache(
    studio: Studio, extractor, images: ImageSet, progress: ProgressFn | None, desc: str, notes: list[str]
):
    """(CachedReference, hit): the set's features from the on-disk cache when this extractor has seen these exact
    files before, else extracted now and stored."""
    from ..metrics.refcache import ReferenceCache  # lazy: imports torch (seconds); only this path needs it

    cache = ReferenceCache(studio.settings.workspace.reference_stats)
    key = images.content_hash()
    cached = cache.get(extractor.info.id, key)
    if cached is not None:
        notes.append(
            f"{images.label}: features read from the reference cache ({extractor.info.id}, {key[:12]}…); "
            "no feature pass needed."
        )
        return cached, True
    got = extract(extractor, images, progress, desc, notes)
    return cache.put(extractor.info.id, key, got["features"], logits=got.get("logits")), False


def class_labels(images: ImageSet) -> list[int | None]:
    """Each image's intended class: a numeric top folder ("207/x.png") or genart's PNG settings (class_label)."""
    labels: list[int | None] = []
    for name, blob in zip(images.names, images.blobs):
        top = name.split("/")[0] if "/" in name else ""
        if whole_number_text(top) is not None:
            labels.append(whole_number_text(top))
            continue
        try:
            settings = read_png_settings(io.BytesIO(blob))
        except (OSError, ValueError, SyntaxError):  # not a readable PNG (or unreadable settings): no label from it
            settings = None
        index = getattr(settings, "class_index", None)
        label = getattr(settings, "class_label", None)
        labels.append(index if index is not None else whole_number_text(str(label or "")))
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


def given_name(source: Any) -> str:
    """A set's name as the user gave it: a folder's or zip's name, a leaderboard run's, else "images" (uploads)."""
    text = str(getattr(source, "name", source)).strip() if isinstance(source, (str, Path)) else ""
    if text.startswith(LEADERBOARD_PREFIX):
        return text[len(LEADERBOARD_PREFIX) :]
    return Path(text).name or text or "images"


def _labelled(features: np.ndarray, labels: list[int | None]) -> tuple[np.ndarray, np.ndarray]:
    keep = [i for i, label in enumerate(labels) if label is not None]
    return features[keep], np.array([labels[i] for i in keep], dtype=np.int64)


@returns_memory
def evaluate_sets(
    studio: Studio, req: SetsRequest, *, progress: ProgressFn | None = None, output_dir: Path | None = None
) -> EvalResult:
    """Compare a generated set with a reference set; every row names the extractor and resize that produced it."""
    # lazy: imports torch (seconds); only this path needs it
    from ..metrics.classes import classification_accuracy, intra_fid
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
    # IS and accuracy need no reference set; a set given alone is no "set B" and is named as it was given
    alone = set(metrics) <= {"is", "accuracy"} and req.reference in (None, "", [])
    name_b = given_name(req.generated) if alone else "set B"
    budget = request_budget(studio)  # the two sets share one: a zip given in both counts twice
    gen = resolve_set(studio, req.generated, name_b if alone else "set B (generated)", budget=budget)
    ref = None if alone else resolve_set(studio, req.reference, "set A (reference)", budget=budget)
    notes = (ref.notes if ref else []) + gen.notes
    main = bool(set(metrics) - {"cmmd"})  # CMMD brings its own CLIP: alone, it needs no pass of `extractor`
    b = main and features_with_cache(studio, extractor, gen, progress, f"features of {name_b} ({info.id})", notes)[0]
    a = (
        main
        and ref
        and features_with_cache(studio, extractor, ref, progress, f"features of set A ({info.id})", notes)[0]
    )
    n_a, n_b = len(ref) if ref else 0, len(gen)
    subject, ext, rows = f"B ({n_b}) vs A ({n_a})", info.name, []
    if info.standin and main:
        notes.append(f"{info.name} is a tiny random-weight stand-in: these numbers test the plumbing only.")
    if "fid" in metrics:
        if min(n_a, n_b) < info.dim:
            notes.append(
                f"FID with {min(n_a, n_b)} images per set < the feature width {info.dim}: the covariance is "
                "rank-deficient and the estimate is biased upwards; compare FIDs only at equal n."
            )
        rows.append(
            row(
                "FID",
                a.reference().distance(b.features),
                subject=subject,
                n=n_b,
                extractor=ext,
                convention=f"Fréchet distance, float64; resize: {info.resize}",
            )
        )
    if "kid" in metrics:
        size = min(req.kid_subset_size, n_a, n_b)
        if size < req.kid_subset_size:
            notes.append(f"KID subsets hold {size} images (the smaller set), not {req.kid_subset_size}.")
        mean, std = kid(a.features, b.features, subsets=req.kid_subsets, subset_size=size)
        rows.append(
            row(
                "KID",
                mean,
                std=std,
                subject=subject,
                n=n_b,
                extractor=ext,
                convention=f"unbiased MMD², cubic polynomial kernel, {req.kid_subsets} subsets of {size}, seed 2020",
            )
        )
    if "cmmd" in metrics:
        rows.append(cmmd_row(studio, ref, gen, subject, progress, notes))
    if "is" in metrics:
        if b.logits is None:
            notes.append(f"Inception Score skipped: {info.name} has no classifier head (use fid-inception).")
        else:
            for label, cached, n in ((name_b, b, n_b), ("set A", a, n_a))[: 2 if a else 1]:
                splits = min(10, n)
                mean, std = inception_score(cached.logits, splits=splits)
                rows.append(
                    row(
                        "IS",
                        mean,
                        std=std,
                        subject=f"{label} ({n})",
                        n=n,
                        extractor=ext,
                        convention=f"{splits} splits, std ddof=0 (torch-fidelity), shuffled with seed 2020",
                    )
                )
    if "prdc" in metrics:
        if min(n_a, n_b) <= 5:
            notes.append("Precision/recall/density/coverage skipped: they need more than 5 images per set (k=5).")
        else:
            for metric, value in prdc(a.features, b.features).items():
                k = 3 if metric in ("precision", "recall") else 5
                rows.append(
                    row(
                        metric.capitalize(),
                        value,
                        subject=subject,
                        n=n_b,
                        extractor=ext,
                        convention=f"k={k} nearest neighbours",
                    )
                )
    if "intra-fid" in metrics or "accuracy" in metrics:
        labels_b = class_labels(gen)
        if all(label is None for label in labels_b):
            raise InputError(
                f"Intra-FID and accuracy need class labels for {name_b}: put images in numeric class folders "
                "(e.g. 207/img.png) or use PNGs genart wrote for a class-conditional model."
            )
        if "intra-fid" in metrics:
            if a is None:
                raise InputError("Intra-FID needs a reference set A with class labels.")
            fa, la = _labelled(a.features, class_labels(ref))
            fb, lb = _labelled(b.features, labels_b)
            per_class = intra_fid(fa, la, fb, lb)
            for cls, value in sorted(per_class.items()):
                rows.append(
                    row(
                        f"FID class {cls}",
                        value,
                        subject=subject,
                        n=int((lb == cls).sum()),
                        extractor=ext,
                        convention="per-class Fréchet distance",
                    )
                )
            if per_class:
                rows.append(
                    row(
                        "Intra-FID (mean)",
                        float(np.mean(list(per_class.values()))),
                        subject=subject,
                        n=len(per_class),
                        extractor=ext,
                        convention="mean over classes",
                    )
                )
        if "accuracy" in metrics:
            classifier = extractor_for(studio, "classifier")
            logits = extract(classifier, gen, progress, f"classifying {name_b}", notes)["logits"]
            lg, lb = _labelled(logits, labels_b)
            for metric, value in classification_accuracy(lg, lb).items():
                rows.append(
                    row(
                        f"Accuracy {metric}",
                        value,
                        subject=name_b,
                        n=len(lb),
                        extractor=classifier.info.name,
                        convention="pretrained classifier on generated images vs intended class",
                    )
                )
    result = EvalResult(
        rows,
        notes,
        info={
            "extractor": info.as_dict(),
            "set_a": ref and ref.label,
            "set_b": gen.label,
            "n_a": n_a,
            "n_b": n_b,
            "hash_a": ref and ref.content_hash(),
            "hash_b": gen.content_hash(),
            "standin": studio.offline,
        },
    )
    result.seconds = time.perf_counter() - started
    return write_result(result, workspace_for(studio, output_dir), "sets")
