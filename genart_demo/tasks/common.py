"""What every task shares: seeds, per-step progress, sampler switching, input checks, saving outputs (prompt-length
warnings: prompt_length.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..cache import LoadedPipeline
from ..errors import InputError
from ..fields import unencodable_at
from ..media import save_png
from ..registry import ModelSpec
from ..run_settings import ONE_PASS_SAMPLER, RunSettings
from ..schedulers import build_scheduler, sampler
from ..settings import MAX_GUIDANCE, MAX_SEED, MAX_STEPS, MIN_GUIDANCE
from ..studio import Studio
from ..workspace import Workspace

# progress(done, total, description): called after every denoising step.
ProgressFn = Callable[[int, int, str], None]
# Prompts longer than this are refused: the longest text encoder here (T5, 512 tokens) reads about 2,500 characters,
# and anything past that would only be cut off (a shorter prompt that is cut gets a warning instead).
MAX_PROMPT_CHARS = 4000


MODEL_HELP = "registry id (see `genart models --task ...`)"


def option(default: Any = dataclasses.MISSING, help: str = "", **cli: Any) -> Any:
    """A request field with its command-line help (and argparse extras such as choices, nargs or metavar); no
    default means required. The `genart` commands are built from the request dataclasses, so each field is
    declared once."""
    return dataclasses.field(default=default, metadata={"help": help, **cli})


class TaskRequest:
    """What every task request (a frozen dataclass) has: `model`, the registry id of the model it runs."""

    model: str

    def model_ids(self) -> tuple[str, ...]:
        """Registry ids of the models this request runs (ZeroGPU sizes its GPU time from them)."""
        return (self.model,)


def request_from_run_settings(cls: type, settings: RunSettings, **fixed: Any) -> Any:
    """A `cls` request remaking one output from its read-back settings: each request field the settings hold a value
    for under the same name (a field a later version adds comes along), then `fixed`; the rest keep their defaults,
    and a required field the settings lack (an input image) is None."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        value = getattr(settings, f.name, None)
        if f.name == "scheduler" and value in ("", ONE_PASS_SAMPLER):  # none recorded, or a one-pass model's
            continue
        if value is not None:
            values[f.name] = value
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            values[f.name] = None
    return cls(**{**values, **fixed})


@cache
def pipeline_params(pipeline_class: str) -> frozenset[str]:
    """Argument names of a diffusers pipeline's __call__, or of a genart GAN's forward (a torch module's __call__
    passes its arguments on to forward); imports the class, allocates nothing."""
    from ..gan import GAN_CLASSES  # lazy: imports torch (seconds); only a model run needs it

    if pipeline_class in GAN_CLASSES:
        return frozenset(inspect.signature(GAN_CLASSES[pipeline_class].forward).parameters)
    import diffusers  # lazy: importing diffusers takes seconds; the app serves before any pipeline is needed

    return frozenset(inspect.signature(getattr(diffusers, pipeline_class).__call__).parameters)


def resolve_seed(seed: int | None) -> int:
    """-1 (or None) -> a fresh random seed; otherwise the seed itself, checked against 0..MAX_SEED."""
    if seed is None or seed == -1:
        return secrets.randbelow(MAX_SEED + 1)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"Seed {seed!r} is not allowed: use -1 for a random seed, or an integer 0..{MAX_SEED}.")
    return seed


def generators(seed: int, count: int) -> list:
    """One CPU generator per image; image i uses seed + i, so any image can be remade alone."""
    import torch  # lazy: torch takes seconds to import; building the app must not need it

    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(count)]


@cache
def takes_generator_list(pipeline_class: str) -> bool:
    """Whether a pipeline's `generator` argument takes a list, one per image (most do; aMUSEd's and unCLIP's take
    a single generator, from the annotation of their __call__)."""
    import diffusers  # lazy: importing diffusers takes seconds; the app serves before any pipeline is needed

    cls = getattr(diffusers, pipeline_class, None)
    param = inspect.signature(cls.__call__).parameters.get("generator") if cls is not None else None
    return param is None or "list" in str(param.annotation).lower()


def generator_arg(pipeline_class: str, seed: int, count: int) -> Any:
    """The `generator` argument for `count` images: one generator per image (seed + i), or the single generator a
    pipeline that takes only one needs; such a pipeline makes one image per call, since image i of a batch must be
    remakeable alone from seed + i."""
    gens = generators(seed, count)
    if takes_generator_list(pipeline_class):
        return gens
    if count > 1:
        raise InputError(
            f"{pipeline_class} takes a single random generator, so it makes one image per call: batch must be 1; "
            f"got {count}."
        )
    return gens[0]


