"""Parts shared by the ImageReward and LAION aesthetic scorers: their MLP head, dtype names and plain weight files.

Both heads are the improved-aesthetic-predictor MLP (Schuhmann, christophschuhmann/improved-aesthetic-predictor,
simple_inference.py; ImageReward copies it in ImageReward/ImageReward.py and models/AestheticScore.py of
image-reward 1.5): Linear(d, 1024), Dropout(0.2), Linear(1024, 128), Dropout(0.2), Linear(128, 64), Dropout(0.1),
Linear(64, 16), Linear(16, 1). The ReLUs are commented out in all three copies, so the head is one affine map
trained as five; the dropouts keep the checkpoints' key indices (layers.0, .2, .4, .6, .7) and do nothing in eval.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from .weights import verified_weights_file

HEAD_WIDTHS = (1024, 128, 64, 16, 1)  # the Linear layers' output widths
HEAD_DROPOUTS = (0.2, 0.2, 0.1)  # after the first three Linear layers, as trained
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def reward_head(input_size: int) -> nn.Sequential:
    """The 5-Linear MLP with the checkpoints' layout (Linear at indices 0, 2, 4, 6, 7), in eval mode."""
    layers: list[nn.Module] = []
    width = input_size
    for i, out in enumerate(HEAD_WIDTHS):
        layers.append(nn.Linear(width, out))
        if i < len(HEAD_DROPOUTS):
            layers.append(nn.Dropout(HEAD_DROPOUTS[i]))
        width = out
    return nn.Sequential(*layers).eval()


def torch_dtype(name: str, what: str) -> torch.dtype:
    """The torch dtype called `name`, or a ValueError naming the allowed ones."""
    if name not in DTYPES:
        raise ValueError(f"{what} dtype {name!r} — allowed: {', '.join(DTYPES)}")
    return DTYPES[name]


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a .pt/.pth state dict, loaded with weights_only=True (a file holding pickled code is refused)."""
    state = torch.load(verified_weights_file(path), map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a flat state dict of tensors")
    return dict(state)


__all__ = ["DTYPES", "HEAD_WIDTHS", "read_state_dict", "reward_head", "torch_dtype"]
