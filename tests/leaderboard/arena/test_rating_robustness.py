"""Tests for leaderboard.arena.rating_robustness: inverse-propensity weighted ratings against an over-sampled pair,
and the number of votes the top rank rests on, against hand counts and an exhaustive search."""

import itertools

import numpy as np
import pandas as pd
import pytest
from arena_votes import simulated_votes, votes  # tests/leaderboard/arena/arena_votes.py

from genart_demo.errors import InputError
from leaderboard.arena.rating_robustness import controlled_bt, ipw_bt_ratings, top_rank_votes
from leaderboard.arena.rating_stats import fit_theta, win_counts
from leaderboard.arena.ratings import _cells, _models, bt_ratings

# ---------------------------------------------------------------- inverse-propensity weights


def test_ipw_ratings_ignore_how_often_a_pair_was_shown():
    # B beat C 2 times in their only 10 votes (well below what the others imply); show that pair 10x as often
    # (duplicate its votes): the plain fit moves B and C by ~70 points, the weighted one does not move at all (each
    # pair weighs the same before and after, and its own win share is unchanged).
    sim = simulated_votes({"A": 1100.0, "B": 1050.0, "C": 950.0, "D": 900.0}, 600, seed=4)
    sim = sim[~(sim["model_a"].isin(["B", "C"]) & sim["model_b"].isin(["B", "C"]))]
    pair = votes(("B", "C", "a", 2), ("B", "C", "b", 8))
    v = pd.concat([sim, pair], ignore_index=True)
    heavy = pd.concat([v] + [pair] * 9, ignore_index=True)  # that pair's votes now 10x
    plain_move = {m: bt_ratings(heavy)[m] - bt_ratings(v)[m] for m in "ABCD"}
    ipw_move = {m: ipw_bt_ratings(heavy)[m] - ipw_bt_ratings(v)[m] for m in "ABCD"}
    assert max(abs(x) for x in plain_move.values()) > 20, plain_move
    assert max(abs(x) for x in ipw_move.values()) < 1e-6, ipw_move
    # with every pair shown equally often the weights are all 1: the same fit as plain Bradley-Terry
    even = votes(("A", "B", "a", 3), ("A", "B", "b", 1), ("B", "C", "a", 2), ("C", "B", "a", 2), ("A", "C", "b", 4))
    assert ipw_bt_ratings(even) == pytest.approx(bt_ratings(even))
    assert ipw_bt_ratings(even.iloc[0:0]) == {}


# ---------------------------------------------------------------- fragility of the top rank


def test_two_models_flip_when_the_leaders_extra_wins_are_gone():
    # A beats B 7:3. Removing 4 of A's wins leaves 3:3, a tie, not a flip; the 5th puts B ahead: 5 votes.
    found = top_rank_votes(votes(("A", "B", "a", 7), ("B", "A", "a", 3)))
    assert (found["top"], found["new_top"], found["votes"]) == ("A", "B", 5)
    assert len(found["removed"]) == 5 and (found["removed"]["model_a"] == "A").all()
    # 6:4 -> 3 removals; a limit below the answer reports no flip
    assert top_rank_votes(votes(("A", "B", "a", 6), ("A", "B", "b", 4)))["votes"] == 3
    short = top_rank_votes(votes(("A", "B", "a", 6), ("A", "B", "b", 4)), limit=2)
    assert short["new_top"] is None and short["votes"] is None and len(short["removed"]) == 2


def _fewest_by_exhaustion(v: pd.DataFrame) -> int:
    """Try every way of removing votes (as counts per distinct vote), fewest first: the true minimum."""
    models = _models(v)
    a, b, score, counts = _cells(v, models)
    grids = np.array(list(itertools.product(*[range(int(c) + 1) for c in counts])), float)  # votes removed
    fits = fit_theta(win_counts(a, b, score, counts - grids, len(models)))
    top = int(np.argmax(fit_theta(win_counts(a, b, score, counts, len(models))[None])[0]))
    others = np.delete(fits, top, axis=1).max(axis=1)
    flipped = others - fits[:, top] > 1e-9
    return int(grids[flipped].sum(axis=1).min())


def test_three_models_match_an_exhaustive_search():
    # A leads B 3:2 and beats C more often than B does; greedy and the exhaustive minimum agree (3 of its wins over B).
    v = votes(
        ("A", "B", "a", 3),
        ("A", "B", "b", 2),
        ("A", "C", "a", 4),
        ("A", "C", "b", 1),
        ("B", "C", "a", 3),
        ("B", "C", "b", 2),
    )
    found = top_rank_votes(v)
    assert found["top"] == "A" and found["new_top"] == "B"
    assert found["votes"] == _fewest_by_exhaustion(v)
    # removing exactly those votes puts B on top
    rest = v.copy()
    for row in found["removed"].itertuples(index=False):
        hit = rest.index[
            (rest["model_a"] == row.model_a) & (rest["model_b"] == row.model_b) & (rest["outcome"] == row.outcome)
        ]
        rest = rest.drop(hit[0])
    after = bt_ratings(rest)
    assert max(after, key=after.get) == "B"


def test_unbounded_models_are_left_out_and_tiny_tables_have_no_answer():
    # X never lost: it has no finite rating and is not "the top"; the count is among A and B.
    v = votes(("A", "B", "a", 7), ("B", "A", "a", 3), ("X", "A", "a", 4), ("X", "B", "a", 4))
    assert top_rank_votes(v)["top"] == "A" and top_rank_votes(v)["votes"] == 5
    assert top_rank_votes(votes(("A", "B", "a", 3)))["top"] is None


# ---------------------------------------------------------------- controlled Bradley-Terry


def test_controlled_fit_recovers_a_planted_side_bias_and_a_brightness_effect():
    # Raters favour the image shown first by 60 points and a brighter image by 40 points per unit of brightness
    # difference; the models' true ratings are centred on 1000. The controlled fit gets all of them back (standard
    # error ~3-5 points; measured side 59.1, brightness 36.0, ratings within 6 points); a plain fit cannot see the side
    # effect, which cancels only when sides are balanced.
    rng = np.random.default_rng(12)
    true = {"m1": 1120.0, "m2": 1040.0, "m3": 980.0, "m4": 860.0}
    names, r = np.array(list(true)), np.array(list(true.values()))
    n = 6000
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(1, 4, n)) % 4
    bright_a, bright_b = rng.normal(0, 1, n), rng.normal(0, 1, n)
    logit_points = r[a] - r[b] + 60.0 + 40.0 * (bright_a - bright_b)
    wins = rng.random(n) < 1.0 / (1.0 + 10 ** (-logit_points / 400))
    v = pd.DataFrame(
        {
            "model_a": names[a],
            "model_b": names[b],
            "outcome": np.where(wins, "a", "b"),
            "brightness_a": bright_a,
            "brightness_b": bright_b,
        }
    )
    fit = controlled_bt(v, covariates=("side", "brightness"))
    assert fit["coefficients"]["side"] == pytest.approx(60.0, abs=20)
    assert fit["coefficients"]["brightness"] == pytest.approx(40.0, abs=15)
    assert max(abs(fit["ratings"][m] - true[m]) for m in true) < 30
    assert sum(fit["ratings"].values()) == pytest.approx(4000.0)
    # no bias planted: the side coefficient is near 0
    fair = v.assign(outcome=np.where(rng.random(n) < 1.0 / (1.0 + 10 ** (-(r[a] - r[b]) / 400)), "a", "b"))
    assert abs(controlled_bt(fair)["coefficients"]["side"]) < 20
    with pytest.raises(InputError, match="contrast_a"):
        controlled_bt(v, covariates=("contrast",))
