"""Fréchet distance between Gaussian fits of two feature sets (FID, FD-DINOv2, intra-FID): stats, routes, reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
import torch
from scipy.linalg.blas import dtrmm

Features = np.ndarray | torch.Tensor


def as_float64_features(features: Features, what: str = "features") -> np.ndarray:
    """A (n, d) float64 numpy copy-or-view of a torch or numpy feature matrix; refuses other shapes."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().to(torch.float64).numpy()
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{what} must be a (n, d) matrix; got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contain NaN or inf; a feature extractor went wrong")
    return array


@dataclass(frozen=True, eq=False)
class GaussianStats:
    """Mean and (n - 1)-normalised covariance of n feature vectors, float64."""

    mu: np.ndarray  # (d,)
    sigma: np.ndarray  # (d, d)
    n: int  # how many vectors the fit saw

    def __post_init__(self):
        mu, sigma = np.asarray(self.mu, dtype=np.float64), np.asarray(self.sigma, dtype=np.float64)
        if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
            raise ValueError(f"GaussianStats needs mu (d,) and sigma (d, d); got {mu.shape} and {sigma.shape}")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "n", int(self.n))

    @property
    def dim(self) -> int:
        return self.mu.shape[0]


def _stats_from_shifted_sums(shift: np.ndarray, s: np.ndarray, ss: np.ndarray, n: int) -> GaussianStats:
    """Stats from sums of (x - shift) and (x - shift)(x - shift)^T; the shift keeps the subtraction well conditioned."""
    if n < 2:
        raise ValueError(f"a covariance needs at least 2 feature vectors; got {n}")
    m = s / n  # (d,)
    sigma = (ss - n * np.outer(m, m)) / (n - 1)  # (d, d)
    return GaussianStats(mu=shift + m, sigma=(sigma + sigma.T) / 2, n=n)


def gaussian_stats(features: Features) -> GaussianStats:
    """Mean and covariance of (n, d) features in float64 (n >= 2)."""
    x = as_float64_features(features)
    if x.shape[0] < 2:
        raise ValueError(f"a covariance needs at least 2 feature vectors; got {x.shape[0]}")
    mu = x.mean(axis=0)
    xc = x - mu  # (n, d)
    sigma = xc.T @ xc / (x.shape[0] - 1)  # numpy runs X^T X as one symmetric rank-k update
    return GaussianStats(mu=mu, sigma=sigma, n=x.shape[0])


class FeatureStats:
    """Accumulates running float64 sums of x and x x^T over batches; compute() gives the same GaussianStats as one shot.

    Sums are taken about the first batch's mean, so large offsets do not cancel catastrophically. With
    keep_features=True the features themselves are kept too (for the cross-Gram route, KID and PRDC).
    """

    def __init__(self, keep_features: bool = False):
        self.keep_features = keep_features
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self._shift: np.ndarray | None = None  # (d,)
        self._sum: np.ndarray | None = None  # (d,)
        self._outer: np.ndarray | None = None  # (d, d)
        self._kept: list[np.ndarray] = []

    def update(self, features: Features) -> None:
        x = as_float64_features(features)  # (B, d)
        if x.shape[0] == 0:
            return
        if self._shift is None:
            d = x.shape[1]
            self._shift, self._sum, self._outer = x.mean(axis=0), np.zeros(d), np.zeros((d, d))
        elif x.shape[1] != self._shift.shape[0]:
            raise ValueError(f"feature width changed from {self._shift.shape[0]} to {x.shape[1]} between batches")
        xs = x - self._shift
        self._sum += xs.sum(axis=0)
        self._outer += xs.T @ xs
        self.n += x.shape[0]
        if self.keep_features:
            self._kept.append(x)

    def compute(self) -> GaussianStats:
        if self._shift is None:
            raise ValueError(
                "FeatureStats.compute() before any update(); a covariance needs at least 2 feature vectors"
            )
        return _stats_from_shifted_sums(self._shift, self._sum, self._outer, self.n)

    def features(self) -> np.ndarray:
        """All kept features, (n, d) float64; only with keep_features=True."""
        if not self.keep_features:
            raise ValueError(
                "FeatureStats(keep_features=False) does not keep features; construct it with keep_features=True"
            )
        if not self._kept:
            raise ValueError("no features yet; call update() first")
        return np.concatenate(self._kept, axis=0)


def psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root R of a covariance by eigh, negative (rounding) eigenvalues clipped to 0; R @ R = sigma."""
    w, v = np.linalg.eigh(sigma)  # (d,), (d, d)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _trace_sqrt_with_factor(factor: np.ndarray, sigma2: np.ndarray, lower: bool = False) -> float:
    """tr sqrt(Σ1 Σ2) given any F with Σ1 = F F^T: F^T Σ2 F is symmetric PSD and similar to Σ1 Σ2.

    lower=True says F is lower-triangular (a Cholesky factor): two triangular products (half a gemm's flops each).
    """
    if lower:
        f = np.asfortranarray(factor)
        m = dtrmm(1.0, f, np.asfortranarray(sigma2), side=1, lower=1)  # Σ2 F
        m = dtrmm(1.0, f, m, side=0, lower=1, trans_a=1, overwrite_b=1)  # Fᵀ Σ2 F
    else:
        m = factor.T @ sigma2 @ factor  # (d, d)
    w = scipy.linalg.eigh(m, eigvals_only=True, overwrite_a=True, check_finite=False)  # reads one triangle
    # eigenvalues below the rounding floor (d·eps·λmax, as numpy's matrix_rank) are zeros of a singular Σ:
    # left in, their square roots (~√(eps·λmax) each) would bias the trace upwards.
    w[w < w.shape[0] * np.finfo(np.float64).eps * max(w[-1], 0.0)] = 0.0
    return float(np.sqrt(w).sum())


def _cholesky_or_none(sigma: np.ndarray) -> np.ndarray | None:
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:  # singular (n <= d, constant features): the eigh route handles it
        return None


def _trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, method: str) -> float:
    if method not in ("auto", "eigh"):
        raise ValueError(f"method must be 'auto' or 'eigh'; got {method!r}")
    if method == "auto":  # Cholesky is ~10x cheaper than eigh and exact when one covariance is positive definite
        for a, b in ((sigma1, sigma2), (sigma2, sigma1)):  # tr sqrt(Σ1Σ2) = tr sqrt(Σ2Σ1)
            factor = _cholesky_or_none(a)
            if factor is not None:
                return _trace_sqrt_with_factor(factor, b, lower=True)
    return _trace_sqrt_with_factor(psd_sqrt(sigma1), sigma2)


def _check_same_dim(a: GaussianStats, b: GaussianStats) -> None:
    if a.dim != b.dim:
        raise ValueError(f"the two feature sets have different widths: {a.dim} and {b.dim}")


def frechet_distance(a: GaussianStats, b: GaussianStats, method: Literal["auto", "eigh"] = "auto") -> float:
    """‖μ1−μ2‖² + tr Σ1 + tr Σ2 − 2 tr √(Σ1Σ2), in float64, never NaN (singular covariances are fine).

    tr √(Σ1Σ2) is Σ √λ of the symmetric PSD matrix F^T Σ2 F where Σ1 = F F^T (negative rounding eigenvalues
    clipped); it is never taken from eigvals of the non-symmetric Σ1Σ2. method="eigh" uses F = R = √Σ1 by eigh;
    "auto" (default) uses a Cholesky factor of whichever covariance is positive definite — the same number,
    ~3x faster at d=2048 — and falls back to eigh when neither is. The result can be a tiny negative number
    (≈ -1e-10 · tr Σ) for identical sets: that is rounding, left as is; display code clamps at 0.
    """
    _check_same_dim(a, b)
    diff = a.mu - b.mu
    tr_sqrt = _trace_sqrt_product(a.sigma, b.sigma, method)
    return float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2 * tr_sqrt)


def _scaled_centred(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), A = (x - mean)/sqrt(n-1) (n, d)) so that A^T A is the covariance."""
    if x.shape[0] < 2:
        raise ValueError(f"a covariance needs at least 2 feature vectors; got {x.shape[0]}")
    mu = x.mean(axis=0)
    return mu, (x - mu) / np.sqrt(x.shape[0] - 1)


def _frechet_cross_gram(mu1: np.ndarray, a: np.ndarray, mu2: np.ndarray, b: np.ndarray) -> float:
    """Eigenvalues of Σ1Σ2 = AᵀA BᵀB are the squared singular values of the (n1, n2) cross-Gram A Bᵀ."""
    diff = mu1 - mu2
    tr_sqrt = float(np.linalg.svd(a @ b.T, compute_uv=False).sum())
    return float(diff @ diff + np.einsum("ij,ij->", a, a) + np.einsum("ij,ij->", b, b) - 2 * tr_sqrt)


def frechet_distance_features(f1: Features, f2: Features, method: Literal["auto", "gram", "stats"] = "auto") -> float:
    """Fréchet distance straight from two (n, d) feature sets, by the fastest exact route for their shapes.

    "gram" (auto when n1 < d and n2 < d): the sum of singular values of the centred cross-Gram A Bᵀ
    (A = X1c/√(n1−1), B = X2c/√(n2−1)) is exactly tr √(Σ1Σ2), and no d×d matrix is ever formed.
    "stats" (auto otherwise): covariances, then frechet_distance(). Both in float64; see frechet_distance
    about tiny negative results.
    """
    x1, x2 = as_float64_features(f1, "f1"), as_float64_features(f2, "f2")
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(f"the two feature sets have different widths: {x1.shape[1]} and {x2.shape[1]}")
    if method not in ("auto", "gram", "stats"):
        raise ValueError(f"method must be 'auto', 'gram' or 'stats'; got {method!r}")
    d = x1.shape[1]
    if method == "gram" or (method == "auto" and x1.shape[0] < d and x2.shape[0] < d):
        return _frechet_cross_gram(*_scaled_centred(x1), *_scaled_centred(x2))
    return frechet_distance(gaussian_stats(x1), gaussian_stats(x2))


class FrechetReference:
    """A reference set (e.g. real images) to compare many generated sets against, with its √Σ computed once.

    stats: the reference's GaussianStats. features: optionally its (n, d) features, enabling the cross-Gram route
    when both sets are smaller than d. sqrt: a previously computed R = √Σ (from a cache); on_sqrt: called once
    with R when it is first computed here, so a cache can persist it.
    """

    def __init__(
        self,
        stats: GaussianStats,
        features: Features | None = None,
        sqrt: np.ndarray | None = None,
        on_sqrt: Callable[[np.ndarray], None] | None = None,
    ):
        self.stats = stats
        self._features = None if features is None else as_float64_features(features, "reference features")
        if self._features is not None and self._features.shape[1] != stats.dim:
            raise ValueError(f"reference features are {self._features.shape[1]}-d but the stats are {stats.dim}-d")
        if sqrt is not None and np.shape(sqrt) != (stats.dim, stats.dim):
            raise ValueError(f"a cached sqrt must be ({stats.dim}, {stats.dim}); got {np.shape(sqrt)}")
        self._sqrt = None if sqrt is None else np.asarray(sqrt, dtype=np.float64)
        self._centred: np.ndarray | None = None  # (n, d) A = (X - μ)/√(n-1), built on first cross-Gram use
        self._on_sqrt = on_sqrt

    @property
    def sqrt(self) -> np.ndarray:
        """R = √Σ_ref (d, d) by eigh; computed on first use, then kept (and handed to on_sqrt)."""
        if self._sqrt is None:
            self._sqrt = psd_sqrt(self.stats.sigma)
            if self._on_sqrt is not None:
                self._on_sqrt(self._sqrt)
        return self._sqrt

    @property
    def has_sqrt(self) -> bool:
        return self._sqrt is not None

    def _gram_applies(self, n_other: int) -> bool:
        return self._features is not None and self._features.shape[0] < self.stats.dim and n_other < self.stats.dim

    def distance(self, other: GaussianStats | Features) -> float:
        """Fréchet distance from the reference to other (GaussianStats, or (n, d) features)."""
        if not isinstance(other, GaussianStats):
            x = as_float64_features(other, "features")
            if x.shape[1] != self.stats.dim:
                raise ValueError(f"the two feature sets have different widths: {self.stats.dim} and {x.shape[1]}")
            if self._gram_applies(x.shape[0]):
                if self._centred is None:
                    self._centred = (self._features - self.stats.mu) / np.sqrt(self._features.shape[0] - 1)
                return _frechet_cross_gram(self.stats.mu, self._centred, *_scaled_centred(x))
            other = gaussian_stats(x)
        _check_same_dim(self.stats, other)
        diff = self.stats.mu - other.mu
        tr_sqrt = _trace_sqrt_with_factor(self.sqrt, other.sigma)
        return float(diff @ diff + np.trace(self.stats.sigma) + np.trace(other.sigma) - 2 * tr_sqrt)


__all__ = [
    "FeatureStats",
    "FrechetReference",
    "GaussianStats",
    "as_float64_features",
    "frechet_distance",
    "frechet_distance_features",
    "gaussian_stats",
    "psd_sqrt",
]
