"""Tiled upscaling: equals the untiled result for neighbourhood-local models, exact shapes, validation, progress."""

import pytest
import torch
from torch import nn

from genart_demo.tiling import axis_weights, count_tiles, tile_starts, tiled_upscale


def local_upscaler(radius: int, scale: int = 4, width: int = 8, seed: int = 0, nearest: bool = False) -> nn.Module:
    """Fixed random 3x3 conv stack (receptive radius `radius` px) then pixel-shuffle (or nearest) x`scale`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        ch = 3
        for i in range(radius):
            out = (3 if nearest else 3 * scale * scale) if i == radius - 1 else width
            layers += [nn.Conv2d(ch, out, 3, padding=1)] + ([nn.GELU()] if i < radius - 1 else [])
            ch = out
        up = nn.Upsample(scale_factor=scale, mode="nearest") if nearest else nn.PixelShuffle(scale)
        return nn.Sequential(*layers, up).eval()


@pytest.mark.parametrize(
    "h, w, tile, overlap, nearest",
    [
        (700, 530, 256, 32, True),
        (530, 300, 200, 16, False),
        (300, 129, 64, 12, False),
        (97, 97, 33, 16, False),
        (260, 40, 128, 32, True),
    ],
)
def test_tiled_equals_untiled(h, w, tile, overlap, nearest):
    torch.manual_seed(1)
    net = local_upscaler(radius=3, nearest=nearest)  # r = 3 <= default margin ceil(overlap / 4)
    x = torch.rand(1, 3, h, w)
    with torch.no_grad():
        ref = net(x)  # (1, 3, 4h, 4w)
    calls = []
    out = tiled_upscale(lambda t: calls.append(t.shape) or net(t), x, scale=4, tile=tile, overlap=overlap)
    assert out.shape == (1, 3, 4 * h, 4 * w) and out.dtype == torch.float32
    assert len(calls) == count_tiles(h, w, tile, overlap) > 1
    assert all(s[2] == min(tile, h) and s[3] == min(tile, w) for s in calls)  # every tile full-size
    assert (out - ref).abs().max().item() < 1e-4


def test_hard_seam_margin_covers_half_the_overlap():
    """margin = overlap // 2 gives a hard seam mid-overlap: exact for any radius < overlap / 2."""
    net = local_upscaler(radius=7, scale=2)
    x = torch.rand(1, 3, 150, 170)
    with torch.no_grad():
        ref = net(x)
    out = tiled_upscale(net, x, scale=2, tile=64, overlap=16, margin=8)
    assert (out - ref).abs().max().item() < 1e-4


def test_radius_beyond_margin_is_not_exact():
    """The property is real: a model that sees past the zero-weight margin shows the tile borders."""
    net = local_upscaler(radius=4, scale=2)
    x = torch.rand(1, 3, 120, 120)
    with torch.no_grad():
        ref = net(x)
    out = tiled_upscale(net, x, scale=2, tile=48, overlap=8)  # margin 2 < radius 4
    assert (out - ref).abs().max().item() > 1e-3


def test_small_image_untiled_once():
    net = local_upscaler(radius=1)
    x = torch.rand(1, 3, 40, 64)
    seen, progress = [], []
    out = tiled_upscale(
        lambda t: seen.append(t.shape) or net(t),
        x,
        4,
        tile=64,
        overlap=8,
        progress=lambda d, n: progress.append((d, n)),
    )
    assert seen == [torch.Size([1, 3, 40, 64])] and progress == [(1, 1)]
    assert out.shape == (1, 3, 160, 256)


def test_progress_counts_tiles():
    net = local_upscaler(radius=1, scale=2, nearest=True)
    progress = []
    tiled_upscale(
        net, torch.rand(1, 3, 700, 530), 2, tile=256, overlap=32, progress=lambda d, n: progress.append((d, n))
    )
    assert tile_starts(700, 256, 32) == [0, 224, 444] and tile_starts(530, 256, 32) == [0, 224, 274]
    assert progress == [(i, 9) for i in range(1, 10)]


@pytest.mark.parametrize(
    "tile, overlap, match",
    [
        (64, 32, "tile must be >= 2\\*overlap \\+ 1 = 65"),
        (64, -1, "0 <= overlap <= \\(tile - 1\\) // 2"),
        (0, 0, "tile must be >= 2\\*overlap \\+ 1 = 1"),
    ],
)
def test_bad_tile_overlap_refused(tile, overlap, match):
    with pytest.raises(ValueError, match=match):
        tiled_upscale(lambda t: t, torch.rand(1, 3, 8, 8), 1, tile=tile, overlap=overlap)


def test_bad_margin_and_wrong_fn_output_refused():
    with pytest.raises(ValueError, match="margin=9: allowed values are 0..8"):
        tiled_upscale(lambda t: t, torch.rand(1, 3, 8, 8), 1, tile=64, overlap=16, margin=9)
    with pytest.raises(ValueError, match="expected \\(1, C, 128, 128\\) for scale=2"):
        tiled_upscale(lambda t: t, torch.rand(1, 3, 100, 100), 2, tile=64, overlap=16)


@pytest.mark.parametrize("length, tile, overlap", [(993, 512, 32), (1000, 100, 49), (5000, 512, 32), (513, 512, 0)])
def test_weights_partition_of_unity(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] == length - tile
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))  # neighbours overlap >= overlap
    acc = torch.zeros(length * 3, dtype=torch.float64)
    for s, w in zip(starts, axis_weights(starts, tile, 3, overlap, -(-overlap // 4))):
        assert float(w.min()) >= 0.0
        acc[s * 3 : (s + tile) * 3] += w
    assert torch.allclose(acc, torch.ones_like(acc), atol=1e-12)
