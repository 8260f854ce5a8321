"""Tests for the feature extractors: stand-in shapes and determinism, weights-file safety, resizing, adapters."""

import math
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from genart_demo.metrics import extractors as ex
from genart_demo.metrics import extractors_tiny as tiny
from genart_demo.metrics import weights
from genart_demo.metrics.base import Extractor

STANDINS = {  # name -> (class, feature dim, logits width or None)
    "fid-inception": (ex.FidInception, 64, 1008),
    "timm-inception": (ex.TimmInception, 96, 1000),
    "dinov2": (ex.DinoV2, 32, None),
    "classifier": (ex.Classifier, 96, 1000),
}


def _images(n: int, h: int = 37, w: int = 53, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, h, w), generator=g, dtype=torch.uint8)  # (n, 3, h, w)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models on a shared 2-core box: OpenMP spin-waiting across 2 threads made calls ~100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def standins() -> dict[str, Extractor]:
    return {name: ex.load_extractor(name, standin=True) for name in STANDINS}


@pytest.mark.parametrize("name", sorted(STANDINS))
def test_standin_shapes_dtypes_and_info(standins, name):
    cls, dim, num_logits = STANDINS[name]
    extractor = standins[name]
    assert isinstance(extractor, cls) and isinstance(extractor, Extractor)
    assert extractor.info.standin and extractor.info.id == f"standin-{name}" and extractor.info.dim == dim
    out = extractor(_images(3))  # odd 37x53 input: the extractor resizes
    assert out["features"].shape == (3, dim) and out["features"].dtype == torch.float32
    assert torch.isfinite(out["features"]).all()
    if num_logits is None:
        assert "logits" not in out
    else:
        assert out["logits"].shape == (3, num_logits) and out["logits"].dtype == torch.float32


@pytest.mark.parametrize("name", sorted(STANDINS))
def test_standin_is_deterministic_and_leaves_global_rng_alone(standins, name):
    images = _images(4)
    torch.manual_seed(1234)  # a different global RNG state, as in another process, must not matter
    torch.rand(7)
    rng_before = torch.get_rng_state()
    again = ex.load_extractor(name, standin=True)
    assert torch.equal(torch.get_rng_state(), rng_before)  # construction did not consume the global RNG
    first, second = standins[name](images), again(images)
    assert all(torch.equal(first[k], second[k]) for k in first)
    other_seed = STANDINS[name][0](standin=True, seed=1)
    assert other_seed.info.id == f"standin-{name}-seed1"
    assert not torch.allclose(other_seed(images)["features"], first["features"])


@pytest.mark.parametrize("name", sorted(STANDINS))
def test_distinct_images_give_distinct_features_and_batches_do_not_mix(standins, name):
    images = _images(4)
    features = standins[name](images)["features"]  # (4, d)
    gaps = torch.cdist(features, features)[~torch.eye(4, dtype=torch.bool)]
    assert gaps.min() > 1e-3 * features.norm(dim=1).mean()
    alone = standins[name](images[2:3])["features"]
    torch.testing.assert_close(alone, features[2:3], rtol=1e-5, atol=1e-6)  # per-image, batch-independent


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.rand(2, 3, 16, 16), "uint8"),
        (torch.zeros(2, 4, 16, 16, dtype=torch.uint8), r"\(B, 3, H, W\); got \(2, 4, 16, 16\)"),
        (torch.zeros(3, 16, 16, dtype=torch.uint8), r"\(B, 3, H, W\); got \(3, 16, 16\)"),
    ],
)
def test_bad_inputs_are_refused_clearly(standins, images, message):
    for extractor in standins.values():
        with pytest.raises(ValueError, match=message):
            extractor(images)


