"""Pieces every tab shares: model choices and cards, progress bridging, and turning task errors into messages."""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import gradio as gr

from ..errors import InputError
from ..loading import LoadError
from ..registry import ModelSpec
from ..studio import Studio
from ..zerogpu import call_seconds, gpu_call, on_zerogpu

log = logging.getLogger("genart.ui")


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


def notes_markdown(notes: list[str]) -> str:
    """Things the user should know about a run (conversions, resizing, truncation), one per line."""
    return "\n".join(f"ℹ️ {n}" for n in notes)


def settings_json(settings: list[dict] | dict) -> str:
    import json

    if isinstance(settings, list) and len(settings) == 1:
        settings = settings[0]
    return json.dumps(settings, indent=2, default=str)


def whole(value, default=None):
    """Sliders and numbers arrive as floats (or None from the API); whole numbers become ints, other values
    stay as they are so the task refuses them with its own message."""
    if value is None:
        return default
    return int(value) if isinstance(value, float) and value.is_integer() else value


def offline_banner(studio: Studio) -> str:
    return f"### ⚠️ {studio.notice}" if studio.offline else studio.notice


def gradio_progress(progress: gr.Progress) -> Callable[[int, int, str], None]:
    """A task progress callback that drives a gr.Progress bar."""

    def report(done: int, total: int, desc: str) -> None:
        progress((done, total), desc=desc, unit="steps")

    return report


def _task_with_messages(fn: Callable[..., Any], studio: Studio, args: tuple, kwargs: dict) -> Any:
    """`fn(studio, *args, **kwargs)`; bad input and load failures become a gr.Error carrying their message."""
    try:
        return fn(studio, *args, **kwargs)
    except (InputError, LoadError, ValueError) as exc:
        raise gr.Error(str(exc), duration=None) from exc
    except Exception as exc:  # an unexpected failure: log it whole, tell the user briefly
        log.exception("task %s failed", getattr(fn, "__name__", fn))
        raise gr.Error(f"{type(exc).__name__}: {exc}", duration=None) from exc


def run_task(fn: Callable[..., Any], studio: Studio, *args: Any, **kwargs: Any) -> Any:
    """Call a task; bad input and load failures become a gr.Error the user sees, and the server keeps serving.

    On ZeroGPU hardware the call runs under `spaces.GPU` for a duration estimated from its model(s), steps, size
    and frames. The studio, request and progress callback reach the forked GPU worker inside a fresh zero-argument
    partial (nothing unpicklable is sent to it), and errors become gr.Error inside the worker, so their messages
    come back whole. Elsewhere the task is called directly.
    """
    studio.wait_for_warm_up()
    call = partial(_task_with_messages, fn, studio, args, kwargs)
    if on_zerogpu():
        return gpu_call(call, call_seconds(studio.registry, args))()
    return call()
