"""Tests for leaderboard.arena.rater_quality: simulated honest, random and always-left raters (>= 90% of bad raters
caught, <= 5% of honest ones flagged), and each flag's trigger, reason string and effect on the counted votes."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from genart_demo.errors import InputError
from leaderboard.arena import sessions
from leaderboard.arena.rater_quality import (
    QualityRules,
    RaterFlag,
    battle_start_times,
    fair_coin_p_value,
    over_daily_cap,
    rater_flags,
    trusted_votes,
)
from leaderboard.arena.store import ArenaStore, Battle, RatingSession

MODELS = [f"m{i}" for i in range(8)]
STRENGTHS = np.linspace(0, 4.0, len(MODELS))  # Bradley-Terry log-strengths: ~700 Elo points top to bottom


def simulate(seed: int, honest=60, random=10, left=10, votes_per=60) -> tuple[pd.DataFrame, dict[str, str]]:
    """Votes on random pairs with random sides. Honest raters follow Bradley-Terry with their own noise: a lapse rate
    (0-10% coin flips), a temperature (0.7-1.3), a slight side bias and 10% ties; random raters pick a/b/tie at
    45/45/10; always-left raters always pick A."""
    rng = np.random.default_rng(seed)
    kinds = {f"h{i}": "honest" for i in range(honest)}
    kinds |= {f"r{i}": "random" for i in range(random)} | {f"l{i}": "left" for i in range(left)}
    rows = []
    for rater, kind in kinds.items():
        lapse, temp, bias = rng.uniform(0, 0.1), rng.uniform(0.7, 1.3), rng.normal(0, 0.15)
        for _ in range(votes_per):
            i, j = rng.choice(len(MODELS), 2, replace=False)
            if kind == "left":
                outcome = "a"
            elif kind == "random":
                outcome = rng.choice(["a", "b", "tie"], p=[0.45, 0.45, 0.1])
            elif rng.random() < 0.1:
                outcome = "tie"
            elif rng.random() < lapse:
                outcome = rng.choice(["a", "b"])
            else:
                p_a = 1 / (1 + np.exp(-(temp * (STRENGTHS[i] - STRENGTHS[j]) + bias)))
                outcome = "a" if rng.random() < p_a else "b"
            rows.append((rater, MODELS[i], MODELS[j], str(outcome), rng.uniform(0, 86_400)))
    return pd.DataFrame(rows, columns=["rater", "model_a", "model_b", "outcome", "created_at"]), kinds


@pytest.mark.parametrize("seed", range(5))
def test_simulated_bad_raters_are_caught_and_honest_ones_pass(seed):
    votes, kinds = simulate(seed)
    flagged = {f.rater for f in rater_flags(votes)}
    bad = [r for r, k in kinds.items() if k != "honest"]
    honest = [r for r, k in kinds.items() if k == "honest"]
    caught = sum(r in flagged for r in bad) / len(bad)
    false_alarms = sum(r in flagged for r in honest) / len(honest)
    assert caught >= 0.9, f"seed {seed}: {caught:.0%} of random/always-left raters flagged"
    assert false_alarms <= 0.05, f"seed {seed}: {false_alarms:.0%} of honest raters flagged"
    assert all(r in flagged for r in bad if kinds[r] == "left")  # the side test catches every always-left rater


def test_side_flag_names_the_side_and_counts():
    votes = pd.DataFrame(
        [("lefty", "x", "y", "a")] * 20 + [("fair", "x", "y", o) for o in "ab" * 10],
        columns=["rater", "model_a", "model_b", "outcome"],
    )
    flags = rater_flags(votes)
    side = [f for f in flags if f.check == "side"]
    assert [f.rater for f in side] == ["lefty"]
    assert side[0].reason.startswith("picks one side: A (left) on 20 of 20 decisive votes (p = 1.9e-06, below 0.01")


@pytest.mark.parametrize("k,n", [(0, 1), (5, 10), (7, 10), (20, 20), (13, 40), (31, 45)])
def test_fair_coin_p_value_matches_scipy(k, n):
    assert fair_coin_p_value(k, n) == pytest.approx(binomtest(k, n, 0.5).pvalue, rel=1e-12)


def test_too_few_votes_are_not_tested_for_side():
    votes = pd.DataFrame([("new", "x", "y", "b")] * 9, columns=["rater", "model_a", "model_b", "outcome"])
    assert rater_flags(votes) == []
    flags = rater_flags(votes, QualityRules(min_votes=9))
    assert [(f.check, f.reason[:40]) for f in flags] == [("side", "picks one side: B (right) on 9 of 9 deci")]


def test_consensus_flag_on_a_rater_who_always_contradicts():
    """Ten raters agree that x beats y (sides alternate); one always picks y: flagged after two votes, each of which an
    honest rater would have sided with at 121/122 (Laplace-smoothed 120 of 120): likelihood ratio (0.5 * 122)**2."""
    rows = [(f"h{k}", "x", "y", "a") if i % 2 else (f"h{k}", "y", "x", "b") for k in range(10) for i in range(12)]
    rows += [("contrarian", "x", "y", "b") if i % 2 else ("contrarian", "y", "x", "a") for i in range(12)]
    votes = pd.DataFrame(rows, columns=["rater", "model_a", "model_b", "outcome"])
    flags = rater_flags(votes)
    assert [(f.rater, f.check) for f in flags] == [("contrarian", "consensus")]
    assert flags[0].reason == (
        "disagrees with the other raters beyond chance: sided with the consensus on 0 of the first 2 decisive votes "
        "on pairs with a consensus, where an honest rater would on about 2 or more (likelihood ratio 3.72e+03 against "
        "100 needed)"
    )
    assert round(61.0**2) == 3721


def test_gold_pairs_match_either_side_and_any_prompt():
    gold = {("real", "broken", None): "a", ("real", "blurred", "a cat"): "a"}
    rows = [("bad", "broken", "real", "a", "p")] * 4 + [("bad", "real", "blurred", "a", "a cat")]  # 1 of 5 right
    rows += [("good", "broken", "real", "b", "p")] * 4 + [("good", "blurred", "real", "b", "a cat")]
    rows += [("unsure", "real", "blurred", "b", "a dog")] * 5  # not gold: another prompt
    votes = pd.DataFrame(rows, columns=["rater", "model_a", "model_b", "outcome", "prompt"])
    flags = rater_flags(votes, gold=gold)
    assert flags == [
        RaterFlag(
            "bad", "gold", "fails gold pairs: right on 1 of 5 pairs whose answer is known (20%; at least 70% needed)"
        )
    ]
    assert rater_flags(votes, QualityRules(gold_min_votes=6), gold=gold) == []
    with pytest.raises(InputError, match="gold pair .* one of a, b, tie, bothbad"):
        rater_flags(votes, gold={("real", "broken", None): "left"})


def test_fast_votes_use_the_battle_start_time():
    battles = [SimpleNamespace(id=f"b{i}", created_at=100.0 * i) for i in range(20)]
    rows = [("quick", f"b{i}", 100.0 * i + (0.4 if i < 6 else 5.0)) for i in range(10)]
    rows += [("calm", f"b{i}", 100.0 * i + 3.0) for i in range(10, 20)]
    votes = pd.DataFrame(rows, columns=["rater", "battle_id", "created_at"]).assign(
        model_a="x", model_b="y", outcome="tie"
    )
    flags = rater_flags(votes, shown_at=battle_start_times(battles))
    assert flags == [
        RaterFlag(
            "quick",
            "fast",
            "votes faster than the images can be seen: 6 of 10 votes within 1 s of the battle starting (60%; at most "
            "25% allowed)",
        )
    ]
    assert rater_flags(votes, QualityRules(min_view_s=0.3), shown_at=battle_start_times(battles)) == []


def test_daily_cap_leaves_out_only_the_votes_over_it_unless_kept():
    day = 86_400.0
    times = [day * 10 + s for s in range(5)] + [day * 11 + s for s in range(3)]  # 5 votes on day 10, 3 on day 11
    votes = pd.DataFrame({"rater": "busy", "created_at": times, "model_a": "x", "model_b": "y", "outcome": "tie"})
    rules = QualityRules(daily_cap=3)
    assert over_daily_cap(votes, 3).tolist() == [False] * 3 + [True] * 2 + [False] * 3
    flags = rater_flags(votes, rules)
    assert flags == [
        RaterFlag("busy", "daily_cap", "over the daily cap of 3 votes: 2 on 1970-01-11 left out (UTC days)")
    ]
    assert trusted_votes(votes, flags, daily_cap=3)["created_at"].tolist() == times[:3] + times[5:]
    assert len(trusted_votes(votes, flags, daily_cap=3, keep={"busy"})) == 8
    with pytest.raises(InputError, match="daily vote cap 0"):
        QualityRules(daily_cap=0)


def test_trusted_votes_drop_flagged_raters_unless_kept():
    votes = pd.DataFrame(
        [("lefty", "x", "y", "a")] * 20 + [("fair", "x", "y", o) for o in "ab" * 10],
        columns=["rater", "model_a", "model_b", "outcome"],
    )
    flags = rater_flags(votes)
    assert set(trusted_votes(votes, flags)["rater"]) == {"fair"}
    assert len(trusted_votes(votes, flags, keep={"lefty"})) == 40


def test_no_votes_no_flags():
    empty = pd.DataFrame(columns=["model_a", "model_b", "outcome"])
    assert rater_flags(empty, QualityRules(daily_cap=5), gold={("x", "y", None): "a"}, shown_at={}) == []
    assert trusted_votes(empty, [], daily_cap=5).empty


def test_votes_without_raters_are_refused():
    with pytest.raises(InputError, match="need a rater column"):
        rater_flags(pd.DataFrame({"model_a": ["x"], "model_b": ["y"], "outcome": ["a"]}))


def test_session_quality_table_names_flagged_raters_from_the_store():
    """Votes stored the way a session stores them: the left-picking, fast rater is listed by name, twice."""
    store = ArenaStore("sqlite://")
    store.create_session(RatingSession("QUAB2345", "q", "text-to-image", ("x", "y"), ("p",), 40, 0, 0.0))
    arena = SimpleNamespace(store=store)
    assert sessions.quality_table(arena, "quab2345").empty
    for rater, name in (("r-left", "Lefty"), ("r-fair", "Fair")):
        store.join_session("QUAB2345", rater, name)
        for i in range(20):
            battle = Battle(
                f"{rater}-{i}", "text-to-image", "session", "x", "y", "p", i, ("a.png",), ("b.png",), rater,
                created_at=1000.0 * i, expires_at=1000.0 * i + 900, session_code="QUAB2345", item=i,
            )  # fmt: skip
            store.add_battle(battle)
            quick = 0.2 if rater == "r-left" else 4.0
            store.record_vote(battle.id, rater, "a" if rater == "r-left" or i % 2 else "b", now=1000.0 * i + quick)
    table = sessions.quality_table(arena, "QUAB2345")
    assert table.columns.tolist() == ["rater", "check", "reason", "kept"]
    assert table[["rater", "check", "kept"]].values.tolist() == [["Lefty", "side", "no"], ["Lefty", "fast", "no"]]
    assert table["reason"].iloc[1].startswith("votes faster than the images can be seen: 20 of 20 votes within 1 s")
    store.close()
