"""Rater quality: flag raters who disagree with the consensus, always pick one side, vote too fast or fail gold pairs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genart_demo.errors import InputError

from .ratings import OUTCOME_SCORES, votes_frame

CHECKS = ("consensus", "side", "gold", "fast", "daily_cap")  # RaterFlag.check, in the order reports list them
DECISIVE = ("a", "b")  # ties and both-bad say nothing about a side or a winner


@dataclass(frozen=True)
class QualityRules:
    """What counts as a suspicious rater. Each statistical test flags an honest rater with chance at most `alpha`, so
    the share of honest raters flagged stays near alpha (per test) however many raters an arena has."""

    alpha: float = 0.01  # per-rater false-alarm chance of the consensus and the side test
    min_votes: int = 10  # raters with fewer decisive votes are not tested for consensus or side
    consensus_min_votes: int = 3  # a pair needs this many decisive votes by *other* raters to have a consensus
    # An honest rater is assumed to agree with a pair's consensus at least 0.5 + honest_share * (p - 0.5), p being
    # how often the other raters pick the consensus side: below 1 so honest raters noisier than the crowd pass.
    honest_share: float = 1.0
    min_view_s: float = 1.0  # a vote sooner than this after its battle started is "too fast"
    max_fast_share: float = 0.25  # raters with more of their votes too fast are flagged
    gold_min_votes: int = 5  # gold pairs a rater must have voted on before the gold test applies
    gold_pass_rate: float = 0.7  # raters getting fewer gold pairs right are flagged
    daily_cap: int | None = None  # votes per rater per UTC day that count; later ones are left out (None: no cap)

    def __post_init__(self):
        if not 0 < self.alpha < 1:
            raise InputError(f"rater-quality alpha {self.alpha!r}; allowed: between 0 and 1.")
        if not 0 <= self.honest_share <= 1:
            raise InputError(f"rater-quality honest_share {self.honest_share!r}; allowed: 0 to 1.")
        if self.daily_cap is not None and self.daily_cap < 1:
            raise InputError(f"daily vote cap {self.daily_cap!r}; allowed: a whole number of at least 1, or none.")


@dataclass(frozen=True)
class RaterFlag:
    """One reason to doubt one rater's votes."""

    rater: str
    check: str  # CHECKS
    reason: str  # plain words for the organiser, with the numbers behind the flag


GoldKey = tuple[str, str, str | None]  # (model_a, model_b, prompt or None for any prompt)


def rater_flags(
    votes,
    rules: QualityRules = QualityRules(),
    *,
    gold: Mapping[GoldKey, str] | None = None,
    shown_at: Mapping[str, float] | None = None,
) -> list[RaterFlag]:
    """Every flag on every rater, by rater then CHECKS order. `votes` as ratings.votes_frame takes them, with a rater
    column (created_at for the daily cap, battle_id for `shown_at`). `gold` maps known pairs to the right outcome;
    `shown_at` maps battle ids to when the battle started (battle_start_times)."""
    df = _rater_frame(votes)
    if df.empty:
        return []
    flags = side_flags(df, rules)
    if gold:
        flags += gold_flags(df, gold, rules)
    if shown_at is not None:
        flags += fast_flags(df, shown_at, rules)
    if rules.daily_cap is not None:
        flags += daily_cap_flags(df, rules.daily_cap)
    flags += consensus_flags(df, rules, outside={f.rater for f in flags if f.check != "daily_cap"})
    return sorted(flags, key=lambda f: (f.rater, CHECKS.index(f.check)))


def trusted_votes(
    votes, flags: Iterable[RaterFlag], *, keep: Iterable[str] = (), daily_cap: int | None = None
) -> pd.DataFrame:
    """The votes without flagged raters (unless the organiser keeps them) and without votes over the daily cap."""
    df = _rater_frame(votes)
    if df.empty:
        return df
    kept = set(keep)
    dropped = {f.rater for f in flags if f.check != "daily_cap"} - kept
    mask = ~df["rater"].isin(dropped)
    if daily_cap is not None:
        mask &= ~(over_daily_cap(df, daily_cap) & ~df["rater"].isin(kept))
    return df[mask].reset_index(drop=True)


def battle_start_times(battles) -> dict[str, float]:
    """{battle id: created_at} for store.battles(). A battle starts before its images are made, so the time from it
    to the vote is the viewing time plus generation: "too fast" can only be missed, never raised wrongly."""
    return {b.id: float(b.created_at) for b in battles}


def _rater_frame(votes) -> pd.DataFrame:
    df = votes_frame(votes)
    if df.empty:  # no votes: nothing to flag or leave out, whatever columns came
        return df.assign(rater=pd.Series(dtype=str))
    if "rater" not in df.columns:
        raise InputError("rater-quality checks need a rater column in the votes (who voted)")
    df["rater"] = df["rater"].astype(str)
    return df


# ---------------------------------------------------------------- consensus


