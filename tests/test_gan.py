"""GAN translators: tiny stand-ins save/reload through from_pretrained, keep sizes and ranges, load strictly."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from genart_demo import gan


def _image(w: int, h: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.RandomState(seed).randint(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.parametrize("name", sorted(gan.GAN_CLASSES))
def test_standin_roundtrip_identical(name, cache_dir):
    path = gan.ensure_gan_standin(name, cache_dir)
    assert path == cache_dir / "standins" / f"{name}-v1"
    assert (path / "model.safetensors").is_file() and (path / "config.json").is_file()
    assert not (path / "pytorch_model.bin").exists()
    config = json.loads((path / "config.json").read_text())
    assert config == {**gan.STANDIN_CONFIGS[name], "use_dropout": False}

    before = gan.build_gan_standin(name)
    after = gan.GAN_CLASSES[name].from_pretrained(path)
    assert type(after) is gan.GAN_CLASSES[name] and not after.training
    x = gan.pil_to_tensor(_image(64, 96))  # (1, 3, 96, 64)
    with torch.inference_mode():
        a, b = before(x), after(x)
    assert a.shape == b.shape == (1, 3, 96, 64)
    assert torch.equal(a, b)
    assert float(a.min()) >= -1.0 and float(a.max()) <= 1.0 and float(a.std()) > 0.01

    img = gan.translate_image(after, _image(64, 96))
    assert img.mode == "RGB" and img.size == (64, 96)
    assert np.array_equal(np.asarray(img), np.asarray(gan.translate_image(before, _image(64, 96))))


def test_ensure_reuses_folder(cache_dir):
    first = gan.ensure_gan_standin("CycleGANResnetGenerator", cache_dir)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert gan.ensure_gan_standin("CycleGANResnetGenerator", cache_dir) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in first.parent.iterdir() if p.name.endswith(".tmp")]


def test_seeded_and_configurable():
    a, b = gan.build_gan_standin("Pix2PixUNetGenerator", seed=1), gan.build_gan_standin("Pix2PixUNetGenerator", seed=1)
    c = gan.build_gan_standin("Pix2PixUNetGenerator", seed=2)
    wa, wc = a.state_dict(), c.state_dict()
    assert all(torch.equal(wa[k], v) for k, v in b.state_dict().items())
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)
    six = gan.build_gan_standin("CycleGANResnetGenerator", n_blocks=6)
    assert sum(isinstance(m, gan.ResnetBlock) for m in six.modules()) == 6


def test_reference_layout_keys():
    """Same module tree as junyanz's UnetGenerator / ResnetGenerator, so their checkpoints' keys match."""
    unet = gan.Pix2PixUNetGenerator(num_downs=8, ngf=64)  # unet_256
    keys = unet.state_dict().keys()
    assert "model.model.0.weight" in keys and "model.model.3.weight" in keys  # outermost down / up conv
    assert "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.1.weight" in keys  # innermost
    assert sum(p.numel() for p in unet.parameters()) == 54_413_955  # the reference prints 54.414 M
    res = gan.CycleGANResnetGenerator(ngf=64, n_blocks=9)  # resnet_9blocks
    assert sum(p.numel() for p in res.parameters()) == 11_378_179  # the reference prints 11.378 M
    assert "model.10.conv_block.1.weight" in res.state_dict()


def test_size_rules():
    unet = gan.build_gan_standin("Pix2PixUNetGenerator")  # num_downs=5
    with pytest.raises(ValueError, match="multiples of 32"):
        gan.translate_image(unet, _image(48, 64))
    res = gan.build_gan_standin("CycleGANResnetGenerator")
    assert gan.translate_image(res, _image(36, 20)).size == (36, 20)
    with pytest.raises(ValueError, match="multiples of 4"):
        gan.translate_image(res, _image(37, 20))
    with pytest.raises(ValueError, match="allowed values are batch, instance"):
        gan.Pix2PixUNetGenerator(norm="group")
    with pytest.raises(ValueError, match="allowed values"):
        gan.build_gan_standin("StyleGAN")


def test_strict_load_refuses_other_layout(cache_dir):
    path = gan.ensure_gan_standin("Pix2PixUNetGenerator", cache_dir)
    with pytest.raises(RuntimeError, match="Missing key"):
        gan.CycleGANResnetGenerator.from_pretrained(path)


def test_grayscale_io():
    model = gan.build_gan_standin("CycleGANResnetGenerator", input_nc=1, output_nc=1)
    out = gan.translate_image(model, _image(32, 32).convert("L"))
    assert out.mode == "RGB" and out.size == (32, 32)
