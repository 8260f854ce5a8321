"""The shipped example inputs: drawn by make.py (the committed PNGs are its pixels), small, and each example row names a
model of its tab."""

import numpy as np
import pytest
from PIL import Image

from genart_demo.examples import INPAINT_EXAMPLES, TRANSLATE_EXAMPLES
from genart_demo.examples.make import MAKERS, write_examples
from genart_demo.registry import Registry

MAX_BYTES = 50_000  # each example PNG: the package stays small


@pytest.mark.parametrize("path", list(MAKERS), ids=[p.name for p in MAKERS])
def test_each_example_is_what_make_draws(path, tmp_path):
    assert path.is_file() and path.stat().st_size < MAX_BYTES
    (made,) = [p for p in write_examples(tmp_path) if p.name == path.name]
    assert np.array_equal(np.asarray(Image.open(made)), np.asarray(Image.open(path)))


def test_every_example_row_names_a_model_of_its_tab_and_a_shipped_file():
    registry = Registry.load()
    for task, rows in (("image-to-image", TRANSLATE_EXAMPLES), ("inpaint", INPAINT_EXAMPLES)):
        ids = {s.id for s in registry.for_tasks([task])}
        for row in rows:
            assert row[0] in ids, row
            assert all(p.is_file() for p in row[1:] if hasattr(p, "is_file")), row
    assert any(row[2] is not None for row in INPAINT_EXAMPLES)  # a mask example
    assert any(row[4] or row[5] for row in INPAINT_EXAMPLES)  # an outpaint example
