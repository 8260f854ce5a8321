"""Inception Score against closed forms, torch-fidelity (same permutation) and torchmetrics (its permutation replayed)."""

import math

import numpy as np
import pytest
import torch

from genart_demo.metrics.inception_score import InceptionScoreAccumulator, inception_score, split_scores


def test_closed_forms_uniform_and_confident_one_hot():
    uniform = torch.zeros(40, 7)  # p(y|x) = p(y): KL 0, score 1
    assert inception_score(uniform, splits=4) == pytest.approx((1.0, 0.0), abs=1e-12)
    # confident and spread evenly over K classes within each split: score K
    k = 5
    confident = torch.full((50, k), -1e4, dtype=torch.float64)
    confident[torch.arange(50), torch.arange(50) % k] = 0.0
    mean, std = inception_score(confident, splits=5, shuffle=False)
    assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_hand_computed_single_split():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    p = logits.softmax(1).numpy()
    q = p.mean(0)
    expected = math.exp(np.mean([(row * np.log(row / q)).sum() for row in p]))
    assert inception_score(logits, splits=1)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("n", "splits", "shuffle"), [(100, 10, True), (97, 10, True), (60, 3, False)])
def test_equals_torch_fidelity(n, splits, shuffle):
    from torch_fidelity.metric_isc import isc_features_to_metric

    g = torch.Generator().manual_seed(n)
    logits = torch.randn(n, 20, generator=g) * 3
    theirs = isc_features_to_metric(logits, splits=splits, shuffle=shuffle, rng_seed=2020)
    mean, std = inception_score(logits, splits=splits, shuffle=shuffle, seed=2020)
    assert mean == pytest.approx(theirs["inception_score_mean"], rel=1e-12)
    assert std == pytest.approx(theirs["inception_score_std"], rel=1e-10)


class _TinyClassifier(torch.nn.Module):
    """uint8 (B, 3, 4, 4) -> (B, 10) float64 logits, as torchmetrics' custom `feature=` expects."""

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(48, 10, dtype=torch.float64)

    def forward(self, images):
        return 4 * self.head(images.flatten(1).double() / 255)


def test_equals_torchmetrics_when_its_permutation_is_replayed():
    """torchmetrics: torch.randperm permutation, torch.chunk splits, ddof 1; with n a multiple of splits, replaying its
    permutation (same torch seed) and ddof=1 gives the same numbers."""
    from torchmetrics.image.inception import InceptionScore

    torch.manual_seed(0)
    net = _TinyClassifier()
    images = torch.randint(0, 256, (60, 3, 4, 4), dtype=torch.uint8)
    with pytest.warns(UserWarning, match="buffer"):
        metric = InceptionScore(feature=net, splits=6)
    metric.update(images)
    torch.manual_seed(123)
    their_mean, their_std = (t.item() for t in metric.compute())
    torch.manual_seed(123)
    perm = torch.randperm(60)
    with torch.no_grad():
        mean, std = inception_score(net(images)[perm], splits=6, shuffle=False, ddof=1)
    assert mean == pytest.approx(their_mean, rel=1e-12)
    assert std == pytest.approx(their_std, rel=1e-10)
    assert inception_score(net(images).detach(), splits=6, ddof=1)[1] != pytest.approx(std)  # the permutation matters


def test_accumulator_and_refusals():
    logits = torch.randn(30, 8, generator=torch.Generator().manual_seed(1))
    acc = InceptionScoreAccumulator(splits=3)
    for chunk in logits.split(7):
        acc.update(chunk)
    assert acc.compute() == inception_score(logits, splits=3)
    assert split_scores(logits, splits=3).shape == (3,)
    with pytest.raises(ValueError, match="at least 10 samples; got 9"):
        inception_score(logits[:9])
    with pytest.raises(ValueError, match="ddof=1 needs more than 1"):
        inception_score(logits, splits=1, ddof=1)
    with pytest.raises(ValueError, match=r"\(n, classes\)"):
        inception_score(torch.zeros(10))
