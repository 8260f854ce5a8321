"""The mirrored Hub cache: a real Hugging Face hub cache, written from the committed Hub facts, with tiny weights.

`build_mirror(hub_cache)` writes, for every repo in genart_demo/hubfacts, what `from_pretrained` finds in a cache
after a real download: `models--org--name/refs/<revision>` naming a commit, `snapshots/<commit>/...` holding every
file of the repo's file list (linked to `blobs/`, as huggingface_hub lays them out), and `trees/<commit>.json`, the
file listing huggingface_hub keeps for offline loads. Inside the snapshot:

- the committed JSON files byte for byte (scheduler configs, model indexes, tokenizer and preprocessor configs),
  except model configs, which go through `shrink_config` (only widths and depths change);
- every weight file (safetensors or pickle, fp32 or its fp16/bf16 variant, whole or sharded with an index) holding
  tiny seeded random weights of the model built from the shrunk config;
- tokenizer vocabularies that are tiny but valid, under their real names; the text encoders' vocabularies match;
- a single-file upscaler named by the registry: a tiny ESRGAN spandrel recognises;
- placeholders for what no loader reads (single-file checkpoints, ONNX, Flax, OpenVINO files).

The commit is a fake 40-hex sha of the facts and of this builder's code, so a repo is rebuilt only when either
changes; each snapshot appears whole or not at all (atomic_folder), then its tree listing, then its ref.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import diffusers
import transformers
from huggingface_hub.file_download import repo_folder_name

from .atomic import atomic_folder, atomic_write
from .hubfacts import MissingFacts, RepoFacts, all_repo_facts, folder_name
from .mirror_shrink import shrink_config
from .mirror_tokenizers import VOCAB_FILES, token_ids, tokenizer_family, vocabulary_file
from .mirror_weights import (
    build_model,
    class_defaults,
    esrgan_state,
    group_files,
    model_class,
    pickled,
    placeholder,
    safetensors_file,
    weight_groups,
)
from .registry import ModelSpec, Registry

log = logging.getLogger("genart.mirror")

MIRROR_VERSION = 1  # part of every snapshot's key, with the source of the modules below
KEYED_SOURCES = ("mirror.py", "mirror_shrink.py", "mirror_tokenizers.py", "mirror_weights.py", "tiny/tokenizers.py")
LFS_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pth", ".pt", ".onnx", ".onnx_data", ".msgpack", ".model", ".h5")
TEXT_MODEL_FAMILIES = {"clip_text_model": "clip", "clip": "clip", "t5": "t5", "ldmbert": "bert"}


@dataclass(frozen=True)
class Component:
    """One part of a repo: a model, tokenizer, scheduler or image processor in `folder` ("" = the repo root)."""

    folder: str
    library: str
    class_name: str

    @property
    def kind(self) -> str:
        for word, kind in (("Tokenizer", "tokenizer"), ("Scheduler", "scheduler"), ("Processor", "processor")):
            if word in self.class_name:
                return kind
        return "processor" if "FeatureExtractor" in self.class_name else "model"

    def path(self, name: str) -> str:
        return f"{self.folder}/{name}" if self.folder else name


@dataclass
class MirrorResult:
    """What build_mirror did: the cache folder, each repo's commit, and why any repo could not be mirrored."""

    hub_cache: Path
    commits: dict[str, str] = field(default_factory=dict)  # facts folder name (org--name@revision) -> commit sha
    errors: dict[str, str] = field(default_factory=dict)  # facts folder name -> the reason it is not in the cache


def _code_key() -> str:
    root = Path(__file__).resolve().parent
    digest = hashlib.sha1(f"{MIRROR_VERSION} {diffusers.__version__} {transformers.__version__}".encode())
    for name in KEYED_SOURCES:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()


def snapshot_commit(facts: RepoFacts, hint: ModelSpec | None = None) -> str:
    """The fake commit sha of `facts` as mirrored: a digest of its committed files, the hint and the builder code."""
    digest = hashlib.sha1(f"{_code_key()} {facts.repo} {facts.revision}".encode())
    digest.update((facts.folder / "tree.json").read_bytes())
    for path in facts.json_files():
        digest.update(path.encode() + b"\0" + (facts.folder / path).read_bytes())
    if hint is not None:
        digest.update(f"{hint.kind} {hint.pipeline} {hint.file} {hint.scale}".encode())
    return digest.hexdigest()


