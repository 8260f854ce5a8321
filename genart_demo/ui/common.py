"""Pieces every tab shares: model choices and cards, progress bridging, and turning task errors into messages."""
from __future__ import annotations

import logging
from typing import Any, Callable

import gradio as gr

from ..errors import InputError
from ..loading import LoadError
from ..registry import ModelSpec
from ..studio import Studio

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


def run_task(fn: Callable[..., Any], studio: Studio, *args: Any, **kwargs: Any) -> Any:
    """Call a task; bad input and load failures become a gr.Error the user sees, and the server keeps serving."""
    studio.wait_for_warm_up()
    try:
        return fn(studio, *args, **kwargs)
    except (InputError, LoadError, ValueError) as exc:
        raise gr.Error(str(exc), duration=None) from exc
    except Exception as exc:  # an unexpected failure: log it whole, tell the user briefly
        log.exception("task %s failed", getattr(fn, "__name__", fn))
        raise gr.Error(f"{type(exc).__name__}: {exc}", duration=None) from exc
