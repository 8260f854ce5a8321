"""The Arena's ratings page: the ratings per task, what they rest on (stopping rule, fragility, confounders), the
flagged raters and whether to count them, the win-rate heatmap and the intervals."""

from __future__ import annotations

import gradio as gr

from genart_demo.errors import InputError
from genart_demo.markup import code_span, escape_markdown
from genart_demo.ui.common import guarded

from .battles import BATTLE_TASKS, Arena
from .rated import arena_scope
from .rating_report import DEFAULT_WIDTH, STOP_RULE_LABELS, coefficients_frame, fragility_text, rating_report, stop_text
from .ratings import heatmap_figure, interval_figure, win_rate_matrix
from .ui_common import TASK

KEEP_CHOICES = ("keep in the ratings", "leave out")  # what the organiser may do with a flagged rater


def keep_rater(arena: Arena, task: str, rater: object, choice: object) -> str:
    """Keep a flagged rater's votes in the open arena's ratings of `task` (or leave them out again); Markdown saying
    what was done. Only a rater a check flagged can be chosen."""
    rater = str(rater or "").strip()
    if choice not in KEEP_CHOICES:
        raise InputError(f"Choose what to do with the rater: {' or '.join(repr(c) for c in KEEP_CHOICES)}.")
    flagged = {f.rater for f in arena.rated_votes(task, include_named=True).flags}
    if rater not in flagged:
        raise InputError(
            f"Rater {rater!r} is not flagged in the {task} arena; choose one from the flagged raters table."
            if rater
            else "Choose a flagged rater first."
        )
    keep = choice == KEEP_CHOICES[0]
    arena.store.keep_rater(arena_scope(task), rater, keep=keep)
    done = "kept in" if keep else "left out of"
    return f"Rater {code_span(rater)}'s votes are {done} the {escape_markdown(task)} ratings."


def ratings_tab(arena: Arena) -> None:
    with gr.Row():
        task = gr.Dropdown(list(BATTLE_TASKS), value=TASK, label="Task", elem_id="arena-ratings-task")
        include_named = gr.Checkbox(False, label="Include named (side-by-side) votes", elem_id="arena-ratings-named")
        refresh = gr.Button("Refresh ratings", variant="primary", elem_id="arena-ratings-refresh")
    with gr.Row():
        rule = gr.Radio(
            [(label, key) for key, label in STOP_RULE_LABELS.items()],
            value="separated",
            label="Stopping rule",
            elem_id="arena-ratings-rule",
        )
        width = gr.Number(DEFAULT_WIDTH, label="X (rating points, for the width rule)", elem_id="arena-ratings-width")
    table = gr.Dataframe(
        label="Ratings (Bradley-Terry: 95% bootstrap and closed-form sandwich intervals; Elo alongside; a model "
        "with only wins or only losses is unbounded, see its note)",
        interactive=False,
        elem_id="arena-ratings-table",
    )
    stop = gr.Markdown(elem_id="arena-ratings-stop")
    fragility = gr.Markdown(elem_id="arena-ratings-fragility")
    coefficients = gr.Dataframe(
        label="What is not the model: rating points of the side shown and of each image's brightness, contrast, "
        "saturation and generation time (controlled Bradley-Terry)",
        interactive=False,
        elem_id="arena-ratings-covariates",
    )
    flags = gr.Dataframe(
        label="Flagged raters (their votes are left out unless kept)", interactive=False, elem_id="arena-ratings-flags"
    )
    with gr.Row():
        rater = gr.Dropdown([], label="Flagged rater", allow_custom_value=True, elem_id="arena-ratings-rater")
        keep = gr.Radio(list(KEEP_CHOICES), value=KEEP_CHOICES[0], label="Their votes", elem_id="arena-ratings-keep")
        apply = gr.Button("Apply", elem_id="arena-ratings-apply")
    kept_note = gr.Markdown(elem_id="arena-ratings-kept")
    with gr.Row():
        heatmap = gr.Plot(label="Win rate (row over column)", elem_id="arena-ratings-heatmap")
        intervals = gr.Plot(label="Ratings with 95% intervals", elem_id="arena-ratings-intervals")

    def on_refresh(task_name, named, rule_name, width_points):
        report = guarded(rating_report, arena, task_name, include_named=bool(named), rule=rule_name, width=width_points)
        arena.write_ratings(report.table, task_name)  # the leaderboard joins this file
        raters = sorted(set(report.flags["rater"]))
        return (
            report.table.round(1),
            escape_markdown(stop_text(report)),
            escape_markdown(fragility_text(report)),
            coefficients_frame(report).round(1),
            report.flags,
            gr.update(choices=raters, value=raters[0] if raters else None),
            heatmap_figure(win_rate_matrix(report.votes)),
            interval_figure(report.table),
        )

    outputs = [table, stop, fragility, coefficients, flags, rater, heatmap, intervals]
    refresh.click(on_refresh, [task, include_named, rule, width], outputs, api_name="arena_ratings")
    apply.click(
        lambda task_name, who, choice: guarded(keep_rater, arena, task_name, who, choice),
        [task, rater, keep],
        kept_note,
        api_name="arena_keep_rater",
    ).then(on_refresh, [task, include_named, rule, width], outputs, api_visibility="private")


__all__ = ["KEEP_CHOICES", "keep_rater", "ratings_tab"]
