"""Set metrics of a run's models: FID / KID / CMMD against a reference set, FID between models; features cached.

- **FID / KID**: features of genart_demo.metrics' "fid-inception" extractor; FID by FrechetReference (float64);
  KID = kid(reference, model) with KID_OPTIONS (100 subsets of min(1000, n), seed 2020: torch-fidelity's draws).
  `between_models=True` adds the FID of every pair of models.
- **CMMD** (genart_demo.metrics.cmmd, "Rethinking FID"): 1000·biased MMD² of unit-norm CLIP image embeddings
  (cmmd_extractor: CLIP ViT-L/14@336 as cmmd.CMMD_CLIP says, or the tiny stand-in CLIP), against the reference only.

Every feature set (the reference, each model's images) is cached in a ReferenceCache keyed by extractor id and
content hash, so scoring again extracts nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genart_demo.imagesets import ImageSet, read_set

from .features import ProgressFn, decoded_image, image_features, set_hash

KID_OPTIONS = {"subsets": 100, "subset_size": 1000, "seed": 2020}
FID_COLUMNS = ["model", "against", "fid", "kid", "kid_std", "cmmd", "n", "n_against"]


def _model_features(cache, extractor, run: Path, images: pd.DataFrame, batch_size: int, progress, what: str):
    """{model: (n, d) float32 features} of each model with at least 2 images."""
    feats: dict[str, np.ndarray] = {}
    for model, group in images.groupby("model", sort=True):
        if len(group) < 2:
            continue
        paths = [run / p for p in group["path"]]
        entry = cache.get_or_compute(
            extractor.info.id,
            set_hash(list(group["sha256"])),
            lambda paths=paths, model=model: (
                image_features(
                    extractor,
                    lambda i: decoded_image(paths[i]),
                    len(paths),
                    batch_size=batch_size,
                    progress=progress,
                    desc=f"{what} {model}",
                ),
                None,
            ),
        )
        feats[model] = entry.features  # (n, d) float32
    return feats


def _reference_entry(cache, extractor, ref_set: ImageSet, batch_size: int, progress, what: str):
    """The cached reference features (CachedReference) of `extractor`."""
    return cache.get_or_compute(
        extractor.info.id,
        ref_set.content_hash(),
        lambda: (
            image_features(
                extractor,
                lambda i: ref_set.decode(i).image,
                len(ref_set),
                batch_size=batch_size,
                progress=progress,
                desc=f"{what} reference",
            ),
            None,
        ),
    )


def fid_tables(
    run: Path,
    images: pd.DataFrame,
    *,
    reference,
    between_models: bool,
    extractor,
    cmmd_extractor=None,
    cache_dir: Path,
    batch_size: int,
    progress: ProgressFn | None,
    notes: list[str],
) -> tuple[dict, dict]:
    """({"fid": long table, "fid_matrix": square table (between_models)}, info for scores.json). With a reference
    and a `cmmd_extractor`, each model's row against the reference carries its CMMD."""
    # lazy: imports torch (seconds); only this path needs it
    from genart_demo.metrics.cmmd import CONVENTION, cmmd
    from genart_demo.metrics.frechet import frechet_distance_features
    from genart_demo.metrics.kid import kid
    from genart_demo.metrics.refcache import ReferenceCache

    cache = ReferenceCache(cache_dir)
    notes += [
        f"{model}: FID/KID need at least 2 images; it has {len(group)}, so it gets none."
        for model, group in images.groupby("model", sort=True)
        if len(group) < 2
    ]
    feats = _model_features(cache, extractor, run, images, batch_size, progress, "features")
    rows, info = [], {"extractor": extractor.info.as_dict(), "kid": dict(KID_OPTIONS), "reference": None, "cmmd": None}
    if reference is not None:
        ref_set = reference if isinstance(reference, ImageSet) else read_set(reference)
        notes.extend(ref_set.notes)
        ref = _reference_entry(cache, extractor, ref_set, batch_size, progress, "features")
        info["reference"] = {
            "label": ref_set.label,
            "source": str(reference) if not isinstance(reference, ImageSet) else ref_set.label,
            "content_hash": ref_set.content_hash(),
            "n": len(ref_set),
        }
        cmmds: dict[str, float] = {}
        if cmmd_extractor is not None:
            clip_ref = _reference_entry(cache, cmmd_extractor, ref_set, batch_size, progress, "CLIP features")
            clip_feats = _model_features(cache, cmmd_extractor, run, images, batch_size, progress, "CLIP features")
            cmmds = {m: cmmd(clip_ref.features, f) for m, f in clip_feats.items()}
            info["cmmd"] = {"extractor": cmmd_extractor.info.as_dict(), "convention": CONVENTION}
        frechet = ref.reference()
        for model, f in feats.items():
            kid_mean, kid_std = kid(ref.features, f, **KID_OPTIONS)
            rows.append(
                {
                    "model": model,
                    "against": "reference",
                    "fid": frechet.distance(f),
                    "kid": kid_mean,
                    "kid_std": kid_std,
                    "cmmd": cmmds.get(model, np.nan),
                    "n": len(f),
                    "n_against": len(ref.features),
                }
            )
    tables: dict[str, pd.DataFrame] = {}
    if between_models:
        names = sorted(feats)
        matrix = pd.DataFrame(0.0, index=names, columns=names)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                matrix.loc[a, b] = matrix.loc[b, a] = frechet_distance_features(feats[a], feats[b])
        rows += [
            {"model": a, "against": b, "fid": float(matrix.loc[a, b]), "n": len(feats[a]), "n_against": len(feats[b])}
            for a in names
            for b in names
            if b != a
        ]
        tables["fid_matrix"] = matrix.rename_axis("model").reset_index()
    if reference is not None or between_models:
        tables["fid"] = pd.DataFrame(rows, columns=FID_COLUMNS)
    return tables, info


__all__ = ["FID_COLUMNS", "KID_OPTIONS", "fid_tables"]
