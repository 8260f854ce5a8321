"""Variation seeds through the launched app: /generate and /compare take them as trailing arguments (earlier callers
that stop before them keep working), and the PNGs carry them."""

import json

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

pytestmark = pytest.mark.server

SHARED = dict(prompt="a lighthouse", negative_prompt="", class_label="", steps=2, guidance=7.5, width=64, height=64)
ARGS = dict(model="sd15", **SHARED, batch=1, scheduler="Euler", refine=False)


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def _pixels(gallery) -> np.ndarray:
    return np.asarray(Image.open(gallery[0]["image"]), dtype=int)


def test_generate_varies_the_seed_by_name_and_by_position(client):
    plain, _, _ = client.predict(**ARGS, seed=9, api_name="/generate")
    varied, params, _ = client.predict(**ARGS, seed=5, variation_seed=9, variation_strength=1, api_name="/generate")
    assert np.array_equal(_pixels(varied), _pixels(plain))
    settings = json.loads(params)
    assert (settings["seed"], settings["variation_seed"], settings["variation_strength"]) == (5, 9, 1.0)
    assert "Variation seed: 9, Variation seed strength: 1.0" in Image.open(varied[0]["image"]).text["parameters"]
    old_style, params, _ = client.predict(  # the twelve arguments /generate took before variation seeds
        "sd15", "a lighthouse", "", "", 2, 7.5, 64, 64, 9, 1, "Euler", False, api_name="/generate"
    )
    assert "variation_seed" not in json.loads(params) and np.array_equal(_pixels(old_style), _pixels(plain))


def test_bad_variation_strength_is_refused_with_its_range(client):
    with pytest.raises(Exception, match="Variation strength.* from 0 to 1; got 1.5"):
        client.predict(**ARGS, seed=5, variation_strength=1.5, api_name="/generate")


def test_compare_passes_the_variation_on(client):
    gallery, _, params = client.predict(
        models=["sd15"],
        **SHARED,
        seed=5,
        own_defaults=False,
        scheduler="Euler",
        variation_seed=9,
        variation_strength=0.5,
        api_name="/compare",
    )
    settings = json.loads(params)
    assert (settings["variation_seed"], settings["variation_strength"]) == (9, 0.5)
