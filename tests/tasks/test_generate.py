"""The generate task on tiny stand-ins: every model, reproducibility, metadata, bad input, progress, compare."""

import time
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from genart_demo.cache import LoadedPipeline
from genart_demo.errors import InputError
from genart_demo.media import read_png_settings
from genart_demo.peak_memory import CPU_KIND
from genart_demo.registry import GENERATE_TASKS, Registry, UnknownModelError
from genart_demo.schedulers import SchedulerError
from genart_demo.tasks.common import takes_generator_list
from genart_demo.tasks.generate import CompareRequest, GenerateRequest, compare, generate, request_from_settings

GENERATE_IDS = [s.id for s in Registry.load().for_tasks(GENERATE_TASKS)]


def _req(model_id, **kw):
    base = {"prompt": "a red fox in the snow", "steps": 2, "seed": 123}
    base.update(kw)
    return GenerateRequest(model=model_id, **base)


def _pixels(images):
    return [np.asarray(img) for img in images]


@pytest.mark.parametrize("model_id", GENERATE_IDS)
def test_every_model_generates_through_its_standin(studio, model_id, tmp_path):
    spec = studio.spec(model_id)
    batch = 2 if takes_generator_list(spec.pipeline) else 1  # aMUSEd takes one generator: one image per call
    result = generate(studio, _req(model_id, batch=batch), output_dir=tmp_path)
    assert result.standin is True
    assert len(result.images) == len(result.paths) == batch
    entry = studio.cache.get(studio.registry.get(model_id))
    assert type(entry.pipe).__name__ == spec.pipeline  # the stand-in is the real pipeline class
    for img, path, s in zip(result.images, result.paths, result.settings):
        assert img.size == (spec.defaults.width, spec.defaults.height)
        arr = np.asarray(img)
        assert arr.dtype == np.uint8 and arr.shape[2] == 3
        assert path.suffix == ".png" and read_png_settings(path) == s
    assert [s.seed for s in result.settings] == [123, 124][:batch]


def test_same_seed_same_pixels(studio, tmp_path):
    a = generate(studio, _req("sd15", steps=3, scheduler="Euler a"), output_dir=tmp_path)
    b = generate(studio, _req("sd15", steps=3, scheduler="Euler a"), output_dir=tmp_path)
    c = generate(studio, _req("sd15", steps=3, scheduler="Euler a", seed=124), output_dir=tmp_path)
    assert np.array_equal(*_pixels([a.images[0], b.images[0]]))
    assert not np.array_equal(*_pixels([a.images[0], c.images[0]]))


def test_batch_image_i_uses_seed_plus_i(studio, tmp_path):
    batch = generate(studio, _req("ddim-cifar10", batch=3, seed=10), output_dir=tmp_path)
    alone = generate(studio, _req("ddim-cifar10", seed=12), output_dir=tmp_path)
    diff = np.abs(np.asarray(batch.images[2], dtype=int) - np.asarray(alone.images[0], dtype=int))
    assert diff.max() <= 1  # batched and single convolutions may round differently by one level


def test_png_settings_remake_the_same_image(studio, tmp_path):
    first = generate(studio, _req("sdxl-turbo", seed=-1, negative_prompt="blur"), output_dir=tmp_path)
    settings = read_png_settings(first.paths[0])
    assert 0 <= settings.seed < 2**32 and settings.standin is True
    assert Image.open(first.paths[0]).text["parameters"].splitlines()[0] == "a red fox in the snow"
    again = generate(studio, request_from_settings(settings), output_dir=tmp_path)
    assert np.array_equal(*_pixels([first.images[0], again.images[0]]))


def test_class_label_by_name_or_index(studio, tmp_path):
    by_name = generate(studio, _req("dit-xl-256", class_label="tench"), output_dir=tmp_path)
    by_index = generate(studio, _req("dit-xl-256", class_label=0), output_dir=tmp_path)
    assert by_name.settings[0].class_index == by_index.settings[0].class_index == 0
    assert np.array_equal(*_pixels([by_name.images[0], by_index.images[0]]))
    with pytest.raises(InputError, match=r"0\.\.999"):
        generate(studio, _req("dit-xl-256", class_label=1000), output_dir=tmp_path)
    with pytest.raises(InputError, match="Did you mean"):
        generate(studio, _req("dit-xl-256", class_label="goldn retriever"), output_dir=tmp_path)


def test_sdxl_refiner_hand_off(studio, tmp_path):
    seen = []
    result = generate(
        studio,
        _req("sdxl-base", steps=5, refine=True),
        output_dir=tmp_path,
        progress=lambda d, t, desc: seen.append((d, t, desc)),
    )
    assert result.images[0].size == (64, 64) and result.settings[0].refine is True
    assert [d for d, _, _ in seen] == [1, 2, 3, 4, 5]  # base and refiner share one 5-step schedule
    assert seen[-1][1] == 5 and "refining" in seen[-1][2] and "denoising" in seen[0][2]


@pytest.mark.parametrize("model_id", ["sd15", "ddpm-cifar10", "ncsnpp-celebahq"])
def test_progress_reports_every_step(studio, model_id, tmp_path):
    seen = []
    generate(studio, _req(model_id, steps=4), output_dir=tmp_path, progress=lambda d, t, desc: seen.append((d, t)))
    assert seen[0] == (1, 4) and seen[-1] == (4, 4)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


