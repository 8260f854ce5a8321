"""Arena ratings from pairwise votes: online Elo, Bradley-Terry with bootstrap intervals, win rates and their plots."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from genart_demo.errors import InputError

from ..tables import write_csv_atomically
from .rating_stats import RIDGE, finite_models, fit_theta, sandwich_cov, win_counts

ELO_K, ELO_SCALE, ELO_BASE, ELO_INIT = 4, 400, 10, 1000  # Elo step, points per factor `base` in odds, start
MIN_VOTES = 5  # models with fewer votes are listed unrated (NaN rating and rank, with a note)
BOOTSTRAP_ROUNDS = 100  # Bradley-Terry refits on votes resampled with replacement
CONFIDENCE = 0.95  # the intervals are the 2.5 / 97.5 percentiles of the bootstrap
OUTCOME_SCORES = {"a": 1.0, "b": 0.0, "tie": 0.5, "bothbad": 0.5}  # model_a's share of the win; both-bad is a tie
VOTE_COLUMNS = ("model_a", "model_b", "outcome")
TABLE_COLUMNS = (
    "model",
    "rating",
    "ci_low",
    "ci_high",
    "sandwich_low",
    "sandwich_high",
    "elo",
    "votes",
    "wins",
    "losses",
    "ties",
    "rank",
    "note",
)
CSV_COLUMNS = ("model", "rating", "ci_low", "ci_high", "votes")  # what the leaderboard joins (tables.join_ratings)


# ---------------------------------------------------------------- votes


def votes_frame(votes) -> pd.DataFrame:
    """The votes as a DataFrame with at least model_a, model_b, outcome (str), in the given order. Takes a DataFrame,
    or an iterable of Vote records, mappings or objects with those attributes. Unknown outcomes raise InputError."""
    if isinstance(votes, pd.DataFrame):
        df = votes.copy()
    else:
        rows = [_vote_row(v) for v in (votes or ())]
        df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(VOTE_COLUMNS))
    missing = [c for c in VOTE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"votes need columns {', '.join(VOTE_COLUMNS)}; missing {', '.join(missing)}")
    df = df.reset_index(drop=True)
    for column in VOTE_COLUMNS:
        df[column] = df[column].astype(str)
    df["outcome"] = df["outcome"].str.strip().str.lower()
    unknown = sorted(set(df["outcome"]) - set(OUTCOME_SCORES))
    if unknown:
        raise InputError(
            f"unknown vote outcome {unknown[0]!r}; allowed: {', '.join(OUTCOME_SCORES)} "
            "(A better, B better, tie, both bad)"
        )
    same = df["model_a"] == df["model_b"]
    if same.any():
        raise InputError(
            f"a vote puts model {df.loc[same, 'model_a'].iloc[0]!r} against itself; a vote compares two "
            "different models"
        )
    return df


def _vote_row(vote) -> dict:
    if dataclasses.is_dataclass(vote) and not isinstance(vote, type):
        return dataclasses.asdict(vote)
    if isinstance(vote, Mapping):
        return dict(vote)
    try:
        return {c: getattr(vote, c) for c in VOTE_COLUMNS}
    except AttributeError:
        raise InputError(f"a vote needs {', '.join(VOTE_COLUMNS)}; got {type(vote).__name__}") from None


def _models(df: pd.DataFrame) -> list[str]:
    """Every model in the votes, in order of first appearance."""
    return list(dict.fromkeys(np.ravel(df[["model_a", "model_b"]].to_numpy(dtype=object))))


def _cells(df: pd.DataFrame, models: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The votes grouped into distinct cells: (index of model_a, index of model_b, score of model_a, count)."""
    index = {m: i for i, m in enumerate(models)}
    a = df["model_a"].map(index).to_numpy(np.int64)
    b = df["model_b"].map(index).to_numpy(np.int64)
    score = df["outcome"].map(OUTCOME_SCORES).to_numpy(np.float64)
    keys, counts = np.unique(np.stack([a, b, (2 * score).astype(np.int64)], axis=1), axis=0, return_counts=True)
    return keys[:, 0], keys[:, 1], keys[:, 2] / 2.0, counts.astype(np.float64)


# ---------------------------------------------------------------- Elo and Bradley-Terry


