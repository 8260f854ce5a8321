"""The GAN generator layouts genart loads from the Hub (pix2pix U-Net, CycleGAN ResNet), loaded strictly or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from huggingface_hub import PyTorchModelHubMixin
from safetensors.torch import load_file
from torch import nn

from .loading import LoadError

SHOWN_KEYS = 4  # key names a mismatch message quotes per kind (missing, unexpected, reshaped)


class CheckpointMismatch(ValueError):
    """A state dict whose keys or shapes differ from the module's: `differs` says how, `built` names the module and
    the config it was built with."""

    def __init__(self, differs: str, built: str) -> None:
        super().__init__(f"{built}: {differs}")
        self.differs, self.built = differs, built


def state_dict_mismatch(model: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """What differs between `state` and `model`'s own keys and shapes, key names quoted; empty when nothing does."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    common = sorted(expected.keys() & found.keys())
    reshaped = [f"{k}: checkpoint {found[k]}, model {expected[k]}" for k in common if found[k] != expected[k]]
    parts = [
        f"{len(items)} {what} ({', '.join(items[:SHOWN_KEYS])}{', ...' if len(items) > SHOWN_KEYS else ''})"
        for what, items in (
            ("missing key(s)", missing),
            ("unexpected key(s)", unexpected),
            ("key(s) of another shape", reshaped),
        )
        if items
    ]
    return "; ".join(parts)


class _StrictHubMixin(PyTorchModelHubMixin):
    """PyTorchModelHubMixin that loads only a checkpoint with exactly the module's keys and shapes.

    The mixin's own default (strict=False) would keep random weights for every key it does not find. Here loading is
    always strict, whatever `strict` says, and any other checkpoint is a LoadError naming the repo, the config the
    module was built with and what did not match.
    """

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None = None, **kwargs: Any):  # type: ignore[override]
        try:
            folder = Path(model_id)
            if folder.is_dir() and not (folder / "model.safetensors").is_file():  # a local snapshot with only a pickle
                hub = {"cache_dir", "force_download", "local_files_only", "token", "map_location", "strict"}
                model = cls(**{k: v for k, v in kwargs.items() if k not in hub})
                return cls._load_as_pickle(model, str(folder / "pytorch_model.bin"), "cpu", True)
            return super()._from_pretrained(model_id=model_id, revision=revision, **kwargs)
        except CheckpointMismatch as exc:
            where = f"{model_id} (revision {revision})" if revision else model_id
            raise LoadError(
                f"The weights in {where} do not fit genart's {exc.built}: {exc.differs}. The checkpoint was "
                "trained with another architecture or config."
            ) from exc

    @classmethod
    def _load_as_safetensor(cls, model: nn.Module, model_file: str, map_location: str, strict: bool) -> nn.Module:  # type: ignore[override]
        return _load_exact(model, load_file(model_file, device=map_location))

    @classmethod
    def _load_as_pickle(cls, model: nn.Module, model_file: str, map_location: str, strict: bool) -> nn.Module:  # type: ignore[override]
        # Tensors only: a pickle holding any other object is refused before its code can run.
        state = torch.load(model_file, map_location=torch.device(map_location), weights_only=True)
        return _load_exact(model, state)


def _load_exact(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """`model` with `state` loaded (strict), in eval mode; CheckpointMismatch(what differs, model) when it differs."""
    mismatch = state_dict_mismatch(model, state)
    if mismatch:
        config = getattr(model, "_hub_mixin_config", None) or {}
        built = f"{type(model).__name__}({', '.join(f'{k}={v!r}' for k, v in config.items())})"
        raise CheckpointMismatch(mismatch, built)
    model.load_state_dict(state, strict=True)
    return model.eval()


# ---------------------------------------------------------------------------------------------------------------
# pix2pix U-Net: 8 stride-2 levels, skips concatenated after each upsampling (the HugGAN sprint's GeneratorUNet keys)
# ---------------------------------------------------------------------------------------------------------------

# Encoder levels down1..down8: (width as a multiple of ngf, instance norm, dropout). Decoder level up{i} mirrors
# level down{8-i}: same width and dropout. down1 has no norm (it sees the image), down8 none (its output is 1x1).
UNET_LEVELS: tuple[tuple[int, bool, float], ...] = (
    (1, False, 0.0),
    (2, True, 0.0),
    (4, True, 0.0),
    (8, True, 0.5),
    (8, True, 0.5),
    (8, True, 0.5),
    (8, True, 0.5),
    (8, False, 0.5),
)


class UNetDown(nn.Module):
    """Encoder level: 4x4 stride-2 conv without bias, instance norm (optional), LeakyReLU(0.2), dropout (optional)."""

    def __init__(self, in_ch: int, out_ch: int, norm: bool, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False)]
        layers += [nn.InstanceNorm2d(out_ch)] if norm else []
        layers += [nn.LeakyReLU(0.2)]
        layers += [nn.Dropout(dropout)] if dropout else []
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)  # (B, in_ch, H, W) -> (B, out_ch, H/2, W/2)


