"""The Arena tab: blind battles, named side-by-side, rating sessions (rater and organiser) and the ratings."""

from __future__ import annotations

import logging

import gradio as gr

from genart_demo.markup import code_span
from genart_demo.studio import Studio
from genart_demo.ui.common import gradio_progress, guarded, whole

from .battles import LEADERBOARD_TASK, Arena, BattleView
from .ratings_ui import ratings_tab
from .session_ui import organise_tab, session_tab
from .slices_ui import slices_tab
from .task_outputs import TASK_INPUTS
from .ui_common import (
    TASK,
    VOTE_BUTTONS,
    BattleRow,
    InputFields,
    battle_arguments,
    model_choices,
    per_side_slider,
    rater_of,
    task_dropdown,
    vote_row,
)

log = logging.getLogger("genart.arena")


def named_message(model_a: object, model_b: object) -> str:
    """What a named battle says above its vote buttons (the model ids are the caller's, so escaped)."""
    return f"A is {code_span(model_a)}, B is {code_span(model_b)}. Named votes are kept apart from the blind ratings."


BLIND_NOTE = "Which is better? The names are revealed after your vote."


def _battle_tab(arena: Arena, named: bool) -> None:
    prefix = "arena-named" if named else "arena"
    models, choices = arena.models(TASK), model_choices(arena)
    with gr.Row():
        task = task_dropdown(prefix)
        if named:
            pick_a = gr.Dropdown(choices, value=models[0] if models else None, label="Model A", elem_id=f"{prefix}-a")
            pick_b = gr.Dropdown(
                choices, value=models[1] if len(models) > 1 else None, label="Model B", elem_id=f"{prefix}-b"
            )
        prompt = gr.Textbox(
            label="Prompt",
            placeholder="a red fox reading a newspaper, oil painting",
            scale=3,
            elem_id=f"{prefix}-prompt",
            max_lines=3,
        )
        per_side = per_side_slider(prefix)
    fields = InputFields.build(prefix, prompt)
    with gr.Row():
        go = gr.Button("Generate both" if named else "New battle", variant="primary", elem_id=f"{prefix}-go")
        instant = None if named else gr.Button("Instant battle (pre-generated)", elem_id=f"{prefix}-instant")
    row = BattleRow.build(prefix)
    buttons = vote_row(prefix)
    message = gr.Markdown(
        "Pick a task, give its inputs and press the button; vote, and the names are revealed."
        if not named
        else "Pick a task, two models and the inputs.",
        elem_id=f"{prefix}-message",
    )
    token = gr.Textbox(visible=False, elem_id=f"{prefix}-token")

    def shown(view: BattleView, note: str) -> dict:
        return {
            **row.values(view),
            token: view.token,
            message: note,
            **{b: gr.update(interactive=True) for b in buttons},
        }

    # The new inputs default to None where the client may leave them out: an older API call still works.
    def on_blind(
        text, task_value=TASK, editor=None, mask=None, n=1, request: gr.Request = None, progress=gr.Progress()
    ):
        text, inputs = battle_arguments(task_value, text, editor, mask)
        rater, report = rater_of(arena, request), gradio_progress(progress)
        view = guarded(
            arena.start_battle, task_value, text, rater, **inputs, images_per_side=whole(n, 1), progress=report
        )
        return shown(view, BLIND_NOTE)

    def on_named(
        text,
        model_a,
        model_b,
        task_value=TASK,
        editor=None,
        mask=None,
        n=1,
        request: gr.Request = None,
        progress=gr.Progress(),
    ):
        text, inputs = battle_arguments(task_value, text, editor, mask)
        rater, report = rater_of(arena, request), gradio_progress(progress)
        view = guarded(
            arena.named_battle,
            task_value,
            model_a,
            model_b,
            text,
            rater,
            **inputs,
            images_per_side=whole(n, 1),
            progress=report,
        )
        return shown(view, named_message(model_a, model_b))

    def on_instant(task_value=TASK, request: gr.Request = None):
        view = guarded(arena.instant_battle, task_value or TASK, rater_of(arena, request))
        return {prompt: view.prompt, **shown(view, BLIND_NOTE)}

    def on_vote(token_value, outcome_value, request: gr.Request):
        reveal = guarded(arena.vote, token_value, outcome_value, rater_of(arena, request))
        return ("", reveal.text(), *[gr.update(interactive=False) for _ in VOTE_BUTTONS])

    def on_task(task_value):
        changed = fields.updates(task_value)
        if named and task_value in TASK_INPUTS:
            choices = guarded(arena.models, task_value)
            changed[pick_a] = gr.update(choices=choices, value=choices[0] if choices else None)
            changed[pick_b] = gr.update(choices=choices, value=choices[1] if len(choices) > 1 else None)
        if instant is not None and task_value in TASK_INPUTS:  # only leaderboard runs' task has pre-made outputs
            changed[instant] = gr.update(visible=task_value == LEADERBOARD_TASK)
        return changed

    outputs = [*row.firsts(), token, message, *buttons, *row.extras()]  # new parts last: older API calls read the same
    extras = [task, fields.editor, fields.mask, per_side]
    inputs = [prompt, pick_a, pick_b, *extras] if named else [prompt, *extras]
    on_battle = on_named if named else on_blind
    follows_task = [*fields.parts(), *([pick_a, pick_b] if named else [instant])]
    task.change(on_task, task, follows_task, api_visibility="private")
    row.follow(
        go.click(
            on_battle,
            inputs,
            outputs,
            api_name="arena_named" if named else "arena_battle",
            concurrency_limit=1,
            concurrency_id="arena-generate",
        )
    )
    row.follow(
        prompt.submit(
            on_battle, inputs, outputs, api_visibility="private", concurrency_limit=1, concurrency_id="arena-generate"
        )
    )
    if instant is not None:
        row.follow(instant.click(on_instant, [task], [prompt, *outputs], api_name="arena_instant"))
    for button, value in zip(buttons, VOTE_BUTTONS):
        button.click(
            on_vote, [token, gr.State(value)], [token, message, *buttons], api_visibility="private", concurrency_limit=4
        )
    if not named:  # one API endpoint for every vote (blind and named): the token says which battle
        outcome, vote_api = gr.Textbox(visible=False), gr.Button(visible=False)
        vote_api.click(
            on_vote, [token, outcome], [token, message, *buttons], api_name="arena_vote", concurrency_limit=4
        )


def build_arena_ui(studio: Studio, arena: Arena) -> gr.Column:
    """The tab's components, added to the app being built; `arena` is the process's one Arena
    (opened by the composition root, `genart_demo.ui.app.serve`)."""
    with gr.Column() as page:
        gr.Markdown(
            "Blind pairwise votes between models, turned into Bradley-Terry and Elo ratings. Votes are stored on "
            "the server (where is up to its operator: `GENART_DB_URL`, see the README)."
            + (" **Offline: the images come from stand-in networks.**" if studio.offline else "")
        )
        with gr.Tabs():
            with gr.Tab("Battle (blind)", id="arena-tab-battle"):
                _battle_tab(arena, named=False)
            with gr.Tab("Side by side (named)", id="arena-tab-named"):
                _battle_tab(arena, named=True)
            with gr.Tab("Rating session", id="arena-tab-session"):
                session_tab(arena)
            with gr.Tab("Organise a session", id="arena-tab-organise"):
                organise_tab(arena)
            with gr.Tab("Ratings", id="arena-tab-ratings"):
                ratings_tab(arena)
            with gr.Tab("Slices", id="arena-tab-slices"):
                slices_tab(arena)
    return page
