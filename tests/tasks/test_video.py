"""The video task on stand-ins: every video model writes an H.264 mp4 with the frames, fps and settings asked for."""

import json

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.registry import Registry
from genart_demo.tasks.video import VideoRequest, generate_video
from genart_demo.video import probe_mp4, read_frames

SPECS = Registry.load().for_tasks(["text-to-video", "image-to-video"])


@pytest.fixture(scope="module")
def still(tmp_path_factory):
    path = tmp_path_factory.mktemp("video-inputs") / "still.png"
    y, x = np.mgrid[0:72, 0:90]
    Image.fromarray(np.stack([x * 2.8, y * 3.5, (x + y)], -1).clip(0, 255).astype(np.uint8)).save(path)
    return path


def _req(spec, still, **kw):
    image_model = "image-to-video" in spec.tasks
    base = {
        "prompt": "" if image_model else "a boat on a lake",
        "image": still if image_model else None,
        "steps": 2,
        "seed": 11,
    }
    base.update(kw)
    return VideoRequest(model=spec.id, **base)


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_every_video_model_writes_a_playable_mp4(studio, spec, still, tmp_path):
    frames = studio.spec(spec.id).defaults.frames
    fps = 6
    seen = []
    result = generate_video(
        studio, _req(spec, still, fps=fps), output_dir=tmp_path, progress=lambda d, t, desc: seen.append(desc)
    )
    info = probe_mp4(result.mp4)
    assert (info.frames, info.fps, info.codec, info.pix_fmt) == (frames, fps, "h264", "yuv420p")
    assert (
        info.metadata
        == json.loads(result.mp4.with_suffix(".json").read_text())
        == json.loads(json.dumps(result.settings.to_metadata()))
    )
    assert info.metadata["model"] == spec.id and info.metadata["frames"] == frames
    assert result.frames.shape[0] == frames and result.gif.exists()
    assert Image.open(result.gif).n_frames == frames
    assert any("denoising" in d for d in seen) and any("decoding" in d for d in seen)
    again = generate_video(studio, _req(spec, still, fps=fps), output_dir=tmp_path)
    assert np.array_equal(again.frames, result.frames)  # same seed, same frames
    assert np.array_equal(read_frames(again.mp4), read_frames(result.mp4))


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(frames=0), "Frames must be a whole number from 1"),
        (dict(frames=10_000), "Frames must be a whole number from 1"),
        (dict(fps=0), "FPS must be a whole number from 1 to 60"),
        (dict(fps=61), "FPS must be a whole number from 1 to 60"),
        (dict(prompt=""), "prompt is empty"),
    ],
)
def test_bad_input_text_model(studio, still, change, message, tmp_path):
    spec = next(s for s in SPECS if "text-to-video" in s.tasks)
    with pytest.raises(InputError, match=message):
        generate_video(studio, _req(spec, still, **change), output_dir=tmp_path)


def test_wrong_kind_of_input(studio, still, tmp_path):
    text = next(s for s in SPECS if "text-to-video" in s.tasks)
    image = next(s for s in SPECS if "image-to-video" in s.tasks)
    with pytest.raises(InputError, match="takes no input image"):
        generate_video(studio, _req(text, still, image=still), output_dir=tmp_path)
    with pytest.raises(InputError, match="give an input image"):
        generate_video(studio, _req(image, still, image=None), output_dir=tmp_path)
    bogus = tmp_path / "x.png"
    bogus.write_text("nope")
    with pytest.raises(InputError, match="could not be read as an image"):
        generate_video(studio, _req(image, still, image=bogus), output_dir=tmp_path)
