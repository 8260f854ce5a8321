"""The PNG info tab: drop a PNG (genart's, or AUTOMATIC1111's or another tool's) to see its settings and send them
to the Generate, Compare, Translate, Inpaint, Super-resolve or Video form (genart_demo.png_info does the reading)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..markup import code_span, escape_markdown
from ..png_info import SEND_TARGETS, TARGETS, FileSettings, SendValues, read_file_settings, send_values
from ..studio import Studio
from .common import guarded, settings_json
from .send_to import Sender, SendTargets


def not_restored_markdown(target: str, sent: SendValues) -> str:
    """What sending to `target` leaves out, one line each with its value (values are the file's text: escaped)."""
    model = f"model {code_span(sent.model.id)} (matched by {sent.matched_by})" if sent.model else "no model"
    head = f"**Send to {escape_markdown(TARGETS[target].title)}**: {model}."
    if not sent.not_restored:
        return f"{head} Every setting is restored."
    lines = [f"- {code_span(name)}: {escape_markdown(value)}" for name, value in sent.not_restored]
    return "\n".join([f"{head} Not restored:", *lines])


def _rows(found: FileSettings) -> list[list[str]]:
    data = found.settings.to_metadata() if found.settings is not None else {}
    return [[key, str(value)] for key, value in data.items()]


def _default_target(found: FileSettings) -> str:
    """The target a file's own task restores into (an A1111 text: Generate)."""
    task = found.settings.task if found.settings is not None else "generate"
    return task if task in TARGETS else "generate"


def build_png_info_ui(studio: Studio, sends: SendTargets | None = None) -> gr.Column:
    """The tab's components, added to the app being built; with `sends` (the app's tabs), one button per target."""

    def read(path: str | None) -> FileSettings:
        if not path:
            raise gr.Error("No file: drop a PNG written by genart, AUTOMATIC1111 or another tool.")
        return guarded(read_file_settings, path)

    def on_file(path):
        found = read(path)
        if found.settings is None:
            return found.message, [], "", ""
        target = _default_target(found)
        missing = not_restored_markdown(target, guarded(send_values, studio.registry, found, TARGETS[target]))
        return escape_markdown(found.message), _rows(found), missing, settings_json(found.settings)

    with gr.Column() as page:
        with gr.Row():
            with gr.Column(scale=2):
                source = gr.Image(
                    label="Drop a PNG", type="filepath", image_mode=None, height=320, elem_id="png-info-image"
                )
                with gr.Row():
                    buttons = {
                        t.key: gr.Button(f"Send to {t.title}", size="sm", elem_id=f"png-info-send-{t.key}")
                        for t in SEND_TARGETS
                    }
            with gr.Column(scale=3):
                summary = gr.Markdown(elem_id="png-info-summary")
                missing = gr.Markdown(elem_id="png-info-not-restored")
                table = gr.Dataframe(
                    headers=["setting", "value"], label="Settings", interactive=False, elem_id="png-info-table"
                )
                raw = gr.Code(label="Settings (JSON)", language="json", elem_id="png-info-json")
        source.change(on_file, source, [summary, table, missing, raw], api_name="png_info")

        for key, button in buttons.items():
            if sends is None:  # a page alone (a Space) has no other tabs to send to
                button.visible = False
                continue

            def values(path, key=key) -> tuple[dict[str, Any], dict[Any, Any]]:
                sent = guarded(send_values, studio.registry, read(path), TARGETS[key])
                return sent.values, {missing: not_restored_markdown(key, sent)}

            sends.add_sender(Sender(key, button, [source], values, [missing]))
    return page