@pytest.mark.parametrize(("crop", "size"), [(False, 32), (True, 32)])
def test_timm_preprocess_matches_torchvision(crop, size):
    """Our tensor resize vs torchvision's uint8 pipeline (Resize [+ CenterCrop]): at most one grey level apart."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as tvf

    pre = ex.Preprocess.from_timm("resnet50.a1_in1k", size=size, crop=crop)
    assert pre.interpolation == "bicubic" and pre.mean == ex.IMAGENET_MEAN
    images = _images(2, 37, 53)
    ours = ex.normalised_input(images, pre)  # (2, 3, 32, 32)
    if crop:
        short = math.floor(size / 0.95)  # 33: timm's eval scale size for crop_pct 0.95
        ref = tvf.center_crop(tvf.resize(images, short, InterpolationMode.BICUBIC, antialias=True), size)
        assert pre.describe().startswith("bicubic (antialiased) shorter side to 33, centre crop 32x32")
    else:
        ref = tvf.resize(images, [size, size], InterpolationMode.BICUBIC, antialias=True)
    std = torch.tensor(pre.std).view(1, 3, 1, 1)
    ours_levels = ours * std * 255 + torch.tensor(pre.mean).view(1, 3, 1, 1) * 255
    assert ours.shape == (2, 3, size, size)
    assert (ours_levels - ref.float()).abs().max() <= 1.0 + 1e-3


def test_timm_inception_follows_its_checkpoint_config():
    pre = ex.Preprocess.from_timm(ex.TimmInception.MODEL)
    # torchvision's inception_v3 folds transform_input into mean = std = 0.5; timm's config says so
    assert (pre.size, pre.interpolation, pre.crop_pct) == (299, "bicubic", None)
    assert pre.mean == pre.std == (0.5, 0.5, 0.5)


# ---------------------------------------------------------------- FID Inception weights


class _Tripwire:
    """Unpickling this object flips a flag: proof a loader ran pickle code."""

    fired = False

    def __setstate__(self, state):
        _Tripwire.fired = True


@pytest.fixture(scope="module")
def random_fid_weights(tmp_path_factory) -> Path:
    return tiny.save_random_fid_inception_weights(tmp_path_factory.mktemp("fid") / "random.pth", seed=0)


def evil_file(tmp_path: Path) -> Path:
    path = tmp_path / "evil.pth"
    torch.save({"fc.weight": torch.zeros(2, 2), "payload": _Tripwire()}, path)
    return path


def test_fid_inception_refuses_a_pickle_that_is_not_weights_only(tmp_path):
    with pytest.raises(ValueError, match=r"not a plain weights file .*Unsupported global: GLOBAL .*_Tripwire"):
        ex.FidInception(weights_path=evil_file(tmp_path))
    assert not _Tripwire.fired
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="not a state dict"):
        weights.verified_weights_file(tmp_path / "list.pth")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ex.FidInception(weights_path=tmp_path / "missing.pth")


def test_fid_inception_loads_a_real_shaped_state_dict(random_fid_weights):
    extractor = ex.FidInception(weights_path=random_fid_weights)
    assert extractor.info.id == "fid-inception-tf2015" and extractor.info.dim == 2048 and not extractor.info.standin
    assert extractor.info.resize == "TF1-exact bilinear to 299x299 (torch-fidelity)"
    out = extractor(_images(2, 37, 53))
    assert out["features"].shape == (2, 2048) and out["logits"].shape == (2, 1008)
    assert out["features"].dtype == torch.float32 and out["features"].std() > 1e-2  # O(1), not denormal
    fc_weight = torch.load(random_fid_weights, weights_only=True)["fc.weight"]  # (1008, 2048)
    # logits are torch-fidelity's "logits_unbiased": pool3 @ W^T, no bias (what IS uses)
    torch.testing.assert_close(out["logits"], out["features"] @ fc_weight.T, rtol=1e-4, atol=1e-4)


def test_fid_weights_come_from_the_setting_then_cache_and_offline_error_says_how(
    random_fid_weights, tmp_path, monkeypatch
):
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    assert weights.FID_WEIGHTS_URL == URL_INCEPTION_V3
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty torch hub cache
    monkeypatch.setenv(weights.FID_WEIGHTS_ENV, str(random_fid_weights))  # read by Settings only, never here
    assert weights.fid_inception_weights_file(random_fid_weights) == random_fid_weights  # Settings.fid_weights
    with pytest.raises(weights.WeightsUnavailableError) as err:
        ex.load_extractor("fid-inception")
    for hint in ("GENART_FID_WEIGHTS", "allow_download=True", "weights_path", weights.FID_WEIGHTS_URL):
        assert hint in str(err.value)
    cached = tmp_path / "hub" / "checkpoints" / weights.FID_WEIGHTS_URL.rsplit("/", 1)[-1]
    cached.parent.mkdir(parents=True)
    os.symlink(random_fid_weights, cached)
    assert weights.fid_inception_weights_file() == cached  # torch-fidelity's own download location counts as local


# ---------------------------------------------------------------- timm weights


def test_timm_real_path_loads_a_local_checkpoint_and_refuses_offline(tmp_path, monkeypatch):
    """The real-weights code path, run with timm's tiny test_resnet checkpoint name and a local random file."""
    import huggingface_hub.constants

    source = tiny.tiny_timm_classifier(seed=3)
    torch.save(source.state_dict(), tmp_path / "test_resnet.pth")
    loaded = ex.Classifier(model_name="test_resnet.r160_in1k", weights_path=tmp_path / "test_resnet.pth")
    assert not _Tripwire.fired
    assert loaded.info.id == "classifier-test_resnet.r160_in1k" and not loaded.info.standin
    assert loaded.preprocess.size == 160 and loaded.preprocess.crop_pct == 0.95  # its own config
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(loaded.model(x), source(x), rtol=0, atol=0)
    assert loaded(_images(2))["logits"].shape == (2, 1000)

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(weights.WeightsUnavailableError, match="allow_download=True"):
        ex.Classifier(model_name="test_resnet.r160_in1k")
    with pytest.raises(ValueError, match="not a plain weights file"):
        ex.Classifier(model_name="test_resnet.r160_in1k", weights_path=evil_file(tmp_path))
    with pytest.raises(ValueError, match="unknown timm checkpoint"):
        ex.Classifier(model_name="resnet50")  # untagged: ambiguous, refused
    with pytest.raises(ValueError, match="unknown extractor 'nope'"):
        ex.load_extractor("nope")


