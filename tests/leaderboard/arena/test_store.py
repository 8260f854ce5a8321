"""The arena store on SQLite and PostgreSQL: battles, votes and their refusals, sessions, durability, the backup."""

import dataclasses
import json
import sqlite3
import threading
import uuid

import pytest
import sqlalchemy as sa

from genart_demo.errors import InputError
from genart_demo.settings import Settings
from leaderboard.arena.backup import BACKUP_EVERY_MIN, JsonlBackup
from leaderboard.arena.store import ArenaStore, Battle, RatingSession, VoteRefused, backup_from_settings, default_db_url

NOW = 1_700_000_000.0
TASK = "text-to-image"


def battle(rater="anon:r1", model_a="sd15", model_b="sd-turbo", mode="anonymous", created_at=NOW, **extra) -> Battle:
    """A battle open for 60 s from `created_at`; keyword arguments override any field."""
    fields = {
        "id": uuid.uuid4().hex,
        "task": TASK,
        "mode": mode,
        "model_a": model_a,
        "model_b": model_b,
        "prompt": "a red fox",
        "seed": 7,
        "outputs_a": ("images/a.png",),
        "outputs_b": ("images/b.png",),
        "rater": rater,
        "created_at": created_at,
        "expires_at": created_at + 60,
    }
    return Battle(**{**fields, **extra})


def added(store: ArenaStore, **kwargs) -> Battle:
    made = battle(**kwargs)
    store.add_battle(made)
    return made


def session(code="K7Q2MX4P", **extra) -> RatingSession:
    fields = {
        "code": code,
        "name": "Friday panel",
        "task": TASK,
        "models": ("sd15", "sd-turbo", "sdxl"),
        "prompts": ("a fox", "a kite"),
        "pairs_per_rater": 6,
        "seed": 3,
        "created_at": NOW,
    }
    return RatingSession(**{**fields, **extra})


def test_a_battle_reads_back_as_stored(store):
    stored = added(store, settings={"steps": 2, "guidance": 7.5}, seed=2**40, prompt="un renard roux — 🦊")
    assert store.get_battle(stored.id) == stored
    assert store.get_battle("f" * 32) is None and store.battles() == [stored]
    with pytest.raises(InputError, match="id is taken"):
        store.add_battle(stored)
    with pytest.raises(InputError, match="allowed: anonymous, named, session, gold"):
        store.add_battle(battle(mode="blind"))
    with pytest.raises(InputError, match="allowed: ready, voted, void"):
        store.add_battle(battle(status="done"))
    assert len(store.battles()) == 1


def test_a_vote_is_recorded_once_and_committed(store, store_url):
    stored = added(store)
    vote = store.record_vote(stored.id, "anon:r1", "b", now=NOW + 5)
    assert (vote.battle_id, vote.rater, vote.outcome, vote.created_at) == (stored.id, "anon:r1", "b", NOW + 5)
    assert (vote.task, vote.mode, vote.model_a, vote.model_b, vote.prompt) == (
        TASK,
        "anonymous",
        "sd15",
        "sd-turbo",
        "a red fox",
    )
    assert store.get_battle(stored.id).status == "voted"
    assert store.votes() == [vote] and store.vote_count() == 1
    other = ArenaStore(store_url)  # another process's view, while this store stays open: the vote is committed
    try:
        assert other.votes() == [vote]
    finally:
        other.close()


def test_refused_votes_write_nothing(store):
    mine, late, void = added(store), added(store), added(store)
    store.void_battle(void.id, "sd-turbo ran out of memory")
    cases = [
        ("f" * 32, "anon:r1", "a", NOW, "unknown"),
        (mine.id, "anon:r2", "a", NOW, "foreign"),
        (void.id, "anon:r1", "a", NOW, "void"),
        (late.id, "anon:r1", "a", NOW + 60.5, "expired"),
        (mine.id, "anon:r1", "left", NOW, "outcome"),
        (mine.id, "anon:r1", None, NOW, "outcome"),
    ]
    for battle_id, rater, outcome, now, reason in cases:
        with pytest.raises(VoteRefused) as err:
            store.record_vote(battle_id, rater, outcome, now=now)
        assert err.value.reason == reason, (battle_id, rater, outcome)
    assert "ran out of memory" in str(pytest.raises(VoteRefused, store.record_vote, void.id, "anon:r1", "a", NOW).value)
    assert store.vote_count() == 0 and store.votes(modes=None) == []
    assert [b.status for b in (store.get_battle(mine.id), store.get_battle(late.id))] == ["ready", "ready"]
    store.record_vote(mine.id, "anon:r1", "tie", now=NOW + 60)  # the last second still counts
    with pytest.raises(VoteRefused) as err:
        store.record_vote(mine.id, "anon:r1", "a", now=NOW + 1)
    assert err.value.reason == "replayed" and "counts once" in str(err.value)
    assert [(v.battle_id, v.outcome) for v in store.votes()] == [(mine.id, "tie")]


