"""The Leaderboard tab: one table per prompt set, filters, sorting, per-skill tables, and one prompt across all models
side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import pandas as pd

from genart_demo.errors import InputError
from genart_demo.fields import whole_number_text
from genart_demo.markup import code_span
from genart_demo.metrics.scorers import SCORERS
from genart_demo.settings import MAX_SEED
from genart_demo.studio import Studio
from genart_demo.ui.common import result_gallery
from genart_demo.workspace import RUN_FILE

from .agreement_ui import build_agreement_section
from .manifest import read_run_json
from .tables import (
    KEY_COLUMNS,
    METRICS,
    display_table,
    filter_table,
    gallery_rows,
    join_ratings,
    load_tables,
    run_prompts,
    skill_table,
    summary_table,
)

PROMPT_SET_TABS = (
    ("DrawBench", "drawbench"),
    ("PartiPrompts", "parti"),
    ("GenEval", "geneval"),
    ("T2I-CompBench", "t2i-compbench"),
    ("Other prompt sets", ""),
)
SKILL_TABS = ("geneval", "t2i-compbench")  # tabs whose categories are skills and that have no challenges
VIEWS = [
    ("Overall", "overall"),
    ("By category / skill", "by_category"),
    ("Skills side by side (one metric)", "skills"),
    ("By challenge", "by_challenge"),
    ("Per prompt", "per_prompt"),
    ("FID / KID / CMMD", "fid"),
]
METRIC_CHOICES = [
    ("CLIPScore (mean over seeds, 95% CI)", "clip_score"),
    ("CLIPScore (best seed)", "clip_max"),
    *[(f"{entry.label} (95% CI)", name) for name, entry in SCORERS.items()],
    ("FID", "fid"),
    ("KID", "kid"),
    ("CMMD", "cmmd"),
    ("Seconds per image", "seconds_per_image"),
    ("Human rating (arena)", "rating"),
    ("All columns", ""),
]
SORT_COLUMNS = [value for _, value in METRIC_CHOICES if value] + ["model", "category", "challenge", "n_prompts"]
MAX_PROMPT_ID = 200  # characters; prompt ids are short ("drawbench-12"), so a longer one is not one of them


def _received(value: object) -> str:
    """A value as a message may quote it: at most 40 characters of it, and what kind it is when not text."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"{value[:40]!r}… ({len(value):,} characters)"
    return f"a {type(value).__name__}"


def runs_by_set(studio: Studio) -> dict[str, list[str]]:
    """Run folder names grouped by their prompt set (from the run file), newest first; "" collects user prompt
    sets."""
    workspace = studio.settings.workspace
    found: dict[str, list[str]] = {}
    for name in workspace.run_names():
        try:
            prompt_set = (read_run_json(workspace.run(name)) or {}).get("prompt_set", "")
        except (OSError, ValueError):
            continue
        tabs = [key for _, key in PROMPT_SET_TABS]
        found.setdefault(prompt_set if prompt_set in tabs else "", []).append(name)
    return found


def _run_dir(studio: Studio, run: str | None) -> Path:
    runs = studio.settings.workspace.runs
    if not run:
        raise gr.Error(
            f"Choose a run (make one with `genart leaderboard run ... --out {runs}/<name>`, then press Refresh)."
        )
    try:
        path = studio.settings.workspace.run(run)
    except InputError as exc:
        raise gr.Error(f"{exc} Give the name of a run folder in {runs}, as listed under Run.") from None
    if not (path / RUN_FILE).is_file():
        raise gr.Error(f"{run} is not a leaderboard run (no {RUN_FILE}).")
    return path


