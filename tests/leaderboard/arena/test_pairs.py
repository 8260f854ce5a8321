"""Arena pairs: balanced session items, rater orders, session codes and rater agreement."""

import math
import random
from collections import Counter
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from genart_demo.errors import InputError
from leaderboard.arena.pairs import (
    CODE_ALPHABET,
    agreement,
    fleiss_kappa,
    normalise_code,
    rater_order,
    session_code,
    session_items,
    vote_choice,
)

MODELS = ["sd15", "sd-turbo", "ldm-text2im", "flux-schnell"]


# ---------------------------------------------------------------------------------------------- session items


@pytest.mark.parametrize("n_models,n_prompts,n_items", [(2, 1, 1), (3, 3, 6), (4, 5, 7), (4, 3, 20), (5, 40, 13)])
def test_session_items_are_balanced(n_models, n_prompts, n_items):
    models = MODELS[:n_models] if n_models <= 4 else MODELS + ["kandinsky"]
    prompts = [f"prompt {i}" for i in range(n_prompts)]
    items = session_items(models, prompts, n_items, seed=5)
    assert len(items) == n_items
    assert all(a != b and {a, b} <= set(models) and 0 <= p < n_prompts for a, b, p in items)
    n_pairs = n_models * (n_models - 1) // 2
    per_pair = Counter(frozenset((a, b)) for a, b, _ in items)
    counts = [per_pair[frozenset(p)] for p in combinations(models, 2)]
    assert set(counts) <= {n_items // n_pairs, -(-n_items // n_pairs)}  # floor or ceil of n_items / n_pairs
    assert max(counts) - min(counts) <= 1
    per_prompt = [Counter(p for _, _, p in items)[i] for i in range(n_prompts)]
    assert max(per_prompt) - min(per_prompt) <= 1 and sum(per_prompt) == n_items
    shows = Counter(m for a, b, _ in items for m in (a, b))
    assert max(shows[m] for m in models) - min(shows[m] for m in models) <= 2  # models shown about evenly


def test_session_items_alternate_sides_and_avoid_repeated_prompts():
    items = session_items(["sd15", "sd-turbo"], ["p", "q", "r", "s"], 8, seed=3)
    assert Counter(a for a, _, _ in items) == {"sd15": 4, "sd-turbo": 4}  # each side half the time
    assert Counter(p for _, _, p in items) == {0: 2, 1: 2, 2: 2, 3: 2}
    items = session_items(["a", "b", "c"], ["p", "q", "r"], 9, seed=3)  # each pair three times, three prompts
    for pair in combinations("abc", 2):
        assert sorted(p for a, b, p in items if {a, b} == set(pair)) == [0, 1, 2]


def test_session_items_are_deterministic_in_the_seed():
    args = (MODELS, ["p", "q", "r"], 12)
    assert session_items(*args, seed=9) == session_items(*args, seed=9)
    assert session_items(*args, seed=9) != session_items(*args, seed=10)


def test_bad_sessions_are_refused():
    with pytest.raises(InputError, match="at least two different models"):
        session_items(["sd15"], ["p"], 3, seed=0)
    with pytest.raises(InputError, match="at least one prompt"):
        session_items(MODELS, [], 3, seed=0)
    for bad in (0, -2, 2.5, "3", True):
        with pytest.raises(InputError, match="whole number of at least 1"):
            session_items(MODELS, ["p"], bad, seed=0)


def test_rater_order_is_a_flipped_permutation():
    items = session_items(MODELS, ["p", "q"], 40, seed=2)
    ada = rater_order(items, "session:ada", seed=2)
    assert sorted(i for i, _, _ in ada) == list(range(40))
    assert [i for i, _, _ in ada] != list(range(40))
    flipped = [(left, right) == (items[i][1], items[i][0]) for i, left, right in ada]
    assert all(flip or (left, right) == items[i][:2] for flip, (i, left, right) in zip(flipped, ada))
    assert sum(flipped) == 20  # exactly half of an even count
    assert rater_order(items, "session:ada", seed=2) == ada
    bob = rater_order(items, "session:bob", seed=2)
    assert bob != ada and sorted(bob) != sorted(ada)  # another order and other sides
    odd = rater_order(items[:7], "session:cy", seed=2)
    assert sum((left, right) != items[i][:2] for i, left, right in odd) in (3, 4)
    # over many raters each item is flipped about half the time
    flips = Counter(i for r in range(400) for i, left, _ in rater_order(items, f"r{r}", 1) if left != items[i][0])
    assert all(abs(flips[i] / 400 - 0.5) < 0.1 for i in range(40))


# ---------------------------------------------------------------------------------------------- session codes


def test_session_codes():
    rng = random.Random(0)
    codes = [session_code(rng) for _ in range(2000)]
    assert all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert len(set(codes)) == 2000
    assert not set("0O1IL") & set("".join(codes)) and len(CODE_ALPHABET) == 31
    assert session_code(random.Random(5)) == session_code(random.Random(5))
    assert normalise_code("  k7q2mx4p\n") == "K7Q2MX4P"
    for bad in ("", None, "K7Q2MX4", "K7Q2MX4PP", "K7Q2MX40", "K7Q2MXLP", "K7Q2 X4P", "k7q2mx4o"):
        with pytest.raises(InputError, match="8 letters and digits such as K7Q2MX4P"):
            normalise_code(bad)


# ---------------------------------------------------------------------------------------------- agreement


def test_fleiss_kappa_matches_the_textbook_example():
    # Fleiss' kappa worked example (Wikipedia, "Fleiss' kappa"): 10 subjects, 14 raters each, 5 categories.
    # Column totals 20, 28, 39, 21, 32 of 140 -> p_j = .143, .200, .279, .150, .229, P_e = 0.2128;
    # P_i = 1.000, .253, .308, .440, .330, .462, .242, .176, .286, .286 -> P_bar = 0.3780; kappa = 0.2099.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(table) == pytest.approx(0.2099, abs=5e-5)
    assert fleiss_kappa([[3, 0], [0, 3]]) == pytest.approx(1.0)  # full agreement, both categories used
    assert fleiss_kappa([[1, 1], [1, 1]]) == pytest.approx(-1.0)  # P_bar 0, P_e 1/2
    assert math.isnan(fleiss_kappa([])) and math.isnan(fleiss_kappa([[2, 0], [3, 0]]))  # P_e = 1: 0 / 0
    with pytest.raises(InputError, match="at least two ratings"):
        fleiss_kappa([[1, 0], [2, 0]])


def _votes():
    # item 0 shows (x, y), item 1 (x, z), item 2 (y, z); raters saw their own sides
    return [
        {"rater": "r1", "item": 0, "model_a": "x", "model_b": "y", "outcome": "a"},  # x
        {"rater": "r2", "item": 0, "model_a": "y", "model_b": "x", "outcome": "b"},  # x (sides flipped)
        {"rater": "r3", "item": 0, "model_a": "x", "model_b": "y", "outcome": "b"},  # y
        {"rater": "r1", "item": 1, "model_a": "x", "model_b": "z", "outcome": "a"},  # x
        {"rater": "r2", "item": 1, "model_a": "z", "model_b": "x", "outcome": "a"},  # z
        {"rater": "r1", "item": 2, "model_a": "y", "model_b": "z", "outcome": "tie"},  # tie
        {"rater": "r2", "item": 2, "model_a": "z", "model_b": "y", "outcome": "tie"},  # tie
        {"rater": "r3", "item": 2, "model_a": "z", "model_b": "y", "outcome": "bothbad"},  # bothbad, replaced below
        {"rater": "r3", "item": 2, "model_a": "z", "model_b": "y", "outcome": "tie"},  # tie (the later vote counts)
    ]


def test_agreement_by_hand():
    table, kappa = agreement(_votes())
    # r1-r2 share items 0, 1, 2: x=x, x!=z, tie=tie -> 2/3. r1-r3 and r2-r3 share items 0, 2: x!=y, tie=tie -> 1/2
    assert list(table.index) == list(table.columns) == ["r1", "r2", "r3"]
    np.testing.assert_allclose(table.to_numpy(), [[1, 2 / 3, 1 / 2], [2 / 3, 1, 1 / 2], [1 / 2, 1 / 2, 1]])
    # Fleiss over the 3 items (all have >= 2 raters); categories are the choices an item offers: the first or the
    # second model of its sorted pair wins, tie, bothbad:
    #   item 0 (x, y): x x y -> first 2, second 1 -> P = (2^2 + 1^2 - 3) / (3 * 2) = 1/3
    #   item 1 (x, z): x z   -> first 1, second 1 -> P = (1 + 1 - 2) / (2 * 1) = 0
    #   item 2: tie x3       -> P = (9 - 3) / 6 = 1                     P_bar = (1/3 + 0 + 1) / 3 = 4/9
    #   8 ratings: first 3, second 2, tie 3 -> P_e = (9 + 4 + 9) / 64 = 11/32
    #   kappa = (4/9 - 11/32) / (1 - 11/32) = (29/288) / (21/32) = 29/189
    assert kappa == pytest.approx(29 / 189)
    frame_table, frame_kappa = agreement(pd.DataFrame(_votes()).assign(prompt="p", chosen="ignored"))
    pd.testing.assert_frame_equal(frame_table, table)
    assert frame_kappa == pytest.approx(29 / 189)


def test_flipped_sides_still_agree_and_unshared_items_are_nan():
    votes = [
        {"rater": "ada", "item": 0, "model_a": "sd15", "model_b": "sd-turbo", "outcome": "a"},
        {"rater": "bob", "item": 0, "model_a": "sd-turbo", "model_b": "sd15", "outcome": "b"},
        {"rater": "ada", "item": 1, "model_a": "sd15", "model_b": "sd-turbo", "outcome": "b"},
        {"rater": "bob", "item": 1, "model_a": "sd-turbo", "model_b": "sd15", "outcome": "a"},
        {"rater": "cy", "item": 5, "model_a": "sd15", "model_b": "sd-turbo", "outcome": "a"},
    ]
    table, kappa = agreement(votes)
    assert table.loc["ada", "bob"] == 1.0 and table.loc["bob", "ada"] == 1.0
    assert math.isnan(table.loc["ada", "cy"]) and table.loc["cy", "cy"] == 1.0
    # items 0 and 1 (item 5 has one rater): both raters agree; first (sd-turbo) 2, second (sd15) 2 -> P_e 1/2, kappa 1
    assert kappa == pytest.approx(1.0)
    table, kappa = agreement(votes[4:])
    assert table.shape == (1, 1) and math.isnan(kappa)  # no item with two raters
    table, kappa = agreement(pd.DataFrame(columns=["rater", "item", "model_a", "model_b", "outcome"]))
    assert table.shape == (0, 0) and math.isnan(kappa)


def test_agreement_reads_vote_objects_and_refuses_bad_votes():
    class Vote:
        def __init__(self, rater, item, outcome):
            self.rater, self.item, self.model_a, self.model_b, self.outcome = rater, item, "m1", "m2", outcome

    table, kappa = agreement([Vote("a", 0, "a"), Vote("b", 0, "b"), Vote("a", 1, "a"), Vote("b", 1, "a")])
    assert table.loc["a", "b"] == 0.5
    # items: m1 m2 -> P 0; m1 m1 -> P 1; P_bar 1/2; m1 3 of 4 -> P_e 9/16 + 1/16 = 5/8; kappa (1/2-5/8)/(3/8) = -1/3
    assert kappa == pytest.approx(-1 / 3)
    assert [vote_choice("m1", "m2", o) for o in ("a", "b", "tie", "bothbad")] == ["m1", "m2", "tie", "bothbad"]
    with pytest.raises(InputError, match="one of a, b, tie, bothbad"):
        agreement([Vote("a", 0, "left")])
    with pytest.raises(InputError, match="needs a rater and an item"):
        agreement([Vote("a", None, "a")])
    with pytest.raises(InputError, match="lacks columns"):
        agreement(pd.DataFrame({"rater": ["a"], "outcome": ["a"]}))
