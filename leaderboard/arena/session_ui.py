"""The Arena's rating-session pages: a rater joins with a code and votes item by item; an organiser creates one,
follows it and exports its votes."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from genart_demo.errors import InputError
from genart_demo.markup import code_span, escape_markdown
from genart_demo.ui.common import gradio_progress, guarded, whole

from . import sessions
from .battles import Arena
from .store import RatingSession
from .task_outputs import TASK_INPUTS
from .ui_common import (
    TASK,
    VOTE_BUTTONS,
    BattleRow,
    model_choices,
    per_side_slider,
    prompt_markdown,
    task_dropdown,
    vote_row,
)


def created_markdown(session: RatingSession) -> str:
    """What the organiser reads after creating a session: its title (theirs, escaped), code and size."""
    return (
        f"Session **{escape_markdown(session.name)}** created. Code: **{code_span(session.code)}** · "
        f"{len(session.models)} models · {len(session.prompts)} prompts · {session.pairs_per_rater} pairs per rater"
    )


def session_tab(arena: Arena) -> None:
    gr.Markdown(
        "Join with the code the organiser gave you and your name. Stop any time; join again with the same "
        "name to resume."
    )
    with gr.Row():
        code = gr.Textbox(label="Session code", max_lines=1, elem_id="arena-session-code")
        name = gr.Textbox(label="Your name", max_lines=1, elem_id="arena-session-name")
        join = gr.Button("Join / resume", variant="primary", elem_id="arena-session-join")
    progress_md = gr.Markdown(elem_id="arena-session-progress")
    row = BattleRow.build("arena-session")
    prompt_md = gr.Markdown(elem_id="arena-session-prompt")
    buttons = vote_row("arena-session")
    token = gr.Textbox(visible=False, elem_id="arena-session-token")
    outcome = gr.Textbox(visible=False)
    vote_api = gr.Button(visible=False)

    def next_item(session, rater, note: str, progress: gr.Progress) -> dict:
        view = guarded(sessions.next_battle, arena, session, rater, progress_fn=gradio_progress(progress))
        done = sessions.progress(arena, session, rater)
        if view is None:
            return {
                **row.cleared(),
                progress_md: f"**{done.text()}** {note} · all done, thank you!",  # the last reveal stays
                prompt_md: "",
                token: "",
                **{b: gr.update(interactive=False) for b in buttons},
            }
        return {
            **row.values(view),
            progress_md: f"**{done.text()}** {note}",
            prompt_md: prompt_markdown(view.prompt),
            token: view.token,
            **{b: gr.update(interactive=True) for b in buttons},
        }

    def on_join(code_text, name_text, progress=gr.Progress()):
        session, rater, _ = guarded(sessions.join_session, arena, code_text, name_text)
        return next_item(session, rater, f"· {escape_markdown(session.name)}", progress)

    def on_vote(token_value, outcome_value, code_text, name_text, progress=gr.Progress()):
        session = guarded(sessions.get_session, arena, code_text)
        rater = guarded(sessions.session_rater, arena, session.code, name_text)
        vote = guarded(arena.vote, token_value, outcome_value, rater).vote
        note = f"· last one: A was {code_span(vote.model_a)}, B was {code_span(vote.model_b)}"
        return next_item(session, rater, "· saved" if vote.mode == "gold" else note, progress)  # gold: not told

    image_a, image_b = row.firsts()
    outputs = [progress_md, image_a, image_b, prompt_md, token, *buttons, *row.extras()]  # new parts last (API)
    join_event = join.click(
        on_join,
        [code, name],
        outputs,
        api_name="arena_session_join",
        concurrency_limit=1,
        concurrency_id="arena-generate",
    )
    row.follow(join_event)
    for button, value in zip(buttons, VOTE_BUTTONS):
        row.follow(
            button.click(
                on_vote,
                [token, gr.State(value), code, name],
                outputs,
                api_visibility="private",
                concurrency_limit=1,
                concurrency_id="arena-generate",
            )
        )
    vote_event = vote_api.click(
        on_vote,
        [token, outcome, code, name],
        outputs,
        api_name="arena_session_vote",
        concurrency_limit=1,
        concurrency_id="arena-generate",
    )
    row.follow(vote_event)


def session_arguments(task: str, prompt_text: object, images, masks) -> tuple[list[str], list[dict] | None]:
    """(prompts, inputs) for sessions.create_session from the organiser's form: one item per prompt line, or, for a
    task that takes an input image, one per uploaded image (its prompt the line of the same number, "" when no
    lines are given); inpaint masks match the images by order."""
    lines = [line for line in str(prompt_text or "").splitlines() if line.strip()]
    needs = TASK_INPUTS.get(task)
    if needs is None or not needs.image:
        return lines, None
    images, masks = [str(f) for f in images or []], [str(f) for f in masks or []]
    if not images:
        raise InputError(f"A {task} session needs input images: upload one per item.")
    if needs.mask and len(masks) != len(images):
        raise InputError(f"{len(images)} input images but {len(masks)} masks: upload one mask per image, in order.")
    if lines and len(lines) != len(images):
        raise InputError(
            f"{len(images)} input images but {len(lines)} prompts: give one prompt line per image, or none."
        )
    inputs = [
        {"image": image, **({"mask": mask} if needs.mask else {})} for image, mask in zip(images, masks or images)
    ]
    return lines or [""] * len(images), inputs


@dataclass(frozen=True)
class SessionInputs:
    """The organiser's task, images per side and, for image tasks, the input images (and inpaint masks) per item."""

    task: gr.Dropdown
    images: gr.File
    masks: gr.File
    per_side: gr.Slider

    @classmethod
    def build(cls) -> SessionInputs:
        with gr.Row():
            task = task_dropdown("arena-org")
            per_side = per_side_slider("arena-org")
            images = gr.File(
                label="Input images (one per item, in order)",
                file_count="multiple",
                file_types=["image"],
                visible=False,
                elem_id="arena-org-images",
            )
            masks = gr.File(
                label="Masks (white = repaint), one per input image in the same order",
                file_count="multiple",
                file_types=["image"],
                visible=False,
                elem_id="arena-org-masks",
            )
        return cls(task, images, masks, per_side)

    def parts(self) -> list:
        """In the /arena_session_create API's order, after its older arguments."""
        return [self.task, self.images, self.masks, self.per_side]

    def follow(self, arena: Arena, models: gr.Dropdown, prompts: gr.Textbox) -> None:
        """When another task is picked: its models, its prompt label, and the uploads it takes."""

        def on_task(task):
            needs = TASK_INPUTS.get(task)
            if needs is None:
                return {}
            choices = guarded(arena.models, task)
            label = {"required": "Prompts (one per line)", "none": "Prompts (this task takes none)"}.get(
                needs.prompt, "Prompts (optional: one per input image, in order)"
            )
            if needs.prompt == "required" and needs.image:
                label = "Prompts (one per input image, in order)"
            return {
                models: gr.update(choices=choices, value=choices[:2]),
                prompts: gr.update(label=label, visible=needs.prompt != "none"),
                self.images: gr.update(visible=needs.image),
                self.masks: gr.update(visible=needs.mask),
            }

        self.task.change(on_task, self.task, [models, prompts, self.images, self.masks], api_visibility="private")


