"""Tests for leaderboard.arena.rating_stats and the ratings it feeds: agreement with FastChat's Bradley-Terry method,
models without a finite rating, sandwich intervals against the bootstrap, inverse-propensity weights and the
fragility of the top rank."""

import math

import numpy as np
import pandas as pd
import pytest
from arena_votes import simulated_votes, votes  # tests/leaderboard/arena/arena_votes.py
from scipy.optimize import minimize
from scipy.special import expit

from leaderboard.arena.rating_stats import finite_models
from leaderboard.arena.ratings import bootstrap_bt, bt_ratings, ratings_table, sandwich_intervals


def fastchat_style_bt(df: pd.DataFrame, base=10.0, scale=400.0, init=1000.0) -> dict[str, float]:
    """A reference written from the description of FastChat's compute_bt (fastchat/serve/monitor/rating_systems.py):
    distinct (a, b, outcome) rows weighted by their counts, outcome 1 / 0.5 / 0 for A / tie / B, the unpenalised
    logistic loss in log(base) units minimised by L-BFGS-B from zero (gtol 1e-6, 100 iterations), then
    init + scale * rating. Starting from zero with a gradient summing to zero, the mean stays 0 (no anchor model)."""
    models = list(dict.fromkeys(np.ravel(df[["model_a", "model_b"]].to_numpy(object))))
    index = {m: i for i, m in enumerate(models)}
    score = df["outcome"].map({"a": 1.0, "b": 0.0, "tie": 0.5, "bothbad": 0.5}).to_numpy()
    rows = np.stack([df["model_a"].map(index), df["model_b"].map(index), 2 * score], axis=1).astype(int)
    cells, weight = np.unique(rows, axis=0, return_counts=True)
    pair, outcome, alpha = cells[:, :2], cells[:, 2] / 2.0, math.log(base)

    def loss_and_grad(r):
        p = expit(alpha * (r[pair[:, 0]] - r[pair[:, 1]]))
        loss = -(weight * (outcome * np.log(p) + (1 - outcome) * np.log(1 - p))).sum()
        g = -alpha * weight * (outcome - p)
        grad = np.zeros_like(r)
        np.add.at(grad, pair[:, 0], g)
        np.add.at(grad, pair[:, 1], -g)
        return loss, grad

    fit = minimize(
        loss_and_grad, np.zeros(len(models)), jac=True, method="L-BFGS-B", options={"maxiter": 100, "gtol": 1e-6}
    )
    return dict(zip(models, (init + scale * fit.x).tolist()))


# ---------------------------------------------------------------- FastChat agreement and unbounded models


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bt_agrees_with_fastchats_method_within_0_004_points(seed):
    true = {"m1": 1180.0, "m2": 1090.0, "m3": 1000.0, "m4": 960.0, "m5": 850.0, "m6": 920.0}
    v = simulated_votes(true, 3000, seed, ties=0.15)
    ours, theirs = bt_ratings(v), fastchat_style_bt(v)
    assert ours.keys() == theirs.keys()
    assert max(abs(ours[m] - theirs[m]) for m in ours) < 0.004
    table = ratings_table(v, rounds=10).set_index("model")  # all strongly connected: the table shows the same fit
    assert max(abs(table.loc[m, "rating"] - theirs[m]) for m in ours) < 0.004


def test_a_model_with_only_wins_is_unbounded_and_leaves_the_others_alone():
    # Four models with mixed results, then X beats each of them 5 times and never loses: its MLE is +inf. Fitting it
    # anyway (FastChat's L-BFGS stops somewhere, our ridge at ~+2,000) drags the mean: every other rating moves by
    # hundreds of points. The table leaves X out of the fit: the others are exactly the fit without X, centred on
    # 1000, with the same bootstrap intervals; X is listed first with a note and no number.
    mixed = simulated_votes({"A": 1100.0, "B": 1030.0, "C": 970.0, "D": 900.0}, 400, seed=5)
    only_wins = votes(*[("X", m, "a", 5) for m in "ABCD"])
    shifted = bt_ratings(pd.concat([mixed, only_wins], ignore_index=True))
    alone = bt_ratings(mixed)
    assert min(alone[m] - shifted[m] for m in "ABCD") > 200  # today's displayed ratings: ~255 points down
    table = ratings_table(pd.concat([mixed, only_wins], ignore_index=True), rounds=30, seed=2)
    rows = table.set_index("model")
    assert table["model"].iloc[0] == "X" and rows.loc["X", ["rating", "ci_low", "ci_high", "rank"]].isna().all()
    assert "rating +inf" in rows.loc["X", "note"]
    assert rows.loc[list("ABCD"), "rating"].to_dict() == pytest.approx(alone, abs=1e-9)
    assert rows.loc[list("ABCD"), "rating"].mean() == pytest.approx(1000, abs=1e-9)
    boot = bootstrap_bt(mixed, 30, 2)
    assert rows.loc[list("ABCD"), "ci_high"].to_numpy() == pytest.approx(boot.quantile(0.975)[list("ABCD")].to_numpy())
    # and one with only losses goes last, -inf
    only_losses = votes(*[(m, "Z", "a", 3) for m in "ABCD"])
    last = ratings_table(pd.concat([mixed, only_losses], ignore_index=True), rounds=5)
    assert last["model"].iloc[-1] == "Z" and "rating -inf" in last["note"].iloc[-1]
    assert last.set_index("model").loc[list("ABCD"), "rating"].to_dict() == pytest.approx(alone, abs=1e-9)


