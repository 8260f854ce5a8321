"""Images the image-task tests feed in, made here (no files shipped)."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def photo(tmp_path_factory):
    """A 100x80 RGB PNG with structure (gradients and a square), so edges and masks mean something."""
    y, x = np.mgrid[0:80, 0:100]
    arr = np.stack([x * 2.5, y * 3.0, (x + y) * 1.4], axis=-1).clip(0, 255).astype(np.uint8)
    arr[20:60, 30:70] = (250, 40, 40)
    path = tmp_path_factory.mktemp("inputs") / "photo.png"
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture(scope="session")
def square_mask(tmp_path_factory):
    mask = Image.new("L", (100, 80), 0)
    mask.paste(255, (40, 30, 60, 50))
    path = tmp_path_factory.mktemp("inputs") / "mask.png"
    mask.save(path)
    return path
