"""The Video tab: text-to-video and image-to-video, played as mp4 with a strip of frames and a GIF download."""
from __future__ import annotations

import gradio as gr

from ..registry import ModelSpec
from ..settings import MAX_GUIDANCE, MAX_SEED, MAX_STEPS
from ..studio import Studio
from .common import gradio_progress, model_card, model_choices, notes_markdown, run_task, settings_json, whole
from .uploads import readable_uploads


def _updates(spec: ModelSpec) -> list:
    shown, d = spec.controls(), spec.defaults
    size = {"minimum": d.size_min, "maximum": d.size_max, "step": d.size_multiple}
    return [
        model_card(spec),
        gr.update(visible="prompt" in shown),
        gr.update(visible="negative_prompt" in shown),
        gr.update(visible="image-to-video" in spec.tasks),
        gr.update(value=d.frames, maximum=d.max_frames, step=d.frame_step, minimum=1),
        gr.update(value=d.fps),
        gr.update(value=d.steps),
        gr.update(value=d.guidance),
        gr.update(value=d.width, **size),
        gr.update(value=d.height, **size),
        gr.update(choices=spec.samplers(), value=d.scheduler, visible="scheduler" in shown),
        gr.update(value=d.decode_chunk or 1, visible=bool(d.decode_chunk)),
        gr.update(value=d.motion_bucket_id, visible="motion_bucket_id" in shown),
        gr.update(value=d.noise_aug, visible="noise_aug" in shown),
    ]


def build_video_ui(studio: Studio) -> gr.Blocks:
    """A Blocks that runs alone or is `.render()`ed into the multi-tab app."""
    from ..video import MAX_FPS, MIN_FPS

    specs = studio.registry.for_tasks(["text-to-video", "image-to-video"])
    first = studio.spec(specs[0].id)
    d = first.defaults
    with gr.Blocks() as page:
        with gr.Row():
            with gr.Column(scale=2):
                model = gr.Dropdown(model_choices(specs), value=first.id, label="Model")
                card = gr.Markdown(model_card(first))
                prompt = gr.Textbox(label="Prompt", lines=2, elem_id="video-prompt")
                negative = gr.Textbox(label="Negative prompt")
                image = readable_uploads(gr.Image(label="Input image (image-to-video)", type="filepath", height=200,
                                                  visible=False, elem_id="video-image"))
                with gr.Row():
                    frames = gr.Slider(1, d.max_frames, value=d.frames, step=d.frame_step, label="Frames")
                    fps = gr.Slider(MIN_FPS, MAX_FPS, value=d.fps, step=1, label="FPS")
                with gr.Row():
                    steps = gr.Slider(1, MAX_STEPS, value=d.steps, step=1, label="Steps")
                    guidance = gr.Slider(0, MAX_GUIDANCE, value=d.guidance, step=0.5, label="Guidance (CFG) scale")
                with gr.Row():
                    width = gr.Slider(d.size_min, d.size_max, value=d.width, step=d.size_multiple, label="Width")
                    height = gr.Slider(d.size_min, d.size_max, value=d.height, step=d.size_multiple, label="Height")
                with gr.Row():
                    seed = gr.Number(-1, label="Seed (-1 = random)", precision=0, minimum=-1, maximum=MAX_SEED)
                    scheduler = gr.Dropdown(first.samplers(), value=d.scheduler, label="Scheduler", allow_custom_value=True)
                with gr.Row():
                    decode_chunk = gr.Slider(1, 64, value=d.decode_chunk or 1, step=1, visible=bool(d.decode_chunk),
                                             label="Frames decoded at a time (less memory)")
                    motion = gr.Slider(0, 255, value=d.motion_bucket_id, step=1, label="Motion bucket id", visible=False)
                    noise_aug = gr.Slider(0, 1, value=d.noise_aug, step=0.01, label="Noise augmentation", visible=False)
                run = gr.Button("Make video", variant="primary", elem_id="video-button")
            with gr.Column(scale=3):
                video = gr.Video(label="Video (H.264 mp4)", elem_id="video-output", autoplay=True, loop=True)
                strip = gr.Image(label="Frames", interactive=False)
                gif = gr.File(label="GIF download")
                notes = gr.Markdown()
                params = gr.Code(label="Parameters (also in the mp4's metadata and the .json beside it)", language="json")

        controls = [card, prompt, negative, image, frames, fps, steps, guidance, width, height, scheduler, decode_chunk,
                    motion, noise_aug]
        model.change(lambda mid: _updates(studio.spec(mid)), model, controls, api_visibility="private")

        def on_video(model_id, prompt, negative_prompt, image_file, frames, fps, steps, guidance, width, height, seed,
                     scheduler, decode_chunk, motion_bucket_id, noise_aug, progress=gr.Progress()):
            from ..tasks.video import VideoRequest, generate_video

            spec = studio.spec(model_id)
            request = VideoRequest(
                model=model_id, prompt=prompt or "", negative_prompt=negative_prompt or "", image=image_file or None,
                frames=whole(frames), fps=whole(fps), steps=whole(steps), guidance=guidance, width=whole(width),
                height=whole(height), seed=whole(seed, -1), scheduler=scheduler or None,
                decode_chunk=whole(decode_chunk) if spec.defaults.decode_chunk else None,
                motion_bucket_id=whole(motion_bucket_id) if spec.defaults.motion_bucket_id else None,
                noise_aug=noise_aug if spec.defaults.noise_aug else None,
            )
            result = run_task(generate_video, studio, request, progress=gradio_progress(progress))
            return str(result.mp4), result.strip, str(result.gif), notes_markdown(result.notes), settings_json(result.settings)

        run.click(
            on_video,
            [model, prompt, negative, image, frames, fps, steps, guidance, width, height, seed, scheduler, decode_chunk,
             motion, noise_aug],
            [video, strip, gif, notes, params],
            api_name="video",
        )
    return page
