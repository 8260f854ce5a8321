"""Hub -> pipeline on the best device, and the process-wide LRU cache of loaded pipelines."""

from __future__ import annotations

import concurrent.futures
import logging
import pickle
import re
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

from .dtypes import cast_pipeline_inputs
from .hubfacts import MissingFacts, repo_facts
from .memory import offload_for
from .registry import ModelSpec
from .safety import safety_checker_kwargs
from .settings import Settings
from .tiny.store import ensure_standin
from .tiny.table import STANDIN_CLASSES, STANDIN_FRAMES, STANDIN_SIZES, standin_class_name

log = logging.getLogger("genart.loading")

STANDIN_SIZE_RANGE = (32, 256)  # width/height range offered for tiny stand-ins (keeps CPU runs quick)
STANDIN_NOTICE = (
    "Offline mode: outputs come from a tiny random-weight stand-in of the same pipeline class, "
    "not from the real checkpoint. They are noise-like by design."
)


class LoadError(RuntimeError):
    """A checkpoint that cannot be loaded, with the reason and what to do."""


def best_device(forced: str = "") -> str:
    """cuda > mps > cpu, unless GENART_DEVICE forces one."""
    import torch  # lazy: torch takes seconds to import; only model work needs it

    if forced:  # Settings.from_env has checked it is one of DEVICES
        return forced
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def dtype_for(device: str, spec: ModelSpec, mode: str = ""):
    """The dtype `spec` runs in: its GPU dtype (fp16/bf16, per the registry entry) on a GPU, fp32 on CPU and for
    entries that overflow in half precision. `mode` is Settings.dtype: "gpu" gives the GPU dtype on any device (to
    check half-precision paths on a CPU), "float32" always fp32."""
    import torch  # lazy: torch takes seconds to import; only model work needs it

    if mode == "float32" or spec.gpu_dtype == "float32" or (device == "cpu" and mode != "gpu"):
        return torch.float32
    if device == "mps":
        return torch.float16
    return {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(spec.gpu_dtype, torch.float16)


def wants_variant(device: str, settings: Settings) -> bool:
    """Whether to ask for an entry's reduced-precision weight files (`variant`, e.g. "fp16"): on a GPU, or wherever
    Settings.dtype says to run the GPU dtype."""
    return device != "cpu" or settings.dtype == "gpu"


def hub_kwargs(settings: Settings, revision: str) -> dict[str, Any]:
    """The from_pretrained arguments that say where a real checkpoint comes from: its revision, the token, the local
    Hub cache (HF_HUB_CACHE), and offline, the local cache only."""
    kwargs: dict[str, Any] = {"revision": revision, "token": settings.hf_token or None}
    if settings.hub_cache:
        kwargs["cache_dir"] = settings.hub_cache
    if settings.offline:
        kwargs["local_files_only"] = True
    return kwargs


def _probe_files(spec: ModelSpec) -> list[tuple[str, str, str]]:
    """(repo, revision, file) for each file whose presence in the local Hub cache shows that `spec` can load from it:
    a pipeline's model_index.json, a bare model's config.json, an upscaler's weights file, and each component's
    config.json."""
    first = {
        "pipeline": "model_index.json",
        "model": f"{spec.subfolder}/config.json" if spec.subfolder else "config.json",
        "gan": "model.safetensors" if spec.safetensors else "pytorch_model.bin",  # these repos ship no config.json
        "upscaler": spec.file,
    }[spec.kind]
    (own, *parts) = spec.hub_repos()
    return [(*own, first)] + [(repo, revision, "config.json") for repo, revision in parts]


def is_cached(spec: ModelSpec, settings: Settings) -> bool:
    """Whether `spec`'s checkpoint is in the local Hub cache (so it can run offline for real, not as a stand-in)."""
    from huggingface_hub import try_to_load_from_cache  # lazy: only asked offline, when deciding per model

    cache_dir = settings.hub_cache or None
    return all(
        isinstance(try_to_load_from_cache(repo, name, cache_dir=cache_dir, revision=revision), str)
        for repo, revision, name in _probe_files(spec)
    )


def hub_reachable(endpoint: str = "https://huggingface.co", timeout_s: float = 2.0) -> bool:
    """Whether the Hub at `endpoint` answers a TCP connection within `timeout_s` (DNS included); never hangs longer."""
    url = urlparse(endpoint)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)

    def connect() -> bool:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(connect).result(timeout=timeout_s)
    except Exception:  # noqa: BLE001  (any failure, DNS, refusal or timeout, means "not reachable")
        return False
    finally:
        pool.shutdown(wait=False)


