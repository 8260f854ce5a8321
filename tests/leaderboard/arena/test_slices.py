"""Ratings per prompt category and a rater's own ratings, on planted votes."""

import pandas as pd
import pytest

from genart_demo.errors import InputError
from leaderboard.arena.ratings import ratings_table
from leaderboard.arena.slices import NO_CATEGORY, PERSONAL_MIN_VOTES, personal_ratings, slice_ratings

COLORS_PROMPT = "A red colored car."  # DrawBench, category "Colors": found by its text, no tag stored


def _planted() -> pd.DataFrame:
    """x beats y 18 of 20 on Colors prompts (DrawBench text, no tags), y beats x 18 of 20 on #animals prompts; both
    beat z half the time everywhere, and 6 votes have a typed prompt and no tags."""
    rows = []

    def add(a, b, outcome, n, prompt, tags=()):
        rows.extend({"model_a": a, "model_b": b, "outcome": outcome, "prompt": prompt, "tags": tags} for _ in range(n))

    add("x", "y", "a", 18, COLORS_PROMPT)
    add("x", "y", "b", 2, COLORS_PROMPT)
    add("x", "y", "b", 18, "a fox in the snow", ("animals",))
    add("y", "x", "b", 2, "a fox in the snow", ("animals",))
    for prompt, tags in ((COLORS_PROMPT, ()), ("a fox in the snow", ("animals",))):
        for model in ("x", "y"):
            add(model, "z", "a", 5, prompt, tags)
            add(model, "z", "b", 5, prompt, tags)
    add("x", "z", "tie", 6, "a typed prompt")
    return pd.DataFrame(rows)


def test_slices_recover_a_model_that_wins_only_on_one_category():
    votes = _planted()
    overall = ratings_table(votes).set_index("model")["rating"]
    assert abs(overall["x"] - overall["y"]) < 40  # mixed together, x and y look alike
    table = slice_ratings(votes, rounds=50)
    assert list(dict.fromkeys(table["category"])) == ["animals", "Colors", NO_CATEGORY]
    colors = table[table["category"] == "Colors"].set_index("model")
    animals = table[table["category"] == "animals"].set_index("model")
    assert colors.loc["x", "rating"] - colors.loc["y", "rating"] > 200  # 18 of 20: ~380 points
    assert animals.loc["y", "rating"] - animals.loc["x", "rating"] > 200
    assert colors.loc["x", "rank"] == 1 and animals.loc["y", "rank"] == 1
    assert (colors.loc["x", "votes"], colors.loc["z", "votes"]) == (30, 20)
    assert (colors["low"] <= colors["rating"]).all() and (colors["rating"] <= colors["high"]).all()
    untagged = table[table["category"] == NO_CATEGORY].set_index("model")
    assert untagged["votes"].to_dict() == {"x": 6, "z": 6}
    assert list(table.columns) == ["category", "model", "rating", "low", "high", "votes", "rank", "note"]


def test_a_vote_with_two_tags_counts_in_both_and_no_votes_make_an_empty_table():
    votes = pd.DataFrame(
        [{"model_a": "x", "model_b": "y", "outcome": "a", "prompt": "p", "tags": ("style", "animals")}] * 3
    )
    table = slice_ratings(votes, min_votes=1, rounds=0)
    assert table.groupby("category")["votes"].sum().to_dict() == {"animals": 6, "style": 6}
    empty = slice_ratings([])
    assert empty.empty and list(empty.columns)[:2] == ["category", "model"]


def test_personal_ratings_appear_at_thirty_votes_not_twenty_nine():
    assert PERSONAL_MIN_VOTES == 30
    mine = [{"model_a": "x", "model_b": "y", "outcome": "a" if i % 3 else "b", "rater": "anon:me"} for i in range(29)]
    theirs = [{"model_a": "x", "model_b": "y", "outcome": "b", "rater": "anon:you"}] * 40
    early = personal_ratings(mine + theirs, "anon:me")
    assert (early.votes, early.needed, early.table) == (29, 1, None)
    assert early.message() == "You have 29 votes: 1 more vote to see your own ratings."
    assert personal_ratings(theirs, "anon:me").message().endswith("30 more votes to see your own ratings.")
    ready = personal_ratings(mine + [mine[0]] + theirs, "anon:me", rounds=20)
    assert (ready.votes, ready.needed) == (30, 0)
    rows = ready.table.set_index("model")
    assert rows.loc["x", "votes"] == 30 and rows.loc["x", "wins"] == 19  # their votes only: x won 19 of 30
    assert rows.loc["x", "rating"] > rows.loc["y", "rating"]  # everyone's votes would put y first
    assert "30 votes" in ready.message()
    with pytest.raises(InputError, match="rater column"):
        personal_ratings(pd.DataFrame({"model_a": ["x"], "model_b": ["y"], "outcome": ["a"]}), "anon:me")
