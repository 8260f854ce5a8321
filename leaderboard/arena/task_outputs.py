"""What an arena battle takes and shows for each task: its inputs (checked, stored once) and each model's output."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PIL import Image

from genart_demo.errors import InputError
from genart_demo.imageio import load_image, load_mask
from genart_demo.registry import ModelSpec
from genart_demo.studio import Studio
from genart_demo.tasks.common import ProgressFn, is_blank, text_problem
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.tasks.inpaint import InpaintRequest, inpaint
from genart_demo.tasks.translate import TranslateRequest, translate
from genart_demo.tasks.upscale import UpscaleRequest, upscale
from genart_demo.tasks.video import VIDEO_TASKS, VideoRequest, generate_video
from genart_demo.zerogpu import call_seconds, gpu_call

from .image_measures import record_seconds

MAX_PROMPT_CHARS = 1000  # a battle prompt longer than this is refused (the text encoders read ~77 tokens anyway)
MAX_IMAGES_PER_SIDE = 4  # outputs each model shows in one battle (seeds seed .. seed + N - 1); one vote for all
INPUT_KINDS = ("image", "mask")  # the order BattleView.inputs lists them in
PROMPT_NEEDS = ("required", "optional", "none")


@dataclass(frozen=True)
class InputNeeds:
    """What a battle of one task takes from the person who starts it."""

    prompt: str  # PROMPT_NEEDS: "optional" = only models that need one refuse to run without it
    image: bool  # an input image both models work from
    mask: bool  # a mask of that image (white = repaint)


@dataclass(frozen=True)
class TaskRunner:
    """How the studio makes one model's output for a task: the request type, the task call, the file it writes."""

    request: type
    run: Callable
    output: Callable[[object], Path]


TASK_INPUTS: dict[str, InputNeeds] = {
    "text-to-image": InputNeeds("required", image=False, mask=False),
    "image-to-image": InputNeeds("optional", image=True, mask=False),  # img2img prompt, InstructPix2Pix edit
    "inpaint": InputNeeds("optional", image=True, mask=True),
    "super-resolve": InputNeeds("optional", image=True, mask=False),  # what the image shows (diffusion upscalers)
    "text-to-video": InputNeeds("required", image=False, mask=False),
    "image-to-video": InputNeeds("none", image=True, mask=False),
}
BATTLE_TASKS = tuple(TASK_INPUTS)  # registry task names battles can be made for; the task is a field of every battle

_RUNNERS = {
    "text-to-image": TaskRunner(GenerateRequest, generate, lambda r: r.paths[0]),
    "image-to-image": TaskRunner(TranslateRequest, translate, lambda r: r.paths[0]),
    "inpaint": TaskRunner(InpaintRequest, inpaint, lambda r: r.paths[0]),
    "super-resolve": TaskRunner(UpscaleRequest, upscale, lambda r: r.path),
    "text-to-video": TaskRunner(VideoRequest, generate_video, lambda r: r.mp4),
    "image-to-video": TaskRunner(VideoRequest, generate_video, lambda r: r.mp4),
}
_WITHOUT_PROMPT = ("super-resolve", "image-to-video")  # tasks whose models all run on the image alone


def check_prompt(prompt: object) -> str:
    """The prompt, stripped; empty or over-long prompts are refused."""
    text = str(prompt or "").strip()
    if is_blank(text):
        raise InputError("The prompt is empty: type what both models should draw.")
    problem = text_problem(text, "prompt", MAX_PROMPT_CHARS)  # before anything is stored or generated
    if problem:
        raise InputError(problem)
    return text


def check_task_prompt(task: str, prompt: object) -> str:
    """The prompt as `task` takes it: required (checked), optional (may be ""), or none (must be empty)."""
    need = TASK_INPUTS[task].prompt
    if need == "required" or (need == "optional" and not is_blank(str(prompt or ""))):
        return check_prompt(prompt)
    if need == "none" and not is_blank(str(prompt or "")):
        raise InputError(f"{task.capitalize()} battles take no prompt (the models work from the image alone).")
    return ""


def needs_prompt(spec: ModelSpec) -> bool:
    """Whether the model refuses to run without a prompt (the translate and inpaint tasks refuse a blank one for
    models with a prompt control; upscalers and image-to-video models run on the image alone)."""
    return "prompt" in spec.controls() and not set(spec.tasks) & set(_WITHOUT_PROMPT)


