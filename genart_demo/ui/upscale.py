"""The Super-resolve tab: diffusion and GAN upscalers, tiled, with a before/after slider and optional PSNR/SSIM."""

from __future__ import annotations

import gradio as gr

from ..examples import UPSCALE_EXAMPLES
from ..registry import ModelSpec
from ..settings import MAX_GUIDANCE, MAX_SEED, MAX_STEPS
from ..studio import Studio
from ..tasks.upscale import DEFAULT_OVERLAP, MAX_NOISE_LEVEL, TILE_RANGE, UpscaleRequest, max_overlap, upscale
from .common import (
    follow_model,
    gradio_progress,
    model_card,
    model_choices,
    notes_markdown,
    request_from_form,
    run_task,
    saved_note,
    settings_json,
)
from .send_to import SendTargets
from .uploads import readable_uploads


def _card(spec: ModelSpec) -> str:
    return model_card(spec) + (f" · ×{spec.scale}" if spec.scale else "")


def _updates(spec: ModelSpec, form: dict) -> dict:
    """{component: update} for the per-model controls of the form (keyed by request field)."""
    shown, d = spec.controls(), spec.defaults
    return {
        form["prompt"]: gr.update(visible="prompt" in shown),
        form["negative_prompt"]: gr.update(visible="negative_prompt" in shown),
        form["noise_level"]: gr.update(value=d.noise_level, visible="noise_level" in shown),
        form["steps"]: gr.update(value=d.steps, visible=spec.denoises),  # GAN upscalers take no steps
        form["guidance"]: gr.update(value=d.guidance, visible="guidance" in shown),
        form["tile"]: gr.update(value=d.tile),
        form["overlap"]: overlap_update(d.tile, DEFAULT_OVERLAP),
    }


def overlap_update(tile, overlap) -> dict:
    """The Tile overlap slider for a tile size: at most what that tile takes (tile 32: 15 px), its value cut to fit."""
    if isinstance(tile, bool) or not isinstance(tile, (int, float)) or not TILE_RANGE[0] <= tile <= TILE_RANGE[1]:
        return gr.update()  # not a tile size (the run refuses it with its own message): leave the slider be
    most = max_overlap(int(tile))
    value = min(overlap, most) if isinstance(overlap, (int, float)) and overlap >= 0 else min(DEFAULT_OVERLAP, most)
    return gr.update(maximum=most, value=value)


def metrics_markdown(metrics: dict) -> str:
    if not metrics:
        return "Upload a high-resolution reference to score the result (PSNR, SSIM) against a bicubic baseline."
    return (
        "| vs reference | PSNR (dB) | SSIM |\n|---|---|---|\n"
        f"| result | {metrics['psnr']:.2f} | {metrics['ssim']:.4f} |\n"
        f"| bicubic | {metrics['bicubic_psnr']:.2f} | {metrics['bicubic_ssim']:.4f} |"
    )


def build_upscale_ui(studio: Studio, sends: SendTargets | None = None) -> gr.Column:
    """The tab's components, added to the app being built (one of its tabs, or a Space's only page)."""
    specs = studio.registry.for_tasks(["super-resolve"])
    first = studio.spec(specs[0].id)
    d = first.defaults
    with gr.Column() as page:
        with gr.Row():
            with gr.Column(scale=2):
                model = gr.Dropdown(model_choices(specs), value=first.id, label="Model")
                card = gr.Markdown(_card(first))
                source = readable_uploads(
                    gr.Image(label="Low-resolution input", type="filepath", elem_id="upscale-input", height=240)
                )
                prompt = gr.Textbox(label="Prompt (what the image shows)", elem_id="upscale-prompt")
                negative = gr.Textbox(label="Negative prompt")
                with gr.Row():
                    noise_level = gr.Slider(0, MAX_NOISE_LEVEL, value=d.noise_level, step=1, label="Noise level")
                    steps = gr.Slider(1, MAX_STEPS, value=d.steps, step=1, label="Steps")
                    guidance = gr.Slider(0, MAX_GUIDANCE, value=d.guidance, step=0.5, label="Guidance (CFG) scale")
                with gr.Row():
                    tile = gr.Slider(*TILE_RANGE, value=d.tile, step=16, label="Tile size (input px)")
                    overlap = gr.Slider(
                        0,
                        max_overlap(d.tile),
                        value=min(DEFAULT_OVERLAP, max_overlap(d.tile)),
                        step=2,
                        label="Tile overlap (px)",
                    )
                    seed = gr.Number(-1, label="Seed (-1 = random)", precision=0, minimum=-1, maximum=MAX_SEED)
                reference = readable_uploads(
                    gr.Image(label="High-resolution reference (optional, for PSNR/SSIM)", type="filepath", height=160)
                )
                run = gr.Button("Upscale", variant="primary", elem_id="upscale-button")
            with gr.Column(scale=3):
                slider = gr.ImageSlider(
                    label="Bicubic ← → upscaled", type="filepath", format="png", elem_id="upscale-slider"
                )
                scores = gr.Markdown(metrics_markdown({}))
                notes = gr.Markdown(elem_id="upscale-notes")
                params = gr.Code(label="Parameters (also in the PNG)", language="json")

        # The form, keyed by UpscaleRequest field; its order is the /upscale API's argument order.
        form = {
            "model": model,
            "image": source,
            "prompt": prompt,
            "negative_prompt": negative,
            "noise_level": noise_level,
            "steps": steps,
            "guidance": guidance,
            "tile": tile,
            "overlap": overlap,
            "seed": seed,
            "reference": reference,
        }

        pending = follow_model(studio, model, card, form, _updates, card_text=_card)
        if sends is not None:
            sends.add_form("upscale", form, tab="upscale", pending=pending)
        served = {s.id for s in specs}
        example_rows = [[m, str(i), p, str(r)] for m, i, p, r in UPSCALE_EXAMPLES if m in served]
        if example_rows:  # a Space may serve none of the example models
            gr.Examples(
                example_rows, inputs=[model, source, prompt, reference], label="Example inputs (drawn by the project)"
            )
        tile.change(overlap_update, [tile, overlap], overlap, api_visibility="private", queue=False)

        outputs = [slider, scores, notes, params]
        cleared = {slider: None, scores: metrics_markdown({}), notes: "", params: ""}

        def on_upscale(progress=gr.Progress(), **values):
            """First empties the outputs, so a refused or failed run never leaves the last model's result showing."""
            yield cleared
            if not values.get("image"):
                raise gr.Error("No input image: upload one (PNG, JPEG, WebP, BMP, GIF or TIFF).")
            result = run_task(
                upscale, studio, request_from_form(UpscaleRequest, values), progress=gradio_progress(progress)
            )
            before = result.path.with_name(result.path.stem + "-bicubic.png")
            result.bicubic.save(before)
            yield {
                slider: (str(before), str(result.path)),
                scores: metrics_markdown(result.metrics),
                notes: notes_markdown(result.notes) + "\n\n" + saved_note(studio, [result.path, before]),
                params: settings_json(result.settings),
            }

        run.click(on_upscale, inputs_kwargs=form, outputs=outputs, api_name="upscale")
    return page
