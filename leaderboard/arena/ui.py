"""The Arena tab: blind battles, named side-by-side, rating sessions (rater and organiser) and the ratings."""

from __future__ import annotations

import logging
import math
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from genart_demo.markup import code_span, escape_markdown
from genart_demo.studio import Studio
from genart_demo.ui.common import gradio_progress, guarded, result_image

from . import sessions
from .battles import BATTLE_TASKS, OUTCOME_LABELS, Arena, BattleView, rater_id
from .ratings import heatmap_figure, interval_figure, votes_frame, win_rate_matrix
from .store import RatingSession

log = logging.getLogger("genart.arena")
TASK = BATTLE_TASKS[0]
VOTE_BUTTONS = ("a", "b", "tie", "bothbad")
DISPLAY_PX = 384  # battle images are shown this tall; smaller outputs (64 px stand-ins) are enlarged to about it


def _pixels(paths: tuple[Path, ...]):
    """The first output as an array: served without the PNG's settings chunk (which names the model), and enlarged
    by a whole factor (each pixel a block, nothing invented) when smaller than DISPLAY_PX, since the browser never
    scales an image up and a 64 px output would sit as a thumbnail in the middle of its frame."""
    with Image.open(paths[0]) as img:
        img = img.convert("RGB")
        factor = DISPLAY_PX // max(img.size)
        if factor > 1:
            img = img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)
        return np.asarray(img)


def named_message(model_a: object, model_b: object) -> str:
    """What a named battle says above its vote buttons (the model ids are the caller's, so escaped)."""
    return f"A is {code_span(model_a)}, B is {code_span(model_b)}. Named votes are kept apart from the blind ratings."


def prompt_markdown(prompt: object) -> str:
    """A rating-session item's prompt, as the organiser typed it, shown literally."""
    return f"Prompt: *{escape_markdown(prompt)}*"


def created_markdown(session: RatingSession) -> str:
    """What the organiser reads after creating a session: its title (theirs, escaped), code and size."""
    return (
        f"Session **{escape_markdown(session.name)}** created. Code: **{code_span(session.code)}** · "
        f"{len(session.models)} models · {len(session.prompts)} prompts · {session.pairs_per_rater} pairs per rater"
    )


def _battle_image(label: str, elem_id: str) -> gr.Image:
    """One side of a battle: shown whole (never cropped) at DISPLAY_PX."""
    return result_image(label, height=DISPLAY_PX, type="numpy", elem_id=elem_id, format="png")


def _hf_username(request: gr.Request) -> str | None:
    """The Hugging Face user signed in through a Space's "Sign in with HF" (Gradio keeps it in the session);
    None without sign-in, or where the app has no session middleware."""
    try:
        info = request.session.get("oauth_info") or {}
    except (AssertionError, AttributeError):  # no SessionMiddleware: OAuth is not enabled
        return None
    if info.get("expires_at") is not None and info["expires_at"] < time.time():
        return None
    return (info.get("userinfo") or {}).get("preferred_username") or None


def _rater(arena: Arena, request: gr.Request | None) -> str:
    """The voter: the signed-in Hugging Face user, else a salted hash of the connection and browser session."""
    if request is None:
        return rater_id(arena.rater_salt, client="api")
    client = getattr(getattr(request, "client", None), "host", "") or ""
    return rater_id(
        arena.rater_salt,
        username=_hf_username(request),
        client=client,
        session=getattr(request, "session_hash", "") or "",
    )


def _shown(view: BattleView, note: str):
    """Outputs for (image A, image B, token, message, 4 vote buttons enabled)."""
    return (
        _pixels(view.outputs_a),
        _pixels(view.outputs_b),
        view.token,
        note,
        *[gr.update(interactive=True) for _ in VOTE_BUTTONS],
    )


def _voted(text: str):
    """Outputs after a committed vote: token cleared, message, vote buttons disabled."""
    return ("", text, *[gr.update(interactive=False) for _ in VOTE_BUTTONS])


def _vote_row(prefix: str):
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
        image_a = _battle_image("A", f"{prefix}-image-a")
        image_b = _battle_image("B", f"{prefix}-image-b")
    buttons = _vote_row(prefix)
    message = gr.Markdown(
        "Type a prompt and press the button; vote, and the names are revealed."
        if not named
        else "Pick two models and a prompt.",
        elem_id=f"{prefix}-message",
    )
    token = gr.Textbox(visible=False, elem_id=f"{prefix}-token")

    def on_blind(text, request: gr.Request, progress=gr.Progress()):
        view = guarded(arena.start_battle, TASK, text, _rater(arena, request), progress=gradio_progress(progress))
        return _shown(view, "Which is better? The names are revealed after your vote.")

    def on_named(text, model_a, model_b, request: gr.Request, progress=gr.Progress()):
        view = guarded(
            arena.named_battle, TASK, model_a, model_b, text, _rater(arena, request), progress=gradio_progress(progress)
        )
        return _shown(view, named_message(model_a, model_b))

    def on_instant(request: gr.Request):
        view = guarded(arena.instant_battle, TASK, _rater(arena, request))
        return (view.prompt, *_shown(view, "Which is better? The names are revealed after your vote."))

    def on_vote(token_value, outcome_value, request: gr.Request):
        reveal = guarded(arena.vote, token_value, outcome_value, _rater(arena, request))
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


def _session_tab(arena: Arena) -> None:
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
        image_a = _battle_image("A", "arena-session-image-a")
        image_b = _battle_image("B", "arena-session-image-b")
    prompt_md = gr.Markdown(elem_id="arena-session-prompt")
    buttons = _vote_row("arena-session")
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
            _pixels(view.outputs_a),
            _pixels(view.outputs_b),
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


def _organise_tab(arena: Arena) -> None:
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


def _ratings_tab(arena: Arena) -> None:
    with gr.Row():
        task = gr.Dropdown(list(BATTLE_TASKS), value=TASK, label="Task", elem_id="arena-ratings-task")
        include_named = gr.Checkbox(False, label="Include named (side-by-side) votes", elem_id="arena-ratings-named")
        refresh = gr.Button("Refresh ratings", variant="primary", elem_id="arena-ratings-refresh")
    table = gr.Dataframe(
        label="Ratings (Bradley-Terry, 95% bootstrap interval; Elo alongside)",
        interactive=False,
        elem_id="arena-ratings-table",
    )
    with gr.Row():
        heatmap = gr.Plot(label="Win rate (row over column)", elem_id="arena-ratings-heatmap")
        intervals = gr.Plot(label="Ratings with 95% intervals", elem_id="arena-ratings-intervals")

    def on_refresh(task_name, named):
        df = guarded(arena.ratings, task_name, include_named=bool(named))
        arena.write_ratings(df)  # the leaderboard joins this file
        modes = ("anonymous", "session", "named") if named else ("anonymous", "session")
        votes = votes_frame(arena.store.votes(task=task_name, modes=modes))
        return df.round(1), heatmap_figure(win_rate_matrix(votes)), interval_figure(df)

    refresh.click(on_refresh, [task, include_named], [table, heatmap, intervals], api_name="arena_ratings")


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
                _session_tab(arena)
            with gr.Tab("Organise a session", id="arena-tab-organise"):
                _organise_tab(arena)
            with gr.Tab("Ratings", id="arena-tab-ratings"):
                _ratings_tab(arena)
    return page
