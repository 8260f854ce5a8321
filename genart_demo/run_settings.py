"""What a result was made with: one frozen dataclass per task, written into every PNG (and mp4) and read back.

A PNG carries two text chunks written from these: `genart`, every setting as JSON (the exact source for remaking
the image), and `parameters`, the AUTOMATIC1111 text (prompt, `Negative prompt: ...`, `Steps: 20, Sampler: ...`)
that other tools read. `RunSettings.from_metadata` reads the JSON back into the right class, including what older
genart versions wrote; `from_parameters_text` reads the A1111 text of any tool.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import __version__
from .errors import InputError
from .fields import allowed_types
from .lora_spec import prompt_lora_tags

PARAMETERS_KEY = "parameters"  # the text chunk AUTOMATIC1111's webui and its readers use
JSON_KEY = "genart"  # our chunk: every setting as JSON
# Labels of the A1111 "key: value" line, in order, for the settings fields they show ("size" is width x height).
# The webui's own labels where it has one (its img2img/inpaint/extras tabs write and read the same ones).
A1111_LABELS = (
    ("steps", "Steps"),
    ("scheduler", "Sampler"),
    ("guidance", "CFG scale"),
    ("image_guidance", "Image CFG scale"),  # InstructPix2Pix
    ("seed", "Seed"),
    ("size", "Size"),
    ("model", "Model"),
    ("repo", "Model repo"),
    ("variation_seed", "Variation seed"),  # A1111's subseed
    ("variation_strength", "Variation seed strength"),  # ... and subseed_strength
    ("strength", "Denoising strength"),  # img2img, inpaint
    ("mask_blur", "Mask blur"),  # inpaint
    ("scale", "Postprocess upscale by"),  # upscale
    ("class_label", "Class"),
    ("loras", "LoRA"),  # genart's: "source:weight, ..." (A1111 writes <lora:name:weight> into the prompt instead)
    ("lora_hashes", "Lora hashes"),  # A1111's: "name: hash, ..." (sha256 of the tensor data, 12 hex digits)
    ("truncation", "Truncation psi"),
    ("standin", "Stand-in"),
    ("nsfw_flagged", "NSFW flagged"),
)
# What the A1111 line says for a model that does not sample in steps (a GAN: one forward pass, no scheduler): A1111
# readers recognise a text only by its Sampler among Steps/CFG scale/Seed (sd-parsers needs three of the four).
ONE_PASS_SAMPLER = "One forward pass"
NO_GUIDANCE = 1.0  # the CFG scale written for a model without classifier-free guidance (1 = guidance off)
METRIC_PREFIX = "metric_"  # upscale metrics are stored flat, e.g. metric_psnr, as genart has always written them


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """What every result carries: the model as it was loaded, the text it was given and its seed."""

    task: ClassVar[str] = ""  # the task name stored as "task" in the JSON
    model: str = ""  # registry id (or another tool's model name)
    repo: str = ""  # Hub repo id
    revision: str = ""  # Hub revision
    pipeline: str = ""  # diffusers pipeline (or model) class
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0  # this output's seed (image i of a batch: the request's seed + i)
    standin: bool = False  # made by a tiny random-weight stand-in, not the real checkpoint
    nsfw_flagged: bool | None = None  # its safety checker flagged it (diffusers blacked it out); None = not checked
    genart: str = __version__  # the genart version that made it
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as they were read

    # ---------------------------------------------------------------- the genart JSON chunk

    def to_metadata(self) -> dict[str, Any]:
        """Every setting as a JSON-able dict with "task"; fields that do not apply (None) are left out."""
        data: dict[str, Any] = {"task": self.task}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or value is None:
                continue
            if f.name == "metrics":
                data.update({f"{METRIC_PREFIX}{k}": v for k, v in value.items()})
            else:
                data[f.name] = list(value) if isinstance(value, tuple) else value
        return {**dict(self.extra), **data}

    @staticmethod
    def from_metadata(data: Mapping[str, Any]) -> RunSettings:
        """The settings a metadata dict (the JSON chunk) holds, as the class of its task. Dicts written before
        genart named the generate task (no "task" key) read as GenerateSettings. InputError for a value of the
        wrong type or an unknown task."""
        if not isinstance(data, Mapping):
            raise InputError(f"Settings metadata must be a JSON object; got {type(data).__name__}.")
        task = data.get("task") or "generate"
        cls = TASK_SETTINGS.get(task)
        if cls is None:
            raise InputError(f"Settings metadata names task {task!r}; genart knows {', '.join(TASK_SETTINGS)}.")
        return cls._from_values({k: v for k, v in data.items() if k != "task"})

    @classmethod
    def _from_values(cls, values: Mapping[str, Any]) -> RunSettings:
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known: dict[str, Any] = {}
        extra: dict[str, Any] = dict(values.get("extra") or {}) if isinstance(values.get("extra"), Mapping) else {}
        metrics: dict[str, float] = {}
        for key, value in values.items():
            if key == "extra":
                continue
            if key in names and value is not None:
                known[key] = _coerce(key, value, hints[key])
            elif key.startswith(METRIC_PREFIX) and "metrics" in names:
                metrics[key[len(METRIC_PREFIX) :]] = _coerce(key, value, float)
            elif key not in names:
                extra[key] = value
        if metrics:
            known["metrics"] = metrics
        return cls(**known, extra=extra)

    # ---------------------------------------------------------------- the A1111 `parameters` text

    def parameters_text(self) -> str:
        """The A1111-compatible text: line 1 the prompt; then `Negative prompt: ...` when there is one; last
        `Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: ...` (what applies). Every
        task's line has Steps, Sampler, CFG scale and Seed, so A1111 readers recognise every result."""
        lines = [self.prompt]
        if self.negative_prompt:
            lines.append(f"Negative prompt: {self.negative_prompt}")
        values = self._a1111_values()
        pairs = []
        for key, label in A1111_LABELS:
            value = values[key]
            if value is None or value == "" or value is False:
                continue
            text = str(value)
            if any(ch in text for ch in ',:"'):
                text = json.dumps(text)  # A1111 quotes values containing separators
            pairs.append(f"{label}: {text}")
        lines.append(", ".join(pairs))
        return "\n".join(lines)

    def _a1111_values(self) -> dict[str, Any]:
        """The value of each A1111 label's field; a one-pass model says so as Steps 1 and its Sampler, a model
        without guidance gets CFG scale 1."""
        values = {key: getattr(self, key, None) for key, _ in A1111_LABELS}
        width, height = getattr(self, "width", None), getattr(self, "height", None)
        values["size"] = f"{width}x{height}" if width and height else None
        if values["steps"] is None or not values["scheduler"]:  # a GAN generator records steps 1 and no sampler
            values.update(steps=values["steps"] or 1, scheduler=values["scheduler"] or ONE_PASS_SAMPLER)
        if values["guidance"] is None:
            values["guidance"] = NO_GUIDANCE
        return values

    @staticmethod
    def from_parameters_text(text: str) -> GenerateSettings:
        """Settings read from an A1111 `parameters` text (genart's or another tool's); labels genart does not
        know (e.g. "Model hash") are kept in `extra` under their label. `genart` is "": the text does not say
        which genart version, if any, wrote it."""
        return GenerateSettings._from_values({"genart": "", **parse_parameters(text)})