def consensus_flags(df: pd.DataFrame, rules: QualityRules, outside: Iterable[str] = ()) -> list[RaterFlag]:
    """A sequential likelihood-ratio test per rater, votes in order: "votes at random" against "agrees with each
    pair's leave-this-rater-out consensus at least as an honest rater would" (QualityRules.honest_share). The ratio
    is a supermartingale for any rater at least that consistent, so by Ville's inequality crossing 1/alpha flags an
    honest rater with chance at most alpha, however many votes they cast. FastChat's outlier_detect runs a
    test of this kind. Raters `outside` (flagged otherwise) are tested but kept out of the consensus they would blur.
    Its power needs spread: with 60 votes per rater a random rater is caught ~9 times in 10 when the models span
    ~700 Elo points, less when they are closer (tests/leaderboard/arena/test_rater_quality.py)."""
    votes = _consensus_votes(df, rules, set(outside))
    tested = [r for r, g in votes.groupby("rater", sort=False) if len(g) >= rules.min_votes]
    if not tested:
        return []
    bound = math.log(1 / rules.alpha)
    flags = []
    for rater in tested:
        mine = votes[votes["rater"] == rater]
        path = np.cumsum(mine["log_ratio"].to_numpy())
        crossed = np.flatnonzero(path >= bound)
        if crossed.size:
            n = int(crossed[0]) + 1
            agreed, expected = int(mine["agree"].iloc[:n].sum()), float(mine["honest"].iloc[:n].sum())
            flags.append(
                RaterFlag(
                    rater,
                    "consensus",
                    f"disagrees with the other raters beyond chance: sided with the consensus on {agreed} of the "
                    f"first {n} decisive votes on pairs with a consensus, where an honest rater would on about "
                    f"{expected:.0f} or more (likelihood ratio {math.exp(path[n - 1]):.3g} against "
                    f"{math.exp(bound):.3g} needed)",
                )
            )
    return flags


def _consensus_votes(df: pd.DataFrame, rules: QualityRules, outside: set[str]) -> pd.DataFrame:
    """The decisive votes on pairs with a consensus, in vote order, with agree (bool), honest (the least agreement
    expected of an honest rater) and log_ratio (of "random" against "honest") columns."""
    d = df[df["outcome"].isin(DECISIVE)].copy()
    if "created_at" in d.columns:
        d = d.sort_values("created_at", kind="stable")
    first = np.minimum(d["model_a"], d["model_b"])  # the pair as (first, second) by name
    d["pair"] = first + "\x00" + np.maximum(d["model_a"], d["model_b"])
    d["first_won"] = ((d["outcome"] == "a") == (d["model_a"] == first)).astype(float)
    counted = d["first_won"].where(~d["rater"].isin(outside))  # NaN: not part of the consensus
    pair_n = counted.groupby(d["pair"]).transform("count")
    pair_w = counted.groupby(d["pair"]).transform("sum")
    own_n = counted.groupby([d["pair"], d["rater"]]).transform("count")
    own_w = counted.groupby([d["pair"], d["rater"]]).transform("sum")
    others = pair_n - own_n
    q = (pair_w - own_w + 1) / (others + 2)  # others' share for `first`, with one pseudo-vote each way
    d = d[(others >= rules.consensus_min_votes) & (q != 0.5)].copy()
    q = q[d.index]
    d["agree"] = (d["first_won"] == 1) == (q > 0.5)
    p = np.maximum(q, 1 - q)
    d["honest"] = 0.5 + rules.honest_share * (p - 0.5)
    d["log_ratio"] = np.where(d["agree"], np.log(0.5 / d["honest"]), np.log(0.5 / (1 - d["honest"])))
    return d


# ---------------------------------------------------------------- side


def side_flags(df: pd.DataFrame, rules: QualityRules) -> list[RaterFlag]:
    """Raters whose decisive votes pick A (or B) far more often than the random sides allow: a two-sided binomial
    test against one half at level alpha."""
    decisive = df[df["outcome"].isin(DECISIVE)]
    counts = decisive.groupby("rater", sort=False)["outcome"].agg(n="size", a=lambda s: int((s == "a").sum()))
    counts = counts[counts["n"] >= rules.min_votes]
    if counts.empty:
        return []
    level = rules.alpha
    flags = []
    for rater, row in counts.iterrows():
        n, a = int(row["n"]), int(row["a"])
        p = fair_coin_p_value(a, n)
        if p < level:
            side, k = ("A (left)", a) if 2 * a > n else ("B (right)", n - a)
            flags.append(
                RaterFlag(
                    rater,
                    "side",
                    f"picks one side: {side} on {k} of {n} decisive votes (p = {p:.2g}, below {level:.2g}; "
                    "sides are random, so an honest rater picks each about half the time)",
                )
            )
    return flags


