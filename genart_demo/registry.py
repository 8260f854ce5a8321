"""Typed loader for the model registry (registry.toml): frozen specs, looked up by short id or task."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .schedulers import compatible_samplers

REGISTRY_FILE = Path(__file__).with_name("registry.toml")

# The tasks a registry entry may serve; each tab lists the models whose `tasks` include its own.
TASKS = (
    "text-to-image",
    "unconditional",
    "class-conditional",
    "image-to-image",
    "inpaint",
    "super-resolve",
    "text-to-video",
    "image-to-video",
    "autoencode",  # bare autoencoders (VAE / VQ-VAE): only the evaluate tab's round trip lists them
)
GENERATE_TASKS = ("text-to-image", "unconditional", "class-conditional")
CONTROLS = (
    "prompt",
    "negative_prompt",
    "guidance",
    "size",
    "scheduler",
    "class_label",
    "strength",
    "image_guidance",
    "noise_level",
    "motion_bucket_id",
    "noise_aug",
    "truncation",
)
# The controls each task's pipelines take (a test checks them against the diffusers signatures);
# an entry's `hide` removes ones its checkpoint ignores, "scheduler" shows only with 2+ samplers, and
# strength / image_guidance / noise_level show only where the entry's defaults give them a value.
TASK_CONTROLS = {
    "text-to-image": ("prompt", "negative_prompt", "guidance", "size", "scheduler"),
    "unconditional": ("scheduler", "truncation"),
    "class-conditional": ("class_label", "guidance", "scheduler"),
    "image-to-image": ("prompt", "negative_prompt", "guidance", "size", "scheduler", "strength", "image_guidance"),
    "inpaint": ("prompt", "negative_prompt", "guidance", "size", "scheduler", "strength"),
    "super-resolve": ("prompt", "negative_prompt", "guidance", "scheduler", "noise_level"),
    "text-to-video": ("prompt", "negative_prompt", "guidance", "size", "scheduler"),
    "image-to-video": ("guidance", "size", "scheduler", "motion_bucket_id", "noise_aug"),
    "autoencode": (),  # encode + decode only: nothing to sample or steer
}
# What a registry entry's `pipeline` names, and so how it loads (genart_demo.loading.LOADERS) and runs.
KINDS = {
    "pipeline": "a diffusers pipeline class, sampled in steps with a scheduler",
    "model": "a bare diffusers model class (an autoencoder: AutoencoderKL, VQModel)",
    "gan": "a GAN translator class of genart_demo.gan (one forward pass)",
    "upscaler": "a single-file ESRGAN-family upscaler read by spandrel (one forward pass per tile)",
}
OPTIONAL_CONTROLS = (
    "strength",
    "image_guidance",
    "noise_level",
    "motion_bucket_id",
    "noise_aug",
    "truncation",
)  # shown when the defaults set them (> 0)


class UnknownModelError(ValueError):
    """A model id that is not in the registry."""


@dataclass(frozen=True)
class Defaults:
    """Default settings and size limits of one checkpoint."""

    steps: int = 50  # num_inference_steps
    min_steps: int = 1  # fewest steps the sampler takes (LTX's shift_terminal stretch divides by zero at 1 step)
    guidance: float = 0.0  # guidance_scale; 0 for models without classifier-free guidance
    width: int = 512  # pixels
    height: int = 512  # pixels
    scheduler: str = "DDIM"  # a name from genart_demo.schedulers.SAMPLERS
    size_min: int = 64  # smallest width/height accepted
    size_max: int = 1024  # largest width/height accepted
    size_multiple: int = 8  # width/height must be a multiple of this (VAE factor, patching)
    max_sequence_length: int = 0  # T5 token budget; 0 = the tokenizer's own model_max_length
    strength: float = 0.0  # img2img/inpaint: how much of the input is re-noised (0 = not used)
    image_guidance: float = 0.0  # InstructPix2Pix image guidance scale (0 = not used)
    noise_level: int = 0  # SD x4 upscaler: noise added to the low-res input (0 = not used)
    tile: int = 512  # super-resolve: input tile side for tiled processing
    frames: int = 0  # video: default number of frames (0 = not a video model)
    max_frames: int = 0  # video: most frames the model is meant to make
    frame_step: int = 1  # video: frames must be 1 + k * frame_step (CogVideoX returns exactly that many only for 8k+1)
    fps: int = 8  # video: default frames per second of the mp4 (and SVD's fps conditioning)
    decode_chunk: int = 0  # video: frames decoded at a time (bounds decoder memory); 0 = all at once
    motion_bucket_id: int = 0  # SVD: amount of motion (0 = not used)
    noise_aug: float = 0.0  # SVD: noise added to the conditioning image (0 = not used)
    truncation: float = 0.0  # GANs: default truncation psi, 0..1 (0 = not used: the pipeline takes no truncation_psi)


@dataclass(frozen=True)
class ModelSpec:
    """One checkpoint of the registry."""

    id: str  # stable short id, e.g. "sdxl-turbo"
    name: str  # display name
    family: str  # ddpm, ddim, score-sde, ldm, dit, sd, sdxl, turbo, pixart, sd3, flux, gan, vae, ...
    tasks: tuple[str, ...]  # subset of TASKS
    repo: str  # Hugging Face Hub repo id
    revision: str  # pinned revision or "main"
    pipeline: str  # diffusers pipeline class name (or model class, e.g. AutoencoderKL, for bare models)
    licence: str
    memory_gb: float  # rough GPU memory at fp16
    defaults: Defaults
    kind: str = "pipeline"  # one of KINDS: what `pipeline` names
    subfolder: str = ""  # folder of the repo holding the model, e.g. "vae" of a pipeline repo; "" = the root
    standin: str = ""  # stand-in key (class, or "Class@variant") of the tiny stand-in; "" = same as `pipeline`
    safetensors: bool = True  # False: the repo has only pickle weights
    gated: bool = False
    gpu_dtype: str = "float16"  # "float16", "bfloat16", or "float32" for models that overflow in half precision
    variant: str = ""  # weight variant to fetch on GPU, e.g. "fp16"
    refiner: str = ""  # id of a refiner entry
    hide: tuple[str, ...] = ()  # controls hidden although the pipeline accepts them
    schedulers: tuple[str, ...] = ()  # explicit usable samplers; () = all compatible ones
    verified: str = ""  # how the repo id and class were checked
    # AUTOMATIC1111's "Model hash" of single-file checkpoints of these weights (the first 10 hex digits of the file's
    # sha256), so a PNG infotext naming one finds this entry; only hashes checked against a published sha256
    hashes: tuple[str, ...] = ()
    scale: int = 0  # super-resolve: output side / input side
    control: str = ""  # ControlNet conditioning computed in the app, e.g. "canny"
    file: str = ""  # single-file checkpoints (GAN upscalers): the weights file in the repo
    components: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # extra parts loaded first, by name
    # Scheduler config keys set on top of the checkpoint's own whenever a sampler is built (the model's documented
    # scheduler where the repo ships another one's config, e.g. AnimateDiff on SD 1.5).
    scheduler_overrides: Mapping[str, object] = field(default_factory=dict)
    extra: Mapping[str, object] = field(default_factory=dict)  # fields later tasks add

    @property
    def standin_class(self) -> str:
        return self.standin or self.pipeline

    def hub_repos(self) -> list[tuple[str, str]]:
        """(repo, revision) of every Hub repo the model loads: its own, then its components' (a ControlNet, a motion
        adapter), whose revision is "main" unless the entry pins one."""
        return [(self.repo, self.revision)] + [(p["repo"], p.get("revision", "main")) for p in self.components.values()]

    @property
    def denoises(self) -> bool:
        """Whether the model samples in steps with a scheduler (a diffusers pipeline), rather than one forward pass."""
        return self.kind == "pipeline"

    @property
    def text_conditioned(self) -> bool:
        return "text-to-image" in self.tasks or "text-to-video" in self.tasks

    def samplers(self) -> list[str]:
        """Sampler names this checkpoint can use (its explicit list, or its default's family); none for a model that
        samples in one forward pass (a GAN)."""
        return compatible_samplers(self.defaults.scheduler, self.schedulers) if self.denoises else []

    def controls(self) -> frozenset[str]:
        """The generate controls that change this model's output (the UI shows only these)."""
        wanted = {c for task in self.tasks for c in TASK_CONTROLS.get(task, ())}
        if len(self.samplers()) < 2:
            wanted.discard("scheduler")
        if self.defaults.size_min >= self.defaults.size_max:  # one size only: nothing to choose
            wanted.discard("size")
        wanted -= {c for c in OPTIONAL_CONTROLS if not getattr(self.defaults, c)}
        return frozenset(c for c in CONTROLS if c in wanted and c not in self.hide)


_SPEC_FIELDS = {f for f in ModelSpec.__dataclass_fields__ if f not in {"id", "defaults", "extra"}}


def _spec_from_table(model_id: str, table: Mapping[str, object]) -> ModelSpec:
    unknown_tasks = set(table.get("tasks", ())) - set(TASKS)
    if unknown_tasks:
        raise ValueError(f"registry entry {model_id!r}: unknown tasks {sorted(unknown_tasks)}; allowed: {TASKS}")
    if table.get("kind", "pipeline") not in KINDS:
        raise ValueError(f"registry entry {model_id!r}: unknown kind {table['kind']!r}; allowed: {', '.join(KINDS)}")
    kwargs = {k: v for k, v in table.items() if k in _SPEC_FIELDS}
    for key in ("tasks", "hide", "schedulers", "hashes"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    extra = {k: v for k, v in table.items() if k not in _SPEC_FIELDS and k != "defaults"}
    return ModelSpec(id=model_id, defaults=Defaults(**table.get("defaults", {})), extra=extra, **kwargs)


class Registry:
    """The model catalogue: an ordered, read-only mapping of id -> ModelSpec."""

    def __init__(self, specs: Mapping[str, ModelSpec]):
        self._specs = dict(specs)

    @classmethod
    def load(cls, path: str | Path = REGISTRY_FILE) -> Registry:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        return cls({mid: _spec_from_table(mid, table) for mid, table in data.get("models", {}).items()})

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and model_id in self._specs

    def ids(self) -> list[str]:
        return list(self._specs)

    def get(self, model_id: str) -> ModelSpec:
        if not isinstance(model_id, str):  # e.g. a list sent to an API endpoint: unhashable, so check before looking up
            raise UnknownModelError(
                f"A model id must be text, one of: {', '.join(self._specs)}; got a {type(model_id).__name__}."
            )
        try:
            return self._specs[model_id]
        except KeyError:
            raise UnknownModelError(f"Unknown model {model_id!r}. Known models: {', '.join(self._specs)}.") from None

    def for_tasks(self, tasks: tuple[str, ...] | list[str]) -> list[ModelSpec]:
        return [s for s in self._specs.values() if set(s.tasks) & set(tasks)]
