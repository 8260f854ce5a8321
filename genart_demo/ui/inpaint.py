"""The Inpaint tab: paint a mask (or upload one), repaint it; or extend the canvas and outpaint."""

from __future__ import annotations

import gradio as gr

from ..examples import INPAINT_EXAMPLES
from ..registry import ModelSpec
from ..settings import MAX_GUIDANCE, MAX_SEED, MAX_STEPS
from ..studio import Studio
from ..tasks.inpaint import MAX_MASK_BLUR, MAX_OUTPAINT, InpaintRequest, inpaint, mask_preview
from .common import (
    follow_model,
    gallery_items,
    gradio_progress,
    model_card,
    model_choices,
    notes_markdown,
    request_from_form,
    result_gallery,
    result_image,
    run_task,
    saved_note,
    settings_json,
    size_sliders,
    size_updates,
    whole,
)
from .send_to import SendTargets
from .uploads import readable_uploads


def _updates(spec: ModelSpec, form: dict, size_note=None) -> dict:
    """{component: update} for the per-model controls of the form (keyed by request field) and its fixed-size note:
    each shown only where the model uses it."""
    shown, d = spec.controls(), spec.defaults
    return {
        form["prompt"]: gr.update(visible="prompt" in shown),
        form["negative_prompt"]: gr.update(visible="negative_prompt" in shown),
        form["strength"]: gr.update(value=d.strength, visible="strength" in shown),
        form["steps"]: gr.update(value=d.steps),
        form["guidance"]: gr.update(value=d.guidance, visible="guidance" in shown),
        **size_updates(spec, form["width"], form["height"], size_note),
        form["scheduler"]: gr.update(choices=spec.samplers(), value=d.scheduler, visible="scheduler" in shown),
    }


def editor_parts(value) -> tuple[str | None, str | None]:
    """(background image path, first drawn layer path) from an ImageEditor value; either may be None."""
    if not value:
        return None, None
    layers = [layer for layer in (value.get("layers") or []) if layer]
    return value.get("background") or value.get("composite"), (layers[0] if layers else None)


def mask_editor(label: str, *, height: int, elem_id: str, visible: bool = True) -> gr.ImageEditor:
    """An image upload to paint the mask on with a white brush (white = repaint; `editor_parts` reads it back)."""
    return readable_uploads(
        gr.ImageEditor(
            label=label,
            type="filepath",
            format="png",
            height=height,
            brush=gr.Brush(colors=["#ffffff"], color_mode="fixed", default_size=24),
            visible=visible,
            elem_id=elem_id,
        )
    )


