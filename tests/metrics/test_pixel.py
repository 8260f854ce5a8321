"""PSNR and SSIM against closed forms and a direct numpy SSIM over the same windows."""
import math

import numpy as np
import pytest
import torch

from genart_demo.metrics import psnr, ssim


def test_psnr_closed_form():
    x = torch.zeros(2, 3, 8, 8)
    y = x.clone()
    y[0] += 0.1  # MSE 0.01 -> 20 dB
    y[1] += 0.5  # MSE 0.25 -> 10*log10(4) dB
    assert torch.allclose(psnr(x, y), torch.tensor([20.0, 10 * math.log10(4)], dtype=torch.float64))
    assert torch.isinf(psnr(x, x)).all()
    assert torch.allclose(psnr(x * 255, y * 255, data_range=255.0), psnr(x, y))


def test_ssim_identical_is_one_and_drops_with_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=g)
    assert torch.allclose(ssim(x, x), torch.ones(1, dtype=torch.float64))
    noisy = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert 0.0 < ssim(x, noisy).item() < 0.9


def test_ssim_matches_a_direct_windowed_computation():
    rng = np.random.default_rng(1)
    a, b = rng.random((16, 16)), rng.random((16, 16))
    k = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    k = np.outer(k / k.sum(), k / k.sum())
    c1, c2, vals = 0.01**2, 0.03**2, []
    for i in range(16 - 10):
        for j in range(16 - 10):
            pa, pb = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            ma, mb = (k * pa).sum(), (k * pb).sum()
            va, vb = (k * pa * pa).sum() - ma**2, (k * pb * pb).sum() - mb**2
            cov = (k * pa * pb).sum() - ma * mb
            vals.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    ours = ssim(torch.tensor(a)[None, None], torch.tensor(b)[None, None]).item()
    assert ours == pytest.approx(float(np.mean(vals)), abs=1e-10)


def test_shape_errors():
    with pytest.raises(ValueError, match="one shape"):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))
