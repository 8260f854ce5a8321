"""LoRA adapters on diffusers pipelines: a source resolved to a local file, hashed and read once per process, loaded
once per pipeline under its lock and kept; each request activates its own set (or none) with its weights.

A request without LoRA disables every loaded adapter (peft's layers then return their base layer's output untouched),
so its image is exactly what a never-LoRA'd pipeline makes. The text form lives in lora_spec.py.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .cache import LoadedPipeline
from .errors import InputError
from .loading import hub_kwargs
from .lora_spec import SUFFIX, LoraUse, format_loras, hashes_text, parse_loras
from .registry import ModelSpec, Registry
from .settings import Settings

DIFFUSERS_DEFAULT_FILE = "pytorch_lora_weights.safetensors"  # what save_lora_weights names a LoRA's file
SHORT_HASH = 12  # hex digits of the short hash AUTOMATIC1111 writes in "Lora hashes"
ADAPTER_METADATA_KEY = "lora_adapter_metadata"  # diffusers' header entry holding a LoRA's config (alpha, ranks)


@dataclass(frozen=True)
class LoraFile:
    """A LoRA weight file as read once: where it is and what it holds."""

    path: Path
    sha256: str  # the whole file's: names its adapter, so the same weights load once per pipeline
    short_hash: str  # AUTOMATIC1111's: sha256 of the tensor data after the safetensors header, first 12 hex digits
    alpha_in_header: bool  # diffusers keeps this LoRA's alpha in the header, so it loads from the path, not a dict

    @property
    def adapter_name(self) -> str:
        return f"lora_{self.sha256[:16]}"


@dataclass(frozen=True)
class ResolvedLora:
    use: LoraUse
    file: LoraFile


class LoraFiles:
    """Process-wide (one per Studio): each LoRA file hashed, and its state dict read, once per process; a file that
    changes on disk (size or modification time) is read again."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, int, int], LoraFile] = {}
        self._state_dicts: dict[str, dict[str, Any]] = {}  # sha256 -> tensors
        self._lock = threading.Lock()
        self.reads = 0  # state dicts read from disk (a cache hit does not count)

    def file(self, path: Path) -> LoraFile:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key not in self._files:
                self._files[key] = _hashed(path)
            return self._files[key]

    def state_dict(self, lora: LoraFile) -> dict[str, Any]:
        """The file's tensors (CPU), read on first use; callers get a shallow copy, so loaders may pop keys."""
        import safetensors.torch  # lazy: imports torch; only loading an adapter needs it

        with self._lock:
            if lora.sha256 not in self._state_dicts:
                self._state_dicts[lora.sha256] = safetensors.torch.load_file(str(lora.path), device="cpu")
                self.reads += 1
            return dict(self._state_dicts[lora.sha256])


def _hashed(path: Path) -> LoraFile:
    """Hash a .safetensors file in one pass (whole file, and the tensor data alone as AUTOMATIC1111 does); its
    header must be a safetensors header."""
    whole, data = hashlib.sha256(), hashlib.sha256()
    with open(path, "rb") as f:
        size_bytes = f.read(8)
        size = int.from_bytes(size_bytes, "little") if len(size_bytes) == 8 else -1
        header_bytes = f.read(size) if 0 < size <= 100_000_000 else b""
        try:
            header = json.loads(header_bytes)
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise InputError(f"LoRA file {str(path)!r} is not a safetensors file (its header does not read).")
        whole.update(size_bytes + header_bytes)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            whole.update(chunk)
            data.update(chunk)
    metadata = header.get("__metadata__") or {}
    return LoraFile(path, whole.hexdigest(), data.hexdigest()[:SHORT_HASH], ADAPTER_METADATA_KEY in metadata)


def _hub_file(repo: str, filename: str | None, settings: Settings, offline: bool) -> Path:
    """The local path of a Hub LoRA's file, through the Hub cache (offline: the cache only, as for models). Without a
    file name: diffusers' default file, else the repo's only top-level .safetensors file."""
    import huggingface_hub  # lazy: only a Hub LoRA source needs it (a tenth of a second to import)
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError  # lazy: as above

    kwargs = hub_kwargs(settings, "main")
    if offline:
        kwargs["local_files_only"] = True
    where = "is not in the local Hub cache and genart is offline" if offline else "could not be fetched from the Hub"
    try:
        if filename is None:
            if kwargs.get("local_files_only"):
                folder = Path(huggingface_hub.snapshot_download(repo, allow_patterns=[f"*{SUFFIX}"], **kwargs))
                names = sorted(p.name for p in folder.glob(f"*{SUFFIX}"))
            else:
                token = kwargs.get("token")
                names = [n for n in huggingface_hub.list_repo_files(repo, revision="main", token=token) if "/" not in n]
                names = sorted(n for n in names if n.endswith(SUFFIX))
            filename = _default_file(repo, names)
        return Path(huggingface_hub.hf_hub_download(repo, filename, **kwargs))
    except (EntryNotFoundError, HfHubHTTPError, FileNotFoundError, ValueError) as exc:
        shown = f"{repo}/{filename}" if filename else repo
        raise InputError(f"LoRA {shown!r} {where} ({type(exc).__name__}).") from None


