"""Image uploads that answer a file which is not a readable image with a message naming it, not a crash."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr
from PIL import Image

from ..imageio import unreadable_error

# What Pillow raises (inside Gradio's own preprocessing) for data that is not a complete, safe-to-open image.
UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def _first_file(payload: Any) -> Any:
    """The uploaded file of an Image payload, or the background (else first layer) of an ImageEditor payload."""
    for name in ("background", "composite"):
        if getattr(payload, name, None) is not None:
            return getattr(payload, name)
    layers = getattr(payload, "layers", None)
    return layers[0] if layers else payload


def unreadable_upload(label: Any, payload: Any, exc: BaseException) -> gr.Error:
    """The message for an upload Gradio could not open: which widget, which file, why, and what is allowed."""
    upload = _first_file(payload)
    path = getattr(upload, "path", None)
    name = getattr(upload, "orig_name", None) or (os.path.basename(path) if path else "the upload")
    where = f" given as “{label}”" if label else ""
    return gr.Error(str(unreadable_error(f"file {name!r}{where}", exc, path)), duration=None)


def readable_uploads(component: gr.Image | gr.ImageEditor) -> gr.Image | gr.ImageEditor:
    """`component`, its uploads that Gradio cannot open as images answered with a gr.Error saying which file, why, and
    what is allowed (instead of a server error). The widget is unchanged in the browser."""
    preprocess = component.preprocess

    def checked(payload):
        try:
            return preprocess(payload)
        except gr.Error:  # Gradio's own messages (it is a ValueError too) pass through
            raise
        except UNREADABLE as exc:
            raise unreadable_upload(component.label, payload, exc) from exc

    component.preprocess = checked
    return component