def repo_components(facts: RepoFacts, hint: ModelSpec | None = None) -> list[Component]:
    """The parts of a repo: from model_index.json (a component without a folder of its own lives at the root, as in
    google/ddpm-*), else the bare model of its root config.json (a genart GAN when the registry says so)."""
    if facts.has("model_index.json"):
        parts = []
        for name, value in facts.json("model_index.json").items():
            if name.startswith("_") or not isinstance(value, list) or len(value) != 2 or None in value:
                continue
            folder = name if any(f.startswith(f"{name}/") for f in facts.files) else ""
            parts.append(Component(folder, value[0], value[1]))
        return parts
    if hint is not None and hint.kind == "gan":  # a genart GAN class, with or without a config.json
        return [Component("", "genart", hint.pipeline)]
    if facts.has("config.json"):
        config = facts.json("config.json")
        if "_class_name" in config:
            return [Component("", "diffusers", config["_class_name"])]
        if config.get("architectures"):
            return [Component("", "transformers", config["architectures"][0])]
    return []


def _folder_names(facts: RepoFacts, folder: str) -> list[str]:
    """Names of the files directly in `folder` of the repo ("" = its root)."""
    prefix = f"{folder}/" if folder else ""
    return [f[len(prefix) :] for f in facts.files if f.startswith(prefix) and "/" not in f[len(prefix) :]]


def _tokenizer(facts: RepoFacts, part: Component, files: dict[str, bytes]) -> dict[str, int]:
    """Write a tokenizer folder's vocabulary files; return the vocabulary size and special ids of the tokenizer
    transformers builds from them and the committed configs."""
    names = _folder_names(facts, part.folder)
    family = tokenizer_family(part.class_name, names)
    for name in VOCAB_FILES:
        if name in names:
            files[part.path(name)] = vocabulary_file(family, name)
    with tempfile.TemporaryDirectory() as tmp:  # read back through tokenizer.json, which needs no protobuf
        for name in names:
            readable = name.endswith(".json") or name in ("vocab.txt", "merges.txt")
            if readable and part.path(name) in files:
                (Path(tmp) / name).write_bytes(files[part.path(name)])
        (Path(tmp) / "tokenizer.json").write_bytes(vocabulary_file(family, "tokenizer.json"))
        return token_ids(getattr(transformers, part.class_name).from_pretrained(tmp))


def _default_tokens(family: str) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tokenizer.json").write_bytes(vocabulary_file(family, "tokenizer.json"))
        cls = {"clip": transformers.CLIPTokenizer, "t5": transformers.T5TokenizerFast}.get(family)
        return token_ids((cls or transformers.BertTokenizerFast).from_pretrained(tmp))


def _tokens_for(part: Component, config: Mapping, tokens: Mapping[str, dict[str, int]]) -> dict[str, int] | None:
    """The tokenizer a text encoder reads from: its paired folder (text_encoder_2 -> tokenizer_2, bert ->
    tokenizer), the repo's only tokenizer, or a tiny one of its family (the safety checker's CLIP text tower)."""
    paired = part.folder.replace("text_encoder", "tokenizer") if "text_encoder" in part.folder else "tokenizer"
    if paired in tokens:
        return tokens[paired]
    if len(tokens) == 1:
        return next(iter(tokens.values()))
    model_type = config.get("model_type") or config.get("text_config", {}).get("model_type", "")
    family = TEXT_MODEL_FAMILIES.get(model_type)
    return _default_tokens(family) if family else None


def _seed(facts: RepoFacts, folder: str) -> int:
    return int(hashlib.sha1(f"{facts.repo}@{facts.revision}/{folder}".encode()).hexdigest()[:8], 16)


def _model(facts: RepoFacts, part: Component, files: dict[str, bytes], tokens: Mapping[str, dict[str, int]]) -> None:
    """Write a model folder: its shrunk config and every weight file the repo lists for it."""
    config_path = part.path("config.json")
    cls = model_class(part.library, part.class_name)
    if facts.has(config_path):
        config = facts.json(config_path)  # MissingFacts when listed but not committed
        shrunk = shrink_config(part.class_name, config, _tokens_for(part, config, tokens), class_defaults(cls))
        files[config_path] = json.dumps(shrunk, indent=2).encode() + b"\n"
    elif part.library == "genart":  # no config.json: the loader builds the class's defaults, so full-size weights
        shrunk = {}
    else:
        raise MissingFacts(f"{facts.repo}@{facts.revision}: {part.class_name} in '{part.folder or '.'}' has no config")
    state = build_model(cls, shrunk, _seed(facts, part.folder)).state_dict()
    groups, _ = weight_groups(_folder_names(facts, part.folder))
    committed = set(facts.json_files())
    for group in groups:
        index = facts.json(part.path(group.index)) if part.path(group.index) in committed else None
        for name, data in group_files(state, group, index).items():
            files[part.path(name)] = data