def organise_tab(arena: Arena) -> None:
    models = arena.models(TASK)
    with gr.Row():
        title = gr.Textbox(label="Session name", value="rating session", elem_id="arena-org-name")
        chosen = gr.Dropdown(
            model_choices(arena), value=models[:2], multiselect=True, label="Models", elem_id="arena-org-models"
        )
        pairs = gr.Number(
            value=20,
            precision=0,
            minimum=1,
            maximum=sessions.MAX_PAIRS_PER_RATER,
            label="Pairs per rater",
            elem_id="arena-org-pairs",
        )
    prompts = gr.Textbox(
        label="Prompts (one per line)",
        info="End a line with #tags (a red fox reading #animals #style) to see the ratings per tag under Slices.",
        lines=5,
        elem_id="arena-org-prompts",
    )
    items = SessionInputs.build()
    gold = gr.File(
        label="Gold images (optional): references genart pairs with a blurred, noisy twin to check raters",
        file_count="multiple",
        file_types=["image"],
        elem_id="arena-org-gold",
    )
    create = gr.Button("Create session", variant="primary", elem_id="arena-org-create")
    created = gr.Markdown(elem_id="arena-org-created")
    with gr.Row():
        code = gr.Textbox(label="Session code", max_lines=1, elem_id="arena-org-code")
        status = gr.Button("Status and agreement", elem_id="arena-org-status")
        export = gr.Button("Export votes", elem_id="arena-org-export")
    raters = gr.Dataframe(label="Raters", interactive=False, elem_id="arena-org-raters")
    agreement = gr.Dataframe(
        label="Agreement between raters (share of items chosen alike)", interactive=False, elem_id="arena-org-agreement"
    )
    kappa = gr.Markdown(elem_id="arena-org-kappa")
    flagged = gr.Dataframe(label="Flagged raters", interactive=False, elem_id="arena-org-flagged")
    with gr.Row():
        flagged_name = gr.Dropdown([], label="Flagged rater", allow_custom_value=True, elem_id="arena-org-flagged-name")
        keep = gr.Button("Keep in the ratings", elem_id="arena-org-keep")
        leave_out = gr.Button("Leave out again", elem_id="arena-org-leave-out")
    files = gr.File(label="Exported files", file_count="multiple", elem_id="arena-org-files")

    def on_create(
        title_text, model_ids, prompt_text, pairs_value, task=TASK, images=None, masks=None, per_side=1, golds=None
    ):
        prompt_lines, inputs = guarded(session_arguments, task, prompt_text, images, masks)
        session = guarded(
            sessions.create_session,
            arena,
            title_text,
            model_ids or [],
            prompt_lines,
            pairs_value,
            task=task,
            inputs=inputs,
            images_per_side=whole(per_side, 1),
            gold_images=golds,
        )
        return created_markdown(session), session.code

    def on_status(code_text):
        table = guarded(sessions.status_table, arena, code_text)
        matrix, k = guarded(sessions.agreement_tables, arena, code_text)
        text = "Fleiss' kappa: not enough shared items yet" if math.isnan(k) else f"Fleiss' kappa: **{k:.3f}**"
        return table, matrix.reset_index(names="rater") if len(matrix) else matrix, text

    def flagged_view(table, chosen=None):
        names = list(dict.fromkeys(table["rater"]))
        return table, gr.update(choices=names, value=chosen if chosen in names else (names[0] if names else None))

    def on_flagged(code_text):
        return flagged_view(guarded(sessions.quality_table, arena, code_text))

    def on_keep(code_text, name, keeping):
        return flagged_view(guarded(sessions.keep_rater, arena, code_text, name, keeping), name)

    def on_export(code_text):
        # A fresh temporary folder: the arena's own folder is never served by URL (it holds the vote database and
        # the ticket key); Gradio hands these copies to the browser under unguessable names.
        out = Path(tempfile.mkdtemp(prefix="genart-session-export-"))
        return [str(p) for p in guarded(sessions.export_session, arena, code_text, out)]

    create.click(
        on_create,
        [title, chosen, prompts, pairs, *items.parts(), gold],
        [created, code],
        api_name="arena_session_create",
    )
    items.follow(arena, chosen, prompts)
    status.click(on_status, code, [raters, agreement, kappa], api_name="arena_session_status").then(
        on_flagged, code, [flagged, flagged_name], api_name="arena_session_flagged"
    )
    for button, keeping in ((keep, True), (leave_out, False)):
        button.click(
            on_keep, [code, flagged_name, gr.State(keeping)], [flagged, flagged_name], api_visibility="private"
        )
    export.click(on_export, code, files, api_name="arena_session_export")
