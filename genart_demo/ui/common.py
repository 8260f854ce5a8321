"""Pieces every tab shares: model choices and cards, forms that become requests, progress, and error messages."""

from __future__ import annotations

import dataclasses
import json
import logging
import typing
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from ..errors import InputError, TaskFailed
from ..fields import allowed_types
from ..loading import LoadError
from ..markup import escape_markdown
from ..registry import ModelSpec
from ..run_settings import RunSettings
from ..safety import flag_caption
from ..studio import Studio
from ..zerogpu import call_seconds, gpu_call

log = logging.getLogger("genart.ui")
SHOWN_ERRORS = (InputError, LoadError, TaskFailed, ValueError)  # shown to the user as they are, without a traceback
FAULT_TITLE = "Something went wrong"  # the popup title of an unexpected failure (logged with its traceback)


def model_choices(specs: list[ModelSpec]) -> list[tuple[str, str]]:
    """(label, id) pairs for a dropdown."""
    return [(f"{s.name} [{s.id}]", s.id) for s in specs]


def model_card(spec: ModelSpec) -> str:
    """One line of facts about a model, shown under the model picker."""
    gated = " · gated (needs HF_TOKEN)" if spec.gated else ""
    return (
        f"**{spec.name}** · family `{spec.family}` · [`{spec.repo}`](https://huggingface.co/{spec.repo}) · "
        f"`{spec.pipeline}` · licence `{spec.licence}` · ~{spec.memory_gb:g} GB{gated}"
    )


def follow_model(
    studio: Studio,
    model: gr.Dropdown,
    card: gr.Markdown,
    form: Mapping[str, Any],
    updates: Callable[[ModelSpec, Mapping[str, Any]], dict],
    *,
    card_text=model_card,
    also: Sequence[Any] = (),
) -> gr.State:
    """When another model is picked: its card, and `updates(spec, form)` ({component: update}) for the form's
    components and those in `also`. Returns a gr.State of form values by field that the next model change sets over
    the model's defaults, then empties: how "send to" sets a model and its settings at once (the change event the new
    model fires would otherwise put the defaults back)."""
    pending = gr.State({})

    def on_model(model_id, restore=None):
        spec = studio.spec(model_id)
        shown = {card: card_text(spec), **updates(spec, form)}
        for name, value in (restore or {}).items():
            if name in form:
                shown[form[name]] = {**shown.get(form[name], gr.update()), "value": value}
        return {**shown, pending: {}}

    model.change(on_model, [model, pending], [card, *form.values(), *also, pending], api_visibility="private")
    return pending


def notes_markdown(notes: list[str]) -> str:
    """Things the user should know about a run (conversions, resizing, truncation), one per line."""
    return "\n\n".join(f"ℹ️ {escape_markdown(n)}" for n in notes)  # notes name uploaded files and quote prompts


def settings_json(settings: Sequence[RunSettings] | RunSettings) -> str:
    """The run settings as the JSON each output file carries (one object, or a list for several outputs)."""
    if isinstance(settings, RunSettings):
        settings = [settings]
    data = [s.to_metadata() for s in settings]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2, default=str)


def gallery_items(paths: Sequence, settings: Sequence[RunSettings]) -> list[tuple[str, str]]:
    """(path, caption) per output: the model and seed, whether a stand-in made it, and whether the model's safety
    checker flagged it (its pixels are then black)."""
    return [
        (
            str(p),
            f"{s.model} · seed {s.seed}" + (" · tiny stand-in" if s.standin else "") + flag_caption(s.nsfw_flagged),
        )
        for p, s in zip(paths, settings)
    ]


def whole(value, default=None):
    """Sliders and numbers arrive as floats (or None from the API); whole numbers become ints, other values
    stay as they are so the task refuses them with its own message."""
    if value is None:
        return default
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _takes_int(hint: Any) -> bool:
    options = allowed_types(hint)
    return int in options and float not in options


def request_from_form(cls: type, values: Mapping[str, Any], **fixed: Any):
    """A task request from a form's values, keyed by the request's field names: whole-number fields get `whole`,
    empty text becomes the field's default, anything else passes through for the task to check."""
    hints = typing.get_type_hints(cls)
    kwargs = dict(fixed)
    for f in dataclasses.fields(cls):
        if f.name not in values or f.name in fixed:
            continue
        value = values[f.name]
        has_default = f.default is not dataclasses.MISSING
        if value in (None, "") and has_default:
            value = f.default
        elif _takes_int(hints[f.name]):
            value = whole(value, f.default if has_default else None)
        kwargs[f.name] = value
    return cls(**kwargs)


def offline_banner(studio: Studio) -> str:
    return f"### ⚠️ {studio.notice}" if studio.offline else studio.notice


