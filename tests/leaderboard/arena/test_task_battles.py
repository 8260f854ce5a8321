"""Arena battles for every task on tiny stand-ins: inputs checked and stored, outputs per model, votes per task."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.registry import Registry
from genart_demo.studio import Studio
from leaderboard.arena.battles import Arena
from leaderboard.arena.task_outputs import BATTLE_TASKS, MAX_IMAGES_PER_SIDE, TASK_INPUTS, inputs_dir

# two small stand-ins per task (svd-xt is the registry's only image-to-video model: the test adds a copy of it)
PAIRS = {
    "text-to-image": ("sd-turbo", "sd15"),
    "image-to-image": ("sd15-img2img", "instruct-pix2pix"),
    "inpaint": ("sd15-inpaint", "sd15-inpaint-img2img"),
    "super-resolve": ("realesrgan-x4plus", "ldm-sr-4x"),
    "text-to-video": ("modelscope-t2v", "animatediff-sd15"),
    "image-to-video": ("svd-xt", "svd-xt-copy"),
}
PROMPT_FREE = ("pix2pix-facades", "cyclegan-sim2real")  # image-to-image models that take no prompt


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def quick_registry(registry: Registry) -> Registry:
    """The registry with every model at 2 denoising steps (1 for one-step models), plus a second image-to-video
    model (a copy of svd-xt), so a battle of each task runs in seconds on CPU."""
    specs = {
        s.id: dataclasses.replace(s, defaults=dataclasses.replace(s.defaults, steps=min(s.defaults.steps, 2)))
        for s in registry
    }
    specs["svd-xt-copy"] = dataclasses.replace(specs["svd-xt"], id="svd-xt-copy")
    return Registry(specs)


@pytest.fixture
def arena(studio, tmp_path):
    models = tuple(m for pair in PAIRS.values() for m in pair) + PROMPT_FREE
    settings = dataclasses.replace(
        studio.settings, output_dir=tmp_path / "out", arena_models=models, arena_token_ttl_s=600.0, db_url=""
    )
    made = Arena.open(Studio(settings, quick_registry(studio.registry), studio.cache, True, "tests"))
    made.clock = Clock()
    made.rng.seed(3)
    yield made
    made.store.close()


def picture(size: int = 32) -> np.ndarray:
    """A (size, size, 3) uint8 gradient: what gr.Image gives as type="numpy"."""
    ramp = np.linspace(0, 255, size, dtype=np.uint8)
    return np.stack(
        [np.tile(ramp, (size, 1)), np.tile(ramp[:, None], (1, size)), np.full((size, size), 90, np.uint8)], -1
    )


def mask(size: int = 32) -> Image.Image:
    made = Image.new("L", (size, size), 0)
    made.paste(255, (8, 8, 24, 24))
    return made


def given(task: str) -> dict:
    need = TASK_INPUTS[task]
    return {
        "prompt": "" if need.prompt == "none" else "a small red house",
        "image": picture() if need.image else None,
        "mask": mask() if need.mask else None,
    }


def vote(arena: Arena, view, outcome: str, rater: str = "anon:r1"):
    arena.clock.now += 5  # a considered vote: seconds after the battle started
    return arena.vote(view.token, outcome, rater).vote


@pytest.mark.parametrize("task", BATTLE_TASKS)
def test_each_task_battles_two_models_on_one_input(arena, task, monkeypatch):
    monkeypatch.setattr(arena.studio, "settings", dataclasses.replace(arena.studio.settings, arena_models=PAIRS[task]))
    args = given(task)
    suffix = ".mp4" if "video" in task else ".png"
    blind = arena.start_battle(task, args["prompt"], "anon:r1", image=args["image"], mask=args["mask"])
    assert blind.task == task and blind.models is None and blind.prompt == args["prompt"]
    assert len(blind.outputs_a) == len(blind.outputs_b) == 1
    for path in (*blind.outputs_a, *blind.outputs_b):
        assert path.suffix == suffix and path.stat().st_size > 0 and not any(m in path.name for m in PAIRS[task])
    kinds = [k for k in ("image", "mask") if args[k] is not None]
    assert len(blind.inputs) == len(kinds) and all(p.parent == inputs_dir(arena.studio) for p in blind.inputs)
    if args["image"] is not None:
        assert np.array_equal(np.asarray(Image.open(blind.inputs[0])), args["image"])  # stored as given, lossless
    (battle,) = arena.store.battles()
    assert battle.settings["images_per_side"] == 1
    assert [arena.studio.settings.output_dir / p for p in battle.settings.get("inputs", {}).values()] == list(
        blind.inputs
    )
    revealed = vote(arena, blind, "a")
    assert {revealed.model_a, revealed.model_b} == set(PAIRS[task]) and revealed.task == task

    named = arena.named_battle(task, *PAIRS[task], args["prompt"], "anon:r1", image=args["image"], mask=args["mask"])
    assert named.models == PAIRS[task] and named.inputs == blind.inputs  # the same input, stored once
    assert all(p.suffix == suffix and p.is_file() for p in (*named.outputs_a, *named.outputs_b))
    assert vote(arena, named, "b").mode == "named"
    table = arena.ratings(task, min_votes=1, include_named=True).set_index("model")
    assert sorted(table.index) == sorted(PAIRS[task]) and table["votes"].tolist() == [2, 2]


def test_ratings_are_kept_per_task(arena):
    args = given("image-to-image")
    view = arena.start_battle("image-to-image", args["prompt"], "anon:r1", image=args["image"])
    revealed = vote(arena, view, "a")
    assert arena.ratings("text-to-image", min_votes=1).empty
    assert set(arena.ratings("image-to-image", min_votes=1)["model"]) == {revealed.model_a, revealed.model_b}
    assert arena.store.votes(task="text-to-image") == []


def test_several_images_per_side_share_one_vote(arena):
    view = arena.named_battle("text-to-image", *PAIRS["text-to-image"], "a kite", "anon:r1", images_per_side=3)
    for side in (view.outputs_a, view.outputs_b):
        assert len(side) == 3 and len(set(side)) == 3 and all(p.is_file() for p in side)
        assert len({np.asarray(Image.open(p)).tobytes() for p in side}) == 3  # seeds seed, seed+1, seed+2
    (battle,) = arena.store.battles()
    assert battle.settings["images_per_side"] == 3 and len(battle.outputs_a) == len(battle.outputs_b) == 3
    vote(arena, view, "a")
    assert arena.store.vote_count() == 1
    table = arena.ratings("text-to-image", min_votes=1, include_named=True)
    assert table["votes"].tolist() == [1, 1]


def test_without_a_prompt_only_models_that_need_none_are_drawn(arena):
    image = picture()
    for _ in range(2):
        view = arena.start_battle("image-to-image", "", "anon:r1", image=image)
        revealed = vote(arena, view, "tie")
        assert view.prompt == "" and {revealed.model_a, revealed.model_b} == set(PROMPT_FREE)
    with pytest.raises(InputError, match="sd15-img2img needs a prompt"):
        arena.named_battle("image-to-image", "sd15-img2img", "pix2pix-facades", " ", "anon:r1", image=image)
    with pytest.raises(InputError, match="at least two models that run without a prompt"):
        arena.start_battle("inpaint", "", "anon:r1", image=image, mask=mask())


def test_bad_battle_inputs_are_refused_and_nothing_is_made(arena):
    image = picture()
    cases = [
        ("super-resolve", {"prompt": ""}, "Super-resolve battles need an input image"),
        ("image-to-video", {"prompt": ""}, "Image-to-video battles need an input image"),
        ("inpaint", {"prompt": "a door", "image": image}, "Inpaint battles need a mask"),
        ("image-to-image", {"prompt": "a door", "image": image, "mask": mask()}, "take no mask"),
        ("text-to-image", {"prompt": "a door", "image": image}, "take no input image"),
        ("image-to-video", {"prompt": "a door", "image": image}, "take no prompt"),
        ("text-to-video", {"prompt": "  "}, "The prompt is empty"),
        ("inpaint", {"prompt": "a door", "image": image, "mask": Image.new("L", (32, 32))}, "mask is empty"),
        ("inpaint", {"prompt": "a door", "image": image, "mask": Image.new("L", (64, 32), 255)}, "image's shape"),
        ("super-resolve", {"prompt": "", "image": b"not an image"}, "input image"),
        ("colourise", {"prompt": "a door"}, "no 'colourise' battles"),
    ]
    for bad in (0, MAX_IMAGES_PER_SIDE + 1, 2.5, "many", None):
        cases.append(("text-to-image", {"prompt": "a door", "images_per_side": bad}, "Images per side must be"))
    for task, args, message in cases:
        args = {"image": None, "mask": None, "images_per_side": 1, **args}
        prompt = args.pop("prompt")
        with pytest.raises(InputError, match=message):
            arena.start_battle(task, prompt, "anon:r1", **args)
        if task in PAIRS:
            with pytest.raises(InputError, match=message):
                arena.named_battle(task, *PAIRS[task], prompt, "anon:r1", **args)
    assert arena.store.battles() == [] and not arena.studio.settings.workspace.arena_images.exists()
    assert not inputs_dir(arena.studio).exists()  # every input is checked before any is stored
    with pytest.raises(InputError, match="Instant battles are text-to-image only"):
        arena.instant_battle("inpaint", "anon:r1")
