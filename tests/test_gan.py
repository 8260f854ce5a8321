"""GAN translators: the real Hub checkpoints' layouts load strictly, stand-ins share their key names, a checkpoint of
another layout is a LoadError naming the repo, and inference keeps sizes and ranges."""

import json
from dataclasses import replace

import httpx2
import numpy as np
import pytest
import safetensors.torch
import torch
from huggingface_hub import hub_mixin
from huggingface_hub.errors import RemoteEntryNotFoundError
from PIL import Image

from genart_demo import gan
from genart_demo.hubfacts import repo_facts
from genart_demo.loading import LoadError, load_pipeline
from genart_demo.registry import Registry

GAN_IDS = {"Pix2PixUNetGenerator": "pix2pix-facades", "CycleGANResnetGenerator": "cyclegan-sim2real"}


def _unet_checkpoint_shapes() -> dict[str, tuple[int, ...]]:
    """huggan/pix2pix-facades-demo: GeneratorUNet(in_channels=3, out_channels=3) of the HugGAN sprint's pix2pix
    (bias-free 4x4 convs, parameter-free instance norms): 17 tensors, 54,404,099 floats = the repo's 218 MB."""
    return {
        "down1.model.0.weight": (64, 3, 4, 4),
        "down2.model.0.weight": (128, 64, 4, 4),
        "down3.model.0.weight": (256, 128, 4, 4),
        "down4.model.0.weight": (512, 256, 4, 4),
        **{f"down{i}.model.0.weight": (512, 512, 4, 4) for i in (5, 6, 7, 8)},
        "up1.model.0.weight": (512, 512, 4, 4),  # ConvTranspose2d: (in, out, k, k)
        **{f"up{i}.model.0.weight": (1024, 512, 4, 4) for i in (2, 3, 4)},
        "up5.model.0.weight": (1024, 256, 4, 4),
        "up6.model.0.weight": (512, 128, 4, 4),
        "up7.model.0.weight": (256, 64, 4, 4),
        "final.2.weight": (3, 128, 4, 4),
        "final.2.bias": (3,),
    }


def _resnet_checkpoint_shapes() -> dict[str, tuple[int, ...]]:
    """huggan/sim2real_cyclegan: GeneratorResNet(input_shape=(3, 512, 512), num_residual_blocks=9) of the sprint's
    CycleGAN (every conv with bias, parameter-free instance norms): 48 tensors, 11,378,179 floats = its 45.5 MB."""
    convs = {1: (64, 3, 7, 7), 4: (128, 64, 3, 3), 7: (256, 128, 3, 3), 20: (128, 256, 3, 3), 24: (64, 128, 3, 3)}
    convs[28] = (3, 64, 7, 7)
    shapes = {}
    for index, shape in sorted(convs.items()):
        shapes[f"model.{index}.weight"], shapes[f"model.{index}.bias"] = shape, shape[:1]
        if index == 7:  # the 9 residual blocks are model.10 .. model.18
            for block in range(10, 19):
                for conv in (1, 5):
                    shapes[f"model.{block}.block.{conv}.weight"] = (256, 256, 3, 3)
                    shapes[f"model.{block}.block.{conv}.bias"] = (256,)
    return shapes


CHECKPOINT_SHAPES = {
    "Pix2PixUNetGenerator": _unet_checkpoint_shapes,
    "CycleGANResnetGenerator": _resnet_checkpoint_shapes,
}


def test_the_checkpoint_tables_match_the_hub_file_sizes():
    """The tables above are the facts the tests below check against: their sizes are those of the Hub's files."""
    unet, resnet = _unet_checkpoint_shapes(), _resnet_checkpoint_shapes()
    assert (len(unet), sum(int(np.prod(s)) for s in unet.values())) == (17, 54_404_099)  # 217.6 MB in float32
    assert (len(resnet), sum(int(np.prod(s)) for s in resnet.values())) == (48, 11_378_179)  # 45.5 MB in float32


def _random_state(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=gen) * 0.02 for k, s in shapes.items()}


def _fake_hub(monkeypatch, repo: str, at: str, served: dict):
    """Serve `repo` at revision `at` to the Hub mixin: the files its committed Hub facts list, from `served` (name ->
    path); any other file, repo or revision is the Hub's 404. Returns the file names asked for, in order."""
    listed = set(repo_facts(repo, at).files)
    asked = []

    def download(repo_id, filename, revision=None, **kwargs):
        asked.append(filename)
        if (repo_id, revision) != (repo, at) or filename not in listed:
            url = f"https://huggingface.co/{repo_id}/resolve/{revision}/{filename}"
            response = httpx2.Response(404, request=httpx2.Request("GET", url))
            raise RemoteEntryNotFoundError(f"404: {filename} is not in {repo_id}@{revision}", response=response)
        return str(served[filename])

    monkeypatch.setattr(hub_mixin, "hf_hub_download", download)
    return asked


