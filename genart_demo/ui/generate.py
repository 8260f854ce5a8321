"""The Generate tab: text-to-image, unconditional and class-conditional sampling, plus a compare mode."""

from __future__ import annotations

import gradio as gr

from ..markup import escape_markdown
from ..registry import GENERATE_TASKS, ModelSpec
from ..settings import MAX_COMPARE_MODELS, MAX_GUIDANCE, MAX_SEED, MAX_STEPS, MIN_GUIDANCE
from ..studio import Studio
from ..tasks.generate import CompareRequest, GenerateRequest, compare, generate
from .common import (
    follow_model,
    gallery_items,
    gradio_progress,
    model_card,
    model_choices,
    request_from_form,
    result_gallery,
    run_task,
    saved_note,
    settings_json,
    size_sliders,
    size_updates,
)
from .compare_viewer import CompareViewer, compare_shots
from .send_to import SendTargets

EXAMPLES = [
    ["an astronaut riding a horse on the moon, photorealistic"],
    ["a watercolor painting of a lighthouse at dawn"],
    ["a corgi wearing sunglasses, studio photo, 85mm"],
    ["isometric voxel city at night, neon lights"],
]


def _control_updates(spec: ModelSpec, form: dict, size_note=None, examples=None) -> dict:
    """{component: update} for the per-model controls of the form (keyed by request field), its fixed-size note and
    its example prompts (shown only for models that take a prompt)."""
    shown, d = spec.controls(), spec.defaults
    updates = {
        form["prompt"]: gr.update(visible="prompt" in shown),
        form["negative_prompt"]: gr.update(visible="negative_prompt" in shown),
        form["class_label"]: gr.update(visible="class_label" in shown),
        form["steps"]: gr.update(value=d.steps),
        form["guidance"]: gr.update(value=d.guidance, visible="guidance" in shown),
        **size_updates(spec, form["width"], form["height"], size_note),
        form["scheduler"]: gr.update(choices=spec.samplers(), value=d.scheduler, visible="scheduler" in shown),
        form["refine"]: gr.update(value=False, visible=bool(spec.refiner)),
        form["truncation"]: gr.update(value=d.truncation, visible="truncation" in shown),
    }
    if examples is not None:
        updates[examples] = gr.update(visible="prompt" in shown)
    return updates


def _compare_updates(specs: list[ModelSpec], prompt, negative, class_label) -> dict:
    """{component: update} for compare's own conditioning fields: each shown only if a picked model takes it (a
    hidden one is not applied: the task blanks what a model does not take)."""
    takes = set().union(*(s.controls() for s in specs))
    return {
        prompt: gr.update(visible="prompt" in takes),
        negative: gr.update(visible="negative_prompt" in takes),
        class_label: gr.update(visible="class_label" in takes),
    }


def _gallery(results) -> list[tuple[str, str]]:
    return [item for r in results for item in gallery_items(r.paths, r.settings)]


def _notes(studio: Studio, results) -> str:
    """The runs' warnings (they quote the prompt: escaped), then where each file was saved."""
    warnings = [f"⚠️ {escape_markdown(w)}" for r in results for w in r.warnings]
    return "\n\n".join(warnings + [saved_note(studio, r.paths) for r in results])


