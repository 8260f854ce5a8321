"""LoRA through the launched app: /generate takes `loras` as its last argument, the PNG and the parameters panel
carry it, and a bad LoRA is refused with what is allowed while the server keeps serving."""

import json

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from genart_demo.tiny.lora import build_tiny_lora

pytestmark = pytest.mark.server

ARGS = dict(
    model="sd15", prompt="a lighthouse", negative_prompt="", class_label="", steps=2, guidance=7.5, width=64, height=64
)
ARGS.update(seed=3, batch=1, scheduler="Euler", refine=False)


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def _pixels(gallery) -> np.ndarray:
    return np.asarray(Image.open(gallery[0]["image"]), dtype=int)


def test_generate_applies_a_lora_and_records_it(client, tmp_path):
    lora = build_tiny_lora(tmp_path / "tiny_style.safetensors", seed=4)
    plain, _, _ = client.predict(**ARGS, api_name="/generate")
    styled, params, _ = client.predict(**ARGS, loras=f"{lora}:0.9", api_name="/generate")
    after, _, _ = client.predict(**ARGS, api_name="/generate")
    assert np.abs(_pixels(styled) - _pixels(plain)).mean() > 1 and np.array_equal(_pixels(after), _pixels(plain))
    settings = json.loads(params)
    assert settings["loras"] == f"{lora}:0.9" and settings["lora_hashes"].startswith("tiny_style: ")
    assert "Lora hashes: " in Image.open(styled[0]["image"]).text["parameters"]


def test_a_bad_lora_is_refused_with_what_is_allowed(client, tmp_path):
    with pytest.raises(Exception, match="LoRA weight for LoRA 'owner/repo' must be from -4 to 4; got '9'"):
        client.predict(**ARGS, loras="owner/repo:9", api_name="/generate")
    with pytest.raises(Exception, match="LoRA file .*missing.safetensors' was not found"):
        client.predict(**ARGS, loras=f"{tmp_path / 'missing.safetensors'}", api_name="/generate")
    gallery, _, _ = client.predict(**ARGS, api_name="/generate")  # still serving
    assert len(gallery) == 1
