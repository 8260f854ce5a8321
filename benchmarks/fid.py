"""Fréchet distance at d=2048: our routes vs torchmetrics' and the classic scipy sqrtm formula, as ratios measured here.

    .venv/bin/python benchmarks/fid.py [--sizes 1000 10000] [--repeats 3] [--scipy-repeats 1] [--threads N]

On seeded random correlated features (d=2048) for each n, times
  ours         frechet_distance_features' route: n < d -> singular values of the centred cross-Gram (no covariance
               is ever formed; centring is inside the timing); n >= d -> frechet_distance on the stats (Cholesky
               factor L of Σ1, Lᵀ Σ2 L by two triangular products, its eigenvalues);
  torchmetrics torchmetrics.image.fid._compute_fid(mu1, sigma1, mu2, sigma2) on float64 tensors: the function
               FrechetInceptionDistance.compute() ends in (‖Δμ‖² + tr Σ1 + tr Σ2 − 2 Σ Re √eigvals(Σ1 @ Σ2));
  scipy        pytorch-fid's formula: covmean = scipy.linalg.sqrtm(Σ1 @ Σ2), imaginary part dropped, trace;
  cached       a second comparison against a FrechetReference whose work for the reference is done
               (n >= d: R = √Σ1 known, eigvalsh of R Σ2 R only; n < d: centred reference features kept).
Means and covariances are computed once, outside every timed section, for all three (covariance excluded
consistently); "ours e2e" adds the full frechet_distance_features(f1, f2) from features for reference.
Goals: torchmetrics/ours >= 3, scipy/ours >= 10, largest relative difference among the three values <= 1e-6.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
D = 2048


def correlated_features(n: int, seed: int, mixing, shift: float):
    """(n, d) float64: Gaussian rows through a fixed mixing matrix, then a shift (a stand-in for pool3 features)."""
    import numpy as np

    z = np.random.default_rng(seed).standard_normal((n, D))
    return z @ mixing + shift


def best_seconds(fn, repeats: int) -> tuple[float, float]:
    """(fastest seconds, last value) over repeats calls: the run least disturbed by other load on a shared machine."""
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def scipy_fid(mu1, sigma1, mu2, sigma2) -> float:
    """pytorch-fid's calculate_frechet_distance core (without its eps retry, which never triggered here)."""
    import numpy as np
    import scipy.linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqrtm warns that a singular product 'may not have a square root'
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def bench_size(n: int, repeats: int, scipy_repeats: int) -> dict:
    import numpy as np
    import torch
    from torchmetrics.image.fid import _compute_fid

    from genart_demo.metrics.frechet import (
        FrechetReference,
        frechet_distance,
        frechet_distance_features,
        gaussian_stats,
        psd_sqrt,
    )

    rng = np.random.default_rng(1)
    mixing = rng.standard_normal((D, D)) / np.sqrt(D)
    x1 = correlated_features(n, 2, mixing, 0.3)
    x2 = correlated_features(n, 3, mixing + 0.05 * rng.standard_normal((D, D)) / np.sqrt(D), 0.35)
    s1, s2 = gaussian_stats(x1), gaussian_stats(x2)  # outside every timing
    gram = n < D
    tensors = [torch.from_numpy(a) for a in (s1.mu, s1.sigma, s2.mu, s2.sigma)]

    ours_fn = (lambda: frechet_distance_features(x1, x2)) if gram else (lambda: frechet_distance(s1, s2))
    ours_t, tm_t, ours_v, tm_v = [], [], None, None
    for i in range(repeats):  # alternate so load from other processes hits both sides
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            if side == 0:
                t, ours_v = best_seconds(ours_fn, 1)
                ours_t.append(t)
            else:
                t, tm_v = best_seconds(lambda: _compute_fid(*tensors).item(), 1)
                tm_t.append(t)
    scipy_t, scipy_v = best_seconds(lambda: scipy_fid(s1.mu, s1.sigma, s2.mu, s2.sigma), scipy_repeats)
    e2e_t, e2e_v = best_seconds(lambda: frechet_distance_features(x1, x2), 1)

    if gram:
        reference = FrechetReference(s1, features=x1)
        reference.distance(x2)  # builds and keeps the centred reference features
        cached_t, cached_v = best_seconds(lambda: reference.distance(x2), repeats)
    else:
        reference = FrechetReference(s1, sqrt=psd_sqrt(s1.sigma))
        cached_t, cached_v = best_seconds(lambda: reference.distance(s2), repeats)

    values = [ours_v, tm_v, scipy_v, e2e_v, cached_v]
    spread = max(abs(a - b) for a in values[:3] for b in values[:3]) / abs(ours_v)
    return {
        "n": n,
        "route": "cross-Gram" if gram else "Cholesky",
        "ours": min(ours_t),
        "e2e": e2e_t,
        "tm": min(tm_t),
        "scipy": scipy_t,
        "cached": cached_t,
        "fid": ours_v,
        "spread": spread,
        "values": values,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3, help="timings per side for ours, torchmetrics and cached")
    parser.add_argument("--scipy-repeats", type=int, default=1, help="sqrtm takes ~15 s a call at d=2048")
    parser.add_argument(
        "--threads", type=int, default=None, help="BLAS/torch threads (default: what the machine gives)"
    )
    args = parser.parse_args()
    if args.threads:  # before numpy/torch load their BLAS
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    blas_env = {v: os.environ[v] for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS") if v in os.environ}
    print(
        f"d={D}, float64; torch threads {torch.get_num_threads()}, cpu_count {os.cpu_count()}, "
        f"BLAS env {blas_env or 'unset (all cores)'}; best of {args.repeats} for ours, torchmetrics & cached (interleaved), "
        f"scipy {args.scipy_repeats}; covariances excluded from all timings"
    )
    header = (
        f"{'n':>6} {'our route':>10} {'ours s':>7} {'tm s':>7} {'scipy s':>8} {'tm/ours':>8} {'scipy/ours':>10} "
        f"{'rel diff':>9} {'cached s':>8} {'ours e2e s':>10} {'FID':>12}"
    )
    print(header)
    print("-" * len(header))
    notes = []
    for n in args.sizes:
        r = bench_size(n, args.repeats, args.scipy_repeats)
        print(
            f"{n:>6} {r['route']:>10} {r['ours']:>7.3f} {r['tm']:>7.3f} {r['scipy']:>8.2f} "
            f"{r['tm'] / r['ours']:>8.1f} {r['scipy'] / r['ours']:>10.1f} {r['spread']:>9.1e} {r['cached']:>8.3f} "
            f"{r['e2e']:>10.3f} {r['fid']:>12.6f}",
            flush=True,
        )
        notes.append(
            f"n={n}: ours {r['values'][0]:.10g}, torchmetrics {r['values'][1]:.10g}, scipy {r['values'][2]:.10g}, "
            f"ours e2e {r['values'][3]:.10g}, cached {r['values'][4]:.10g}"
        )
    print("\n".join(notes))
    print("goals: tm/ours >= 3, scipy/ours >= 10, rel diff (largest among ours, torchmetrics, scipy) <= 1e-6")


if __name__ == "__main__":
    main()