def build_inpaint_ui(studio: Studio, sends: SendTargets | None = None) -> gr.Column:
    """The tab's components, added to the app being built (one of its tabs, or a Space's only page)."""
    specs = studio.registry.for_tasks(["inpaint"])
    first = studio.spec(specs[0].id)
    d = first.defaults
    with gr.Column() as page:
        with gr.Row():
            with gr.Column(scale=2):
                model = gr.Dropdown(model_choices(specs), value=first.id, label="Model")
                card = gr.Markdown(model_card(first))
                editor = mask_editor("Image — paint over what to change", height=360, elem_id="inpaint-editor")
                mask_upload = readable_uploads(
                    gr.Image(label="…or upload a mask (white = repaint)", type="filepath", height=160)
                )
                prompt = gr.Textbox(label="Prompt", lines=2, elem_id="inpaint-prompt")
                negative = gr.Textbox(label="Negative prompt")
                with gr.Row():
                    strength = gr.Slider(0, 1, value=d.strength, step=0.05, label="Strength")
                    mask_blur = gr.Slider(0, MAX_MASK_BLUR, value=4, step=1, label="Mask blur (px, inside the mask)")
                with gr.Row():
                    only_masked = gr.Checkbox(False, label="Only masked area (crop around the mask)")
                    padding = gr.Slider(0, 256, value=32, step=8, label="Padding around the mask (px)")
                with gr.Accordion("Outpaint: extend the canvas", open=False), gr.Row():
                    sides = [
                        gr.Slider(0, MAX_OUTPAINT, value=0, step=8, label=f"{side} (px)")
                        for side in ("Left", "Right", "Up", "Down")
                    ]
                with gr.Row():
                    steps = gr.Slider(1, MAX_STEPS, value=d.steps, step=1, label="Steps")
                    guidance = gr.Slider(0, MAX_GUIDANCE, value=d.guidance, step=0.5, label="Guidance (CFG) scale")
                with gr.Row():
                    width, height, size_note = size_sliders(first, ("Working width", "Working height"))
                with gr.Row():
                    seed = gr.Number(-1, label="Seed (-1 = random)", precision=0, minimum=-1, maximum=MAX_SEED)
                    batch = gr.Slider(1, studio.settings.max_batch, value=1, step=1, label="Batch size")
                    scheduler = gr.Dropdown(
                        first.samplers(), value=d.scheduler, label="Scheduler", allow_custom_value=True
                    )
                run = gr.Button("Inpaint", variant="primary", elem_id="inpaint-button")
            with gr.Column(scale=3):
                used_mask = result_image(
                    "Canvas, with the area repainted tinted (mask and outpaint strips)", elem_id="inpaint-mask"
                )
                gallery = result_gallery("Output", elem_id="inpaint-gallery")
                notes = gr.Markdown(elem_id="inpaint-notes")
                params = gr.Code(label="Parameters (also in each PNG)", language="json")

        # The form, keyed by InpaintRequest field (the editor and the four outpaint sides are read apart); its
        # order is the /inpaint API's argument order.
        left, right, up, down = sides
        form = {
            "model": model,
            "editor": editor,
            "mask": mask_upload,
            "prompt": prompt,
            "negative_prompt": negative,
            "strength": strength,
            "mask_blur": mask_blur,
            "only_masked": only_masked,
            "padding": padding,
            "left": left,
            "right": right,
            "up": up,
            "down": down,
            "steps": steps,
            "guidance": guidance,
            "width": width,
            "height": height,
            "seed": seed,
            "batch": batch,
            "scheduler": scheduler,
        }

        pending = follow_model(
            studio, model, card, form, lambda spec, form: _updates(spec, form, size_note), also=[size_note]
        )
        if sends is not None:
            sends.add_form("inpaint", form, tab="inpaint", pending=pending)
        example_rows = [
            [m, str(image), mask and str(mask), p, left_px, right_px]
            for m, image, mask, p, left_px, right_px in INPAINT_EXAMPLES
            if m in {s.id for s in specs}
        ]
        if example_rows:  # a Space may serve none of the example models
            gr.Examples(
                example_rows,
                inputs=[model, editor, mask_upload, prompt, left, right],
                label="Example inputs (drawn by the project): a mask over the house, or the canvas widened to outpaint",
            )

        def on_inpaint(progress=gr.Progress(), editor=None, left=0, right=0, up=0, down=0, **values):
            image, drawn = editor_parts(editor)
            if not image:
                raise gr.Error("No input image: upload one into the editor (PNG, JPEG, WebP, BMP, GIF or TIFF).")
            outpaint = tuple(whole(v, 0) for v in (left, right, up, down))
            request = request_from_form(
                InpaintRequest, {**values, "mask": values.get("mask") or drawn}, image=image, outpaint=outpaint
            )
            result = run_task(inpaint, studio, request, progress=gradio_progress(progress))
            return {
                used_mask: mask_preview(result.input_image, result.mask),
                gallery: gallery_items(result.paths, result.settings),
                notes: "\n\n".join(filter(None, [notes_markdown(result.notes), saved_note(studio, result.paths)])),
                params: settings_json(result.settings),
            }

        run.click(on_inpaint, inputs_kwargs=form, outputs=[used_mask, gallery, notes, params], api_name="inpaint")
    return page
