"""PNG info: every task's file sent back to its form remakes it pixel for pixel; an AUTOMATIC1111 PNG restores what
genart has and names the rest (the fixture tests/fixtures/a1111.png, made by tests/fixtures/make_a1111_png.py)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from genart_demo.errors import InputError
from genart_demo.png_info import NO_SETTINGS, TARGETS, match_model, read_file_settings, send_values
from genart_demo.registry import Registry
from genart_demo.run_settings import GenerateSettings
from genart_demo.studio import Studio
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tasks.inpaint import OUTPAINT_SIDES, InpaintRequest, inpaint
from genart_demo.tasks.translate import TranslateRequest, translate
from genart_demo.tasks.upscale import UpscaleRequest, upscale
from genart_demo.tasks.video import VideoRequest, generate_video
from genart_demo.tiny.lora import build_tiny_lora
from genart_demo.video import read_frames
from tests.tasks.conftest import photo, square_mask  # noqa: F401  (the image tasks' inputs)
from tests.tasks.test_a1111 import CASES

FIXTURES = Path(__file__).parent / "fixtures"
A1111_PNG = FIXTURES / "a1111.png"
REGISTRY = Registry.load()
# target key -> (request class, task): how a form's values run again
RUNS = {
    "generate": (GenerateRequest, lambda s, r, out: generate(s, r, output_dir=out).paths),
    "translate": (TranslateRequest, lambda s, r, out: translate(s, r, output_dir=out).paths),
    "inpaint": (InpaintRequest, lambda s, r, out: inpaint(s, r, output_dir=out).paths),
    "upscale": (UpscaleRequest, lambda s, r, out: [upscale(s, r, output_dir=out).path]),
    "video": (VideoRequest, lambda s, r, out: [generate_video(s, r, output_dir=out).mp4]),
}
INPUTS = {"translate": ["input image"], "upscale": ["input image"], "inpaint": ["input image", "mask"]}
CASES = {
    **CASES,
    "inpaint-outpaint": lambda s, image, mask, out: (
        inpaint(
            s,
            InpaintRequest(
                model="sd15-inpaint", image=image, prompt="sky", steps=2, seed=19, mask_blur=2, outpaint=(8, 0, 16, 0)
            ),
            output_dir=out,
        ).paths
    ),
    "video": lambda s, image, mask, out: [
        generate_video(
            s, VideoRequest(model="modelscope-t2v", prompt="a boat", steps=2, seed=20, frames=4), output_dir=out
        ).mp4
    ],
}


def _pixels(path: Path) -> np.ndarray:
    return read_frames(path) if path.suffix == ".mp4" else np.asarray(Image.open(path).convert("RGB"))


def _request(target: str, values: dict, image: Path, mask: Path):
    """The request the target form's values make, with the input files the user gives again."""
    cls, _ = RUNS[target]
    values = dict(values)
    if target == "inpaint":
        values["outpaint"] = tuple(values.pop(side) for side in OUTPAINT_SIDES)
        values.update(image=image, mask=mask if not any(values["outpaint"]) else None)
    elif target in ("translate", "upscale"):
        values["image"] = image
    return cls(**values)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_task_file_sent_to_its_form_remakes_it(studio, photo, square_mask, case, tmp_path):  # noqa: F811
    paths = CASES[case](studio, photo, square_mask, tmp_path / "first")
    for path in paths:
        found = read_file_settings(path)
        assert found.source == "genart" and found.settings is not None
        target = found.settings.task
        sent = send_values(REGISTRY, found, TARGETS[target])
        assert sent.model.id == found.settings.model and sent.matched_by == "registry id"
        assert [name for name, _ in sent.not_restored] == INPUTS.get(target, [])  # nothing else is left out
        # every control the task records comes back with the value it had
        for name, value in sent.values.items():
            recorded = getattr(found.settings, {"class_label": "class_index"}.get(name, name), None)
            if recorded is not None and name not in ("width", "height", "batch"):
                assert value == (list(recorded) if isinstance(recorded, tuple) else recorded), name
        again = RUNS[target][1](studio, _request(target, sent.values, photo, square_mask), tmp_path / "again")
        assert len(again) == 1
        assert np.array_equal(_pixels(path), _pixels(again[0])), f"{case}: {path.name} was not remade"


def test_compare_and_other_tabs_get_the_same_model_by_repo(studio, tmp_path):
    path = generate(studio, GenerateRequest(model="sd15", prompt="a fox", steps=2, seed=5), output_dir=tmp_path).paths[
        0
    ]
    found = read_file_settings(path)
    compare = send_values(REGISTRY, found, TARGETS["compare"])
    assert compare.values["models"] == ["sd15"] and compare.values["own_defaults"] is False
    assert (compare.values["steps"], compare.values["seed"], compare.values["prompt"]) == (2, 5, "a fox")
    img2img = send_values(REGISTRY, found, TARGETS["translate"])  # sd15-img2img and controlnet-canny share the repo
    assert (img2img.model.id, img2img.matched_by) == ("sd15-img2img", "Hub repo")
    assert img2img.values["prompt"] == "a fox" and ("input image", "not in the file") in img2img.not_restored


