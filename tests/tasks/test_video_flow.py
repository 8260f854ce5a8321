"""The flow-matching text-to-video entries (Wan 2.1, LTX-Video) on their stand-ins: the mp4 holds the frames asked
for, the same seed makes the same video, and frame counts the VAE cannot make exactly are refused."""

import numpy as np
import pytest

from genart_demo.errors import InputError
from genart_demo.tasks.video import VideoRequest, frame_counts, generate_video
from genart_demo.video import probe_mp4, read_frames

WAN = "wan21-t2v-1-3b"
LTX = "ltx-video"
# model -> (frame counts: first, second, last, how many), frames to make, its sampler, a refused count and the message
CASES = {
    WAN: ((1, 5, 81, 21), 9, "UniPC", 8, r"wan21-t2v-1-3b makes 1 \+ 4·k frames \(1, 5, 9, 13, 17, …\); got 8"),
    LTX: ((1, 9, 257, 33), 17, "Flow Euler", 13, r"ltx-video makes 1 \+ 8·k frames \(1, 9, 17, 25, 33, …\); got 13"),
}


def _request(model: str, **kw) -> VideoRequest:
    return VideoRequest(**{"model": model, "prompt": "a boat on a lake", "steps": 2, "seed": 5, **kw})


def _ltx(**kw) -> VideoRequest:
    return _request(LTX, **kw)


@pytest.mark.parametrize("model", CASES)
def test_frame_counts_are_the_ones_its_vae_makes(studio, model):
    counts = frame_counts(studio.registry.get(model))
    assert (counts[0], counts[1], counts[-1], len(counts)) == CASES[model][0]


@pytest.mark.parametrize("model", CASES)
def test_standin_writes_the_frames_asked_for_and_repeats_per_seed(studio, tmp_path, model):
    _, frames, sampler, _, _ = CASES[model]
    first = generate_video(studio, _request(model, frames=frames, fps=12), output_dir=tmp_path)
    info = probe_mp4(first.mp4)
    assert first.standin and (info.frames, info.fps, info.codec) == (frames, 12, "h264")
    assert first.frames.shape == (frames, 64, 64, 3) and first.settings.scheduler == sampler
    again = generate_video(studio, _request(model, frames=frames, fps=12), output_dir=tmp_path)
    assert np.array_equal(again.frames, first.frames) and np.array_equal(read_frames(again.mp4), read_frames(first.mp4))
    other = generate_video(studio, _request(model, frames=frames, fps=12, seed=6), output_dir=tmp_path)
    assert not np.array_equal(other.frames, first.frames)


@pytest.mark.parametrize("model", CASES)
def test_frame_counts_its_vae_does_not_make_are_refused(studio, tmp_path, model):
    _, _, _, bad, message = CASES[model]
    with pytest.raises(InputError, match=message):
        generate_video(studio, _request(model, frames=bad), output_dir=tmp_path)


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
