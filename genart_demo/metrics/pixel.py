"""Full-reference pixel metrics: MSE, PSNR, SSIM and MS-SSIM (Wang et al. 2004 / 2003, 11x11 Gaussian, sigma 1.5).

Conventions (all per image unless said otherwise, computed in float64):

- `mse`: mean of (x - y)² over C, H, W.
- `psnr`: 10·log10(data_range² / MSE). `reduction="per_image"` gives one dB value per image (B,), the usual
  "mean PSNR" of papers once averaged; `reduction="batch"` gives one number from the MSE over the whole batch,
  which is torchmetrics' default (`peak_signal_noise_ratio(..., dim=None)`). The two differ whenever the images'
  errors differ (the log of a mean is not the mean of logs). Identical images give +inf.
- `ssim`: Gaussian window (11x11, sigma 1.5), k1 0.01, k2 0.03, c = (k·data_range)²; give `data_range`
  explicitly (1.0 for [0, 1] floats, 255 for [0, 255]). The map is averaged over all channels and positions.
  `padding="valid"` (default) averages over the window positions that fit inside the image, as Wang et al.'s
  MATLAB code and scikit-image do. `padding="reflect"` reflect-pads by half a window and averages over all H×W
  positions, as torchmetrics does; the two differ by the border positions (a few 1e-3 on small images).
- `ms_ssim`: five scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333); 2x2 average pooling between
  scales; contrast-structure terms at the first four scales and the full SSIM at the last, each clamped at 0
  (torchmetrics' default `normalize="relu"`, also pytorch-msssim's) so a negative term gives 0, not NaN. Same
  `padding` choice as `ssim`; with `padding="reflect"` the result equals torchmetrics', whose contrast terms use
  the valid positions only and whose last-scale SSIM uses the padded map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, 5 scales
PSNR_REDUCTIONS = ("per_image", "batch")
SSIM_PADDINGS = ("valid", "reflect")


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"pixel metrics take two tensors; got {type(x).__name__} and {type(y).__name__}")
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(
            f"PSNR/SSIM need two (B, C, H, W) tensors of one shape; got {tuple(x.shape)} and {tuple(y.shape)}"
        )


def _check_data_range(data_range: float) -> float:
    if not float(data_range) > 0:
        raise ValueError(f"data_range must be > 0 (1.0 for [0, 1] images, 255 for [0, 255]); got {data_range}")
    return float(data_range)


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image, (B,) float64, over channels and pixels."""
    _check_pair(x, y)
    return ((x.double() - y.double()) ** 2).flatten(1).mean(1)  # (B,)


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, reduction: str = "per_image") -> torch.Tensor:
    """Peak signal-to-noise ratio in dB: (B,) per image, or a 0-d tensor from the whole batch's MSE.

    "per_image" equals torchmetrics' `peak_signal_noise_ratio(x, y, data_range, dim=(1, 2, 3), reduction="none")`;
    "batch" equals its default `dim=None`. +inf where the images are identical.
    """
    _check_pair(x, y)
    peak = _check_data_range(data_range)
    if reduction == "per_image":
        err = mse(x, y)  # (B,)
    elif reduction == "batch":
        err = mse(x, y).mean()  # every image has C*H*W values, so this is the MSE over the whole batch
    else:
        raise ValueError(f"PSNR reduction {reduction!r} — allowed: {', '.join(PSNR_REDUCTIONS)}")
    return 10 * torch.log10(peak**2 / err)


def _gaussian_1d(size: int, sigma: float, dtype, device) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()  # (k,)