def snapshot_files(facts: RepoFacts, hint: ModelSpec | None = None) -> dict[str, bytes]:
    """{path: bytes} for every file of the repo's file list, as the mirror holds it."""
    files = {path: (facts.folder / path).read_bytes() for path in facts.json_files()}
    parts = repo_components(facts, hint)
    tokens = {p.folder: _tokenizer(facts, p, files) for p in parts if p.kind == "tokenizer"}
    for part in parts:
        if part.kind == "model":
            _model(facts, part, files, tokens)
    if hint is not None and hint.kind == "upscaler":
        state = esrgan_state(hint.scale or 4, _seed(facts, hint.file))
        files[hint.file] = safetensors_file(state) if hint.file.endswith(".safetensors") else pickled(state)
    missing = [f for f in facts.files if f.endswith(".json") and f not in files]
    if missing:
        raise MissingFacts(f"{facts.repo}@{facts.revision}: no committed copy of {', '.join(missing)}")
    return {f: files.get(f) or placeholder(f) for f in facts.files}


def _etag(path: str, data: bytes) -> tuple[str, bool]:
    """The blob name huggingface_hub gives a file (sha256 for LFS files, else the git blob sha1) and whether LFS."""
    if path.endswith(LFS_SUFFIXES):
        return hashlib.sha256(data).hexdigest(), True
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(), False


def write_snapshot(repo_dir: Path, revision: str, commit: str, files: Mapping[str, bytes]) -> None:
    """Blobs, then the snapshot folder of links to them (renamed into place whole), its tree listing, its ref."""
    tree = {}
    with atomic_folder(repo_dir / "snapshots" / commit) as tmp:
        for path, data in sorted(files.items()):
            etag, lfs = _etag(path, data)
            blob = repo_dir / "blobs" / etag
            if not blob.is_file():
                atomic_write(blob, data)
            link = tmp / path
            link.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.symlink(os.path.relpath(blob, link.parent), link)
            except OSError:  # no symlinks here: huggingface_hub then keeps plain copies, so do the same
                link.write_bytes(data)
            entry = {"size": len(data), "blob_id": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()}
            tree[path] = {**entry, "lfs_sha256": etag, "lfs_size": len(data)} if lfs else entry
    atomic_write(repo_dir / "trees" / f"{commit}.json", json.dumps({"format_version": 1, "files": tree}, indent=1))
    atomic_write(repo_dir / "refs" / revision, commit)


def is_mirrored(repo_dir: Path, revision: str, commit: str) -> bool:
    ref = repo_dir / "refs" / revision
    return (
        ref.is_file()
        and ref.read_text() == commit
        and (repo_dir / "snapshots" / commit).is_dir()
        and (repo_dir / "trees" / f"{commit}.json").is_file()
    )


def registry_hints(registry: Registry | None = None) -> dict[tuple[str, str], ModelSpec]:
    """(repo, revision) -> the registry entry, for repos whose layout only the registry tells (GANs, upscalers)."""
    registry = registry or Registry.load()
    return {(s.repo, s.revision): s for s in registry if s.kind in ("gan", "upscaler")}


def build_mirror(
    hub_cache: Path, facts: Iterable[RepoFacts] | None = None, *, registry: Registry | None = None, strict: bool = True
) -> MirrorResult:
    """Write the mirrored cache of `facts` (default: every committed repo) under `hub_cache`; repos already mirrored
    with the same key are left alone. With `strict`, the first repo that cannot be mirrored raises; otherwise its
    reason is kept in the result's `errors` and the others are still built."""
    hub_cache = Path(hub_cache)
    hints = registry_hints(registry)
    result = MirrorResult(hub_cache)
    for repo in all_repo_facts() if facts is None else facts:
        name = folder_name(repo.repo, repo.revision)
        hint = hints.get((repo.repo, repo.revision))
        repo_dir = hub_cache / repo_folder_name(repo_id=repo.repo, repo_type="model")
        try:
            commit = snapshot_commit(repo, hint)
            if not is_mirrored(repo_dir, repo.revision, commit):
                started = time.perf_counter()
                write_snapshot(repo_dir, repo.revision, commit, snapshot_files(repo, hint))
                log.info("mirrored %s in %.1fs", name, time.perf_counter() - started)
            result.commits[name] = commit
        except Exception as exc:
            if strict:
                raise
            result.errors[name] = f"{type(exc).__name__}: {exc}"
    return result
