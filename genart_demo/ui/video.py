"""The Video tab: text-to-video and image-to-video, played as mp4 with a strip of frames and a GIF download."""

from __future__ import annotations

import gradio as gr

from ..examples import VIDEO_EXAMPLES
from ..markup import escape_markdown
from ..registry import ModelSpec
from ..settings import MAX_GUIDANCE, MAX_SEED, MAX_STEPS
from ..studio import Studio
from ..tasks.evaluate_video import video_rows
from ..tasks.video import VideoRequest, VideoResult, frame_counts, generate_video
from ..video import MAX_FPS, MIN_FPS
from .common import (
    follow_model,
    gradio_progress,
    guarded,
    model_card,
    model_choices,
    notes_markdown,
    request_from_form,
    result_image,
    run_task,
    saved_note,
    settings_json,
)
from .send_to import SendTargets
from .uploads import readable_uploads


def _updates(spec: ModelSpec, form: dict) -> dict:
    """{component: update} for the per-model controls of the form (keyed by request field)."""
    shown, d = spec.controls(), spec.defaults
    size = {"minimum": d.size_min, "maximum": d.size_max, "step": d.size_multiple}
    counts = frame_counts(spec)
    return {
        form["prompt"]: gr.update(visible="prompt" in shown),
        form["negative_prompt"]: gr.update(visible="negative_prompt" in shown),
        form["image"]: gr.update(visible="image-to-video" in spec.tasks),
        form["frames"]: gr.update(value=d.frames, minimum=counts.start, maximum=counts[-1], step=counts.step),
        form["fps"]: gr.update(value=d.fps),
        form["steps"]: gr.update(value=d.steps, minimum=d.min_steps),
        form["guidance"]: gr.update(value=d.guidance),
        form["width"]: gr.update(value=d.width, **size),
        form["height"]: gr.update(value=d.height, **size),
        form["scheduler"]: gr.update(choices=spec.samplers(), value=d.scheduler, visible="scheduler" in shown),
        form["decode_chunk"]: gr.update(
            value=d.decode_chunk or 1, maximum=counts[-1], visible=bool(d.decode_chunk)
        ),  # more than the video's frames would mean all at once
        form["motion_bucket_id"]: gr.update(value=d.motion_bucket_id, visible="motion_bucket_id" in shown),
        form["noise_aug"]: gr.update(value=d.noise_aug, visible="noise_aug" in shown),
    }


def metrics_markdown(rows: list[dict], standin: bool) -> str:
    """The made video's metrics as a small table (nothing for a single frame); stand-in numbers say so."""
    if not rows:
        return ""
    lines = ["**Video metrics** (1 = still / smooth / consistent)", "", "| Metric | Value |", "|---|---|"]
    lines += [f"| {r['metric']} | {r['value']:.4f} |" for r in rows]
    if standin:
        lines += ["", "CLIP is a tiny random stand-in offline: its consistency tests the plumbing only."]
    return "\n".join(lines)


def video_metrics_note(studio: Studio, result: VideoResult) -> str:
    """Metrics of the video just made (pixels and CLIP only: cheap); a failure to load CLIP never hides the video."""
    try:
        rows = video_rows(studio, result.frames, result.mp4.name, dino=False)
    except (OSError, RuntimeError, ValueError) as exc:  # e.g. CLIP weights not downloadable right now
        return f"ℹ️ Video metrics unavailable: {escape_markdown(str(exc))}"
    return metrics_markdown(rows, studio.offline)