def check_steps(steps: Any, minimum: int = 1, model: str = "") -> int:
    """`steps` if it is a whole number from `minimum` (the model's fewest, where it names itself) to MAX_STEPS."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not minimum <= steps <= MAX_STEPS:
        where = f" for {model}" if model else ""
        raise InputError(f"Steps must be a whole number from {minimum} to {MAX_STEPS}{where}; got {steps!r}.")
    return steps


def check_guidance(guidance: Any) -> float:
    try:
        value = float(guidance)
    except (TypeError, ValueError):
        raise InputError(
            f"Guidance scale must be a number from {MIN_GUIDANCE:g} to {MAX_GUIDANCE:g}; got {guidance!r}."
        ) from None
    if not MIN_GUIDANCE <= value <= MAX_GUIDANCE:
        raise InputError(f"Guidance scale must be from {MIN_GUIDANCE:g} to {MAX_GUIDANCE:g}; got {value:g}.")
    return value


def check_unit_interval(label: str, value: Any) -> float:
    """A setting that must lie in [0, 1], such as img2img strength."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{label} must be a number from 0 to 1; got {value!r}.") from None
    if not 0.0 <= number <= 1.0:
        raise InputError(f"{label} must be from 0 to 1; got {number:g}.")
    return number


def check_denoising_steps(steps: int | None, strength: float | None) -> None:
    """Refuse img2img/inpaint settings that leave no denoising step: diffusers runs int(steps x strength) steps (the
    last `strength` share of the schedule) and crashes on 0 ("cannot reshape tensor of 0 elements")."""
    if steps is None or strength is None or int(steps * strength) >= 1:
        return
    if strength <= 0:
        raise InputError("Strength 0 runs no denoising step and would return the input unchanged: use more than 0.")
    raise InputError(
        f"{steps} step(s) at strength {strength:g} run int({steps} x {strength:g}) = 0 denoising steps (only the last "
        f"`strength` share of the schedule runs): use at least {math.ceil(1 / strength - 1e-9)} steps at this "
        f"strength, or a strength of at least {1 / steps:.3g} at {steps} step(s)."
    )


