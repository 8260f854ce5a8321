"""The Evaluate tab: image-set metrics, paired metrics, autoencoder round trips, CLIPScore and per-image scorers."""

from __future__ import annotations

from functools import partial

import gradio as gr
import pandas as pd

from ..metrics.scorers import SCORERS
from ..studio import Studio
from ..tasks.evaluate import SetsRequest, evaluate_sets
from ..tasks.evaluate_common import allowed_roots_text, leaderboard_runs
from ..tasks.evaluate_images import (
    MAX_AUTOENCODERS,
    AutoencodeRequest,
    ClipRequest,
    PairRequest,
    evaluate_autoencoders,
    evaluate_clip,
    evaluate_pair,
)
from ..tasks.evaluate_scorers import ScoreRequest, evaluate_scorers
from .common import gradio_progress, model_choices, notes_markdown, result_gallery, run_task, saved_note, whole
from .uploads import readable_uploads

SET_METRIC_CHOICES = [
    ("FID", "fid"),
    ("KID", "kid"),
    ("CMMD (its own CLIP ViT-L/14@336)", "cmmd"),
    ("Inception Score", "is"),
    ("Precision / recall / density / coverage", "prdc"),
    ("Intra-FID (per class)", "intra-fid"),
    ("Classifier accuracy", "accuracy"),
]
PAIR_METRIC_CHOICES = [("PSNR", "psnr"), ("SSIM", "ssim"), ("MS-SSIM", "ms-ssim"), ("MSE", "mse"), ("LPIPS", "lpips")]
EXTRACTOR_CHOICES = [
    ("FID Inception v3 (pool3, 2048-d)", "fid-inception"),
    ("timm Inception v3", "timm-inception"),
    ("DINOv2 ViT-L/14 (FD-DINOv2)", "dinov2"),
    ("CLIP image features", "clip"),
]
TABLE_HEADERS = ["metric", "value", "std", "subject", "n", "extractor", "convention"]
# wide enough that no header wraps ("std" once stood one letter per line); the long texts wrap in their columns
COLUMN_WIDTHS = ["120px", "120px", "120px", "20%", "50px", "16%", "26%"]
SET_TITLES = {"a": "Set A — reference (real)", "b": "Set B — generated"}


