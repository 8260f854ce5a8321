"""The Leaderboard tab's "Which metric agrees with your raters" section: the agreement table from the workspace's arena."""

from __future__ import annotations

import threading

import gradio as gr
import pandas as pd

from genart_demo.markup import code_span, escape_markdown
from genart_demo.studio import Studio
from genart_demo.ui.common import guarded

from .agreement import TASK, AgreementResult, agreement_table
from .agreement_metrics import ImageValues, chosen_metrics, default_metrics, metric_names
from .arena.image_measures import MEASURES
from .arena.store import ArenaStore

DEFAULT_CHOICE = ("clip_score", *MEASURES)  # quick on a CPU; the human-preference scorers are a tick away
SHOWN_COLUMNS = ("label", "source", "agreement", "ci_low", "ci_high", "n", "metric_ties", "human_ties", "missing")


def shown_table(result: AgreementResult) -> pd.DataFrame:
    """The table for reading: agreement and its CI in percent with one decimal, the counts as they are."""
    table = result.table.loc[:, list(SHOWN_COLUMNS)].copy()
    for column in ("agreement", "ci_low", "ci_high"):
        table[column] = (100 * table[column].astype(float)).round(1)
    return table.rename(columns={"agreement": "agreement %", "ci_low": "CI low %", "ci_high": "CI high %"})


def notes_markdown(result: AgreementResult, db_url: str) -> str:
    """What the table covers and its notes, escaped for Markdown (the URL as code)."""
    head = (
        f"Votes from the arena at {code_span(db_url)}: the share of decisive votes (A or B) where the metric's "
        f"better side is the side people picked, with a {result.confidence:.0%} bootstrap interval over votes."
    )
    return "\n".join([head, *(f"- {escape_markdown(n)}" for n in result.notes)])


class AgreementPage:
    """One page's agreement state: image values cached by sha256 and the last metrics loaded (one computation at a
    time, so scorers load once however many people press the button)."""

    def __init__(self, studio: Studio):
        self.studio = studio
        self.values = ImageValues()
        self._loaded: tuple[tuple[str, ...], list, list[str]] | None = None
        self._lock = threading.Lock()

    def _metrics(self, names: tuple[str, ...]):
        if self._loaded is None or self._loaded[0] != names:
            metrics, notes = default_metrics(standin=self.studio.offline, device=self.studio.cache.device, only=names)
            self._loaded = (names, metrics, notes)
        return self._loaded[1], list(self._loaded[2])

    def compute(self, names, keep_flagged: bool = False, task: str = TASK) -> tuple[pd.DataFrame, str]:
        """(table, notes Markdown) of the chosen metrics over the workspace's arena votes of `task`."""
        chosen = chosen_metrics(list(names or ()) or list(DEFAULT_CHOICE))
        self.studio.wait_for_warm_up()  # a scorer imported while the warm-up thread imports transformers half-fails
        with self._lock:
            metrics, load_notes = self._metrics(chosen)
            store = ArenaStore.from_settings(self.studio.settings)
            try:
                result = agreement_table(
                    store,
                    self.studio.settings.workspace.outputs,
                    metrics,
                    task=task,
                    keep_flagged=bool(keep_flagged),
                    values=self.values,
                )
                url = store.url
            finally:
                store.close()
        result.notes.extend(load_notes)
        return shown_table(result), notes_markdown(result, url)


def build_agreement_section(studio: Studio) -> AgreementPage:
    """The section's components, added to the page being built; its state object (for tests)."""
    page = AgreementPage(studio)
    with gr.Accordion("Which metric agrees with your raters", open=False, elem_id="lb-agreement"):
        gr.Markdown(
            "For each automatic metric: how often it prefers the image the arena's raters preferred (open arena and "
            "rating sessions apart and together; the votes the ratings count). A metric tie counts 1/2; human ties "
            "are listed, not counted. FID, KID and CMMD have no per-image value and are not in this table."
        )
        with gr.Row():
            names = gr.Dropdown(
                list(metric_names()),
                value=list(DEFAULT_CHOICE),
                multiselect=True,
                label="Metrics",
                elem_id="lb-agreement-metrics",
                scale=3,
            )
            keep = gr.Checkbox(False, label="Count flagged raters too", elem_id="lb-agreement-keep", scale=1)
            button = gr.Button("Compute agreement", elem_id="lb-agreement-run", scale=1)
        table = gr.Dataframe(label="Agreement with raters", interactive=False, elem_id="lb-agreement-table")
        notes = gr.Markdown(elem_id="lb-agreement-notes")

    def on_compute(chosen, keep_flagged):
        return guarded(page.compute, chosen, keep_flagged)

    button.click(on_compute, [names, keep], [table, notes], api_visibility="private")
    return page


__all__ = ["AgreementPage", "build_agreement_section", "notes_markdown", "shown_table"]
