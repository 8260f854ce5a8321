"""The arena's battles and rating sessions for every task through the launched app's API (gradio_client): the same
input for both models, the input shown back, N images per side, the vote, and ratings kept per task."""

from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.ui.conftest import ARENA_TASK_MODELS as MODELS

pytestmark = pytest.mark.server
IMAGE_A, IMAGE_B, TOKEN, MESSAGE = 0, 1, 2, 3  # /arena_battle's first outputs; its last ones:
GALLERY_A, VIDEO_A, GALLERY_B, VIDEO_B, INPUT = -5, -4, -3, -2, -1
PROMPTS = {"inpaint": "a boat", "text-to-video": "a boat on a lake"}  # the others' stand-ins take none


@pytest.fixture(scope="module")
def client(arena_tasks_server):
    return Client(arena_tasks_server, verbose=False)


def _editor(path):
    """What the input-image editor sends: the uploaded picture, nothing painted."""
    return {"background": handle_file(path), "layers": [], "composite": None}


def _battle(client, task, files, per_side=1):
    image = _editor(files["image"]) if task != "text-to-video" else None
    mask = handle_file(files["mask"]) if task == "inpaint" else None
    return client.predict(PROMPTS.get(task, ""), task, image, mask, per_side, api_name="/arena_battle")


def _pixels(path) -> tuple[int, int]:
    with Image.open(path) as img:
        assert not img.info  # re-encoded: no PNG text chunk names the model
        return img.size


@pytest.mark.parametrize("task", ["image-to-image", "inpaint", "super-resolve", "text-to-video"])
def test_a_blind_battle_for_each_task_shows_the_input_and_counts_in_its_own_ratings(client, task_files, task):
    shown = _battle(client, task, task_files)
    assert "revealed after your vote" in shown[MESSAGE] and not any(m in shown[MESSAGE] for m in MODELS[task])
    if task == "text-to-video":
        for video in (shown[VIDEO_A], shown[VIDEO_B]):
            path = video["video"] if isinstance(video, dict) else video
            data = Path(path).read_bytes()
            assert str(path).endswith(".mp4") and not any(m.encode() in data for m in MODELS[task])
        assert shown[INPUT] is None
    else:
        assert all(_pixels(shown[i])[0] >= 64 for i in (IMAGE_A, IMAGE_B)) and _pixels(shown[INPUT])[0] >= 64
    _, reveal, *_ = client.predict(shown[TOKEN], "a", api_name="/arena_vote")
    assert all(m in reveal for m in MODELS[task])
    table, *_ = client.predict(task, False, "separated", 100, api_name="/arena_ratings")
    assert {row[0] for row in table["data"]} == set(MODELS[task])  # no other task's models


def test_several_images_per_side_under_one_vote(client, task_files):
    shown = _battle(client, "super-resolve", task_files, per_side=2)
    for gallery in (shown[GALLERY_A], shown[GALLERY_B]):
        assert len(gallery) == 2
    _, reveal, *_ = client.predict(shown[TOKEN], "b", api_name="/arena_vote")
    assert "Your vote for B (" in reveal


def test_bad_task_inputs_are_refused_and_the_server_keeps_serving(client, task_files):
    for args, message in (
        (("", "super-resolve", None, None, 1), "need an input image"),
        (("a boat", "inpaint", _editor(task_files["image"]), None, 1), "mask"),
        (("", "super-resolve", _editor(task_files["image"]), None, 9), "per side"),
        (("", "painting", None, None, 1), "painting"),
    ):
        with pytest.raises(Exception, match=message):
            client.predict(*args, api_name="/arena_battle")
    assert _battle(client, "super-resolve", task_files)[TOKEN]


def test_inpaint_and_video_sessions_through_the_api(client, task_files):
    image, mask = handle_file(task_files["image"]), handle_file(task_files["mask"])
    created, code = client.predict(
        "inpainters",
        list(MODELS["inpaint"]),
        "a boat\na kite",
        2,
        "inpaint",
        [image, image],
        [mask, mask],
        1,
        None,
        api_name="/arena_session_create",
    )
    assert code in created
    joined = client.predict(code, "Ada", api_name="/arena_session_join")
    assert joined[0].startswith("**0 / 2**") and joined[4] and _pixels(joined[-1])[0] >= 64  # the input is shown
    voted = client.predict(joined[4], "a", code, "Ada", api_name="/arena_session_vote")
    assert voted[0].startswith("**1 / 2**") and all(m in voted[0] for m in MODELS["inpaint"])

    created, code = client.predict(
        "video makers",
        list(MODELS["text-to-video"]),
        "a boat on a lake",
        1,
        "text-to-video",
        None,
        None,
        1,
        None,
        api_name="/arena_session_create",
    )
    joined = client.predict(code, "Ada", api_name="/arena_session_join")
    token = joined[4]
    voted = client.predict(token, "tie", code, "Ada", api_name="/arena_session_vote")
    assert "all done" in voted[0] and all(m in voted[0] for m in MODELS["text-to-video"])