def _write_weights(state: dict, files: tuple[str, ...], folder) -> dict:
    """The state dict as the repo's weights file: model.safetensors when the repo has one, else pytorch_model.bin."""
    folder.mkdir(parents=True, exist_ok=True)
    if "model.safetensors" in files:
        safetensors.torch.save_file(state, folder / "model.safetensors")
        return {"model.safetensors": folder / "model.safetensors"}
    torch.save(state, folder / "pytorch_model.bin")
    return {"pytorch_model.bin": folder / "pytorch_model.bin"}


@pytest.mark.parametrize("name", sorted(GAN_IDS))
def test_the_real_checkpoint_layout_loads_strictly_through_the_loader(name, tmp_path, monkeypatch, settings):
    """A checkpoint with exactly the real repo's keys and shapes, served as the repo serves it (no config.json; the
    weights file the Hub facts list), loads through load_pipeline into the registry's class, every tensor taken."""
    spec = Registry.load().get(GAN_IDS[name])
    facts = repo_facts(spec.repo, spec.revision)
    assert spec.pipeline == name and "config.json" not in facts.files
    state = _random_state(CHECKPOINT_SHAPES[name]())
    asked = _fake_hub(monkeypatch, spec.repo, spec.revision, _write_weights(state, facts.files, tmp_path / "repo"))

    online = replace(settings, allow_pickle=True, offline=False)  # the Hub (faked here) answers
    model = load_pipeline(spec, standin=False, device="cpu", settings=online)

    assert type(model) is gan.GAN_CLASSES[name] and not model.training
    weights = "model.safetensors" if "model.safetensors" in facts.files else "pytorch_model.bin"
    assert asked[0] == "config.json" and asked[-1] == weights  # no config: built from the class defaults
    loaded = model.state_dict()
    assert list(loaded) == list(state)  # same names, in the checkpoint's order
    assert all(torch.equal(loaded[k], v) for k, v in state.items())  # every tensor came from the file


@pytest.mark.parametrize("name", sorted(GAN_IDS))
def test_the_standin_has_the_real_key_names_and_depth(name):
    real = CHECKPOINT_SHAPES[name]()
    standin = gan.build_gan_standin(name).state_dict()
    assert list(standin) == list(real)
    for key, shape in real.items():  # only widths shrink: the same rank and kernel sizes, output channels 3
        assert standin[key].dim() == len(shape) and standin[key].shape[2:] == shape[2:], key
    assert gan.STANDIN_CONFIGS[name] == {**gan.default_config(gan.GAN_CLASSES[name]), "ngf": 8}
    assert sum(t.numel() for t in standin.values()) * 60 < sum(int(np.prod(s)) for s in real.values())


def test_a_checkpoint_of_another_layout_is_a_load_error_naming_the_repo(tmp_path, monkeypatch, settings):
    spec = Registry.load().get("cyclegan-sim2real")
    state = _random_state(_resnet_checkpoint_shapes())
    state["model.1.kernel"] = state.pop("model.1.weight")  # a renamed key
    state["model.28.bias"] = torch.zeros(4)  # a reshaped one
    served = _write_weights(state, ("model.safetensors",), tmp_path / "repo")
    _fake_hub(monkeypatch, spec.repo, spec.revision, served)
    with pytest.raises(LoadError) as caught:
        load_pipeline(spec, standin=False, device="cpu", settings=replace(settings, offline=False))
    message = str(caught.value)
    assert "huggan/sim2real_cyclegan (revision refs/pr/2)" in message
    assert "CycleGANResnetGenerator(input_nc=3, output_nc=3, ngf=64, n_blocks=9)" in message
    assert "1 missing key(s) (model.1.weight)" in message and "1 unexpected key(s) (model.1.kernel)" in message
    assert "model.28.bias: checkpoint (4,), model (3,)" in message


