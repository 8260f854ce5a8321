"""The Translate tab: image-to-image (img2img, InstructPix2Pix, ControlNet canny, GAN translators), output beside input."""

from __future__ import annotations

import gradio as gr

from ..examples import TRANSLATE_EXAMPLES
from ..imagefit import FIT_MODES
from ..registry import ModelSpec
from ..settings import MAX_GUIDANCE, MAX_SEED, MAX_STEPS
from ..studio import Studio
from ..tasks.translate import TranslateRequest, translate
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
)
from .send_to import SendTargets
from .uploads import readable_uploads


def _updates(spec: ModelSpec, form: dict, size_note=None) -> dict:
    """{component: update} for the per-model controls of the form (keyed by request field) and its fixed-size note.
    A deterministic model (a GAN: one forward pass) shows no seed or batch, and its batch goes back to 1."""
    shown, d = spec.controls(), spec.defaults
    return {
        form["prompt"]: gr.update(
            visible="prompt" in shown, label="Edit instruction" if "image_guidance" in shown else "Prompt"
        ),
        form["negative_prompt"]: gr.update(visible="negative_prompt" in shown),
        form["strength"]: gr.update(value=d.strength, visible="strength" in shown),
        form["image_guidance"]: gr.update(value=d.image_guidance, visible="image_guidance" in shown),
        form["steps"]: gr.update(value=d.steps, visible=spec.denoises),  # GAN translators take no steps
        form["guidance"]: gr.update(value=d.guidance, visible="guidance" in shown),
        **size_updates(spec, form["width"], form["height"], size_note),
        form["scheduler"]: gr.update(choices=spec.samplers(), value=d.scheduler, visible="scheduler" in shown),
        form["seed"]: gr.update(visible=spec.denoises),
        form["batch"]: gr.update(value=1, visible=spec.denoises),
    }


def build_translate_ui(studio: Studio, sends: SendTargets | None = None) -> gr.Column:
    """The tab's components, added to the app being built (one of its tabs, or a Space's only page)."""
    specs = studio.registry.for_tasks(["image-to-image"])
    first = studio.spec(specs[0].id)
    d = first.defaults
    with gr.Column() as page:
        with gr.Row():
            with gr.Column(scale=2):
                model = gr.Dropdown(model_choices(specs), value=first.id, label="Model")
                card = gr.Markdown(model_card(first))
                source = readable_uploads(
                    gr.Image(label="Input image", type="filepath", elem_id="translate-input", height=260)
                )
                prompt = gr.Textbox(label="Prompt", lines=2, elem_id="translate-prompt")
                negative = gr.Textbox(label="Negative prompt")
                with gr.Row():
                    strength = gr.Slider(0, 1, value=d.strength, step=0.05, label="Strength (0 keeps the input)")
                    image_guidance = gr.Slider(
                        0, 10, value=d.image_guidance, step=0.1, label="Image guidance", visible=False
                    )
                with gr.Row():
                    steps = gr.Slider(1, MAX_STEPS, value=d.steps, step=1, label="Steps")
                    guidance = gr.Slider(0, MAX_GUIDANCE, value=d.guidance, step=0.5, label="Guidance (CFG) scale")
                with gr.Row():
                    width, height, size_note = size_sliders(first)
                    fit = gr.Radio(list(FIT_MODES), value="resize", label="Fit input to size by")
                with gr.Row():
                    seed = gr.Number(
                        -1,
                        label="Seed (-1 = random)",
                        precision=0,
                        minimum=-1,
                        maximum=MAX_SEED,
                        visible=first.denoises,
                    )
                    batch = gr.Slider(
                        1, studio.settings.max_batch, value=1, step=1, label="Batch size", visible=first.denoises
                    )
                    scheduler = gr.Dropdown(
                        first.samplers(), value=d.scheduler, label="Scheduler", allow_custom_value=True
                    )
                with gr.Row(visible=first.control == "canny") as canny_row:
                    canny_low = gr.Slider(0, 255, value=100, step=1, label="Canny low threshold")
                    canny_high = gr.Slider(0, 255, value=200, step=1, label="Canny high threshold")
                run = gr.Button("Translate", variant="primary", elem_id="translate-button")
            with gr.Column(scale=3):
                with gr.Row():
                    fitted = result_image("Input as the model sees it", elem_id="translate-fitted")
                    control = result_image(
                        "Control image (canny edges)", elem_id="translate-control", visible=first.control == "canny"
                    )
                gallery = result_gallery("Output", elem_id="translate-gallery")
                notes = gr.Markdown(elem_id="translate-notes")
                params = gr.Code(label="Parameters (also in each PNG)", language="json")
        example_rows = [[m, str(path), p] for m, path, p in TRANSLATE_EXAMPLES if m in {s.id for s in specs}]
        if example_rows:  # a Space may serve none of the example models
            gr.Examples(example_rows, inputs=[model, source, prompt], label="Example inputs (drawn by the project)")

        # The form, keyed by TranslateRequest field; its order is the /translate API's argument order.
        form = {
            "model": model,
            "image": source,
            "prompt": prompt,
            "negative_prompt": negative,
            "strength": strength,
            "image_guidance": image_guidance,
            "steps": steps,
            "guidance": guidance,
            "width": width,
            "height": height,
            "fit": fit,
            "seed": seed,
            "batch": batch,
            "scheduler": scheduler,
            "canny_low": canny_low,
            "canny_high": canny_high,
        }

        def updates(spec, form):
            canny = gr.update(visible=spec.control == "canny")  # the thresholds and the edge map: ControlNet canny only
            return {canny_row: canny, control: canny, **_updates(spec, form, size_note)}

        pending = follow_model(studio, model, card, form, updates, also=[canny_row, control, size_note])
        if sends is not None:
            sends.add_form("translate", form, tab="translate", pending=pending)

        def on_translate(progress=gr.Progress(), **values):
            if not values.get("image"):
                raise gr.Error("No input image: upload one (PNG, JPEG, WebP, BMP, GIF or TIFF).")
            result = run_task(
                translate, studio, request_from_form(TranslateRequest, values), progress=gradio_progress(progress)
            )
            return {
                fitted: result.input_image,
                control: result.control_image,
                gallery: gallery_items(result.paths, result.settings),
                notes: "\n\n".join(filter(None, [notes_markdown(result.notes), saved_note(studio, result.paths)])),
                params: settings_json(result.settings),
            }

        run.click(
            on_translate, inputs_kwargs=form, outputs=[fitted, control, gallery, notes, params], api_name="translate"
        )
    return page
