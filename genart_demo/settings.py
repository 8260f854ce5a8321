"""Process-wide settings read from the environment, and the input limits every task shares."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Input limits: the one place they live. Tasks validate against these; the UI sets slider ranges from them.
MAX_STEPS = 500  # num_inference_steps must be 1..MAX_STEPS
MIN_GUIDANCE = 0.0  # classifier-free guidance scale lower bound (0 = guidance off)
MAX_GUIDANCE = 50.0  # upper bound; beyond this images are saturated noise
MAX_SEED = 2**32 - 1  # torch.Generator.manual_seed accepts 0..2**64-1; A1111 seeds are 32-bit
MAX_COMPARE_MODELS = 4  # compare mode runs at most this many models side by side
# Folders of the output dir never served by URL: <output_dir>/arena holds the arena's vote database (the default
# GENART_DB_URL), the key that signs its vote tickets (unless GENART_ARENA_SECRET is set) and its exports.
PRIVATE_OUTPUT_DIRS = ("arena",)


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_number(name: str, default, cast):
    """An int or float environment variable; a value that is not one is refused with its name."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return cast(value)
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not {'an integer' if cast is int else 'a number'}") from exc


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "genart"


@dataclass(frozen=True)
class Settings:
    """Everything genart reads from the environment, read once and passed around explicitly."""

    offline: bool = False  # GENART_OFFLINE=1 (or HF_HUB_OFFLINE=1): use tiny stand-ins, never touch the Hub
    cache_dir: Path = field(default_factory=_default_cache_dir)  # GENART_CACHE_DIR: stand-ins and reference stats
    output_dir: Path = Path("outputs")  # GENART_OUTPUT_DIR: where generated PNGs are written
    memory_budget_gb: float = 0.0  # GENART_MEMORY_BUDGET_GB: pipeline cache budget; 0 = automatic
    cpu_offload: bool = False  # GENART_CPU_OFFLOAD=1: enable_model_cpu_offload on CUDA
    max_batch: int = 4  # GENART_MAX_BATCH: largest batch one request may ask for
    queue_size: int = 64  # GENART_QUEUE_SIZE: requests waiting at most; more get a "queue is full" answer (0 = no limit)
    max_upload_mb: int = 1024  # GENART_MAX_UPLOAD_MB: largest file one upload may be, in MB (0 = no limit)
    device: str = ""  # GENART_DEVICE: force cuda / mps / cpu; empty = best available
    hub_probe_timeout_s: float = 2.0  # how long to wait for the Hub before going offline
    host: str = "127.0.0.1"  # GENART_HOST (else GRADIO_SERVER_NAME, which Hugging Face Spaces set)
    port: int = 7860  # GENART_PORT
    share: bool = False  # GENART_SHARE=1: ask Gradio for a public share link
    eval_roots: tuple[Path, ...] = ()  # GENART_EVAL_ROOTS (os.pathsep-separated): folders evaluate may read; () = outputs
    fid_weights: str = ""  # GENART_FID_WEIGHTS: local path of the FID Inception weights (torch-fidelity's .pth)
    db_url: str = ""  # GENART_DB_URL: the arena's SQLAlchemy URL; "" = SQLite at <output_dir>/arena/arena.db
    arena_secret: str = field(default="", repr=False)  # GENART_ARENA_SECRET: signs battle tokens; "" = a key file
    arena_token_ttl_s: float = 1800.0  # GENART_ARENA_TOKEN_TTL: seconds a battle token stays valid
    arena_backup_repo: str = ""  # GENART_ARENA_BACKUP_REPO: Hub dataset for the JSONL vote backup; "" = off
    arena_models: tuple[str, ...] = ()  # GENART_ARENA_MODELS (comma-separated ids): models battles draw from; () = all

    def file_routes(self) -> dict[str, Any]:
        """Gradio launch() arguments for files: what may be served by URL (files under the output dir, where results
        are handed back from, except its private folders; Gradio resolves symlinks before checking and refuses the
        rest) and the largest upload accepted (a larger one gets an HTTP 413 naming the limit)."""
        out = Path(self.output_dir).resolve()
        return {"allowed_paths": [str(out)], "blocked_paths": [str(out / name) for name in PRIVATE_OUTPUT_DIRS],
                "max_file_size": f"{self.max_upload_mb}mb" if self.max_upload_mb else None}

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            offline=_env_flag("GENART_OFFLINE") or _env_flag("HF_HUB_OFFLINE"),
            cache_dir=Path(os.environ.get("GENART_CACHE_DIR") or _default_cache_dir()),
            output_dir=Path(os.environ.get("GENART_OUTPUT_DIR") or "outputs"),
            memory_budget_gb=_env_number("GENART_MEMORY_BUDGET_GB", 0.0, float),
            cpu_offload=_env_flag("GENART_CPU_OFFLOAD"),
            max_batch=max(1, _env_number("GENART_MAX_BATCH", 4, int)),
            queue_size=max(0, _env_number("GENART_QUEUE_SIZE", 64, int)),
            max_upload_mb=max(0, _env_number("GENART_MAX_UPLOAD_MB", 1024, int)),
            device=os.environ.get("GENART_DEVICE", "").strip().lower(),
            hub_probe_timeout_s=_env_number("GENART_HUB_TIMEOUT", 2.0, float),
            host=os.environ.get("GENART_HOST") or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
            port=_env_number("GENART_PORT", 7860, int),
            share=_env_flag("GENART_SHARE"),
            eval_roots=tuple(Path(p) for p in os.environ.get("GENART_EVAL_ROOTS", "").split(os.pathsep) if p.strip()),
            fid_weights=os.environ.get("GENART_FID_WEIGHTS", "").strip(),
            db_url=os.environ.get("GENART_DB_URL", "").strip(),
            arena_secret=os.environ.get("GENART_ARENA_SECRET", ""),
            arena_token_ttl_s=_env_number("GENART_ARENA_TOKEN_TTL", 1800.0, float),
            arena_backup_repo=os.environ.get("GENART_ARENA_BACKUP_REPO", "").strip(),
            arena_models=tuple(m.strip() for m in os.environ.get("GENART_ARENA_MODELS", "").split(",") if m.strip()),
        )


def hf_token() -> str | None:
    """The Hub token from HF_TOKEN, or None. Never log the value."""
    return os.environ.get("HF_TOKEN") or None
