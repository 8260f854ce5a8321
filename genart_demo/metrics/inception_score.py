"""Inception Score: exp of the mean KL(p(y|x) ‖ p(y)) within splits of classifier logits (Salimans et al. 2016)."""

from __future__ import annotations

import numpy as np
import torch

from .frechet import Features


def _as_logits(logits: Features) -> torch.Tensor:
    x = torch.as_tensor(logits).detach().cpu()
    if x.dim() != 2 or x.shape[1] < 2:
        raise ValueError(
            f"Inception Score takes (n, classes) logits with at least 2 classes; got shape {tuple(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError("logits contain NaN or inf; the classifier went wrong")
    return x


def split_scores(logits: Features, splits: int = 10, shuffle: bool = True, seed: int = 2020) -> np.ndarray:
    """exp(mean KL(p(y|x) ‖ p̄(y))) per split, (splits,) float64; see inception_score()."""
    x = _as_logits(logits)  # (n, K)
    n = x.shape[0]
    if not (isinstance(splits, int) and splits >= 1):
        raise ValueError(f"splits must be a positive integer; got {splits!r}")
    if n < splits:
        raise ValueError(
            f"Inception Score with {splits} splits needs at least {splits} samples; got {n}. "
            f"Generate more images or lower splits."
        )
    if shuffle:
        x = x[np.random.RandomState(seed).permutation(n)]
    x = x.double()
    p, log_p = x.softmax(dim=1), x.log_softmax(dim=1)  # (n, K)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_chunk, log_p_chunk = p[lo:hi], log_p[lo:hi]
        marginal = p_chunk.mean(dim=0, keepdim=True)  # (1, K)
        kl = (p_chunk * (log_p_chunk - marginal.log())).sum(dim=1)  # (chunk,)
        scores.append(kl.mean().exp().item())
    return np.asarray(scores)


def inception_score(
    logits: Features, splits: int = 10, shuffle: bool = True, seed: int = 2020, ddof: int = 0
) -> tuple[float, float]:
    """(mean, std) over splits of exp(E_x KL(p(y|x) ‖ p(y))) from (n, classes) logits, computed in float64.

    Defaults are torch-fidelity's isc_features_to_metric exactly: rows permuted by
    np.random.RandomState(seed).permutation(n), split i is rows [i·n//splits, (i+1)·n//splits), std with ddof 0.
    torchmetrics' InceptionScore differs in three ways: it permutes with the global torch.randperm, splits with
    torch.chunk (ceil(n/splits) rows each, so fewer than `splits` chunks when n is not a multiple), and reports
    torch.std (ddof 1). To reproduce it pass logits[torch.randperm(n)] with shuffle=False and ddof=1, with n a
    multiple of splits. The standard number uses the 1008-way logits of the TF Inception graph, 10 splits.
    """
    scores = split_scores(logits, splits, shuffle, seed)
    if ddof >= splits:
        raise ValueError(f"a std with ddof={ddof} needs more than {ddof} splits; got splits={splits}")
    return float(np.mean(scores)), float(np.std(scores, ddof=ddof))


class InceptionScoreAccumulator:
    """Keeps logits batch by batch; compute() is inception_score() on everything seen."""

    def __init__(self, splits: int = 10, shuffle: bool = True, seed: int = 2020, ddof: int = 0):
        self.options = {"splits": splits, "shuffle": shuffle, "seed": seed, "ddof": ddof}
        self.reset()

    def reset(self) -> None:
        self._logits: list[torch.Tensor] = []

    def update(self, logits: Features) -> None:
        self._logits.append(_as_logits(logits))  # (B, K)

    def compute(self) -> tuple[float, float]:
        if not self._logits:
            raise ValueError("InceptionScoreAccumulator.compute() before any update(logits)")
        return inception_score(torch.cat(self._logits), **self.options)


__all__ = ["InceptionScoreAccumulator", "inception_score", "split_scores"]
