"""FID / KID (and CMMD when genart_demo.metrics.cmmd is there) of a run's models against a reference set, cached.

FID / KID: features of genart_demo.metrics' "fid-inception" extractor, cached per image set in a ReferenceCache keyed
by extractor id and content hash; FID by FrechetReference (float64); KID = kid(reference, model) with KID_OPTIONS
(torch-fidelity's draws). `between_models=True` adds the FID of every pair of models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genart_demo.imagesets import ImageSet, read_set

from .features import ProgressFn, decoded_image, image_features, set_hash

KID_OPTIONS = {"subsets": 100, "subset_size": 1000, "seed": 2020}


def fid_tables(
    run: Path,
    images: pd.DataFrame,
    *,
    reference,
    between_models: bool,
    extractor,
    cache_dir: Path,
    batch_size: int,
    progress: ProgressFn | None,
    notes: list[str],
) -> tuple[dict, dict]:
    """({"fid": long table, "fid_matrix": square table (between_models)}, info for scores.json)."""
    # lazy: imports torch (seconds); only this path needs it
    from genart_demo.metrics.frechet import frechet_distance_features
    from genart_demo.metrics.kid import kid
    from genart_demo.metrics.refcache import ReferenceCache

    cache = ReferenceCache(cache_dir)
    ext_id = extractor.info.id
    feats: dict[str, np.ndarray] = {}
    for model, group in images.groupby("model", sort=True):
        if len(group) < 2:
            notes.append(f"{model}: FID/KID need at least 2 images; it has {len(group)}, so it gets none.")
            continue
        paths = [run / p for p in group["path"]]
        entry = cache.get_or_compute(
            ext_id,
            set_hash(list(group["sha256"])),
            lambda paths=paths, model=model: (
                image_features(
                    extractor,
                    lambda i: decoded_image(paths[i]),
                    len(paths),
                    batch_size=batch_size,
                    progress=progress,
                    desc=f"features {model}",
                ),
                None,
            ),
        )
        feats[model] = entry.features  # (n, d) float32
    rows, info = [], {"extractor": extractor.info.as_dict(), "kid": dict(KID_OPTIONS), "reference": None}
    if reference is not None:
        ref_set = reference if isinstance(reference, ImageSet) else read_set(reference)
        notes.extend(ref_set.notes)
        key = ref_set.content_hash()
        ref = cache.get_or_compute(
            ext_id,
            key,
            lambda: (
                image_features(
                    extractor,
                    lambda i: ref_set.decode(i).image,
                    len(ref_set),
                    batch_size=batch_size,
                    progress=progress,
                    desc="features reference",
                ),
                None,
            ),
        )
        info["reference"] = {
            "label": ref_set.label,
            "source": str(reference) if not isinstance(reference, ImageSet) else ref_set.label,
            "content_hash": key,
            "n": len(ref_set),
        }
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
        for a in names:
            rows += [
                {
                    "model": a,
                    "against": b,
                    "fid": float(matrix.loc[a, b]),
                    "kid": np.nan,
                    "kid_std": np.nan,
                    "n": len(feats[a]),
                    "n_against": len(feats[b]),
                }
                for b in names
                if b != a
            ]
        tables["fid_matrix"] = matrix.rename_axis("model").reset_index()
    if reference is not None or between_models:
        tables["fid"] = pd.DataFrame(rows, columns=["model", "against", "fid", "kid", "kid_std", "n", "n_against"])
    return tables, info
