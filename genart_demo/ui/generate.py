"""The Generate tab: text-to-image, unconditional and class-conditional sampling, plus a compare mode."""
from __future__ import annotations

import gradio as gr

from ..registry import GENERATE_TASKS, ModelSpec
from ..settings import MAX_COMPARE_MODELS, MAX_GUIDANCE, MAX_SEED, MAX_STEPS, MIN_GUIDANCE
from ..studio import Studio
from .common import gradio_progress, model_card, model_choices, run_task, settings_json, whole

EXAMPLES = [
    ["an astronaut riding a horse on the moon, photorealistic"],
    ["a watercolor painting of a lighthouse at dawn"],
    ["a corgi wearing sunglasses, studio photo, 85mm"],
    ["isometric voxel city at night, neon lights"],
]


def _control_updates(spec: ModelSpec) -> list:
    """gr.update()s for the per-model controls, in the order of `_controls` below."""
    shown, d = spec.controls(), spec.defaults
    size = {"minimum": d.size_min, "maximum": d.size_max, "step": d.size_multiple, "visible": "size" in shown}
    return [
        model_card(spec),
        gr.update(visible="prompt" in shown),
        gr.update(visible="negative_prompt" in shown),
        gr.update(visible="class_label" in shown),
        gr.update(value=d.steps),
        gr.update(value=d.guidance, visible="guidance" in shown),
        gr.update(value=d.width, **size),
        gr.update(value=d.height, **size),
        gr.update(choices=spec.samplers(), value=d.scheduler, visible="scheduler" in shown),
        gr.update(value=False, visible=bool(spec.refiner)),
    ]


def _gallery_items(results) -> list[tuple[str, str]]:
    def caption(s: dict) -> str:
        return f"{s['model']} · seed {s['seed']}" + (" · tiny stand-in" if s.get("standin") else "")

    return [(str(p), caption(s)) for r in results for p, s in zip(r.paths, r.settings)]


def _report(results) -> tuple[str, str]:
    params = [s for r in results for s in r.settings]
    warnings = [w for r in results for w in r.warnings]
    return settings_json(params), "\n".join(f"⚠️ {w}" for w in warnings)


def build_generate_ui(studio: Studio) -> gr.Blocks:
    """A Blocks that runs alone or is `.render()`ed into the multi-tab app."""
    specs = studio.registry.for_tasks(GENERATE_TASKS)
    text_models = [s.id for s in specs if "text-to-image" in s.tasks]
    first = studio.spec((text_models or [specs[0].id])[0])
    d = first.defaults
    with gr.Blocks() as page:
        with gr.Row():
            with gr.Column(scale=2):
                model = gr.Dropdown(model_choices(specs), value=first.id, label="Model")
                card = gr.Markdown(model_card(first))
                prompt = gr.Textbox(label="Prompt", lines=2, placeholder="Describe the image", elem_id="generate-prompt")
                negative = gr.Textbox(label="Negative prompt", lines=1)
                class_label = gr.Textbox(label="ImageNet class (name or index 0–999)", value="golden retriever", visible=False)
                with gr.Row():
                    steps = gr.Slider(1, MAX_STEPS, value=d.steps, step=1, label="Steps")
                    guidance = gr.Slider(MIN_GUIDANCE, MAX_GUIDANCE, value=d.guidance, step=0.5, label="Guidance (CFG) scale")
                with gr.Row():
                    width = gr.Slider(d.size_min, d.size_max, value=d.width, step=d.size_multiple, label="Width")
                    height = gr.Slider(d.size_min, d.size_max, value=d.height, step=d.size_multiple, label="Height")
                with gr.Row():
                    seed = gr.Number(-1, label="Seed (-1 = random)", precision=0, minimum=-1, maximum=MAX_SEED)
                    batch = gr.Slider(1, studio.settings.max_batch, value=1, step=1, label="Batch size")
                    # custom values pass through to the task, which names the compatible samplers if refused
                    scheduler = gr.Dropdown(first.samplers(), value=d.scheduler, label="Scheduler", allow_custom_value=True)
                refine = gr.Checkbox(False, label="Finish with the SDXL refiner", visible=bool(first.refiner))
                run = gr.Button("Generate", variant="primary", elem_id="generate-button")
            with gr.Column(scale=3):
                gallery = gr.Gallery(label="Images", columns=2, height=420, elem_id="generate-gallery", format="png")
                warnings = gr.Markdown(label="Warnings", elem_id="generate-warnings")
                params = gr.Code(label="Parameters (also in each PNG)", language="json")
        gr.Examples(EXAMPLES, inputs=[prompt], label="Example prompts")

        with gr.Accordion("Compare models side by side", open=False):
            compare_models = gr.Dropdown(
                model_choices(specs),
                value=text_models[:2],
                multiselect=True,
                max_choices=MAX_COMPARE_MODELS,
                label=f"Models (up to {MAX_COMPARE_MODELS}); same prompt, negative prompt and seed",
            )
            own_defaults = gr.Checkbox(True, label="Each model uses its own steps, guidance, size and scheduler")
            run_compare = gr.Button("Compare", elem_id="compare-button")
            compare_gallery = gr.Gallery(label="Side by side", columns=MAX_COMPARE_MODELS, height=360, format="png",
                                         elem_id="compare-gallery")
            compare_params = gr.Code(label="Parameters", language="json", elem_id="compare-params")

        controls = [card, prompt, negative, class_label, steps, guidance, width, height, scheduler, refine]
        model.change(lambda mid: _control_updates(studio.spec(mid)), model, controls, api_visibility="private")

        def on_generate(model_id, prompt, negative_prompt, class_label, steps, guidance, width, height, seed,
                        batch, scheduler, refine, progress=gr.Progress()):
            from ..tasks.generate import GenerateRequest, generate

            request = GenerateRequest(
                model=model_id, prompt=prompt or "", negative_prompt=negative_prompt or "", steps=whole(steps),
                guidance=guidance, width=whole(width), height=whole(height), seed=whole(seed, -1), batch=whole(batch),
                scheduler=scheduler or None, class_label=class_label, refine=bool(refine),
            )
            result = run_task(generate, studio, request, progress=gradio_progress(progress))
            return (_gallery_items([result]), *_report([result]))

        run.click(
            on_generate,
            [model, prompt, negative, class_label, steps, guidance, width, height, seed, batch, scheduler, refine],
            [gallery, params, warnings],
            api_name="generate",
        )

        def on_compare(model_ids, prompt, negative_prompt, class_label, steps, guidance, width, height, seed,
                       scheduler, own_defaults, progress=gr.Progress()):
            from ..tasks.generate import GenerateRequest, compare

            request = GenerateRequest(
                model="", prompt=prompt or "", negative_prompt=negative_prompt or "", steps=whole(steps),
                guidance=guidance, width=whole(width), height=whole(height), seed=whole(seed, -1),
                scheduler=scheduler or None, class_label=class_label,
            )
            results = run_task(
                compare, studio, request, list(model_ids or []), own_defaults=bool(own_defaults),
                progress=gradio_progress(progress),
            )
            return (_gallery_items(results), _report(results)[0])

        run_compare.click(
            on_compare,
            [compare_models, prompt, negative, class_label, steps, guidance, width, height, seed, scheduler, own_defaults],
            [compare_gallery, compare_params],
            api_name="compare",
        )
    return page
