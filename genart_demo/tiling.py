"""Tiled image-to-image processing (upscalers) with overlapping tiles, feathered blending and bounded memory.

Blending, per axis: each pair of neighbouring tiles overlaps by at least `overlap` input px. Inside that overlap
the first `margin` px next to each tile's inner edge get weight 0 (there the tile saw zero padding instead of
its neighbour's pixels), and the weight ramps linearly from one tile to the other over the rest of the overlap
(its middle half with the default margin = ceil(overlap / 4)). Weights are built as telescoping differences of
ramps, so they sum to exactly 1 everywhere; the 2-D weight is the outer product of the two axes' weights.

Consequence: if every output pixel depends only on input pixels within radius r <= margin (e.g. a conv stack
followed by nearest / pixel-shuffle upsampling), the tiled result equals the untiled one up to float rounding.
Real GAN upscalers see further than that; there the ramp hides the seams instead.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

TileFn = Callable[[torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]


def validate_tiling(tile: int, overlap: int, margin: int | None = None) -> int:
    """Check tile/overlap/margin; returns the margin to use. ValueError names the allowed range."""
    if overlap < 0:
        raise ValueError(f"overlap={overlap}: allowed values are 0 <= overlap <= (tile - 1) // 2")
    if tile < 2 * overlap + 1:
        raise ValueError(
            f"tile={tile}, overlap={overlap}: tile must be >= 2*overlap + 1 = {2 * overlap + 1} "
            f"(allowed overlap for this tile: 0..{max(tile - 1, 0) // 2})"
        )
    margin = -(-overlap // 4) if margin is None else margin
    if not 0 <= 2 * margin <= overlap:
        raise ValueError(f"margin={margin}: allowed values are 0..{overlap // 2} for overlap={overlap}")
    return margin


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of full-size tiles along one axis; the last one is shifted inward to end at `length`."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride)) + [length - tile]
    if len(starts) >= 3 and starts[-1] - starts[-3] <= stride:
        del starts[-2]  # its neighbours already overlap by >= `overlap`: that tile adds nothing
    return starts


def axis_weights(starts: list[int], tile: int, scale: int, overlap: int, margin: int) -> list[torch.Tensor]:
    """Per-tile 1-D blend weights in output pixels, each (tile*scale,), summing to 1 at every output position."""
    n = len(starts)
    if n == 1:
        return [torch.ones(tile * scale, dtype=torch.float64)]
    # Transition k (between tiles k and k+1) is centred on the middle of their overlap, in input px.
    centres = [(starts[k + 1] + starts[k] + tile) / 2 for k in range(n - 1)]
    half = max(overlap - 2 * margin, 0) / 2
    if n > 2:  # neighbouring ramps must not overlap, or a weight could go negative
        half = min(half, min(b - a for a, b in zip(centres, centres[1:])) / 2)
    weights = []
    for i, start in enumerate(starts):
        q = (torch.arange(tile * scale, dtype=torch.float64) + 0.5) / scale + start  # output px centres, input units

        def ramp(k: int, q: torch.Tensor = q) -> torch.Tensor:  # 0 before transition k, 1 after it
            if half == 0:
                return (q > centres[k]).to(torch.float64)
            return ((q - centres[k] + half) / (2 * half)).clamp(0, 1)

        w = (ramp(i - 1) if i > 0 else torch.ones_like(q)) - (ramp(i) if i < n - 1 else torch.zeros_like(q))
        weights.append(w)
    return weights


def tiled_upscale(
    fn: TileFn,
    x: torch.Tensor,
    scale: int,
    tile: int = 512,
    overlap: int = 32,
    progress: Progress | None = None,
    *,
    margin: int | None = None,
) -> torch.Tensor:
    """Apply `fn` ((B, C, h, w) -> (B, C', h*scale, w*scale)) to x (B, C, H, W) tile by tile.

    Returns (B, C', H*scale, W*scale). Tiles are at most `tile` px, overlap by at least `overlap` px and are
    blended as described in the module docstring; when H and W <= tile, `fn` is called once on the whole image.
    Peak memory: the output buffer plus one tile's activations. The buffer is float32 (or fn's dtype if wider).
    `progress(done, total)` is called after each tile.
    """
    margin = validate_tiling(tile, overlap, margin)
    if x.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    if scale < 1:
        raise ValueError(f"scale={scale}: allowed values are integers >= 1")
    B, _, H, W = x.shape
    if tile >= H and tile >= W:
        y = fn(x)  # (B, C', H*scale, W*scale)
        _check_output(y, B, H, W, scale)
        if progress is not None:
            progress(1, 1)
        return y

    th, tw = min(tile, H), min(tile, W)
    ys, xs = tile_starts(H, tile, overlap), tile_starts(W, tile, overlap)
    wys = axis_weights(ys, th, scale, overlap, margin)
    wxs = axis_weights(xs, tw, scale, overlap, margin)
    total, done = len(ys) * len(xs), 0
    out: torch.Tensor | None = None
    with torch.no_grad():
        for y0, wy in zip(ys, wys):
            for x0, wx in zip(xs, wxs):
                y = fn(x[:, :, y0 : y0 + th, x0 : x0 + tw])  # (B, C', th*scale, tw*scale)
                _check_output(y, B, th, tw, scale)
                if out is None:  # C' is known after the first tile
                    dtype = torch.promote_types(y.dtype, torch.float32)
                    out = torch.zeros(B, y.shape[1], H * scale, W * scale, dtype=dtype, device=y.device)
                w2 = (wy[:, None] * wx[None, :]).to(out.device, out.dtype)  # (th*scale, tw*scale)
                oy, ox = y0 * scale, x0 * scale
                out[:, :, oy : oy + th * scale, ox : ox + tw * scale].addcmul_(y.to(out.dtype), w2)
                del y, w2
                done += 1
                if progress is not None:
                    progress(done, total)
    assert out is not None
    return out


def _check_output(y: torch.Tensor, b: int, h: int, w: int, scale: int) -> None:
    """fn must map (B, C, h, w) to (B, C', h*scale, w*scale)."""
    if y.ndim != 4 or y.shape[0] != b or y.shape[2] != h * scale or y.shape[3] != w * scale:
        raise ValueError(
            f"tile function returned shape {tuple(y.shape)} for a {h}x{w} tile; expected "
            f"({b}, C, {h * scale}, {w * scale}) for scale={scale}"
        )


def count_tiles(height: int, width: int, tile: int = 512, overlap: int = 32) -> int:
    """How many times tiled_upscale calls fn for an image of this size."""
    validate_tiling(tile, overlap)
    if height <= tile and width <= tile:
        return 1
    return len(tile_starts(height, tile, overlap)) * len(tile_starts(width, tile, overlap))


__all__ = ["tiled_upscale", "tile_starts", "axis_weights", "count_tiles", "validate_tiling"]
