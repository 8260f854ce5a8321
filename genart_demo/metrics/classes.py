"""Class-conditional metrics: intra-FID (FID per class) and top-k accuracy of a classifier on generated images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .frechet import Features, as_float64_features, frechet_distance_features


def _as_labels(labels, n: int, what: str) -> np.ndarray:
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{what} must be a 1-d sequence with one label per feature row ({n}); got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{what} must be integer class ids; got dtype {array.dtype}")
    return array


def intra_fid(real_features: Features, real_labels, fake_features: Features, fake_labels) -> dict[int, float]:
    """{class id: FID between the real and generated features of that class}, for classes present in both sets.

    Each class uses frechet_distance_features (the cross-Gram route when both class sets are smaller than d).
    A class present in both with fewer than 2 samples on either side is refused (no covariance), with its id
    and counts; classes present on one side only are skipped. Averaging is left to the caller (the usual
    intra-FID is the unweighted mean over classes). Refuses inputs that share no class.
    """
    real, fake = (
        as_float64_features(real_features, "real features"),
        as_float64_features(fake_features, "fake features"),
    )
    r_lab = _as_labels(real_labels, real.shape[0], "real_labels")
    f_lab = _as_labels(fake_labels, fake.shape[0], "fake_labels")
    shared = sorted(set(r_lab.tolist()) & set(f_lab.tolist()))
    if not shared:
        raise ValueError("intra-FID needs classes present in both sets; the real and generated labels share none")
    for c in shared:
        n_real, n_fake = int((r_lab == c).sum()), int((f_lab == c).sum())
        if n_real < 2 or n_fake < 2:
            raise ValueError(
                f"class {c} has {n_real} real and {n_fake} generated samples; intra-FID needs at least 2 "
                "of each per class (and far more for a meaningful number)"
            )
    return {int(c): frechet_distance_features(real[r_lab == c], fake[f_lab == c]) for c in shared}


def classification_accuracy(logits: Features, labels, topk: Sequence[int] = (1, 5)) -> dict[str, float]:
    """{"top1": ..., "top5": ...}: share of rows whose intended label is among the k largest logits.

    logits: (n, classes) from a pretrained classifier run on generated images; labels: the (n,) class each image
    was generated for. Ties among logits are broken by torch.topk (index order is not guaranteed).
    """
    x = torch.as_tensor(logits).detach().cpu()
    if x.dim() != 2:
        raise ValueError(f"logits must be (n, classes); got shape {tuple(x.shape)}")
    y = torch.from_numpy(_as_labels(labels, x.shape[0], "labels").astype(np.int64))
    if x.shape[0] == 0:
        raise ValueError("classification accuracy needs at least one row of logits")
    if ((y < 0) | (y >= x.shape[1])).any():
        raise ValueError(f"labels must be class ids in [0, {x.shape[1]}); got range [{int(y.min())}, {int(y.max())}]")
    if not topk or any(not isinstance(k, int) or not 1 <= k <= x.shape[1] for k in topk):
        raise ValueError(f"topk must be integers in [1, {x.shape[1]}] (the number of classes); got {tuple(topk)}")
    ranked = x.topk(max(topk), dim=1).indices  # (n, max k)
    hits = ranked == y[:, None]  # (n, max k), at most one True per row
    return {f"top{k}": float(hits[:, :k].any(dim=1).double().mean()) for k in topk}


__all__ = ["classification_accuracy", "intra_fid"]
