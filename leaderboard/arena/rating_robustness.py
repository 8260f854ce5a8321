"""Ratings that hold up, on a votes table: Bradley-Terry with inverse-propensity weights, with confounders
controlled for, and how many votes the top rank rests on (the maths is in rating_stats; the votes, cells and points
come from ratings)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genart_demo.errors import InputError

from .rating_stats import fit_controlled, fit_theta, ipw_counts, top_rank_fragility, win_counts
from .ratings import (
    ELO_BASE,
    ELO_INIT,
    ELO_SCALE,
    OUTCOME_SCORES,
    _cells,
    _finite_votes,
    _models,
    _to_points,
    votes_frame,
)


def ipw_bt_ratings(votes, scale=ELO_SCALE, base=ELO_BASE, init=ELO_INIT) -> dict[str, float]:
    """Bradley-Terry ratings (as ratings.bt_ratings) with each vote weighted by 1 / (its pair's share of the votes),
    normalised to the same total: every pair voted on counts the same, so a pair shown ten times as often as the
    others (a sampler's favourite, a session's design) does not pull the ratings towards its own result."""
    df = votes_frame(votes)
    models = _models(df)
    if not models:
        return {}
    a, b, score, counts = _cells(df, models)
    theta = fit_theta(win_counts(a, b, score, ipw_counts(a, b, counts), len(models))[None])[0]
    return dict(zip(models, _to_points(theta, scale, base, init).tolist()))


def controlled_bt(votes, covariates=("side",), scale=ELO_SCALE, base=ELO_BASE, init=ELO_INIT) -> dict:
    """Bradley-Terry with confounders as covariates (rating_stats.fit_controlled): "side" is 1 on every vote (A is
    the image shown first, so its coefficient is the pull of that position); any other name c needs columns c_a
    and c_b (e.g. brightness_a, brightness_b) and enters as c_a - c_b. Returns ratings (model -> points, mean init)
    and coefficients (name -> points: how much a unit of it is worth on the rating scale)."""
    df = votes_frame(votes)
    columns = []
    for name in covariates:
        if name == "side":
            columns.append(np.ones(len(df)))
            continue
        missing = [c for c in (f"{name}_a", f"{name}_b") if c not in df.columns]
        if missing:
            raise InputError(f"covariate {name!r} needs columns {name}_a and {name}_b; missing {', '.join(missing)}")
        columns.append(df[f"{name}_a"].to_numpy(float) - df[f"{name}_b"].to_numpy(float))
    models = _models(df)
    if not models:
        return {"ratings": {}, "coefficients": dict.fromkeys(covariates, float("nan"))}
    index = {m: i for i, m in enumerate(models)}
    a, b = df["model_a"].map(index).to_numpy(), df["model_b"].map(index).to_numpy()
    score = df["outcome"].map(OUTCOME_SCORES).to_numpy(float)
    theta, beta = fit_controlled(a, b, score, np.stack(columns, axis=1) if columns else np.zeros((len(df), 0)))
    points = dict(zip(models, _to_points(theta, scale, base, init).tolist()))
    return {"ratings": points, "coefficients": dict(zip(covariates, (beta * scale / np.log(base)).tolist()))}


def top_rank_votes(votes, limit: int | None = None) -> dict:
    """How many votes the top rank rests on: a greedy search (rating_stats.top_rank_fragility) removes, one at a
    time, the vote involving the top model or its closest challenger whose removal narrows the lead most, until
    another model rates above it. Among the models with a finite rating only. Returns top, new_top (None if the
    order did not flip within `limit` removals, default all votes), votes (how many; None likewise) and removed
    (those votes as model_a, model_b, outcome). An upper bound on the true minimum: exact for two models."""
    df, _, _ = _finite_votes(votes_frame(votes))
    models = _models(df)
    if len(models) < 2:
        return {"top": models[0] if models else None, "new_top": None, "votes": None, "removed": df.iloc[0:0]}
    a, b, score, counts = _cells(df, models)
    found = top_rank_fragility(a, b, score, counts, len(models), limit)
    outcome = {1.0: "a", 0.0: "b", 0.5: "tie"}
    removed = pd.DataFrame(
        [(models[a[c]], models[b[c]], outcome[score[c]]) for c in found.removed],
        columns=["model_a", "model_b", "outcome"],
    )
    top = models[found.top]
    new_top = None if found.new_top is None else models[found.new_top]
    return {"top": top, "new_top": new_top, "votes": found.votes, "removed": removed}


__all__ = ["controlled_bt", "ipw_bt_ratings", "top_rank_votes"]
