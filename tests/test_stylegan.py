"""The StyleGAN sampler: stand-in shapes, truncation psi (0 = the w_avg image for every seed, 1 = plain sampling),
seeds, strict loading of the real layout, and the generate task's PNGs remade from their settings."""

import json

import numpy as np
import pytest
import safetensors.torch
import torch

from genart_demo import gan
from genart_demo.errors import InputError
from genart_demo.loading import LoadError
from genart_demo.media import read_png_settings
from genart_demo.registry import Registry
from genart_demo.stylegan_nets import StyleGANGenerator
from genart_demo.tasks.common import generators, pipeline_params
from genart_demo.tasks.generate import GenerateRequest, generate, request_from_settings

MODEL_ID = "stylegan-ffhq-128"


@pytest.fixture(scope="module")
def standin():
    return gan.build_gan_standin("StyleGANGenerator")


def _close(a, b) -> bool:
    """Equal up to one level: a batch of 2 and of 1 may round a convolution apart."""
    return int(np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int)).max()) <= 1


def _pixels(output):
    return [np.asarray(img) for img in output.images]


def test_the_real_layout_has_the_checkpoints_keys_and_size():
    """hajar001/stylegan2-ffhq-128's StyleGAN(): 109 tensors, w_mean first, 18,918,320 floats (75.7 MB in fp32)."""
    state = StyleGANGenerator().state_dict()
    assert len(state) == 109 and next(iter(state)) == "w_mean"
    assert sum(t.numel() for t in state.values()) == 18_918_320
    assert state["synthesis.const"].shape == (1, 512, 4, 4) and state["synthesis.to_rgb.weight"].shape == (3, 128, 1, 1)
    assert (
        state["synthesis.blocks.8.blur.kernel"].shape == (1, 1, 3, 3) and "synthesis.blocks.9.blur.kernel" not in state
    )
    assert state["mapping.mapping.14.weight"].shape == (512, 512)


def test_standin_shapes_and_size(standin):
    out = standin(batch_size=2, generator=generators(3, 2), truncation_psi=0.7)
    assert [img.size for img in out.images] == [(128, 128)] * 2 and out.images[0].mode == "RGB"
    assert gan.STANDIN_CONFIGS["StyleGANGenerator"] == {
        **gan.default_config(StyleGANGenerator),
        "z_dim": 16,
        "w_dim": 16,
        "width": 16,
    }
    assert sum(t.numel() for t in standin.state_dict().values()) * 900 < 18_918_320
    assert float(np.asarray(out.images[0], dtype=float).std()) > 1.0  # not a flat image


def test_psi_zero_gives_the_w_avg_image_for_every_seed(standin):
    out = _pixels(standin(batch_size=3, generator=generators(7, 3), truncation_psi=0.0))
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[0], out[2])
    with torch.no_grad():
        avg = standin.synthesis(standin.w_avg()[None], standin.const_noise("cpu", torch.float32))
    expected = ((avg[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.abs(out[0].astype(int) - expected).max() <= 1  # batched and single convolutions may round apart


def test_psi_one_is_plain_sampling_and_seeds_are_deterministic(standin):
    a = standin(batch_size=2, generator=generators(11, 2), truncation_psi=1.0)
    z = torch.cat([torch.randn((1, 16), generator=g) for g in generators(11, 2)])
    with torch.no_grad():
        plain = standin.synthesis(standin.mapping(z), standin.const_noise("cpu", torch.float32))
    expected = ((plain.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert all(_close(x, y) for x, y in zip(_pixels(a), expected))  # w_avg + 1 * (w - w_avg) rounds like w
    again = _pixels(standin(batch_size=1, generator=generators(12, 1), truncation_psi=1.0))
    assert _close(_pixels(a)[1], again[0])  # image i of a batch is seed + i alone
    same = standin(batch_size=2, generator=generators(11, 2), truncation_psi=1.0)
    assert all(np.array_equal(x, y) for x, y in zip(_pixels(a), _pixels(same)))  # deterministic per seed
    half = _pixels(standin(batch_size=2, generator=generators(11, 2), truncation_psi=0.5))
    assert not np.array_equal(half[0], _pixels(a)[0]) and not np.array_equal(_pixels(a)[0], _pixels(a)[1])


def test_w_avg_is_the_checkpoints_when_filled_in(standin):
    assert not bool(standin.w_mean.any())  # the stand-in's is all zeros: estimated with a fixed seed
    estimate = standin.w_avg()
    assert torch.equal(estimate, standin.w_avg()) and float(estimate.abs().sum()) > 0
    filled = gan.build_gan_standin("StyleGANGenerator")
    filled.w_mean.fill_(0.25)
    assert torch.equal(filled.w_avg(), torch.full((16,), 0.25))


def test_a_mismatched_checkpoint_is_a_load_error_naming_what_differs(tmp_path, standin):
    state = dict(standin.state_dict())
    state["synthesis.to_rgb.kernel"] = state.pop("synthesis.to_rgb.weight")
    state["w_mean"] = torch.zeros(32)
    safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text(json.dumps(gan.STANDIN_CONFIGS["StyleGANGenerator"]))
    with pytest.raises(LoadError) as caught:
        StyleGANGenerator.from_pretrained(str(tmp_path))
    message = str(caught.value)
    assert (
        "StyleGANGenerator(z_dim=16, w_dim=16, img_size=128, img_channels=3, mapping_layers=8, style_mixing_prob=0.9, width=16)"
        in message
    )
    assert "1 missing key(s) (synthesis.to_rgb.weight)" in message
    assert (
        "1 unexpected key(s) (synthesis.to_rgb.kernel)" in message
        and "w_mean: checkpoint (32,), model (16,)" in message
    )


def test_the_registry_entry_takes_truncation():
    spec = Registry.load().get(MODEL_ID)
    assert spec.controls() == frozenset({"truncation"}) and spec.defaults.truncation == 0.7
    assert "truncation_psi" in pipeline_params(spec.pipeline)
    assert "truncation" not in Registry.load().get("ddpm-cifar10").controls()


def test_generate_makes_pngs_whose_settings_remake_them(studio, tmp_path):
    first = generate(studio, GenerateRequest(model=MODEL_ID, seed=40, batch=2, truncation=0.5), output_dir=tmp_path)
    assert first.standin and [s.truncation for s in first.settings] == [0.5, 0.5]
    assert "Truncation psi: 0.5" in first.settings[1].parameters_text()
    # one forward pass: no sampler is recorded (the A1111 line says so), not the registry's placeholder DDIM
    assert (
        first.settings[0].scheduler == ""
        and "Steps: 1, Sampler: One forward pass," in first.settings[0].parameters_text()
    )
    for image, path in zip(first.images, first.paths):
        settings = read_png_settings(path)
        again = generate(studio, request_from_settings(settings), output_dir=tmp_path)
        assert np.array_equal(np.asarray(again.images[0]), np.asarray(image))
    default = generate(studio, GenerateRequest(model=MODEL_ID, seed=40), output_dir=tmp_path)
    assert default.settings[0].truncation == 0.7
    assert (
        generate(studio, GenerateRequest(model="ddpm-cifar10", seed=1, steps=2), output_dir=tmp_path)
        .settings[0]
        .truncation
        is None
    )


@pytest.mark.parametrize("psi", [-0.1, 1.5, "high"])
def test_truncation_out_of_range_is_refused(studio, psi, tmp_path):
    with pytest.raises(InputError, match="Truncation psi must be"):
        generate(studio, GenerateRequest(model=MODEL_ID, seed=1, truncation=psi), output_dir=tmp_path)
