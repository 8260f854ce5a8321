"""Checkpoints: a pickle that would run code when loaded is refused on every route genart loads weights by."""

import ast
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
REFUSED = "Refused to load .* holds more than tensors \\(Unsupported global: GLOBAL io.open\\)"


class Payload:
    """Unpickling this calls open(marker, "w"): the marker file appearing means the checkpoint ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _poison(path: Path, marker: Path, state: dict | None = None) -> Path:
    """Write `state` (default: one tensor) plus a code-running object to `path` as a torch pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"conv_first.weight": torch.zeros(4, 3, 3, 3)} if state is None else state
    torch.save({**state, "evil": Payload(marker)}, path)
    return path


def test_the_payload_does_run_code_when_unpickled_unsafely(tmp_path):
    """The control: without weights_only the same file does run its code, so the tests below can fail."""
    marker = tmp_path / "ran"
    torch.load(_poison(tmp_path / "evil.pth", marker), weights_only=False)
    assert marker.exists()


# ------------------------------------------------------------------------------------------- GAN upscalers (spandrel)


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".ckpt", ".bin"])
def test_upscaler_files_refuse_code(tmp_path, suffix):
    from genart_demo.sr import read_state_dict

    marker = tmp_path / "ran"
    weights = _poison(tmp_path / f"model{suffix}", marker)
    with pytest.raises(ValueError, match="refused, the pickle holds objects other than tensors .*GLOBAL io.open"):
        read_state_dict(weights)
    assert not marker.exists()


@pytest.mark.parametrize("standin", [True, False], ids=["standin-file", "hub-file"])
def test_the_gan_upscaler_route_refuses_a_malicious_file(tmp_path, monkeypatch, settings, standin):
    """The registry's ESRGAN entry through load_pipeline, its weights file (the stand-in's, or the one the Hub
    download returns) swapped for a malicious pickle: a LoadError naming the refused global, and no code ran."""
    import huggingface_hub

    from genart_demo import sr
    from genart_demo.loading import LoadError, load_pipeline
    from genart_demo.registry import Registry

    marker = tmp_path / "ran"
    weights = _poison(tmp_path / "repo" / "RealESRGAN_x4plus.pth", marker)
    monkeypatch.setattr(sr, "ensure_sr_standin", lambda cache_dir, scale: weights)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: str(weights))
    spec = Registry.load().get("realesrgan-x4plus")
    with pytest.raises(LoadError, match=REFUSED):
        load_pipeline(spec, standin=standin, device="cpu", settings=settings)
    assert not marker.exists()


# ---------------------------------------------------------------- diffusers pipelines (+ transformers text encoders)


@pytest.fixture(scope="module")
def bin_repo(tmp_path_factory):
    """A local stand-in of a Stable Diffusion repo that ships only pickle weights: UNet and VAE as
    diffusion_pytorch_model.bin, the CLIP text encoder as pytorch_model.bin."""
    from safetensors.torch import load_file

    from genart_demo.tiny.builders import build_standin

    repo = tmp_path_factory.mktemp("bin-repo") / "sd"
    build_standin("StableDiffusionPipeline").save_pretrained(repo, safe_serialization=False)
    encoder = repo / "text_encoder"
    torch.save(load_file(encoder / "model.safetensors"), encoder / "pytorch_model.bin")
    (encoder / "model.safetensors").unlink()
    assert not list(repo.rglob("*.safetensors"))
    return repo


@pytest.fixture
def bin_spec(bin_repo, tmp_path):
    """(spec, repo): the sd15 entry pointed at a fresh copy of the pickle-only repo, marked as such."""
    from genart_demo.registry import Registry

    repo = Path(shutil.copytree(bin_repo, tmp_path / "repo"))
    return replace(Registry.load().get("sd15"), repo=str(repo), safetensors=False), repo


def test_a_pickle_only_repo_is_refused_unless_allowed(bin_spec, settings, monkeypatch):
    from genart_demo.loading import LoadError, load_pipeline

    spec, _ = bin_spec
    with pytest.raises(
        LoadError, match="ships only pickle .* genart loads safetensors only. Set GENART_ALLOW_PICKLE=1"
    ):
        load_pipeline(spec, standin=False, device="cpu", settings=settings)
    allowed = replace(settings, allow_pickle=True)  # GENART_ALLOW_PICKLE=1: the clean repo then loads, from its .bin
    pipe = load_pipeline(spec, standin=False, device="cpu", settings=allowed)
    assert type(pipe).__name__ == "StableDiffusionPipeline" and type(pipe.text_encoder).__name__ == "CLIPTextModel"


@pytest.mark.parametrize(
    "weights",
    ["unet/diffusion_pytorch_model.bin", "vae/diffusion_pytorch_model.bin", "text_encoder/pytorch_model.bin"],
    ids=["unet", "vae", "text-encoder"],
)
def test_allowed_pickle_weights_are_read_weights_only(bin_spec, settings, monkeypatch, tmp_path, weights):
    """GENART_ALLOW_PICKLE=1 lets .bin weights through diffusers (UNet, VAE) and transformers (text encoder), both of
    which read them with torch.load(weights_only=True): a malicious file is refused and runs nothing."""
    from genart_demo.loading import LoadError, load_pipeline

    spec, repo = bin_spec
    marker = tmp_path / "ran"
    _poison(repo / weights, marker, torch.load(repo / weights, weights_only=True))
    with pytest.raises(LoadError, match=REFUSED):
        load_pipeline(spec, standin=False, device="cpu", settings=replace(settings, allow_pickle=True))
    assert not marker.exists()


