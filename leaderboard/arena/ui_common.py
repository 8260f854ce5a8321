"""What the Arena tab's pages share: the rater behind a request, battle outputs as shown, the vote buttons."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from genart_demo.errors import TaskFailed
from genart_demo.markup import escape_markdown
from genart_demo.tasks.inpaint import mask_preview
from genart_demo.ui.common import result_gallery, result_image
from genart_demo.ui.inpaint import editor_parts, mask_editor
from genart_demo.ui.uploads import readable_uploads
from genart_demo.video import ffmpeg_exe

from .battles import OUTCOME_LABELS, Arena, rater_id
from .task_outputs import BATTLE_TASKS, MAX_IMAGES_PER_SIDE, TASK_INPUTS

TASK = BATTLE_TASKS[0]  # the task a page opens on
VOTE_BUTTONS = ("a", "b", "tie", "bothbad")
DISPLAY_PX = 384  # battle images are shown this tall; smaller outputs (64 px stand-ins) are enlarged to about it


def enlarged(img: Image.Image) -> np.ndarray:
    """An image as an RGB array, enlarged by a whole factor (each pixel a block, nothing invented) when smaller than
    DISPLAY_PX, since the browser never scales an image up and a 64 px output would sit as a thumbnail in the middle
    of its frame."""
    img = img.convert("RGB")
    factor = DISPLAY_PX // max(img.size)
    if factor > 1:
        img = img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)
    return np.asarray(img)


def pixels(path: Path) -> np.ndarray:
    """One output image as an array (`enlarged`): served re-encoded by Gradio, without the PNG's settings chunk
    (which names the model)."""
    with Image.open(path) as img:
        return enlarged(img)


def prompt_markdown(prompt: object) -> str:
    """A rating-session item's prompt, as the organiser typed it, shown literally (nothing for a prompt-less item)."""
    return f"Prompt: *{escape_markdown(prompt)}*" if str(prompt or "").strip() else ""


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


# ---------------------------------------------------------------- outputs as shown: N images or videos per side


@functools.cache
def _shown_videos() -> Path:
    """One temporary folder per process for the videos pages show (made when first needed)."""
    return Path(tempfile.mkdtemp(prefix="genart-arena-video-"))


def stripped_video(path: Path) -> str:
    """A copy of an output video without its metadata (the settings comment names the model), in the process's
    temporary folder under a name hashed from the output's own (hash-named) file, so showing a video again reuses its
    copy and the folder holds one file per video shown: the arena's own folder is never served by URL (it holds the
    vote database and the ticket key), and Gradio serves only what a handler returns. The stream is copied, not
    re-encoded; the copy is made under a temporary name and renamed, so it is never served half-written."""
    out = _shown_videos() / (hashlib.sha256(Path(path).name.encode()).hexdigest()[:24] + ".mp4")
    if out.is_file():
        return str(out)
    part = out.with_name(f".{out.stem}.{os.getpid()}.{threading.get_ident()}.mp4")
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(path)]
    command += ["-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy", "-fflags", "+bitexact"]
    done = subprocess.run(
        [*command, "-flags:v", "+bitexact", "-movflags", "+faststart", str(part)], capture_output=True, check=False
    )
    if done.returncode != 0:
        part.unlink(missing_ok=True)
        raise TaskFailed(f"Could not prepare a video for showing: {done.stderr.decode('utf-8', 'replace')[-500:]}")
    os.replace(part, out)
    return str(out)


@dataclass(frozen=True)
class SideView:
    """One side of a battle on the page: a large image (one output image), a gallery (several images, or several
    videos) and a video player (one video); only the one that fits the battle is visible."""

    image: gr.Image
    gallery: gr.Gallery
    video: gr.Video

    @classmethod
    def build(cls, label: str, prefix: str, side: str) -> SideView:
        return cls(
            result_image(label, height=DISPLAY_PX, type="numpy", elem_id=f"{prefix}-image-{side}", format="png"),
            result_gallery(label, height=DISPLAY_PX, visible=False, elem_id=f"{prefix}-gallery-{side}"),
            gr.Video(
                label=label, height=DISPLAY_PX, interactive=False, visible=False, elem_id=f"{prefix}-video-{side}"
            ),
        )

    def parts(self) -> list:
        return [self.image, self.gallery, self.video]


