"""Compare's viewer: any two results in a before/after slider with their difference map, and each model's cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image

from ..imagediff import diff_legend, image_difference
from ..markup import escape_markdown
from ..peak_memory import CPU_KIND, CUDA_KIND, PeakMemory, memory_text
from ..tasks.generate import GenerateResult

TABLE_HEADERS = ["model", "seconds per image", "peak memory", "weights"]
FEWER_THAN_TWO = "Compare two or more models to see any two of them in a slider and their difference map."
COST_NOTE = (
    "Seconds per image: the model's whole call (loading it too, when it was not in memory yet) over its images. "
    "Peak memory: the highest during the pipeline call, with its rise in the call in brackets; "
)
KIND_NOTES = {
    CPU_KIND: "on CPU the whole process's resident memory (every loaded model included), sampled every 5 ms.",
    CUDA_KIND: "on CUDA the tensors allocated on the device (torch.cuda.max_memory_allocated).",
}


@dataclass(frozen=True)
class CompareShot:
    """One model's first image in a compare, with what it cost; what the viewer keeps in its gr.State."""

    model: str
    path: str
    seconds_per_image: float
    peak: PeakMemory | None
    standin: bool


def compare_shots(results: list[GenerateResult]) -> list[CompareShot]:
    """One shot per compared model, in the compare's order."""
    return [
        CompareShot(r.settings[0].model, str(r.paths[0]), r.seconds / max(len(r.images), 1), r.peak, r.standin)
        for r in results
        if r.paths
    ]


def _labels(shots: list[CompareShot]) -> list[tuple[str, int]]:
    """(label, index) per shot: the model id, numbered only where one model was compared twice."""
    models = [s.model for s in shots]
    return [(m if models.count(m) == 1 else f"{m} #{i + 1}", i) for i, m in enumerate(models)]


def cost_rows(shots: list[CompareShot]) -> list[list[str]]:
    """The cost table: one row per shot under TABLE_HEADERS."""

    def memory(peak: PeakMemory | None) -> str:
        return f"{memory_text(peak.peak_bytes)} (+{memory_text(peak.rise_bytes)})" if peak else "not measured"

    return [
        [s.model, f"{s.seconds_per_image:.2f}", memory(s.peak), "tiny stand-in" if s.standin else "real checkpoint"]
        for s in shots
    ]


def cost_note(shots: list[CompareShot]) -> str:
    kinds = {s.peak.kind for s in shots if s.peak}
    return COST_NOTE + " ".join(KIND_NOTES[k] for k in sorted(kinds))


def pair_view(shots: list[CompareShot], a: int | None, b: int | None) -> tuple[Any, Image.Image | None, str]:
    """(slider value, difference map, legend) for shots a and b; B is resized to A's size where they differ."""
    if len(shots) < 2 or a is None or b is None or not (0 <= a < len(shots) and 0 <= b < len(shots)):
        return None, None, FEWER_THAN_TWO
    first, second = shots[int(a)], shots[int(b)]
    image_a, image_b = Image.open(first.path).convert("RGB"), Image.open(second.path).convert("RGB")
    diff = image_difference(image_a, image_b)
    shown_b = image_b if image_b.size == image_a.size else image_b.resize(image_a.size, Image.Resampling.LANCZOS)
    legend = diff_legend(diff, f"A ({first.model})", f"B ({second.model})", image_a.size)
    return (image_a, shown_b), diff.image, escape_markdown(legend)


class CompareViewer:
    """The viewer's components, built where it is created (inside compare's accordion). `state` holds the last
    compare's shots: the compare handler outputs it, then `follow(event)` fills the viewer from it."""

    def __init__(self) -> None:
        self.state = gr.State([])
        with gr.Row():
            self.pick_a = gr.Dropdown([], label="Result A", elem_id="compare-pick-a")
            self.pick_b = gr.Dropdown([], label="Result B", elem_id="compare-pick-b")
        with gr.Row():
            self.slider = gr.ImageSlider(
                label="A ← → B", type="pil", format="png", elem_id="compare-slider", height=360
            )
            self.diff_map = gr.Image(
                label="Difference map", type="pil", format="png", elem_id="compare-diff", height=360, interactive=False
            )
        self.legend = gr.Markdown(FEWER_THAN_TWO, elem_id="compare-legend")
        self.table = gr.Dataframe(
            headers=TABLE_HEADERS, label="Cost per model", interactive=False, elem_id="compare-costs"
        )
        self.note = gr.Markdown(elem_id="compare-cost-note")
        pair = [self.state, self.pick_a, self.pick_b]
        for pick in (self.pick_a, self.pick_b):
            pick.input(pair_view, pair, [self.slider, self.diff_map, self.legend], api_visibility="private")

    def show(self, shots: list[CompareShot]) -> dict:
        """Every viewer output for a new compare: A and B are its first two results."""
        a, b = (0, 1) if len(shots) >= 2 else (None, None)
        slider, diff, legend = pair_view(shots, a, b)
        choices = _labels(shots)
        return {
            self.pick_a: gr.update(choices=choices, value=a),
            self.pick_b: gr.update(choices=choices, value=b),
            self.slider: slider,
            self.diff_map: diff,
            self.legend: legend,
            self.table: cost_rows(shots),
            self.note: cost_note(shots),
        }

    def follow(self, event: Any) -> None:
        """After a compare succeeds (`event`), show its shots."""
        outputs = [self.pick_a, self.pick_b, self.slider, self.diff_map, self.legend, self.table, self.note]
        event.success(self.show, self.state, outputs, api_visibility="private")
