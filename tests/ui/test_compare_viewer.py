"""Compare's viewer without a server: a compare of two stand-ins fills the before/after slider, the difference map
and the cost table; the pickers swap A and B; results of different sizes are compared at A's size."""

import gradio as gr
import numpy as np
import pytest
from handlers import build_tab, by_elem_id, handler
from PIL import Image

from genart_demo.imagediff import colour_map, pixel_difference
from genart_demo.peak_memory import CPU_KIND
from genart_demo.ui.compare_viewer import FEWER_THAN_TWO, TABLE_HEADERS, CompareViewer
from genart_demo.ui.generate import build_generate_ui


@pytest.fixture(scope="module")
def tab(studio):
    return build_tab(studio, build_generate_ui)


def _compare(tab, *models, **form):
    values = dict(prompt="a red fox", negative_prompt="", class_label="", steps=2, guidance=5.0, width=64, height=64)
    values.update({"seed": 3, "scheduler": "Euler", "own_defaults": False, **form})
    out = handler(tab, api_name="compare")(models=list(models), **values)
    state = next(c for c in out if isinstance(c, gr.State))
    show = next(fn.fn for fn in tab.fns.values() if getattr(fn.fn, "__func__", None) is CompareViewer.show)
    return out[state], show(out[state])


def _shown(tab, shown, elem_id):
    return shown[by_elem_id(tab, elem_id)]


def test_a_compare_of_two_standins_fills_slider_diff_map_and_cost_table(tab):
    shots, shown = _compare(tab, "sd15", "sd-turbo")
    assert [s.model for s in shots] == ["sd15", "sd-turbo"]
    a, b = (Image.open(s.path).convert("RGB") for s in shots)
    before, after = _shown(tab, shown, "compare-slider")
    assert np.array_equal(np.asarray(before), np.asarray(a)) and np.array_equal(np.asarray(after), np.asarray(b))
    diff = _shown(tab, shown, "compare-diff")
    assert diff.size == a.size == (64, 64)
    assert np.array_equal(np.asarray(diff), np.asarray(colour_map(pixel_difference(a, b))))
    legend = _shown(tab, shown, "compare-legend")
    mean = pixel_difference(a, b).mean()
    assert f"mean {mean:.2f}" in legend and "\\|A (sd15) − B (sd-turbo)\\|" in legend and "resized" not in legend
    rows = _shown(tab, shown, "compare-costs")
    assert TABLE_HEADERS == ["model", "seconds per image", "peak memory", "weights"]
    assert [r[0] for r in rows] == ["sd15", "sd-turbo"] and [r[3] for r in rows] == ["tiny stand-in"] * 2
    assert all(float(r[1]) > 0 and r[2].endswith(")") and "iB (+" in r[2] for r in rows)
    assert all(s.peak.kind == CPU_KIND and s.peak.peak_bytes > 100 * 2**20 for s in shots)  # torch alone is more
    assert "resident memory" in _shown(tab, shown, "compare-cost-note")
    picks = _shown(tab, shown, "compare-pick-a"), _shown(tab, shown, "compare-pick-b")
    assert [p["value"] for p in picks] == [0, 1] and picks[0]["choices"] == [("sd15", 0), ("sd-turbo", 1)]


def test_picking_swaps_a_and_b(tab):
    shots, _ = _compare(tab, "sd15", "sd-turbo")
    pick = handler(tab, by_elem_id(tab, "compare-pick-b"), "input")
    (before, after), _, legend = pick(shots, 1, 0)
    assert np.array_equal(np.asarray(before), np.asarray(Image.open(shots[1].path).convert("RGB")))
    assert legend.startswith("\\|A (sd-turbo) − B (sd15)\\|")


def test_different_sizes_are_compared_at_a_s_size_and_said(tab):
    shots, shown = _compare(tab, "sd15", "ddim-cifar10", scheduler=None)  # an unconditional 32 px stand-in
    sizes = [Image.open(s.path).size for s in shots]
    assert sizes[0] != sizes[1]
    assert _shown(tab, shown, "compare-diff").size == sizes[0]
    assert [img.size for img in _shown(tab, shown, "compare-slider")] == [sizes[0]] * 2
    w, h = sizes[1]
    assert f"B (ddim-cifar10) ({w}×{h}) was resized to A (sd15)'s {sizes[0][0]}×{sizes[0][1]}" in (
        _shown(tab, shown, "compare-legend")
    )


def test_one_model_shows_no_pair(tab):
    shots, shown = _compare(tab, "sd15")
    assert len(shots) == 1 and _shown(tab, shown, "compare-slider") is None
    assert _shown(tab, shown, "compare-legend") == FEWER_THAN_TWO and len(_shown(tab, shown, "compare-costs")) == 1
