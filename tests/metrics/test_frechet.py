"""Fréchet distance against closed forms, against itself by every route, and against torch-fidelity and torchmetrics."""

import numpy as np
import pytest
import torch

from genart_demo.metrics.frechet import (
    FeatureStats,
    FrechetReference,
    GaussianStats,
    frechet_distance,
    frechet_distance_features,
    gaussian_stats,
    psd_sqrt,
)


def _correlated(rng, n, d, scale=1.0, shift=0.0):
    return (rng.standard_normal((n, d)) @ rng.standard_normal((d, d))) * scale + shift  # (n, d)


def test_identity_covariances_give_squared_mean_distance():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.standard_normal(32), rng.standard_normal(32)
    a, b = GaussianStats(mu1, np.eye(32), 10), GaussianStats(mu2, np.eye(32), 10)
    expected = float(((mu1 - mu2) ** 2).sum())
    for method in ("auto", "eigh"):
        assert frechet_distance(a, b, method) == pytest.approx(expected, rel=1e-9)


def test_diagonal_covariances_closed_form():
    rng = np.random.default_rng(1)
    va, vb = rng.uniform(0.1, 4, 48), rng.uniform(0.1, 4, 48)
    mu1, mu2 = rng.standard_normal(48), rng.standard_normal(48)
    expected = float(((np.sqrt(va) - np.sqrt(vb)) ** 2).sum() + ((mu1 - mu2) ** 2).sum())
    a, b = GaussianStats(mu1, np.diag(va), 5), GaussianStats(mu2, np.diag(vb), 5)
    for method in ("auto", "eigh"):
        assert frechet_distance(a, b, method) == pytest.approx(expected, rel=1e-9)
    # a singular diagonal (zeros on it) is fine too: Cholesky fails on both, eigh takes over
    va[:10] = vb[5:15] = 0.0
    expected = float(((np.sqrt(va) - np.sqrt(vb)) ** 2).sum() + ((mu1 - mu2) ** 2).sum())
    a, b = GaussianStats(mu1, np.diag(va), 5), GaussianStats(mu2, np.diag(vb), 5)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_self_distance_is_zero_by_both_routes():
    """Absolute error scales with the features, so 'zero' is |FID(X, X)| <= 1e-8 · (tr Σ + tr Σ)."""
    rng = np.random.default_rng(2)
    wide, tall = _correlated(rng, 40, 96), _correlated(rng, 300, 32)  # n < d (gram route), n > d (stats route)
    for x in (wide, tall):
        scale = 2 * np.trace(gaussian_stats(x).sigma)
        for method in ("gram", "stats"):
            assert abs(frechet_distance_features(x, x, method)) <= 1e-8 * scale
        assert abs(frechet_distance(gaussian_stats(x), gaussian_stats(x), "eigh")) <= 1e-8 * scale


def test_cross_gram_route_equals_eigh_route_when_n_below_d():
    rng = np.random.default_rng(3)
    x, y = _correlated(rng, 60, 128), _correlated(rng, 45, 128, scale=0.7, shift=0.2)
    gram = frechet_distance_features(x, y)  # auto picks gram: 60, 45 < 128
    eigh = frechet_distance(gaussian_stats(x), gaussian_stats(y), "eigh")
    assert np.isfinite(gram) and np.isfinite(eigh) and gram > 0
    assert gram == pytest.approx(eigh, rel=1e-8)
    assert frechet_distance_features(x, y, "stats") == pytest.approx(gram, rel=1e-8)


def test_singular_covariances_stay_finite_and_torch_input_matches_numpy():
    rng = np.random.default_rng(4)
    x, y = _correlated(rng, 3, 64), _correlated(rng, 2, 64)  # rank 2 and 1 covariances in 64-d
    for value in (frechet_distance(gaussian_stats(x), gaussian_stats(y)), frechet_distance_features(x, y)):
        assert np.isfinite(value)
    assert frechet_distance_features(torch.from_numpy(x).float(), y) == pytest.approx(
        frechet_distance_features(x.astype(np.float32), y), rel=1e-12
    )


def test_accumulator_in_batches_equals_one_shot():
    rng = np.random.default_rng(5)
    x = _correlated(rng, 103, 24, shift=50.0)  # a large offset: the shifted sums keep the covariance exact
    acc = FeatureStats(keep_features=True)
    for chunk in np.array_split(x, [7, 40, 41, 90]):
        acc.update(torch.from_numpy(chunk))
    batched, one_shot = acc.compute(), gaussian_stats(x)
    assert batched.n == one_shot.n == 103
    np.testing.assert_allclose(batched.mu, one_shot.mu, rtol=1e-12)
    np.testing.assert_allclose(batched.sigma, one_shot.sigma, rtol=1e-10, atol=1e-10 * np.abs(one_shot.sigma).max())
    np.testing.assert_array_equal(acc.features(), x)
    acc.reset()
    with pytest.raises(ValueError, match="before any update"):
        acc.compute()