def parse_parameters(text: str) -> dict[str, Any]:
    """An A1111 `parameters` text as a dict keyed by genart field names (unknown labels kept as they are)."""
    lines = text.strip("\n").split("\n")
    last = lines[-1] if lines else ""
    body, last = (lines[:-1], last) if re.match(r"^\s*Steps:\s", last) else (lines, "")
    values: dict[str, Any] = {}
    negative_at = next((i for i, line in enumerate(body) if line.startswith("Negative prompt:")), None)
    if negative_at is None:
        values["prompt"] = "\n".join(body)
    else:
        values["prompt"] = "\n".join(body[:negative_at])
        values["negative_prompt"] = "\n".join(body[negative_at:])[len("Negative prompt:") :].strip()
    values["prompt"], tagged = prompt_lora_tags(values["prompt"])  # A1111 reads <lora:name:w> out of the prompt
    keys = {label: key for key, label in A1111_LABELS}
    for match in re.finditer(r'\s*([\w \-+]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)', last):
        label, raw = match.group(1).strip(), match.group(2).strip()
        value: Any = json.loads(raw) if raw.startswith('"') else raw
        key = keys.get(label, label)
        if key == "size" and "x" in str(value):
            width, height = str(value).split("x", 1)
            values["width"], values["height"] = width, height
        else:
            values[key] = value
    if tagged and "loras" not in values:
        values["loras"] = tagged
    return values


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """`value` as the field's type (int, float, bool, str, tuple of int, dict); InputError naming the field."""
    option = allowed_types(hint)[0]
    kind = typing.get_origin(option) or option
    try:
        if kind is bool:
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind is float:
            return float(value)
        if kind is str:
            return value if isinstance(value, str) else str(value)
        if kind is tuple:
            return tuple(int(v) for v in value)
        if kind in (dict, Mapping):
            return {str(k): float(v) for k, v in dict(value).items()}
    except (TypeError, ValueError):
        raise InputError(f"Setting {name!r} should be {getattr(kind, '__name__', kind)}; got {value!r}.") from None
    return value


