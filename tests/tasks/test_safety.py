"""Safety checkers: each image's flag reaches its settings, its PNG, the UI caption and the CLI; the
GENART_SAFETY_CHECKER policy decides what the loader asks diffusers for."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safety_checkers import ScriptedChecker, checked, tiny_checker, tiny_feature_extractor
from standin_helpers import load

from genart_demo import cli
from genart_demo.loading import LoadError, load_pipeline
from genart_demo.media import read_png_settings
from genart_demo.run_settings import JSON_KEY, PARAMETERS_KEY, RunSettings
from genart_demo.safety import FLAGGED_TEXT, any_flagged, nsfw_flags, safety_checker_kwargs
from genart_demo.settings import Settings, SettingsError
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tasks.inpaint import InpaintRequest, inpaint
from genart_demo.tasks.translate import TranslateRequest, translate
from genart_demo.ui.common import gallery_items

FAST = {"steps": 2, "width": 32, "height": 32}


def _black(image: Image.Image) -> bool:
    return int(np.asarray(image).max()) == 0


def _json_chunk(path) -> dict:
    with Image.open(path) as image:
        return json.loads(image.text[JSON_KEY]), image.text[PARAMETERS_KEY]


def test_generate_marks_each_flagged_image_in_settings_png_and_caption(studio, tmp_path):
    with checked(studio, "sd15", ScriptedChecker([False, True])):
        result = generate(
            studio, GenerateRequest(model="sd15", prompt="a cat", seed=3, batch=2, **FAST), output_dir=tmp_path
        )
    assert [s.nsfw_flagged for s in result.settings] == [False, True]
    assert not _black(result.images[0]) and _black(result.images[1])  # diffusers blacked out the flagged one
    assert [read_png_settings(p).nsfw_flagged for p in result.paths] == [False, True]
    data, text = _json_chunk(result.paths[1])
    assert data["nsfw_flagged"] is True and "NSFW flagged: True" in text
    assert RunSettings.from_parameters_text(text).nsfw_flagged is True  # the A1111 text carries it too
    captions = [caption for _, caption in gallery_items(result.paths, result.settings)]
    assert FLAGGED_TEXT not in captions[0] and captions[1].endswith(f"⚠ {FLAGGED_TEXT}")


def test_a_real_checker_flags_or_passes_and_no_checker_means_not_checked(studio, tmp_path):
    """diffusers' own StableDiffusionSafetyChecker (tiny), through img2img: all flagged and black, or all passed
    (False, not None); without a checker the flag is None and the PNG carries no key for it."""
    req = TranslateRequest(model="sd15-img2img", image=Image.new("RGB", (32, 32), (200, 90, 30)), prompt="a fox")
    req = dataclasses.replace(req, steps=2, width=32, height=32, strength=1.0, batch=2, seed=1)
    with checked(studio, "sd15-img2img", tiny_checker(flags_everything=True)):
        flagged = translate(studio, req, output_dir=tmp_path)
    with checked(studio, "sd15-img2img", tiny_checker(flags_everything=False)):
        passed = translate(studio, req, output_dir=tmp_path)
    unchecked = translate(studio, req, output_dir=tmp_path)
    assert [s.nsfw_flagged for s in flagged.settings] == [True, True] and all(map(_black, flagged.images))
    assert [s.nsfw_flagged for s in passed.settings] == [False, False] and not any(map(_black, passed.images))
    assert [s.nsfw_flagged for s in unchecked.settings] == [None, None]
    assert "nsfw_flagged" not in _json_chunk(unchecked.paths[0])[0]
    assert read_png_settings(unchecked.paths[0]).nsfw_flagged is None


def test_inpaint_marks_a_flagged_repaint(studio, photo, square_mask, tmp_path):
    with checked(studio, "sd15-inpaint", ScriptedChecker([True])):
        result = inpaint(
            studio,
            InpaintRequest(model="sd15-inpaint", image=photo, mask=square_mask, prompt="a cat", steps=2, seed=2),
            output_dir=tmp_path,
        )
    assert [s.nsfw_flagged for s in result.settings] == [True]
    assert read_png_settings(result.paths[0]).nsfw_flagged is True
    inside = np.asarray(result.mask) >= 8
    assert np.asarray(result.images[0])[inside].mean() < 40  # the repainted area is the black image, feathered


def test_cli_prints_a_warning_line_per_flagged_image(studio, monkeypatch, capsys):
    monkeypatch.setattr(cli, "studio_for", lambda args: studio)
    argv = ["generate", "--model", "sd15", "--prompt", "a cat", "--batch", "2", "--seed", "9", "--steps", "2"]
    with checked(studio, "sd15", ScriptedChecker([True, False])):
        assert cli.main([*argv, "--width", "32", "--height", "32"]) == 0
    out, err = capsys.readouterr()
    paths = out.split()
    assert len(paths) == 2  # stdout stays one path per image
    warnings = [line for line in err.splitlines() if FLAGGED_TEXT in line]
    assert warnings == [f"warning: {paths[0]}: {FLAGGED_TEXT}; sd15's pipeline returned a black image"]


def test_flags_read_from_any_pipeline_output():
    class Output:
        images = [Image.new("RGB", (4, 4))] * 3

    assert nsfw_flags(Output(), 3) == [None, None, None]  # a pipeline without a checker: not checked
    Output.nsfw_content_detected = None  # a checker-capable pipeline loaded without one
    assert nsfw_flags(Output(), 3) == [None, None, None]
    Output.nsfw_content_detected = np.array([True, False, True])
    assert nsfw_flags(Output(), 3) == [True, False, True]
    Output.nsfw_content_detected = torch.tensor([False, True, False])
    assert nsfw_flags(Output(), 3) == [False, True, False]
    assert any_flagged([None, False, True]) is True and any_flagged([None, False]) is False
    assert any_flagged([None, None]) is None and any_flagged([]) is None


def test_policy_setting_is_checked():
    assert Settings.from_env({}).safety_checker == "checkpoint"
    assert Settings.from_env({"GENART_SAFETY_CHECKER": " OFF "}).safety_checker == "off"
    with pytest.raises(SettingsError, match=r"GENART_SAFETY_CHECKER='none' .* checkpoint .* off"):
        Settings.from_env({"GENART_SAFETY_CHECKER": "none"})


@pytest.mark.parametrize(
    ("model_id", "policy", "expected"),
    [
        ("sd15", "off", {"safety_checker": None, "requires_safety_checker": False}),
        ("sd15-inpaint", "off", {"safety_checker": None, "requires_safety_checker": False}),
        ("instruct-pix2pix", "off", {"safety_checker": None, "requires_safety_checker": False}),
        ("sd15", "checkpoint", {}),
        ("sdxl-base", "off", {}),  # no checker in its constructor: nothing to turn off
    ],
)
def test_loader_passes_the_policy_to_from_pretrained(studio, settings, monkeypatch, model_id, policy, expected):
    import diffusers

    spec = studio.registry.get(model_id)
    seen = {}

    def fake_from_pretrained(source, **kwargs):
        seen.update(kwargs)
        raise OSError("offline in tests")

    monkeypatch.setattr(getattr(diffusers, spec.pipeline), "from_pretrained", fake_from_pretrained)
    with pytest.raises(LoadError):
        load_pipeline(spec, standin=False, device="cpu", settings=dataclasses.replace(settings, safety_checker=policy))
    assert {k: seen[k] for k in ("safety_checker", "requires_safety_checker") if k in seen} == expected


def test_off_really_drops_a_checker_the_checkpoint_ships(studio, cache_dir, tmp_path):
    """A saved SD pipeline that ships a checker (sd15's stand-in, freshly loaded, with the tiny one): from_pretrained
    with the "off" arguments loads it without, with the "checkpoint" ones (none) it keeps the checker."""
    import diffusers

    pipe = load(studio.registry.get("sd15").standin_class, cache_dir)
    pipe.register_modules(
        safety_checker=tiny_checker(flags_everything=True), feature_extractor=tiny_feature_extractor()
    )
    pipe.save_pretrained(tmp_path / "ships-a-checker")
    index = json.loads((tmp_path / "ships-a-checker" / "model_index.json").read_text())
    assert index["safety_checker"][1] == "StableDiffusionSafetyChecker"
    cls = diffusers.StableDiffusionPipeline
    for policy, kept in (("checkpoint", True), ("off", False)):
        pipe = cls.from_pretrained(tmp_path / "ships-a-checker", **safety_checker_kwargs(cls, policy))
        assert (pipe.safety_checker is not None) is kept, policy