def gradio_progress(progress: gr.Progress) -> Callable[[int, int, str], None]:
    """A task progress callback that drives a gr.Progress bar."""

    def report(done: int, total: int, desc: str) -> None:
        progress((done, total), desc=desc, unit="steps")

    return report


def guarded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)`; bad input, load failures and failed work become a gr.Error carrying their message,
    anything else is logged whole and told briefly, and the server keeps serving."""
    try:
        return fn(*args, **kwargs)
    except SHOWN_ERRORS as exc:
        raise gr.Error(str(exc), duration=None) from exc
    except Exception as exc:  # an unexpected failure: log it whole (the only traceback), tell the user briefly
        log.exception("%s failed", getattr(fn, "__name__", fn))
        raise gr.Error(f"{type(exc).__name__}: {exc}", duration=None, title=FAULT_TITLE) from exc


def run_task(fn: Callable[..., Any], studio: Studio, request: Any, **kwargs: Any) -> Any:
    """Call `fn(studio, request, **kwargs)` through `guarded`.

    On ZeroGPU hardware the call runs under `spaces.GPU` for a duration estimated from the request's model(s),
    steps, size and frames. The studio, request and progress callback reach the forked GPU worker inside a fresh
    zero-argument partial (nothing unpicklable is sent to it), and errors become gr.Error inside the worker, so
    their messages come back whole. Elsewhere the task is called directly.
    """
    studio.wait_for_warm_up()
    call = partial(guarded, fn, studio, request, **kwargs)
    return gpu_call(call, call_seconds(studio.registry, request), studio.settings.zerogpu)()


# ---------------------------------------------------------------- how results are shown (every tab)


def result_gallery(label: str, *, columns: int = 2, height: int = 460, **kwargs: Any) -> gr.Gallery:
    """A gallery of results that shows every image whole: letterboxed in its square tile ("contain"), never cropped, so
    an outpainted strip or a wide or tall image keeps its edges. A tile is 1/`columns` of the width even for fewer
    images (a lone image stretched to the full width made a tile taller than `height`, its lower part scrolled out of
    view); PNG, so what is shown is what was saved."""
    return gr.Gallery(
        label=label, columns=columns, height=height, object_fit="contain", fit_columns=False, format="png", **kwargs
    )


def result_image(label: str, *, height: int = 260, **kwargs: Any) -> gr.Image:
    """An output image shown whole in a box `height` px high (Gradio scales a larger image down to fit, never crops);
    PNG unless `format` says otherwise (Gradio's default WebP is lossy)."""
    return gr.Image(label=label, interactive=False, height=height, **{"format": "png", **kwargs})


def saved_note(studio: Studio, paths: Sequence) -> str:
    """Where a run's files were written, one line each: relative to the output folder (GENART_OUTPUT_DIR) when they
    are inside it (the server's own paths are not shown to visitors), else as given."""
    root = Path(studio.settings.output_dir).resolve()
    lines = []
    for path in map(Path, paths):
        inside = path.resolve().is_relative_to(root)
        where = f"`{path.resolve().relative_to(root)}` in the output folder" if inside else f"`{path}`"
        lines.append(f"💾 Saved {where}")
    return "\n\n".join(lines)  # one paragraph each: Markdown runs single-newline lines together


# ---------------------------------------------------------------- width and height (a choice, or fixed by the model)


def fixed_size_text(spec: ModelSpec) -> str:
    return f"Size: {spec.defaults.width}×{spec.defaults.height} (fixed by the model)"


def size_sliders(
    spec: ModelSpec, labels: tuple[str, str] = ("Width", "Height")
) -> tuple[gr.Slider, gr.Slider, gr.Markdown]:
    """Width and height sliders for `spec`, and the note shown instead of them where its size is not a choice."""
    d, choosable = spec.defaults, "size" in spec.controls()
    top = max(d.size_max, d.size_min + d.size_multiple)  # a Slider refuses minimum == maximum (a one-size model)
    width, height = (
        gr.Slider(d.size_min, top, value=value, step=d.size_multiple, label=label, visible=choosable)
        for value, label in zip((d.width, d.height), labels)
    )
    return width, height, gr.Markdown(fixed_size_text(spec), visible=not choosable)


def size_updates(spec: ModelSpec, width: Any, height: Any, note: Any) -> dict:
    """{component: update} for the sliders and note of `size_sliders` when `spec` is picked: the sliders over its
    range where its size is a choice; else hidden sliders, left at their range (the task ignores them), and its one
    size as text."""
    d = spec.defaults
    if "size" not in spec.controls():
        return {
            width: gr.update(visible=False),
            height: gr.update(visible=False),
            note: gr.update(value=fixed_size_text(spec), visible=True),
        }
    shown = {"minimum": d.size_min, "maximum": d.size_max, "step": d.size_multiple, "visible": True}
    return {
        width: gr.update(value=d.width, **shown),
        height: gr.update(value=d.height, **shown),
        note: gr.update(value="", visible=False),
    }
