"""Tiled upscaling, as two ratios measured in this run: (a) peak memory of upscaling a 2048x2048 image in 512 px
tiles over the peak of upscaling ONE 512x512 tile (goal <= 1.5); (b) time of tiled over untiled upscaling of an
image both can do (768x768, tile 512).

    .venv/bin/python benchmarks/tiling.py [--size 2048] [--tile 512] [--overlap 32] [--time-size 768]
                                          [--nf 64] [--blocks 2] [--scale 4] [--repeats 1] [--device cpu|cuda]

The model is a random-weight spandrel ESRGAN RRDBNet. The default has Real-ESRGAN x4plus's width (--nf 64) with 2
of its 23 blocks, so a tile's activations are realistic while a CPU run stays near 20 minutes (2 cores); the test
stand-in is --nf 8 --blocks 1, whose activations are smaller than the 2048 px output buffer itself. Each memory
figure comes from its own subprocess: on CPU the growth of ru_maxrss over a
baseline taken after imports, model and input are in memory; on CUDA torch.cuda.max_memory_allocated over the
allocation at the same point. Peak of the tiled run = one tile's activations + the (1, 3, size*s, size*s) float32
output buffer, so the ratio approaches 1 only when the model's activations dwarf that buffer (wide models).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _model(nf: int, blocks: int, scale: int, device: str):
    import torch
    from spandrel.architectures.ESRGAN import ESRGAN

    from genart_demo.sr import descriptor_from_state_dict

    torch.manual_seed(0)
    state = ESRGAN(num_filters=nf, num_blocks=blocks, scale=scale).state_dict()
    return descriptor_from_state_dict(state, name=f"RRDBNet-{nf}nf-{blocks}nb-x{scale}", device=device)


def _worker(args: argparse.Namespace) -> None:
    """One measurement in this fresh process; prints a JSON line."""
    import resource

    import torch

    from genart_demo.sr import upscale_tensor
    from genart_demo.tiling import tiled_upscale

    desc = _model(args.nf, args.blocks, args.scale, args.device)
    fn = lambda t: upscale_tensor(desc, t)
    x = torch.rand(1, 3, args.h, args.h, generator=torch.Generator().manual_seed(0)).to(args.device)
    fn(x[..., :32, :32])  # warm-up: thread pools, kernels (not counted: the baseline is taken after it)
    cuda = args.device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    t0 = time.perf_counter()
    if args.mode == "tiled":
        y = tiled_upscale(fn, x, desc.scale, tile=args.tile, overlap=args.overlap)
    else:
        y = fn(x)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_bytes": peak - base, "seconds": seconds, "out_shape": list(y.shape)}))


def _measure(args: argparse.Namespace, mode: str, h: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", mode, "--h", str(h)] + [
        f"--{k}={getattr(args, k)}" for k in ("tile", "overlap", "nf", "blocks", "scale", "device")
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--time-size", type=int, default=768)
    p.add_argument("--nf", type=int, default=64)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--device", default="cuda" if _cuda() else "cpu")
    p.add_argument("--worker", choices=["tiled", "untiled"], help=argparse.SUPPRESS)
    p.add_argument("--h", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        args.mode = args.worker
        return _worker(args)

    from genart_demo.tiling import count_tiles

    mib = 1024**2
    print(
        f"RRDBNet {args.nf}nf {args.blocks}nb x{args.scale} on {args.device}, tile {args.tile}, overlap {args.overlap}"
    )
    one = _measure(args, "untiled", args.tile)
    print(f"one {args.tile}x{args.tile} tile untiled: peak +{one['peak_bytes'] / mib:.0f} MiB, {one['seconds']:.1f} s")
    n = count_tiles(args.size, args.size, args.tile, args.overlap)
    big = _measure(args, "tiled", args.size)
    out_mib = 3 * (args.size * args.scale) ** 2 * 4 / mib
    print(
        f"{args.size}x{args.size} tiled ({n} tiles): peak +{big['peak_bytes'] / mib:.0f} MiB "
        f"(of which output buffer {out_mib:.0f} MiB), {big['seconds']:.1f} s"
    )
    print(
        f"(a) peak memory ratio tiled {args.size} / one tile = {big['peak_bytes'] / one['peak_bytes']:.2f}  (goal <= 1.5)"
    )

    untiled, tiled = [], []
    for _ in range(args.repeats):  # alternate, so drift hits both sides
        untiled.append(_measure(args, "untiled", args.time_size)["seconds"])
        tiled.append(_measure(args, "tiled", args.time_size)["seconds"])
    u, t = statistics.median(untiled), statistics.median(tiled)
    n = count_tiles(args.time_size, args.time_size, args.tile, args.overlap)
    work = n * min(args.tile, args.time_size) ** 2 / args.time_size**2
    print(f"{args.time_size}x{args.time_size}: untiled {u:.1f} s, tiled ({n} tiles, {work:.2f}x the pixels) {t:.1f} s")
    print(f"(b) time ratio tiled / untiled = {t / u:.2f}")


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


if __name__ == "__main__":
    main()