def runs_standin(spec: ModelSpec, settings: Settings, offline: bool) -> bool:
    """Whether `spec` runs as its tiny stand-in: only offline, and then only when its checkpoint is not in the local
    Hub cache (or GENART_STANDINS=always says every model should)."""
    if not offline:
        return False
    return settings.standins == "always" or not is_cached(spec, settings)


def effective_spec(spec: ModelSpec, standin: bool) -> ModelSpec:
    """The spec as the studio runs it: for a stand-in, sizes are the tiny model's."""
    if not standin:
        return spec
    multiple = spec.defaults.size_multiple
    side = max(STANDIN_SIZES.get(spec.standin_class, 64), multiple)  # a fixed-size model (pix2pix: 256) keeps its size
    video = {}
    if spec.defaults.frames:  # stand-ins make short clips; the real model's maximum still bounds requests
        frames = STANDIN_FRAMES.get(spec.standin_class, 8)
        video = {"frames": frames, "decode_chunk": min(spec.defaults.decode_chunk, frames)}
    return replace(
        spec,
        defaults=replace(
            spec.defaults,
            width=side,
            height=side,
            size_min=max(STANDIN_SIZE_RANGE[0], multiple),
            size_max=STANDIN_SIZE_RANGE[1],
            **video,
        ),
    )


def _torch_modules(pipe: Any) -> list:
    """The torch modules a loaded model holds: a diffusers pipeline's components, a bare module, or a
    spandrel descriptor's `.model`."""
    import torch  # lazy: torch takes seconds to import; only model work needs it

    if isinstance(pipe, torch.nn.Module):
        return [pipe]
    if hasattr(pipe, "components"):
        return [c for c in pipe.components.values() if isinstance(c, torch.nn.Module)]
    model = getattr(pipe, "model", None)
    return [model] if isinstance(model, torch.nn.Module) else []


def pipeline_nbytes(pipe: Any) -> int:
    """Bytes held by the parameters and buffers of every torch module in a loaded model."""
    total = 0
    for module in _torch_modules(pipe):
        total += sum(t.numel() * t.element_size() for t in module.parameters())
        total += sum(t.numel() * t.element_size() for t in module.buffers())
    return total


def _load_gan(spec: ModelSpec, *, standin: bool, device: str, settings: Settings) -> Any:
    """A GAN translator (torch module with the Hub mixin): its weights (model.safetensors, or pytorch_model.bin read
    weights-only), config.json where the repo has one (the class defaults are the real repos' configs)."""
    from .gan import GAN_CLASSES, ensure_gan_standin  # lazy: imports torch (seconds); only this path needs it

    cls = GAN_CLASSES[spec.pipeline]
    if standin:
        model = cls.from_pretrained(str(ensure_gan_standin(spec.pipeline, settings.cache_dir)))
    elif settings.offline:  # the repos ship no config.json, which the Hub mixin only forgives when the Hub says 404
        from huggingface_hub import snapshot_download  # lazy: only an offline load of a cached GAN needs it

        hub = hub_kwargs(settings, spec.revision)
        try:
            folder = snapshot_download(
                spec.repo, revision=spec.revision, cache_dir=hub.get("cache_dir"), local_files_only=True
            )
        except Exception as exc:  # any lookup failure means "not in the local cache"
            raise LoadError(f"Could not load {spec.id} from the local Hub cache (genart is offline): {exc}") from exc
        model = cls.from_pretrained(folder)
    else:
        model = cls.from_pretrained(spec.repo, **hub_kwargs(settings, spec.revision))
    return model.to(device=device, dtype=dtype_for(device, spec, settings.dtype)).eval()


def _load_spandrel(spec: ModelSpec, *, standin: bool, device: str, settings: Settings) -> Any:
    """A single-file GAN upscaler (ESRGAN family) read by spandrel from safetensors or a weights-only pickle."""
    # lazy: imports torch (seconds); only this path needs it
    from .sr import ensure_sr_standin, load_sr_file, load_sr_model

    if standin:
        descriptor = load_sr_file(ensure_sr_standin(settings.cache_dir, spec.scale or 4))
    else:
        descriptor = load_sr_model(spec.repo, spec.file, **hub_kwargs(settings, spec.revision))
    dtype = dtype_for(device, spec, settings.dtype)
    half_ok = {"torch.float16": descriptor.supports_half, "torch.bfloat16": descriptor.supports_bfloat16}
    if not half_ok.get(str(dtype), True):  # an architecture spandrel knows to misbehave in that precision stays fp32
        dtype = descriptor.dtype
    descriptor.to(device, dtype)
    return descriptor