def test_void_battles_are_never_counted(store):
    failed = added(store, status="void", void_reason="generation failed")
    assert store.get_battle(failed.id).void_reason == "generation failed"
    counted, withdrawn = added(store), added(store)
    for b in (counted, withdrawn):
        store.record_vote(b.id, "anon:r1", "a", now=NOW)
    store.void_battle(withdrawn.id, "an unsafe image")  # withdrawn after its vote: the vote stays, uncounted
    assert store.get_battle(withdrawn.id).status == "void" and store.vote_count() == 1
    assert [v.battle_id for v in store.votes()] == [counted.id]
    assert store.pair_counts(TASK) == {("sd-turbo", "sd15"): 1}
    with pytest.raises(InputError, match="No battle"):
        store.void_battle("f" * 32, "x")


def test_votes_filter_by_task_mode_and_session(store):
    store.create_session(session())
    made = [
        added(store, mode="anonymous"),
        added(store, mode="named", model_a="sdxl", model_b="sd15"),
        added(store, mode="session", session_code="k7q2mx4p", item=3),
        added(store, task="image-to-image", mode="anonymous", model_a="sdxl"),
    ]
    votes = [store.record_vote(b.id, "anon:r1", o, now=NOW) for b, o in zip(made, ("a", "b", "bothbad", "tie"))]
    assert [v.id for v in votes] == sorted(v.id for v in votes) and len({v.id for v in votes}) == 4
    assert store.votes(task=TASK) == [votes[0]]  # anonymous only by default
    assert store.votes(task=TASK, modes=None) == votes[:3]
    assert store.votes(modes=("named", "session")) == votes[1:3]
    assert store.votes(session_code="K7Q2MX4P", modes=None) == [votes[2]]
    assert (votes[2].session_code, votes[2].item) == ("K7Q2MX4P", 3)
    assert store.votes(modes=()) == [] and store.vote_count() == 4
    assert store.pair_counts(TASK, modes=None) == {("sd-turbo", "sd15"): 2, ("sd15", "sdxl"): 1}
    assert store.pair_counts("image-to-image") == {("sd-turbo", "sdxl"): 1}
    with pytest.raises(InputError, match="allowed: anonymous, named, session, gold"):
        store.votes(modes=("blind",))


def test_battles_come_oldest_first_by_rater_and_session(store):
    store.create_session(session())
    late = added(store, rater="anon:r2", created_at=NOW + 9)
    early = added(store, rater="anon:r1", created_at=NOW + 1, mode="session", session_code="K7Q2MX4P", item=0)
    mid = added(store, rater="anon:r2", created_at=NOW + 5, mode="session", session_code="K7Q2MX4P", item=1)
    assert store.battles() == [early, mid, late]
    assert store.battles(rater="anon:r2") == [mid, late]
    assert store.battles(session_code="k7q2mx4p") == [early, mid]
    assert store.battles(session_code="K7Q2MX4P", rater="anon:r2") == [mid]
    with pytest.raises(InputError, match="session 'NOPE1234' does not exist"):
        store.add_battle(battle(mode="session", session_code="NOPE1234"))


def test_sessions_and_their_raters(store):
    made = session()
    store.create_session(made)
    assert store.get_session("k7q2mx4p") == made and store.get_session(" K7Q2MX4P ") == made
    assert store.get_session("ZZZZZZZZ") is None
    with pytest.raises(InputError, match="already taken"):
        store.create_session(session(code="k7q2mx4p", name="another"))
    with pytest.raises(InputError, match="4 to 16 letters and digits"):
        store.create_session(session(code="no way"))
    lower = session(code="abcd2345")
    store.create_session(lower)
    assert store.get_session("ABCD2345") == dataclasses.replace(lower, code="ABCD2345")
    assert store.join_session("k7q2mx4p", "hf:ada", "Ada") is True
    assert store.join_session("K7Q2MX4P", "anon:b", "Bo") is True
    assert store.join_session("K7Q2MX4P", "hf:ada", "Ada again") is False  # joining twice changes nothing
    raters = store.session_raters("k7q2mx4p")
    assert [(r["rater"], r["display_name"]) for r in raters] == [("hf:ada", "Ada"), ("anon:b", "Bo")]
    assert raters[0]["joined_at"] <= raters[1]["joined_at"] and store.session_raters("ABCD2345") == []
    with pytest.raises(InputError, match="No rating session has the code 'NOPE1234'"):
        store.join_session("nope1234", "hf:ada", "Ada")


def test_the_url_hides_its_password(store_url):
    url = sa.make_url(store_url)
    on_sqlite, secret = url.get_backend_name() == "sqlite", url.password or "s3cret-pw"
    made = ArenaStore(store_url if on_sqlite else url.set(password=secret).render_as_string(hide_password=False))
    try:  # (trust auth on the throwaway cluster accepts any password)
        assert made.url == store_url if on_sqlite else (secret not in made.url and "***" in made.url)
        assert made.vote_count() == 0
    finally:
        made.close()


