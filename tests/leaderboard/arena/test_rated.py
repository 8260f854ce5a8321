"""Which votes count in a task's ratings (rated.rated_votes, Arena.rated_votes) on SQLite and PostgreSQL."""

from types import SimpleNamespace

from arena_planted import LEFTY, NOW, STRENGTH, TASK, plant, plant_arena  # tests/leaderboard/arena/arena_planted.py

from genart_demo.settings import Settings
from leaderboard.arena.battles import Arena
from leaderboard.arena.rated import arena_scope, rated_votes
from leaderboard.arena.store import RatingSession


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
