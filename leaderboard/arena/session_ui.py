"""The Arena's rating-session pages: a rater joins with a code and votes item by item; an organiser creates one,
follows it and exports its votes."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import gradio as gr

from genart_demo.markup import code_span, escape_markdown
from genart_demo.ui.common import gradio_progress, guarded

from . import sessions
from .battles import Arena
from .store import RatingSession
from .ui_common import TASK, VOTE_BUTTONS, battle_image, pixels, prompt_markdown, vote_row


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
    with gr.Row():
        image_a = battle_image("A", "arena-session-image-a")
        image_b = battle_image("B", "arena-session-image-b")
    prompt_md = gr.Markdown(elem_id="arena-session-prompt")
    buttons = vote_row("arena-session")
    token = gr.Textbox(visible=False)
    outcome = gr.Textbox(visible=False)
    vote_api = gr.Button(visible=False)

    def next_item(session, rater, note: str, progress: gr.Progress):
        view = guarded(sessions.next_battle, arena, session, rater, progress_fn=gradio_progress(progress))
        done = sessions.progress(arena, session, rater)
        if view is None:
            return (
                f"**{done.text()}** · all done, thank you!",
                None,
                None,
                "",
                "",
                *[gr.update(interactive=False) for _ in VOTE_BUTTONS],
            )
        return (
            f"**{done.text()}** {note}",
            pixels(view.outputs_a),
            pixels(view.outputs_b),
            prompt_markdown(view.prompt),
            view.token,
            *[gr.update(interactive=True) for _ in VOTE_BUTTONS],
        )

    def on_join(code_text, name_text, progress=gr.Progress()):
        session, rater, _ = guarded(sessions.join_session, arena, code_text, name_text)
        return next_item(session, rater, f"· {escape_markdown(session.name)}", progress)

    def on_vote(token_value, outcome_value, code_text, name_text, progress=gr.Progress()):
        session = guarded(sessions.get_session, arena, code_text)
        rater = guarded(sessions.session_rater, arena, session.code, name_text)
        reveal = guarded(arena.vote, token_value, outcome_value, rater)
        return next_item(
            session,
            rater,
            f"· last one: A was {code_span(reveal.vote.model_a)}, B was {code_span(reveal.vote.model_b)}",
            progress,
        )

    outputs = [progress_md, image_a, image_b, prompt_md, token, *buttons]
    join.click(
        on_join,
        [code, name],
        outputs,
        api_name="arena_session_join",
        concurrency_limit=1,
        concurrency_id="arena-generate",
    )
    for button, value in zip(buttons, VOTE_BUTTONS):
        button.click(
            on_vote,
            [token, gr.State(value), code, name],
            outputs,
            api_visibility="private",
            concurrency_limit=1,
            concurrency_id="arena-generate",
        )
    vote_api.click(
        on_vote,
        [token, outcome, code, name],
        outputs,
        api_name="arena_session_vote",
        concurrency_limit=1,
        concurrency_id="arena-generate",
    )


def organise_tab(arena: Arena) -> None:
    models = arena.models(TASK)
    with gr.Row():
        title = gr.Textbox(label="Session name", value="rating session", elem_id="arena-org-name")
        chosen = gr.Dropdown(models, value=models[:2], multiselect=True, label="Models", elem_id="arena-org-models")
        pairs = gr.Number(
            value=20,
            precision=0,
            minimum=1,
            maximum=sessions.MAX_PAIRS_PER_RATER,
            label="Pairs per rater",
            elem_id="arena-org-pairs",
        )
    prompts = gr.Textbox(label="Prompts (one per line)", lines=5, elem_id="arena-org-prompts")
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
    files = gr.File(label="Exported files", file_count="multiple", elem_id="arena-org-files")

    def on_create(title_text, model_ids, prompt_text, pairs_value):
        session = guarded(
            sessions.create_session,
            arena,
            title_text,
            model_ids or [],
            str(prompt_text or "").splitlines(),
            pairs_value,
        )
        return created_markdown(session), session.code

    def on_status(code_text):
        table = guarded(sessions.status_table, arena, code_text)
        matrix, k = guarded(sessions.agreement_tables, arena, code_text)
        text = "Fleiss' kappa: not enough shared items yet" if math.isnan(k) else f"Fleiss' kappa: **{k:.3f}**"
        return table, matrix.reset_index(names="rater") if len(matrix) else matrix, text

    def on_export(code_text):
        # A fresh temporary folder: the arena's own folder is never served by URL (it holds the vote database and
        # the ticket key); Gradio hands these copies to the browser under unguessable names.
        out = Path(tempfile.mkdtemp(prefix="genart-session-export-"))
        return [str(p) for p in guarded(sessions.export_session, arena, code_text, out)]

    create.click(on_create, [title, chosen, prompts, pairs], [created, code], api_name="arena_session_create")
    status.click(on_status, code, [raters, agreement, kappa], api_name="arena_session_status")
    export.click(on_export, code, files, api_name="arena_session_export")
