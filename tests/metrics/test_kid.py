"""KID against torch-fidelity (same subset draws), torchmetrics' MMD core and metric, and a closed-form MMD check."""

import pytest
import torch

from genart_demo.metrics import kid as kid_module
from genart_demo.metrics.kid import KIDAccumulator, kid, kid_subset_values, mmd2_unbiased, polynomial_kernel


def _sets(seed=0, n1=120, n2=90, d=16):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n1, d, generator=g, dtype=torch.float64)
    y = torch.randn(n2, d, generator=g, dtype=torch.float64) * 1.3 + 0.2
    return x, y


def test_mmd_matches_a_loop_over_pairs():
    x, y = (t.numpy() for t in _sets(1, 12, 12, 5))
    k = lambda a, b: (a @ b / 5 + 1) ** 3
    m = 12
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    value = mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(x, y), polynomial_kernel(y, y))
    assert value == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


@pytest.mark.parametrize("gram_budget", [kid_module.GRAM_BUDGET, 0])  # full Gram gather, and per-subset kernels
def test_equals_torch_fidelity_with_the_same_subsets(monkeypatch, gram_budget):
    from torch_fidelity.metric_kid import kid_features_to_metric

    monkeypatch.setattr(kid_module, "GRAM_BUDGET", gram_budget)
    x, y = _sets()
    theirs = kid_features_to_metric(x, y, kid_subsets=20, kid_subset_size=50, rng_seed=2020, verbose=False)
    mean, std = kid(x, y, subsets=20, subset_size=50, seed=2020)
    assert mean == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-10)
    assert std == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-10)
    assert std > 0


def test_float32_features_agree_with_torch_fidelity_only_to_float32_rounding():
    """torch-fidelity keeps the features' dtype; we always work in float64."""
    from torch_fidelity.metric_kid import kid_features_to_metric

    x, y = _sets(2)
    theirs = kid_features_to_metric(x.float(), y.float(), kid_subsets=5, kid_subset_size=40, rng_seed=7, verbose=False)
    ours = kid(x.float(), y.float(), subsets=5, subset_size=40, seed=7)[0]
    assert ours == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-4)


def test_subset_size_is_clipped_to_the_smaller_set():
    x, y = _sets(3, 40, 30)
    assert kid(x, y, subsets=4, subset_size=1000) == kid(x, y, subsets=4, subset_size=30)
    mean, std = kid(x[:30], y, subsets=3, subset_size=1000)  # every subset is the whole of both sets
    assert std == pytest.approx(0.0, abs=1e-15)
    full = mmd2_unbiased(
        polynomial_kernel(x[:30].numpy(), x[:30].numpy()),
        polynomial_kernel(x[:30].numpy(), y.numpy()),
        polynomial_kernel(y.numpy(), y.numpy()),
    )
    assert mean == pytest.approx(full, rel=1e-12)


def test_matches_torchmetrics_mmd_core_on_each_subset():
    from torchmetrics.image.kid import poly_mmd

    x, y = _sets(4)
    values = kid_subset_values(x, y, subsets=3, subset_size=40, seed=11)
    draws = kid_module.subset_indices(120, 90, 3, 40, 11)
    for value, (i1, i2) in zip(values, draws):
        assert value == pytest.approx(poly_mmd(x[i1], y[i2]).item(), rel=1e-12)


class _TinyFeatures(torch.nn.Module):
    def forward(self, images):  # uint8 (B, 3, 4, 4) -> (B, 12) float64
        return images.double().flatten(1)[:, :12] / 255


def test_matches_torchmetrics_metric_when_subsets_are_the_whole_sets():
    """torchmetrics samples with torch.randperm; with subset_size = n every draw is the whole set, so sampling drops out."""
    from torchmetrics.image.kid import KernelInceptionDistance

    torch.manual_seed(0)
    real = torch.randint(0, 256, (40, 3, 4, 4), dtype=torch.uint8)
    fake = torch.randint(40, 200, (40, 3, 4, 4), dtype=torch.uint8)
    with pytest.warns(UserWarning, match="buffer"):
        metric = KernelInceptionDistance(feature=_TinyFeatures(), subsets=3, subset_size=40)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    their_mean, their_std = (t.item() for t in metric.compute())
    net = _TinyFeatures()
    mean, std = kid(net(real), net(fake), subsets=3, subset_size=40)
    assert mean == pytest.approx(their_mean, rel=1e-10)
    assert std == pytest.approx(their_std, abs=1e-12) and std == pytest.approx(0.0, abs=1e-15)


def test_same_distribution_is_near_zero_and_accumulator_equals_function():
    x, y = _sets(5, 200, 200)
    same = kid(x[:100], x[100:], subsets=10, subset_size=100)[0]
    apart = kid(x, y, subsets=10, subset_size=100)[0]
    assert abs(same) < 0.1 * apart
    acc = KIDAccumulator(subsets=10, subset_size=100)
    for chunk in x.split(64):
        acc.update(chunk, real=True)
    acc.update(y, real=False)
    assert acc.compute() == kid(x, y, subsets=10, subset_size=100)


def test_bad_input_is_refused_with_a_message():
    x, y = _sets(6, 10, 10)
    with pytest.raises(ValueError, match="at least 2"):
        kid(x[:1], y)
    with pytest.raises(ValueError, match="different widths"):
        kid(x, y[:, :3])
    with pytest.raises(ValueError, match="both real and generated"):
        KIDAccumulator().compute()