def _wins(n, *games):
    wins = np.zeros((n, n))
    for i, j, k in games:
        wins[i, j] += k
    return wins


def test_finite_models_follow_the_strongly_connected_group():
    # 0 beat 1; 1 and 2 beat each other; 2 beat 3; 4 beat 3 only: 0 is above (+1), 3 below (-1), 4 beats a
    # model below the group but never meets it from above: reach from 4 goes only to 3, so NaN.
    sign = finite_models(_wins(5, (0, 1, 2), (1, 2, 3), (2, 1, 1), (2, 3, 2), (4, 3, 1)))
    assert sign[:4].tolist() == [1.0, 0.0, 0.0, -1.0] and np.isnan(sign[4])
    # a chain with no cycle: the first never lost, the last never won, the middle one has no sign
    chain = finite_models(_wins(3, (0, 1, 1), (1, 2, 1)))
    assert chain[0] == 1.0 and chain[2] == -1.0 and np.isnan(chain[1])
    # two groups that never met: the larger is the finite one, the other NaN
    split = finite_models(_wins(5, (0, 1, 1), (1, 0, 1), (2, 3, 1), (3, 4, 1), (4, 2, 1)))
    assert np.isnan(split[:2]).all() and (split[2:] == 0).all()
    # a tie is half a win each way: two models that only tied are linked both ways
    assert finite_models(_wins(2, (0, 1, 0.5), (1, 0, 0.5))).tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- sandwich intervals


@pytest.mark.parametrize("ties", [0.0, 0.2])
def test_sandwich_intervals_match_the_bootstrap_widths_within_10_percent(ties):
    # 6 models, 3000 votes: the 95% widths of 1000 bootstrap rounds and of the sandwich agree per model within 10%
    # (measured ratios 0.95-1.08 without ties, 0.96-1.02 with 20% ties; the percentiles of 1000 rounds are
    # themselves noisy by a few percent). Ties are where the sandwich's per-vote "meat" differs from the Fisher
    # information.
    true = {"m1": 1150.0, "m2": 1080.0, "m3": 1000.0, "m4": 990.0, "m5": 900.0, "m6": 880.0}
    v = simulated_votes(true, 3000, seed=7, ties=ties)
    closed = sandwich_intervals(v)
    boot = bootstrap_bt(v, rounds=1000, seed=1)
    boot_width = (boot.quantile(0.975) - boot.quantile(0.025))[closed.index]
    ratio = (closed["high"] - closed["low"]) / boot_width
    assert ((ratio > 0.9) & (ratio < 1.1)).all(), ratio.to_dict()
    assert closed["rating"].to_dict() == pytest.approx(bt_ratings(v))
    assert (closed["low"] < closed["rating"]).all() and (closed["rating"] < closed["high"]).all()
    assert (closed["high"] - closed["rating"]).to_numpy() == pytest.approx(
        (closed["rating"] - closed["low"]).to_numpy()
    )


def test_table_shows_the_sandwich_interval_beside_the_bootstrap():
    v = simulated_votes({"A": 1100.0, "B": 1000.0, "C": 900.0}, 900, seed=3)
    table = ratings_table(v, rounds=50).set_index("model")
    closed = sandwich_intervals(v)
    assert table["sandwich_low"].to_dict() == pytest.approx(closed["low"].to_dict())
    assert table["sandwich_high"].to_dict() == pytest.approx(closed["high"].to_dict())
    assert sandwich_intervals(v.iloc[0:0]).empty
