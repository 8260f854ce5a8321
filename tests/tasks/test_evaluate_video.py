"""Video evaluation on mp4 folders: per-video rows equal the metric functions on the decoded frames, means, FVD of a
folder against itself ≈ 0 and against another > 0, and refused folders named in the message."""

import json

import numpy as np
import pytest

from genart_demo.errors import InputError
from genart_demo.metrics.video import frames_from_hwc, motion_smoothness, temporal_flicker
from genart_demo.tasks.evaluate_video import (
    CLIP_CONSISTENCY,
    DINO_CONSISTENCY,
    FLICKER,
    SMOOTHNESS,
    VideoEvalRequest,
    evaluate_videos,
    video_rows,
)
from genart_demo.video import read_frames, write_mp4


def _still(colour, t=4):
    return np.broadcast_to(np.array(colour, dtype=np.uint8), (t, 32, 32, 3)).copy()


def _noise(seed, t=5):
    return np.random.default_rng(seed).integers(0, 256, (t, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    (root / "a").mkdir()
    (root / "b").mkdir()
    for i in range(3):
        write_mp4(_still((40 * i, 100, 200)), root / "a" / f"still{i}.mp4", 8, {})
        write_mp4(_noise(i), root / "b" / f"noise{i}.mp4", 8, {})
    (root / "a" / "notes.txt").write_text("not a video")
    return root


def test_a_still_video_scores_one_on_every_metric(studio):
    rows = {r["metric"]: r for r in video_rows(studio, _still((10, 20, 30)), "still")}
    assert list(rows) == [FLICKER, SMOOTHNESS, CLIP_CONSISTENCY, DINO_CONSISTENCY]
    assert rows[FLICKER]["value"] == 1.0 and rows[SMOOTHNESS]["value"] == 1.0
    assert rows[CLIP_CONSISTENCY]["value"] == pytest.approx(1.0, abs=1e-5)
    assert rows[DINO_CONSISTENCY]["value"] == pytest.approx(1.0, abs=1e-5)
    assert rows[CLIP_CONSISTENCY]["extractor"].startswith("standin-clip") and rows[FLICKER]["n"] == 4
    assert video_rows(studio, _still((1, 2, 3), t=1), "one frame") == []
    assert [r["metric"] for r in video_rows(studio, _noise(0, t=2), "two", dino=False)] == [FLICKER, CLIP_CONSISTENCY]


def test_folders_give_rows_per_video_means_and_fvd(studio, folders, tmp_path):
    result = evaluate_videos(studio, VideoEvalRequest(str(folders / "b"), str(folders / "a")), output_dir=tmp_path)
    frames = frames_from_hwc(read_frames(folders / "b" / "noise1.mp4"))
    got = {(r["metric"], r["subject"]): r["value"] for r in result.rows}
    assert got[(FLICKER, "noise1.mp4")] == pytest.approx(temporal_flicker(frames), abs=1e-12)
    assert got[(SMOOTHNESS, "noise1.mp4")] == pytest.approx(motion_smoothness(frames), abs=1e-12)
    flickers = [got[(FLICKER, f"noise{i}.mp4")] for i in range(3)]
    assert got[(f"{FLICKER} (mean)", "b (3 videos)")] == pytest.approx(np.mean(flickers))
    assert got[("FVD", "b vs a")] > 0
    saved = json.loads(result.json_path.read_text())
    assert saved["info"]["fvd_extractor"]["id"] == "standin-videomae" and saved["info"]["standin"] is True
    assert result.csv_path.exists() and any("stand-ins" in n for n in result.notes)
    same = evaluate_videos(studio, VideoEvalRequest(str(folders / "a"), str(folders / "a")), output_dir=tmp_path)
    assert abs([r for r in same.rows if r["metric"] == "FVD"][0]["value"]) < 1e-6
    assert [r["subject"] for r in same.rows if r["metric"] == FLICKER] == [f"still{i}.mp4" for i in range(3)]


def test_folders_without_videos_are_refused_by_name(studio, folders, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"The videos folder '.*empty' holds no \.mp4 videos"):
        evaluate_videos(studio, VideoEvalRequest(str(tmp_path / "empty")))
    with pytest.raises(InputError, match=r"The reference videos must be a folder of \.mp4 videos; got '.*nowhere'"):
        evaluate_videos(studio, VideoEvalRequest(str(folders / "a"), str(tmp_path / "nowhere")))
