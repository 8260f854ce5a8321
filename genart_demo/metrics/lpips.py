"""LPIPS (Zhang et al. 2018): distances between unit-normalised deep features, weighted by learned 1x1 heads.

How a distance is made, following the original code and torchmetrics' port of it:

1. inputs in [-1, 1] (`normalize=True` maps [0, 1] inputs with 2x - 1); anything outside is refused;
2. the scaling layer (x - shift) / scale with shift (-.030, -.088, -.188), scale (.458, .448, .450);
3. the torchvision backbone's feature stack, tapped after each ReLU block (AlexNet: relu1..relu5, five taps);
4. each tap unit-normalised over channels, x / (||x|| + 1e-10) as in the original `normalize_tensor`
   (torchmetrics uses x / sqrt(||x||² + 1e-8); the two agree to ~1e-8 unless a feature vector is almost zero);
5. squared difference, the layer's 1x1 linear head (no bias), mean over the spatial positions, sum over layers.

The linear heads are the LPIPS v0.1 weights that torchmetrics ships in its wheel
(`torchmetrics/functional/image/lpips_models/{alex,vgg,squeeze}.pth`). The backbone's ImageNet weights come from
torchvision: a local file, torchvision's cache, or a download when allowed; offline, `standin=True` gives the same
architecture with seeded random weights (numbers for testing the plumbing only, flagged `info.standin`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .base import ExtractorInfo

LPIPS_NETS = ("alex", "vgg", "squeeze")
SHIFT = (-0.030, -0.088, -0.188)  # the LPIPS scaling layer, per RGB channel
SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10  # original LPIPS normalize_tensor: x / (||x|| + eps)


@dataclass(frozen=True)
class _NetSpec:
    arch: str  # torchvision.models constructor
    weights: str  # torchvision weights enum (its DEFAULT is used)
    label: str  # what people read
    taps: tuple[int, ...]  # indices in `.features` after which a feature map is compared
    channels: tuple[int, ...]  # channels at each tap (= the linear heads' inputs)
    min_side: int  # smallest input side the tapped layers accept


_NETS = {
    "alex": _NetSpec("alexnet", "AlexNet_Weights", "AlexNet", (1, 4, 7, 9, 11), (64, 192, 384, 256, 256), 31),
    "vgg": _NetSpec("vgg16", "VGG16_Weights", "VGG16", (3, 8, 15, 22, 29), (64, 128, 256, 512, 512), 16),
    "squeeze": _NetSpec(
        "squeezenet1_1",
        "SqueezeNet1_1_Weights",
        "SqueezeNet 1.1",
        (1, 4, 7, 9, 10, 11, 12),
        (64, 128, 256, 384, 384, 512, 512),
        17,
    ),
}


def _spec(net: str) -> _NetSpec:
    if net not in _NETS:
        raise ValueError(f"LPIPS backbone {net!r} — allowed: {', '.join(LPIPS_NETS)}")
    return _NETS[net]


def packaged_heads_path(net: str = "alex") -> Path:
    """Where torchmetrics' wheel keeps the LPIPS v0.1 linear heads for `net` (found without importing torchmetrics)."""
    _spec(net)
    found = importlib.util.find_spec("torchmetrics")
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError("LPIPS's linear heads ship inside torchmetrics; install it or pass heads_path")
    return Path(next(iter(found.submodule_search_locations))) / "functional" / "image" / "lpips_models" / f"{net}.pth"


def _backbone(net: str) -> nn.Sequential:
    """torchvision's `.features` up to the last tap with He-normal weights and zero biases (global RNG).

    Built on the meta device first so that the classifier (37M parameters for AlexNet, 120M for VGG16) is never
    allocated or initialised. He init keeps a random stand-in's activations O(1) through the stack; PyTorch's
    default init shrinks them layer by layer until SqueezeNet's deep taps are denormal floats (slow, and nearly
    zero vectors make the unit normalisation ill-defined).
    """
    import torchvision  # lazy: torchvision is needed only by this network

    spec = _spec(net)
    with torch.device("meta"):
        features = getattr(torchvision.models, spec.arch)(weights=None).features[: spec.taps[-1] + 1]
    features = features.to_empty(device="cpu")
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return features


