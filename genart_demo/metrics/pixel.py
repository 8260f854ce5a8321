"""Full-reference pixel metrics: PSNR and SSIM (Wang et al. 2004, 11x11 Gaussian window, sigma 1.5)."""
from __future__ import annotations


import torch
import torch.nn.functional as F


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"PSNR/SSIM need two (B, C, H, W) tensors of one shape; got {tuple(x.shape)} and {tuple(y.shape)}")


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, (B,); +inf where the images are identical."""
    _check_pair(x, y)
    mse = ((x.double() - y.double()) ** 2).flatten(1).mean(1)  # (B,)
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float, channels: int, dtype, device) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()  # (C, 1, k, k)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Mean structural similarity per image, (B,), over the 'valid' window positions (no padding)."""
    _check_pair(x, y)
    if min(x.shape[-2:]) < window:
        raise ValueError(f"SSIM needs images at least {window}x{window}; got {tuple(x.shape[-2:])}")
    x, y = x.double(), y.double()
    channels = x.shape[1]
    w = _gaussian_window(window, sigma, channels, x.dtype, x.device)
    mu_x, mu_y = F.conv2d(x, w, groups=channels), F.conv2d(y, w, groups=channels)
    var_x = F.conv2d(x * x, w, groups=channels) - mu_x**2
    var_y = F.conv2d(y * y, w, groups=channels) - mu_y**2
    cov = F.conv2d(x * y, w, groups=channels) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(1)


__all__ = ["psnr", "ssim"]
