"""CMMD against an independent transcription of the reference formula (google-research cmmd/distance.py)."""

import json

import numpy as np
import pytest
import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub.file_download import repo_folder_name

from genart_demo.hubfacts import repo_facts
from genart_demo.metrics import cmmd as cmmd_module
from genart_demo.metrics.cmmd import CMMD_CLIP, cmmd, cmmd_extractor, gaussian_kernel_mean
from genart_demo.mirror import snapshot_commit, snapshot_files, write_snapshot
from genart_demo.mirror_tokenizers import vocabulary_file


def reference_cmmd(x: np.ndarray, y: np.ndarray, sigma: float = 10.0, scale: float = 1000.0) -> float:
    """The reference's mmd() in plain numpy: squared norms from diag(x xᵀ), full means of the three kernels."""
    x_sq, y_sq = np.diag(x @ x.T), np.diag(y @ y.T)
    gamma = 1 / (2 * sigma**2)
    k_xx = np.mean(np.exp(-gamma * (-2 * x @ x.T + x_sq[:, None] + x_sq[None, :])))
    k_xy = np.mean(np.exp(-gamma * (-2 * x @ y.T + x_sq[:, None] + y_sq[None, :])))
    k_yy = np.mean(np.exp(-gamma * (-2 * y @ y.T + y_sq[:, None] + y_sq[None, :])))
    return scale * (k_xx + k_yy - 2 * k_xy)


def unit_rows(rng, n, d=32, shift=0.0):
    x = rng.standard_normal((n, d)) + shift
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_cmmd_of_a_set_with_itself_is_zero():
    x = unit_rows(np.random.default_rng(0), 50)
    assert abs(cmmd(x, x)) < 1e-6
    assert abs(cmmd(torch.from_numpy(x).float(), torch.from_numpy(x).float())) < 1e-6


def test_cmmd_matches_the_reference_formula_on_shared_features():
    rng = np.random.default_rng(1)
    x, y = unit_rows(rng, 40), unit_rows(rng, 25, shift=0.3)  # different sizes: the reference allows them
    expected = reference_cmmd(x, y)
    assert expected > 0.5
    assert cmmd(x, y) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    # un-normalised features too: the function does not normalise, as the reference's mmd() does not
    a, b = rng.standard_normal((30, 8)) * 3, rng.standard_normal((20, 8)) * 3 + 1
    assert cmmd(a, b) == pytest.approx(reference_cmmd(a, b), rel=1e-10)
    assert cmmd(a, b, sigma=2.0, scale=1.0) == pytest.approx(reference_cmmd(a, b, 2.0, 1.0), rel=1e-10)


def test_cmmd_includes_the_diagonal_unlike_kid():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 3)) * 20, rng.standard_normal((4, 3)) * 20
    k = np.exp(-((x[:, None] - x[None]) ** 2).sum(-1) / 200)
    assert gaussian_kernel_mean(x, x) == pytest.approx(k.mean(), rel=1e-12)
    assert gaussian_kernel_mean(x, x) != pytest.approx((k.sum() - np.trace(k)) / 12, rel=1e-3)
    assert cmmd(x, y) > 0  # the biased estimator never goes negative


def test_cmmd_is_symmetric_and_grows_with_the_shift():
    rng = np.random.default_rng(3)
    x = unit_rows(rng, 60)
    near, far = unit_rows(rng, 60, shift=0.2), unit_rows(rng, 60, shift=1.0)
    assert cmmd(x, near) == pytest.approx(cmmd(near, x), rel=1e-12)
    assert 0 < cmmd(x, near) < cmmd(x, far)


def test_cmmd_of_one_point_sets_has_a_closed_form():
    x, y = np.array([[0.0, 0.0, 3.0]]), np.array([[4.0, 0.0, 0.0]])  # ‖x - y‖² = 25
    k = np.exp(-25 / (2 * 10.0**2))
    assert cmmd(x, y) == pytest.approx(1000 * (2 - 2 * k), rel=1e-12)
    assert cmmd(x, y, sigma=5.0, scale=1.0) == pytest.approx(2 - 2 * np.exp(-25 / 50), rel=1e-12)


def test_blocked_kernel_mean_equals_the_whole_matrix(monkeypatch):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((37, 5)), rng.standard_normal((11, 5))
    whole = gaussian_kernel_mean(x, y, 3.0)
    monkeypatch.setattr(cmmd_module, "GRAM_BUDGET", 30)  # 2 rows of y per block
    assert gaussian_kernel_mean(x, y, 3.0) == pytest.approx(whole, rel=1e-12)


@pytest.mark.parametrize(
    ("x", "y", "sigma", "message"),
    [
        (np.zeros((3, 4)), np.zeros((3, 5)), 10.0, "different widths: 4 and 5"),
        (np.zeros((0, 4)), np.zeros((3, 4)), 10.0, "at least 1 vector in each set; got 0 and 3"),
        (np.zeros((3, 4)), np.zeros((3, 4)), 0.0, "sigma must be positive; got 0.0"),
        (np.zeros(4), np.zeros((3, 4)), 10.0, "x must be a (n, d) matrix"),
    ],
)
def test_cmmd_refuses_bad_input_saying_what_was_wrong(x, y, sigma, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cmmd(x, y, sigma=sigma)


def test_cmmd_defaults_are_the_references():
    assert CMMD_CLIP == "openai/clip-vit-large-patch14-336"
    assert (cmmd_module.CMMD_SIGMA, cmmd_module.CMMD_SCALE) == (10.0, 1000.0)


def test_standin_extractor_gives_unit_norm_features_and_zero_cmmd_for_the_same_images():
    extractor = cmmd_extractor(standin=True)
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    feats = extractor(images)["features"]
    assert feats.shape[0] == 3
    np.testing.assert_allclose(feats.norm(dim=1).numpy(), 1.0, atol=1e-5)
    assert abs(cmmd(feats, extractor(images)["features"])) < 1e-6
    assert extractor.info.standin


def test_the_default_clip_loads_by_its_real_id_from_a_mirrored_cache(tmp_path, monkeypatch):
    facts = repo_facts(CMMD_CLIP)
    files = snapshot_files(facts)
    files.update({name: vocabulary_file("clip", name) for name in ("vocab.json", "merges.txt")})  # tiny, valid
    repo_dir = tmp_path / repo_folder_name(repo_id=CMMD_CLIP, repo_type="model")
    write_snapshot(repo_dir, "main", snapshot_commit(facts), files)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))  # read at import; the env alone is too late
    extractor = cmmd_extractor(local_files_only=True)
    info = extractor.info
    assert info.id == "clip-openai-clip-vit-large-patch14-336" and not info.standin
    assert "shortest side 336 + centre crop 336x336" in info.resize  # the 336 px preprocessing, not 224
    assert info.dim == json.loads(files["config.json"])["projection_dim"]  # the mirror's shrunk CLIP
    images = torch.randint(0, 256, (3, 3, 40, 52), dtype=torch.uint8)
    feats = extractor(images)["features"]
    assert feats.shape == (3, info.dim)
    np.testing.assert_allclose(feats.norm(dim=1).numpy(), 1.0, atol=1e-5)
    assert abs(cmmd(feats, feats)) < 1e-6 and cmmd(feats[:2], feats[1:]) > 0
