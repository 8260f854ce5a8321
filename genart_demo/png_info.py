"""PNG info: the settings a PNG (or genart mp4) carries, the registry model they match, and each tab's form values.

genart's own files carry every setting as JSON (the `genart` chunk, read first); AUTOMATIC1111 and the tools that copy
it write a `parameters` text, read with genart's A1111 labels. "Send to" turns the settings into the request of the
target tab's task (`request_from_settings` beside each task) and so into that form's values, keyed by request field.
Nothing is guessed: a model not matched by registry id, Hub repo or A1111 "Model hash", a sampler genart does not have,
a label genart has no control for and the input image (never in the file) are listed as not restored, with the value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from PIL import Image

from .errors import InputError
from .registry import GENERATE_TASKS, ModelSpec, Registry
from .run_settings import JSON_KEY, PARAMETERS_KEY, RunSettings, parse_parameters
from .schedulers import SAMPLERS
from .tasks import generate, inpaint, translate, upscale, video
from .video import probe_mp4

MODEL_HASH = "Model hash"  # A1111's label: the first 10 hex digits of the checkpoint file's sha256
INPUT_FIELDS = ("image", "mask", "reference")  # request fields holding files, which no PNG holds
# Settings fields that record facts about a run rather than set a control (the repo and class are how the model is
# matched; the safety flag, version and metrics describe the output).
RUN_FACTS = frozenset({"model", "repo", "revision", "pipeline", "standin", "nsfw_flagged", "genart", "extra"})
RUN_FACTS |= {"metrics", "input_size", "class_index"}
# Per task, settings fields that describe its output and follow from the input and the model (an inpaint canvas is
# the image plus the outpaint sizes; an upscaler's scale and output size are the model's), so no control takes them.
OUTPUT_FACTS = {"inpaint": ("width", "height"), "upscale": ("scale", "width", "height")}
RENAMED = {"work_width": "width", "work_height": "height"}  # inpaint settings field -> request field
# Settings fields that only record something about another field: named as not restored only where that one is empty
# (the LoRA hashes of a genart PNG come back with its LoRAs; an A1111 text's, with no LoRA genart can load, do not).
RECORDS_OF = {"lora_hashes": "loras"}
NO_SETTINGS = (
    "No settings found in this file: it has neither genart's `genart` JSON chunk nor an AUTOMATIC1111 `parameters` "
    "text. (ComfyUI writes its workflow as `prompt`/`workflow` chunks, which genart does not read.)"
)


@dataclass(frozen=True)
class SendTarget:
    """A form settings can be sent to: a tab's (or, for Compare, part of a tab's) request form."""

    key: str  # "generate", "compare", ...
    title: str  # shown on its button: "Send to <title>"
    tab: str  # key of the page (tab) holding the form
    task: str  # the settings class (run_settings.TASK_SETTINGS key) an A1111 text is read as for this form
    tasks: tuple[str, ...]  # registry tasks of the models the form runs
    request: Callable[[RunSettings], Any]  # settings -> the task's request (`request_from_settings`)


SEND_TARGETS = (
    SendTarget("generate", "Generate", "generate", "generate", GENERATE_TASKS, generate.request_from_settings),
    SendTarget("compare", "Compare", "generate", "generate", GENERATE_TASKS, generate.request_from_settings),
    SendTarget(
        "translate", "Translate", "translate", "translate", ("image-to-image",), translate.request_from_settings
    ),
    SendTarget("inpaint", "Inpaint", "inpaint", "inpaint", ("inpaint",), inpaint.request_from_settings),
    SendTarget("upscale", "Super-resolve", "upscale", "upscale", ("super-resolve",), upscale.request_from_settings),
    SendTarget("video", "Video", "video", "video", video.VIDEO_TASKS, video.request_from_settings),
)
TARGETS = {t.key: t for t in SEND_TARGETS}


@dataclass(frozen=True)
class FileSettings:
    """What a dropped file says about how it was made."""

    settings: RunSettings | None  # None: the file carries no settings genart reads
    source: str  # "genart" (the JSON), "parameters" (an A1111 text) or "" (none)
    parameters: Mapping[str, Any] = field(default_factory=dict)  # the A1111 text's values, by genart field name

    @property
    def message(self) -> str:
        if self.settings is None:
            return NO_SETTINGS
        where = "genart's JSON chunk" if self.source == "genart" else "an AUTOMATIC1111 `parameters` text"
        return f"Settings of a {self.settings.task} run, read from {where}."

    def settings_for(self, target: SendTarget) -> RunSettings:
        """The settings as the target's task reads them: an A1111 text is read with that task's fields (an img2img
        text's denoising strength becomes Translate's strength); genart's JSON stays what it was."""
        if self.settings is None:
            raise InputError(NO_SETTINGS)
        if self.source == "parameters":
            return RunSettings.from_metadata({**self.parameters, "task": target.task})
        return self.settings


@dataclass(frozen=True)
class SendValues:
    """A target form's values for a file's settings, and what could not be restored."""

    values: dict[str, Any]  # by request field (Compare: its own form's fields)
    not_restored: list[tuple[str, str]]  # (name, value) of each setting left out, and why where it helps
    model: ModelSpec | None  # the registry entry matched
    matched_by: str  # "registry id", "Hub repo", "Model hash ..." or ""