def side_value(paths: tuple[Path, ...]) -> tuple[str, object]:
    """(kind, value) for one side's outputs: "image" (one array), "gallery" (arrays, or video copies) or "video" (one
    copy). Images go out as arrays (`pixels`) and videos as `stripped_video` copies, so nothing served names the
    model."""
    if not paths:
        return "image", None
    if all(Path(p).suffix == ".mp4" for p in paths):
        videos = [stripped_video(p) for p in paths]
        return ("video", videos[0]) if len(videos) == 1 else ("gallery", videos)
    images = [pixels(p) for p in paths]
    return ("image", images[0]) if len(images) == 1 else ("gallery", images)


def input_image(elem_id: str) -> gr.Image:
    """What both models were given (the input image; for inpainting, with the area to repaint tinted), shown beside
    the pair; hidden for text-only tasks."""
    return result_image("Input", height=DISPLAY_PX, type="numpy", elem_id=elem_id, format="png", visible=False)


def input_value(inputs: tuple[Path, ...]) -> tuple[str | None, np.ndarray | None]:
    """(label, array) showing a battle's inputs (input image, then mask: the image with the area to repaint tinted);
    (None, None) for a battle without any."""
    if not inputs:
        return None, None
    with Image.open(inputs[0]) as img:
        canvas = img.convert("RGB")
    if len(inputs) < 2:
        return "Input", enlarged(canvas)
    with Image.open(inputs[1]) as mask:
        mask = mask.convert("L").resize(canvas.size, Image.Resampling.NEAREST)
    return "Input (area to repaint tinted)", enlarged(mask_preview(canvas, mask))


@dataclass(frozen=True)
class BattleRow:
    """The input (when there is one) beside sides A and B, as a page shows them. A handler sends plain values (so
    an API client reads an image, a list or a file, never a Gradio update); `follow` then shows the parts that
    fit, from the layout the handler put in its State."""

    shown_input: gr.Image
    a: SideView
    b: SideView
    layout: gr.State  # {"a": kind, "b": kind, "input": label or None}

    @classmethod
    def build(cls, prefix: str) -> BattleRow:
        with gr.Row():
            shown_input, a, b = (
                input_image(f"{prefix}-input"),
                SideView.build("A", prefix, "a"),
                SideView.build("B", prefix, "b"),
            )
        return cls(shown_input, a, b, gr.State({}))

    def firsts(self) -> list:
        """The two large images: first among a page's outputs, where the API has always had them."""
        return [self.a.image, self.b.image]

    def extras(self) -> list:
        """The other parts, after a page's older outputs (so older API calls read the same positions; the State is
        not part of the API)."""
        return [self.a.gallery, self.a.video, self.b.gallery, self.b.video, self.shown_input, self.layout]

    def values(self, view) -> dict:
        """{component: value} showing a BattleView's outputs and inputs."""
        (kind_a, a), (kind_b, b), (label, shown) = (
            side_value(view.outputs_a),
            side_value(view.outputs_b),
            input_value(view.inputs),
        )
        return {
            **self._sides(self.a, kind_a, a),
            **self._sides(self.b, kind_b, b),
            self.shown_input: shown,
            self.layout: {"a": kind_a, "b": kind_b, "input": label},
        }

    def cleared(self) -> dict:
        """{component: value} when there is nothing to show."""
        return {
            **self._sides(self.a, "image", None),
            **self._sides(self.b, "image", None),
            self.shown_input: None,
            self.layout: {"a": "image", "b": "image", "input": None},
        }

    @staticmethod
    def _sides(side: SideView, kind: str, value: object) -> dict:
        return {getattr(side, part): value if part == kind else None for part in ("image", "gallery", "video")}

    def follow(self, event) -> None:
        """After `event` succeeds: the parts its layout uses shown, the others hidden."""
        parts = [*self.a.parts(), *self.b.parts(), self.shown_input]
        event.success(self._visible, self.layout, parts, api_visibility="private")

    def _visible(self, layout: dict) -> dict:
        layout = layout or {}
        changed = {
            getattr(side, part): gr.update(visible=layout.get(name, "image") == part)
            for name, side in (("a", self.a), ("b", self.b))
            for part in ("image", "gallery", "video")
        }
        label = layout.get("input")
        changed[self.shown_input] = gr.update(visible=bool(label), **({"label": label} if label else {}))
        return changed