def elo_ratings(votes, k=ELO_K, scale=ELO_SCALE, base=ELO_BASE, init=ELO_INIT) -> dict[str, float]:
    """Online Elo, one update per vote in row order: r_a += k * (s_a - E_a), r_b -= the same, where s_a is 1, 0 or
    0.5 (tie / both bad) and E_a = 1 / (1 + base ** ((r_b - r_a) / scale)). Models in order of first appearance."""
    df = votes_frame(votes)
    ratings = dict.fromkeys(_models(df), float(init))
    for a, b, outcome in df[list(VOTE_COLUMNS)].itertuples(index=False):
        expected = 1.0 / (1.0 + base ** ((ratings[b] - ratings[a]) / scale))
        step = k * (OUTCOME_SCORES[outcome] - expected)
        ratings[a] += step
        ratings[b] -= step
    return ratings


def _to_points(theta: np.ndarray, scale, base, init) -> np.ndarray:
    return init + theta * scale / np.log(base)


def bt_ratings(votes, scale=ELO_SCALE, base=ELO_BASE, init=ELO_INIT) -> dict[str, float]:
    """Bradley-Terry maximum likelihood on the Elo scale, P(i beats j) = 1 / (1 + base ** ((r_j - r_i) / scale)),
    with ties and both-bad votes half a win each way, centred so the mean rating is init (tiny RIDGE prior)."""
    df = votes_frame(votes)
    models = _models(df)
    if not models:
        return {}
    a, b, score, counts = _cells(df, models)
    theta = fit_theta(win_counts(a, b, score, counts, len(models))[None])[0]
    return dict(zip(models, _to_points(theta, scale, base, init).tolist()))


def bootstrap_bt(
    votes, rounds=BOOTSTRAP_ROUNDS, seed=0, *, scale=ELO_SCALE, base=ELO_BASE, init=ELO_INIT
) -> pd.DataFrame:
    """Bradley-Terry ratings refitted on `rounds` resamples of the votes with replacement (drawn as multinomial counts
    of the distinct votes, which is the same thing); (rounds x models), deterministic in seed. A model that drew no
    game in a round is NaN there; the others are centred on init."""
    df = votes_frame(votes)
    if int(rounds) != rounds or rounds < 0:
        raise InputError(f"bootstrap rounds must be a whole number >= 0; got {rounds!r}")
    models = _models(df)
    if not models or rounds == 0:
        return pd.DataFrame(np.empty((0, len(models))), columns=pd.Index(models, name="model"))
    a, b, score, counts = _cells(df, models)
    draws = np.random.default_rng(seed).multinomial(int(counts.sum()), counts / counts.sum(), size=int(rounds))
    wins = win_counts(a, b, score, draws, len(models))
    theta = fit_theta(wins)
    played = (wins + np.swapaxes(wins, -1, -2)).sum(axis=2) > 0
    theta = np.where(played, theta, np.nan)
    theta -= np.nanmean(theta, axis=1, keepdims=True)
    return pd.DataFrame(_to_points(theta, scale, base, init), columns=pd.Index(models, name="model"))


def sandwich_intervals(votes, confidence=CONFIDENCE, *, scale=ELO_SCALE, base=ELO_BASE, init=ELO_INIT) -> pd.DataFrame:
    """Closed-form intervals beside the bootstrap: rating +- z sd, sd from the sandwich covariance of the fit
    (rating_stats.sandwich_cov); index model, columns rating, low, high. For models with finite ratings only."""
    df = votes_frame(votes)
    models = _models(df)
    if not models:
        return pd.DataFrame(columns=["rating", "low", "high"], index=pd.Index([], name="model"), dtype=float)
    a, b, score, counts = _cells(df, models)
    theta = fit_theta(win_counts(a, b, score, counts, len(models))[None])[0]
    sd = np.sqrt(np.clip(np.diag(sandwich_cov(theta, a, b, score, counts)), 0, None))
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    points = _to_points(np.stack([theta, theta - z * sd, theta + z * sd], axis=1), scale, base, init)
    return pd.DataFrame(points, columns=["rating", "low", "high"], index=pd.Index(models, name="model"))


# ---------------------------------------------------------------- tables


