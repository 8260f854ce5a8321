"""Checkpoints: a pickle that would run code when loaded is refused on every route genart loads weights by."""
import ast
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


class Payload:
    """Unpickling this calls open(marker, "w"): the file appearing means code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _malicious(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"conv_first.weight": torch.zeros(4, 3, 3, 3), "evil": Payload(marker)}, path)
    return path


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".ckpt", ".bin"])
def test_upscaler_files_refuse_code(tmp_path, suffix):
    from genart_demo.sr import read_state_dict

    marker = tmp_path / "ran"
    weights = _malicious(tmp_path / f"model{suffix}", marker)
    with pytest.raises(ValueError, match="refused, the pickle holds objects other than tensors"):
        read_state_dict(weights)
    assert not marker.exists()


def test_the_gan_upscaler_route_refuses_a_malicious_standin(tmp_path, monkeypatch, settings):
    """The registry's ESRGAN-family entry, loaded through load_pipeline, with its stand-in file swapped for a
    malicious pickle: refused, and no code ran."""
    from genart_demo import sr
    from genart_demo.loading import load_pipeline
    from genart_demo.registry import Registry

    marker = tmp_path / "ran"
    weights = _malicious(tmp_path / "repo" / "RealESRGAN_x4plus.pth", marker)
    monkeypatch.setattr(sr, "ensure_sr_standin", lambda cache_dir, scale: weights)
    spec = next(s for s in Registry.load() if s.pipeline == "spandrel")
    with pytest.raises(Exception, match="refused"):
        load_pipeline(spec, standin=True, device="cpu", settings=settings)
    assert not marker.exists()


def test_diffusers_bin_weights_refuse_code(tmp_path, monkeypatch):
    """With GENART_ALLOW_PICKLE=1 a repo's .bin weights go through diffusers' loader, which reads them
    weights-only: a malicious .bin is refused and runs nothing."""
    from diffusers import UNet2DModel

    monkeypatch.setenv("GENART_ALLOW_PICKLE", "1")
    model = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(8, 8),
                        down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                        norm_num_groups=4)
    repo = tmp_path / "repo"
    model.save_pretrained(repo, safe_serialization=False)
    assert isinstance(UNet2DModel.from_pretrained(repo, use_safetensors=False), UNet2DModel)  # the clean .bin loads
    marker = tmp_path / "ran"
    state = torch.load(repo / "diffusion_pytorch_model.bin", weights_only=True)
    torch.save({**state, "evil": Payload(marker)}, repo / "diffusion_pytorch_model.bin")
    with pytest.raises(OSError, match="Unable to load weights"):  # the weights-only unpickler refused the payload
        UNet2DModel.from_pretrained(repo, use_safetensors=False)
    assert not marker.exists()


def _unsafe_calls(source: str) -> list[str]:
    """torch.load calls without weights_only=True, and pickle.load/loads calls, in Python source (comments and
    strings do not count)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)):
            continue
        owner, name = node.func.value.id, node.func.attr
        safe = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                   for k in node.keywords)
        if (owner == "torch" and name == "load" and not safe) or (owner == "pickle" and name in ("load", "loads")):
            found.append(f"line {node.lineno}: {owner}.{name}")
    return found


def test_the_static_check_can_fail():
    assert _unsafe_calls("import torch\ntorch.load(p)\ntorch.load(p, weights_only=False)\n") == [
        "line 2: torch.load", "line 3: torch.load"]
    assert _unsafe_calls("import pickle\npickle.loads(b)\n") == ["line 2: pickle.loads"]
    assert _unsafe_calls("torch.load(str(p), map_location='cpu', weights_only=True)  # torch.load(x)\n") == []


def test_no_unsafe_loads_in_the_package():
    """Every torch.load in genart passes weights_only=True, and nothing calls pickle.load / pickle.loads."""
    offenders = []
    for path in [*ROOT.glob("genart_demo/**/*.py"), *ROOT.glob("leaderboard/**/*.py"), ROOT / "app.py"]:
        offenders += [f"{path.relative_to(ROOT)} {hit}" for hit in _unsafe_calls(path.read_text())]
    assert not offenders, offenders
