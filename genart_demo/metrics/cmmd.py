"""CMMD: the biased MMD² of CLIP image embeddings under a Gaussian RBF kernel (Jayasumana et al. 2024, "Rethinking FID").

The reference is google-research/google-research cmmd/ (distance.py @4c42994, embedding.py @8d8a4f1,
io_util.py @4c42994), read for these facts:

- **Estimator**: the minimum-variance (biased, V-statistic) MMD² of Gretton et al. (2012) Eq. 5:
  mean(Kxx) + mean(Kyy) - 2·mean(Kxy) over *all* pairs, the diagonal i = j included, so CMMD(X, X) = 0 exactly and
  the two sets may differ in size. This is not KID's unbiased estimator (kid.mmd2_unbiased drops the diagonal).
- **Kernel**: k(x, y) = exp(-‖x - y‖² / (2σ²)), σ = 10, with ‖x - y‖² = ‖x‖² + ‖y‖² - 2x·y as the reference writes it;
  the result is multiplied by 1000 "to make the metric more human readable".
- **Features**: CLIP ViT-L/14 at 336 px (scenic 'vit_l14_336px', OpenAI's ViT-L-14-336px weights, on the Hub as
  openai/clip-vit-large-patch14-336), image embeddings L2-normalised (scenic's CLIP.encode_image normalises by
  default). Images are centre-cropped to a square and PIL-bicubic resized to 336 there; transformers' CLIP processor
  (shortest side 336, then centre crop) equals it for square images and differs by a resampling step otherwise.

With unit-norm features every distance is at most 2, so each kernel entry lies in [exp(-0.02), 1] and CMMD is small
(the paper's numbers are 0.1-5). Unlike the reference (float32 in JAX), everything here is float64.
"""

from __future__ import annotations

import numpy as np

from .clip import ClipImageExtractor, load_clip
from .frechet import Features, as_float64_features
from .kid import GRAM_BUDGET

CMMD_CLIP = "openai/clip-vit-large-patch14-336"  # the reference's 'vit_l14_336px'
CMMD_SIGMA = 10.0  # RBF bandwidth, distance.py _SIGMA
CMMD_SCALE = 1000.0  # distance.py _SCALE
CONVENTION = "CMMD: 1000·biased MMD², Gaussian RBF σ=10, all pairs incl. i=j, unit-norm CLIP embeddings"


def gaussian_kernel(x: np.ndarray, y: np.ndarray, sigma: float = CMMD_SIGMA) -> np.ndarray:
    """exp(-‖x - y‖² / 2σ²) for (n, d) and (m, d) float64 features -> (n, m); distances from norms and x·yᵀ."""
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * (x @ y.T)  # (n, m)
    return np.exp(-sq / (2 * sigma**2))


def gaussian_kernel_mean(x: np.ndarray, y: np.ndarray, sigma: float = CMMD_SIGMA) -> float:
    """The mean of gaussian_kernel(x, y) over all n·m pairs, in row blocks of at most GRAM_BUDGET entries."""
    rows = max(1, GRAM_BUDGET // max(1, y.shape[0]))
    total = sum(gaussian_kernel(x[i : i + rows], y, sigma).sum() for i in range(0, x.shape[0], rows))
    return float(total / (x.shape[0] * y.shape[0]))


def cmmd(x: Features, y: Features, sigma: float = CMMD_SIGMA, scale: float = CMMD_SCALE) -> float:
    """scale · (mean Kxx + mean Kyy - 2 mean Kxy) between (n, d) and (m, d) features, float64 (see the module doc).

    Pass the embeddings as the extractor gives them (cmmd_extractor: unit-norm CLIP); this function does not
    normalise, like the reference's mmd().
    """
    a, b = as_float64_features(x, "x"), as_float64_features(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the two feature sets have different widths: {a.shape[1]} and {b.shape[1]}")
    if a.shape[0] < 1 or b.shape[0] < 1:
        raise ValueError(f"CMMD needs at least 1 vector in each set; got {a.shape[0]} and {b.shape[0]}")
    if not sigma > 0:
        raise ValueError(f"CMMD's kernel bandwidth sigma must be positive; got {sigma!r}")
    k_xx, k_yy = gaussian_kernel_mean(a, a, sigma), gaussian_kernel_mean(b, b, sigma)
    return float(scale * (k_xx + k_yy - 2 * gaussian_kernel_mean(a, b, sigma)))


def cmmd_extractor(model_id: str = CMMD_CLIP, *, standin: bool = False, local_files_only: bool = False, seed: int = 0):
    """The CLIP image extractor CMMD uses (unit-norm embeddings); `standin=True` gives the tiny offline CLIP."""
    return ClipImageExtractor(
        load_clip(model_id, local_files_only=local_files_only, standin=standin, image_backend="pil", seed=seed)
    )


__all__ = [
    "CMMD_CLIP",
    "CMMD_SCALE",
    "CMMD_SIGMA",
    "CONVENTION",
    "cmmd",
    "cmmd_extractor",
    "gaussian_kernel",
    "gaussian_kernel_mean",
]