def _model_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Per model (index): votes, wins, losses, ties (both-bad counts as a tie)."""
    score = df["outcome"].map(OUTCOME_SCORES).to_numpy(float)
    sides = pd.DataFrame(
        {
            "model": np.concatenate([df["model_a"].to_numpy(object), df["model_b"].to_numpy(object)]),
            "s": np.concatenate([score, 1.0 - score]),
        }
    )
    sides["votes"], sides["wins"], sides["losses"] = 1, sides["s"] == 1.0, sides["s"] == 0.0
    sides["ties"] = sides["s"] == 0.5
    return sides.groupby("model", sort=False)[["votes", "wins", "losses", "ties"]].sum().astype(int)


def _rated_models(df: pd.DataFrame, min_votes: int) -> tuple[set[str], dict[str, str]]:
    """Models with at least min_votes votes against other such models (repeated until stable), and a note for each
    of the others."""
    totals = _model_counts(df)["votes"]
    rated = {m for m, n in totals.items() if n >= min_votes}
    while True:
        kept = df[df["model_a"].isin(rated) & df["model_b"].isin(rated)]
        counts = _model_counts(kept)["votes"]
        still = {m for m in rated if counts.get(m, 0) >= max(min_votes, 1)}
        if still == rated:
            break
        rated = still
    against = pd.concat([df.loc[df["model_b"].isin(rated), "model_a"], df.loc[df["model_a"].isin(rated), "model_b"]])
    against = against.value_counts()
    notes = {}
    for model, n in totals.items():
        if n < min_votes:
            notes[model] = f"fewer than {min_votes} votes ({n}); not rated yet"
        elif model not in rated:
            notes[model] = (
                f"only {int(against.get(model, 0))} of its {n} votes are against rated models (needs "
                f"{min_votes}); not rated yet"
            )
    return rated, notes


def _finite_votes(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float], dict[str, str]]:
    """The votes among the models with a finite maximum-likelihood rating (rating_stats.finite_models), and for each
    other model its bound (+inf, -inf, NaN) and a note. Fitting the others too would shift every rating by an
    arbitrary amount (their huge ridge-limited values enter the mean) and widen every interval."""
    models = _models(df)
    if not models:
        return df, {}, {}
    sign = finite_models(win_counts(*_cells(df, models), len(models)))
    finite = [m for m, s in zip(models, sign) if s == 0]
    bounds, notes = {}, {}
    for model, s in zip(models, sign):
        if s == 1:
            bounds[model], notes[model] = np.inf, "never lost to the rated models, even through others: rating +inf"
        elif s == -1:
            bounds[model], notes[model] = -np.inf, "never beat the rated models, even through others: rating -inf"
        elif np.isnan(s):
            notes[model] = "not linked both ways (a win and a loss) to the rated models: no finite rating"
    return df[df["model_a"].isin(finite) & df["model_b"].isin(finite)], bounds, notes


def ratings_table(votes, rounds=BOOTSTRAP_ROUNDS, seed=0, min_votes=MIN_VOTES) -> pd.DataFrame:
    """One row per model: Bradley-Terry rating with its 95% bootstrap and closed-form (sandwich) intervals, Elo, vote
    counts, and rank = 1 + the number of models whose ci_low is above this model's ci_high. Models short of min_votes
    votes (against other rated models) are left out of the fit and listed with NaN rating/interval/rank and a note;
    so are models without a finite rating (only wins or only losses against the rest): those that never lost first,
    those that never won after the rated ones; the ratings are centred on the finite ones. Best first."""
    df = votes_frame(votes)
    if int(min_votes) != min_votes or min_votes < 0:
        raise InputError(f"min_votes must be a whole number >= 0; got {min_votes!r}")
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("model", "note") else float) for c in TABLE_COLUMNS})
    counts = _model_counts(df)
    rated, notes = _rated_models(df, int(min_votes))
    fit, bounds, unbounded = _finite_votes(df[df["model_a"].isin(rated) & df["model_b"].isin(rated)])
    notes.update(unbounded)
    rating = pd.Series(bt_ratings(fit), dtype=float)
    boot = bootstrap_bt(fit, rounds, seed)
    tail = (1 - CONFIDENCE) / 2  # 2.5 and 97.5 percentiles, NaN rounds skipped
    low = boot.quantile(tail) if len(boot) else pd.Series(dtype=float)
    high = boot.quantile(1 - tail) if len(boot) else pd.Series(dtype=float)
    table = pd.DataFrame({"model": counts.index.astype(str)})
    table["rating"] = table["model"].map(rating)
    table["ci_low"] = table["model"].map(low).astype(float)
    table["ci_high"] = table["model"].map(high).astype(float)
    sandwich = sandwich_intervals(fit)
    table["sandwich_low"] = table["model"].map(sandwich["low"]).astype(float)
    table["sandwich_high"] = table["model"].map(sandwich["high"]).astype(float)
    table["elo"] = table["model"].map(elo_ratings(df))
    for column in ("votes", "wins", "losses", "ties"):
        table[column] = table["model"].map(counts[column]).astype(int)
    upper = table["ci_high"].fillna(table["rating"]).to_numpy()  # no interval (rounds=0): the rating itself
    lower = table["ci_low"].fillna(table["rating"]).to_numpy()
    above = (lower[None, :] > upper[:, None]).sum(axis=1)  # NaN compares False: unrated models count for nothing
    table["rank"] = np.where(table["rating"].notna(), 1.0 + above, np.nan)
    table["note"] = table["model"].map(notes).fillna("")
    order = table["rating"].fillna(table["model"].map(bounds)).rename("order")  # +inf first, -inf after the rated
    table = table.join(order).sort_values(
        ["order", "model"], ascending=[False, True], na_position="last", kind="stable"
    )
    return table[list(TABLE_COLUMNS)].reset_index(drop=True)


def win_rate_matrix(votes) -> pd.DataFrame:
    """(wins + ties / 2) / games of the row model against the column model; NaN where they never met and on the
    diagonal. Models ordered by their overall win rate, best first (ties by name)."""
    df = votes_frame(votes)
    models = _models(df)
    if not models:
        return pd.DataFrame(index=pd.Index([], name="model"), columns=pd.Index([], name="against"), dtype=float)
    wins = win_counts(*_cells(df, models), len(models))
    games = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games > 0, wins / games, np.nan)
        overall = wins.sum(axis=1) / games.sum(axis=1)
    order = sorted(range(len(models)), key=lambda i: (-overall[i], models[i]))
    names = [models[i] for i in order]
    return pd.DataFrame(
        rate[np.ix_(order, order)], index=pd.Index(names, name="model"), columns=pd.Index(names, name="against")
    )


# ---------------------------------------------------------------- figures and files


def _new_figure(width: float, height: float):
    """A matplotlib Figure on its own Agg canvas (no pyplot, no global figure state)."""
    # lazy: only the arena's plots need it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _empty_figure(text: str):
    fig = _new_figure(5, 2)
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_axis_off()
    return fig


def heatmap_figure(matrix: pd.DataFrame):
    """The win-rate matrix as a red-blue heatmap with each cell's rate written in it; blank where never played."""
    if matrix.empty:
        return _empty_figure("no votes yet")
    n = len(matrix)
    fig = _new_figure(2.5 + 0.7 * n, 1.5 + 0.6 * n)
    ax = fig.add_subplot()
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", vmin=0.0, vmax=1.0)
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if abs(value - 0.5) > 0.3 else "black",
            )
    ax.set_xticks(range(n), [str(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(n), [str(r) for r in matrix.index])
    ax.set_xlabel("against")
    ax.set_ylabel("model")
    ax.set_title("Win rate, row over column\n(ties count half)", fontsize=10)
    fig.colorbar(image, ax=ax, label="win rate")
    return fig


def interval_figure(table: pd.DataFrame):
    """Each rated model's Bradley-Terry rating with its 95% interval, best at the top."""
    rated = table[table["rating"].notna()] if "rating" in table.columns else table.iloc[0:0]
    if rated.empty:
        return _empty_figure("no rated models yet")
    rated = rated.sort_values("rating", kind="stable")  # best last: drawn at the top
    rating = rated["rating"].to_numpy(float)
    low = np.clip(rating - rated["ci_low"].fillna(rated["rating"]).to_numpy(float), 0, None)
    high = np.clip(rated["ci_high"].fillna(rated["rating"]).to_numpy(float) - rating, 0, None)
    fig = _new_figure(6, 1.2 + 0.45 * len(rated))
    ax = fig.add_subplot()
    y = np.arange(len(rated))
    ax.errorbar(rating, y, xerr=np.stack([low, high]), fmt="o", capsize=4)
    ax.set_yticks(y, rated["model"].astype(str).tolist())
    ax.axvline(ELO_INIT, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"Bradley-Terry rating ({round(100 * CONFIDENCE)}% bootstrap interval)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def write_ratings_csv(table: pd.DataFrame, path: Path) -> Path:
    """The ratings table as CSV at path (folders made), written atomically, so a reader sees the old file or the new
    one, never half; the leaderboard joins its model, rating, ci_low, ci_high
    and votes columns (leaderboard.tables.join_ratings)."""
    missing = [c for c in CSV_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"a ratings table needs columns {', '.join(CSV_COLUMNS)}; missing {', '.join(missing)}")
    return write_csv_atomically(table, Path(path))


__all__ = [
    "BOOTSTRAP_ROUNDS",
    "CONFIDENCE",
    "CSV_COLUMNS",
    "ELO_BASE",
    "ELO_INIT",
    "ELO_K",
    "ELO_SCALE",
    "MIN_VOTES",
    "OUTCOME_SCORES",
    "RIDGE",
    "TABLE_COLUMNS",
    "VOTE_COLUMNS",
    "bootstrap_bt",
    "bt_ratings",
    "elo_ratings",
    "heatmap_figure",
    "interval_figure",
    "ratings_table",
    "sandwich_intervals",
    "votes_frame",
    "win_rate_matrix",
    "write_ratings_csv",
]