@dataclass(frozen=True, kw_only=True)
class GenerateSettings(RunSettings):
    """Text-to-image, unconditional and class-conditional sampling."""

    task: ClassVar[str] = "generate"
    steps: int | None = None
    guidance: float | None = None  # classifier-free guidance scale
    width: int | None = None
    height: int | None = None
    scheduler: str = ""  # sampler name (genart_demo.schedulers.SAMPLERS)
    refine: bool = False  # SDXL: the last 20% of denoising by the refiner
    class_index: int | None = None  # class-conditional: the ImageNet index
    class_label: str | None = None  # ... and its name
    loras: str | None = None  # LoRAs applied, "source:weight, ..." (lora_spec.format_loras); None = none
    lora_hashes: str | None = None  # ... their short hashes, "name: hash, ..." as AUTOMATIC1111 writes them
    variation_seed: int | None = None  # A1111's variation seed (image i: the request's + i); None = no variation
    variation_strength: float | None = None  # 0..1: initial noise = slerp(strength, noise(seed), noise(variation_seed))
    truncation: float | None = None  # GANs: truncation psi (0 = the average image, 1 = none)


@dataclass(frozen=True, kw_only=True)
class TranslateSettings(RunSettings):
    """Image-to-image; GAN translators have no steps, sampler or guidance (None)."""

    task: ClassVar[str] = "translate"
    width: int | None = None  # the size the input was fitted to
    height: int | None = None
    fit: str = "resize"  # how: resize | crop | pad
    steps: int | None = None
    scheduler: str | None = None
    guidance: float | None = None
    strength: float | None = None  # img2img
    image_guidance: float | None = None  # InstructPix2Pix
    canny_low: int | None = None  # ControlNet canny thresholds
    canny_high: int | None = None


@dataclass(frozen=True, kw_only=True)
class InpaintSettings(RunSettings):
    """Inpainting and outpainting; width x height is the output (the canvas), work_* the model's working size."""

    task: ClassVar[str] = "inpaint"
    steps: int | None = None
    guidance: float | None = None
    strength: float | None = None
    scheduler: str = ""
    work_width: int | None = None
    work_height: int | None = None
    width: int | None = None
    height: int | None = None
    mask_blur: int = 0
    only_masked: bool = False
    padding: int = 0
    outpaint: tuple[int, ...] = (0, 0, 0, 0)  # left, right, up, down


@dataclass(frozen=True, kw_only=True)
class UpscaleSettings(RunSettings):
    """Super-resolution; GAN upscalers have no steps, sampler, guidance or prompt."""

    task: ClassVar[str] = "upscale"
    scale: int | None = None  # output side / input side
    tile: int | None = None  # input pixels per tile side
    overlap: int | None = None
    steps: int | None = None
    scheduler: str | None = None
    guidance: float | None = None
    noise_level: int | None = None  # SD x4 upscaler
    input_size: str | None = None  # "WxH" of the input
    width: int | None = None  # of the output
    height: int | None = None
    metrics: Mapping[str, float] | None = None  # PSNR/SSIM against a reference, stored flat as metric_<name>


@dataclass(frozen=True, kw_only=True)
class VideoSettings(RunSettings):
    """Text-to-video and image-to-video."""

    task: ClassVar[str] = "video"
    frames: int | None = None
    fps: int | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance: float | None = None
    scheduler: str = ""
    decode_chunk: int | None = None  # frames decoded at a time
    motion_bucket_id: int | None = None  # SVD
    noise_aug: float | None = None  # SVD


TASK_SETTINGS: dict[str, type[RunSettings]] = {
    cls.task: cls for cls in (GenerateSettings, TranslateSettings, InpaintSettings, UpscaleSettings, VideoSettings)
}
