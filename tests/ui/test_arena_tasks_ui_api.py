"""The Arena tab's handlers for every task, without a server: the task's inputs shown beside the pair, N images per
side as a gallery, a video served as a copy without the metadata that names its model, the organiser's uploads."""

import dataclasses
import types
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from genart_demo.studio import Studio
from genart_demo.tasks.inpaint import MASK_TINT
from genart_demo.video import write_mp4
from leaderboard.arena import sessions
from leaderboard.arena.battles import Arena
from leaderboard.arena.session_ui import session_arguments
from leaderboard.arena.task_outputs import BATTLE_TASKS, TASK_INPUTS
from leaderboard.arena.ui import build_arena_ui
from leaderboard.arena.ui_common import DISPLAY_PX, battle_arguments, input_value, side_value
from tests.ui.handlers import by_elem_id, handler

MODELS = ("sd15", "sd-turbo", "realesrgan-x4plus", "esrgan-remacri", "pix2pix-facades", "cyclegan-sim2real")
REQUEST = types.SimpleNamespace(client=None, session_hash="tab-test")  # what rater_of reads of a gr.Request


def quiet(*_, **__):
    """A gr.Progress stand-in."""


@pytest.fixture(scope="module")
def arena(studio, tmp_path_factory):
    out = tmp_path_factory.mktemp("arena-tasks")
    settings = dataclasses.replace(studio.settings, output_dir=out, arena_models=MODELS, db_url="")
    made = Arena.open(Studio(settings, studio.registry, studio.cache, True, "tests"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def tab(studio, arena):
    with gr.Blocks() as blocks:
        build_arena_ui(arena.studio, arena)
    return blocks


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    path = tmp_path_factory.mktemp("inputs") / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    return str(path)


def shown(tab, values: dict) -> dict:
    """{elem_id: value} of a handler's answer; its layout (a State) under "layout"."""
    return {"layout" if isinstance(c, gr.State) else c.elem_id: v for c, v in values.items()}


def visible(tab, prefix: str, layout: dict) -> dict:
    """{elem_id: update} of the step after a battle that shows the parts its layout uses."""
    fns = [f.fn for f in tab.fns.values() if getattr(f.fn, "__name__", "") == "_visible"]
    show = next(fn for fn in fns if fn.__self__.a.image.elem_id == f"{prefix}-image-a")
    return {c.elem_id: u for c, u in show(layout).items()}


def test_super_resolve_battle_shows_the_input_and_two_images_a_side_then_reveals(tab, picture):
    editor = {"background": picture, "layers": [], "composite": None}
    out = shown(tab, handler(tab, api_name="arena_battle")("", "super-resolve", editor, None, 2, REQUEST, quiet))
    assert out["layout"] == {"a": "gallery", "b": "gallery", "input": "Input"}
    parts = visible(tab, "arena", out["layout"])
    for side in "ab":
        gallery = out[f"arena-gallery-{side}"]
        assert len(gallery) == 2 and all(a.shape == (256, 256, 3) for a in gallery)  # 64 px, 4x: arrays, not files
        assert out[f"arena-image-{side}"] is None and out[f"arena-video-{side}"] is None  # the API reads None there
        assert parts[f"arena-gallery-{side}"]["visible"] and parts[f"arena-image-{side}"]["visible"] is False
        assert parts[f"arena-video-{side}"]["visible"] is False
    assert parts["arena-input"]["visible"] and parts["arena-input"]["label"] == "Input"
    assert out["arena-input"].shape == (DISPLAY_PX, DISPLAY_PX, 3)  # the 64 px input enlarged 6x
    assert "revealed after your vote" in out["arena-message"]
    _, reveal, *_ = handler(tab, api_name="arena_vote")(out["arena-token"], "a", REQUEST)
    assert "A was `" in reveal and sum(m in reveal for m in ("realesrgan-x4plus", "esrgan-remacri")) == 2


def test_a_text_to_image_battle_keeps_one_large_image_and_no_input(tab):
    out = shown(tab, handler(tab, api_name="arena_battle")("a kite", "text-to-image", None, None, 1, REQUEST, quiet))
    assert out["arena-image-a"].shape == (DISPLAY_PX, DISPLAY_PX, 3) and out["arena-gallery-a"] is None
    assert out["layout"] == {"a": "image", "b": "image", "input": None}
    parts = visible(tab, "arena", out["layout"])
    assert parts["arena-image-a"]["visible"] and not parts["arena-gallery-b"]["visible"]
    assert parts["arena-input"]["visible"] is False


def test_the_form_follows_the_task(tab, arena):
    on_task = handler(tab, by_elem_id(tab, "arena-named-task"), "change")
    for task in BATTLE_TASKS:
        out = shown(tab, on_task(task))
        needs = TASK_INPUTS[task]
        assert out["arena-named-prompt"]["visible"] == (needs.prompt != "none")
        assert out["arena-named-input-image"]["visible"] == needs.image
        assert out["arena-named-input-mask"]["visible"] == needs.mask
        assert out["arena-named-a"]["choices"] == arena.models(task) == out["arena-named-b"]["choices"]
    out = shown(tab, on_task("super-resolve"))
    assert out["arena-named-a"]["value"] == "realesrgan-x4plus" and out["arena-named-b"]["value"] == "esrgan-remacri"
    assert out["arena-named-prompt"]["label"] == "Prompt (optional)"


def test_a_named_image_to_image_battle_names_both(tab, picture):
    editor = {"background": picture, "layers": [], "composite": None}
    named = handler(tab, api_name="arena_named")
    args = ("", "pix2pix-facades", "cyclegan-sim2real", "image-to-image", editor, None, 1)
    out = shown(tab, named(*args, REQUEST, quiet))
    assert "A is `pix2pix-facades`, B is `cyclegan-sim2real`" in out["arena-named-message"]
    assert out["arena-named-image-a"].shape[2] == 3 and out["layout"]["input"] == "Input"
    with pytest.raises(gr.Error, match="Image-to-image battles need an input image"):
        named(*args[:4], None, None, 1, REQUEST, quiet)


def test_an_inpaint_input_is_shown_with_the_area_to_repaint_tinted(tmp_path):
    image, mask = tmp_path / "image.png", tmp_path / "mask.png"
    Image.new("RGB", (64, 64), (0, 0, 0)).save(image)
    drawn = np.zeros((64, 64), np.uint8)
    drawn[:32] = 255  # the top half repainted
    Image.fromarray(drawn).save(mask)
    label, value = input_value((image, mask))
    assert label == "Input (area to repaint tinted)" and value.shape == (DISPLAY_PX, DISPLAY_PX, 3)
    top, bottom = value[10, 10], value[-10, -10]
    assert tuple(bottom) == (0, 0, 0) and tuple(top) != (0, 0, 0)
    assert np.argmax(top) == np.argmax(MASK_TINT)  # tinted towards the tint colour


def test_videos_are_served_as_copies_without_the_settings_that_name_the_model(arena, tmp_path):
    frames = np.random.default_rng(1).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    made = [write_mp4(frames, tmp_path / f"v{i}.mp4", 4, {"model": "modelscope-t2v", "seed": i}) for i in range(2)]
    assert b"modelscope-t2v" in made[0].read_bytes()
    kind, served = side_value((made[0],))
    assert kind == "video"
    assert b"modelscope-t2v" not in Path(served).read_bytes() and "modelscope" not in served
    assert not served.startswith(str(tmp_path)) and not served.startswith(str(arena.studio.settings.output_dir))
    assert Path(served).read_bytes()[4:8] == b"ftyp"  # still an mp4
    kind, gallery = side_value(tuple(made))  # two videos a side: a gallery of copies
    assert kind == "gallery" and len(gallery) == 2
    assert all(b"modelscope" not in Path(p).read_bytes() for p in gallery)


def test_the_organiser_gives_images_and_masks_by_order():
    assert session_arguments("text-to-image", "a\n\nb", None, None) == (["a", "b"], None)
    prompts, inputs = session_arguments("super-resolve", "", ["x.png", "y.png"], None)
    assert prompts == ["", ""] and inputs == [{"image": "x.png"}, {"image": "y.png"}]
    _, inputs = session_arguments("inpaint", "a\nb", ["x.png", "y.png"], ["mx.png", "my.png"])
    assert inputs == [{"image": "x.png", "mask": "mx.png"}, {"image": "y.png", "mask": "my.png"}]
    with pytest.raises(Exception, match="2 input images but 1 masks: upload one mask per image, in order"):
        session_arguments("inpaint", "", ["x.png", "y.png"], ["mx.png"])
    with pytest.raises(Exception, match="2 input images but 3 prompts"):
        session_arguments("image-to-image", "a\nb\nc", ["x.png", "y.png"], None)
    with pytest.raises(Exception, match="A super-resolve session needs input images"):
        session_arguments("super-resolve", "", [], None)


def test_a_super_resolve_session_shows_each_items_input_and_images(tab, arena, picture):
    create = handler(tab, api_name="arena_session_create")
    created, code = create("sr", list(MODELS[2:4]), "", 1, "super-resolve", [picture, picture], None, 2)
    assert code in created and arena.store.get_session(code).task == "super-resolve"
    out = shown(tab, handler(tab, api_name="arena_session_join")(code, "Ada", quiet))
    assert out["arena-session-progress"].startswith("**0 / 1**") and out["layout"]["input"] == "Input"
    assert len(out["arena-session-gallery-a"]) == 2 and out["arena-session-prompt"] == ""
    out = shown(tab, handler(tab, api_name="arena_session_vote")(out["arena-session-token"], "tie", code, "Ada", quiet))
    assert "all done" in out["arena-session-progress"] and out["layout"]["input"] is None
    assert sessions.progress(arena, arena.store.get_session(code), sessions.session_rater(arena, code, "Ada")).done


def test_the_form_sends_only_what_the_task_takes():
    editor = {"background": "in.png", "layers": ["drawn.png"], "composite": "c.png"}
    assert battle_arguments("inpaint", "a boat", editor, None) == ("a boat", {"image": "in.png", "mask": "drawn.png"})
    assert battle_arguments("inpaint", "", editor, "up.png") == ("", {"image": "in.png", "mask": "up.png"})
    assert battle_arguments("super-resolve", "x", editor, "up.png") == ("x", {"image": "in.png", "mask": None})
    assert battle_arguments("image-to-video", "left over", editor, None) == ("", {"image": "in.png", "mask": None})
    assert battle_arguments("text-to-image", "a kite", editor, "up.png") == ("a kite", {"image": None, "mask": None})
