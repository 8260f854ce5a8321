"""The Arena's ratings page: Bradley-Terry and Elo tables per task, the win-rate heatmap and the intervals."""

from __future__ import annotations

import gradio as gr

from genart_demo.ui.common import guarded

from .battles import BATTLE_TASKS, Arena
from .ratings import heatmap_figure, interval_figure, votes_frame, win_rate_matrix
from .ui_common import TASK


def ratings_tab(arena: Arena) -> None:
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
