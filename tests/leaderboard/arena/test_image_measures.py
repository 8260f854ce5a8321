"""Per-image measures a vote may follow apart from the model, on synthetic images with known values."""

import math
import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from genart_demo.media import save_png
from genart_demo.tasks.generate import GenerateSettings
from leaderboard.arena.image_measures import (
    GENERATION_TIME,
    generation_seconds,
    measure_file,
    measure_image,
    record_seconds,
    side_measures,
    timing_file,
    usable_covariates,
    vote_covariates,
)


def test_known_values_on_synthetic_images():
    grey = measure_image(Image.new("RGB", (16, 16), (128, 128, 128)))
    assert grey == pytest.approx({"brightness": 128 / 255, "contrast": 0.0, "saturation": 0.0})
    board = np.indices((8, 8)).sum(axis=0) % 2 * 255  # black-and-white checkerboard: half the pixels each
    checks = measure_image(Image.fromarray(board.astype(np.uint8)).convert("RGB"))
    assert checks == pytest.approx({"brightness": 0.5, "contrast": 0.5, "saturation": 0.0})
    red = measure_image(Image.new("RGB", (4, 4), (255, 0, 0)))
    assert red == pytest.approx({"brightness": 76 / 255, "contrast": 0.0, "saturation": 1.0})  # ITU-R 601 luma
    half = measure_image(Image.new("RGB", (4, 4), (200, 100, 100)))
    assert half["saturation"] == pytest.approx(0.5, abs=1 / 255)  # HSV: (max - min) / max


def test_files_are_measured_once_and_again_when_rewritten(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (4, 4), (0, 0, 0)).save(path)
    assert measure_file(path)["brightness"] == 0.0 and measure_file(path)[GENERATION_TIME] is None
    Image.new("RGB", (4, 4), (255, 255, 255)).save(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert measure_file(path)["brightness"] == 1.0
    missing = measure_file(tmp_path / "nowhere.png")
    assert math.isnan(missing["brightness"]) and missing[GENERATION_TIME] is None


def test_generation_time_comes_from_the_png_settings(tmp_path):
    timed = save_png(
        Image.new("RGB", (4, 4)), tmp_path / "t.png", GenerateSettings(model="sd15", extra={"seconds": 2.5})
    )
    untimed = save_png(Image.new("RGB", (4, 4)), tmp_path / "u.png", GenerateSettings(model="sd15"))
    assert measure_file(timed)[GENERATION_TIME] == 2.5 and measure_file(untimed)[GENERATION_TIME] is None
    assert side_measures([timed, untimed])[GENERATION_TIME] == 2.5  # the mean over the images that say


def test_votes_get_both_sides_measures_and_an_unknown_one_is_skipped(tmp_path):
    Image.new("RGB", (4, 4), (255, 255, 255)).save(tmp_path / "white.png")
    Image.new("RGB", (4, 4), (0, 0, 0)).save(tmp_path / "black.png")
    votes = pd.DataFrame(
        {"model_a": ["m1", "m2"], "model_b": ["m2", "m1"], "outcome": ["a", "b"], "battle_id": ["b1", "b2"]}
    )
    outputs = {"b1": (("white.png",), ("black.png",)), "b2": (("black.png",), ("white.png",))}
    measured = vote_covariates(votes, outputs, lambda rels: [tmp_path / r for r in rels])
    assert measured["brightness_a"].tolist() == [1.0, 0.0] and measured["brightness_b"].tolist() == [0.0, 1.0]
    assert measured[f"{GENERATION_TIME}_a"].isna().all()
    assert usable_covariates(measured) == ["brightness"]  # no PNG says its time; contrast, saturation are all 0


def test_a_timing_file_beside_any_output_gives_its_generation_time(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded")
    record_seconds(video, 3.25)
    assert timing_file(video).name == "clip.mp4.seconds" and generation_seconds(video) == 3.25
    png = save_png(Image.new("RGB", (4, 4)), tmp_path / "t.png", GenerateSettings(model="sd15", extra={"seconds": 9}))
    record_seconds(png, 1.5)
    assert measure_file(png)[GENERATION_TIME] == 1.5  # the arena's own measurement wins over the PNG's
