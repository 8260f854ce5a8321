"""The Super-resolve tab without a server: every value its sliders offer for every upscaler is one the task takes,
a run first clears the last result, the example inputs, and where the result was saved."""

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from handlers import build_tab, by_elem_id, component, handler, offered
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.examples import SCENE_SMALL, UPSCALE_EXAMPLES
from genart_demo.examples.make import scene_small
from genart_demo.registry import Registry
from genart_demo.tasks.upscale import UpscaleRequest, _check
from genart_demo.ui.common import request_from_form
from genart_demo.ui.upscale import build_upscale_ui

IDS = [s.id for s in Registry.load().for_tasks(["super-resolve"])]
FIELDS = {"Noise level": "noise_level", "Steps": "steps", "Guidance (CFG) scale": "guidance"}  # slider -> request


@pytest.fixture(scope="module")
def tab(studio):
    return build_tab(studio, build_upscale_ui)


def _accepted(studio, **values) -> None:
    """The task's own check (no upscaling) of the form's values, as the Upscale button sends them (floats)."""
    _check(studio, request_from_form(UpscaleRequest, {"prompt": "a photo", "image": "x.png", **values}))


@pytest.mark.parametrize("model_id", IDS)
def test_every_tile_and_overlap_the_sliders_offer_is_taken(studio, tab, model_id):
    """Tile 32 with overlap 16 was offered and refused ("Tile overlap must be from 0 to 15"): the overlap slider's
    maximum follows the tile, so every (tile, overlap) pair the two sliders offer passes the task's check."""
    tile, overlap = component(tab, gr.Slider, "Tile size (input px)"), component(tab, gr.Slider, "Tile overlap (px)")
    picked = handler(tab, component(tab, gr.Dropdown, "Model"), "change")(model_id)
    on_tile = handler(tab, tile, "change")
    first = picked[overlap]
    _accepted(studio, model=model_id, tile=picked[tile]["value"], overlap=first["value"])
    tiles = offered(tile, picked[tile])
    assert (tiles[0], tiles[-1], len(tiles)) == (32, 2048, 127)
    for t in tiles:
        fitted = on_tile(t, 60.0)  # a wide overlap left from a bigger tile is cut to fit
        assert fitted["value"] <= fitted["maximum"] < t / 2
        overlaps = offered(overlap, fitted)
        # every overlap of the smaller tiles; of the bigger ones the ends and the steps next to them (a range check)
        for o in overlaps if t <= 128 else overlaps[:2] + overlaps[-2:]:
            _accepted(studio, model=model_id, tile=t, overlap=o)
    for label in FIELDS:
        slider = component(tab, gr.Slider, label)
        for value in offered(slider, picked.get(slider)):
            _accepted(studio, model=model_id, **{FIELDS[label]: value})


def test_the_old_overlap_bound_is_refused_and_no_longer_offered(studio, tab):
    with pytest.raises(InputError, match="Tile overlap must be from 0 to 15 pixels for tile 32"):
        _accepted(studio, model=IDS[0], tile=32.0, overlap=16.0)
    overlap = component(tab, gr.Slider, "Tile overlap (px)")
    assert overlap.maximum < 128  # the slider once offered 0..128 whatever the tile
    fitted = handler(tab, component(tab, gr.Slider, "Tile size (input px)"), "change")(32.0, 16.0)
    assert fitted["maximum"] == 15 and fitted["value"] == 15 and 16 not in offered(overlap, fitted)


def test_a_run_first_clears_the_last_result_and_says_where_it_saved(studio, tab):
    """A refused run once left the previous model's result on screen, as if it were this one's."""
    run, shown, notes = (
        handler(tab, api_name="upscale"),
        by_elem_id(tab, "upscale-slider"),
        by_elem_id(tab, "upscale-notes"),
    )
    model_id, image, prompt, reference = UPSCALE_EXAMPLES[-1]  # a GAN upscaler: one pass, no steps
    form = dict(
        model=model_id,
        image=str(image),
        prompt=prompt,
        negative_prompt="",
        noise_level=0,
        steps=1,
        guidance=0.0,
        tile=128,
        overlap=16,
        seed=1,
        reference=str(reference),
    )
    cleared, done = list(run(**form))
    assert all(v in (None, "") or "Upload a high-resolution reference" in v for v in cleared.values())
    assert len(cleared) == 4 and cleared[shown] is None
    before, after = done[shown]
    assert Image.open(after).size == Image.open(reference).size == (256, 192)
    saved = {line for line in done[notes].splitlines() if line.startswith("💾 Saved")}
    assert len(saved) == 2 and all(Path(p).name in done[notes] for p in (before, after))
    refused = run(**{**form, "tile": 8})
    assert next(refused) == cleared
    with pytest.raises(gr.Error, match="Tile size must be from 32"):
        next(refused)


def test_the_example_inputs_are_the_projects_own_drawings(tab):
    dataset = next(c for c in tab.blocks.values() if isinstance(c, gr.Dataset))
    assert dataset.label == "Example inputs (drawn by the project)" and len(dataset.samples) == len(UPSCALE_EXAMPLES)
    for _, image, _, reference in UPSCALE_EXAMPLES:
        small, full = Image.open(image), Image.open(reference)
        assert (small.width * 4, small.height * 4) == full.size  # an ×4 upscale is scored against the full picture
    assert np.array_equal(np.asarray(Image.open(SCENE_SMALL)), np.asarray(scene_small()))
