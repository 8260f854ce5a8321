"""Video metrics: closed forms (still video, black/white alternation, linear ramp, known cosines), VBench's subject
consistency written out, FVD equal to the Fréchet formula on the stand-in VideoMAE's features, and its shapes."""

import math

import numpy as np
import pytest
import torch

from genart_demo.metrics.clip import ClipImageExtractor, tiny_clip
from genart_demo.metrics.extractors import DinoV2
from genart_demo.metrics.frechet import frechet_distance_features
from genart_demo.metrics.video import (
    VideoExtractor,
    consecutive_consistency,
    frame_features,
    frames_from_hwc,
    fvd,
    motion_smoothness,
    subject_consistency,
    temporal_flicker,
    video_features,
)
from genart_demo.metrics.video_extractors import TINY_VIDEOMAE, load_video_extractor, sampled_indices, tiny_videomae


def _noise_video(t=6, h=24, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (t, 3, h, w), dtype=torch.uint8, generator=g)


def _constant(t=5):
    return _noise_video(1).expand(t, -1, -1, -1).contiguous()


# --- pixel metrics -------------------------------------------------------------------------------------------------


def test_a_still_video_has_flicker_and_smoothness_one():
    assert temporal_flicker(_constant()) == 1.0
    assert motion_smoothness(_constant()) == 1.0


def test_alternating_black_and_white_frames_flicker_zero():
    video = torch.zeros(6, 3, 8, 8, dtype=torch.uint8)
    video[1::2] = 255
    assert temporal_flicker(video) == 0.0


def test_flicker_is_vbench_formula_on_a_known_difference():
    video = torch.zeros(3, 3, 4, 4, dtype=torch.uint8)
    video[1] = 51  # |diffs| 51 then 51: mean 51 -> (255 - 51)/255 = 0.8
    assert temporal_flicker(video) == pytest.approx(0.8, abs=1e-12)


def test_a_linear_brightness_ramp_is_perfectly_smooth_and_a_jump_is_not():
    ramp = torch.stack([torch.full((3, 8, 8), 10 * t, dtype=torch.uint8) for t in range(9)])
    assert motion_smoothness(ramp) == 1.0
    assert temporal_flicker(ramp) == pytest.approx((255 - 10) / 255)
    jerky = ramp.clone()
    jerky[3] = 0  # the odd frame 3 is predicted by (20 + 40) / 2 = 30, off by 30; frames 1, 5, 7 exact
    assert motion_smoothness(jerky) == pytest.approx((255 - 30 / 4) / 255)


def test_smoothness_takes_another_interpolator_and_needs_three_frames():
    ramp = torch.stack([torch.full((3, 4, 4), 10 * t, dtype=torch.uint8) for t in range(5)])
    assert motion_smoothness(ramp, interpolate=lambda a, b: a) == pytest.approx((255 - 10) / 255)  # "copy previous"
    with pytest.raises(ValueError, match="at least 3 frames; got 2"):
        motion_smoothness(ramp[:2])
    with pytest.raises(ValueError, match=r"uint8 frames shaped \(T, 3, H, W\); got \(5, 4, 4\)"):
        temporal_flicker(ramp[:, 0])
    with pytest.raises(ValueError, match="dtype torch.float32"):
        temporal_flicker(ramp.float())


def test_frames_from_hwc_matches_the_video_task_layout():
    hwc = np.zeros((2, 5, 7, 3), dtype=np.uint8)
    hwc[1, 2, 3] = (1, 2, 3)
    chw = frames_from_hwc(hwc)
    assert chw.shape == (2, 3, 5, 7) and chw[1, :, 2, 3].tolist() == [1, 2, 3]


# --- feature consistency -------------------------------------------------------------------------------------------


def test_consistency_formulas_on_known_cosines():
    f = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 3.0]])  # consecutive cosines 1/√2, 1/√2; with frame 0: 1/√2, 0
    assert consecutive_consistency(f) == pytest.approx(1 / math.sqrt(2))
    # VBench: frame 1 (1/√2 + 1/√2)/2, frame 2 (1/√2 + 0)/2, mean over the 2 frames
    assert subject_consistency(f) == pytest.approx((1 / math.sqrt(2) + 1 / (2 * math.sqrt(2))) / 2)
    opposite = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])  # VBench clamps negative cosines at 0
    assert subject_consistency(opposite) == 0.0 and consecutive_consistency(opposite) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match=r"T >= 2; got \(1, 2\)"):
        consecutive_consistency(f[:1])


@pytest.mark.parametrize("extractor", ["clip", "dinov2"])
def test_a_still_video_is_fully_consistent_on_clip_and_dino_stand_ins(extractor):
    ex = ClipImageExtractor(tiny_clip(seed=0)) if extractor == "clip" else DinoV2(standin=True)
    feats = frame_features(_constant(4), ex, batch_size=3)  # two calls: batching keeps every row
    assert feats.shape == (4, ex.info.dim)
    assert consecutive_consistency(feats) == pytest.approx(1.0, abs=1e-5)
    assert subject_consistency(feats) == pytest.approx(1.0, abs=1e-5)
    assert consecutive_consistency(frame_features(_noise_video(4), ex)) < 1 - 1e-4


# --- FVD -----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def videomae():
    return tiny_videomae(seed=0)


def test_the_stand_in_video_extractor_shapes(videomae):
    assert isinstance(videomae, VideoExtractor) and videomae.info.standin and videomae.info.dim == 32
    out = videomae(torch.stack([_noise_video(7, 40, 48, s) for s in range(3)]))
    assert out["features"].shape == (3, TINY_VIDEOMAE["hidden_size"]) and out["features"].dtype == torch.float32
    assert sampled_indices(7, 4).tolist() == [0, 2, 4, 6] and sampled_indices(2, 4).tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match=r"\(B, T, 3, H, W\); got \(7, 3, 40, 48\)"):
        videomae(_noise_video(7, 40, 48))


def test_fvd_of_a_set_with_itself_is_zero_and_equals_the_frechet_formula(videomae):
    a = [_noise_video(5, 32, 40, s) for s in range(6)]
    b = [_noise_video(3, 24, 24, 100 + s) // 2 for s in range(6)]  # other lengths and sizes, darker
    assert abs(fvd(a, a, videomae)) < 1e-6
    fa, fb = video_features(a, videomae), video_features(b, videomae)
    assert fa.shape == (6, 32) and fa.dtype == np.float64
    assert fvd(a, b, videomae) == pytest.approx(frechet_distance_features(fa, fb), rel=1e-9)
    assert fvd(a, b, videomae) > 0
    with pytest.raises(ValueError, match="at least 2 videos; got 1"):
        fvd(a[:1], b, videomae)


def test_a_saved_videomae_folder_loads_through_the_real_loader(videomae, tmp_path):
    """The real path (from_pretrained of the model class and its image processor, offline) gives the same features."""
    videomae.model.save_pretrained(tmp_path)
    videomae.processor.save_pretrained(tmp_path)
    loaded = load_video_extractor(str(tmp_path), local_files_only=True)
    assert not loaded.info.standin and loaded.info.dim == 32 and loaded.info.id.startswith("fvd-")
    assert "I3D" in loaded.info.name and "centre crop 32x32" in loaded.info.resize
    clip = torch.stack([_noise_video(6, 40, 48, 3)])
    torch.testing.assert_close(loaded(clip)["features"], videomae(clip)["features"])