def read_file_settings(source: str | Path | Image.Image) -> FileSettings:
    """The settings in a PNG (genart's JSON first, else an A1111 `parameters` text) or a genart mp4 (its comment
    tag); InputError for a file that is neither a readable image nor a video."""
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".mp4":
        data = probe_mp4(source).metadata
        return FileSettings(RunSettings.from_metadata(data), "genart") if data else FileSettings(None, "")
    text = _text_chunks(source)
    if JSON_KEY in text:
        try:
            data = json.loads(text[JSON_KEY])
        except json.JSONDecodeError as exc:
            raise InputError(f"The PNG's `{JSON_KEY}` chunk is not valid JSON: {exc}.") from exc
        return FileSettings(RunSettings.from_metadata(data), "genart")
    if isinstance(text.get(PARAMETERS_KEY), str):
        read = RunSettings.from_parameters_text(text[PARAMETERS_KEY])
        return FileSettings(read, "parameters", parse_parameters(text[PARAMETERS_KEY]))
    return FileSettings(None, "")


def _text_chunks(source: str | Path | Image.Image) -> dict[str, Any]:
    """The image's text chunks (PNG tEXt/iTXt); only the header and chunks are read, not the pixels."""
    if isinstance(source, Image.Image):
        return dict(getattr(source, "text", None) or source.info)
    try:
        with Image.open(source) as image:
            return dict(getattr(image, "text", None) or image.info)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(
            f"Could not read the file as an image ({exc}); drop a PNG written by genart or A1111."
        ) from exc


def match_model(registry: Registry, settings: RunSettings, tasks: tuple[str, ...]) -> tuple[ModelSpec | None, str]:
    """The registry entry serving one of `tasks` that these settings name, and how it was found: by registry id; else
    by Hub repo (the named entry's, the recorded one, or that of the entry whose `hashes` hold the A1111 "Model hash"),
    where several entries on one repo are told apart by the task and then the recorded pipeline class."""

    def serves(spec: ModelSpec) -> bool:
        return bool(set(spec.tasks) & set(tasks))

    named = registry.get(settings.model) if settings.model in registry else None
    if named is not None and serves(named):
        return named, "registry id"
    model_hash = str(settings.extra.get(MODEL_HASH, "")).strip().lower()
    repos = [(named.repo, "Hub repo")] if named is not None else []
    repos += [(settings.repo, "Hub repo")] if settings.repo else []
    repos += [(s.repo, f"{MODEL_HASH} {model_hash}") for s in registry if model_hash and model_hash in s.hashes]
    for repo, how in repos:
        found = [s for s in registry if s.repo == repo and serves(s)]
        if found:
            same_class = [s for s in found if s.pipeline == settings.pipeline]
            return (same_class or found)[0], how
    return None, ""


def _shown(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, tuple, dict)) else str(value)


def _left_over(settings: RunSettings, request_fields: set[str]) -> list[tuple[str, str]]:
    """Settings with a value that no field of the request takes, and labels genart does not know (A1111-only ones)."""
    skipped = RUN_FACTS | set(OUTPUT_FACTS.get(settings.task, ()))
    left = [
        (f.name, _shown(getattr(settings, f.name)))
        for f in fields(settings)
        if f.name not in skipped
        and RENAMED.get(f.name, f.name) not in request_fields
        and getattr(settings, f.name) not in (None, "", False, 0, ())
        and not getattr(settings, RECORDS_OF.get(f.name, ""), None)
    ]
    return left + [(key, _shown(value)) for key, value in settings.extra.items()]


def _inputs_left_out(request: Any, spec: ModelSpec | None) -> list[tuple[str, str]]:
    """The input files the request needs, which no PNG holds: the image of the image tasks and of an image-to-video
    model, an inpaint mask (painted or uploaded)."""
    needed = {f.name for f in fields(request) if f.default is MISSING}
    if spec is not None and "image-to-video" in spec.tasks:
        needed.add("image")
    if any(f.name == "mask" for f in fields(request)):
        needed.add("mask")
    labels = {"image": "input image", "mask": "mask"}
    return [(labels[name], "not in the file") for name in labels if name in needed]


def send_values(registry: Registry, found: FileSettings, target: SendTarget) -> SendValues:
    """The target form's values restoring `found`'s settings, each by its request field, and the settings named as
    not restored: an unmatched model, an unknown sampler, values the form has no control for, the input image."""
    settings = found.settings_for(target)
    request = target.request(settings)
    names = {f.name for f in fields(request)}
    values = {n: getattr(request, n) for n in names if n not in INPUT_FIELDS and getattr(request, n) is not None}
    if found.source == "parameters":  # only what the text says: a field it leaves out keeps the form's value
        values = {k: v for k, v in values.items() if k in found.parameters}
    not_restored = _left_over(settings, names)
    spec, how = match_model(registry, settings, target.tasks)
    values.pop("model", None)
    if spec is None:
        shown = settings.model or settings.repo or settings.extra.get(MODEL_HASH, "")
        not_restored.insert(
            0, ("model", f"{shown} (no {target.title} model in the registry has this id, repo or hash)")
        )
    else:
        values["model"] = spec.id
        if how.startswith(MODEL_HASH):
            not_restored = [(k, v) for k, v in not_restored if k != MODEL_HASH]
    sampler = values.get("scheduler")
    allowed = spec.samplers() if spec is not None else list(SAMPLERS)
    if sampler is not None and sampler not in allowed:
        values.pop("scheduler")
        not_restored.append(("scheduler", f"{sampler} (not one of {', '.join(allowed)})"))
    not_restored += _inputs_left_out(request, spec)
    if "outpaint" in values:  # the Inpaint form has one number per side
        values.update(zip(inpaint.OUTPAINT_SIDES, values.pop("outpaint")))
    if target.key == "compare":  # one model among up to four, with the file's own steps, size and sampler
        values = {k: v for k, v in values.items() if k not in ("model", "batch", "refine")}
        values.update(models=[spec.id] if spec else [], own_defaults=False)
    return SendValues(values, not_restored, spec, how)