def _gaussian_blur_valid(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The separable 2-D Gaussian (outer product of `g` with itself) per channel, valid positions only."""
    channels, k = x.shape[1], g.numel()
    x = F.conv2d(x, g.view(1, 1, k, 1).expand(channels, 1, k, 1), groups=channels)  # (N, C, H-k+1, W)
    return F.conv2d(x, g.view(1, 1, 1, k).expand(channels, 1, 1, k), groups=channels)  # (N, C, H-k+1, W-k+1)


def _check_window(window: int, sigma: float, padding: str) -> None:
    if window < 1 or window % 2 == 0:
        raise ValueError(f"the SSIM window must be an odd positive size; got {window}")
    if not sigma > 0:
        raise ValueError(f"the SSIM Gaussian sigma must be > 0; got {sigma}")
    if padding not in SSIM_PADDINGS:
        raise ValueError(f"SSIM padding {padding!r} — allowed: {', '.join(SSIM_PADDINGS)}")


def _ssim_and_contrast(
    x: torch.Tensor, y: torch.Tensor, c1: float, c2: float, window: int, sigma: float, padding: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure term per image, both (B,); x, y float64 (B, C, H, W)."""
    pad = window // 2
    g = _gaussian_1d(window, sigma, x.dtype, x.device)
    if padding == "reflect":
        x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        y = F.pad(y, (pad, pad, pad, pad), mode="reflect")
    stats = _gaussian_blur_valid(torch.cat([x, y, x * x, y * y, x * y]), g)  # (5B, C, h, w)
    mu_x, mu_y, xx, yy, xy = stats.split(x.shape[0])
    var_x = (xx - mu_x**2).clamp(min=0)  # rounding can make a flat patch's variance a hair negative
    var_y = (yy - mu_y**2).clamp(min=0)
    cov = xy - mu_x * mu_y
    contrast = (2 * cov + c2) / (var_x + var_y + c2)  # (B, C, h, w)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * contrast
    if padding == "reflect" and pad > 0:  # torchmetrics crops the contrast map back to the valid positions
        contrast = contrast[..., pad:-pad, pad:-pad]
    return ssim_map.flatten(1).mean(1), contrast.flatten(1).mean(1)


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    padding: str = "valid",
) -> torch.Tensor:
    """Mean structural similarity per image, (B,) float64; 1 for identical images.

    padding "valid" (default): the window positions inside the image (Wang et al., scikit-image);
    "reflect": reflect-padded, all H×W positions (torchmetrics' `structural_similarity_index_measure`).
    """
    _check_pair(x, y)
    _check_window(window, sigma, padding)
    peak = _check_data_range(data_range)
    if min(x.shape[-2:]) < window:
        raise ValueError(f"SSIM needs images at least {window}x{window}; got {tuple(x.shape[-2:])}")
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    return _ssim_and_contrast(x.double(), y.double(), c1, c2, window, sigma, padding)[0]


def ms_ssim_min_side(window: int = 11, scales: int = len(MS_SSIM_WEIGHTS)) -> int:
    """The smallest image side MS-SSIM accepts: the coarsest scale (side / 2^(scales-1)) must hold one window."""
    return window * 2 ** (scales - 1)


def ms_ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    weights: Sequence[float] = MS_SSIM_WEIGHTS,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    padding: str = "valid",
) -> torch.Tensor:
    """Multi-scale SSIM per image, (B,) float64: prod_j cs_j^w_j over the first scales times ssim_last^w_last.

    Terms are clamped at 0 before the powers (torchmetrics' normalize="relu"). Images must be at least
    `ms_ssim_min_side(window, len(weights))` pixels on each side (176 for the default 11x11 window, 5 scales).
    """
    _check_pair(x, y)
    _check_window(window, sigma, padding)
    peak = _check_data_range(data_range)
    weights = tuple(float(w) for w in weights)
    if not weights:
        raise ValueError("MS-SSIM needs at least one scale weight")
    need = ms_ssim_min_side(window, len(weights))
    if min(x.shape[-2:]) < need:
        raise ValueError(
            f"MS-SSIM with {len(weights)} scales and a {window}x{window} window needs images at least "
            f"{need}x{need} (the coarsest scale is 1/{2 ** (len(weights) - 1)} of the side); "
            f"got {tuple(x.shape[-2:])}. Use SSIM for smaller images."
        )
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    x, y = x.double(), y.double()
    terms = []
    for scale in range(len(weights)):
        sim, contrast = _ssim_and_contrast(x, y, c1, c2, window, sigma, padding)  # (B,), (B,)
        terms.append(sim if scale == len(weights) - 1 else contrast)
        if scale < len(weights) - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    stacked = torch.stack(terms).clamp(min=0)  # (S, B)
    powers = torch.tensor(weights, dtype=stacked.dtype, device=stacked.device)[:, None]  # (S, 1)
    return (stacked**powers).prod(0)


__all__ = ["MS_SSIM_WEIGHTS", "ms_ssim", "ms_ssim_min_side", "mse", "psnr", "ssim"]
