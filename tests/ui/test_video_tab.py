"""The Video tab: without a server, every frame count and decode chunk its sliders offer for every model is taken, a
run first clears the last video, the examples and where it saved; /video over gradio_client, and the tab in Debian
chromium playing its <video> element."""

import json
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client
from handlers import build_tab, by_elem_id, component, handler, offered

from genart_demo.errors import InputError
from genart_demo.examples import VIDEO_EXAMPLES
from genart_demo.registry import Registry
from genart_demo.tasks.video import VideoRequest, _check
from genart_demo.ui.common import request_from_form
from genart_demo.ui.video import build_video_ui
from genart_demo.video import probe_mp4

IDS = [s.id for s in Registry.load().for_tasks(["text-to-video", "image-to-video"])]
SLIDERS = {
    "Frames": "frames",
    "FPS": "fps",
    "Steps": "steps",
    "Guidance (CFG) scale": "guidance",
    "Width": "width",
    "Height": "height",
    "Frames decoded at a time (less memory)": "decode_chunk",
    "Motion bucket id": "motion_bucket_id",
    "Noise augmentation": "noise_aug",
}  # slider label -> request field


@pytest.fixture(scope="module")
def tab(studio):
    return build_tab(studio, build_video_ui)


def _accepted(studio, model_id, **values) -> None:
    """The task's own check (no video made) of the form's values, as the Make video button sends them (floats)."""
    image_model = "image-to-video" in studio.spec(model_id).tasks
    form = {"model": model_id, "prompt": "" if image_model else "a boat", "image": "x.png" if image_model else None}
    _check(studio, request_from_form(VideoRequest, {**form, **values}))


@pytest.mark.parametrize("model_id", IDS)
def test_every_value_the_sliders_offer_is_taken(studio, tab, model_id):
    """After picking each model, every value each visible slider offers (with the others at the model's defaults),
    and every decode chunk with every frame count, passes the task's check."""
    picked = handler(tab, component(tab, gr.Dropdown, "Model"), "change")(model_id)
    offers = {}
    for label, field in SLIDERS.items():
        slider = component(tab, gr.Slider, label)
        update = picked.get(slider, {})
        if update.get("visible", slider.visible):
            offers[field] = offered(slider, update)
            for value in offers[field]:
                _accepted(studio, model_id, **{field: value})
    for frames in offers["frames"]:
        for chunk in offers.get("decode_chunk", [None]):
            _accepted(studio, model_id, frames=frames, decode_chunk=chunk)


def test_cogvideox_is_offered_only_the_frame_counts_it_makes(studio, tab):
    frames = component(tab, gr.Slider, "Frames")
    picked = handler(tab, component(tab, gr.Dropdown, "Model"), "change")("cogvideox-2b")
    assert offered(frames, picked[frames]) == [1 + 8 * k for k in range(7)]
    with pytest.raises(InputError, match=r"cogvideox-2b makes 1 \+ 8·k frames \(1, 9, 17, 25, 33, …\); got 8"):
        _accepted(studio, "cogvideox-2b", frames=8.0)


def test_svd_is_offered_no_decode_chunk_above_its_frames(studio, tab):
    """The decode-chunk slider offered 1..64 whatever the model; SVD-XT makes at most 25 frames."""
    chunk = component(tab, gr.Slider, "Frames decoded at a time (less memory)")
    picked = handler(tab, component(tab, gr.Dropdown, "Model"), "change")("svd-xt")
    assert offered(chunk, picked[chunk])[-1] == 25
    # a chunk larger than the frames asked for decodes them all at once, and is recorded as what ran
    assert _check(studio, VideoRequest(model="svd-xt", image="x.png", frames=9, decode_chunk=25))[1].decode_chunk == 9


