"""Which votes count in a task's ratings (rated.rated_votes, Arena.rated_votes) on SQLite and PostgreSQL."""

import random
import uuid
from types import SimpleNamespace

from genart_demo.settings import Settings
from leaderboard.arena.battles import Arena
from leaderboard.arena.rated import arena_scope, rated_votes
from leaderboard.arena.store import ArenaStore, Battle, RatingSession

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC: the planted votes all fall on that UTC day
TASK = "text-to-image"
STRENGTH = {"sd15": 2, "sd-turbo": 1, "sdxl": 0}
LEFTY = "anon:lefty"


def plant(store: ArenaStore, rater: str, model_a: str, model_b: str, outcome: str, at: float, **extra) -> None:
    """One battle started at `at` and voted on 10 s later."""
    battle = Battle(
        id=uuid.uuid4().hex,
        task=TASK,
        mode=extra.pop("mode", "anonymous"),
        model_a=model_a,
        model_b=model_b,
        prompt="a red fox",
        seed=7,
        outputs_a=("images/a.png",),
        outputs_b=("images/b.png",),
        rater=rater,
        created_at=at,
        expires_at=at + 60,
        **extra,
    )
    store.add_battle(battle)
    store.record_vote(battle.id, rater, outcome, now=at + 10)


def plant_arena(store: ArenaStore, *, lefty_votes: int = 20, session_code: str | None = None) -> None:
    """Four honest raters (the stronger model wins 4 times in 5, sides at random) and one who always picks A."""
    rng = random.Random(3)
    pairs = [("sd15", "sd-turbo"), ("sd15", "sdxl"), ("sd-turbo", "sdxl")]
    at = NOW
    for rater in ("anon:h1", "anon:h2", "anon:h3", "anon:h4"):
        for _ in range(15):
            a, b = rng.choice(pairs) if rng.random() < 0.5 else rng.choice(pairs)[::-1]
            better = "a" if STRENGTH[a] > STRENGTH[b] else "b"
            outcome = better if rng.random() < 0.8 else {"a": "b", "b": "a"}[better]
            plant(store, rater, a, b, outcome, at)
            at += 20
    session = {} if session_code is None else {"mode": "session", "session_code": session_code, "item": 0}
    for i in range(lefty_votes):
        a, b = pairs[i % 3] if i % 2 else pairs[i % 3][::-1]
        plant(store, LEFTY, a, b, "a", at, **session)
        at += 20


def test_a_planted_always_left_rater_is_left_out_until_kept(store):
    plant_arena(store)
    rated = rated_votes(store, TASK)
    assert {f.rater for f in rated.flags} == {LEFTY}
    assert "side" in {f.check for f in rated.flags}
    assert len(rated.votes) == 60 and LEFTY not in set(rated.votes["rater"])
    assert rated.kept == frozenset()
    assert len(rated_votes(store, TASK, keep_flagged=True).votes) == 80  # every vote, the flags still there

    store.keep_rater(arena_scope(TASK), LEFTY)
    kept = rated_votes(store, TASK)
    assert kept.kept == {LEFTY} and {f.rater for f in kept.flags} == {LEFTY}
    assert len(kept.votes) == 80 and (kept.votes["rater"] == LEFTY).sum() == 20


def test_a_rater_kept_in_a_session_counts_in_the_arena(store):
    code = "K7Q2MX4P"
    store.create_session(
        RatingSession(
            code=code,
            name="panel",
            task=TASK,
            models=tuple(STRENGTH),
            prompts=("a red fox",),
            pairs_per_rater=20,
            seed=1,
            created_at=NOW,
        )
    )
    plant_arena(store, session_code=code)
    assert len(rated_votes(store, TASK).votes) == 60
    store.keep_rater(code, LEFTY)
    assert len(rated_votes(store, TASK).votes) == 80


def test_named_votes_count_only_when_asked(store):
    plant_arena(store, lefty_votes=0)
    plant(store, "anon:n1", "sd15", "sdxl", "a", NOW + 5000, mode="named")
    assert len(rated_votes(store, TASK).votes) == 60
    assert len(rated_votes(store, TASK, include_named=True).votes) == 61


def test_the_daily_cap_setting_drops_votes_over_it(store):
    plant_arena(store, lefty_votes=0)  # 15 votes per rater, one UTC day
    settings = Settings.from_env({"GENART_ARENA_DAILY_CAP": "10"})
    assert settings.arena_daily_cap == 10 and Settings.from_env({}).arena_daily_cap is None
    arena = Arena(SimpleNamespace(settings=settings), store, b"k" * 32)
    rated = arena.rated_votes(TASK)
    assert len(rated.votes) == 40 and rated.votes.groupby("rater").size().max() == 10
    assert {f.check for f in rated.flags} == {"daily_cap"} and len(rated.flags) == 4
    first = store.votes(task=TASK)[:10]  # a rater's first 10 votes of the day are the ones kept
    assert set(rated.votes["id"]) >= {v.id for v in first}
    uncapped = Arena(SimpleNamespace(settings=Settings.from_env({})), store, b"k" * 32)
    assert len(uncapped.rated_votes(TASK).votes) == 60
    table = arena.ratings(TASK, rounds=0)
    assert table["votes"].sum() == 2 * 40  # Arena.ratings counts only the rated votes
