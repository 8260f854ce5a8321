"""The app: pages from the one page table composed into tabs (or one page alone), and the one way to serve it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import gradio as gr

from ..pages import Page
from ..quiet import silence_library_noise
from ..spaces_table import get_space, space_heading, space_pages, space_studio
from ..studio import Studio
from ..zerogpu import prepare_zerogpu
from .common import offline_banner
from .field_guard import StudioBlocks
from .http_guard import guarded_app_kwargs
from .send_to import SendTargets

TITLE = "genart studio"
HEADING = "# genart studio\nCompare generative image and video models on the same prompt, seed and settings."
log = logging.getLogger("genart.ui")


def open_services(studio: Studio, pages: Sequence[Page]) -> dict[str, Any]:
    """The process-wide objects the pages need (the arena), by page key: opened once, at the composition root."""
    return {page.key: page.open_service(studio) for page in pages if page.service}


def close_services(services: Mapping[str, Any]) -> None:
    for key, service in services.items():
        try:
            getattr(service, "close", lambda: None)()
        except Exception:
            log.exception("closing the %s page's service failed", key)


def build_app(
    studio: Studio, pages: Sequence[Page], services: Mapping[str, Any], *, title: str = TITLE, heading: str = HEADING
) -> gr.Blocks:
    """The app: a heading, the studio's notice, and the pages as tabs (a single page is shown without tabs).
    Building it twice in one process works; it loads no model. `services` comes from open_services.

    Each page adds its components into this one Blocks (a Blocks of its own per page would cost a web app each)."""
    with StudioBlocks(title=title) as app:
        gr.Markdown(heading)
        gr.Markdown(offline_banner(studio), elem_id="genart-notice")
        if len(pages) == 1:
            pages[0].build(studio, services.get(pages[0].key))
        else:
            sends = SendTargets()  # this app's send-to links (PNG info -> the task tabs), wired once all are built
            with gr.Tabs() as tabs:
                for page in pages:
                    with gr.Tab(page.title, id=page.key):
                        page.build(studio, services.get(page.key), sends)
            sends.wire(tabs)
    return app


def serve(studio: Studio, pages: Sequence[Page], *, title: str = TITLE, heading: str = HEADING) -> None:
    """Serve `pages` until the process is stopped: `python app.py`, `genart serve` and every Space come here.

    Opens the pages' services once, builds the app, bounds its queue (GENART_QUEUE_SIZE), launches it where the
    settings say with the output folder servable (its private folders not), Gradio's monitoring pages off unless
    GENART_MONITORING=1, and every request through the HTTP guards (Range headers Gradio cannot answer are dropped),
    then imports torch and diffusers in the background so the first request does not wait for them."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    silence_library_noise()  # every server (app.py, `genart serve`, each Space) comes here
    prepare_zerogpu(studio.settings.zerogpu)  # on ZeroGPU hardware: tells `spaces` before launch that tasks use it
    services = open_services(studio, pages)
    try:
        app = build_app(studio, pages, services, title=title, heading=heading)
        app.queue(default_concurrency_limit=1, max_size=studio.settings.queue_size or None)
        studio.settings.output_dir.mkdir(parents=True, exist_ok=True)
        app.launch(**studio.settings.launch_options(), app_kwargs=guarded_app_kwargs(), prevent_thread_lock=True)
        studio.start_warm_up()
        app.block_thread()
    finally:
        close_services(services)


def serve_space(name: str) -> None:
    """Serve the Space called `name` (genart_demo.spaces_build.SPACES): its pages, its narrowed registry."""
    space = get_space(name)
    serve(space_studio(name), space_pages(space), **space_heading(space))
