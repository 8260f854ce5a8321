"""LPIPS against torchmetrics' implementation with the same random backbone and the same packaged linear heads."""

import pytest
import torch
from torchmetrics.functional.image.lpips import _NoTrainLpips

from genart_demo.metrics.base import ExtractorInfo
from genart_demo.metrics.lpips import LPIPS, cached_backbone_path, load_lpips, lpips, packaged_heads_path


@pytest.fixture(scope="module")
def alex():
    return load_lpips("alex", standin=True, seed=0)


def _images(shape=(2, 3, 40, 36), noise=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g) * 2 - 1  # [-1, 1]
    y = (x + noise * torch.randn(shape, generator=g)).clamp(-1, 1)
    return x, y


def _torchmetrics_twin(model: LPIPS) -> torch.nn.Module:
    """torchmetrics' LPIPS (packaged heads, pnet_rand so nothing is downloaded) with our backbone's weights."""
    ref = _NoTrainLpips(pretrained=True, net=model.net, pnet_rand=True)
    ours = model.features.state_dict()  # keys "<feature index>.<param>"
    # torchmetrics splits the same torchvision layers into slices: "slice1.0.weight" (alex/vgg),
    # "slices.0.0.weight" (squeeze); the part after the slice is the torchvision feature index
    mapped = {
        k: ours[k.split(".", 2)[2] if k.startswith("slices.") else k.split(".", 1)[1]] for k in ref.net.state_dict()
    }
    ref.net.load_state_dict(mapped)
    return ref


@pytest.mark.parametrize("net", ["squeeze", "alex"])  # squeeze first: after an AlexNet pass, oneDNN runs it ~8x slower
def test_matches_torchmetrics_lpips(net, alex):
    model = alex if net == "alex" else load_lpips(net, standin=True, seed=1)
    ref = _torchmetrics_twin(model)
    x, y = _images()
    ours = lpips(x, y, model)
    with torch.no_grad():
        theirs = ref(x, y).flatten()
    assert ours.shape == (2,)
    assert (ours > 0).all()
    # same float32 operations in the same order: measured difference 0; 1e-6 allows for other BLAS builds
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)
    # [0, 1] inputs with normalize=True are the same as mapping them to [-1, 1] by hand
    with torch.no_grad():
        theirs01 = ref((x + 1) / 2, (y + 1) / 2, normalize=True).flatten()
    assert torch.allclose(lpips((x + 1) / 2, (y + 1) / 2, model, normalize=True), theirs01, atol=1e-6, rtol=0)


def test_identical_images_give_zero_and_distance_grows_with_noise(alex):
    x, _ = _images(seed=2)
    assert torch.equal(lpips(x, x, alex), torch.zeros(2))
    small = lpips(x, _images(noise=0.05, seed=2)[1], alex)
    large = lpips(x, _images(noise=0.5, seed=2)[1], alex)
    assert (small < large).all()


def test_uses_the_packaged_heads_and_describes_itself(alex):
    state = torch.load(packaged_heads_path("alex"), map_location="cpu", weights_only=True)
    assert torch.equal(alex.heads[2].weight, state["lin2.model.1.weight"])
    assert isinstance(alex.info, ExtractorInfo) and alex.info.standin
    assert "stand-in" in alex.info.name and alex.weights_source == "random stand-in, seed 0"
    again = load_lpips("alex", standin=True, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(alex.parameters(), again.parameters()))  # seeded
    assert not any(p.requires_grad for p in alex.parameters())


def test_loads_a_local_torchvision_state_dict(tmp_path, monkeypatch):
    donor = load_lpips("alex", standin=True, seed=5)
    full = {f"features.{k}": v for k, v in donor.features.state_dict().items()}
    full["classifier.1.weight"] = torch.zeros(2, 2)  # a whole-model file also carries the classifier
    path = tmp_path / "alexnet-local.pth"
    torch.save(full, path)
    model = load_lpips("alex", weights_path=path)
    assert not model.info.standin and model.weights_source == str(path)
    x, y = _images(seed=3)
    assert torch.equal(lpips(x, y, model), lpips(x, y, donor))
    # without a file, a cache entry or permission to download, it says what to do instead of downloading
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert cached_backbone_path("alex") == tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    with pytest.raises(FileNotFoundError, match="allow_download=True, or standin=True"):
        load_lpips("alex")
    with pytest.raises(ValueError, match="lacks"):
        bad = tmp_path / "bad.pth"
        torch.save({"features.0.weight": torch.zeros(1)}, bad)
        load_lpips("alex", weights_path=bad)


def test_refuses_wrong_ranges_and_shapes(alex):
    x, y = _images()
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\].*normalize=True"):
        lpips(x * 255, y, alex)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        lpips(x, y, alex, normalize=True)  # [-1, 1] data declared as [0, 1]
    with pytest.raises(ValueError, match="must lie in"):
        lpips(torch.full_like(x, float("nan")), y, alex)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        lpips(x[:, :1], y[:, :1], alex)
    with pytest.raises(ValueError, match="one shape"):
        lpips(x, y[:1], alex)
    with pytest.raises(ValueError, match="at least 31x31"):
        lpips(x[..., :30, :30], y[..., :30, :30], alex)
    with pytest.raises(ValueError, match="float images"):
        lpips((x > 0).to(torch.uint8), (y > 0).to(torch.uint8), alex)
    with pytest.raises(ValueError, match="allowed: alex, vgg, squeeze"):
        load_lpips("resnet", standin=True)
