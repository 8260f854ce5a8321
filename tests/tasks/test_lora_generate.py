"""LoRA on the generate task, offline: tiny stand-in LoRAs on the SD 1.5 stand-in change its image, weight 0 and
unloading leave it exactly as it was, each file is read once, and the metadata remakes the image."""

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest

from genart_demo.errors import InputError
from genart_demo.lora import loaded_adapters
from genart_demo.media import read_png_settings
from genart_demo.run_settings import JSON_KEY, PARAMETERS_KEY, RunSettings
from genart_demo.studio import Studio
from genart_demo.tasks.generate import GenerateRequest, generate, generate_many, request_from_settings
from genart_demo.tiny.lora import build_tiny_lora

MODEL = "sd15"


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loras")
    build_tiny_lora(folder / "style.safetensors", seed=1)
    build_tiny_lora(folder / "detail.safetensors", seed=2)
    return folder


@pytest.fixture(scope="module")
def studio(settings):
    """A studio of this module's own, so the session's SD 1.5 stand-in never carries these adapters."""
    return Studio.create(settings)


def _image(studio, loras="", **kw):
    req = GenerateRequest(model=MODEL, prompt="a red fox in the snow", steps=2, seed=7, loras=loras, **kw)
    result = generate(studio, req)
    return np.asarray(result.images[0]).astype(np.int16), result


def _diff(a, b) -> float:
    return float(np.abs(a - b).mean())


def test_lora_changes_the_image_and_unloading_restores_the_base_exactly(studio, lora_dir):
    style = lora_dir / "style.safetensors"
    base, _ = _image(studio)  # before any LoRA was loaded on this pipeline
    with_lora, result = _image(studio, f"{style}:1")
    after, _ = _image(studio)
    again, _ = _image(studio, f"{style}:1")
    print(f"mean |LoRA - base| = {_diff(with_lora, base):.2f} / 255")
    assert _diff(with_lora, base) > 1.0
    assert np.array_equal(after, base)  # load + run without LoRA == never loaded
    assert np.array_equal(again, with_lora)  # switching back re-enables it, without a reload
    assert result.settings[0].loras == f"{style}:1"


def test_weight_zero_equals_the_base_image(studio, lora_dir):
    base, _ = _image(studio)
    zero, _ = _image(studio, f"{lora_dir / 'style.safetensors'}:0")
    half, _ = _image(studio, f"{lora_dir / 'style.safetensors'}:0.5")
    full, _ = _image(studio, f"{lora_dir / 'style.safetensors'}:1")
    assert np.array_equal(zero, base)
    assert _diff(half, base) > 0.5 and _diff(half, full) > 0.5  # the weight scales the adapter


def test_two_loras_at_once_each_with_its_weight(studio, lora_dir):
    style, detail = lora_dir / "style.safetensors", lora_dir / "detail.safetensors"
    only_style, _ = _image(studio, f"{style}:0.8")
    only_detail, _ = _image(studio, f"{detail}:-0.5")
    both, result = _image(studio, f"{style}:0.8, {detail}:-0.5")
    swapped, _ = _image(studio, f"{detail}:-0.5, {style}:0.8")
    assert _diff(both, only_style) > 0.5 and _diff(both, only_detail) > 0.5
    assert np.array_equal(both, swapped)
    settings = result.settings[0]
    assert settings.loras == f"{style}:0.8, {detail}:-0.5"
    assert settings.lora_hashes.startswith("style: ") and ", detail: " in settings.lora_hashes


def test_each_file_is_read_once_and_each_adapter_loaded_once(settings, lora_dir):
    studio = Studio.create(settings)
    style, detail = lora_dir / "style.safetensors", lora_dir / "detail.safetensors"
    for text in (f"{style}:1", "", f"{detail}:1", f"{style}:0.3, {detail}:1", f"{style}:1", ""):
        _image(studio, text)
    assert studio.loras.reads == 2
    entry = studio.cache.get(studio.registry.get(MODEL))
    assert len(loaded_adapters(entry.pipe)) == 2


def test_generate_many_disables_a_previous_requests_lora(studio, lora_dir):
    base, _ = _image(studio)
    _image(studio, f"{lora_dir / 'style.safetensors'}:1")
    req = GenerateRequest(model=MODEL, prompt="a red fox in the snow", steps=2, seed=7)
    many = generate_many(studio, [req])
    assert np.array_equal(np.asarray(many.images[0]).astype(np.int16), base)


