"""Tiny seeded weights in a Hub repo's real weight-file layout: a model built from its shrunk config, written as each
named file (safetensors or a pickled state dict, full precision or an fp16/bf16 variant, whole or in shards with
their index), and placeholders for files no loader reads (single-file checkpoints, ONNX, Flax, OpenVINO)."""

from __future__ import annotations

import importlib
import inspect
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import diffusers
import torch
import transformers
from safetensors.torch import save as safetensors_bytes

from .gan import GAN_CLASSES
from .sr import build_sr_standin

# diffusion_pytorch_model.safetensors, model.fp16.safetensors, pytorch_model.bin, model.fp16-00001-of-00002.safetensors,
# diffusion_pytorch_model-00001-of-00003.safetensors, and the deprecated model-00001-of-00002.fp16.safetensors
WEIGHT_FILE = re.compile(
    r"^(?P<stem>diffusion_pytorch_model|pytorch_model|model)(?:\.(?P<variant>[A-Za-z0-9_]+))?"
    r"(?:-(?P<shard>\d{5})-of-(?P<total>\d{5}))?(?:\.(?P<legacy>[A-Za-z0-9_]+))?\.(?P<ext>safetensors|bin)$"
)
INDEX_FILE = re.compile(
    r"^(?P<stem>diffusion_pytorch_model|pytorch_model|model)\.(?P<ext>safetensors|bin)\.index"
    r"(?:\.(?P<variant>[A-Za-z0-9_]+))?\.json$"
)
VARIANT_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}  # any other variant (non_ema, ema) is fp32
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pth", ".pt")
PLACEHOLDER = b"genart mirror placeholder: a file no loader reads\n"


@dataclass
class WeightGroup:
    """The files holding one copy of a model's weights: one file, or shards and their index."""

    stem: str  # diffusion_pytorch_model, model or pytorch_model
    ext: str  # safetensors or bin
    variant: str  # "" or e.g. "fp16"
    shards: list[str] = field(default_factory=list)  # file names (relative to the component folder), in order
    index: str = ""  # the index file name, for sharded groups

    @property
    def dtype(self) -> torch.dtype:
        return VARIANT_DTYPES.get(self.variant, torch.float32)


def weight_groups(names: Iterable[str]) -> tuple[list[WeightGroup], list[str]]:
    """The weight groups among file names of one folder, and the names that are not weights of the folder's model."""
    groups: dict[tuple[str, str, str], WeightGroup] = {}
    other = []
    for name in sorted(names):
        match = WEIGHT_FILE.match(name)
        index = INDEX_FILE.match(name)
        if match:
            variant = match["variant"] or match["legacy"] or ""
            key = (match["stem"], match["ext"], variant)
            groups.setdefault(key, WeightGroup(*key)).shards.append(name)
        elif index:
            key = (index["stem"], index["ext"], index["variant"] or "")
            groups.setdefault(key, WeightGroup(*key)).index = name
        else:
            other.append(name)
    return list(groups.values()), other


def model_class(library: str, class_name: str) -> type:
    """The class a model_index.json entry names: diffusers, transformers, a diffusers pipeline module's own model
    (e.g. ["stable_diffusion", "StableDiffusionSafetyChecker"]), or a genart GAN."""
    if library == "genart":
        return GAN_CLASSES[class_name]
    for module in (diffusers, transformers):
        if library in ("", module.__name__) and hasattr(module, class_name):
            return getattr(module, class_name)
    return getattr(importlib.import_module(f"diffusers.pipelines.{library}"), class_name)


def class_defaults(cls: type) -> dict[str, Any]:
    """The values `cls` uses for config keys a config.json leaves out: a transformers config class's defaults, or a
    diffusers model's constructor defaults."""
    if issubclass(cls, transformers.PreTrainedModel):
        return cls.config_class().to_dict()
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def build_model(cls: type, config: Mapping[str, Any], seed: int) -> torch.nn.Module:
    """A model of `cls` from `config` with seeded random weights (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if issubclass(cls, transformers.PreTrainedModel):
            model = cls(cls.config_class.from_dict(dict(config)))
        elif hasattr(cls, "from_config"):
            model = cls.from_config(dict(config))
        else:  # a genart GAN: its config.json holds its constructor's arguments
            model = cls(**config)
    return model.eval()


def _bytes(tensors: dict[str, torch.Tensor], ext: str) -> bytes:
    if ext == "safetensors":
        return safetensors_bytes(tensors, metadata={"format": "pt"})
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


def group_files(
    state: Mapping[str, torch.Tensor], group: WeightGroup, committed_index: dict | None = None
) -> dict[str, bytes]:
    """{file name: bytes} for one weight group: `state` in the group's dtype, split as the committed index says
    (when it names exactly these tensors) or in order into as many shards as the group has, with an index."""
    tensors = {k: (v.to(group.dtype) if v.is_floating_point() else v).contiguous().clone() for k, v in state.items()}
    if not group.index and len(group.shards) == 1:
        return {group.shards[0]: _bytes(tensors, group.ext)}
    if not group.shards:
        raise ValueError(f"{group.index}: an index without the shards it names")
    weight_map = (committed_index or {}).get("weight_map", {})
    if set(weight_map) != set(tensors) or set(weight_map.values()) != set(group.shards):
        keys = list(tensors)
        per = -(-len(keys) // len(group.shards))  # ceil: every shard gets its run of tensors, the last the rest
        weight_map = {k: group.shards[min(i // per, len(group.shards) - 1)] for i, k in enumerate(keys)}
        committed_index = None
    files = {
        shard: _bytes({k: t for k, t in tensors.items() if weight_map[k] == shard}, group.ext) for shard in group.shards
    }
    if group.index:
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        index = committed_index or {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        files[group.index] = json.dumps(index, indent=2).encode() + b"\n"
    return files


def placeholder(name: str) -> bytes:
    """A tiny valid file of `name`'s kind for a file no loader reads: an empty safetensors or state dict, else text."""
    if name.endswith(".safetensors"):
        return safetensors_bytes({}, metadata={"format": "pt", "genart": "placeholder"})
    if name.endswith(PICKLE_SUFFIXES):
        buffer = io.BytesIO()
        torch.save({}, buffer)
        return buffer.getvalue()
    return PLACEHOLDER


def esrgan_state(scale: int, seed: int) -> dict[str, torch.Tensor]:
    """A tiny ESRGAN (RRDBNet) state dict of `scale`, laid out as the original ESRGAN files are (spandrel reads it)."""
    return dict(build_sr_standin(scale, seed).state_dict())


def pickled(tensors: Mapping[str, torch.Tensor]) -> bytes:
    """A state dict as torch.save writes it (what a .pth / .bin holds)."""
    return _bytes(dict(tensors), "bin")


def safetensors_file(tensors: Mapping[str, torch.Tensor]) -> bytes:
    return _bytes({k: v.contiguous() for k, v in tensors.items()}, "safetensors")
