"""The multi-tab genart app: composes each tab's Blocks, and launches it."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import gradio as gr

from ..studio import Studio
from .common import offline_banner
from .evaluate import build_evaluate_ui
from .generate import build_generate_ui
from .inpaint import build_inpaint_ui
from .translate import build_translate_ui
from .upscale import build_upscale_ui
from .video import build_video_ui

# Tabs that later work fills in; each says what it will do rather than showing a dead form.
COMING_SOON = {
    "Leaderboard": "DrawBench and PartiPrompts through every model, scored by category.",
    "Arena": "Blind pairwise votes turned into Elo and Bradley-Terry ratings.",
}


PageBuilder = Callable[[Studio], gr.Blocks]

def build_app(studio: Studio, extra_pages: Mapping[str, PageBuilder] | None = None) -> gr.Blocks:
    """The full app. Building it twice in one process works; it loads no model.

    extra_pages: tabs from packages built on genart (the leaderboard), by title; they replace a "coming soon" tab
    of the same title. genart_demo never imports those packages itself.
    """
    extra_pages = dict(extra_pages or {})
    pages = {  # built outside the app, then rendered into their tabs
        "Generate": build_generate_ui(studio),
        "Translate": build_translate_ui(studio),
        "Inpaint": build_inpaint_ui(studio),
        "Super-resolve": build_upscale_ui(studio),
        "Video": build_video_ui(studio),
        "Evaluate": build_evaluate_ui(studio),
        **{title: build(studio) for title, build in extra_pages.items()},
    }
    with gr.Blocks(title="genart studio") as app:
        gr.Markdown("# genart studio\nCompare generative image and video models on the same prompt, seed and settings.")
        gr.Markdown(offline_banner(studio), elem_id="genart-notice")
        with gr.Tabs():
            for title, page in pages.items():
                with gr.Tab(title, id=title.lower()):
                    page.render()
            for title, text in COMING_SOON.items():
                if title in pages:
                    continue
                with gr.Tab(title, id=title.lower()):
                    gr.Markdown(f"**Coming soon.** {text}")
    return app


def launch(host: str | None = None, port: int | None = None, share: bool | None = None,
           extra_pages: Mapping[str, PageBuilder] | None = None) -> None:
    """Build the studio and serve it; host/port/share default to the GENART_* settings."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    studio = Studio.create()
    settings = studio.settings
    app = build_app(studio, extra_pages)
    app.queue(default_concurrency_limit=1, max_size=settings.queue_size or None)
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    app.launch(
        server_name=host or settings.host,
        server_port=port or settings.port,
        share=settings.share if share is None else share,
        **settings.file_routes(),
        prevent_thread_lock=True,
    )
    studio.start_warm_up()
    app.block_thread()
