"""The Arena tab: blind battles, named side-by-side, rating sessions (rater and organiser) and the ratings."""

from __future__ import annotations

import logging

import gradio as gr

from genart_demo.markup import code_span
from genart_demo.studio import Studio
from genart_demo.ui.common import gradio_progress, guarded

from .battles import Arena, BattleView
from .ratings_ui import ratings_tab
from .session_ui import organise_tab, session_tab
from .ui_common import TASK, VOTE_BUTTONS, battle_image, pixels, rater_of, vote_row

log = logging.getLogger("genart.arena")


def named_message(model_a: object, model_b: object) -> str:
    """What a named battle says above its vote buttons (the model ids are the caller's, so escaped)."""
    return f"A is {code_span(model_a)}, B is {code_span(model_b)}. Named votes are kept apart from the blind ratings."


def _shown(view: BattleView, note: str):
    """Outputs for (image A, image B, token, message, 4 vote buttons enabled)."""
    return (
        pixels(view.outputs_a),
        pixels(view.outputs_b),
        view.token,
        note,
        *[gr.update(interactive=True) for _ in VOTE_BUTTONS],
    )


def _voted(text: str):
    """Outputs after a committed vote: token cleared, message, vote buttons disabled."""
    return ("", text, *[gr.update(interactive=False) for _ in VOTE_BUTTONS])


def _battle_tab(arena: Arena, named: bool) -> None:
    prefix = "arena-named" if named else "arena"
    models = arena.models(TASK)
    with gr.Row():
        if named:
            pick_a = gr.Dropdown(models, value=models[0] if models else None, label="Model A", elem_id=f"{prefix}-a")
            pick_b = gr.Dropdown(
                models, value=models[1] if len(models) > 1 else None, label="Model B", elem_id=f"{prefix}-b"
            )
        prompt = gr.Textbox(
            label="Prompt",
            placeholder="a red fox reading a newspaper, oil painting",
            scale=3,
            elem_id=f"{prefix}-prompt",
            max_lines=3,
        )
    with gr.Row():
        go = gr.Button("Generate both" if named else "New battle", variant="primary", elem_id=f"{prefix}-go")
        instant = None if named else gr.Button("Instant battle (pre-generated)", elem_id=f"{prefix}-instant")
    with gr.Row():
        image_a = battle_image("A", f"{prefix}-image-a")
        image_b = battle_image("B", f"{prefix}-image-b")
    buttons = vote_row(prefix)
    message = gr.Markdown(
        "Type a prompt and press the button; vote, and the names are revealed."
        if not named
        else "Pick two models and a prompt.",
        elem_id=f"{prefix}-message",
    )
    token = gr.Textbox(visible=False, elem_id=f"{prefix}-token")

    def on_blind(text, request: gr.Request, progress=gr.Progress()):
        view = guarded(arena.start_battle, TASK, text, rater_of(arena, request), progress=gradio_progress(progress))
        return _shown(view, "Which is better? The names are revealed after your vote.")

    def on_named(text, model_a, model_b, request: gr.Request, progress=gr.Progress()):
        view = guarded(
            arena.named_battle,
            TASK,
            model_a,
            model_b,
            text,
            rater_of(arena, request),
            progress=gradio_progress(progress),
        )
        return _shown(view, named_message(model_a, model_b))

    def on_instant(request: gr.Request):
        view = guarded(arena.instant_battle, TASK, rater_of(arena, request))
        return (view.prompt, *_shown(view, "Which is better? The names are revealed after your vote."))

    def on_vote(token_value, outcome_value, request: gr.Request):
        reveal = guarded(arena.vote, token_value, outcome_value, rater_of(arena, request))
        return _voted(reveal.text())

    shown = [image_a, image_b, token, message, *buttons]
    inputs = [prompt, pick_a, pick_b] if named else [prompt]
    on_battle = on_named if named else on_blind
    go.click(
        on_battle,
        inputs,
        shown,
        api_name="arena_named" if named else "arena_battle",
        concurrency_limit=1,
        concurrency_id="arena-generate",
    )
    prompt.submit(
        on_battle, inputs, shown, api_visibility="private", concurrency_limit=1, concurrency_id="arena-generate"
    )
    if instant is not None:
        instant.click(on_instant, None, [prompt, *shown], api_name="arena_instant")
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
    return page