def _load_autoencoder(spec: ModelSpec, *, standin: bool, device: str, settings: Settings) -> Any:
    """A bare diffusers autoencoder (AutoencoderKL, VQModel): from the repo (root or `subfolder`), or its stand-in.

    Both go through `cls.from_pretrained(..., use_safetensors=True)` as pipelines do; returned on `device` in eval mode.
    """
    import diffusers  # lazy: diffusers takes seconds to import; only loading a model needs it

    kwargs: dict[str, Any] = {"dtype": dtype_for(device, spec, settings.dtype), "use_safetensors": True}
    if standin:
        source = str(ensure_standin(spec.standin_class, settings.cache_dir))
        cls_name = standin_class_name(spec.standin_class)
    else:
        source, cls_name = spec.repo, spec.pipeline
        kwargs.update(hub_kwargs(settings, spec.revision), use_safetensors=spec.safetensors)
        if spec.subfolder:
            kwargs["subfolder"] = spec.subfolder
        if wants_variant(device, settings) and spec.variant:
            kwargs["variant"] = spec.variant
    model = _from_pretrained(getattr(diffusers, cls_name), source, kwargs, spec)
    return model.to(device).eval()


def _from_pretrained(cls: Any, source: str, kwargs: dict[str, Any], spec: ModelSpec) -> Any:
    """`cls.from_pretrained(source, **kwargs)`, retried without `variant` when the repo lacks those weights;
    a missing or unreachable checkpoint becomes a LoadError saying what to do."""
    try:
        try:
            return cls.from_pretrained(source, **kwargs)
        except (OSError, ValueError) as exc:
            if not lacks_variant(exc, kwargs.get("variant")):
                raise
            log.info("%s has no %s weights; loading the full-precision files", spec.repo, kwargs.pop("variant"))
            return cls.from_pretrained(source, **kwargs)
    except OSError as exc:
        hint = " It is gated: accept its terms on the Hub and set HF_TOKEN." if spec.gated else ""
        if kwargs.get("local_files_only"):
            hint += " genart is offline (GENART_OFFLINE / HF_HUB_OFFLINE): only the local Hub cache was read."
        raise LoadError(f"Could not load {spec.id} from {source}: {exc}.{hint}") from exc


def lacks_variant(exc: BaseException, variant: str | None) -> bool:
    """Whether `exc` is from_pretrained saying the repo has no `variant` weight files: a pipeline says "variant", a
    bare model names the missing file (e.g. "does not appear to have a file named
    diffusion_pytorch_model.fp16.safetensors", or "no file named ... found in directory" for a local folder)."""
    if not variant:
        return False
    text = str(exc)
    return "variant" in text or f".{variant}." in text


def refused_pickle(exc: BaseException) -> str | None:
    """torch's reason when `exc` (or an error it was raised from) is a weights-only unpickler refusing a file, e.g.
    "Unsupported global: GLOBAL io.open"; None for any other error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, pickle.UnpicklingError):
            found = re.search(r"Unsupported (global: GLOBAL \S+|operand \S+)", str(exc))
            return found.group(0).rstrip(".") if found else "objects other than tensors"
        exc = exc.__cause__ or exc.__context__
    return None


def load_pipeline(spec: ModelSpec, *, standin: bool, device: str, settings: Settings) -> Any:
    """Build the model for `spec`: from the Hub, or from its stand-in saved in the cache dir.

    Both go through the same `from_pretrained(..., use_safetensors=True)` call; only the source differs. Pickle weights
    (GAN upscalers' .pth, or .bin repos allowed by GENART_ALLOW_PICKLE=1) are only ever read weights-only (diffusers,
    transformers, huggingface_hub and genart.sr all call torch.load(weights_only=True)); a file holding anything
    else is refused with a LoadError, and none of its code runs.
    """
    try:
        return _build_pipeline(spec, standin=standin, device=device, settings=settings)
    except Exception as exc:
        reason = refused_pickle(exc)
        if reason is None:
            raise
        source = "its stand-in" if standin else spec.repo
        raise LoadError(
            f"Refused to load {spec.id} from {source}: a pickle weights file in it holds more than tensors ({reason}), "
            "which could run code when unpickled. genart reads pickle weights only with torch.load(weights_only=True) "
            "and never unpickles other objects; use a safetensors checkpoint or a plain state dict of tensors."
        ) from exc


def _build_pipeline(spec: ModelSpec, *, standin: bool, device: str, settings: Settings) -> Any:
    """load_pipeline's work, without turning a refused pickle into a LoadError."""
    if not standin and not spec.safetensors and not settings.allow_pickle:
        raise LoadError(
            f"{spec.repo} ships only pickle (.bin) weights; genart loads safetensors only. "
            "Set GENART_ALLOW_PICKLE=1 to load it anyway (only for repos you trust)."
        )
    return LOADERS[spec.kind](spec, standin=standin, device=device, settings=settings)