def check_images_per_side(value: object) -> int:
    try:
        count = int(float(value))
        whole = float(value) == count and not isinstance(value, bool)
    except (TypeError, ValueError):
        whole = False
    if not whole or not 1 <= count <= MAX_IMAGES_PER_SIDE:
        raise InputError(f"Images per side must be a whole number from 1 to {MAX_IMAGES_PER_SIDE}; got {value!r}.")
    return count


def inputs_dir(studio: Studio) -> Path:
    """Where battle inputs are kept: inside the arena's private folder, read by the server, never served by URL."""
    return studio.settings.workspace.arena / "inputs"


def _stored(studio: Studio, image: Image.Image) -> str:
    """The image saved once as PNG, named by a hash of its pixels; its path relative to the output folder."""
    digest = hashlib.sha256(f"{image.mode}|{image.size}|".encode() + image.tobytes()).hexdigest()[:32]
    path = inputs_dir(studio) / f"{digest}.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".png", delete=False) as tmp:
            image.save(tmp, format="PNG")
        os.replace(tmp.name, path)  # atomic: a half-written input is never read
    return str(path.relative_to(studio.settings.workspace.outputs))


def store_inputs(studio: Studio, task: str, image: object = None, mask: object = None) -> dict[str, str]:
    """The task's input files checked (an image file path, PIL image or array; a mask of the image's shape) and
    stored: {"image": rel, "mask": rel} (only what the task takes; paths relative to the output folder)."""
    need, label = TASK_INPUTS[task], task.capitalize()
    if not need.image and image is not None:
        raise InputError(f"{label} battles take no input image; image tasks: {', '.join(image_tasks())}.")
    if need.image and image is None:
        raise InputError(f"{label} battles need an input image: upload the picture both models work from.")
    if need.mask and mask is None:
        raise InputError(f"{label} battles need a mask: paint (white) over the area both models repaint.")
    if not need.mask and mask is not None:
        raise InputError(f"{label} battles take no mask; only inpaint battles do.")
    if image is None:
        return {}
    limit = studio.settings.max_pixels
    loaded = {"image": load_image(image, label="input image", limit=limit).image}
    if need.mask:  # the mask as the inpaint task reads it: "L", the image's size (refused if of another shape)
        loaded["mask"] = load_mask(mask, loaded["image"].size, keep_aspect=True, limit=limit)[0]
    return {kind: _stored(studio, picture) for kind, picture in loaded.items()}  # both checked before either is kept


def battle_inputs(
    studio: Studio, task: str, prompt: object, image: object, mask: object, images_per_side: object
) -> tuple[str, dict[str, str], int]:
    """(prompt, stored inputs, images per side) for a battle, checked as `task` takes them (TASK_INPUTS)."""
    prompt, count = check_task_prompt(task, prompt), check_images_per_side(images_per_side)
    return prompt, store_inputs(studio, task, image, mask), count


def image_tasks() -> list[str]:
    return [task for task, need in TASK_INPUTS.items() if need.image]


def output_suffix(task: str) -> str:
    return ".mp4" if task in VIDEO_TASKS else ".png"


def make_output(
    studio: Studio,
    task: str,
    model: str,
    prompt: str,
    inputs: Mapping[str, Path] | None,
    seed: int,
    progress: ProgressFn | None,
    out_dir: Path,
) -> Path:
    """The model's output for (task, prompt, inputs, seed), made once with the model's defaults and kept as
    out_dir/<task>/<hash>.png (.mp4 for video). Names are hashes, so a served file never names its model; inputs
    enter the hash by their content-hashed names. On ZeroGPU hardware the task runs under `spaces.GPU` for the
    time estimated for the model, as the studio's tasks do."""
    names = {kind: Path(inputs[kind]).name for kind in INPUT_KINDS if inputs and kind in inputs}
    key = [task, model, prompt, seed, studio.runs_standin(model)] + ([names] if names else [])
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()[:32]
    path = Path(out_dir) / task / f"{digest}{output_suffix(task)}"
    if path.is_file():
        return path
    studio.wait_for_warm_up()
    path.parent.mkdir(parents=True, exist_ok=True)
    runner = _RUNNERS[task]
    files = {kind: str(inputs[kind]) for kind in names} if inputs else {}
    request = runner.request(model=model, prompt=prompt, seed=seed, **files)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        call = partial(runner.run, studio, request, progress=progress, output_dir=Path(tmp))
        started = time.perf_counter()
        result = gpu_call(call, call_seconds(studio.registry, request), studio.settings.zerogpu)()
        record_seconds(path, time.perf_counter() - started)  # a covariate of the ratings (model loading included)
        os.replace(runner.output(result), path)  # atomic (written whole in the same folder): never served half-made
    return path