def check_size(spec: ModelSpec, width: Any, height: Any) -> tuple[int, int]:
    d = spec.defaults
    for label, value in (("Width", width), ("Height", height)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{label} must be a whole number of pixels; got {value!r}.")
        if value % d.size_multiple or not d.size_min <= value <= d.size_max:
            raise InputError(
                f"{label} {value} is not allowed for {spec.id}: use a multiple of {d.size_multiple} "
                f"from {d.size_min} to {d.size_max}."
            )
    return width, height


def spec_for_tasks(studio: Studio, model_id: str, tasks: tuple[str, ...], label: str) -> ModelSpec:
    """The model's spec as it runs here, refused (naming the models that fit) unless it serves one of `tasks`.
    `label` names those models in the message, e.g. "Inpaint models"."""
    spec = studio.spec(model_id)
    if not set(spec.tasks) & set(tasks):
        usable = ", ".join(s.id for s in studio.registry.for_tasks(tasks))
        raise InputError(f"{spec.id} cannot be used here (it serves {', '.join(spec.tasks)}). {label}: {usable}.")
    return spec


def model_settings(studio: Studio, spec: ModelSpec, req: Any) -> dict[str, Any]:
    """The RunSettings fields every task fills the same way: the model as it was loaded, and the text it was given
    (blank where the model takes no prompt or negative prompt)."""
    controls = spec.controls()
    return {
        "model": spec.id,
        "repo": spec.repo,
        "revision": spec.revision,
        "pipeline": spec.pipeline,
        "standin": studio.runs_standin(spec),
        "prompt": req.prompt if "prompt" in controls else "",
        "negative_prompt": req.negative_prompt if "negative_prompt" in controls else "",
    }


def is_blank(text: str | None) -> bool:
    """True for text with nothing to draw: empty, whitespace, or only invisible format characters (zero-width
    spaces and joiners, the byte-order mark: Unicode category Cf)."""
    return not "".join(ch for ch in (text or "") if unicodedata.category(ch) != "Cf").strip()


def text_problem(text: str, label: str, limit: int = MAX_PROMPT_CHARS) -> str | None:
    """Why `text` (called `label`) cannot be used as a prompt, or None: text that is not encodable (a lone UTF-16
    surrogate, as a broken copy-paste or client can send), or longer than `limit` characters."""
    if (at := unencodable_at(text)) is not None:
        return (
            f"The {label} holds a character that is not valid text (a lone surrogate, {text[at]!r} at "
            f"position {at}): retype or paste it again as plain text."
        )
    if len(text) > limit:
        return (
            f"The {label} is {len(text):,} characters long; at most {limit:,} are allowed "
            "(text encoders read far less: longer text would only be cut off)."
        )
    return None


def check_prompts(prompt: str, negative_prompt: str = "") -> None:
    """Refuse a prompt or negative prompt that is not encodable text or longer than MAX_PROMPT_CHARS."""
    for label, text in (("prompt", prompt), ("negative prompt", negative_prompt)):
        problem = text_problem(text or "", label)
        if problem:
            raise InputError(problem)


def check_batch(studio: Studio, batch: Any) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= studio.settings.max_batch:
        raise InputError(f"Batch size must be from 1 to {studio.settings.max_batch}; got {batch!r}.")
    return batch


def check_scheduler(spec: ModelSpec, name: str | None) -> str:
    """The sampler to use (the model's default when None); unknown or incompatible names are refused with
    the names that are allowed."""
    chosen = name or spec.defaults.scheduler
    sampler(chosen)  # unknown names get the full list
    if chosen not in spec.samplers():
        raise InputError(
            f"Scheduler {chosen!r} does not work with {spec.id}. Compatible schedulers: {', '.join(spec.samplers())}."
        )
    return chosen


def use_sampler(entry: LoadedPipeline, name: str) -> None:
    """Give the pipeline scheduler `name`, built from the checkpoint's own config with the registry entry's
    `scheduler_overrides` on top (refused if incompatible).

    Rebuilt only when the sampler changes: every pipeline call starts with set_timesteps, which resets a
    scheduler's per-run state, so reusing the instance across calls (under the entry's lock) is safe."""
    if not name:  # a one-pass model (a GAN generator) has no sampler to set
        return
    if entry.sampler != name:
        spec = entry.spec
        entry.pipe.scheduler = build_scheduler(name, entry.scheduler_config, spec.samplers(), spec.scheduler_overrides)
        entry.sampler = name


class _CountingBar:
    """Stands in for a pipeline's tqdm bar: counts steps and reports them (iterable or with/update use)."""

    def __init__(self, iterable: Iterable | None, report: Callable[[], None]):
        self._iterable, self._report = iterable, report

    def __iter__(self):
        for item in self._iterable if self._iterable is not None else ():
            yield item
            self._report()

    def update(self, n: int = 1) -> None:
        for _ in range(n):
            self._report()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


@contextlib.contextmanager
def step_progress(pipe: Any, kwargs: dict, progress: ProgressFn | None, total: int, start: int, desc: str):
    """Route per-step progress to `progress`: the diffusers step callback where the pipeline takes one,
    else its progress bar (pipelines such as DDPMPipeline have no callback). Yields a one-item list holding
    the steps done so far, so a following stage (a refiner) can continue the count."""
    done = [start]
    if progress is None:
        yield done
        return

    def report() -> None:
        done[0] += 1
        progress(min(done[0], total), total, desc)

    if "callback_on_step_end" in pipeline_params(type(pipe).__name__):

        def on_step_end(_pipe, _i, _t, callback_kwargs):
            report()
            return callback_kwargs

        kwargs["callback_on_step_end"] = on_step_end
        yield done
        return
    pipe.progress_bar = lambda iterable=None, total=None: _CountingBar(iterable, report)
    try:
        yield done
    finally:
        del pipe.progress_bar


def workspace_for(studio: Studio, output_dir: Path | None) -> Workspace:
    """The studio's workspace, with its outputs somewhere else when a caller gives `output_dir`."""
    workspace = studio.settings.workspace
    return workspace if output_dir is None else dataclasses.replace(workspace, outputs=Path(output_dir))


def save_images(images: Sequence, settings: Sequence[RunSettings], workspace: Workspace) -> list[Path]:
    """Save each image with its own settings chunk under the workspace's dated folder; the paths in order."""
    return [save_png(img, workspace.output_path(s.model, s.seed), s) for img, s in zip(images, settings)]


def to_tensor(image):
    """An RGB PIL image as (1, 3, H, W) float32 in [0, 1]."""
    import torch  # lazy: see generators

    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]  # (1, 3, H, W)


def to_image(x):
    """(1, 3, H, W) in [0, 1] back to an RGB PIL image (clamped, rounded to 8 bits)."""
    arr = (x[0].permute(1, 2, 0).clamp(0, 1).cpu().float().numpy() * 255.0).round().astype(np.uint8)
    return Image.fromarray(arr)