class UNetUp(nn.Module):
    """Decoder level: 4x4 stride-2 transposed conv without bias, instance norm, ReLU, dropout (optional); then the
    encoder's skip tensor is appended along channels."""

    def __init__(self, in_ch: int, out_ch: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
            nn.InstanceNorm2d(out_ch),
            nn.ReLU(inplace=True),
        ]
        layers += [nn.Dropout(dropout)] if dropout else []
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # x: (B, in_ch, h, w), skip: (B, S, 2h, 2w) -> (B, out_ch + S, 2h, 2w)
        return torch.cat([self.model(x), skip], 1)


class Pix2PixUNetGenerator(
    nn.Module, _StrictHubMixin, library_name="genart", paper_url="https://arxiv.org/abs/1611.07004"
):
    """pix2pix U-Net generator: 8 stride-2 levels (down1..down8, up1..up7, final), so H and W must be multiples of
    256. Widths are ngf x (1, 2, 4, 8, 8, 8, 8, 8). Output is tanh, in [-1, 1].

    The defaults are the layout of huggan/pix2pix-facades-demo, whose repo has no config.json.
    """

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64) -> None:
        super().__init__()
        self.input_nc, self.output_nc, self.ngf = input_nc, output_nc, ngf
        in_ch = input_nc
        for i, (mult, norm, dropout) in enumerate(UNET_LEVELS, start=1):
            setattr(self, f"down{i}", UNetDown(in_ch, ngf * mult, norm, dropout))
            in_ch = ngf * mult
        for i in range(1, len(UNET_LEVELS)):
            mult, _, dropout = UNET_LEVELS[len(UNET_LEVELS) - 1 - i]  # up{i} mirrors down{8-i}
            setattr(self, f"up{i}", UNetUp(in_ch, ngf * mult, dropout))
            in_ch = 2 * ngf * mult  # its output and the skip from down{8-i}
        self.final = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.ZeroPad2d((1, 0, 1, 0)),
            nn.Conv2d(in_ch, output_nc, 4, padding=1),
            nn.Tanh(),
        )

    @property
    def size_multiple(self) -> int:
        """H and W of the input must be multiples of this (2 ** levels)."""
        return 2 ** len(UNET_LEVELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, input_nc, H, W) in [-1, 1] -> (B, output_nc, H, W) in [-1, 1]
        skips = []
        for i in range(1, len(UNET_LEVELS) + 1):
            x = getattr(self, f"down{i}")(x)  # (B, ngf * mult_i, H / 2**i, W / 2**i)
            skips.append(x)
        skips.pop()  # the innermost level feeds up1 directly
        for i in range(1, len(UNET_LEVELS)):
            x = getattr(self, f"up{i}")(x, skips.pop())
        return self.final(x)  # (B, 2 * ngf, H/2, W/2) -> (B, output_nc, H, W)


# ---------------------------------------------------------------------------------------------------------------
# CycleGAN ResNet: 7x7 stem, 2 stride-2 convs, residual blocks, 2 x (nearest upsample + 3x3 conv), 7x7 head
# ---------------------------------------------------------------------------------------------------------------


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convs (with bias) and instance norms, added to the input."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3),
            nn.InstanceNorm2d(dim),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3),
            nn.InstanceNorm2d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)  # (B, dim, h, w) -> (B, dim, h, w)


class CycleGANResnetGenerator(
    nn.Module, _StrictHubMixin, library_name="genart", paper_url="https://arxiv.org/abs/1703.10593"
):
    """CycleGAN ResNet generator: widths ngf, 2 ngf, 4 ngf; `n_blocks` residual blocks at 4 ngf; upsampling by
    nearest-neighbour x2 and a 3x3 conv; tanh output in [-1, 1]. H and W must be multiples of 4.

    Every conv has a bias and every norm is a parameter-free instance norm, so the state dict is model.{i}.weight and
    .bias only. The defaults are the layout of huggan/sim2real_cyclegan (9 blocks), whose repo has no config.json.
    """

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, n_blocks: int = 9) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks={n_blocks}: allowed values are >= 0 (9 for huggan/sim2real_cyclegan)")
        self.input_nc, self.output_nc, self.ngf, self.n_blocks = input_nc, output_nc, ngf, n_blocks
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),  # 7x7 conv, same size
            nn.Conv2d(input_nc, ngf, 7),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(inplace=True),
        ]
        for mult in (1, 2):  # (B, ngf*mult, h, w) -> (B, 2*ngf*mult, h/2, w/2)
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(inplace=True),
            ]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):  # (B, ngf*mult, h, w) -> (B, ngf*mult/2, 2h, 2w)
            layers += [
                nn.Upsample(scale_factor=2),
                nn.Conv2d(ngf * mult, ngf * mult // 2, 3, padding=1),
                nn.InstanceNorm2d(ngf * mult // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    @property
    def size_multiple(self) -> int:
        """H and W of the input must be multiples of this for an output of the same size."""
        return 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, input_nc, H, W) in [-1, 1] -> (B, output_nc, H, W) in [-1, 1]
        return self.model(x)