def build_generate_ui(studio: Studio, sends: SendTargets | None = None) -> gr.Column:
    """The tab's components, added to the app being built (one of its tabs, or a Space's only page)."""
    specs = studio.registry.for_tasks(GENERATE_TASKS)
    text_models = [s.id for s in specs if "text-to-image" in s.tasks]
    first = studio.spec((text_models or [specs[0].id])[0])
    d = first.defaults
    with gr.Column() as page:
        with gr.Row():
            with gr.Column(scale=2):
                model = gr.Dropdown(model_choices(specs), value=first.id, label="Model")
                card = gr.Markdown(model_card(first))
                prompt = gr.Textbox(
                    label="Prompt", lines=2, placeholder="Describe the image", elem_id="generate-prompt"
                )
                negative = gr.Textbox(label="Negative prompt", lines=1)
                class_label = gr.Textbox(
                    label="ImageNet class (name or index 0–999)", value="golden retriever", visible=False
                )
                with gr.Row():
                    steps = gr.Slider(1, MAX_STEPS, value=d.steps, step=1, label="Steps")
                    guidance = gr.Slider(
                        MIN_GUIDANCE, MAX_GUIDANCE, value=d.guidance, step=0.5, label="Guidance (CFG) scale"
                    )
                with gr.Row():
                    width, height, size_note = size_sliders(first)
                with gr.Row():
                    seed = gr.Number(-1, label="Seed (-1 = random)", precision=0, minimum=-1, maximum=MAX_SEED)
                    batch = gr.Slider(1, studio.settings.max_batch, value=1, step=1, label="Batch size")
                    # custom values pass through to the task, which names the compatible samplers if refused
                    scheduler = gr.Dropdown(
                        first.samplers(), value=d.scheduler, label="Scheduler", allow_custom_value=True
                    )
                refine = gr.Checkbox(False, label="Finish with the SDXL refiner", visible=bool(first.refiner))
                with gr.Accordion("Variation seed", open=False), gr.Row():  # AUTOMATIC1111's, same names
                    variation_seed = gr.Number(
                        -1, label="Variation seed (-1 = random)", precision=0, minimum=-1, maximum=MAX_SEED
                    )
                    variation_strength = gr.Slider(0, 1, value=0, step=0.01, label="Variation strength")
                loras = gr.Textbox(
                    "",  # a value: /generate callers may leave it out
                    label="LoRA: source:weight, ... (a .safetensors file or Hub owner/name; weight -4 to 4)",
                    placeholder="style.safetensors:0.8, owner/repo:0.5",
                    elem_id="generate-loras",
                )
                truncation = gr.Slider(  # style-based GANs: w = w_avg + psi (w - w_avg)
                    0,
                    1,
                    value=d.truncation,
                    step=0.05,
                    label="Truncation psi (0 = the average image, 1 = untruncated)",
                    visible="truncation" in first.controls(),
                    elem_id="generate-truncation",
                )
                run = gr.Button("Generate", variant="primary", elem_id="generate-button")
            with gr.Column(scale=3):
                gallery = result_gallery("Images", elem_id="generate-gallery")
                warnings = gr.Markdown(label="Warnings and saved files", elem_id="generate-warnings")
                params = gr.Code(label="Parameters (also in each PNG)", language="json")
        examples = gr.Examples(EXAMPLES, inputs=[prompt], label="Example prompts")
        examples.dataset.visible = "prompt" in first.controls()

        with gr.Accordion("Compare models side by side", open=False):
            compare_models = gr.Dropdown(
                model_choices(specs),
                value=text_models[:2],
                multiselect=True,
                max_choices=MAX_COMPARE_MODELS,
                label=f"Models (up to {MAX_COMPARE_MODELS}); same prompt, negative prompt and seed",
            )
            # Compare's own conditioning fields, shown for what the picked models take (the generate form's are
            # shown for its one model); its prompts follow the generate form's as they are typed there.
            compare_prompt = gr.Textbox(label="Prompt", lines=2, elem_id="compare-prompt")
            compare_negative = gr.Textbox(label="Negative prompt", elem_id="compare-negative")
            compare_class = gr.Textbox(
                label="ImageNet class (name or index 0–999)", value="golden retriever", elem_id="compare-class"
            )
            for box, copy in ((prompt, compare_prompt), (negative, compare_negative)):
                box.change(None, box, copy, js="(text) => text", api_visibility="private")
            own_defaults = gr.Checkbox(True, label="Each model uses its own steps, guidance, size and scheduler")
            run_compare = gr.Button("Compare", elem_id="compare-button")
            compare_gallery = result_gallery(
                "Side by side", columns=MAX_COMPARE_MODELS, height=360, elem_id="compare-gallery"
            )
            compare_notes = gr.Markdown(elem_id="compare-notes")
            compare_params = gr.Code(label="Parameters", language="json", elem_id="compare-params")
            viewer = CompareViewer()

        # The form, keyed by GenerateRequest field; its order is the /generate API's argument order.
        form = {
            "model": model,
            "prompt": prompt,
            "negative_prompt": negative,
            "class_label": class_label,
            "steps": steps,
            "guidance": guidance,
            "width": width,
            "height": height,
            "seed": seed,
            "batch": batch,
            "scheduler": scheduler,
            "refine": refine,
            "variation_seed": variation_seed,
            "variation_strength": variation_strength,
            "loras": loras,
            "truncation": truncation,  # last: earlier /generate callers keep their positions
        }

        pending = follow_model(
            studio,
            model,
            card,
            form,
            lambda spec, form: _control_updates(spec, form, size_note, examples.dataset),
            also=[size_note, examples.dataset],
        )
        if sends is not None:
            sends.add_form("generate", form, tab="generate", pending=pending)

        compare_fields = (compare_prompt, compare_negative, compare_class)

        def on_compare_models(models):
            picked = [studio.spec(m) for m in models or () if m in studio.registry]
            return _compare_updates(picked, *compare_fields)

        compare_models.change(on_compare_models, compare_models, list(compare_fields), api_visibility="private")
        for box, update in on_compare_models(compare_models.value).items():
            box.visible = update["visible"]

        def on_generate(progress=gr.Progress(), **values):
            result = run_task(
                generate, studio, request_from_form(GenerateRequest, values), progress=gradio_progress(progress)
            )
            return {
                gallery: _gallery([result]),
                params: settings_json(result.settings),
                warnings: _notes(studio, [result]),
            }

        run.click(on_generate, inputs_kwargs=form, outputs=[gallery, params, warnings], api_name="generate")

        # /compare takes the models, then the shared settings, then whether each model keeps its own defaults.
        compare_form = {
            "models": compare_models,
            "prompt": compare_prompt,
            "negative_prompt": compare_negative,
            "class_label": compare_class,
            **{k: form[k] for k in ("steps", "guidance", "width", "height", "seed", "scheduler")},
            "own_defaults": own_defaults,
            "variation_seed": variation_seed,  # after own_defaults: earlier /compare callers keep their positions
            "variation_strength": variation_strength,
        }
        if sends is not None:
            sends.add_form("compare", compare_form, tab="generate")

        def on_compare(progress=gr.Progress(), models=None, own_defaults=True, **values):
            request = CompareRequest(
                request_from_form(GenerateRequest, values, model=""), tuple(models or ()), bool(own_defaults)
            )
            results = run_task(compare, studio, request, progress=gradio_progress(progress))
            return {
                compare_gallery: _gallery(results),
                compare_notes: _notes(studio, results),
                compare_params: settings_json([s for r in results for s in r.settings]),
                viewer.state: compare_shots(results),  # a gr.State: not among the /compare API's outputs
            }

        compared = run_compare.click(
            on_compare,
            inputs_kwargs=compare_form,
            outputs=[compare_gallery, compare_notes, compare_params, viewer.state],
            api_name="compare",
        )
        viewer.follow(compared)
    return page
