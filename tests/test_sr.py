"""GAN upscalers: the RRDBNet stand-in is detected by spandrel, upscales x4, and unsafe or foreign files are refused."""

import pytest
import torch

from genart_demo import sr


class NotATensor:
    """Any class instance inside a pickle; weights_only loading must refuse it."""

    def __init__(self) -> None:
        self.payload = "would run on unpickle with weights_only=False"


@pytest.fixture(scope="module")
def standin(cache_dir):
    return sr.ensure_sr_standin(cache_dir)


def test_standin_detected_as_esrgan_x4(standin, cache_dir):
    import spandrel

    assert standin == cache_dir / "standins" / "RRDBNet-x4-v1.safetensors"
    assert sr.ensure_sr_standin(cache_dir) == standin  # reused
    desc = sr.load_sr_file(standin)
    assert isinstance(desc, spandrel.ImageModelDescriptor)
    assert desc.architecture.id == "ESRGAN" and desc.scale == 4
    assert desc.tags == ["8nf", "1nb"] and desc.input_channels == 3 and desc.output_channels == 3
    assert not desc.model.training and desc.device.type == "cpu"


def test_upscale_shape_and_range(standin):
    desc = sr.load_sr_file(standin)
    x = torch.rand(1, 3, 13, 21)
    y = sr.upscale_tensor(desc, x)
    assert y.shape == (1, 3, 52, 84) and y.dtype == torch.float32
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert torch.equal(y, sr.upscale_tensor(desc, x))  # deterministic
    with pytest.raises(ValueError, match=r"\(1, C, H, W\)"):
        sr.upscale_tensor(desc, torch.rand(3, 13, 21))


def test_pth_and_wrapped_checkpoints_load(tmp_path):
    state = sr.build_sr_standin().state_dict()
    torch.save(state, tmp_path / "plain.pth")
    torch.save({"params_ema": state}, tmp_path / "realesrgan_style.pth")  # Real-ESRGAN's wrapper key
    for name in ("plain.pth", "realesrgan_style.pth"):
        assert sr.load_sr_file(tmp_path / name).scale == 4
    torch.save(sr.build_sr_standin(scale=2).state_dict(), tmp_path / "x2.pt")
    assert sr.load_sr_file(tmp_path / "x2.pt").scale == 2


def test_pickle_with_object_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model.0.weight": torch.zeros(1), "extra": NotATensor()}, path)
    with pytest.raises(ValueError, match=r"refused.*weights_only=True.*NotATensor") as info:
        sr.load_sr_file(path)
    assert "Unsupported global" in str(info.value)


def test_non_image_model_refused(tmp_path):
    path = tmp_path / "classifier.safetensors"
    from safetensors.torch import save_file

    save_file({"encoder.weight": torch.zeros(4, 4), "head.bias": torch.zeros(4)}, str(path))
    with pytest.raises(ValueError, match="classifier.safetensors: not an image model architecture spandrel knows"):
        sr.load_sr_file(path)


def test_masked_model_refused(standin, monkeypatch):
    """An inpainting model (MaskedImageModelDescriptor) is not an upscaler."""
    import spandrel

    real = sr.load_sr_file(standin)
    masked = spandrel.MaskedImageModelDescriptor(
        real.model,
        real.model.state_dict(),
        architecture=real.architecture,
        purpose="Inpainting",
        tags=[],
        supports_half=True,
        supports_bfloat16=True,
        input_channels=3,
        output_channels=3,
    )
    monkeypatch.setattr(spandrel.ModelLoader, "load_from_state_dict", lambda self, sd: masked)
    with pytest.raises(ValueError, match="MaskedImageModelDescriptor.*only single-image"):
        sr.load_sr_file(standin)


def test_bad_suffix_refused(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\0")
    with pytest.raises(ValueError, match="unsupported file type .onnx"):
        sr.load_sr_file(path)


def test_hub_loader_offline(monkeypatch, standin):
    """load_sr_model goes through hf_hub_download with repo/filename/revision/token, then load_sr_file."""
    import huggingface_hub

    calls = []

    def fake_download(repo, filename, revision=None, token=None):
        calls.append((repo, filename, revision, token))
        return str(standin)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    desc = sr.load_sr_model("someone/upscaler", "RRDBNet-x4.safetensors", revision="abc123", token="t")
    assert calls == [("someone/upscaler", "RRDBNet-x4.safetensors", "abc123", "t")] and desc.scale == 4