def build_video_ui(studio: Studio, sends: SendTargets | None = None) -> gr.Column:
    """The tab's components, added to the app being built (one of its tabs, or a Space's only page)."""
    specs = studio.registry.for_tasks(["text-to-video", "image-to-video"])
    first = studio.spec(specs[0].id)
    d, counts = first.defaults, frame_counts(first)
    with gr.Column() as page:
        with gr.Row():
            with gr.Column(scale=2):
                model = gr.Dropdown(model_choices(specs), value=first.id, label="Model")
                card = gr.Markdown(model_card(first))
                prompt = gr.Textbox(label="Prompt", lines=2, elem_id="video-prompt")
                negative = gr.Textbox(label="Negative prompt")
                image = readable_uploads(
                    gr.Image(
                        label="Input image (image-to-video)",
                        type="filepath",
                        height=200,
                        visible=False,
                        elem_id="video-image",
                    )
                )
                with gr.Row():
                    frames = gr.Slider(
                        counts.start,
                        counts[-1],
                        value=d.frames,
                        step=counts.step,
                        label="Frames",
                        elem_id="video-frames",
                    )
                    fps = gr.Slider(MIN_FPS, MAX_FPS, value=d.fps, step=1, label="FPS")
                with gr.Row():
                    steps = gr.Slider(d.min_steps, MAX_STEPS, value=d.steps, step=1, label="Steps")
                    guidance = gr.Slider(0, MAX_GUIDANCE, value=d.guidance, step=0.5, label="Guidance (CFG) scale")
                with gr.Row():
                    width = gr.Slider(d.size_min, d.size_max, value=d.width, step=d.size_multiple, label="Width")
                    height = gr.Slider(d.size_min, d.size_max, value=d.height, step=d.size_multiple, label="Height")
                with gr.Row():
                    seed = gr.Number(-1, label="Seed (-1 = random)", precision=0, minimum=-1, maximum=MAX_SEED)
                    scheduler = gr.Dropdown(
                        first.samplers(), value=d.scheduler, label="Scheduler", allow_custom_value=True
                    )
                with gr.Row():
                    decode_chunk = gr.Slider(
                        1,
                        counts[-1],
                        value=d.decode_chunk or 1,
                        step=1,
                        visible=bool(d.decode_chunk),
                        label="Frames decoded at a time (less memory)",
                    )
                    motion = gr.Slider(
                        0, 255, value=d.motion_bucket_id, step=1, label="Motion bucket id", visible=False
                    )
                    noise_aug = gr.Slider(0, 1, value=d.noise_aug, step=0.01, label="Noise augmentation", visible=False)
                run = gr.Button("Make video", variant="primary", elem_id="video-button")
            with gr.Column(scale=3):
                video = gr.Video(label="Video (H.264 mp4)", elem_id="video-output", autoplay=True, loop=True)
                strip = result_image("Frames", height=200)
                gif = gr.File(label="GIF download")
                notes = gr.Markdown(elem_id="video-notes")
                params = gr.Code(
                    label="Parameters (also in the mp4's metadata and the .json beside it)", language="json"
                )

        # The form, keyed by VideoRequest field; its order is the /video API's argument order.
        form = {
            "model": model,
            "prompt": prompt,
            "negative_prompt": negative,
            "image": image,
            "frames": frames,
            "fps": fps,
            "steps": steps,
            "guidance": guidance,
            "width": width,
            "height": height,
            "seed": seed,
            "scheduler": scheduler,
            "decode_chunk": decode_chunk,
            "motion_bucket_id": motion,
            "noise_aug": noise_aug,
        }

        pending = follow_model(studio, model, card, form, _updates)
        if sends is not None:
            sends.add_form("video", form, tab="video", pending=pending)
        served = {s.id for s in specs}
        example_rows = [[m, p, i and str(i)] for m, p, i in VIDEO_EXAMPLES if m in served]
        if example_rows:  # a Space may serve none of the example models
            gr.Examples(example_rows, inputs=[model, prompt, image], label="Example inputs (drawn by the project)")

        outputs = [video, strip, gif, notes, params]
        cleared = {video: None, strip: None, gif: None, notes: "", params: ""}

        def on_video(progress=gr.Progress(), **values):
            """First empties the outputs, so a refused or failed run never leaves the last model's video showing."""
            yield cleared
            d = guarded(studio.spec, values.get("model")).defaults
            hidden = {
                "decode_chunk": not d.decode_chunk,
                "motion_bucket_id": not d.motion_bucket_id,
                "noise_aug": not d.noise_aug,
            }  # controls this model does not take: its own value applies
            values = {k: None if hidden.get(k) else v for k, v in values.items()}
            result = run_task(
                generate_video, studio, request_from_form(VideoRequest, values), progress=gradio_progress(progress)
            )
            yield {
                video: str(result.mp4),
                strip: result.strip,
                gif: str(result.gif),
                notes: video_metrics_note(studio, result)
                + "\n\n"
                + notes_markdown(result.notes)
                + "\n\n"
                + saved_note(studio, [result.mp4, result.mp4.with_suffix(".json"), result.gif]),
                params: settings_json(result.settings),
            }

        run.click(on_video, inputs_kwargs=form, outputs=outputs, api_name="video")
    return page
