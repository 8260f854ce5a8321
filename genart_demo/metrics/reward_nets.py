"""The MLP head the ImageReward and LAION aesthetic scorers share.

Both heads are the improved-aesthetic-predictor MLP (Schuhmann, christophschuhmann/improved-aesthetic-predictor,
simple_inference.py; ImageReward copies it in ImageReward/ImageReward.py and models/AestheticScore.py of
image-reward 1.5): Linear(d, 1024), Dropout(0.2), Linear(1024, 128), Dropout(0.2), Linear(128, 64), Dropout(0.1),
Linear(64, 16), Linear(16, 1). The ReLUs are commented out in all three copies, so the head is one affine map
trained as five; the dropouts keep the checkpoints' key indices (layers.0, .2, .4, .6, .7) and do nothing in eval.
"""

from __future__ import annotations

from torch import nn

HEAD_WIDTHS = (1024, 128, 64, 16, 1)  # the Linear layers' output widths
HEAD_DROPOUTS = (0.2, 0.2, 0.1)  # after the first three Linear layers, as trained


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


__all__ = ["HEAD_WIDTHS", "reward_head"]
