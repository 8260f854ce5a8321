"""Leaderboard tables of a run folder: reading manifests and RUN/scores/, filters, exports, ratings, text and gallery."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from genart_demo.atomic import atomic_write
from genart_demo.errors import InputError
from genart_demo.metrics.scorers import SCORERS
from genart_demo.safety import FLAGGED_TEXT, flag_caption

from .aggregate import aggregate_table, ci_columns, extra_metrics
from .manifest import PROMPTS_FILE, read_prompts, read_rows, read_run_json, row_key, row_problem
from .table_text import DISPLAY_DECIMALS, DISPLAY_DECIMALS_OTHER, metric_cells, number_text, skill_text, table_text

SCORES_DIR = "scores"  # RUN/scores/ holds every table score_run writes
STRING_COLUMNS = ("model", "against", "prompt_id", "prompt", "category", "challenge", "path", "sha256", "clip_id")
TABLES = ("overall", "by_category", "by_challenge", "per_prompt", "per_image", "fid", "fid_matrix")
OPTIONAL_TABLES = ("fid", "fid_matrix")  # written only when FID was computed
EXPORT_FORMATS = ("csv", "parquet")
SKILL_SETS = ("geneval", "t2i-compbench", "t2i-compbench-2023", "genai-bench")  # prompt sets whose category is a skill
# metric name -> (its columns, higher is better); filter_table keeps one metric's columns and sorts best first
METRICS = {
    "clip_score": (("clip_score", "clip_ci_low", "clip_ci_high"), True),
    "clip_max": (("clip_max",), True),
    **{m: ((m, *ci_columns(m)), entry.higher_is_better) for m, entry in SCORERS.items()},
    "fid": (("fid",), False),
    "kid": (("kid", "kid_std"), False),
    "cmmd": (("cmmd",), False),
    "seconds_per_image": (("seconds_per_image",), False),
    "rating": (("rating", "rating_ci_low", "rating_ci_high", "votes"), True),
}
KEY_COLUMNS = (
    "model",
    "against",
    "category",
    "challenge",
    "prompt_id",
    "seed",
    "n_prompts",
    "n_images",
    "n_seeds",
    "n",
    "n_against",
    "standin",
    "n_flagged",
)  # what filter_table keeps beside the chosen metric
RATING_COLUMNS = {"rating": "rating", "ci_low": "rating_ci_low", "ci_high": "rating_ci_high", "votes": "votes"}


# ---------------------------------------------------------------- run folders and CSV files


def write_csv_atomically(df: pd.DataFrame, path: Path) -> Path:
    """df as CSV (no index; floats in full, so they read back exactly) at path, via temp file + os.replace."""
    return atomic_write(path, df.to_csv(index=False, lineterminator="\n"))


def read_csv_table(path: Path) -> pd.DataFrame:
    """A table written by write_csv_atomically, read back with text columns as str ("" stays "", "None" stays
    "None") and floats bit-exact."""
    header = pd.read_csv(path, nrows=0).columns
    text = {c: str for c in header if c in STRING_COLUMNS or c.endswith("_id")}  # prompt_id, clip_id, pickscore_id
    na = {c: [""] for c in header if c not in text}  # empty numeric cells are NaN
    return pd.read_csv(path, dtype=text, keep_default_na=False, na_values=na, float_precision="round_trip")


def run_rows(run_dir: str | os.PathLike) -> list[dict]:
    """Every manifest row of a run (merged manifest, then each shard; leaderboard.manifest.read_rows), unverified."""
    rows = read_rows(Path(run_dir))
    if not rows:
        raise InputError(
            f"{run_dir} has no manifest rows (no manifest.jsonl nor manifest/shard-*.jsonl); give a "
            "folder written by `genart leaderboard run`."
        )
    return rows


def run_prompts(run_dir: str | os.PathLike) -> dict[str, dict]:
    """RUN/prompts.jsonl as {prompt id: row}, or {} when the run has none."""
    path = Path(run_dir) / PROMPTS_FILE
    return {str(r["id"]): r for r in read_prompts(Path(run_dir))} if path.is_file() else {}


def verified_rows(run_dir: str | os.PathLike, rows: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(good, skipped): per (model, prompt_id, seed) the last row whose file lies inside RUN and matches its sha256
    (as leaderboard.manifest.read_manifest keeps), sorted; for images with no such row, the last row's model,
    prompt_id, seed, path and "reason" ("file missing", "sha256 differs", "path outside the run folder")."""
    run = Path(run_dir).resolve()
    good: dict[tuple, dict] = {}
    skipped: dict[tuple, dict] = {}
    hashes: dict[str, str] = {}
    for row in reversed(rows):  # newest first
        key = row_key(row)
        if key in good:
            continue
        rel = str(row.get("path") or "")
        outside = bool(rel) and run not in (run / rel).resolve().parents
        reason = "path outside the run folder" if outside else row_problem(run, row, hashes)
        if reason:
            skipped.setdefault(
                key, {"model": key[0], "prompt_id": key[1], "seed": key[2], "path": row.get("path"), "reason": reason}
            )
        else:
            good[key] = dict(row)
            skipped.pop(key, None)
    return [good[k] for k in sorted(good)], [skipped[k] for k in sorted(skipped)]