BAD = [
    (dict(prompt="   "), InputError, "prompt is empty"),
    (dict(width=60), InputError, "multiple of 8 from 32 to 256"),
    (dict(height=512), InputError, "from 32 to 256"),
    (dict(steps=0), InputError, "1 to 500"),
    (dict(steps=501), InputError, "1 to 500"),
    (dict(guidance=-0.5), InputError, "from 0 to 50"),
    (dict(batch=5), InputError, "Batch size must be from 1 to 4"),
    (dict(batch=0), InputError, "Batch size"),
    (dict(seed=-7), InputError, "use -1 for a random seed"),
    (dict(scheduler="Euler b"), SchedulerError, "Known schedulers: DDPM"),
    (dict(scheduler="Flow Euler"), InputError, "Compatible schedulers: DDPM, DDIM"),
    (dict(refine=True), InputError, "has no refiner"),
]


@pytest.mark.parametrize("change,error,message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_is_refused_with_what_is_allowed(studio, change, error, message, tmp_path):
    with pytest.raises(error, match=message):
        generate(studio, replace(_req("sd15"), **change), output_dir=tmp_path)
    assert not list(tmp_path.rglob("*.png"))


def test_unknown_model_and_wrong_task(studio, tmp_path):
    with pytest.raises(UnknownModelError, match="Known models"):
        generate(studio, _req("sd-99"), output_dir=tmp_path)
    with pytest.raises(InputError, match="Generate models"):
        generate(studio, _req("sdxl-refiner"), output_dir=tmp_path)


def test_long_prompt_truncated_with_a_warning(studio, tmp_path):
    long_prompt = " ".join(["a very detailed castle on a hill"] * 40)
    result = generate(studio, _req("sd15", prompt=long_prompt), output_dir=tmp_path)
    assert len(result.warnings) == 1
    assert "reads 77 (end token included)" in result.warnings[0] and "Dropped:" in result.warnings[0]
    short = generate(studio, _req("sd15"), output_dir=tmp_path)
    assert short.warnings == []


def test_prompts_past_what_any_encoder_reads_are_refused(studio, tmp_path):
    from genart_demo.tasks.common import MAX_PROMPT_CHARS

    with pytest.raises(InputError, match="The prompt is 4,001 characters long; at most 4,000 are allowed"):
        generate(studio, _req("sd15", prompt="x" * (MAX_PROMPT_CHARS + 1)), output_dir=tmp_path)
    with pytest.raises(InputError, match="The negative prompt is 9,000 characters long"):
        generate(studio, _req("sd15", negative_prompt="y" * 9000), output_dir=tmp_path)
    assert not list(tmp_path.rglob("*.png"))


def test_controls_that_do_not_apply_are_ignored(studio, tmp_path):
    result = generate(studio, _req("sdxl-turbo", guidance=9.0), output_dir=tmp_path)
    assert result.settings[0].guidance == 0.0  # turbo models are distilled for guidance 0
    result = generate(studio, _req("ddpm-cifar10", prompt="ignored"), output_dir=tmp_path)
    assert result.settings[0].prompt == ""


def test_compare_shares_prompt_and_seed(studio, tmp_path):
    seen = []
    request = CompareRequest(_req("", seed=-1), ("sd15", "sdxl-turbo", "flux-schnell"))
    results = compare(studio, request, output_dir=tmp_path, progress=lambda d, t, desc: seen.append((d, t)))
    seeds = {r.settings[0].seed for r in results}
    assert len(results) == 3 and len(seeds) == 1
    assert [r.settings[0].steps for r in results] == [30, 1, 4]  # each model's own defaults
    assert seen[-1][0] == seen[-1][1]
    with pytest.raises(InputError, match="1 to 4 models"):
        compare(studio, CompareRequest(_req(""), ("sd15",) * 5), output_dir=tmp_path)


def test_peak_memory_is_measured_around_the_pipeline_call_and_kept_out_of_the_png(studio, tmp_path, monkeypatch):
    """A pipeline call that holds 100 MB shows as a rise of at least that much; the PNG's settings do not change."""
    plain = generate(studio, _req("sd15"), output_dir=tmp_path)
    run = LoadedPipeline.run

    def run_holding_100_mb(self, kwargs):
        held = np.ones(100 * 10**6, np.uint8)
        output = run(self, kwargs)
        time.sleep(0.05)
        return output if held[-1] else None

    monkeypatch.setattr(LoadedPipeline, "run", run_holding_100_mb)
    result = generate(studio, _req("sd15"), output_dir=tmp_path)
    assert result.peak.kind == CPU_KIND and result.peak.rise_bytes >= 95 * 10**6
    assert read_png_settings(result.paths[0]) == plain.settings[0]  # same settings: remaking it is unchanged


def test_lcm_is_refused_for_a_model_not_distilled_for_it(studio, tmp_path):
    """LCM runs on any eps model but gives a blur without LCM weights: sd15 does not offer it, and asked for it the
    task says so and names the samplers it takes (it once ran it silently)."""
    assert "LCM" not in studio.spec("sd15").samplers()
    with pytest.raises(InputError, match=r"Scheduler 'LCM' does not work with sd15\. Compatible schedulers: DDPM"):
        generate(studio, _req("sd15", scheduler="LCM"), output_dir=tmp_path)
