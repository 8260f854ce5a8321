"""The parts of a memory plan (a call's shape, its components' weights, its stages' activations) and their store.

Measuring builds models on the meta device and traces them (genart_demo/memory_stages.py: seconds per entry), and the
result is a pure function of the entry, its repos' committed configs, the run settings, the installed torch /
diffusers / transformers and the measuring code. So it is kept as JSON under GENART_CACHE_DIR/memory-plans, keyed by
a digest of all of those, and read back by later processes without importing any of the heavy libraries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, astuple, dataclass
from importlib.metadata import version
from pathlib import Path

from .atomic import atomic_write
from .hubfacts import TREE_FILE, repo_facts
from .registry import ModelSpec

PLANS_FOLDER = "memory-plans"  # under GENART_CACHE_DIR
MEASURING_CODE = ("memory_stages.py", "memory_calls.py", "memory_meta.py")  # files whose text is part of the key


@dataclass(frozen=True)
class Shape:
    """One call's sizes: pixels, frames (0 = an image), prompts B and the denoiser's guidance copies."""

    width: int
    height: int
    frames: int
    batch: int
    copies: int  # 1 without classifier-free guidance, 2 with, 3 with InstructPix2Pix's image guidance
    long_text: int  # T5-style encoders' token budget (0 = their tokenizer's)
    chunk: int  # video: frames the VAE decodes at a time (0 = all)


@dataclass(frozen=True)
class Component:
    """One loaded model component and its weights in the dtype it runs in."""

    model: str  # registry id of the entry that loads it
    name: str  # pipeline attribute: "unet", "text_encoder_2", "controlnet", ...
    cls: str  # class built from its config
    dtype: str  # "float16", "bfloat16" or "float32"
    params: int
    fp32_params: int  # parameters kept in float32 (all of them when dtype is float32)
    bytes: int  # parameters and buffers
    largest_module_bytes: int  # the largest single module's own parameters (sequential offload holds one)
    stage: str  # "encode", "denoise" or "decode"
    offloaded: bool = True  # False: diffusers keeps it on the GPU under CPU offload


@dataclass(frozen=True)
class Stage:
    """One stage of a call: the components whose weights it needs and its traced peak of live activations."""

    model: str
    name: str  # "encode:text_encoder", "encode:vae", "denoise", "decode"
    components: tuple[str, ...]
    activations: Mapping[str, int]  # VAE option ("plain", "sliced", "tiled", "tiled+sliced") -> bytes
    extra_weights: int = 0  # bytes added to the weights while it runs (a VAE cast to float32 to decode)
    traced: bool = True  # False: no forward call is written for its class; its activations are left at 0

    def act(self, option: str = "plain") -> int:
        """Peak activations with a VAE option: the smallest of the variants the option includes."""
        wanted = set(option.split("+"))
        return min(v for k, v in self.activations.items() if k == "plain" or set(k.split("+")) <= wanted)


Measured = tuple[list[Component], list[Stage]]


def measurement_key(spec: ModelSpec, device: str, shape: Shape, options: Mapping[str, object]) -> str:
    """A digest of everything a measurement depends on."""
    digest = hashlib.sha256()
    fields = (spec.id, spec.kind, spec.pipeline, spec.subfolder, spec.gpu_dtype, sorted(spec.components.items()))
    for part in (fields, device, astuple(shape), sorted(options.items())):
        digest.update(repr(part).encode())
    digest.update(" ".join(version(lib) for lib in ("torch", "diffusers", "transformers")).encode())
    for code in MEASURING_CODE:
        digest.update(Path(__file__).with_name(code).read_bytes())
    for repo, revision in sorted(set(spec.hub_repos())):
        facts = repo_facts(repo, revision)
        for name in [TREE_FILE, *facts.json_files()]:
            digest.update((facts.folder / name).read_bytes())
    return digest.hexdigest()[:40]


def stored(path: Path | None, measure: Callable[[], Measured]) -> Measured:
    """The measurement saved at `path`, else `measure()` saved there (all or nothing); `path` None: no store."""
    if path is not None:
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return [Component(**c) for c in saved["components"]], [
                Stage(**{**s, "components": tuple(s["components"])}) for s in saved["stages"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    comps, stages = measure()
    if path is not None:
        atomic_write(
            path, json.dumps({"components": [asdict(c) for c in comps], "stages": [asdict(s) for s in stages]})
        )
    return comps, stages
