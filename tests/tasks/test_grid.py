"""X/Y/Z grids on tiny stand-ins: axis parsing, the grid picture, one load per model, shared text encoding, cells that
remake pixel-identically from their own PNGs, stopping part-way, and bad axes refused before anything runs."""

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from genart_demo.cache import PipelineCache
from genart_demo.errors import InputError
from genart_demo.loading import load_pipeline
from genart_demo.media import read_png_settings
from genart_demo.settings import MAX_GRID_CELLS
from genart_demo.studio import Studio
from genart_demo.tasks.generate import GenerateRequest, generate, request_from_settings
from genart_demo.tasks.grid import GridRequest, plan_cells, run_grid
from genart_demo.tasks.grid_axes import Axis
from genart_demo.tasks.grid_image import read_grid_metadata

BASE = GenerateRequest(model="sd15", prompt="a red fox in the snow", steps=2, seed=7)


def _grid(*axes: str, base: GenerateRequest = BASE) -> GridRequest:
    return GridRequest(base, tuple(Axis.from_text(a) for a in axes))


def _same_pixels(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b))


def _encoder_runs(pipe) -> Counter:
    """Counts forward calls of the pipeline's text encoder (counter["calls"])."""
    counter = Counter()
    pipe.text_encoder.register_forward_hook(lambda *_: counter.update(["calls"]))
    return counter


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("seed: 1, 2, 3", [1, 2, 3]),
        ("steps: 1-5 (+2)", [1, 3, 5]),
        ("Steps: 10-4 (-3), 20", [10, 7, 4, 20]),
        ("cfg: 1.5-2.5 (+0.5)", [1.5, 2.0, 2.5]),
        ("scheduler: Euler a, DPM++ 2M Karras", ["Euler a", "DPM++ 2M Karras"]),
        ('prompt s/r: fox, "cat, black", owl', [("fox", "fox"), ("fox", "cat, black"), ("fox", "owl")]),
        ("size: 64x64, 128 x 64", [(64, 64), (128, 64)]),
    ],
)
def test_axis_values_are_read_like_a1111(text, points):
    assert Axis.from_text(text).points() == points


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        (("colour: red, blue", "seed: 1"), "Unknown grid axis 'colour': use one of model, seed"),
        (("seed: 1, x", "steps: 2"), "Seed value 'x' is not a number"),
        (("steps: 1.5, 2", "seed: 1"), "Steps values must be whole numbers; got 1.5"),
        (("steps: 5-1 (+1)", "seed: 1"), "never reaches its end"),
        (("size: 64", "seed: 1"), "Size value '64' is not WIDTHxHEIGHT"),
        (("seed: 1, 2",), "A grid has 2 or 3 axes"),
        (("seed: 1, 2", "seed: 3"), "seed is given twice"),
        (("seed: 1-9", "steps: 1-8"), f"9 x 8 = 72 cells; at most {MAX_GRID_CELLS}"),
        (("prompt_sr: wolf, cat", "seed: 1"), "searches for 'wolf'"),
        (("strength: 0.3, 0.6", "seed: 1"), "A strength axis needs an image-to-image request"),
        (
            ("lora_weight: 0, 1", "seed: 1"),
            "A LoRA weight axis sets the weight of the request's LoRAs, and it lists none",
        ),
        (("steps", "seed: 1"), "needs a kind and values"),
        (("steps:", "seed: 1"), "The steps axis has no values"),
        (("seed: 1, 2", "steps: 2, 501"), "Grid cell Seed: 1 · Steps: 501: Steps must be a whole number from 1 to 500"),
        (("model: sd15, ddpm-cifar10", "sampler: DPM++ 2M Karras"), "Grid cell Model: ddpm-cifar10"),
    ],
)
def test_bad_axes_are_refused_before_any_cell_runs(studio, tmp_path, axes, message):
    with pytest.raises(InputError, match=None) as refused:
        run_grid(studio, _grid(*axes), output_dir=tmp_path)
    assert message in str(refused.value)
    assert not list(tmp_path.rglob("*.png"))  # nothing ran


