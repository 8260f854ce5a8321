"""Ratings sliced: a Bradley-Terry table per prompt category, and a rater's own ratings once they have voted enough."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from genart_demo.errors import InputError

from .categories import vote_categories
from .rated import rated_modes
from .ratings import BOOTSTRAP_ROUNDS, MIN_VOTES, ratings_table, votes_frame

PERSONAL_MIN_VOTES = 30  # a rater's own table appears at this many of their votes (fewer say little about them)
NO_CATEGORY = "(no category)"  # votes whose prompt has no tag and is in no bundled prompt set; not a valid tag
SLICE_COLUMNS = ("category", "model", "rating", "low", "high", "votes", "rank", "note")


def categorised_votes(votes) -> pd.DataFrame:
    """The votes with a `category` column, one row per (vote, category): a vote with two tags counts in both, a vote
    with none is under NO_CATEGORY. Categories come from categories.vote_categories (stored tags, else the
    prompt's DrawBench / PartiPrompts category)."""
    df = votes_frame(votes)
    tags = df["tags"] if "tags" in df.columns else pd.Series([()] * len(df), dtype=object)
    prompts = df["prompt"] if "prompt" in df.columns else pd.Series([""] * len(df), dtype=object)
    df["category"] = [list(vote_categories(t, p)) or [NO_CATEGORY] for t, p in zip(tags, prompts)]
    return df.explode("category", ignore_index=True)


def slice_ratings(votes, *, min_votes: int = MIN_VOTES, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> pd.DataFrame:
    """One table of every category's ratings (ratings.ratings_table on that category's votes): category, model,
    rating with its 95% bootstrap interval (low, high), votes and rank within the category. Categories in name
    order, NO_CATEGORY last; within one, best first."""
    df = categorised_votes(votes)
    tables = []
    for category in sorted(set(df["category"]), key=lambda c: (c == NO_CATEGORY, c.casefold(), c)):
        table = ratings_table(df[df["category"] == category], rounds=rounds, seed=seed, min_votes=min_votes)
        table = table.rename(columns={"ci_low": "low", "ci_high": "high"})
        tables.append(table.assign(category=category)[list(SLICE_COLUMNS)])
    if not tables:
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c in ("rating", "low", "high", "rank") else object) for c in SLICE_COLUMNS}
        )
    return pd.concat(tables, ignore_index=True)


@dataclass(frozen=True)
class PersonalRatings:
    """A rater's own ratings: their table once they have `min_votes` votes, else how many more they need."""

    votes: int  # the rater's counted votes
    needed: int  # more votes before the table appears (0 once it has)
    table: pd.DataFrame | None  # ratings.ratings_table of their votes alone; None while needed > 0

    def message(self) -> str:
        """What the rater is told above (or instead of) their table."""
        if self.table is None:
            more = f"{self.needed} more vote{'s' if self.needed != 1 else ''}"
            return f"You have {self.votes} votes: {more} to see your own ratings."
        return f"Your own ratings, from your {self.votes} votes (your taste, next to everyone's)."


def personal_ratings(
    votes, rater: str, min_votes: int = PERSONAL_MIN_VOTES, *, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0
) -> PersonalRatings:
    """`rater`'s ratings from their votes alone (votes need a `rater` column), once they have min_votes of them."""
    df = votes_frame(votes)
    if "rater" not in df.columns:
        raise InputError("personal ratings need the votes' rater column")
    mine = df[df["rater"] == rater]
    needed = max(0, int(min_votes) - len(mine))
    table = None if needed else ratings_table(mine, rounds=rounds, seed=seed)
    return PersonalRatings(len(mine), needed, table)


def arena_slices(arena, task: str, *, include_named: bool = False, min_votes: int = MIN_VOTES, rounds=BOOTSTRAP_ROUNDS):
    """slice_ratings over the votes that count in the task's main table (flagged raters left out alike)."""
    votes = arena.rated_votes(task, include_named=include_named).votes
    return slice_ratings(votes, min_votes=min_votes, rounds=rounds)


def rater_ratings(arena, task: str, rater: str, *, include_named: bool = False) -> PersonalRatings:
    """personal_ratings over every counted vote of `rater` for the task: their own taste, so no rater-quality flag
    hides it from them."""
    return personal_ratings(arena.store.votes(task=task, modes=rated_modes(include_named)), rater)
