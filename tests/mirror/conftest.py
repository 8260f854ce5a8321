"""The mirrored Hub cache (real repo layouts, tiny weights), built once per test session, and the images fed in."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def mirror(cache_dir):
    """build_mirror over every committed repo's facts; repos that cannot be mirrored are in `.errors`, not raised, so
    each entry's test can say which of its repos is missing and why."""
    from genart_demo.mirror import build_mirror

    return build_mirror(cache_dir / "hub-mirror", strict=False)


@pytest.fixture(scope="session")
def inputs(tmp_path_factory):
    """A 64x64 RGB photo with a red square and a mask of that square (white = repaint), as PNG files."""
    folder = tmp_path_factory.mktemp("mirror-inputs")
    y, x = np.mgrid[0:64, 0:64]
    arr = np.stack([x * 4, y * 4, (x + y) * 2], axis=-1).clip(0, 255).astype(np.uint8)
    arr[16:48, 16:48] = (250, 40, 40)
    Image.fromarray(arr).save(folder / "photo.png")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    mask.save(folder / "mask.png")
    return {"photo": folder / "photo.png", "mask": folder / "mask.png"}
