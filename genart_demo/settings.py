"""Process-wide settings, read from the environment once (and only here, checked), and the input limits tasks share."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .workspace import Workspace

# Input limits: the one place they live. Tasks validate against these; the UI sets slider ranges from them.
MAX_STEPS = 500  # num_inference_steps must be 1..MAX_STEPS
MIN_GUIDANCE = 0.0  # classifier-free guidance scale lower bound (0 = guidance off)
MAX_GUIDANCE = 50.0  # upper bound; beyond this images are saturated noise
MAX_SEED = 2**32 - 1  # torch.Generator.manual_seed accepts 0..2**64-1; A1111 seeds are 32-bit
MAX_COMPARE_MODELS = 4  # compare mode runs at most this many models side by side
MAX_GRID_CELLS = 64  # an X/Y/Z grid runs at most this many cells (X values x Y values x Z values)
DEFAULT_MAX_PIXELS = 4096 * 4096  # largest input image (width x height) unless GENART_MAX_PIXELS says otherwise
DEFAULT_EVAL_MAX_MB = 4096  # image bytes (unpacked, MB) one evaluation request may read unless GENART_EVAL_MAX_MB says
MAX_ZIP_RATIO = 100  # a zip entry declaring it unpacks to more than this many times its packed size is refused...
ZIP_RATIO_FLOOR = 1024**2  # ...when it unpacks to more than this many bytes (small entries may compress as they like)
DEVICES = ("cuda", "mps", "cpu")  # what GENART_DEVICE may force
# GENART_SAFETY_CHECKER: "checkpoint" keeps the safety checker a checkpoint ships (diffusers blacks out an image it
# flags; genart marks it and keeps it out of leaderboard scores and arena battles); "off" loads pipelines without it.
SAFETY_CHECKER_POLICIES = ("checkpoint", "off")
DTYPES = ("", "gpu", "float32")  # what GENART_DTYPE may say: "" = auto (the entry's GPU dtype on a GPU, fp32 on CPU)
STANDIN_POLICIES = ("missing", "always")  # GENART_STANDINS: offline, stand-ins for models not in the local cache / all


class SettingsError(ValueError):
    """An environment variable whose value genart cannot use; the message names it and says what is allowed."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _number(env: Mapping[str, str], name: str, default, cast, *, minimum=None, maximum=None, what: str = ""):
    """A finite int or float from env[name] within [minimum, maximum]; SettingsError naming the variable otherwise."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    kind = "a whole number" if cast is int else "a number"
    bounds = (f" from {minimum:g}" if minimum is not None else "") + (f" to {maximum:g}" if maximum is not None else "")
    allowed = f"Allowed: {kind}{bounds}{f' ({what})' if what else ''}."
    try:
        value = cast(raw.replace("_", "")) if cast is int else cast(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not {kind}. {allowed}") from None
    if (
        not math.isfinite(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        raise SettingsError(f"{name}={raw!r} is out of range. {allowed}")
    return value


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """env[name] lower-cased when it is one of `allowed` (unset = the first); SettingsError naming the choices."""
    value = (env.get(name) or "").strip().lower() or allowed[0]
    if value not in allowed:
        shown = ", ".join(repr(a) if a else "unset" for a in allowed)
        raise SettingsError(f"{name}={value!r} is not allowed. Allowed: {shown}.")
    return value


def _default_cache_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "genart"


@dataclass(frozen=True)
class Settings:
    """Everything genart reads from the environment, read once by `from_env` and passed around explicitly."""

    offline: bool = False  # GENART_OFFLINE=1 (or HF_HUB_OFFLINE=1): never touch the Hub; load from the local Hub cache
    standins: str = "missing"  # GENART_STANDINS: offline, a tiny stand-in for each model missing locally, or "always"
    hub_cache: str = ""  # HF_HUB_CACHE (else HF_HOME/hub): the local Hub cache models load from; "" = huggingface_hub's
    dtype: str = ""  # GENART_DTYPE: "" = auto; "gpu" = each entry's GPU dtype and fp16 weights even on CPU; "float32"
    cache_dir: Path = field(default_factory=lambda: _default_cache_dir(os.environ))  # GENART_CACHE_DIR
    output_dir: Path = Path("outputs")  # GENART_OUTPUT_DIR: where outputs are written (see Workspace)
    memory_budget_gb: float = 0.0  # GENART_MEMORY_BUDGET_GB: model cache budget; 0 = automatic
    cpu_offload: bool = False  # GENART_CPU_OFFLOAD=1: enable_model_cpu_offload on CUDA
    max_batch: int = 4  # GENART_MAX_BATCH: largest batch one request may ask for
    queue_size: int = (
        64  # GENART_QUEUE_SIZE: requests waiting at most; more get a "queue is full" answer (0 = no limit)
    )
    max_upload_mb: int = 1024  # GENART_MAX_UPLOAD_MB: largest file one upload may be, in MB (0 = no limit)
    max_pixels: int = DEFAULT_MAX_PIXELS  # GENART_MAX_PIXELS: largest input image (width x height)
    eval_max_mb: int = DEFAULT_EVAL_MAX_MB  # GENART_EVAL_MAX_MB: image MB one evaluation reads (0 = no limit)
    device: str = ""  # GENART_DEVICE: force cuda / mps / cpu; empty = best available
    hub_probe_timeout_s: float = 2.0  # GENART_HUB_TIMEOUT: how long to wait for the Hub before going offline
    hub_endpoint: str = "https://huggingface.co"  # HF_ENDPOINT: the Hub (or a mirror) probed at start
    hf_token: str = field(default="", repr=False)  # HF_TOKEN: for gated repos; never logged
    allow_pickle: bool = False  # GENART_ALLOW_PICKLE=1: load repos that ship only pickle weights (weights-only)
    host: str = "127.0.0.1"  # GENART_HOST (else GRADIO_SERVER_NAME, which Hugging Face Spaces set)
    port: int = 7860  # GENART_PORT (else GRADIO_SERVER_PORT)
    share: bool = False  # GENART_SHARE=1: ask Gradio for a public share link
    monitoring: bool = False  # GENART_MONITORING=1: serve Gradio's /monitoring pages (per-endpoint counts, to anyone)
    zerogpu: bool = False  # SPACES_ZERO_GPU (set by Hugging Face on ZeroGPU hardware): tasks run under spaces.GPU
    eval_roots: tuple[
        Path, ...
    ] = ()  # GENART_EVAL_ROOTS (os.pathsep-separated): folders evaluate may read; () = outputs
    fid_weights: str = ""  # GENART_FID_WEIGHTS: local path of the FID Inception weights (torch-fidelity's .pth)
    db_url: str = ""  # GENART_DB_URL: the arena's SQLAlchemy URL; "" = SQLite in the workspace's arena folder
    arena_secret: str = field(default="", repr=False)  # GENART_ARENA_SECRET: signs battle tokens; "" = a key file
    arena_token_ttl_s: float = 1800.0  # GENART_ARENA_TOKEN_TTL: seconds a battle token stays valid
    arena_backup_repo: str = ""  # GENART_ARENA_BACKUP_REPO: Hub dataset for the JSONL vote backup; "" = off
    arena_models: tuple[str, ...] = ()  # GENART_ARENA_MODELS (comma-separated ids): models battles draw from; () = all
    arena_daily_cap: int | None = None  # GENART_ARENA_DAILY_CAP: votes per rater per UTC day that count; None = no cap
    world_size: int = 1  # WORLD_SIZE (set by accelerate launch / torchrun): processes sharing a leaderboard run
    accelerate_cpu: bool = False  # ACCELERATE_USE_CPU=true with MASTER_ADDR: `accelerate launch --cpu` (one process)
    safety_checker: str = "checkpoint"  # GENART_SAFETY_CHECKER: one of SAFETY_CHECKER_POLICIES

    @property
    def workspace(self) -> Workspace:
        """Every path under the output and cache folders."""
        return Workspace(Path(self.output_dir), Path(self.cache_dir))

    def file_routes(self) -> dict[str, Any]:
        """Gradio launch() arguments for files: what may be served by URL (files under the output dir, where results
        are handed back from, except its private folders; Gradio resolves symlinks before checking and refuses the
        rest) and the largest upload accepted (a larger one gets an HTTP 413 naming the limit)."""
        out = Path(self.output_dir).resolve()
        return {
            "allowed_paths": [str(out)],
            "blocked_paths": [str(p.resolve()) for p in self.workspace.private],
            "max_file_size": f"{self.max_upload_mb}mb" if self.max_upload_mb else None,
        }

    def launch_options(self) -> dict[str, Any]:
        """Gradio launch() arguments: where to serve, whether to share, the file routes, and whether Gradio's
        monitoring pages exist (Gradio serves them unless told not to)."""
        return {
            "server_name": self.host,
            "server_port": self.port,
            "share": self.share,
            "enable_monitoring": self.monitoring,
            **self.file_routes(),
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings `env` (default: os.environ) gives; a value genart cannot use raises SettingsError naming it."""
        env = os.environ if env is None else env
        device = (env.get("GENART_DEVICE") or "").strip().lower()
        if device and device not in DEVICES:
            raise SettingsError(
                f"GENART_DEVICE={device!r} is not a device. Allowed: {', '.join(DEVICES)} (or unset "
                "for the best available)."
            )
        safety = (env.get("GENART_SAFETY_CHECKER") or "checkpoint").strip().lower()
        if safety not in SAFETY_CHECKER_POLICIES:
            raise SettingsError(
                f"GENART_SAFETY_CHECKER={safety!r} is not a safety-checker policy. Allowed: checkpoint (keep the "
                "checker a checkpoint ships; the images it flags come back black and are marked), off (load "
                "pipelines without it)."
            )
        return cls(
            offline=_flag(env.get("GENART_OFFLINE")) or _flag(env.get("HF_HUB_OFFLINE")),
            standins=_choice(env, "GENART_STANDINS", STANDIN_POLICIES),
            hub_cache=(env.get("HF_HUB_CACHE") or "").strip()
            or (os.path.join(env["HF_HOME"], "hub") if (env.get("HF_HOME") or "").strip() else ""),
            dtype=_choice(env, "GENART_DTYPE", DTYPES),
            cache_dir=Path(env.get("GENART_CACHE_DIR") or _default_cache_dir(env)),
            output_dir=Path(env.get("GENART_OUTPUT_DIR") or "outputs"),
            memory_budget_gb=_number(env, "GENART_MEMORY_BUDGET_GB", 0.0, float, minimum=0, what="0 = automatic"),
            cpu_offload=_flag(env.get("GENART_CPU_OFFLOAD")),
            max_batch=_number(env, "GENART_MAX_BATCH", 4, int, minimum=1, maximum=256),
            queue_size=_number(env, "GENART_QUEUE_SIZE", 64, int, minimum=0, what="0 = no limit"),
            max_upload_mb=_number(env, "GENART_MAX_UPLOAD_MB", 1024, int, minimum=0, what="0 = no limit"),
            max_pixels=_number(
                env,
                "GENART_MAX_PIXELS",
                DEFAULT_MAX_PIXELS,
                int,
                minimum=1,
                what=f"a pixel count, e.g. {DEFAULT_MAX_PIXELS} for 4096×4096",
            ),
            eval_max_mb=_number(env, "GENART_EVAL_MAX_MB", DEFAULT_EVAL_MAX_MB, int, minimum=0, what="0 = no limit"),
            device=device,
            hub_probe_timeout_s=_number(env, "GENART_HUB_TIMEOUT", 2.0, float, minimum=0.01, maximum=600),
            hub_endpoint=(env.get("HF_ENDPOINT") or "https://huggingface.co").strip(),
            hf_token=env.get("HF_TOKEN") or "",
            allow_pickle=(env.get("GENART_ALLOW_PICKLE") or "").strip() == "1",
            host=env.get("GENART_HOST") or env.get("GRADIO_SERVER_NAME") or "127.0.0.1",
            port=_number(env, "GENART_PORT", None, int, minimum=1, maximum=65535)
            or _number(env, "GRADIO_SERVER_PORT", 7860, int, minimum=1, maximum=65535),
            share=_flag(env.get("GENART_SHARE")),
            monitoring=_flag(env.get("GENART_MONITORING")),
            zerogpu=_flag(env.get("SPACES_ZERO_GPU")),
            eval_roots=tuple(Path(p) for p in (env.get("GENART_EVAL_ROOTS") or "").split(os.pathsep) if p.strip()),
            fid_weights=(env.get("GENART_FID_WEIGHTS") or "").strip(),
            db_url=(env.get("GENART_DB_URL") or "").strip(),
            arena_secret=env.get("GENART_ARENA_SECRET") or "",
            arena_token_ttl_s=_number(
                env, "GENART_ARENA_TOKEN_TTL", 1800.0, float, minimum=1, what="seconds a battle token stays valid"
            ),
            arena_backup_repo=(env.get("GENART_ARENA_BACKUP_REPO") or "").strip(),
            arena_models=tuple(m.strip() for m in (env.get("GENART_ARENA_MODELS") or "").split(",") if m.strip()),
            arena_daily_cap=_number(
                env, "GENART_ARENA_DAILY_CAP", None, int, minimum=1, what="votes per rater per UTC day; unset = no cap"
            ),
            world_size=_number(env, "WORLD_SIZE", 1, int, minimum=1),
            accelerate_cpu=_flag(env.get("ACCELERATE_USE_CPU")) and bool(env.get("MASTER_ADDR")),
            safety_checker=safety,
        )
