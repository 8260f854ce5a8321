"""The launched app through gradio_client: /generate returns PNGs carrying their parameters; bad input is
refused with a message and the server keeps serving."""

import json
import re

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from genart_demo.media import read_png_settings
from genart_demo.registry import GENERATE_TASKS, Registry

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def _args(**kw):
    values = dict(
        model_id="sd15",
        prompt="a lighthouse at dawn",
        negative_prompt="",
        class_label="",
        steps=3,
        guidance=7.5,
        width=64,
        height=64,
        seed=11,
        batch=2,
        scheduler="DPM++ 2M Karras",
        refine=False,
    )
    values.update(kw)
    return list(values.values())


def test_generate_returns_images_with_parameters(client, app_server):
    gallery, params_json, warnings = client.predict(*_args(), api_name="/generate")
    params = json.loads(params_json)
    assert len(gallery) == 2 and [p["seed"] for p in params] == [11, 12]
    for item, expected in zip(gallery, params):
        img = Image.open(item["image"])
        assert img.format == "PNG" and img.size == (64, 64)
        assert read_png_settings(item["image"]).to_metadata() == expected  # the PNG carries its settings
        assert expected["scheduler"] == "DPM++ 2M Karras" and expected["standin"] is True
    saved = sorted(app_server[1].rglob("*.png"))
    assert len(saved) >= 2  # also written to the output dir
    assert "⚠️" not in warnings  # no warning; the notes name the files saved, where they are
    names = re.findall(r"💾 Saved `([^`]+)` in the output folder", warnings)
    assert len(names) == 2 and all((app_server[1] / name).is_file() for name in names)


def test_same_seed_same_image_over_the_api(client):
    a, _, _ = client.predict(*_args(batch=1), api_name="/generate")
    b, _, _ = client.predict(*_args(batch=1), api_name="/generate")
    assert np.array_equal(np.asarray(Image.open(a[0]["image"])), np.asarray(Image.open(b[0]["image"])))


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(prompt=""), "prompt is empty"),
        (dict(width=60), "multiple of 8"),
        (dict(scheduler="Flow Euler"), "Compatible schedulers"),
        (dict(scheduler="Turbo Sampler 9000"), "Known schedulers"),
        (dict(steps=0), "“Steps” must be a number from 1 to 500; got 0"),
        (dict(batch=9), "“Batch size” must be a number from 1 to 4; got 9"),
        (dict(guidance=-1), r"“Guidance \(CFG\) scale” must be a number from 0 to 50; got -1"),
        (dict(model_id="sd-99"), "not in the list of choices"),
    ],
)
def test_bad_input_message_and_server_keeps_serving(client, change, message):
    with pytest.raises(Exception, match=message):
        client.predict(*_args(**change), api_name="/generate")
    gallery, _, _ = client.predict(*_args(batch=1, steps=1), api_name="/generate")
    assert len(gallery) == 1


def test_long_prompt_warning_is_shown(client):
    _, _, warnings = client.predict(*_args(prompt="castle " * 120, batch=1), api_name="/generate")
    assert "reads 77" in warnings


def test_compare_endpoint(client):
    gallery, notes, params_json = client.predict(
        ["sd15", "sdxl-turbo"], "a red fox", "", "", 2, 5.0, 64, 64, 3, "Euler", True, api_name="/compare"
    )
    params = json.loads(params_json)
    assert [p["model"] for p in params] == ["sd15", "sdxl-turbo"] and {p["seed"] for p in params} == {3}
    assert len(gallery) == 2 and notes.count("💾 Saved `") == 2  # where each model's image was written


@pytest.mark.parametrize("model_id", [s.id for s in Registry.load().for_tasks(GENERATE_TASKS)])
def test_app_serves_every_generate_model_offline(client, model_id):
    spec = Registry.load().get(model_id)
    gallery, params_json, _ = client.predict(
        *_args(model_id=model_id, steps=1, batch=1, scheduler=spec.defaults.scheduler), api_name="/generate"
    )
    params = json.loads(params_json)
    assert params["model"] == model_id and params["standin"] is True and params["repo"] == spec.repo
    assert Image.open(gallery[0]["image"]).size == (params["width"], params["height"])