def test_a_refused_run_clears_the_last_video(studio, tab):
    """A refused run once left the previous model's video on screen, as if it were this one's."""
    run = handler(tab, api_name="video")
    video = by_elem_id(tab, "video-output")
    form = {
        **{label_field: None for label_field in SLIDERS.values()},
        "model": "modelscope-t2v",
        "prompt": "a boat on a lake",
        "negative_prompt": "",
        "image": str(VIDEO_EXAMPLES[-1][2]),  # a text-to-video model takes no image: refused
        "seed": 1,
        "scheduler": None,
    }
    refused = run(**form)
    cleared = next(refused)
    assert len(cleared) == 5 and cleared[video] is None and all(v in (None, "") for v in cleared.values())
    with pytest.raises(gr.Error, match="takes no input image"):
        next(refused)


def test_a_run_says_where_it_saved_its_files(studio, tab):
    run, notes = handler(tab, api_name="video"), by_elem_id(tab, "video-notes")
    form = {field: None for field in SLIDERS.values()}
    form.update(model="modelscope-t2v", prompt="a boat", negative_prompt="", image=None, seed=3, scheduler=None)
    form.update(frames=2, steps=2, width=64, height=64)
    cleared, done = list(run(**form))
    saved = [line for line in done[notes].splitlines() if line.startswith("💾 Saved")]
    assert [Path(line.split("`")[1]).suffix for line in saved] == [".mp4", ".json", ".gif"]
    assert all((studio.settings.output_dir / line.split("`")[1]).exists() for line in saved)


def test_the_examples_fill_model_prompt_and_image(tab):
    dataset = next(c for c in tab.blocks.values() if isinstance(c, gr.Dataset))
    assert dataset.label == "Example inputs (drawn by the project)" and len(dataset.samples) == len(VIDEO_EXAMPLES)
    assert {m for m, _, _ in VIDEO_EXAMPLES} == set(IDS)  # one per video model
    for model_id, prompt, image in VIDEO_EXAMPLES:
        assert ("image-to-video" in Registry.load().get(model_id).tasks) == (image is not None) == (not prompt)


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


@pytest.mark.server
def test_video_endpoint_returns_the_mp4(client):
    video, strip, gif, notes, params = client.predict(
        "modelscope-t2v",
        "a boat on a lake",
        "",
        None,
        8,
        6,
        2,
        9.0,
        64,
        64,
        5,
        "DPM++ 2M",
        1,
        0,
        0.0,
        api_name="/video",
    )
    settings = json.loads(params)
    path = video["video"] if isinstance(video, dict) else video
    info = probe_mp4(path)
    assert (info.frames, info.fps, info.codec, info.pix_fmt) == (8, 6, "h264", "yuv420p")
    assert info.metadata["model"] == "modelscope-t2v" and settings["seed"] == 5
    assert gif.endswith(".gif")


@pytest.mark.server
def test_text_model_given_an_image_is_refused(client, tmp_path):
    from gradio_client import handle_file
    from PIL import Image

    still = tmp_path / "still.png"
    Image.new("RGB", (64, 64), "red").save(still)
    with pytest.raises(Exception, match="takes no input image"):
        client.predict(
            "modelscope-t2v",
            "a boat",
            "",
            handle_file(str(still)),
            8,
            6,
            2,
            9.0,
            64,
            64,
            5,
            "DPM++ 2M",
            1,
            0,
            0.0,
            api_name="/video",
        )


@pytest.mark.server
@pytest.mark.browser
def test_video_plays_in_the_browser(page, app_server, artifacts):
    url, _, _ = app_server
    page.goto(url)
    page.wait_for_selector("#generate-prompt textarea", timeout=60_000)
    page.get_by_role("tab", name="Video").click()
    page.fill("#video-prompt textarea", "a boat on a lake")
    page.click("#video-button")
    page.wait_for_selector("#video-output video", timeout=180_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('#video-output video');"
        " return v && v.readyState >= 2 && v.duration > 0; }",
        timeout=60_000,
    )
    duration = page.evaluate("document.querySelector('#video-output video').duration")
    assert duration > 0
    page.screenshot(path=str(artifacts / "video-tab.png"), full_page=True)