class LPIPS(nn.Module):
    """LPIPS distance module; build it with `load_lpips`, which sets the backbone weights and `info`."""

    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(self, net: str = "alex", heads_path: str | Path | None = None) -> None:
        super().__init__()
        spec = _spec(net)
        self.net, self.spec = net, spec
        self.features = _backbone(net)  # random until load_lpips fills it
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in spec.channels)
        self.register_buffer("shift", torch.tensor(SHIFT)[None, :, None, None], persistent=False)  # (1, 3, 1, 1)
        self.register_buffer("scale", torch.tensor(SCALE)[None, :, None, None], persistent=False)
        path = Path(heads_path) if heads_path is not None else packaged_heads_path(net)
        state = torch.load(path, map_location="cpu", weights_only=True)  # {"lin{k}.model.1.weight": (1, C, 1, 1)}
        for k, head in enumerate(self.heads):
            key = f"lin{k}.model.1.weight"
            if key not in state:
                raise ValueError(f"{path} holds no {key}; it is not an LPIPS {net} heads file")
            head.weight.data.copy_(state[key])
        self.heads_source = str(path)
        self.weights_source = "untrained He-normal backbone (no ImageNet weights loaded)"
        self.info = ExtractorInfo(
            id=f"standin-lpips-{net}",
            name=f"LPIPS {spec.label} (untrained backbone)",
            dim=sum(spec.channels),
            resize="none (compared at the input size)",
            standin=True,
        )
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> LPIPS:
        return super().train(False)  # no dropout or batch norm state to switch: always evaluate

    def check_inputs(self, x: torch.Tensor, y: torch.Tensor, normalize: bool = False) -> None:
        """Refuse anything but two (B, 3, H, W) float batches of one shape in [-1, 1] ([0, 1] with normalize)."""
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise TypeError(f"LPIPS takes two tensors; got {type(x).__name__} and {type(y).__name__}")
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(
                f"LPIPS needs two (B, 3, H, W) tensors of one shape; got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        if not x.is_floating_point() or not y.is_floating_point():
            raise ValueError(
                f"LPIPS takes float images; got {x.dtype} and {y.dtype} (convert uint8 with x / 127.5 - 1)"
            )
        if min(x.shape[-2:]) < self.spec.min_side:
            raise ValueError(
                f"LPIPS with {self.spec.label} needs images at least {self.spec.min_side}x"
                f"{self.spec.min_side}; got {tuple(x.shape[-2:])}"
            )
        low, high = (0.0, 1.0) if normalize else (-1.0, 1.0)
        for name, t in (("first", x), ("second", y)):
            lo, hi = t.min().item(), t.max().item()
            if not (lo >= low and hi <= high):  # also catches NaN
                hint = "" if normalize else "; for [0, 1] images pass normalize=True"
                raise ValueError(
                    f"LPIPS inputs must lie in [{low:g}, {high:g}]; the {name} batch spans [{lo:.4g}, {hi:.4g}]{hint}"
                )

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised feature maps at each tap, [(B, C_k, H_k, W_k)]."""
        out, taps = [], set(self.spec.taps)
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in taps:
                out.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + NORM_EPS))
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        """LPIPS distance per image pair, (B,); 0 for identical images."""
        self.check_inputs(x, y, normalize)
        dtype, device = self.shift.dtype, self.shift.device
        x, y = x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)
        if normalize:
            x, y = 2 * x - 1, 2 * y - 1
        fx = self._taps((x - self.shift) / self.scale)
        fy = self._taps((y - self.shift) / self.scale)
        total = torch.zeros(x.shape[0], dtype=dtype, device=device)
        for head, a, b in zip(self.heads, fx, fy):
            total = total + head((a - b) ** 2).mean(dim=(1, 2, 3))  # (B, 1, h, w) -> (B,)
        return total


def lpips(x: torch.Tensor, y: torch.Tensor, model: LPIPS, normalize: bool = False) -> torch.Tensor:
    """LPIPS per image pair, (B,) float32; x, y (B, 3, H, W) in [-1, 1] (or [0, 1] with normalize=True)."""
    with torch.no_grad():
        return model(x, y, normalize=normalize)


def _torchvision_weights(net: str):
    import torchvision  # lazy: torchvision is needed only by this network

    return getattr(torchvision.models, _spec(net).weights).DEFAULT


def cached_backbone_path(net: str = "alex") -> Path:
    """Where torchvision keeps (or would keep) the backbone's ImageNet weights after a download."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(_torchvision_weights(net).url).name


def _backbone_state(state: dict, features: nn.Sequential, source: str) -> dict:
    """A torchvision state dict (whole model "features.N..." or features only "N...") cut to our layers."""
    state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier")}
    wanted = features.state_dict().keys()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise ValueError(f"{source} is not a torchvision state dict for this backbone: it lacks {missing[:3]}")
    return {k: state[k] for k in wanted}


def load_lpips(
    net: str = "alex",
    weights_path: str | Path | None = None,
    allow_download: bool = False,
    standin: bool = False,
    seed: int = 0,
    heads_path: str | Path | None = None,
) -> LPIPS:
    """An LPIPS module with the v0.1 heads and, in order of preference, the backbone weights from: a seeded random
    stand-in (standin=True), `weights_path`, torchvision's cache, or a download (allow_download=True)."""
    spec = _spec(net)
    if standin:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = LPIPS(net, heads_path=heads_path)
        model.weights_source = f"random stand-in, seed {seed}"
        model.info = ExtractorInfo(
            id=f"standin-lpips-{net}-seed{seed}",
            name=f"LPIPS {spec.label} (random stand-in backbone, seed {seed})",
            dim=sum(spec.channels),
            resize="none (compared at the input size)",
            standin=True,
        )
        return model
    model = LPIPS(net, heads_path=heads_path)
    cached = cached_backbone_path(net)
    if weights_path is not None:
        source = str(weights_path)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    elif cached.is_file():
        source = str(cached)
        state = torch.load(cached, map_location="cpu", weights_only=True)
    elif allow_download:
        weights = _torchvision_weights(net)
        source = weights.url
        state = weights.get_state_dict(progress=False)
    else:
        raise FileNotFoundError(
            f"LPIPS needs torchvision's ImageNet {spec.label} weights: none at {cached}. Pass weights_path=<.pth>, "
            "allow_download=True, or standin=True for a random stand-in (numbers for tests only)."
        )
    model.features.load_state_dict(_backbone_state(state, model.features, source))
    model.weights_source = source
    model.info = ExtractorInfo(
        id=f"lpips-{net}-v0.1",
        name=f"LPIPS v0.1 {spec.label} (torchvision ImageNet backbone)",
        dim=sum(spec.channels),
        resize="none (compared at the input size)",
        standin=False,
    )
    return model


__all__ = ["LPIPS", "LPIPS_NETS", "cached_backbone_path", "load_lpips", "lpips", "packaged_heads_path"]
