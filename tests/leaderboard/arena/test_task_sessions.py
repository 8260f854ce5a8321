"""Rating sessions for the image tasks: one input per item, stored once, shown with each of its battles."""

import dataclasses
from pathlib import Path

import pytest
from test_task_battles import PAIRS, Clock, mask, picture, quick_registry, vote

from genart_demo.errors import InputError
from genart_demo.studio import Studio
from leaderboard.arena import sessions
from leaderboard.arena.battles import Arena
from leaderboard.arena.task_outputs import BATTLE_TASKS, TASK_INPUTS

IMAGE_TASKS = tuple(t for t in BATTLE_TASKS if TASK_INPUTS[t].image)
SESSION_PROMPTS = {"image-to-image": ["a red house", "a blue door #doors"], "inpaint": ["a window", "a door"]}


@pytest.fixture
def db_arena(studio, tmp_path, store_url):
    """The arena of `arena`, on each store backend (SQLite and PostgreSQL)."""
    settings = dataclasses.replace(studio.settings, output_dir=tmp_path / "out", arena_models=(), db_url=store_url)
    made = Arena.open(Studio(settings, quick_registry(studio.registry), studio.cache, True, "tests"))
    made.clock = Clock()
    yield made
    made.store.close()


@pytest.mark.parametrize("task", IMAGE_TASKS)
def test_a_session_per_image_task_shows_each_items_input(db_arena, task):
    arena, models = db_arena, list(PAIRS[task])
    need = TASK_INPUTS[task]
    inputs = [{"image": picture(32), "mask": mask(32)}, {"image": picture(24)[::-1], "mask": mask(24)}]
    inputs = [{k: v for k, v in entry.items() if k == "image" or need.mask} for entry in inputs]
    prompts = SESSION_PROMPTS.get(task, [])
    made = sessions.create_session(arena, "s", models, prompts, 2, task=task, inputs=inputs, images_per_side=2)
    session = arena.store.get_session(made.code)
    assert (
        session.images_per_side == 2
        and len(session.inputs) == 2
        and session.prompts == (tuple(p.split(" #")[0] for p in prompts) or ("", ""))
    )
    for entry in session.inputs:
        assert sorted(entry) == sorted(k for k in ("image", "mask") if k == "image" or need.mask)
        assert all(not Path(rel).is_absolute() and rel.startswith("arena/inputs/") for rel in entry.values())
    _, rater, _ = sessions.join_session(arena, made.code, "ada")
    shown = set()
    while (view := sessions.next_battle(arena, session, rater)) is not None:
        prompt_index = sessions._items(session)[view.item][2]
        expected = tuple(arena.studio.settings.output_dir / rel for rel in session.inputs[prompt_index].values())
        assert view.task == task and view.inputs == expected and view.prompt == session.prompts[prompt_index]
        assert len(view.outputs_a) == len(view.outputs_b) == 2 and all(p.is_file() for p in view.outputs_a)
        shown.add(prompt_index)
        vote(arena, view, "a", rater)
    assert shown == {0, 1} and sessions.progress(arena, session, rater).done == 2
    assert {v.task for v in arena.store.votes(session_code=made.code, modes=("session",))} == {task}


def test_bad_image_sessions_are_refused(db_arena):
    arena = db_arena
    image = picture()
    models = list(PAIRS["inpaint"])
    cases = [
        ("inpaint", models, ["a door"], None, "Inpaint sessions need input images"),
        ("inpaint", models, ["a door", "a window"], [{"image": image, "mask": mask()}], "1 input images but 2 prompt"),
        ("inpaint", models, ["a door", ""], [{"image": image, "mask": mask()}] * 2, "item 2 has none"),
        ("inpaint", models, ["a door"], [{"image": image}], "need a mask"),
        ("image-to-video", list(PAIRS["image-to-video"]), ["move"], [{"image": image}], "take no prompt"),
        ("text-to-image", list(PAIRS["text-to-image"]), ["a door"], [{"image": image}], "take no input images"),
    ]
    for task, chosen, prompts, inputs, message in cases:
        with pytest.raises(InputError, match=message):
            sessions.create_session(arena, "s", chosen, prompts, 2, task=task, inputs=inputs)
    with pytest.raises(InputError, match="Images per side must be"):
        sessions.create_session(
            arena,
            "s",
            models,
            ["a door"],
            2,
            task="inpaint",
            inputs=[{"image": image, "mask": mask()}],
            images_per_side=9,
        )
    assert arena.store.get_session("AAAAAAAA") is None and arena.store.battles() == []
