"""/video over gradio_client, and the Video tab in Debian chromium playing its <video> element."""

import json

import pytest
from gradio_client import Client

from genart_demo.video import probe_mp4

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


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
