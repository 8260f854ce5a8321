"""The Grid tab: one text-to-image request swept over X, Y and optional Z axes, shown as a grid and as its cells."""

from __future__ import annotations

import threading

import gradio as gr

from ..markup import escape_markdown
from ..registry import GENERATE_TASKS, ModelSpec
from ..settings import MAX_GRID_CELLS, MAX_GUIDANCE, MAX_SEED, MAX_STEPS, MIN_GUIDANCE
from ..studio import Studio
from ..tasks.generate import GenerateRequest
from ..tasks.grid import GridRequest, GridResult, run_grid
from ..tasks.grid_axes import AXIS_KINDS, Axis
from .common import (
    follow_model,
    gradio_progress,
    model_card,
    model_choices,
    request_from_form,
    result_gallery,
    result_image,
    run_task,
    saved_note,
    size_sliders,
    size_updates,
)

AXIS_CHOICES = [(k.label, k.name) for k in AXIS_KINDS.values()]
DEFAULT_AXES = (("seed", "1, 2, 3"), ("guidance", "3, 5, 7"), ("", ""))  # X, Y, Z ("" = no Z axis)


def _control_updates(spec: ModelSpec, form: dict, size_note) -> dict:
    """{component: update} for the base settings when another model is picked."""
    shown, d = spec.controls(), spec.defaults
    return {
        form["prompt"]: gr.update(visible="prompt" in shown),
        form["negative_prompt"]: gr.update(visible="negative_prompt" in shown),
        form["steps"]: gr.update(value=d.steps),
        form["guidance"]: gr.update(value=d.guidance, visible="guidance" in shown),
        **size_updates(spec, form["width"], form["height"], size_note),
        form["scheduler"]: gr.update(choices=spec.samplers(), value=d.scheduler, visible="scheduler" in shown),
    }


def axes_from_form(x_kind, x_values, y_kind, y_values, z_kind="", z_values="") -> tuple[Axis, ...]:
    """The axes the form names: X and Y always, Z when a kind is chosen for it."""
    given = ((x_kind, x_values), (y_kind, y_values), (z_kind, z_values))
    return tuple(Axis(kind or "", values or "") for i, (kind, values) in enumerate(given) if i < 2 or kind)


def _cells(result: GridResult) -> list[tuple[str, str]]:
    """(path, caption) for each cell made: its axis values and seed."""
    return [(str(c.result.paths[0]), f"{c.label} · seed {c.result.settings[0].seed}") for c in result.made()]


def _notes(studio: Studio, result: GridResult) -> str:
    made, total = len(result.made()), len(result.cells)
    stopped = [f"⏹️ Stopped after {made} of {total} cells; those made are kept."] if result.cancelled else []
    warnings = [f"⚠️ {escape_markdown(w)}" for w in result.warnings]
    summary = (
        f"{made} cells in {result.seconds:.1f} s; text encodings: {result.encoder_calls} computed, "
        f"{result.shared_encodings} shared between cells."
    )
    return "\n\n".join(stopped + warnings + [summary, saved_note(studio, [result.path])])


def build_grid_ui(studio: Studio) -> gr.Column:
    """The tab's components, added to the app being built."""
    specs = studio.registry.for_tasks(GENERATE_TASKS)
    text_models = [s.id for s in specs if "text-to-image" in s.tasks]
    first = studio.spec((text_models or [specs[0].id])[0])
    d = first.defaults
    with gr.Column() as page:
        control = gr.State({})  # this session's Stop flag for the grid running now
        with gr.Row():
            with gr.Column(scale=2):
                model = gr.Dropdown(model_choices(specs), value=first.id, label="Model")
                card = gr.Markdown(model_card(first))
                prompt = gr.Textbox(label="Prompt", lines=2, value="a red fox in the snow", elem_id="grid-prompt")
                negative = gr.Textbox(label="Negative prompt", lines=1)
                with gr.Row():
                    steps = gr.Slider(1, MAX_STEPS, value=d.steps, step=1, label="Steps")
                    guidance = gr.Slider(
                        MIN_GUIDANCE, MAX_GUIDANCE, value=d.guidance, step=0.5, label="Guidance (CFG) scale"
                    )
                with gr.Row():
                    width, height, size_note = size_sliders(first)
                with gr.Row():
                    seed = gr.Number(
                        -1, label="Seed (-1 = random, drawn once)", precision=0, minimum=-1, maximum=MAX_SEED
                    )
                    scheduler = gr.Dropdown(
                        first.samplers(), value=d.scheduler, label="Scheduler", allow_custom_value=True
                    )
                loras = gr.Textbox(label="LoRAs ('source:weight, ...'; a LoRA weight axis sets their weights)")
                gr.Markdown(
                    f"Axes: values separated by commas (`1, 2, 3`), ranges `1-5` or `10-30 (+10)`, sizes `512x768`; "
                    f"Prompt S/R replaces its first value by each value. At most {MAX_GRID_CELLS} cells."
                )
                axes = []
                for name, (kind, values) in zip(("X", "Y", "Z"), DEFAULT_AXES):
                    with gr.Row():
                        choices = AXIS_CHOICES if name != "Z" else [("none", ""), *AXIS_CHOICES]
                        axes += [
                            gr.Dropdown(choices, value=kind, label=f"{name} axis", scale=1),
                            gr.Textbox(value=values, label=f"{name} values", scale=3),
                        ]
                with gr.Row():
                    run = gr.Button("Run grid", variant="primary", elem_id="grid-button")
                    stop = gr.Button("Stop", variant="stop", elem_id="grid-stop")
            with gr.Column(scale=3):
                grid = result_image("Grid", height=520, elem_id="grid-image")
                cells = result_gallery("Cells", columns=4, height=360, elem_id="grid-cells")
                notes = gr.Markdown(elem_id="grid-notes")

        # keyed by GenerateRequest field, then the axes: the /grid API's argument order
        form = {
            "model": model,
            "prompt": prompt,
            "negative_prompt": negative,
            "steps": steps,
            "guidance": guidance,
            "width": width,
            "height": height,
            "seed": seed,
            "scheduler": scheduler,
            "loras": loras,
        }
        axis_form = dict(zip(("x_kind", "x_values", "y_kind", "y_values", "z_kind", "z_values"), axes))
        follow_model(
            studio, model, card, form, lambda spec, form: _control_updates(spec, form, size_note), also=[size_note]
        )

        def on_grid(progress=gr.Progress(), control=None, x_kind="", x_values="", y_kind="", y_values="",
                    z_kind="", z_values="", **values):  # fmt: skip
            stopped = threading.Event()
            if control is not None:
                control["stop"] = stopped
            request = GridRequest(
                request_from_form(GenerateRequest, values),
                axes_from_form(x_kind, x_values, y_kind, y_values, z_kind, z_values),
            )
            # a ZeroGPU worker is another process: the Stop flag cannot reach it, so the grid runs whole there
            cancel = None if studio.settings.zerogpu else stopped.is_set
            result = run_task(run_grid, studio, request, progress=gradio_progress(progress), cancel=cancel)
            return {grid: str(result.path), cells: _cells(result), notes: _notes(studio, result)}

        def on_stop(control):
            if control and control.get("stop") is not None:
                control["stop"].set()

        run.click(
            on_grid,
            inputs_kwargs={**form, **axis_form, "control": control},
            outputs=[grid, cells, notes],
            api_name="grid",
        )
        stop.click(on_stop, control, None, queue=False, api_visibility="private")
    return page
