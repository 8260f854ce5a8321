"""A database made by an older genart gains the columns added since, keeps its votes; tags and kept raters."""

import logging

import sqlalchemy as sa
from test_store import NOW, added, session

from leaderboard.arena.store import ArenaStore

ADDED = ("sessions.tags", "sessions.inputs", "sessions.images_per_side", "sessions.gold", "votes.tags")


def _make_old(url: str) -> None:
    """The tables as genart made them before the columns in ADDED and the kept_raters table existed."""
    ArenaStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name in ADDED:
            table, column = name.split(".")
            conn.execute(sa.text(f'ALTER TABLE {table} DROP COLUMN "{column}"'))
        conn.execute(sa.text("DROP TABLE kept_raters"))
    engine.dispose()


def _columns(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {f"{t}.{c['name']}" for t in ("sessions", "votes") for c in inspector.get_columns(t)}
    finally:
        engine.dispose()


def test_an_older_database_gains_the_new_columns_and_keeps_its_votes(store_url, caplog):
    caplog.set_level(logging.INFO, logger="leaderboard.arena.store")
    _make_old(store_url)
    assert not set(ADDED) & _columns(store_url)
    old = sa.create_engine(store_url)
    with old.begin() as conn:  # a session, a battle and its vote, written by the older schema
        conn.execute(
            sa.text(
                "INSERT INTO sessions (code, name, task, models, prompts, pairs_per_rater, seed, created_at) "
                """VALUES ('OLDCODE1', 'old', 'text-to-image', '["sd15", "sd-turbo"]', '["a fox"]', 2, 3, 1.0)"""
            )
        )
    old.dispose()
    store = ArenaStore(store_url)
    try:
        assert set(ADDED) <= _columns(store_url)
        assert all(name in caplog.text for name in ADDED)
        kept = added(store, rater="anon:old")
        store.record_vote(kept.id, "anon:old", "a", now=NOW + 1)
        assert store.votes()[0].tags == ()
        old_session = store.get_session("oldcode1")
        assert old_session.prompts == ("a fox",) and old_session.tags is None and old_session.inputs is None
        store.keep_rater("OLDCODE1", "session:x")
        assert store.kept_raters("OLDCODE1") == {"session:x"}
    finally:
        store.close()
    again = ArenaStore(store_url)  # opening an up-to-date database adds nothing
    try:
        assert len(again.votes()) == 1
    finally:
        again.close()


def test_sessions_keep_tags_inputs_images_per_side_and_gold(store):
    made = session(
        tags=(("animals", "colour"), ()),
        inputs=({"image": "arena/inputs/a.png", "mask": "arena/inputs/a-mask.png"}, {"image": "arena/inputs/b.png"}),
        images_per_side=3,
        gold=({"good": "arena/gold/real.png", "bad": "arena/gold/blurred.png", "prompt": "a fox"},),
    )
    store.create_session(made)
    assert store.get_session(made.code) == made


def test_a_vote_carries_its_battles_tags(store):
    tagged = added(store, settings={"tags": ["Colors", "counting"]})
    plain = added(store)
    first = store.record_vote(tagged.id, "anon:r1", "a", now=NOW + 1)
    store.record_vote(plain.id, "anon:r1", "b", now=NOW + 2)
    assert first.tags == ("Colors", "counting")
    assert [v.tags for v in store.votes()] == [("Colors", "counting"), ()]


def test_gold_battles_are_their_own_mode(store):
    gold = added(store, mode="gold", model_a="gold:good", model_b="gold:bad")
    store.record_vote(gold.id, "anon:r1", "a", now=NOW + 1)
    assert store.votes() == [] and [v.model_a for v in store.votes(modes=("gold",))] == ["gold:good"]


def test_kept_raters_are_per_scope_and_can_be_dropped_again(store):
    store.keep_rater("arena:text-to-image", "anon:r1")
    store.keep_rater("arena:text-to-image", "anon:r1")  # twice: still once
    store.keep_rater("K7Q2MX4P", "session:s1")
    assert store.kept_raters("arena:text-to-image") == {"anon:r1"}
    assert store.kept_raters("K7Q2MX4P") == {"session:s1"}
    store.keep_rater("arena:text-to-image", "anon:r1", keep=False)
    assert store.kept_raters("arena:text-to-image") == set()
