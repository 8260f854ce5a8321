"""A Space's app: one page alone (with the offline notice) or the whole studio, and how a Space serves it."""
from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from ..spaces_build import launch_options
from ..studio import Studio
from ..zerogpu import prepare_zerogpu
from .common import offline_banner


def page_app(studio: Studio, build_page: Callable[[Studio], gr.Blocks], title: str, heading: str) -> gr.Blocks:
    """One page rendered under a heading and the studio's notice, built without launching it."""
    page = build_page(studio)
    with gr.Blocks(title=title) as app:
        gr.Markdown(heading)
        gr.Markdown(offline_banner(studio), elem_id="genart-notice")
        page.render()
    return app


def serve(studio: Studio, build: Callable[[Studio], gr.Blocks]) -> None:
    """Build the Space's app and serve it with the Space's launch options (bounded queue, outputs servable)."""
    prepare_zerogpu()  # on ZeroGPU hardware: tells `spaces` before launch that tasks run on the GPU
    app = build(studio)
    app.queue(default_concurrency_limit=1, max_size=studio.settings.queue_size or None)
    studio.settings.output_dir.mkdir(parents=True, exist_ok=True)
    app.launch(**launch_options(studio.settings), prevent_thread_lock=True)
    studio.start_warm_up()
    app.block_thread()
