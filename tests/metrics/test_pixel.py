"""MSE, PSNR, SSIM and MS-SSIM against closed forms, a direct numpy SSIM and torchmetrics."""

import math

import numpy as np
import pytest
import torch
import torchmetrics.functional.image as tmf

from genart_demo.metrics import psnr, ssim
from genart_demo.metrics.pixel import MS_SSIM_WEIGHTS, ms_ssim, ms_ssim_min_side, mse

tm_psnr = tmf.peak_signal_noise_ratio  # the reference implementations
tm_ssim = tmf.structural_similarity_index_measure
tm_ms_ssim = tmf.multiscale_structural_similarity_index_measure


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
            pa, pb = a[i : i + 11, j : j + 11], b[i : i + 11, j : j + 11]
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


# --- MSE / PSNR reductions, MS-SSIM, and agreement with torchmetrics ----------------------------------------


def _pair(shape, noise=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=torch.float64)
    y = (x + noise * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return x, y


def test_mse_and_psnr_reductions_closed_form():
    x = torch.zeros(2, 3, 8, 8, dtype=torch.float64)
    y = x.clone()
    y[0] += 0.1  # MSE 0.01
    y[1, :, ::2] -= 0.5  # half the pixels off by 0.5: MSE 0.125
    assert torch.allclose(mse(x, y), torch.tensor([0.01, 0.125], dtype=torch.float64))
    per_image = psnr(x, y, reduction="per_image")
    assert torch.allclose(per_image, torch.tensor([20.0, 10 * math.log10(8)], dtype=torch.float64))
    # "batch": one number from the MSE over all pixels of all images, (0.01 + 0.125) / 2
    assert psnr(x, y, reduction="batch").item() == pytest.approx(10 * math.log10(1 / 0.0675), abs=1e-12)
    assert psnr(x, y, reduction="batch").item() < per_image.mean().item()  # log of a mean vs mean of logs


def test_psnr_matches_torchmetrics_both_reductions():
    x, y = _pair((3, 3, 16, 20))
    x8, y8 = (x * 255).round(), (y * 255).round()
    for a, b, peak in ((x, y, 1.0), (x8, y8, 255.0)):
        # float64 inputs on both sides; torchmetrics' factor 10 / ln(10) is a float32 tensor, so the two agree to
        # a relative 1e-7 (about 1e-6 dB), not to float64 rounding
        ref_per_image = tm_psnr(a, b, data_range=peak, dim=(1, 2, 3), reduction="none")
        assert torch.allclose(psnr(a, b, data_range=peak), ref_per_image, atol=0, rtol=1e-7)
        ref_mean = tm_psnr(a, b, data_range=peak, dim=(1, 2, 3), reduction="elementwise_mean")
        assert psnr(a, b, data_range=peak).mean().item() == pytest.approx(ref_mean.item(), rel=1e-7)
        ref_batch = tm_psnr(a, b, data_range=peak)  # torchmetrics' default: dim=None, the whole batch
        assert psnr(a, b, data_range=peak, reduction="batch").item() == pytest.approx(ref_batch.item(), rel=1e-7)


def test_ssim_matches_torchmetrics_with_reflect_padding_and_on_the_valid_positions():
    x, y = _pair((2, 3, 32, 40))
    ref = tm_ssim(x, y, gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=1.0, reduction="none")
    assert torch.allclose(ssim(x, y, padding="reflect"), ref, atol=1e-12, rtol=0)
    # torchmetrics' map is over the reflect-padded image; its interior is exactly our "valid" map
    _, full = tm_ssim(x, y, sigma=1.5, data_range=1.0, reduction="none", return_full_image=True)
    interior = full[..., 5:-5, 5:-5].flatten(1).mean(1)
    assert torch.allclose(ssim(x, y), interior, atol=1e-12, rtol=0)
    # the documented convention difference: only the border windows differ
    assert 0 < (ssim(x, y) - ref).abs().max().item() < 0.05


def test_ms_ssim_of_identical_images_is_one_and_of_inverted_images_zero():
    x, _ = _pair((2, 1, 176, 176))
    for padding in ("valid", "reflect"):
        assert torch.allclose(ms_ssim(x, x, padding=padding), torch.ones(2, dtype=torch.float64), atol=1e-12)
    # x vs 1 - x: covariance = -variance, so the finest contrast term is negative, clamped to 0 -> product 0
    assert torch.equal(ms_ssim(x, 1 - x), torch.zeros(2, dtype=torch.float64))
    x = x[:1].float()  # float32 keeps torchmetrics' 11x11 grouped convolutions quick on a CPU
    ref = tm_ms_ssim(x, 1 - x, data_range=1.0, reduction="none")  # normalize="relu" (default) does the same
    assert torch.equal(ref, torch.zeros(1))


def test_ms_ssim_matches_torchmetrics():
    x, y = _pair((1, 3, 176, 184), noise=0.15, seed=3)
    ref = tm_ms_ssim(x, y, sigma=1.5, kernel_size=11, data_range=1.0, reduction="none", betas=MS_SSIM_WEIGHTS)
    # 1e-8: torchmetrics builds its exponents with torch.tensor(betas), i.e. rounded to float32
    assert torch.allclose(ms_ssim(x, y, padding="reflect"), ref, atol=1e-8, rtol=0)
    # default "valid": same contrast terms, last-scale SSIM over the valid positions only
    assert 0 < (ms_ssim(x, y) - ref).abs().max().item() < 0.01
    # three scales on a small image, data_range 255
    a, b = _pair((1, 3, 44, 48), seed=4)
    a, b = a * 255, b * 255
    ref3 = tm_ms_ssim(a, b, data_range=255.0, reduction="none", betas=(0.2, 0.3, 0.5))
    ours3 = ms_ssim(a, b, data_range=255.0, weights=(0.2, 0.3, 0.5), padding="reflect")
    assert torch.allclose(ours3, ref3, atol=1e-8, rtol=0)


def test_ms_ssim_refuses_small_images_naming_the_minimum_side():
    assert ms_ssim_min_side() == 176 and ms_ssim_min_side(11, 3) == 44
    x = torch.rand(1, 3, 175, 300)
    with pytest.raises(ValueError, match="at least 176x176"):
        ms_ssim(x, x)


def test_bad_arguments_are_refused():
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="reduction 'mean'"):
        psnr(x, x, reduction="mean")
    with pytest.raises(ValueError, match="data_range must be > 0"):
        ssim(x, x, data_range=0)
    with pytest.raises(ValueError, match="padding 'same'"):
        ssim(x, x, padding="same")
    with pytest.raises(ValueError, match="one shape"):
        mse(x, x[:, :2])