def test_reference_reuses_its_sqrt_and_matches_the_plain_functions():
    rng = np.random.default_rng(6)
    real, fake = _correlated(rng, 200, 32), _correlated(rng, 150, 32, scale=1.2)
    seen = []
    ref = FrechetReference(gaussian_stats(real), on_sqrt=seen.append)
    assert ref.distance(fake) == pytest.approx(frechet_distance_features(real, fake), rel=1e-9)
    assert ref.distance(gaussian_stats(fake)) == pytest.approx(frechet_distance_features(real, fake), rel=1e-9)
    assert len(seen) == 1 and np.allclose(seen[0] @ seen[0], gaussian_stats(real).sigma)
    wide_real, wide_fake = _correlated(rng, 30, 64), _correlated(rng, 20, 64)
    wide = FrechetReference(gaussian_stats(wide_real), features=wide_real)
    assert wide.distance(wide_fake) == pytest.approx(frechet_distance_features(wide_real, wide_fake), rel=1e-9)
    assert not wide.has_sqrt  # the cross-Gram route never needed R
    cached = FrechetReference(gaussian_stats(real), sqrt=psd_sqrt(gaussian_stats(real).sigma))
    assert cached.distance(fake) == pytest.approx(ref.distance(fake), rel=1e-12)


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="at least 2"):
        gaussian_stats(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="different widths"):
        frechet_distance_features(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        gaussian_stats(np.zeros(4))


def test_agrees_with_torch_fidelity_statistics_to_metric():
    """torch-fidelity: eigvals of Σ1Σ2 in numpy float64. Same numbers to 1e-12 when Σ is full rank; with n < d its
    rounding-noise eigenvalues add ~1e-8 relative (we zero them), so that case is held to 1e-7."""
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    rng = np.random.default_rng(7)
    for n, d, rel in ((200, 32, 1e-12), (40, 64, 1e-7)):
        a, b = gaussian_stats(_correlated(rng, n, d)), gaussian_stats(_correlated(rng, n + 5, d, 0.6, 0.3))
        theirs = fid_statistics_to_metric({"mu": a.mu, "sigma": a.sigma}, {"mu": b.mu, "sigma": b.sigma}, verbose=False)
        assert frechet_distance(a, b) == pytest.approx(theirs["frechet_inception_distance"], rel=rel)


class _TinyFeatures(torch.nn.Module):
    """uint8 (B, 3, 8, 8) -> (B, dim) float64 features, as torchmetrics' custom `feature=` expects."""

    def __init__(self, dim: int):
        super().__init__()
        self.num_features = dim  # torchmetrics reads this instead of probing with a dummy image
        self.proj = torch.nn.Linear(3 * 8 * 8, dim, dtype=torch.float64)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.proj(images.flatten(1).double() / 255))


@pytest.mark.parametrize(("n", "dim", "rel"), [(120, 16, 1e-9), (30, 48, 1e-6)])
def test_agrees_with_torchmetrics_fid_on_a_tiny_feature_module(n, dim, rel):
    """torchmetrics: float64 sums, eigvals(Σ1Σ2). Measured |rel diff| 2e-15 (n > d) and 1e-8 (n < d: its noise eigenvalues)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    torch.manual_seed(0)
    net = _TinyFeatures(dim)
    real = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8)
    fake = torch.randint(0, 160, (n + 3, 3, 8, 8), dtype=torch.uint8)
    metric = FrechetInceptionDistance(feature=net, normalize=False)
    for batch in real.split(16):
        metric.update(batch, real=True)
    for batch in fake.split(16):
        metric.update(batch, real=False)
    theirs = metric.compute().item()
    with torch.no_grad():
        ours = frechet_distance_features(net(real), net(fake))
    assert ours == pytest.approx(theirs, rel=rel)


def test_self_distance_is_within_1e_8_of_zero_at_inception_like_scale():
    """Pool3-like features (non-negative, ~0.5): |FID(X, X)| <= 1e-8 absolute by every route, n < d and n > d."""
    rng = np.random.default_rng(7)
    for n, d in ((80, 256), (600, 256)):
        x = np.abs(rng.standard_normal((n, d))) * 0.5
        for method in ("gram", "stats"):
            assert abs(frechet_distance_features(x, x, method)) <= 1e-8
        assert abs(frechet_distance(gaussian_stats(x), gaussian_stats(x), "eigh")) <= 1e-8