def gallery_seed(value: object, seeds: Sequence[int]) -> int | None:
    """The seed picked for the side-by-side gallery: None for "all" (or nothing), else a whole number that is one of
    the run's `seeds` (any 0..MAX_SEED when the run file lists none); InputError naming the field otherwise."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "all")):
        return None
    number = isinstance(value, int) and not isinstance(value, bool)
    seed = whole_number_text(str(value) if number else value)  # ASCII digits only: '²' and 5,000 digits are not
    if seed is None or seed > MAX_SEED or (seeds and seed not in seeds):
        listed = ", ".join(map(str, seeds)) if seeds else f"a whole number 0-{MAX_SEED} in digits 0-9"
        raise InputError(f"Seed {_received(value)} is not a seed of this run: choose 'all' or {listed}.")
    return seed


def gallery_for(studio: Studio, run: object, prompt_id: object, seed_value: object) -> list[tuple[str, str]]:
    """(image path, caption) for one prompt of a run across its models, at one seed or all; captions are plain text
    (a Gallery shows them as text, so they are not escaped)."""
    if not prompt_id:
        raise gr.Error("Choose a prompt.")
    if not isinstance(prompt_id, str) or len(prompt_id) > MAX_PROMPT_ID:
        raise gr.Error(f"Prompt {_received(prompt_id)} is not a prompt id of this run; choose one from the list.")
    try:
        gallery_seed(seed_value, ())  # how a seed is written, before the run is looked up
        run_dir = _run_dir(studio, run)
        seed = gallery_seed(seed_value, (read_run_json(run_dir) or {}).get("seeds") or [])  # one of the run's
        return gallery_rows(run_dir, prompt_id, seed=seed)
    except InputError as exc:
        raise gr.Error(str(exc)) from exc


def _ratings(studio: Studio):
    """The arena's ratings table when the arena has written one."""
    path = studio.settings.workspace.arena_ratings
    return pd.read_csv(path) if path.is_file() else None


def table_for(studio: Studio, run: str, view: str, categories, challenges, metric: str, sort_by: str, descending: bool):
    """The chosen table of a scored run, filtered, with arena ratings joined where there are any, sorted; the
    "skills" view is skill_table of the chosen metric (CLIPScore for "All columns")."""
    try:
        tables = load_tables(_run_dir(studio, run))
        if view == "skills":  # one row per model, one column per skill: the chosen metric's means
            return display_table(skill_table(tables, metric or "clip_score"))
        if view not in tables:
            raise gr.Error(
                "This run has no FID yet: score it with `genart leaderboard score RUN --reference DIR`."
                if view == "fid"
                else f"This run has no {view} table."
            )
        cats, chals = categories or None, challenges or None
        if view == "overall":  # filtered: recomputed over the chosen prompts, with fresh CIs
            df = join_ratings(summary_table(tables, cats, chals), _ratings(studio))
        else:
            df = tables[view]
            cats = cats if "category" in df.columns else None  # a table without the column ignores that filter
            chals = chals if "challenge" in df.columns else None
            df = filter_table(df, categories=cats, challenges=chals)
        if metric and any(column in df.columns for column in METRICS[metric][0]):
            df = filter_table(df, metric=metric)  # the key columns and that metric's, best first
        else:  # all columns: the key columns first, as a metric's table shows them
            df = df[[c for c in df.columns if c in KEY_COLUMNS] + [c for c in df.columns if c not in KEY_COLUMNS]]
    except InputError as exc:
        raise gr.Error(str(exc)) from exc
    if sort_by and sort_by in df.columns:
        df = df.sort_values(sort_by, ascending=not descending, kind="stable")
    return display_table(df)  # sorted on every digit, shown rounded


def _choices(studio: Studio, run: str | None):
    """Categories, challenges and prompts of a run, for the filters and the gallery picker."""
    if not run:
        return [], [], []
    prompts = run_prompts(_run_dir(studio, run))
    categories = sorted({p.get("category", "") for p in prompts.values()} - {""})
    challenges = sorted({p.get("challenge", "") for p in prompts.values()} - {""})
    listed = [(f"{pid} · {p.get('text', '')[:70]}", pid) for pid, p in prompts.items()]
    return categories, challenges, listed


