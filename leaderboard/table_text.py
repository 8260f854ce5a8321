"""Plain-text leaderboard tables (`genart leaderboard show`): how many decimals people see, padded columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genart_demo.metrics.scorers import SCORERS

from .aggregate import ci_columns

# column -> decimals shown to people (the Leaderboard tab, `genart leaderboard show`); the CSVs under RUN/scores/
# and `genart leaderboard export` keep every digit. Other float columns (fid_matrix's, one per model) show
# DISPLAY_DECIMALS_OTHER.
DISPLAY_DECIMALS = {
    **dict.fromkeys(("clip_score", "clip_ci_low", "clip_ci_high", "clip_max", "fid"), 2),
    **dict.fromkeys(("kid", "kid_std", "cmmd"), 4),
    **dict.fromkeys(("seconds_per_image", "seconds"), 3),
    **dict.fromkeys(("rating", "rating_ci_low", "rating_ci_high"), 1),
}
DISPLAY_DECIMALS_OTHER = 3


def number_text(value, column: str) -> str:
    """A cell of `column` as `genart leaderboard show` prints it ("-" for none), rounded as DISPLAY_DECIMALS says."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:.{DISPLAY_DECIMALS.get(column, DISPLAY_DECIMALS_OTHER)}f}"


def table_text(names: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned."""
    widths = [max(len(x) for x in column) for column in zip(names, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(names), line(["-" * w for w in widths])] + [line(r) for r in rows]


def metric_cells(r: dict, metrics: list[str]) -> list[str]:
    """Each metric's value and its CI, as two cells."""
    out = []
    for m in metrics:
        low, high = ci_columns(m)
        out += [number_text(r.get(m), m), f"[{number_text(r.get(low), m)}, {number_text(r.get(high), m)}]"]
    return out


def skill_text(by_category: pd.DataFrame, metrics: list[str]) -> list[str]:
    """The per-skill (category) table: one row per model and skill, CLIPScore and every other metric with CIs."""
    names = ["model", "skill", "CLIPScore", "95% CI"]
    names += [n for m in metrics for n in (SCORERS[m].label, "95% CI")]
    names += ["prompts"]
    rows = [
        [r["model"], r["category"]] + metric_cells(r, ["clip_score", *metrics]) + [str(r["n_prompts"])]
        for r in by_category.sort_values(["category", "model"], kind="stable").to_dict("records")
    ]
    return table_text(names, rows)


__all__ = ["DISPLAY_DECIMALS", "DISPLAY_DECIMALS_OTHER", "metric_cells", "number_text", "skill_text", "table_text"]
