"""Real weights of the metric networks: local files checked to be plain state dicts, and timm checkpoints."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

FID_WEIGHTS_ENV = (
    "GENART_FID_WEIGHTS"  # the setting naming torch-fidelity's Inception weights file (Settings.fid_weights)
)
# == torch_fidelity.feature_extractor_inceptionv3.URL_INCEPTION_V3 (a test checks); copied to keep imports light
FID_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}  # a scorer's `dtype=`


def torch_dtype(name: str, what: str) -> torch.dtype:
    """The torch dtype called `name` (a key of DTYPES), or a ValueError naming `what` and the allowed names."""
    if name not in DTYPES:
        raise ValueError(f"{what} dtype {name!r} — allowed: {', '.join(DTYPES)}")
    return DTYPES[name]


class WeightsUnavailableError(RuntimeError):
    """Real weights could not be found locally (and downloading was not allowed or failed)."""


def verified_weights_file(path: str | Path) -> Path:
    """path, after checking it holds no pickled code: torch.load(weights_only=True) must accept it.

    Libraries that later call torch.load(weights_only=False) on it (torch-fidelity) then unpickle no code.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        return path  # holds tensors only, by design
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError, ... whatever torch raises for a non-weights pickle
        found = re.search(r"Unsupported (global: GLOBAL \S+|operand \S+)", str(err))  # torch's reason, briefly
        raise ValueError(
            f"refusing to load {path}: it is not a plain weights file (torch.load(weights_only=True) failed: "
            f"{found.group(0).rstrip('.') if found else type(err).__name__}). genart never unpickles arbitrary "
            "objects; re-save it as a state dict of tensors with torch.save(model.state_dict(), path)."
        ) from err
    if isinstance(state, Mapping):
        return path
    raise ValueError(f"{path} loads, but is not a state dict (a mapping of names to tensors)")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a .pt/.pth checkpoint, a bare state dict or {"state_dict": ...}, read with weights_only=True
    after verified_weights_file (a file holding pickled code is refused with its message)."""
    state = torch.load(verified_weights_file(path), map_location="cpu", weights_only=True)
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} loads, but holds no state dict (a mapping of names to tensors)")
    return dict(state)


def fid_inception_weights_file(weights_path: str | Path | None = None, *, allow_download: bool = False) -> Path:
    """The FID Inception weights: weights_path (the studio passes GENART_FID_WEIGHTS), else torch hub's cache, else download.

    Every route ends in verified_weights_file. Downloading happens only with allow_download=True.
    """
    explicit = weights_path  # the studio passes Settings.fid_weights (GENART_FID_WEIGHTS)
    if explicit:
        return verified_weights_file(explicit)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_URL.rsplit("/", 1)[-1]
    if not cached.is_file():
        if not allow_download:
            raise WeightsUnavailableError(
                "the FID Inception weights (TF 2015-12-05 port) are not available offline. Either download "
                f"{FID_WEIGHTS_URL} and set {FID_WEIGHTS_ENV}=/path/to/it (or pass weights_path=...), or pass "
                f"allow_download=True to fetch it into {cached.parent}; tests use standin=True."
            )
        cached.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(FID_WEIGHTS_URL, str(cached), progress=False)
        except Exception as err:
            raise WeightsUnavailableError(f"could not download {FID_WEIGHTS_URL}: {err}") from err
    return verified_weights_file(cached)


def _hub_cached_weights(name: str) -> Path | None:
    """The timm checkpoint's file in the local Hugging Face cache, or None (never touches the network)."""
    from huggingface_hub import try_to_load_from_cache  # lazy: only reaching the Hub needs it
    from timm.models import get_pretrained_cfg  # lazy: timm is needed only by its extractors

    cfg = get_pretrained_cfg(name)
    if cfg is None or not cfg.hf_hub_id:
        return None
    for filename in (cfg.hf_hub_filename, "model.safetensors", "pytorch_model.bin"):
        hit = try_to_load_from_cache(cfg.hf_hub_id, filename) if filename else None
        if isinstance(hit, str):
            return Path(hit)
    return None


def pretrained_timm_model(
    name: str, *, weights_path: str | Path | None = None, allow_download: bool = False, **kwargs
) -> nn.Module:
    """timm.create_model(name, pretrained=True) from weights_path, the local Hub cache or (if allowed) the Hub.

    weights_path gets the same pickle check as the FID weights (timm then loads it with weights_only=True).
    """
    import timm  # lazy: timm is needed only by its extractors
    from timm.models import get_pretrained_cfg  # lazy: timm is needed only by its extractors

    try:
        known = "." in name and timm.is_model(name) and get_pretrained_cfg(name) is not None
    except RuntimeError:  # a known architecture with an unknown tag
        known = False
    if not known:
        raise ValueError(
            f"unknown timm checkpoint {name!r}; give an 'architecture.tag' name from timm.list_models(pretrained=True)"
        )
    file = verified_weights_file(weights_path) if weights_path is not None else _hub_cached_weights(name)
    if file is None and not allow_download:
        raise WeightsUnavailableError(
            f"timm weights {name!r} are not in the local Hugging Face cache. Pass allow_download=True (online) to "
            f"fetch them from the Hub, give weights_path=/path/to/checkpoint, or use standin=True for tests."
        )
    overlay = {"pretrained_cfg_overlay": {"file": str(file)}} if file is not None else {}
    try:
        return timm.create_model(name, pretrained=True, **overlay, **kwargs).eval().requires_grad_(False)
    except Exception as err:
        raise WeightsUnavailableError(f"could not load timm weights {name!r} from {file or 'the Hub'}: {err}") from err
