"""Video output: mp4 (H.264/yuv420p, exact fps and frame count, JSON metadata), GIF, frame strips, probing."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from genart_demo.video import MAX_FPS, MIN_FPS, frame_strip, probe_mp4, read_frames, write_gif, write_mp4

META = {
    "prompt": 'a square; moving = right #1 \\ "quoted"\nline two',
    "seed": 42,
    "fps": 8,
    "umlaut": "ü",
    "nested": {"steps": [1, 2, 3], "guidance": 7.5, "none": None},
}


def moving_square(width: int = 64, height: int = 48, count: int = 12) -> np.ndarray:
    """(count, height, width, 3) uint8: a yellow 16x16 square moving right over a blue background."""
    frames = np.empty((count, height, width, 3), np.uint8)
    frames[...] = (30, 60, 90)
    for i in range(count):
        frames[i, 10:26, 4 * i : 4 * i + 16] = (250, 200, 40)
    return frames


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "square.mp4"
    assert write_mp4([Image.fromarray(f) for f in moving_square()], path, fps=8, metadata=META) == path
    return path


def test_probe_reports_stream(mp4):
    info = probe_mp4(mp4)
    assert (info.frames, info.fps, info.codec, info.pix_fmt) == (12, 8, "h264", "yuv420p")
    assert (info.width, info.height) == (64, 48)


def test_metadata_round_trips_through_tag_and_sidecar(mp4):
    assert probe_mp4(mp4).metadata == META
    assert json.loads(mp4.with_suffix(".json").read_text(encoding="utf-8")) == META


def test_faststart_and_no_temp_files_left(mp4):
    head = mp4.read_bytes()[:4096]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head
    assert sorted(p.name for p in mp4.parent.iterdir()) == ["square.json", "square.mp4"]


def test_decoded_frames_close_to_input(mp4):
    frames = read_frames(mp4)
    assert frames.shape == (12, 48, 64, 3) and frames.dtype == np.uint8
    assert np.abs(frames.astype(int) - moving_square()).mean() < 6


def test_float_frames_accepted(tmp_path):
    path = write_mp4(moving_square().astype(np.float32) / 255.0, tmp_path / "f.mp4", fps=MAX_FPS, metadata={})
    info = probe_mp4(path)
    assert (info.frames, info.fps, info.metadata) == (12, MAX_FPS, {})
    assert np.abs(read_frames(path).astype(int) - moving_square()).mean() < 6


def test_odd_size_padded_to_even(tmp_path):
    frames = moving_square(63, 47)
    info = probe_mp4(write_mp4(frames, tmp_path / "odd.mp4", fps=MIN_FPS, metadata={"odd": True}))
    assert (info.width, info.height, info.frames, info.fps) == (64, 48, 12, MIN_FPS)
    decoded = read_frames(tmp_path / "odd.mp4")
    assert np.abs(decoded[:, :47, :63].astype(int) - frames).mean() < 6


@pytest.mark.parametrize("fps", [0, 61, -8, 2.5])
def test_fps_out_of_range_refused(tmp_path, fps):
    with pytest.raises(ValueError, match=f"{MIN_FPS} to {MAX_FPS}"):
        write_mp4(moving_square(), tmp_path / "x.mp4", fps=fps, metadata={})
    with pytest.raises(ValueError, match=f"{MIN_FPS} to {MAX_FPS}"):
        write_gif(moving_square(), tmp_path / "x.gif", fps=fps)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("empty", [[], np.zeros((0, 48, 64, 3), np.uint8)])
def test_empty_frames_refused(tmp_path, empty):
    with pytest.raises(ValueError, match="0 frames"):
        write_mp4(empty, tmp_path / "x.mp4", fps=8, metadata={})
    assert os.listdir(tmp_path) == []


def test_deterministic(tmp_path):
    a = write_mp4(moving_square(), tmp_path / "a.mp4", fps=8, metadata=META)
    b = write_mp4(moving_square(), tmp_path / "b.mp4", fps=8, metadata=META)
    assert np.array_equal(read_frames(a), read_frames(b))
    assert a.read_bytes() == b.read_bytes()


def test_gif_frames_and_duration(tmp_path):
    path = write_gif(moving_square(), tmp_path / "square.gif", fps=8)
    with Image.open(path) as gif:
        assert gif.n_frames == 12 and gif.info["loop"] == 0
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    # GIF delays are stored in 1/100 s: 1000/8 = 125 ms is written as 12 cs (120 ms), the nearest it can say.
    assert all(abs(d - 125) <= 5 for d in durations), durations


def test_frame_strip_sizes():
    frames = moving_square()
    assert frame_strip(frames).size == (8 * round(64 * 128 / 48), 128)
    assert frame_strip(frames, max_frames=4, height=48).size == (4 * 64, 48)
    assert frame_strip(frames[:3], max_frames=8, height=24).size == (3 * 32, 24)
    one = frame_strip([Image.fromarray(frames[5])], height=48)
    assert one.size == (64, 48) and np.array_equal(np.asarray(one), frames[5])


def test_frame_strip_picks_first_and_last():
    frames = moving_square()
    strip = np.asarray(frame_strip(frames, max_frames=3, height=48))
    assert np.array_equal(strip[:, :64], frames[0]) and np.array_equal(strip[:, -64:], frames[-1])
    assert np.array_equal(strip[:, 64:128], frames[6]) or np.array_equal(strip[:, 64:128], frames[5])