def _load_diffusers_pipeline(spec: ModelSpec, *, standin: bool, device: str, settings: Settings) -> Any:
    """A diffusers pipeline from the repo (its components, e.g. a ControlNet, loaded first), or its stand-in."""
    import diffusers  # lazy: seconds to import; the app serves before any model is needed
    import torch  # lazy: torch takes seconds to import; only model work needs it

    dtype = dtype_for(device, spec, settings.dtype)
    kwargs: dict[str, Any] = {"dtype": dtype, "use_safetensors": True}
    if standin:
        source = str(ensure_standin(spec.standin_class, settings.cache_dir))
        cls_name = standin_class_name(spec.standin_class)
    else:
        if not spec.safetensors:  # allowed above by GENART_ALLOW_PICKLE=1
            kwargs["use_safetensors"] = False
        source, cls_name = spec.repo, spec.pipeline
        kwargs.update(hub_kwargs(settings, spec.revision))
        if wants_variant(device, settings) and spec.variant:
            kwargs["variant"] = spec.variant
        for name, part in spec.components.items():  # e.g. a ControlNet, loaded first and handed in
            part_cls = getattr(diffusers, part["class"])
            kwargs[name] = part_cls.from_pretrained(
                part["repo"], dtype=dtype, use_safetensors=True, **hub_kwargs(settings, part.get("revision", "main"))
            )
    pipeline_class = getattr(diffusers, cls_name)
    kwargs.update(safety_checker_kwargs(pipeline_class, settings.safety_checker))  # GENART_SAFETY_CHECKER
    pipe = _from_pretrained(pipeline_class, source, kwargs, spec)
    if standin:
        use_real_scheduler(pipe, spec)
    if dtype != torch.float32:
        cast_pipeline_inputs(pipe)  # pipelines that make float32 noise (score SDE, LDM) would fail in fp16/bf16
    offload = offload_for(spec, device, settings, standin=standin)  # the memory plan's, or GENART_CPU_OFFLOAD=1
    if offload == "sequential":
        pipe.enable_sequential_cpu_offload()
    elif offload:
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def use_real_scheduler(pipe: Any, spec: ModelSpec) -> None:
    """Give a stand-in the scheduler its real repo ships (class and config, from genart_demo/hubfacts), so offline
    sampling behaves as the real checkpoint's does (e.g. SD 1.5's `clip_sample: false`, SD 2.1's v-prediction,
    sd-turbo's trailing timesteps). Where no facts are committed the stand-in keeps its own."""
    import diffusers  # lazy: seconds to import; only loading a model needs it

    try:
        found = repo_facts(spec.repo, spec.revision).scheduler()
    except MissingFacts:
        return
    if found is not None and getattr(pipe, "scheduler", None) is not None:
        cls_name, config = found
        pipe.scheduler = getattr(diffusers, cls_name).from_config(config)


def offline_capable(spec: ModelSpec) -> bool:
    """Whether `spec` has a tiny stand-in to run offline: every GAN, upscaler and bare model kind does; a diffusers
    pipeline does when the stand-in table has its class."""
    return spec.kind != "pipeline" or spec.standin_class in STANDIN_CLASSES


# How each kind of registry entry (registry.KINDS) loads: the one place that branches on it.
LOADERS: dict[str, Callable[..., Any]] = {
    "pipeline": _load_diffusers_pipeline,
    "model": _load_autoencoder,
    "gan": _load_gan,
    "upscaler": _load_spandrel,
}
