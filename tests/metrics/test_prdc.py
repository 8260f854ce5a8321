"""Precision/recall/density/coverage against a brute-force full-distance-matrix implementation written here."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from genart_demo.metrics import prdc as prdc_module
from genart_demo.metrics.prdc import density_coverage, knn_radii, prdc, precision_recall


def _brute_force(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int, distances=None) -> dict:
    """The `prdc` package's definitions on full matrices; radii by sorting each row (self at distance 0 first)."""
    distances = distances or (lambda a, b: np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)))
    rr, ff, rf = distances(real, real), distances(fake, fake), distances(real, fake)
    real_r = {k: np.sort(rr, axis=1)[:, k] for k in (k_pr, k_dc)}  # column 0 is the point itself
    fake_r = np.sort(ff, axis=1)[:, k_pr]
    return {
        "precision": (rf < real_r[k_pr][:, None]).any(axis=0).mean(),
        "recall": (rf < fake_r[None, :]).any(axis=1).mean(),
        "density": (rf < real_r[k_dc][:, None]).sum(axis=0).mean() / k_dc,
        "coverage": (rf.min(axis=1) < real_r[k_dc]).mean(),
    }


def _gaussians(seed, n_real, n_fake, d, shift=0.3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_real, d)), rng.standard_normal((n_fake, d)) * 1.2 + shift


@pytest.mark.parametrize(
    ("n_real", "n_fake", "d", "k_pr", "k_dc"), [(60, 45, 8, 3, 5), (80, 80, 3, 2, 2), (30, 70, 16, 4, 3)]
)
def test_equals_brute_force_on_small_sets(monkeypatch, n_real, n_fake, d, k_pr, k_dc):
    monkeypatch.setattr(prdc_module, "CHUNK_ENTRIES", 1000)  # force many chunks, including a ragged last one
    real, fake = _gaussians(n_real, n_real, n_fake, d)
    ours, expected = prdc(real, fake, k_pr, k_dc), _brute_force(real, fake, k_pr, k_dc)
    for name in expected:
        assert ours[name] == pytest.approx(expected[name], abs=1e-12), name
    assert precision_recall(real, fake, k_pr) == pytest.approx(
        tuple(_brute_force(real, fake, k_pr, k_pr)[m] for m in ("precision", "recall")), abs=1e-12
    )
    assert density_coverage(torch.from_numpy(real).float(), fake, k_dc) == pytest.approx(
        tuple(
            _brute_force(real.astype(np.float32).astype(np.float64), fake, k_pr, k_dc)[m]
            for m in ("density", "coverage")
        ),
        abs=1e-12,
    )


def test_radii_exclude_the_point_itself_and_keep_duplicates():
    x = np.array([[0.0], [1.0], [3.0], [3.0], [7.0]])
    radii = knn_radii(x, (1, 2))
    np.testing.assert_allclose(radii[1].numpy(), [1.0, 1.0, 0.0, 0.0, 4.0])  # a duplicate is a neighbour at 0
    np.testing.assert_allclose(radii[2].numpy(), [3.0, 2.0, 2.0, 2.0, 4.0])


def test_identical_sets_and_disjoint_sets():
    real, _ = _gaussians(1, 100, 1, 4)
    same = prdc(real, real)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0  # each point is at 0 < its own radius
    far = prdc(real, real + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_gaussian_reference_check_scaled_down():
    """METRICS.md's check is N(0, I) vs N(0, I), d=1000, 10k each, k=5 (P≈0.477 R≈0.471 D≈1.06 C≈0.974). Scaled to
    d=64, 2000 each to stay fast: the same definitions by scipy's exact (non-Gram) distances give the same numbers,
    and same-distribution values sit where they should (density near 1, coverage high, precision≈recall)."""
    rng = np.random.default_rng(2020)
    real, fake = rng.standard_normal((2000, 64)), rng.standard_normal((2000, 64))
    ours = prdc(real, fake, k_pr=5, k_dc=5)
    expected = _brute_force(real, fake, 5, 5, distances=cdist)
    for name in expected:
        assert ours[name] == pytest.approx(expected[name], abs=1e-12), name
    assert 0.85 < ours["density"] < 1.15 and ours["coverage"] > 0.9
    assert abs(ours["precision"] - ours["recall"]) < 0.05


def test_bad_input_is_refused_with_a_message():
    real, fake = _gaussians(2, 5, 5, 3)
    with pytest.raises(ValueError, match="k=5 need more than 5 samples"):
        prdc(real, fake)
    with pytest.raises(ValueError, match="k=5 need more than 5 samples"):
        density_coverage(real, fake)
    with pytest.raises(ValueError, match="different widths"):
        precision_recall(real, fake[:, :2], k=2)
