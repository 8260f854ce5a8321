"""The arena store under load, on SQLite and PostgreSQL: no vote lost or doubled across threads, stores, processes."""

import json
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from leaderboard.arena.store import OUTCOMES, ArenaStore, Battle, Vote, VoteRefused

ROOT = Path(__file__).resolve().parents[3]
NOW = 1_700_000_000.0
THREADS, VOTES_EACH = 16, 50


def battle(rater: str) -> Battle:
    return Battle(
        id=uuid.uuid4().hex,
        task="text-to-image",
        mode="anonymous",
        model_a="sd15",
        model_b="sd-turbo",
        prompt="a kite",
        seed=1,
        outputs_a=("a.png",),
        outputs_b=("b.png",),
        rater=rater,
        created_at=NOW,
        expires_at=NOW + 600,
    )


def run_together(n: int, work) -> list:
    """work(i) on n threads released at the same moment; each thread's return value or VoteRefused, in order.
    Any other exception fails the test."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except VoteRefused as refused:
            results[i] = refused
        except BaseException as err:  # noqa: BLE001 - reported by the assert below
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, VoteRefused)]
    assert not unexpected, unexpected
    return results


def assert_one_vote_each(store: ArenaStore, battles: list[Battle]) -> None:
    votes = store.votes(modes=None)
    assert store.vote_count() == len(votes) == len(battles)
    assert sorted(v.battle_id for v in votes) == sorted(b.id for b in battles)  # none lost, none doubled
    assert len({v.id for v in votes}) == len(votes)
    assert {b.status for b in store.battles()} == {"voted"}


def test_sixteen_threads_of_fifty_votes_end_with_exactly_800(store):
    mine = [[battle(f"anon:t{t}") for _ in range(VOTES_EACH)] for t in range(THREADS)]

    def vote_fifty(t):
        for i, b in enumerate(mine[t]):
            store.add_battle(b)
            store.record_vote(b.id, b.rater, OUTCOMES[(t + i) % 4], now=NOW)
        return t

    assert run_together(THREADS, vote_fifty) == list(range(THREADS))
    assert_one_vote_each(store, [b for row in mine for b in row])
    assert store.vote_count() == THREADS * VOTES_EACH == 800


def test_voters_racing_on_one_battle_write_exactly_one_vote(store):
    for _ in range(4):
        contested = battle("anon:r1")
        store.add_battle(contested)
        results = run_together(THREADS, lambda i, b=contested: store.record_vote(b.id, "anon:r1", OUTCOMES[i % 4], NOW))
        won = [r for r in results if isinstance(r, Vote)]
        assert len(won) == 1 and [r.reason for r in results if isinstance(r, VoteRefused)] == ["replayed"] * 15
        assert store.votes(modes=None)[-1] == won[0]
    assert store.vote_count() == 4


def test_stores_opening_a_new_sqlite_file_together_all_open(tmp_path):
    """Four stores created at the same moment on a file that does not exist yet, 40 times: each opens (switching a
    new file to WAL used to answer "database is locked" at once to about one start in twelve)."""
    for trial in range(40):
        url = f"sqlite:///{tmp_path / f'arena-{trial}.db'}"
        stores = run_together(4, lambda i, url=url: ArenaStore(url))
        assert all(isinstance(s, ArenaStore) for s in stores)
        for store in stores:
            assert store.vote_count() == 0
            store.close()


def test_two_stores_on_one_database_share_every_vote(store_url):
    first, second = run_together(2, lambda i: ArenaStore(store_url))  # both create the tables at the same moment
    stores = (first, second)
    try:
        mine = [[battle(f"anon:t{t}") for _ in range(25)] for t in range(8)]
        contested = battle("anon:shared")
        first.add_battle(contested)

        def vote(t):
            try:  # all eight at once, four through each store
                result = stores[t % 2].record_vote(contested.id, "anon:shared", "b", NOW)
            except VoteRefused as refused:
                result = refused
            for b in mine[t]:
                stores[t % 2].add_battle(b)
                stores[(t + 1) % 2].record_vote(b.id, b.rater, "a", now=NOW)  # added by one store, voted by the other
            return result

        results = run_together(8, vote)
        assert sum(isinstance(r, Vote) for r in results) == 1
        assert [r.reason for r in results if isinstance(r, VoteRefused)] == ["replayed"] * 7
        assert_one_vote_each(second, [b for row in mine for b in row] + [contested])
        assert first.votes(modes=None) == second.votes(modes=None) and first.vote_count() == 201
    finally:
        first.close()
        second.close()


CHILD = """
import json, sys
from leaderboard.arena.store import ArenaStore, VoteRefused
store = ArenaStore(sys.argv[1])
ids = json.loads(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
won, refused = 0, []
for battle_id in ids:
    try:
        store.record_vote(battle_id, "anon:r1", "a", now=float(sys.argv[3]))
        won += 1
    except VoteRefused as err:
        refused.append(err.reason)
store.close()
print(json.dumps({"won": won, "refused": refused}), flush=True)
"""


def test_two_processes_voting_on_the_same_battles_count_each_once(store, store_url):
    contested = [battle("anon:r1") for _ in range(60)]
    for b in contested:
        store.add_battle(b)
    args = [store_url, json.dumps([b.id for b in contested]), str(NOW)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            cwd=ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
        for child in children:  # both start voting at once
            child.stdin.write("go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            reports.append(json.loads(out))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert sum(r["won"] for r in reports) == 60 and store.vote_count() == 60
    for r in reports:
        assert r["won"] + len(r["refused"]) == 60 and set(r["refused"]) <= {"replayed"}
    assert_one_vote_each(store, contested)
