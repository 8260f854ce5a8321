"""The flow-matching text-to-video entries (Wan 2.1, LTX-Video) on their stand-ins: the mp4 holds the frames asked
for, the same seed makes the same video, and frame counts the VAE cannot make exactly are refused."""

import numpy as np
import pytest

from genart_demo.errors import InputError
from genart_demo.tasks.video import VideoRequest, frame_counts, generate_video
from genart_demo.video import probe_mp4, read_frames

WAN = "wan21-t2v-1-3b"
LTX = "ltx-video"


def _wan(**kw) -> VideoRequest:
    return VideoRequest(**{"model": WAN, "prompt": "a boat on a lake", "steps": 2, "seed": 5, **kw})


def test_wan_takes_4k_plus_1_frames_up_to_81(studio):
    counts = frame_counts(studio.registry.get(WAN))
    assert (counts[0], counts[1], counts[-1], len(counts)) == (1, 5, 81, 21)


def test_wan_standin_writes_the_frames_asked_for_and_repeats_per_seed(studio, tmp_path):
    first = generate_video(studio, _wan(frames=9, fps=12), output_dir=tmp_path)
    info = probe_mp4(first.mp4)
    assert first.standin and (info.frames, info.fps, info.codec) == (9, 12, "h264")
    assert first.frames.shape == (9, 64, 64, 3) and first.settings.scheduler == "UniPC"
    again = generate_video(studio, _wan(frames=9, fps=12), output_dir=tmp_path)
    assert np.array_equal(again.frames, first.frames) and np.array_equal(read_frames(again.mp4), read_frames(first.mp4))
    other = generate_video(studio, _wan(frames=9, fps=12, seed=6), output_dir=tmp_path)
    assert not np.array_equal(other.frames, first.frames)


def test_wan_refuses_frame_counts_its_vae_does_not_make(studio, tmp_path):
    with pytest.raises(InputError, match=r"wan21-t2v-1-3b makes 1 \+ 4·k frames \(1, 5, 9, 13, 17, …\); got 8"):
        generate_video(studio, _wan(frames=8), output_dir=tmp_path)


def _ltx(**kw) -> VideoRequest:
    return VideoRequest(**{"model": LTX, "prompt": "a boat on a lake", "steps": 2, "seed": 5, **kw})


def test_ltx_takes_8k_plus_1_frames_up_to_257(studio):
    counts = frame_counts(studio.registry.get(LTX))
    assert (counts[0], counts[1], counts[-1], len(counts)) == (1, 9, 257, 33)


def test_ltx_standin_writes_the_frames_asked_for_and_repeats_per_seed(studio, tmp_path):
    first = generate_video(studio, _ltx(frames=17, fps=12), output_dir=tmp_path)
    info = probe_mp4(first.mp4)
    assert first.standin and (info.frames, info.fps, info.codec) == (17, 12, "h264")
    assert first.frames.shape == (17, 64, 64, 3) and first.settings.scheduler == "Flow Euler"
    again = generate_video(studio, _ltx(frames=17, fps=12), output_dir=tmp_path)
    assert np.array_equal(again.frames, first.frames) and np.array_equal(read_frames(again.mp4), read_frames(first.mp4))
    other = generate_video(studio, _ltx(frames=17, fps=12, seed=6), output_dir=tmp_path)
    assert not np.array_equal(other.frames, first.frames)


def test_ltx_refuses_frame_counts_its_vae_does_not_make(studio, tmp_path):
    with pytest.raises(InputError, match=r"ltx-video makes 1 \+ 8·k frames \(1, 9, 17, 25, 33, …\); got 13"):
        generate_video(studio, _ltx(frames=13), output_dir=tmp_path)


def test_ltx_refuses_one_step(studio, tmp_path):
    """The repo's scheduler stretches its sigmas to end at shift_terminal, dividing by 1 - sigma of the last step:
    with one step that is 0 and every pixel NaN, so one step is refused before the model runs."""
    with pytest.raises(InputError, match=r"Steps must be a whole number from 2 to \d+ for ltx-video; got 1\."):
        generate_video(studio, _ltx(frames=9, steps=1), output_dir=tmp_path)


def test_ltx_is_told_the_frame_rate_of_the_video(studio, tmp_path, monkeypatch):
    """LTX scales its rotary time positions by the frame rate (frame_rate, default 25): it gets the mp4's fps."""
    entry = studio.cache.get(studio.registry.get(LTX))
    calls = []
    run = entry.run
    monkeypatch.setattr(entry, "run", lambda kwargs: calls.append(kwargs) or run(kwargs))
    generate_video(studio, _ltx(frames=9, fps=12), output_dir=tmp_path)
    assert calls[0]["frame_rate"] == 12 and "fps" not in calls[0]