def _section(studio: Studio, key: str, runs: list[str], tab: gr.Tab) -> None:
    """One prompt set's run picker, filters, table and side-by-side gallery, loaded when its tab is opened and on
    Refresh runs (which also finds runs made since)."""
    prefix = f"lb-{key or 'other'}"
    with gr.Row():
        run = gr.Dropdown(
            runs,
            value=runs[0] if runs else None,
            label="Run",
            elem_id=f"{prefix}-run",
            scale=2,
            allow_custom_value=True,
        )  # runs made after start-up; _run_dir checks the name
        refresh = gr.Button("Refresh runs", elem_id=f"{prefix}-refresh", scale=0)
        view = gr.Radio(VIEWS, value="overall", label="Table", elem_id=f"{prefix}-view", scale=3)
    with gr.Row():
        categories = gr.Dropdown(
            [], multiselect=True, label="Skills" if key in SKILL_TABS else "Categories", elem_id=f"{prefix}-categories"
        )
        challenges = gr.Dropdown(
            [],
            multiselect=True,
            label="Challenges",
            elem_id=f"{prefix}-challenges",
            visible=key not in ("drawbench", *SKILL_TABS),
        )
        metric = gr.Dropdown(METRIC_CHOICES, value="", label="Metric", elem_id=f"{prefix}-metric")
        sort_by = gr.Dropdown(
            SORT_COLUMNS, value="clip_score", label="Sort by", elem_id=f"{prefix}-sort", allow_custom_value=True
        )
        descending = gr.Checkbox(True, label="Descending", elem_id=f"{prefix}-descending")
    table = gr.Dataframe(label="Leaderboard", interactive=False, wrap=True, elem_id=f"{prefix}-table")
    with gr.Row():
        prompt = gr.Dropdown(
            [],
            label="Prompt (side by side across models)",
            elem_id=f"{prefix}-prompt",
            scale=3,
            allow_custom_value=True,
        )
        seed = gr.Dropdown(
            ["all"], value="all", label="Seed", elem_id=f"{prefix}-seed", scale=1, allow_custom_value=True
        )
        show = gr.Button("Show side by side", elem_id=f"{prefix}-show", scale=1)
    gallery = result_gallery("One prompt, every model", columns=4, height=360, elem_id=f"{prefix}-gallery")
    filters = [run, view, categories, challenges, metric, sort_by, descending]

    def on_table(run_name, view_name, cats, chals, metric_name, sort_col, desc):
        if not run_name:
            return None
        return table_for(studio, run_name, view_name, cats, chals, metric_name, sort_col, desc)

    def on_run(run_name):
        cats, chals, prompts = _choices(studio, run_name)
        seeds = (read_run_json(_run_dir(studio, run_name)) or {}).get("seeds", []) if run_name else []
        return (
            gr.update(choices=cats, value=[]),
            gr.update(choices=chals, value=[]),
            gr.update(choices=prompts, value=prompts[0][1] if prompts else None),
            gr.update(choices=["all", *map(str, seeds)], value="all"),
        )

    def on_refresh(current):
        names = runs_by_set(studio).get(key, [])
        return gr.update(choices=names, value=current if current in names else (names[0] if names else None))

    def on_show(run_name, prompt_id, seed_value):
        return gallery_for(studio, run_name, prompt_id, seed_value)

    run.change(on_run, run, [categories, challenges, prompt, seed], api_visibility="private").then(
        on_table, filters, table, api_visibility="private"
    )
    for control in filters[1:]:
        control.change(on_table, filters, table, api_visibility="private")
    for opened in (refresh.click, tab.select):
        opened(on_refresh, run, run, api_visibility="private").then(
            on_run, run, [categories, challenges, prompt, seed], api_visibility="private"
        ).then(on_table, filters, table, api_visibility="private")
    show.click(
        on_show, [run, prompt, seed], gallery, api_name=f"leaderboard_gallery_{(key or 'other').replace('-', '_')}"
    )


def build_leaderboard_ui(studio: Studio) -> gr.Column:
    """The tab's components, added to the app being built (one of its tabs, or a Space's only page)."""
    by_set, runs = runs_by_set(studio), studio.settings.workspace.runs
    with gr.Column() as page:
        gr.Markdown(
            "DrawBench, PartiPrompts, GenEval and T2I-CompBench through every model, scored by CLIPScore and any "
            "per-image metric (PickScore, HPS v2.1, ImageReward, aesthetic, VQAScore, GenEval: "
            "`genart leaderboard score RUN --metrics ...`), per skill for the skill-tagged sets, and by FID/KID/CMMD "
            f"against a reference set. Runs are read from {code_span(runs)}: make one with "
            f"{code_span(f'genart leaderboard run --models A,B --prompts drawbench --out {runs}/NAME')}, score it with "
            "`genart leaderboard score`, then press *Refresh runs*. Tables show rounded numbers; "
            "`genart leaderboard export` writes every digit (CSV or Parquet)."
            + (" **Offline: scores come from stand-in networks.**" if studio.offline else "")
        )
        with gr.Tabs():
            for title, key in PROMPT_SET_TABS:
                with gr.Tab(title, id=f"lb-tab-{key or 'other'}") as tab:
                    _section(studio, key, by_set.get(key, []), tab)
        # Sections about every run (not one prompt set), e.g. which metric agrees with the raters, go here.
        build_agreement_section(studio)
    return page
