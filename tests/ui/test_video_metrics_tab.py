"""The Video tab shows the made video's flicker, smoothness and CLIP consistency above its notes, computed on the
frames the task made; a metric network that cannot load leaves the video and says why."""

import re

import pytest
from handlers import build_tab, by_elem_id, handler

import genart_demo.ui.video as video_ui
from genart_demo.metrics.video import frames_from_hwc, motion_smoothness, temporal_flicker
from genart_demo.ui.video import build_video_ui, metrics_markdown

FORM = {
    "model": "modelscope-t2v",
    "prompt": "a boat",
    "negative_prompt": "",
    "image": None,
    "seed": 3,
    "scheduler": None,
    "frames": 3,
    "fps": None,
    "steps": 2,
    "guidance": None,
    "width": 64,
    "height": 64,
    "decode_chunk": None,
    "motion_bucket_id": None,
    "noise_aug": None,
}


@pytest.fixture(scope="module")
def tab(studio):
    return build_tab(studio, build_video_ui)


def _table(markdown: str) -> dict[str, float]:
    return {m: float(v) for m, v in re.findall(r"^\| ([^|]+?) \| ([0-9.]+) \|$", markdown, flags=re.M)}


def test_a_run_shows_its_metrics_from_the_frames_it_made(tab, monkeypatch):
    seen, real = [], video_ui.video_rows

    def spy(studio, frames, subject, **kwargs):
        seen.append(frames)  # the (F, H, W, 3) frames the task made, before the mp4's lossy encoding
        return real(studio, frames, subject, **kwargs)

    monkeypatch.setattr(video_ui, "video_rows", spy)
    _, done = list(handler(tab, api_name="video")(**FORM))
    notes = done[by_elem_id(tab, "video-notes")]
    table = _table(notes)
    frames = frames_from_hwc(seen[0])
    assert table["Temporal flicker"] == pytest.approx(temporal_flicker(frames), abs=5e-5)
    assert table["Motion smoothness (midpoint proxy)"] == pytest.approx(motion_smoothness(frames), abs=5e-5)
    assert 0 < table["CLIP frame consistency"] <= 1.0001 and len(table) == 3  # no DINO in the tab: it stays cheap
    assert notes.startswith("**Video metrics**") and "tiny random stand-in offline" in notes
    assert "💾 Saved" in notes


def test_a_metric_network_that_fails_to_load_keeps_the_video(tab, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no CLIP weights in the cache *here*")

    monkeypatch.setattr(video_ui, "video_rows", broken)
    _, done = list(handler(tab, api_name="video")(**FORM))
    assert done[by_elem_id(tab, "video-output")].endswith(".mp4")
    assert (
        "ℹ️ Video metrics unavailable: no CLIP weights in the cache \\*here\\*" in done[by_elem_id(tab, "video-notes")]
    )


def test_a_single_frame_gets_no_metrics_table():
    assert metrics_markdown([], standin=True) == ""