def _sig(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")  # 6 significant digits; the CSV keeps all of them


def table(result) -> list[list]:
    return [
        [r["metric"], _sig(r["value"]), _sig(r["std"]), r["subject"], r["n"], r["extractor"], r["convention"]]
        for r in result.rows
    ]


def plot_frame(result):
    """One bar per row; FID-like and score-like metrics share the axis, so the plot groups by subject colour."""
    return pd.DataFrame(
        {
            "label": [f"{r['metric']} · {r['subject'][:24]}" for r in result.rows],
            "value": [r["value"] for r in result.rows],
            "metric": [r["metric"] for r in result.rows],
        }
    )


def per_image_frame(result) -> pd.DataFrame:
    """The scorers' per-image table (image, prompt, a column per scorer, then the mean row), 6 significant digits."""
    table = result.info["table"]
    rows = [r[:2] + [_sig(v) for v in r[2:]] for r in table["rows"]]
    return pd.DataFrame(rows, columns=table["columns"])


def outputs(studio: Studio, result) -> tuple:
    """The table, plot, CSV download and notes (ending with where the CSV and JSON record were saved)."""
    saved = saved_note(studio, [result.csv_path, result.json_path])
    return table(result), plot_frame(result), str(result.csv_path), notes_markdown(result.notes) + "\n\n" + saved


def set_source(files, folder: str, run: str):
    """Uploads win, then a typed folder or .zip path, then a leaderboard run. Uploads stay a list, so the task reads
    them where Gradio put them (a zip alone is the set) while a typed path is held to the allowed roots."""
    if files:
        return [getattr(f, "name", f) for f in files]
    return (folder or "").strip() or run or None


def _result_widgets(prefix: str):
    frame = gr.Dataframe(
        headers=TABLE_HEADERS,
        label="Results",
        interactive=False,
        elem_id=f"{prefix}-table",
        wrap=True,
        column_widths=COLUMN_WIDTHS,
    )
    plot = gr.BarPlot(
        x="label", y="value", color="metric", label="Results", elem_id=f"{prefix}-plot", x_label_angle=-30, height=280
    )
    csv = gr.File(label="CSV", elem_id=f"{prefix}-csv")
    notes = gr.Markdown(elem_id=f"{prefix}-notes")
    return [frame, plot, csv, notes]


def _set_inputs(key: str, studio: Studio):
    """Set A's or set B's three sources: uploads, a folder, or a leaderboard run (the list read again each time it
    is opened, and by the refresh button, so runs made after the app started are there)."""
    with gr.Group():
        files = gr.File(
            label=f"{SET_TITLES[key]}: a .zip or image files",
            file_count="multiple",
            file_types=[".zip", "image"],
            elem_id=f"eval-{key}-files",
        )
        folder = gr.Textbox(label=f"…or a folder under {allowed_roots_text(studio)}")
        run = gr.Dropdown(
            leaderboard_runs(studio),
            value=None,
            label="…or a leaderboard run",
            allow_custom_value=False,
            elem_id=f"eval-{key}-run",
        )
    return files, folder, run


def runs_update(studio: Studio, *chosen: str | None) -> list[dict]:
    """Each run list offered again with the workspace's runs as they are now, keeping a choice that still exists."""
    runs = leaderboard_runs(studio)
    return [gr.update(choices=runs, value=c if c in runs else None) for c in chosen]


def build_evaluate_ui(studio: Studio) -> gr.Column:
    """The tab's components, added to the app being built (one of its tabs, or a Space's only page)."""
    autoencoders = studio.registry.for_tasks(["autoencode"])
    with gr.Column() as page:
        gr.Markdown(
            "Numbers say which feature network and resize produced them. "
            + ("**Offline: metric networks are tiny random-weight stand-ins.**" if studio.offline else "")
        )
        with gr.Tabs():
            with gr.Tab("Two image sets"):
                with gr.Row():
                    with gr.Column():
                        a = _set_inputs("a", studio)
                    with gr.Column():
                        b = _set_inputs("b", studio)
                refresh = gr.Button("↻ Refresh the run lists", size="sm", elem_id="eval-refresh-runs")
                with gr.Row():
                    set_metrics = gr.CheckboxGroup(
                        SET_METRIC_CHOICES,
                        value=["fid", "kid", "is", "prdc"],
                        label="Metrics",
                        elem_id="eval-set-metrics",
                    )
                    extractor = gr.Dropdown(EXTRACTOR_CHOICES, value="fid-inception", label="Feature network")
                    kid_size = gr.Number(1000, label="KID subset size", precision=0, minimum=2)
                set_button = gr.Button("Evaluate sets", variant="primary", elem_id="eval-sets-button")
                set_out = _result_widgets("eval-sets")
            with gr.Tab("Image vs reference"):
                with gr.Row():
                    pair_image = readable_uploads(
                        gr.Image(label="Image", type="filepath", height=220, elem_id="eval-pair-image")
                    )
                    pair_ref = readable_uploads(
                        gr.Image(label="Reference", type="filepath", height=220, elem_id="eval-pair-reference")
                    )
                pair_metrics = gr.CheckboxGroup(
                    PAIR_METRIC_CHOICES, value=[v for _, v in PAIR_METRIC_CHOICES], label="Metrics"
                )
                pair_button = gr.Button("Compare", variant="primary", elem_id="eval-pair-button")
                pair_out = _result_widgets("eval-pair")
            with gr.Tab("Autoencoder round trip"):
                with gr.Row():
                    ae_image = readable_uploads(
                        gr.Image(label="Image", type="filepath", height=220, elem_id="eval-ae-image")
                    )
                    ae_models = gr.CheckboxGroup(
                        model_choices(autoencoders),
                        value=[s.id for s in autoencoders[:3]],
                        label="Autoencoders",
                        elem_id="eval-ae-models",
                    )
                ae_button = gr.Button("Round trip", variant="primary", elem_id="eval-ae-button")
                ae_gallery = result_gallery(
                    "Input and reconstructions",
                    columns=1 + MAX_AUTOENCODERS,  # the input and every reconstruction in one row, none hidden
                    height=320,
                    elem_id="eval-ae-gallery",
                )
                ae_out = _result_widgets("eval-ae")
            with gr.Tab("CLIPScore"):
                with gr.Row():
                    clip_files = gr.File(
                        label="Images (or a .zip)",
                        file_count="multiple",
                        file_types=[".zip", "image"],
                        elem_id="eval-clip-files",
                    )
                    clip_prompts = gr.Textbox(
                        label="Prompts, one per line in file-name order (empty: read from genart PNGs)", lines=6
                    )
                clip_convention = gr.Radio(
                    [("clamp each image at 0 (paper)", "per_sample"), ("clamp the mean at 0 (torchmetrics)", "mean")],
                    value="per_sample",
                    label="Clamping",
                )
                clip_button = gr.Button("Score", variant="primary", elem_id="eval-clip-button")
                clip_out = _result_widgets("eval-clip")
            with gr.Tab("Human preference and alignment"):
                with gr.Row():
                    with gr.Column(), gr.Group():
                        score_files = gr.File(
                            label="Images (or a .zip)",
                            file_count="multiple",
                            file_types=[".zip", "image"],
                            elem_id="eval-score-files",
                        )
                        score_folder = gr.Textbox(label=f"…or a folder under {allowed_roots_text(studio)}")
                        score_run = gr.Dropdown(
                            leaderboard_runs(studio), value=None, label="…or a leaderboard run (generated images)"
                        )
                    score_prompts = gr.Textbox(
                        label="Prompts, one per line in file-name order (empty: read from genart PNGs)", lines=6
                    )
                score_names = gr.CheckboxGroup(
                    [(entry.label, name) for name, entry in SCORERS.items()],
                    value=["pickscore"],
                    label="Scorers (stand-ins when offline; one that cannot load is named in the notes)",
                    elem_id="eval-score-scorers",
                )
                score_button = gr.Button("Score", variant="primary", elem_id="eval-score-button")
                score_table = gr.Dataframe(
                    label="Per image (last row: the mean)", interactive=False, wrap=True, elem_id="eval-score-per-image"
                )
                score_out = _result_widgets("eval-score")

        def on_sets(
            a_files,
            a_folder,
            a_run,
            b_files,
            b_folder,
            b_run,
            metrics,
            extractor_name,
            kid_subset,
            progress=gr.Progress(),
        ):
            request = SetsRequest(
                reference=set_source(a_files, a_folder, a_run),
                generated=set_source(b_files, b_folder, b_run),
                metrics=tuple(metrics or ()),
                extractor=extractor_name,
                kid_subset_size=whole(kid_subset, 1000),
            )
            return outputs(studio, run_task(evaluate_sets, studio, request, progress=gradio_progress(progress)))

        set_button.click(on_sets, [*a, *b, set_metrics, extractor, kid_size], set_out, api_name="evaluate")
        run_lists = [a[2], b[2]]
        for trigger in (refresh.click, a[2].focus, b[2].focus):
            trigger(partial(runs_update, studio), run_lists, run_lists, api_visibility="private", queue=False)

        def on_pair(image, reference, metrics):
            if not image or not reference:
                raise gr.Error("Upload both an image and its reference.")
            return outputs(studio, run_task(evaluate_pair, studio, PairRequest(image, reference, tuple(metrics or ()))))

        pair_button.click(on_pair, [pair_image, pair_ref, pair_metrics], pair_out, api_name="evaluate_pair")

        def on_autoencode(image, models, progress=gr.Progress()):
            if not image:
                raise gr.Error("Upload an image to send through the autoencoders.")
            result = run_task(
                evaluate_autoencoders,
                studio,
                AutoencodeRequest(image, tuple(models or ())),
                progress=gradio_progress(progress),
            )
            return (result.images, *outputs(studio, result))

        ae_button.click(on_autoencode, [ae_image, ae_models], [ae_gallery, *ae_out], api_name="evaluate_autoencoder")

        def on_clip(files, prompts, convention, progress=gr.Progress()):
            source = set_source(files, "", "")
            if not source:
                raise gr.Error("Upload images (or a .zip) to score.")
            result = run_task(
                evaluate_clip,
                studio,
                ClipRequest(source, prompts or "", convention),
                progress=gradio_progress(progress),
            )
            return outputs(studio, result)

        clip_button.click(on_clip, [clip_files, clip_prompts, clip_convention], clip_out, api_name="evaluate_clip")

        def on_score(files, folder, run, prompts, names, progress=gr.Progress()):
            source = set_source(files, folder, run)
            if not source:
                raise gr.Error(
                    "Give images to score: upload them (or a .zip), type a folder or pick a leaderboard run."
                )
            request = ScoreRequest(source, prompts or "", tuple(names or ()))
            result = run_task(evaluate_scorers, studio, request, progress=gradio_progress(progress))
            return (per_image_frame(result), *outputs(studio, result))

        score_run.focus(partial(runs_update, studio), [score_run], [score_run], api_visibility="private", queue=False)
        score_button.click(
            on_score,
            [score_files, score_folder, score_run, score_prompts, score_names],
            [score_table, *score_out],
            api_name="evaluate_scorers",
        )
    return page
