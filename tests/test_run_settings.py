"""Run settings: one dataclass per task, written as the genart JSON chunk and the A1111 text and read back into the
same class, including every kind of PNG genart wrote before the settings were typed (committed fixtures)."""

import json
from pathlib import Path

import pytest
from PIL import Image
from sd_parsers import ParserManager

from genart_demo.errors import InputError
from genart_demo.media import read_png_settings, save_png
from genart_demo.run_settings import (
    TASK_SETTINGS,
    GenerateSettings,
    InpaintSettings,
    RunSettings,
    TranslateSettings,
    UpscaleSettings,
    VideoSettings,
)

FIXTURES = Path(__file__).parent / "fixtures" / "settings-before-typed"  # written by genart 0.1.0 (untyped dicts)
OLD_PNGS = {
    "generate-sd15.png": GenerateSettings,
    "generate-dit.png": GenerateSettings,
    "leaderboard-run.png": GenerateSettings,
    "translate-img2img.png": TranslateSettings,
    "translate-gan.png": TranslateSettings,
    "inpaint.png": InpaintSettings,
    "upscale-gan.png": UpscaleSettings,
    "upscale-diffusion.png": UpscaleSettings,
}
EXAMPLES = [
    GenerateSettings(
        model="sd15",
        prompt='a "cat", sitting: here',
        negative_prompt="blurry",
        steps=20,
        guidance=7.5,
        width=64,
        height=48,
        scheduler="Euler a",
        seed=42,
        standin=True,
    ),
    GenerateSettings(
        model="dit-xl-256",
        steps=2,
        guidance=4.0,
        width=64,
        height=64,
        scheduler="DDIM",
        seed=7,
        class_index=207,
        class_label="golden retriever",
    ),
    TranslateSettings(model="pix2pix-facades", width=64, height=64, seed=4),
    TranslateSettings(
        model="controlnet-canny",
        prompt="a dog",
        steps=2,
        scheduler="PNDM",
        guidance=7.5,
        canny_low=100,
        canny_high=200,
        width=64,
        height=64,
    ),
    InpaintSettings(
        model="sd15-inpaint",
        prompt="a hat",
        steps=2,
        guidance=7.5,
        strength=1.0,
        scheduler="PNDM",
        work_width=32,
        work_height=32,
        width=40,
        height=32,
        mask_blur=4,
        padding=32,
        outpaint=(8, 0, 0, 0),
    ),
    UpscaleSettings(
        model="realesrgan-x4plus",
        scale=4,
        tile=256,
        overlap=16,
        input_size="16x16",
        width=64,
        height=64,
        metrics={"psnr": 5.8, "ssim": 0.003},
    ),
    VideoSettings(
        model="svd-xt",
        frames=14,
        fps=7,
        width=64,
        height=64,
        steps=2,
        guidance=3.0,
        scheduler="Euler",
        decode_chunk=2,
        motion_bucket_id=127,
        noise_aug=0.02,
    ),
]


@pytest.mark.parametrize("settings", EXAMPLES, ids=lambda s: f"{s.task}-{s.model}")
def test_metadata_round_trips_through_the_class(settings):
    data = settings.to_metadata()
    assert data["task"] == settings.task and "extra" not in data
    assert json.loads(json.dumps(data)) == data  # JSON-able as it is
    assert RunSettings.from_metadata(json.loads(json.dumps(data))) == settings


@pytest.mark.parametrize("name", sorted(OLD_PNGS))
def test_pngs_of_the_previous_format_read_back(name):
    old = json.loads(Image.open(FIXTURES / name).text["genart"])
    settings = read_png_settings(FIXTURES / name)
    assert type(settings) is OLD_PNGS[name]
    assert settings.seed == old["seed"] and settings.model == old["model"]
    new = settings.to_metadata()
    assert {k: new[k] for k in old} == old  # every key written then is written again, with its value
    assert set(new) - set(old) <= {"task"} | {f for f, v in new.items() if v in ("", None)}
    assert RunSettings.from_metadata(new) == settings


def test_previous_format_details():
    dit = read_png_settings(FIXTURES / "generate-dit.png")
    assert (dit.class_index, dit.class_label) == (207, "golden retriever")
    gan = read_png_settings(FIXTURES / "translate-gan.png")
    assert gan.steps is None and gan.scheduler is None  # a GAN has none
    assert read_png_settings(FIXTURES / "inpaint.png").outpaint == (8, 0, 0, 0)
    up = read_png_settings(FIXTURES / "upscale-gan.png")
    assert up.metrics == {"bicubic_psnr": 8.4705, "bicubic_ssim": 0.010055, "psnr": 5.8056, "ssim": 0.003484}
    assert read_png_settings(FIXTURES / "leaderboard-run.png").extra == {"prompt_id": "drawbench-000"}
    video = RunSettings.from_metadata(json.loads((FIXTURES / "video.json").read_text()))
    assert isinstance(video, VideoSettings) and (video.frames, video.fps, video.seed) == (2, 8, 9)