def test_a1111_png_restores_the_generate_form_and_names_the_rest():
    found = read_file_settings(A1111_PNG)
    assert found.source == "parameters" and "AUTOMATIC1111" in found.message
    assert found.settings.genart == ""  # A1111 wrote it: no genart version is claimed for it
    sent = send_values(REGISTRY, found, TARGETS["generate"])
    assert sent.values == {
        "model": "sd15",
        "prompt": "a cat",
        "negative_prompt": "blurry",
        "steps": 20,
        "scheduler": "DPM++ 2M Karras",
        "guidance": 7.0,
        "seed": 1234,
        "width": 512,
        "height": 512,
    }
    assert sent.matched_by == "Model hash 6ce0161689"
    assert sent.not_restored == [("Clip skip", "2"), ("Version", "v1.6.0")]


def test_a1111_model_hashes_match_their_registry_entries():
    for model_hash, model_id in (("6ce0161689", "sd15"), ("31e35c80fc", "sdxl-base"), ("e869ac7d69", "sdxl-turbo")):
        settings = GenerateSettings(model="some-local-name", extra={"Model hash": model_hash})
        spec, how = match_model(REGISTRY, settings, ("text-to-image",))
        assert (spec.id, how) == (model_id, f"Model hash {model_hash}")
    sdxl = GenerateSettings(model="x", extra={"Model hash": "31e35c80fc"})
    assert match_model(REGISTRY, sdxl, ("image-to-image",))[0].id == "sdxl-img2img"  # same weights, the tab's task


def _a1111_png(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "other.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", f"a dog\n{line}")
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


def test_unknown_sampler_model_and_a1111_only_labels_are_named_not_guessed(tmp_path):
    line = (
        "Steps: 30, Sampler: DPM++ 3M SDE Exponential, CFG scale: 5, Seed: 9, Size: 768x512, Model hash: 0123456789, "
        'Model: myMix_v2, ENSD: 31337, Hires upscale: 2, Lora hashes: "detail: e3f9c2b1a8d7"'
    )
    sent = send_values(REGISTRY, read_file_settings(_a1111_png(tmp_path, line)), TARGETS["generate"])
    assert "model" not in sent.values and "scheduler" not in sent.values
    assert (sent.values["steps"], sent.values["width"], sent.values["height"]) == (30, 768, 512)
    named = dict(sent.not_restored)
    assert named["model"].startswith("myMix_v2 (no Generate model")
    assert named["scheduler"].startswith("DPM++ 3M SDE Exponential (not one of DDPM, DDIM")
    assert (named["Model hash"], named["ENSD"], named["Hires upscale"]) == ("0123456789", "31337", "2")
    assert named["lora_hashes"] == "detail: e3f9c2b1a8d7"  # no LoRA to load: its hash is named


def test_img2img_text_sent_to_translate_keeps_its_denoising_strength(tmp_path):
    line = "Steps: 12, Sampler: Euler a, CFG scale: 6, Seed: 3, Size: 512x512, Denoising strength: 0.45"
    found = read_file_settings(_a1111_png(tmp_path, line))
    assert send_values(REGISTRY, found, TARGETS["translate"]).values["strength"] == 0.45
    assert ("strength", "0.45") in send_values(REGISTRY, found, TARGETS["generate"]).not_restored


def test_a_png_without_settings_says_so(tmp_path):
    path = tmp_path / "plain.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("workflow", "{}")  # what ComfyUI writes instead
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    found = read_file_settings(path)
    assert found.settings is None and found.message == NO_SETTINGS and "ComfyUI" in NO_SETTINGS
    with pytest.raises(InputError, match="No settings found"):
        send_values(REGISTRY, found, TARGETS["generate"])
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="Could not read the file as an image"):
        read_file_settings(tmp_path / "notes.txt")


def test_a_png_with_a_lora_restores_it_and_does_not_name_its_hash(settings, tmp_path):
    studio = Studio.create(settings)  # its own: the session's SD 1.5 stand-in never carries the adapter
    build_tiny_lora(tmp_path / "style.safetensors", seed=1)
    loras = f"{tmp_path / 'style.safetensors'}:0.7"
    first = generate(
        studio, GenerateRequest(model="sd15", prompt="a fox", steps=2, seed=4, loras=loras), output_dir=tmp_path
    )
    found = read_file_settings(first.paths[0])
    assert found.settings.lora_hashes  # recorded beside the LoRAs
    sent = send_values(REGISTRY, found, TARGETS["generate"])
    assert sent.values["loras"] == found.settings.loras and sent.not_restored == []
    again = generate(studio, GenerateRequest(**sent.values), output_dir=tmp_path / "again")
    assert np.array_equal(np.asarray(first.images[0]), np.asarray(again.images[0]))