def test_bad_urls_say_what_is_allowed(tmp_path):
    for bad in ("not a url", "nosuchdb://x/y"):
        with pytest.raises(InputError, match="postgresql\\+psycopg://"):
            ArenaStore(bad)


def test_sqlite_is_durable_and_queues_writers(tmp_path):
    made = ArenaStore(f"sqlite:///{tmp_path / 'nested' / 'arena.db'}")
    try:
        with made._engine.connect() as conn:
            pragmas = [
                conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
        assert pragmas == ["wal", 2, 1, 30000]  # synchronous 2 = FULL
        stored = added(made)
        vote = made.record_vote(stored.id, "anon:r1", "a", now=NOW)
        raw = sqlite3.connect(tmp_path / "nested" / "arena.db")  # outside SQLAlchemy, store still open
        assert raw.execute("SELECT id, outcome FROM votes").fetchall() == [(vote.id, "a")]
        raw.close()
    finally:
        made.close()


def test_an_in_memory_store_works_across_threads():
    made = ArenaStore("sqlite://")
    stored = [added(made) for _ in range(20)]
    threads = [threading.Thread(target=made.record_vote, args=(b.id, "anon:r1", "a", NOW)) for b in stored]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made.vote_count() == 20 and made.url == "sqlite://"
    made.close()


def test_from_settings_uses_the_arena_folder_or_the_url(tmp_path):
    settings = Settings(output_dir=tmp_path / "out")
    assert default_db_url(settings) == f"sqlite:///{(tmp_path / 'out' / 'arena' / 'arena.db').resolve()}"
    made = ArenaStore.from_settings(settings)
    added(made)
    made.close()
    assert (tmp_path / "out" / "arena" / "arena.db").is_file()
    elsewhere = dataclasses.replace(settings, db_url=f"sqlite:///{tmp_path / 'other.db'}")
    made = ArenaStore.from_settings(elsewhere)
    assert made.battles() == [] and (tmp_path / "other.db").is_file()
    made.close()


class FakeScheduler:
    """Stands in for huggingface_hub.CommitScheduler: records how it was made, its lock uses and triggers."""

    def __init__(self, **kwargs):
        self.kwargs, self.locked, self.triggered = kwargs, 0, 0
        self.lock = self

    def __enter__(self):
        self.locked += 1

    def __exit__(self, *exc):
        return False

    def trigger(self):
        self.triggered += 1


def test_the_backup_gets_one_line_per_counted_vote(store_url, tmp_path):
    made = []
    backup = JsonlBackup(
        tmp_path / "backup",
        "genart/arena-votes",
        scheduler_factory=lambda **kw: made.append(FakeScheduler(**kw)) or made[-1],
    )
    assert made[0].kwargs == {
        "repo_id": "genart/arena-votes",
        "repo_type": "dataset",
        "every": BACKUP_EVERY_MIN,
        "folder_path": tmp_path / "backup",
        "path_in_repo": "arena",
    }
    store = ArenaStore(store_url, backup=backup)
    first, second = added(store), added(store)
    votes = [
        store.record_vote(first.id, "anon:r1", "a", now=NOW),
        store.record_vote(second.id, "anon:r1", "tie", now=NOW),
    ]
    with pytest.raises(VoteRefused):
        store.record_vote(first.id, "anon:r1", "b", now=NOW)
    lines = backup.path.read_text().splitlines()
    assert backup.path.name.startswith("votes-") and backup.path.name.endswith(".jsonl")
    as_json = [json.loads(json.dumps(dataclasses.asdict(v))) for v in votes]  # tuples (tags) read back as lists
    assert [json.loads(line) for line in lines] == as_json == backup.lines()
    assert made[0].locked == 2 and made[0].triggered == 0
    store.close()
    assert made[0].triggered == 1  # closing asks for one last commit


def test_a_failing_backup_never_loses_the_vote(store, tmp_path, monkeypatch):
    store.backup = JsonlBackup(tmp_path / "backup")
    monkeypatch.setattr(JsonlBackup, "append", lambda self, vote: (_ for _ in ()).throw(OSError("disk full")))
    stored = added(store)
    assert store.record_vote(stored.id, "anon:r1", "a", now=NOW).outcome == "a" and store.vote_count() == 1


def test_backup_from_settings_is_off_unless_a_repo_is_set(tmp_path):
    settings = Settings(output_dir=tmp_path)
    assert backup_from_settings(settings) is None
    backup = backup_from_settings(
        dataclasses.replace(settings, arena_backup_repo="me/votes"), scheduler_factory=FakeScheduler
    )
    assert backup.folder == tmp_path / "arena" / "backup" and backup.folder.is_dir()
    assert backup.scheduler.kwargs["repo_id"] == "me/votes" and backup.scheduler.kwargs["repo_type"] == "dataset"
    assert JsonlBackup(tmp_path / "plain").scheduler is None