# ---------------------------------------------------------------- what a battle is made from: task, prompt, inputs


def model_choices(arena: Arena) -> list[str]:
    """Every model of every battle task, the choices of a page's model pickers: a page narrows them to the picked
    task's models, but an API call (which never picks a task on the page) must find its task's models among them;
    the battle or session then refuses a model that does not serve its task, by name."""
    return list(dict.fromkeys(m for task in BATTLE_TASKS for m in arena.models(task)))


def task_dropdown(prefix: str) -> gr.Dropdown:
    return gr.Dropdown(list(BATTLE_TASKS), value=TASK, label="Task", elem_id=f"{prefix}-task")


def per_side_slider(prefix: str) -> gr.Slider:
    return gr.Slider(
        1, MAX_IMAGES_PER_SIDE, value=1, step=1, label="Images per side", elem_id=f"{prefix}-per-side", min_width=120
    )


@dataclass(frozen=True)
class InputFields:
    """A battle's prompt and input uploads: the input image in an editor (for inpainting, paint over what to change)
    and a mask upload, each shown only for the tasks that take it (TASK_INPUTS)."""

    prompt: gr.Textbox
    editor: gr.ImageEditor
    mask: gr.Image

    @classmethod
    def build(cls, prefix: str, prompt: gr.Textbox) -> InputFields:
        with gr.Row():
            editor = mask_editor("Input image", height=300, visible=False, elem_id=f"{prefix}-input-image")
            mask = readable_uploads(
                gr.Image(
                    label="…or upload a mask (white = repaint)",
                    type="filepath",
                    height=300,
                    visible=False,
                    elem_id=f"{prefix}-input-mask",
                )
            )
        return cls(prompt, editor, mask)

    def parts(self) -> list:
        return [self.prompt, self.editor, self.mask]

    def updates(self, task: str) -> dict:
        """{component: update} for `task`: the prompt labelled (or hidden) as it needs, the uploads it takes shown."""
        needs = TASK_INPUTS.get(task)
        if needs is None:  # not a battle task: leave the form as it is, the battle refuses the task by name
            return {}
        painted = "Input image — paint over what to change (or upload a mask)"
        return {
            self.prompt: gr.update(
                visible=needs.prompt != "none", label="Prompt (optional)" if needs.prompt == "optional" else "Prompt"
            ),
            self.editor: gr.update(visible=needs.image, label=painted if needs.mask else "Input image"),
            self.mask: gr.update(visible=needs.mask),
        }


def battle_arguments(task: str, prompt: object, editor: object, mask: object) -> tuple[str, dict]:
    """(prompt, {"image", "mask"}) for Arena.start_battle / named_battle from the form: what `task` does not take is
    left out (a prompt typed before switching to a prompt-less task is not sent); a painted layer is the mask
    unless one was uploaded."""
    needs = TASK_INPUTS.get(task)
    if needs is None:
        return str(prompt or ""), {}
    image, drawn = editor_parts(editor)
    return (str(prompt or "") if needs.prompt != "none" else ""), {
        "image": image if needs.image else None,
        "mask": (mask or drawn) if needs.mask else None,
    }