def fair_coin_p_value(k: int, n: int) -> float:
    """Two-sided exact binomial p-value of k heads in n fair tosses: 2 * P(X >= max(k, n - k)), at most 1 (the
    same as scipy.stats.binomtest(k, n, 0.5), without importing scipy into the app)."""
    tail = sum(math.comb(n, i) for i in range(max(k, n - k), n + 1)) / 2**n
    return min(1.0, 2 * tail)


# ---------------------------------------------------------------- gold pairs


def gold_outcomes(df: pd.DataFrame, gold: Mapping[GoldKey, str]) -> pd.Series:
    """Each vote's right outcome if it is on a gold pair (sides swapped as shown, prompt-specific keys first), else
    None. A key's prompt None matches any prompt."""
    swap = {"a": "b", "b": "a", "tie": "tie", "bothbad": "bothbad"}
    for key, outcome in gold.items():
        if outcome not in OUTCOME_SCORES or len(key) != 3:
            raise InputError(
                f"gold pair {key!r} -> {outcome!r}: use (model_a, model_b, prompt or None) -> one of "
                + ", ".join(OUTCOME_SCORES)
            )
    prompts = df["prompt"].astype(str) if "prompt" in df.columns else pd.Series(None, index=df.index)

    def right(a: str, b: str, prompt) -> str | None:
        for key_prompt in (prompt, None):
            if (a, b, key_prompt) in gold:
                return gold[(a, b, key_prompt)]
            if (b, a, key_prompt) in gold:
                return swap[gold[(b, a, key_prompt)]]
        return None

    return pd.Series(
        [right(a, b, p) for a, b, p in zip(df["model_a"], df["model_b"], prompts)], index=df.index, dtype=object
    )


def gold_flags(df: pd.DataFrame, gold: Mapping[GoldKey, str], rules: QualityRules) -> list[RaterFlag]:
    """Raters who voted on at least gold_min_votes gold pairs and got fewer than gold_pass_rate of them right."""
    right = gold_outcomes(df, gold)
    on_gold = df[right.notna()].assign(passed=lambda d: d["outcome"] == right[d.index])
    flags = []
    for rater, g in on_gold.groupby("rater", sort=False):
        n, passed = len(g), int(g["passed"].sum())
        if n >= rules.gold_min_votes and passed < rules.gold_pass_rate * n:
            flags.append(
                RaterFlag(
                    rater,
                    "gold",
                    f"fails gold pairs: right on {passed} of {n} pairs whose answer is known "
                    f"({passed / n:.0%}; at least {rules.gold_pass_rate:.0%} needed)",
                )
            )
    return flags


# ---------------------------------------------------------------- speed and volume


def fast_flags(df: pd.DataFrame, shown_at: Mapping[str, float], rules: QualityRules) -> list[RaterFlag]:
    """Raters with more than max_fast_share of their (timed) votes cast within min_view_s of the battle starting."""
    if "battle_id" not in df.columns or "created_at" not in df.columns:
        raise InputError("the too-fast check needs battle_id and created_at columns in the votes")
    started = df["battle_id"].astype(str).map(shown_at)
    timed = df[started.notna()].assign(seconds=lambda d: d["created_at"].astype(float) - started[d.index])
    flags = []
    for rater, g in timed.groupby("rater", sort=False):
        n, fast = len(g), int((g["seconds"] < rules.min_view_s).sum())
        if n >= rules.min_votes and fast > rules.max_fast_share * n:
            flags.append(
                RaterFlag(
                    rater,
                    "fast",
                    f"votes faster than the images can be seen: {fast} of {n} votes within "
                    f"{rules.min_view_s:g} s of the battle starting ({fast / n:.0%}; at most "
                    f"{rules.max_fast_share:.0%} allowed)",
                )
            )
    return flags


def over_daily_cap(df: pd.DataFrame, cap: int) -> pd.Series:
    """True for each vote after its rater's first `cap` votes of that UTC day (in vote-time order)."""
    if "created_at" not in df.columns:
        raise InputError("the daily vote cap needs a created_at column (unix seconds) in the votes")
    day = _utc_day(df)
    rank = df.assign(day=day, t=df["created_at"].astype(float)).groupby(["rater", "day"])["t"].rank(method="first")
    return rank > cap


def _utc_day(df: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(df["created_at"].astype(float), unit="s", utc=True).dt.strftime("%Y-%m-%d")


def daily_cap_flags(df: pd.DataFrame, cap: int) -> list[RaterFlag]:
    """One flag per rater who went over the cap on some UTC day; only the votes over it are left out."""
    over = df[over_daily_cap(df, cap)].assign(day=_utc_day)
    flags = []
    for rater, g in over.groupby("rater", sort=False):
        days = g.groupby("day").size()
        listed = ", ".join(f"{n} on {day}" for day, n in days.items())
        flags.append(RaterFlag(rater, "daily_cap", f"over the daily cap of {cap} votes: {listed} left out (UTC days)"))
    return flags