def test_standin_weights_under_a_real_repo_id_are_a_load_error(tmp_path, monkeypatch, settings, cache_dir):
    """The stand-in's file is the real layout at 1/8 width: every key found, each of another width named (all but
    final.2.bias, 3 output channels in both)."""
    spec = Registry.load().get("pix2pix-facades")
    standin = safetensors.torch.load_file(gan.ensure_gan_standin(spec.pipeline, cache_dir) / "model.safetensors")
    served = _write_weights(standin, ("pytorch_model.bin",), tmp_path / "repo")
    _fake_hub(monkeypatch, spec.repo, spec.revision, served)
    with pytest.raises(
        LoadError, match=r"huggan/pix2pix-facades-demo \(revision main\).* 16 key\(s\) of another shape"
    ):
        load_pipeline(spec, standin=False, device="cpu", settings=replace(settings, allow_pickle=True, offline=False))


def _image(w: int, h: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.RandomState(seed).randint(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.parametrize("name", sorted(GAN_IDS))
def test_standin_roundtrip_identical(name, cache_dir):
    path = gan.ensure_gan_standin(name, cache_dir)
    assert path == cache_dir / "standins" / f"{name}-v{gan.STANDIN_VERSION}"
    assert (path / "model.safetensors").is_file() and (path / "config.json").is_file()
    assert not (path / "pytorch_model.bin").exists()
    assert json.loads((path / "config.json").read_text()) == gan.STANDIN_CONFIGS[name]

    before = gan.build_gan_standin(name)
    after = gan.GAN_CLASSES[name].from_pretrained(path)
    assert type(after) is gan.GAN_CLASSES[name] and not after.training
    side = after.size_multiple  # 256 for the U-Net, 4 for the ResNet
    w, h = max(side, 64), max(side, 96)
    x = gan.pil_to_tensor(_image(w, h))  # (1, 3, h, w)
    with torch.inference_mode():
        a, b = before(x), after(x)
    assert a.shape == b.shape == (1, 3, h, w)
    assert torch.equal(a, b)
    assert float(a.min()) >= -1.0 and float(a.max()) <= 1.0 and float(a.std()) > 0.01

    img = gan.translate_image(after, _image(w, h))
    assert img.mode == "RGB" and img.size == (w, h)
    assert np.array_equal(np.asarray(img), np.asarray(gan.translate_image(before, _image(w, h))))


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


def test_size_rules():
    unet = gan.build_gan_standin("Pix2PixUNetGenerator")
    assert gan.run_size(unet, 64, 300) == (256, 512)
    assert gan.translate_image(unet, _image(64, 48)).size == (64, 48)  # run at 256x256, resized back
    res = gan.build_gan_standin("CycleGANResnetGenerator")
    assert gan.run_size(res, 36, 20) == (36, 20) and gan.run_size(res, 37, 21) == (40, 24)
    assert gan.translate_image(res, _image(36, 20)).size == (36, 20)
    assert gan.translate_image(res, _image(37, 21)).size == (37, 21)
    with pytest.raises(ValueError, match="allowed values are >= 0"):
        gan.CycleGANResnetGenerator(n_blocks=-1)
    with pytest.raises(ValueError, match="allowed values"):
        gan.build_gan_standin("StyleGAN")


def test_grayscale_io():
    model = gan.build_gan_standin("CycleGANResnetGenerator", input_nc=1, output_nc=1)
    out = gan.translate_image(model, _image(32, 32).convert("L"))
    assert out.mode == "RGB" and out.size == (32, 32)


@pytest.mark.parametrize("name", sorted(GAN_IDS))
def test_offline_the_cached_real_layout_loads_without_a_config(name, tmp_path, settings):
    """Offline, a GAN repo in the local Hub cache (weights only, no config.json, as on the Hub) loads for real: the
    Hub mixin alone would fail, since it forgives a missing config.json only when the Hub answers 404."""
    from genart_demo.loading import is_cached

    spec = Registry.load().get(GAN_IDS[name])
    facts = repo_facts(spec.repo, spec.revision)
    state = _random_state(CHECKPOINT_SHAPES[name]())
    sha = "89abcdef" * 5
    repo_dir = tmp_path / "hub" / f"models--{spec.repo.replace('/', '--')}"
    _write_weights(state, facts.files, repo_dir / "snapshots" / sha)
    (repo_dir / "refs" / spec.revision).parent.mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / spec.revision).write_text(sha)
    offline = replace(settings, allow_pickle=True, offline=True, hub_cache=str(tmp_path / "hub"))
    assert is_cached(spec, offline)
    model = load_pipeline(spec, standin=False, device="cpu", settings=offline)
    assert type(model) is gan.GAN_CLASSES[name]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
