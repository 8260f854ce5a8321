"""Kernel Inception Distance: unbiased MMD² with a polynomial kernel over random subsets (Bińkowski et al. 2018)."""

from __future__ import annotations

import numpy as np

from .frechet import Features, as_float64_features

GRAM_BUDGET = 2**25  # float64 entries (256 MB): up to this, the three full Gram matrices are built once


def polynomial_kernel(
    x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None, coef0: float = 1.0
) -> np.ndarray:
    """(gamma · x yᵀ + coef0)^degree for (n, d) and (m, d) features -> (n, m); gamma defaults to 1/d."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef0) ** degree


def mmd2_unbiased(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD² from (m, m) kernel blocks: off-diagonal means of Kxx and Kyy minus twice the mean of Kxy."""
    m = k_xx.shape[0]
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def subset_indices(n1: int, n2: int, subsets: int, subset_size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The subsets torch-fidelity draws: RandomState(seed), then per subset choice(n1) and choice(n2) without replacement."""
    rng = np.random.RandomState(seed)
    return [
        (rng.choice(n1, subset_size, replace=False), rng.choice(n2, subset_size, replace=False)) for _ in range(subsets)
    ]


def kid_subset_values(
    f1: Features,
    f2: Features,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 2020,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
) -> np.ndarray:
    """MMD² of each subset, (subsets,) float64; see kid()."""
    x, y = as_float64_features(f1, "f1"), as_float64_features(f2, "f2")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"the two feature sets have different widths: {x.shape[1]} and {y.shape[1]}")
    if not (isinstance(subsets, int) and subsets > 0):
        raise ValueError(f"subsets must be a positive integer; got {subsets!r}")
    n1, n2 = x.shape[0], y.shape[0]
    m = min(subset_size, n1, n2)
    if m < 2:
        raise ValueError(
            f"KID needs subsets of at least 2 vectors; got subset_size={subset_size}, sets of {n1} and {n2}"
        )
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    draws = subset_indices(n1, n2, subsets, m, seed)
    if n1 * n1 + n2 * n2 + n1 * n2 <= GRAM_BUDGET:  # whole kernels once; a subset's block sum is wᵀ K w
        k_xx, k_yy = polynomial_kernel(x, x, degree, gamma, coef0), polynomial_kernel(y, y, degree, gamma, coef0)
        k_xy = polynomial_kernel(x, y, degree, gamma, coef0)  # (n1, n1), (n2, n2), (n1, n2)
        w1, w2 = np.zeros((subsets, n1)), np.zeros((subsets, n2))  # 0/1 membership of each subset
        for i, (i1, i2) in enumerate(draws):
            w1[i, i1], w2[i, i2] = 1.0, 1.0
        sum_xx, sum_yy = ((w1 @ k_xx) * w1).sum(1), ((w2 @ k_yy) * w2).sum(1)  # (subsets,)
        sum_xy = ((w1 @ k_xy) * w2).sum(1)
        diag = w1 @ np.diagonal(k_xx) + w2 @ np.diagonal(k_yy)
        values = (sum_xx + sum_yy - diag) / (m * (m - 1)) - 2 * sum_xy / (m * m)
    else:  # large sets: three (m, m) kernels per subset, as torch-fidelity does
        values = np.empty(subsets)
        for i, (i1, i2) in enumerate(draws):
            xs, ys = x[i1], y[i2]
            values[i] = mmd2_unbiased(
                polynomial_kernel(xs, xs, degree, gamma, coef0),
                polynomial_kernel(xs, ys, degree, gamma, coef0),
                polynomial_kernel(ys, ys, degree, gamma, coef0),
            )
    return values


def kid(
    f1: Features,
    f2: Features,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 2020,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD² between (n1, d) and (n2, d) features over random subsets, in float64.

    Kernel k(x, y) = (gamma · x·y + coef0)^degree, gamma = 1/d by default (KID's (x·y/d + 1)³). std has ddof 0,
    like torch-fidelity and torchmetrics. Subsets are drawn exactly as torch-fidelity draws them (RandomState(seed);
    per subset, choice without replacement from set 1 then set 2), so with subset_size <= n1, n2 the result is
    torch_fidelity.metric_kid.kid_features_to_metric's, to ~1e-10 (torch-fidelity computes in the features' own
    dtype: for float32 features it agrees only to float32 rounding). Unlike torch-fidelity, which refuses,
    subset_size is clipped to min(n1, n2); with subset_size = n1 = n2 every subset is the whole set and std is 0.
    torchmetrics draws its subsets with torch.randperm instead, so only its MMD core matches draw for draw.
    Small negative values are valid: the estimator is unbiased and the sets are alike.
    """
    values = kid_subset_values(f1, f2, subsets, subset_size, seed, degree, gamma, coef0)
    return float(np.mean(values)), float(np.std(values))


class KIDAccumulator:
    """Keeps the two feature sets batch by batch; compute() is kid() on everything seen."""

    def __init__(
        self,
        subsets: int = 100,
        subset_size: int = 1000,
        seed: int = 2020,
        degree: int = 3,
        gamma: float | None = None,
        coef0: float = 1.0,
    ):
        self.options = {
            "subsets": subsets,
            "subset_size": subset_size,
            "seed": seed,
            "degree": degree,
            "gamma": gamma,
            "coef0": coef0,
        }
        self.reset()

    def reset(self) -> None:
        self._sets: dict[bool, list[np.ndarray]] = {True: [], False: []}

    def update(self, features: Features, real: bool) -> None:
        self._sets[bool(real)].append(as_float64_features(features))  # (B, d)

    def compute(self) -> tuple[float, float]:
        if not self._sets[True] or not self._sets[False]:
            raise ValueError("KIDAccumulator needs both real and generated features; update(features, real=...) first")
        return kid(np.concatenate(self._sets[True]), np.concatenate(self._sets[False]), **self.options)


__all__ = ["KIDAccumulator", "kid", "kid_subset_values", "mmd2_unbiased", "polynomial_kernel", "subset_indices"]
