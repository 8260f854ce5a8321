"""Reaching a built tab's event handlers and slider ranges without a server, for tests that check what a form offers."""

from __future__ import annotations

from typing import Any

import gradio as gr


def build_tab(studio, build) -> gr.Blocks:
    """The tab `build(studio)` adds, alone in a Blocks of its own."""
    with gr.Blocks() as blocks:
        build(studio)
    return blocks


def component(blocks: gr.Blocks, kind: type, label: str) -> Any:
    """The one component of `kind` labelled `label`."""
    found = [c for c in blocks.blocks.values() if isinstance(c, kind) and getattr(c, "label", None) == label]
    assert len(found) == 1, (kind.__name__, label, len(found))
    return found[0]


def by_elem_id(blocks: gr.Blocks, elem_id: str) -> Any:
    return next(c for c in blocks.blocks.values() if getattr(c, "elem_id", None) == elem_id)


def handler(blocks: gr.Blocks, trigger: Any = None, event: str = "", *, api_name: str = ""):
    """The function run by `trigger`'s `event` (or the endpoint `api_name`)."""
    for fn in blocks.fns.values():
        if (api_name and fn.api_name == api_name) or (trigger is not None and (trigger._id, event) in fn.targets):
            return fn.fn
    raise LookupError(f"no handler for {api_name or (getattr(trigger, 'label', trigger), event)}")


def offered(slider: gr.Slider, update: dict | None = None) -> list[float]:
    """Every value a slider offers after `update`: its minimum, each step from it, and its maximum (which a user can
    type in the slider's number box even when it is off the steps)."""
    u = update or {}
    low, high, step = (u.get(k, getattr(slider, k)) for k in ("minimum", "maximum", "step"))
    count = int(round((high - low) / step, 9))
    values = [low + k * step for k in range(count + 1)]
    return sorted({round(v, 9) for v in values + [high]})
