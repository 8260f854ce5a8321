"""The Arena's slices page: ratings per prompt category, and a rater's own ratings once they have voted enough."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from genart_demo.errors import InputError
from genart_demo.ui.common import guarded

from . import sessions
from .battles import BATTLE_TASKS, Arena
from .slices import PERSONAL_MIN_VOTES, PersonalRatings, arena_slices, rater_ratings
from .ui_common import TASK, rater_of

ALL = "All categories"  # the category filter's first choice


def category_rows(table: pd.DataFrame, category: str) -> pd.DataFrame:
    """The slice table's rows of one category (ALL: every row); a category with no votes is refused by name."""
    if category in (None, "", ALL):
        return table
    if category not in set(table["category"]):
        known = ", ".join(dict.fromkeys(table["category"])) or "none yet"
        raise InputError(f"No votes in category {category!r}; categories with votes: {known}.")
    return table[table["category"] == category].reset_index(drop=True)


def my_ratings(arena: Arena, task: str, code: str, name: str, request: gr.Request | None) -> PersonalRatings:
    """The personal ratings of a session rater (code and name given) or else of this browser's rater."""
    if str(code or "").strip():
        session = sessions.get_session(arena, code)
        return rater_ratings(arena, task, sessions.session_rater(arena, session.code, name))
    return rater_ratings(arena, task, rater_of(arena, request))


def slices_tab(arena: Arena) -> None:
    gr.Markdown(
        "Ratings per prompt category: a session prompt's `#tags`, else the prompt's DrawBench or PartiPrompts "
        "category (votes with neither are under *(no category)*). Ranks are within each category."
    )
    with gr.Row():
        task = gr.Dropdown(list(BATTLE_TASKS), value=TASK, label="Task", elem_id="arena-slices-task")
        category = gr.Dropdown(
            [ALL], value=ALL, label="Category", allow_custom_value=True, elem_id="arena-slices-category"
        )
        refresh = gr.Button("Refresh", variant="primary", elem_id="arena-slices-refresh")
    table = gr.Dataframe(
        label="Ratings per category (95% bootstrap interval)", interactive=False, elem_id="arena-slices-table"
    )
    gr.Markdown(
        f"### My ratings\nAfter {PERSONAL_MIN_VOTES} votes: the models ranked by your votes alone. Rated in a "
        "session? Give its code and your name; otherwise this browser's votes are used."
    )
    with gr.Row():
        code = gr.Textbox(label="Session code (optional)", max_lines=1, elem_id="arena-mine-code")
        name = gr.Textbox(label="Your name in the session", max_lines=1, elem_id="arena-mine-name")
        show = gr.Button("Show my ratings", elem_id="arena-mine-show")
    message = gr.Markdown(elem_id="arena-mine-message")
    mine = gr.Dataframe(label="My ratings", interactive=False, visible=False, elem_id="arena-mine-table")

    def on_slices(task_name, chosen):
        df = guarded(arena_slices, arena, task_name)
        rows = guarded(category_rows, df, chosen)
        choices = [ALL, *dict.fromkeys(df["category"])]
        return rows.round(1), gr.update(choices=choices, value=chosen or ALL)

    def on_mine(task_name, code_text, name_text, request: gr.Request):
        personal = guarded(my_ratings, arena, task_name, code_text, name_text, request)
        shown = personal.table is not None
        return personal.message(), gr.update(value=personal.table.round(1) if shown else None, visible=shown)

    refresh.click(on_slices, [task, category], [table, category], api_name="arena_slices")
    category.input(on_slices, [task, category], [table, category], api_visibility="private")
    show.click(on_mine, [task, code, name], [message, mine], api_name="arena_my_ratings")