def test_steps_by_guidance_3x3_shares_the_text_encoding_and_each_cell_remakes_its_pixels(studio, tmp_path):
    entry = studio.cache.get(studio.registry.get("sd15"))
    runs = _encoder_runs(entry.pipe)
    seen = []
    request = _grid("steps: 1-3", "guidance: 3, 5, 7")
    result = run_grid(studio, request, progress=lambda *a: seen.append(a), output_dir=tmp_path)
    grid_runs = runs["calls"]

    assert len(result.made()) == 9 and not result.cancelled
    assert result.encoder_calls == 1 and result.shared_encodings == 8  # one prompt (with its empty negative)
    assert grid_runs == 2  # CLIP ran once on the prompt and once on the empty negative prompt, for all 9 cells
    assert seen[-1][:2] == ((1 + 2 + 3) * 3,) * 2  # one bar: every cell's steps
    assert "encode_prompt" not in vars(entry.pipe)  # the bound method is back

    w, h = result.cells[0].result.images[0].size
    width, height = result.image.size
    assert 3 * w < width < 3 * w + 200 and 3 * h < height < 3 * h + 100  # three columns, three rows, legends
    assert _same_pixels(result.image.crop((width - w, height - h, width, height)), result.cells[-1].result.images[0])
    assert _same_pixels(result.image.crop((width - 3 * w, height - 3 * h, width - 2 * w, height - 2 * h)),
                        result.cells[0].result.images[0])  # fmt: skip

    meta = read_grid_metadata(result.path)
    assert result.path.parent.parent.name == "grids" and meta["cancelled"] is False
    assert [a["labels"] for a in meta["axes"]][1] == ["CFG: 3.0", "CFG: 5.0", "CFG: 7.0"]
    before = runs["calls"]
    for cell, listed in zip(result.cells, meta["cells"]):
        settings = read_png_settings(cell.result.paths[0])
        assert listed["file"] == str(cell.result.paths[0]) and listed["label"] == cell.label
        assert (settings.steps, settings.guidance) == (cell.index[0] + 1, [3.0, 5.0, 7.0][cell.index[1]])
        again = generate(studio, request_from_settings(settings), output_dir=tmp_path / "again")
        assert _same_pixels(again.images[0], cell.result.images[0]), cell.label
    assert runs["calls"] - before == 2 * 9  # one by one, every cell encodes both prompts again


def test_two_models_by_three_seeds_loads_each_model_once(settings, tmp_path):
    """Model is the X axis (it changes fastest), and the cache holds one model at a time: only running the cells
    grouped by model loads each once."""
    loads = Counter()

    def loader(spec, **kwargs):
        loads[spec.id] += 1
        return load_pipeline(spec, **kwargs)

    tight = replace(settings, memory_budget_gb=1e-6)  # every load evicts the other model
    studio = Studio(tight, Studio.create(tight).registry, PipelineCache(tight, standin=True, loader=loader), True)
    result = run_grid(studio, _grid("model: sd15, sd21", "seed: 1, 2, 3"), output_dir=tmp_path)

    assert loads == {"sd15": 1, "sd21": 1}
    assert [c.label for c in result.cells][:2] == ["Model: sd15 · Seed: 1", "Model: sd21 · Seed: 1"]
    assert result.encoder_calls == 2  # one prompt per model
    for cell in result.cells:
        settings = read_png_settings(cell.result.paths[0])
        assert (settings.model, settings.seed) == (["sd15", "sd21"][cell.index[0]], [1, 2, 3][cell.index[1]])
        again = generate(studio, request_from_settings(settings), output_dir=tmp_path / "again")
        assert _same_pixels(again.images[0], cell.result.images[0]), cell.label


def test_a_stopped_grid_keeps_the_cells_already_made(studio, tmp_path):
    made = []
    request = _grid("seed: 1, 2, 3", "steps: 1, 2", "prompt_sr: fox, owl")
    result = run_grid(
        studio,
        request,
        progress=lambda done, total, desc: made.append(desc),
        cancel=lambda: len({d.split(" · sd15")[0] for d in made}) >= 2,  # stop once two cells have reported
        output_dir=tmp_path,
    )
    assert result.cancelled and len(result.made()) == 2
    assert sorted(p.name for p in tmp_path.rglob("*-sd15-*.png")) == sorted(
        c.result.paths[0].name for c in result.made()
    )
    meta = read_grid_metadata(result.path)
    assert meta["cancelled"] is True and [c["file"] is None for c in meta["cells"]].count(True) == 10
    w, h = result.made()[0].result.images[0].size
    assert result.image.size[1] > 2 * 2 * h  # Z stacks two blocks of two rows


def test_a_lora_weight_axis_sets_every_listed_lora_to_each_weight():
    base = replace(BASE, loras="style.safetensors:1, owner/detail:0.5")
    cells = plan_cells(_grid("lora: 0, 0.5-1 (+0.5)", "seed: 1", base=base))
    assert [c.request.loras for c in cells] == [
        "style.safetensors:0, owner/detail:0",
        "style.safetensors:0.5, owner/detail:0.5",
        "style.safetensors:1, owner/detail:1",
    ]
    assert [c.label for c in cells] == [
        "LoRA weight: 0.0 · Seed: 1",
        "LoRA weight: 0.5 · Seed: 1",
        "LoRA weight: 1.0 · Seed: 1",
    ]