def test_metadata_records_the_loras_and_remakes_the_image(studio, lora_dir):
    style = lora_dir / "style.safetensors"
    pixels, result = _image(studio, f"{style}:0.7")
    path = result.paths[0]
    from PIL import Image

    with Image.open(path) as png:
        data, text = json.loads(png.text[JSON_KEY]), png.text[PARAMETERS_KEY]
    raw = style.read_bytes()
    header = int.from_bytes(raw[:8], "little")
    a1111_hash = hashlib.sha256(raw[8 + header :]).hexdigest()[:12]  # AUTOMATIC1111's LoRA hash
    assert data["loras"] == f"{style}:0.7" and data["lora_hashes"] == f"style: {a1111_hash}"
    assert f'Lora hashes: "style: {a1111_hash}"' in text and f"LoRA: {json.dumps(f'{style}:0.7')}" in text
    read = read_png_settings(path)
    assert RunSettings.from_parameters_text(text).loras == f"{style}:0.7"
    remade, _ = _image(studio, request_from_settings(read).loras)
    assert request_from_settings(read).loras == f"{style}:0.7"
    assert np.array_equal(remade, pixels)


def test_a1111_lora_tags_read_as_loras_and_an_unknown_file_is_named(studio):
    text = "a castle <lora:foo:0.7>\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1"
    read = RunSettings.from_parameters_text(text)
    assert (read.prompt, read.loras) == ("a castle", "foo:0.7")
    req = replace(request_from_settings(read), model=MODEL, steps=2)
    assert req.loras == "foo:0.7"
    with pytest.raises(InputError, match="LoRA 'foo' is neither a Hub repo id nor a .safetensors file"):
        generate(studio, req)


def test_a_model_without_lora_support_names_those_with_it(studio, lora_dir):
    req = GenerateRequest(model="ddpm-cifar10", steps=2, seed=1, loras=f"{lora_dir / 'style.safetensors'}:1")
    with pytest.raises(InputError, match=r"ddpm-cifar10 takes no LoRA .* Models that do: .*\bsd15\b"):
        generate(studio, req)


def test_a_lora_for_another_architecture_is_refused_and_the_model_still_runs(studio, tmp_path):
    import torch
    from safetensors.torch import save_file

    bad = tmp_path / "other.safetensors"
    save_file({"unet.nowhere.lora_A.weight": torch.ones(2, 3), "unet.nowhere.lora_B.weight": torch.ones(3, 2)}, bad)
    base, _ = _image(studio)
    with pytest.raises(InputError, match="LoRA .*other.safetensors' could not be loaded onto sd15"):
        _image(studio, f"{bad}:1")
    after, _ = _image(studio)
    assert np.array_equal(after, base)


def test_hub_sources_resolve_offline_from_the_hub_cache(settings, lora_dir, tmp_path):
    snapshot = tmp_path / "hub" / "models--someone--tiny-lora" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "pytorch_lora_weights.safetensors").write_bytes((lora_dir / "style.safetensors").read_bytes())
    (tmp_path / "hub" / "models--someone--tiny-lora" / "refs").mkdir()
    (tmp_path / "hub" / "models--someone--tiny-lora" / "refs" / "main").write_text("a" * 40)
    studio = Studio.create(replace(settings, hub_cache=str(tmp_path / "hub")))
    from_hub, result = _image(studio, "someone/tiny-lora:1")
    local, _ = _image(studio, f"{lora_dir / 'style.safetensors'}:1")
    assert np.array_equal(from_hub, local) and studio.loras.reads == 1  # the same weights: one adapter
    assert result.settings[0].loras == "someone/tiny-lora:1"
    with pytest.raises(InputError, match="'someone/absent' is not in the local Hub cache and genart is offline"):
        _image(studio, "someone/absent:1")


def test_the_command_line_takes_loras_and_names_a_bad_one(genart_cli):
    done = genart_cli("generate", "--model", MODEL, "--prompt", "a fox", "--steps", "1", "--loras", "owner/repo:9")
    assert done.returncode != 0
    assert "LoRA weight for LoRA 'owner/repo' must be from -4 to 4; got '9'" in done.stderr + done.stdout