# ------------------------------------------------------------------ GAN translators (huggingface_hub model mixin)


def test_a_gan_translator_falling_back_to_pytorch_model_bin_refuses_code(tmp_path, monkeypatch, settings):
    """A Hub repo without model.safetensors: the mixin falls back to pytorch_model.bin, read weights-only."""
    from huggingface_hub import hub_mixin
    from huggingface_hub.errors import EntryNotFoundError

    from genart_demo.gan import ensure_gan_standin
    from genart_demo.loading import LoadError, load_pipeline
    from genart_demo.registry import Registry

    spec = Registry.load().get("pix2pix-facades")
    standin = ensure_gan_standin(spec.pipeline, settings.cache_dir)
    marker = tmp_path / "ran"
    weights = _poison(tmp_path / "pytorch_model.bin", marker)
    files = {"config.json": standin / "config.json", "pytorch_model.bin": weights}
    asked = []

    def download(repo_id, filename, **kwargs):
        asked.append(filename)
        if filename not in files:
            raise EntryNotFoundError(f"{filename} is not in {repo_id}")
        return str(files[filename])

    monkeypatch.setattr(hub_mixin, "hf_hub_download", download)
    with pytest.raises(LoadError, match=REFUSED):
        load_pipeline(spec, standin=False, device="cpu", settings=replace(settings, allow_pickle=True, offline=False))
    assert asked == ["config.json", "model.safetensors", "pytorch_model.bin"] and not marker.exists()


# ------------------------------------------------------------------------------------------------ metric weights


def test_metric_weight_files_refuse_code(tmp_path):
    """FID Inception weights are checked weights-only before torch-fidelity sees them; LPIPS heads load weights-only."""
    from genart_demo.metrics.lpips import LPIPS
    from genart_demo.metrics.weights import verified_weights_file

    marker = tmp_path / "ran"
    weights = _poison(tmp_path / "pt_inception.pth", marker)
    with pytest.raises(ValueError, match="refusing to load .*Unsupported global: GLOBAL io.open"):
        verified_weights_file(weights)
    with pytest.raises(Exception, match="Unsupported global: GLOBAL io.open"):
        LPIPS("alex", heads_path=weights)
    assert not marker.exists()


# ---------------------------------------------------------------------------------------- the package, statically

UNSAFE_MODULES = {"pickle", "dill", "joblib", "cloudpickle", "shelve", "marshal"}


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> module for `import x` / `import x as y` (torch, numpy, pandas and the pickle family)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name] = alias.name
    return names


def _keyword_is(call: ast.Call, name: str, value) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is value for k in call.keywords)


def unsafe_calls(source: str) -> list[str]:
    """Calls that can unpickle arbitrary objects, in Python source (comments and strings do not count):
    torch.load without weights_only=True, numpy.load with allow_pickle=True, pandas.read_pickle, any load of the
    pickle family, and `from torch import load` / `from pickle import ...` (which would hide such calls)."""
    tree = ast.parse(source)
    modules = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            node.module in UNSAFE_MODULES or (node.module == "torch" and any(a.name == "load" for a in node.names))
        ):
            found.append(f"line {node.lineno}: from {node.module} import ...")
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ):
            continue
        module, name = modules.get(node.func.value.id, node.func.value.id), node.func.attr
        if (
            (module == "torch" and name == "load" and not _keyword_is(node, "weights_only", True))
            or (module == "numpy" and name == "load" and _keyword_is(node, "allow_pickle", True))
            or (module == "pandas" and name == "read_pickle")
            or (module in UNSAFE_MODULES and name in ("load", "loads", "Unpickler", "open"))
        ):
            found.append(f"line {node.lineno}: {module}.{name}")
    return found


def test_the_static_check_can_fail():
    assert unsafe_calls("import torch\ntorch.load(p)\ntorch.load(p, weights_only=False)\n") == [
        "line 2: torch.load",
        "line 3: torch.load",
    ]
    assert unsafe_calls("import torch as th\nth.load(p)\n") == ["line 2: torch.load"]
    assert unsafe_calls("import pickle\npickle.loads(b)\n") == ["line 2: pickle.loads"]
    assert unsafe_calls(
        "import numpy as np\nimport pandas as pd\nnp.load(p, allow_pickle=True)\npd.read_pickle(p)\n"
    ) == ["line 3: numpy.load", "line 4: pandas.read_pickle"]
    assert unsafe_calls("from torch import load\nfrom pickle import loads\n") == [
        "line 1: from torch import ...",
        "line 2: from pickle import ...",
    ]
    assert (
        unsafe_calls(
            "import numpy as np\nimport torch\nnp.load(p, allow_pickle=False)\n"
            "torch.load(str(p), map_location='cpu', weights_only=True)  # torch.load(x)\n'pickle.load(f)'\n"
        )
        == []
    )


def test_no_unsafe_loads_in_the_package():
    """Every torch.load in genart passes weights_only=True, and nothing else in it can unpickle objects."""
    files = [
        *ROOT.glob("genart_demo/**/*.py"),
        *ROOT.glob("leaderboard/**/*.py"),
        *ROOT.glob("spaces/**/*.py"),
        ROOT / "app.py",
    ]
    assert len(files) > 50
    offenders = [f"{path.relative_to(ROOT)} {hit}" for path in files for hit in unsafe_calls(path.read_text())]
    assert not offenders, offenders
    loads = sum(path.read_text().count("torch.load(") for path in files)
    assert loads >= 5  # the check did look at genart's torch.load calls (sr, LPIPS, metric weights)