# ---------------------------------------------------------------- tables


def load_tables(run_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The CSVs score_run wrote, by name (overall, by_category, by_challenge, per_prompt, per_image, and fid /
    fid_matrix when FID was computed)."""
    scores = Path(run_dir) / SCORES_DIR
    if not (scores / "overall.csv").is_file():
        raise InputError(
            f"{run_dir} has not been scored yet (no {SCORES_DIR}/overall.csv); run "
            "`genart leaderboard score RUN` first."
        )
    return {name: read_csv_table(scores / f"{name}.csv") for name in TABLES if (scores / f"{name}.csv").is_file()}


def _as_list(values: str | Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    values = [values] if isinstance(values, str) else [str(v) for v in values]
    return values or None  # an empty selection means "no filter"


def filter_table(
    df: pd.DataFrame,
    categories: str | Iterable[str] | None = None,
    challenges: str | Iterable[str] | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """Rows of the given categories / challenges (None or empty: all); with `metric`, only the key columns and that
    metric's columns, sorted best first (ties by model)."""
    out = df
    for column, wanted in (("category", _as_list(categories)), ("challenge", _as_list(challenges))):
        if wanted is None:
            continue
        if column not in out.columns:
            raise InputError(f"this table has no {column} column to filter on; use the by_{column} or per_prompt table")
        out = out[out[column].isin(wanted)]
    if metric is not None:
        present = [m for m, (cols, _) in METRICS.items() if cols[0] in df.columns]
        if metric not in METRICS or metric not in present:
            raise InputError(f"metric {metric!r} is not in this table; allowed here: {', '.join(present)}")
        columns, higher = METRICS[metric]
        keep = [c for c in df.columns if c in KEY_COLUMNS] + [c for c in columns if c in df.columns]
        order = [columns[0]] + (["model"] if "model" in df.columns else [])
        out = out[keep].sort_values(
            order, ascending=[not higher] + [True] * (len(order) - 1), na_position="last", kind="stable"
        )
    return out.reset_index(drop=True)


def summary_table(
    tables: dict[str, pd.DataFrame],
    categories: str | Iterable[str] | None = None,
    challenges: str | Iterable[str] | None = None,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The overall table recomputed over the prompts of the given categories / challenges (CIs by the same
    bootstrap); with no filter, tables["overall"] itself. FID/KID cover all of a model's images, so they are
    dropped from a filtered summary."""
    if _as_list(categories) is None and _as_list(challenges) is None:
        return tables["overall"]
    chosen = filter_table(tables["per_prompt"], categories, challenges)
    out = aggregate_table(chosen, bootstrap=bootstrap, seed=seed)
    if "standin" in tables["overall"].columns:
        out["standin"] = out["model"].map(tables["overall"].set_index("model")["standin"]).astype(bool)
    return out


def export_tables(run_dir: str | os.PathLike, fmt: str = "csv", out: str | os.PathLike | None = None) -> list[Path]:
    """Every table of load_tables as <out>/<name>.<fmt> (default out: RUN/export); the files written."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; allowed: {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        try:
            import pyarrow  # lazy: optional: only Parquet export needs it  # noqa: F401
        except ImportError as err:
            raise InputError("Parquet export needs pyarrow: pip install pyarrow (or export --format csv)") from err
    tables = load_tables(run_dir)
    folder = Path(out) if out is not None else Path(run_dir) / "export"
    paths = []
    for name, df in tables.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            write_csv_atomically(df, path)
        else:
            atomic_write(path, lambda tmp, df=df: df.to_parquet(tmp, index=False, engine="pyarrow"))
        paths.append(path)
    return paths


def join_ratings(df: pd.DataFrame, ratings: pd.DataFrame | None) -> pd.DataFrame:
    """df with the arena's per-model ratings (columns model, rating[, ci_low, ci_high, votes]) joined on model as
    rating[, rating_ci_low, rating_ci_high, votes]; models without a rating get NaN. ratings None: df unchanged."""
    if ratings is None:
        return df
    if "model" not in df.columns:
        raise InputError("ratings join on a model column; this table has none")
    missing = [c for c in ("model", "rating") if c not in ratings.columns]
    if missing:
        raise InputError(
            f"ratings need columns model and rating (optionally ci_low, ci_high, votes); missing {', '.join(missing)}"
        )
    if ratings["model"].duplicated().any():
        dup = ratings.loc[ratings["model"].duplicated(), "model"].iloc[0]
        raise InputError(f"ratings have more than one row for model {dup!r}")
    right = ratings[[c for c in RATING_COLUMNS if c in ratings.columns] + ["model"]].rename(columns=RATING_COLUMNS)
    right = right.astype({"model": str})
    left = df.drop(columns=[c for c in right.columns if c != "model" and c in df.columns])
    return left.merge(right, on="model", how="left", validate="many_to_one")


def display_table(df: pd.DataFrame) -> pd.DataFrame:
    """df with its float columns rounded for reading (DISPLAY_DECIMALS); sort and filter before, on every digit."""
    floats = df.select_dtypes("floating").columns
    return df.round({c: DISPLAY_DECIMALS.get(c, DISPLAY_DECIMALS_OTHER) for c in floats})


def show_text(run_dir: str | os.PathLike) -> str:
    """The overall table as compact plain text (for `genart leaderboard show RUN`), best CLIPScore first, with a
    column and CI per scored metric; for a skill-tagged prompt set (SKILL_SETS), the per-skill table too."""
    tables = load_tables(run_dir)
    overall = tables["overall"].sort_values(["clip_score", "model"], ascending=[False, True], kind="stable")
    metrics = extra_metrics(overall)
    info_path = Path(run_dir) / SCORES_DIR / "scores.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    clip, boot = info.get("clip", {}), info.get("bootstrap", {})
    prompt_set = info.get("run", {}).get("prompt_set")
    standin_note = "  [STAND-IN weights: numbers test the plumbing only]"
    header = [
        f"leaderboard {Path(run_dir).name}" + (f" (prompt set {prompt_set})" if prompt_set else ""),
        f"CLIPScore: {info.get('clip_convention_text', 'per_sample')}; CLIP {clip.get('id', '?')}"
        + (standin_note if clip.get("standin") else ""),
    ]
    for m in metrics:
        scorer = info.get("scorers", {}).get(m, {})
        header.append(
            f"{SCORERS[m].label}: {scorer.get('scale', '?')}; {scorer.get('id', '?')}"
            + (standin_note if scorer.get("standin") else "")
        )
    header.append(
        f"CI: {round(100 * boot.get('confidence', 0.95))}% percentile bootstrap over prompts, "
        + f"{boot.get('resamples', '?')} resamples"
    )
    names = ["model", "CLIPScore", "95% CI", "max/seeds"]
    names += [n for m in metrics for n in (SCORERS[m].label, "95% CI")]
    names += ["prompts", "images", "s/img"]
    set_columns = [c for c in ("fid", "kid", "cmmd") if c in overall.columns]
    names += [c.upper() for c in set_columns]
    has_flagged = "n_flagged" in overall.columns and bool(overall["n_flagged"].any())
    names += ["flagged"] if has_flagged else []
    rows = []
    for r in overall.to_dict("records"):
        cells = [
            r["model"] + (" *" if r.get("standin") else ""),
            number_text(r["clip_score"], "clip_score"),
            f"[{number_text(r['clip_ci_low'], 'clip_ci_low')}, {number_text(r['clip_ci_high'], 'clip_ci_high')}]",
            number_text(r["clip_max"], "clip_max"),
            *metric_cells(r, metrics),
            str(r["n_prompts"]),
            str(r["n_images"]),
            number_text(r["seconds_per_image"], "seconds_per_image"),
        ]
        cells += [number_text(r.get(c), c) for c in set_columns]
        cells += [str(int(r["n_flagged"]))] if has_flagged else []
        rows.append(cells)
    body = table_text(names, rows)
    if prompt_set in SKILL_SETS and "by_category" in tables:
        body += ["", "by skill"] + skill_text(tables["by_category"], metrics)
    footer = ["* stand-in model"] if any(r.get("standin") for r in overall.to_dict("records")) else []
    footer += [f"flagged: images left out of every score, {FLAGGED_TEXT}"] if has_flagged else []
    return "\n".join(header + [""] + body + footer) + "\n"


def skill_table(tables: dict[str, pd.DataFrame], metric: str = "clip_score") -> pd.DataFrame:
    """One row per model, one column per skill (category): `metric`'s mean over the skill's prompts, plus the
    model's overall value; readable at a glance for GenEval's 6 tags or T2I-CompBench's 8 skills."""
    if metric not in METRICS or metric not in tables["by_category"].columns:
        present = [m for m in METRICS if m in tables["by_category"].columns]
        raise InputError(f"metric {metric!r} is not in the per-skill table; allowed here: {', '.join(present)}")
    wide = tables["by_category"].pivot(index="model", columns="category", values=metric)
    wide.columns = [str(c) for c in wide.columns]
    wide.insert(0, "overall", tables["overall"].set_index("model")[metric].reindex(wide.index))
    return wide.reset_index()


def _model_order(run_dir: Path, rows: Sequence[dict]) -> list[str]:
    listed = [str(m["id"]) for m in (read_run_json(run_dir) or {}).get("models", []) if "id" in m]
    return listed + sorted({str(r["model"]) for r in rows} - set(listed))


def gallery_rows(run_dir: str | os.PathLike, prompt_id: str, seed: int | None = None) -> list[tuple[str, str]]:
    """(image path, caption) for one prompt across all models, ordered by seed then model (run.json's order), so a
    gallery with one column per model shows each seed as a row; captions are "model · seed N · CLIP 31.42" once
    scored. Images whose file is missing or differs from the manifest are left out."""
    run = Path(run_dir)
    rows, _ = verified_rows(run, [r for r in run_rows(run) if str(r["prompt_id"]) == str(prompt_id)])
    if not rows:
        raise InputError(f"prompt {prompt_id!r} has no images in {run}")
    if seed is not None:
        rows = [r for r in rows if int(r["seed"]) == int(seed)]
        if not rows:
            raise InputError(f"prompt {prompt_id!r} has no images with seed {seed} in {run}")
    scores: dict[tuple, float] = {}
    per_image = run / SCORES_DIR / "per_image.csv"
    if per_image.is_file():
        scores = {
            (r["model"], r["prompt_id"], int(r["seed"]), r["sha256"]): r["clip_score"]
            for r in read_csv_table(per_image).to_dict("records")
        }
    order = {m: i for i, m in enumerate(_model_order(run, rows))}
    out = []
    for r in sorted(rows, key=lambda r: (int(r["seed"]), order[str(r["model"])])):
        path = run / r["path"]
        caption = f"{r['model']} · seed {r['seed']}" + flag_caption(r.get("nsfw_flagged"))
        score = scores.get((str(r["model"]), str(r["prompt_id"]), int(r["seed"]), r["sha256"]))
        out.append((str(path), caption + (f" · CLIP {score:.2f}" if score is not None else "")))
    return out


__all__ = [
    "EXPORT_FORMATS",
    "DISPLAY_DECIMALS",
    "METRICS",
    "SCORES_DIR",
    "TABLES",
    "display_table",
    "export_tables",
    "filter_table",
    "gallery_rows",
    "join_ratings",
    "load_tables",
    "read_csv_table",
    "run_prompts",
    "run_rows",
    "show_text",
    "skill_table",
    "summary_table",
    "verified_rows",
    "write_csv_atomically",
]
