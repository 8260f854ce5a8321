"""Chunked temporal-VAE decoding: peak memory of decoding N latent frames in chunks over decoding all N at once.

    .venv/bin/python benchmarks/video_decode.py [--frames 16] [--chunk 2] [--size 256] [--device cpu|cuda]

The model is a random-weight diffusers AutoencoderKLTemporalDecoder built from a config (block_out_channels
(32, 64, 64, 64), 4 latent channels: latents (N, 4, size/8, size/8) -> N frames of size x size), decoded the way
StableVideoDiffusionPipeline.decode_latents does: scale by 1/scaling_factor, loop over chunks of the frame batch,
pass num_frames=len(chunk) to vae.decode, concatenate. Goal: chunked/all-at-once peak ratio <= 0.5 for N >= 16.
Each measurement runs in its own subprocess: on CPU the growth of ru_maxrss over a baseline taken after imports,
model, latents and a one-frame warm-up; on CUDA torch.cuda.max_memory_allocated over the allocation at that point.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BLOCKS = (32, 64, 64, 64)  # three upsamplings: latent side * 8 = frame side


def _model(device: str):
    """Random-weight temporal VAE (seeded), eval mode."""
    import torch
    from diffusers import AutoencoderKLTemporalDecoder

    torch.manual_seed(0)
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=BLOCKS,
        down_block_types=("DownEncoderBlock2D",) * len(BLOCKS),
        latent_channels=4,
        layers_per_block=1,
    )
    return vae.to(device).eval()


def decode_latents(vae, latents, chunk: int):
    """(N, C, h, w) latents -> (N, 3, H, W) float32 frames, `chunk` frames per decoder call (SVD-style)."""
    import torch

    latents = latents / vae.config.scaling_factor
    frames = []
    for i in range(0, latents.shape[0], chunk):
        part = latents[i : i + chunk]
        frames.append(vae.decode(part, num_frames=part.shape[0]).sample)
    return torch.cat(frames, dim=0).float()


def _peak(cuda: bool) -> int:
    import resource

    import torch

    if cuda:
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _worker(args: argparse.Namespace) -> None:
    """One measurement in this fresh process; prints a JSON line."""
    import torch

    cuda = args.device == "cuda"
    vae = _model(args.device)
    side = args.size // 2 ** (len(BLOCKS) - 1)
    latents = torch.randn(args.frames, 4, side, side, generator=torch.Generator().manual_seed(0)).to(args.device)
    with torch.inference_mode():
        decode_latents(vae, latents[:1, :, :4, :4], 1)  # warm-up: thread pools, kernels (before the baseline)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() if cuda else _peak(False)
        t0 = time.perf_counter()
        frames = decode_latents(vae, latents, args.chunk)
        peak = _peak(cuda)
        seconds = time.perf_counter() - t0
    print(json.dumps({"peak_bytes": peak - base, "seconds": seconds, "out_shape": list(frames.shape)}))


def _measure(args: argparse.Namespace, chunk: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", f"--chunk={chunk}"] + [
        f"--{k}={getattr(args, k)}" for k in ("frames", "size", "device")
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--chunk", type=int, default=2)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--device", default="cuda" if _cuda() else "cpu")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return _worker(args)

    mib = 1024**2
    out_mib = args.frames * 3 * args.size**2 * 4 / mib
    print(
        f"AutoencoderKLTemporalDecoder {BLOCKS} (random weights) on {args.device}: "
        f"{args.frames} latents -> {args.frames}x3x{args.size}x{args.size} frames (output {out_mib:.0f} MiB)"
    )
    full = _measure(args, args.frames)
    print(f"all {args.frames} at once:  peak +{full['peak_bytes'] / mib:.0f} MiB, {full['seconds']:.2f} s")
    part = _measure(args, args.chunk)
    print(f"chunks of {args.chunk}:        peak +{part['peak_bytes'] / mib:.0f} MiB, {part['seconds']:.2f} s")
    print(f"peak memory ratio chunked / all-at-once = {part['peak_bytes'] / full['peak_bytes']:.2f}  (goal <= 0.5)")
    print(f"time ratio chunked / all-at-once = {part['seconds'] / full['seconds']:.2f}")


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


if __name__ == "__main__":
    main()