def test_a1111_text_layout_and_round_trip():
    text = EXAMPLES[0].parameters_text()
    lines = text.split("\n")
    assert lines[0] == 'a "cat", sitting: here' and lines[1] == "Negative prompt: blurry"
    assert lines[2].startswith("Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 64x48, Model: sd15")
    back = RunSettings.from_parameters_text(text)
    assert back.genart == ""  # the text carries no genart version: none is claimed for it
    for name in (
        "prompt",
        "negative_prompt",
        "steps",
        "scheduler",
        "guidance",
        "seed",
        "width",
        "height",
        "model",
        "standin",
    ):
        assert getattr(back, name) == getattr(EXAMPLES[0], name), name


@pytest.mark.parametrize("settings", EXAMPLES, ids=lambda s: f"{s.task}-{s.model}")
def test_every_task_class_is_recognised_by_an_a1111_reader(settings, tmp_path):
    """sd-parsers needs Sampler and three of Steps/Sampler/CFG scale/Seed: GANs (no steps or sampler) had neither."""
    info = ParserManager().parse(save_png(Image.new("RGB", (8, 8)), tmp_path / "x.png", settings))
    assert info is not None, settings.parameters_text()
    (sampler,) = info.samplers
    assert int(sampler.parameters["seed"]) == settings.seed and sampler.model.name == settings.model
    assert int(sampler.parameters["steps"]) == (settings.steps or 1)
    assert sampler.name == (settings.scheduler or "One forward pass")
    assert float(sampler.parameters["cfg_scale"]) == (1.0 if settings.guidance is None else settings.guidance)
    assert [p.value for p in sampler.prompts] == ([settings.prompt] if settings.prompt else [])


def test_a1111_text_of_a_gan_and_of_inpainting():
    assert EXAMPLES[2].parameters_text() == (
        "\nSteps: 1, Sampler: One forward pass, CFG scale: 1.0, Seed: 4, Size: 64x64, Model: pix2pix-facades"
    )
    assert EXAMPLES[4].parameters_text() == (
        "a hat\nSteps: 2, Sampler: PNDM, CFG scale: 7.5, Seed: 0, Size: 40x32, Model: sd15-inpaint, "
        "Denoising strength: 1.0, Mask blur: 4"
    )
    back = RunSettings.from_parameters_text(EXAMPLES[4].parameters_text())
    assert back.extra == {"strength": "1.0", "mask_blur": "4"}  # fields text-to-image settings do not have


def test_parses_another_tools_text_keeping_what_it_does_not_know():
    text = (
        "masterpiece, a castle\nNegative prompt: lowres, bad hands\n"
        "Steps: 28, Sampler: Euler a, CFG scale: 6.5, Seed: 1234, Size: 512x768, Model hash: abc123, Model: foo"
    )
    back = RunSettings.from_parameters_text(text)
    assert (back.prompt, back.negative_prompt) == ("masterpiece, a castle", "lowres, bad hands")
    assert (back.steps, back.seed, back.guidance, back.width, back.height) == (28, 1234, 6.5, 512, 768)
    assert back.scheduler == "Euler a" and back.model == "foo" and back.extra == {"Model hash": "abc123"}


def test_bad_metadata_is_refused_naming_the_field():
    with pytest.raises(InputError, match="Setting 'steps' should be int"):
        RunSettings.from_metadata({"task": "generate", "steps": "many"})
    with pytest.raises(InputError, match="names task 'paint'"):
        RunSettings.from_metadata({"task": "paint"})
    with pytest.raises(InputError, match="must be a JSON object"):
        RunSettings.from_metadata(["steps", 3])


def test_every_task_class_is_frozen_and_named():
    assert set(TASK_SETTINGS) == {"generate", "translate", "inpaint", "upscale", "video"}
    with pytest.raises(AttributeError):
        EXAMPLES[0].seed = 1  # frozen


VARIED = GenerateSettings(
    model="sd15",
    prompt="a fox",
    steps=2,
    guidance=7.5,
    width=64,
    height=64,
    scheduler="Euler",
    seed=42,
    variation_seed=7,
    variation_strength=0.3,
)


def test_variation_seed_is_written_with_a1111s_labels_and_read_back_by_both_readers(tmp_path):
    text = VARIED.parameters_text()
    assert "Model: sd15, Variation seed: 7, Variation seed strength: 0.3" in text.split("\n")[-1]
    back = RunSettings.from_parameters_text(text)
    assert (back.variation_seed, back.variation_strength) == (7, 0.3) and back.extra == {}
    path = save_png(Image.new("RGB", (8, 8)), tmp_path / "varied.png", VARIED)
    chunks = Image.open(path).text
    assert json.loads(chunks["genart"])["variation_seed"] == 7 and read_png_settings(path) == VARIED
    assert RunSettings.from_parameters_text(chunks["parameters"]).variation_strength == 0.3


def test_no_variation_writes_no_variation_labels():
    assert "Variation" not in EXAMPLES[0].parameters_text()
    assert "variation_seed" not in EXAMPLES[0].to_metadata()


def test_another_tools_variation_seed_is_read():
    text = "a castle\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Variation seed: 99, Variation seed strength: 0.25"
    back = RunSettings.from_parameters_text(text)
    assert (back.seed, back.variation_seed, back.variation_strength, back.extra) == (1, 99, 0.25, {})