# ---------------------------------------------------------------- DINOv2


def _hub_style_pos_embed(pos_embed: torch.Tensor, h: int, w: int, patch: int) -> torch.Tensor:
    """facebookresearch/dinov2 interpolate_pos_encoding, transcribed (reference)."""
    n = pos_embed.shape[1] - 1
    dim = pos_embed.shape[-1]
    w0, h0 = w // patch + 0.1, h // patch + 0.1
    patch_pos = F.interpolate(
        pos_embed[:, 1:].reshape(1, int(math.sqrt(n)), int(math.sqrt(n)), dim).permute(0, 3, 1, 2),
        scale_factor=(float(w0 / math.sqrt(n)), float(h0 / math.sqrt(n))),
        mode="bicubic",
    )
    return torch.cat((pos_embed[:, :1], patch_pos.permute(0, 2, 3, 1).view(1, -1, dim)), dim=1)


def test_dinov2_pos_embed_follows_the_hub_model_not_timms_resample():
    from timm.layers import resample_abs_pos_embed

    pos = torch.randn(1, 1 + 37 * 37, 8, generator=torch.Generator().manual_seed(0))  # ViT-L/14 at 518: 37x37
    ours = tiny.dinov2_pos_embed(pos, 37, 16)  # -> 224x224: 16x16
    torch.testing.assert_close(ours, _hub_style_pos_embed(pos, 224, 224, 14), rtol=0, atol=0)
    timm_way = resample_abs_pos_embed(pos, new_size=(16, 16), num_prefix_tokens=1)
    assert (ours - timm_way).abs().max() > 0.1  # the two conventions really differ (antialias, +0.1 offset)


def test_dinov2_standin_is_the_cls_token_at_its_resized_grid(standins):
    dino = standins["dinov2"]
    built = tiny.tiny_dinov2(seed=0)  # 70x70, 5x5 grid
    assert dino.model.patch_embed.grid_size == (4, 4) and dino.preprocess.size == 56
    torch.testing.assert_close(dino.model.pos_embed, tiny.dinov2_pos_embed(built.pos_embed, 5, 4), rtol=0, atol=0)
    images = _images(2)
    x = ex.normalised_input(images, dino.preprocess)
    cls_token = dino.model.forward_features(x)[:, 0]  # final-norm CLS = DINOv2's x_norm_clstoken
    torch.testing.assert_close(dino(images)["features"], cls_token, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- nn.Module adapter


def _frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Reference FID in float64: tr sqrt(S_a S_b) = sum sqrt(eig(R S_b R)), R = S_a^(1/2) (stable when singular)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    lam, vec = scipy.linalg.eigh(cov_a)
    root_a = (vec * np.sqrt(lam.clip(min=0))) @ vec.T
    trace_root = np.sqrt(scipy.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def test_feature_module_matches_extractor_and_drives_torchmetrics_fid(standins):
    from torchmetrics.image.fid import FrechetInceptionDistance

    extractor = standins["fid-inception"]
    module = ex.as_feature_module(extractor)
    assert isinstance(module, torch.nn.Module) and module.num_features == 64
    assert ex.as_feature_module(extractor, key="logits").num_features == 1008
    with pytest.raises(ValueError, match="not 'nope'"):
        ex.as_feature_module(extractor, key="nope")
    real, fake = _images(96, 32, 32, seed=1), _images(96, 40, 24, seed=2) // 2  # n > d = 64
    assert torch.equal(module(real), extractor(real)["features"])

    fid = FrechetInceptionDistance(feature=module)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    assert fid.real_features_sum.shape == (64,)  # took num_features, no probing
    expected = _frechet_distance(*(extractor(x)["features"].double().numpy() for x in (real, fake)))
    assert expected > 0
    assert float(fid.compute()) == pytest.approx(expected, rel=1e-4)
