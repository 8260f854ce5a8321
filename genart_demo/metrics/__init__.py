"""Metrics as plain functions over tensors (stands alone: imports nothing else from genart)."""
from .pixel import psnr, ssim

__all__ = ["psnr", "ssim"]
