"""What the Arena tab's pages share: the rater behind a request, battle images as shown, the vote buttons."""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from genart_demo.markup import escape_markdown
from genart_demo.ui.common import result_image

from .battles import BATTLE_TASKS, OUTCOME_LABELS, Arena, rater_id

TASK = BATTLE_TASKS[0]
VOTE_BUTTONS = ("a", "b", "tie", "bothbad")
DISPLAY_PX = 384  # battle images are shown this tall; smaller outputs (64 px stand-ins) are enlarged to about it


def pixels(paths: tuple[Path, ...]):
    """The first output as an array: served without the PNG's settings chunk (which names the model), and enlarged
    by a whole factor (each pixel a block, nothing invented) when smaller than DISPLAY_PX, since the browser never
    scales an image up and a 64 px output would sit as a thumbnail in the middle of its frame."""
    with Image.open(paths[0]) as img:
        img = img.convert("RGB")
        factor = DISPLAY_PX // max(img.size)
        if factor > 1:
            img = img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)
        return np.asarray(img)


def prompt_markdown(prompt: object) -> str:
    """A rating-session item's prompt, as the organiser typed it, shown literally."""
    return f"Prompt: *{escape_markdown(prompt)}*"


def battle_image(label: str, elem_id: str) -> gr.Image:
    """One side of a battle: shown whole (never cropped) at DISPLAY_PX."""
    return result_image(label, height=DISPLAY_PX, type="numpy", elem_id=elem_id, format="png")


def hf_username(request: gr.Request) -> str | None:
    """The Hugging Face user signed in through a Space's "Sign in with HF" (Gradio keeps it in the session);
    None without sign-in, or where the app has no session middleware."""
    try:
        info = request.session.get("oauth_info") or {}
    except (AssertionError, AttributeError):  # no SessionMiddleware: OAuth is not enabled
        return None
    if info.get("expires_at") is not None and info["expires_at"] < time.time():
        return None
    return (info.get("userinfo") or {}).get("preferred_username") or None


def rater_of(arena: Arena, request: gr.Request | None) -> str:
    """The voter: the signed-in Hugging Face user, else a salted hash of the connection and browser session."""
    if request is None:
        return rater_id(arena.rater_salt, client="api")
    client = getattr(getattr(request, "client", None), "host", "") or ""
    return rater_id(
        arena.rater_salt,
        username=hf_username(request),
        client=client,
        session=getattr(request, "session_hash", "") or "",
    )


def vote_row(prefix: str):
    with gr.Row():
        return [
            gr.Button(
                OUTCOME_LABELS[o],
                elem_id=f"{prefix}-vote-{o}",
                interactive=False,
                variant="primary" if o in ("a", "b") else "secondary",
            )
            for o in VOTE_BUTTONS
        ]
