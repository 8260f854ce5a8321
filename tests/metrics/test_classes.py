"""Intra-FID and top-k accuracy on hand-made cases with known answers."""

import numpy as np
import pytest
import torch

from genart_demo.metrics.classes import classification_accuracy, intra_fid
from genart_demo.metrics.frechet import frechet_distance_features


def test_intra_fid_is_per_class_fid_over_shared_classes():
    rng = np.random.default_rng(0)
    d = 6
    real = np.concatenate([rng.standard_normal((30, d)), rng.standard_normal((25, d)) + 5, rng.standard_normal((9, d))])
    real_labels = np.array([0] * 30 + [1] * 25 + [7] * 9)
    fake = np.concatenate(
        [rng.standard_normal((20, d)) + 1.0, rng.standard_normal((22, d)) + 5, rng.standard_normal((4, d))]
    )
    fake_labels = torch.tensor([0] * 20 + [1] * 22 + [3] * 4)  # class 3 has no real images, class 7 no fakes
    out = intra_fid(real, real_labels, fake, fake_labels)
    assert sorted(out) == [0, 1]
    assert out[0] == pytest.approx(frechet_distance_features(real[:30], fake[:20]), rel=1e-12)
    assert out[1] == pytest.approx(frechet_distance_features(real[30:55], fake[20:42]), rel=1e-12)
    assert out[0] > out[1]  # class 0's fakes are shifted by 1 in every dimension: ‖Δμ‖² ≈ 6 dominates


def test_intra_fid_closed_form_with_exact_moments():
    """Shifting a class's fakes by m leaves their covariance equal to the reals', so that class's FID = ‖m‖²."""
    base = np.array([[1.0, -1.0], [-1.0, 1.0]])
    real = np.concatenate([base, base * 2])
    fake = np.concatenate([base + 3.0, base * 2 - [1.0, 2.0]])
    labels = [4, 4, 9, 9]
    out = intra_fid(real, labels, fake, labels)
    assert out[4] == pytest.approx(18.0, abs=1e-9) and out[9] == pytest.approx(5.0, abs=1e-9)


def test_intra_fid_refusals():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="class 5 has 1 real and 2 generated"):
        intra_fid(np.ones((3, 2)), [5, 6, 6], np.arange(6.0).reshape(3, 2), [5, 5, 6])
    with pytest.raises(ValueError, match="share none"):
        intra_fid(x, [0, 0, 0], x, [1, 1, 1])
    with pytest.raises(ValueError, match="one label per feature row"):
        intra_fid(x, [0, 0], x, [0, 0, 0])
    with pytest.raises(ValueError, match="integer class ids"):
        intra_fid(x, [0.0, 0.0, 0.0], x, [0, 0, 0])


def test_top_k_accuracy_by_hand():
    logits = torch.tensor(
        [
            [9.0, 1.0, 2.0, 3.0, 4.0, 5.0],  # ranking 0,5,4,3,2,1
            [1.0, 9.0, 2.0, 3.0, 4.0, 5.0],  # 1,5,4,3,2,0
            [1.0, 2.0, 9.0, 8.0, 7.0, 6.0],  # 2,3,4,5,1,0
            [6.0, 5.0, 4.0, 3.0, 2.0, 1.0],  # 0,1,2,3,4,5
        ]
    )
    labels = np.array([0, 5, 1, 5])  # rank 1, rank 2, rank 5, rank 6
    assert classification_accuracy(logits, labels) == {"top1": 0.25, "top5": 0.75}
    assert classification_accuracy(logits, labels, topk=(2, 6)) == {"top2": 0.5, "top6": 1.0}


def test_top_k_refusals():
    logits = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"topk must be integers in \[1, 3\]"):
        classification_accuracy(logits, [0, 1])  # top5 of 3 classes
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        classification_accuracy(logits, [0, 3], topk=(1,))
    with pytest.raises(ValueError, match=r"\(n, classes\)"):
        classification_accuracy(torch.zeros(3), [0, 1, 2], topk=(1,))