def _default_file(repo: str, names: list[str]) -> str:
    if DIFFUSERS_DEFAULT_FILE in names or not names:
        return DIFFUSERS_DEFAULT_FILE
    if len(names) == 1:
        return names[0]
    raise InputError(
        f"Hub repo {repo!r} holds several LoRA files ({', '.join(names)}): name one, e.g. {repo}/{names[0]}."
    )


@cache
def takes_lora(pipeline_class: str) -> bool:
    """Whether a diffusers pipeline class loads LoRA adapters (GANs and spandrel upscalers are not pipelines)."""
    import diffusers  # lazy: importing diffusers takes seconds; the app serves before any pipeline is needed

    cls = getattr(diffusers, pipeline_class, None)
    return isinstance(cls, type) and hasattr(cls, "load_lora_weights") and hasattr(cls, "set_adapters")


def lora_models(registry: Registry, tasks: Iterable[str]) -> list[str]:
    """Ids of the registry's models for `tasks` that take LoRA."""
    return [s.id for s in registry.for_tasks(tuple(tasks)) if takes_lora(s.pipeline)]


def resolve_loras(
    text: str | None,
    spec: ModelSpec,
    *,
    registry: Registry,
    files: LoraFiles,
    settings: Settings,
    offline: bool,
    tasks: tuple[str, ...] = (),
) -> tuple[ResolvedLora, ...]:
    """The LoRAs in `text` as files on disk, hashed; InputError for bad text, a missing file or a model that takes no
    LoRA (naming the models for `tasks`, default the model's own, that do)."""
    uses = parse_loras(text)
    if uses and not takes_lora(spec.pipeline):
        usable = ", ".join(lora_models(registry, tasks or spec.tasks)) or "none"
        raise InputError(
            f"{spec.id} takes no LoRA (it is not a diffusers pipeline with LoRA support). Models that do: {usable}."
        )
    resolved = []
    for use in uses:
        hub = use.hub()
        path = Path(use.source).expanduser() if hub is None else _hub_file(*hub, settings, offline)
        resolved.append(ResolvedLora(use, files.file(path)))
    return tuple(resolved)


def lora_settings(loras: tuple[ResolvedLora, ...]) -> dict[str, str]:
    """The settings fields that record `loras`: the "source:weight" list and the "name: hash" list AUTOMATIC1111
    writes (nothing for none)."""
    if not loras:
        return {}
    return {
        "loras": format_loras([r.use for r in loras]),
        "lora_hashes": hashes_text([(r.use.name, r.file.short_hash) for r in loras]),
    }


def loaded_adapters(pipe: Any) -> set[str]:
    """Names of the adapters loaded on any part of `pipe`."""
    if not hasattr(pipe, "get_list_adapters"):
        return set()
    return {name for names in pipe.get_list_adapters().values() for name in names}


def activate_loras(entry: LoadedPipeline, loras: tuple[ResolvedLora, ...], files: LoraFiles) -> None:
    """Make `loras` (with their weights) the pipeline's active adapters, loading each one not loaded yet; with none,
    disable every adapter. Call under entry.lock: adapters are pipeline state that a running generation reads."""
    pipe, loaded = entry.pipe, loaded_adapters(entry.pipe)
    for lora in loras:
        name = lora.file.adapter_name
        if name in loaded:
            continue
        weights = str(lora.file.path) if lora.file.alpha_in_header else files.state_dict(lora.file)
        try:
            pipe.load_lora_weights(weights, adapter_name=name)
        except (ValueError, KeyError, RuntimeError) as exc:
            if name in loaded_adapters(pipe):
                pipe.delete_adapters(name)
            reason = str(exc).strip().split("\n")[0][:300]
            raise InputError(f"LoRA {lora.use.source!r} could not be loaded onto {entry.spec.id}: {reason}") from None
        loaded.add(name)
    if loras:
        # in one order whatever the listing order: peft adds the adapters' outputs in the order given
        active = sorted((r.file.adapter_name, r.use.weight) for r in loras)
        pipe.enable_lora()
        pipe.set_adapters([name for name, _ in active], adapter_weights=[weight for _, weight in active])
    elif loaded:
        pipe.disable_lora()


def studio_loras(
    studio: Any, spec: ModelSpec, text: str | None, tasks: tuple[str, ...] = ()
) -> tuple[ResolvedLora, ...]:
    """resolve_loras with a Studio's registry, file cache, settings and offline mode (the Studio holds the
    LoraFiles, so its type is not imported here)."""
    return resolve_loras(
        text,
        spec,
        registry=studio.registry,
        files=studio.loras,
        settings=studio.settings,
        offline=studio.offline,
        tasks=tasks,
    )


def use_loras(studio: Any, entry: LoadedPipeline, text: str | None) -> None:
    """Activate the LoRAs in `text` on a cached pipeline (none: disable them all). Call under entry.lock."""
    activate_loras(entry, studio_loras(studio, entry.spec, text), studio.loras)
