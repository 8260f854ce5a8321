"""Which votes count in a task's ratings: its blind votes, less flagged raters (unless kept) and votes over the cap."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from .rater_quality import QualityRules, RaterFlag, battle_start_times, rater_flags, trusted_votes
from .ratings import votes_frame
from .records import GOLD_ANSWERS
from .store import ArenaStore

RATED_MODES = ("anonymous", "session")  # blind votes; named (side-by-side) votes are kept out unless asked for


def arena_scope(task: str) -> str:
    """The store.keep_rater scope of the open arena of `task` (a session's scope is its code)."""
    return f"arena:{task}"


class RatedVotes(NamedTuple):
    """The votes a task's ratings are made of, and why others were left out."""

    votes: pd.DataFrame  # the counted votes (votes_frame columns plus rater, created_at, battle_id, ...), vote order
    flags: list[RaterFlag]  # every flag on a rater of the task's votes (rater_quality.CHECKS), kept or not
    kept: frozenset[str]  # raters an organiser keeps in the ratings whatever their flags say


def rated_modes(include_named: bool = False) -> tuple[str, ...]:
    """The vote modes a task's ratings read: the blind ones, and named (side-by-side) votes when asked for."""
    return RATED_MODES + (("named",) if include_named else ())


def kept_raters(store: ArenaStore, task: str, session_codes) -> frozenset[str]:
    """Raters kept in the open arena of `task` (scope arena:<task>) or in any of these sessions."""
    kept = set(store.kept_raters(arena_scope(task)))
    for code in sorted({c for c in session_codes if c}):
        kept |= store.kept_raters(code)
    return frozenset(kept)


def rated_votes(
    store: ArenaStore,
    task: str,
    *,
    include_named: bool = False,
    keep_flagged: bool = False,
    daily_cap: int | None = None,
) -> RatedVotes:
    """The one answer to "which votes count in a task's ratings": its blind votes (named too when asked), less
    every vote of a rater a rater-quality check flagged (rater_quality.rater_flags; too fast is timed from the
    battle's start) unless an organiser keeps them, less each rater's votes over `daily_cap` a UTC day (None: no
    cap). keep_flagged counts every vote, flagged or over the cap; the flags are still returned. A session's gold
    pairs check its raters against their known answers and are never counted."""
    checked = votes_frame(store.votes(task=task, modes=rated_modes(include_named) + ("gold",)))
    gold = not checked.empty and bool((checked["mode"] == "gold").any())
    votes = checked[checked["mode"] != "gold"].reset_index(drop=True) if gold else checked
    if votes.empty:
        return RatedVotes(votes, [], kept_raters(store, task, ()))
    rules = QualityRules(daily_cap=daily_cap)
    flags = rater_flags(
        checked, rules, gold=GOLD_ANSWERS if gold else None, shown_at=battle_start_times(store.battles())
    )
    kept = kept_raters(store, task, votes["session_code"].dropna().unique())
    if keep_flagged:
        return RatedVotes(votes, flags, kept)
    counted = trusted_votes(votes, flags, keep=kept, daily_cap=daily_cap)
    return RatedVotes(counted, flags, kept)


__all__ = ["RATED_MODES", "RatedVotes", "arena_scope", "kept_raters", "rated_modes", "rated_votes"]
