"""Durability: the app is killed with SIGKILL while votes come in; after a restart every acknowledged vote is there,
on SQLite (the default file) and on PostgreSQL (GENART_DB_URL)."""

import dataclasses
import os
import signal
import threading
import time

import pytest
from gradio_client import Client

from genart_demo.settings import Settings
from leaderboard.arena.rated import rated_votes
from leaderboard.arena.store import ArenaStore
from leaderboard.arena.tokens import token_battle_id
from leaderboard.runner import run_from_args
from tests.leaderboard.conftest import pg_url, store_url  # noqa: F401  (the arena store fixtures: both backends)

pytestmark = pytest.mark.server
MODELS = ("sd15", "sd-turbo")
VOTERS = 4


def test_acknowledged_votes_survive_sigkill(studio, launch_app, tmp_path, store_url):  # noqa: F811  (the fixture)
    db_url = "" if store_url.startswith("sqlite") else store_url  # SQLite: the app's default outputs/arena/arena.db
    env = {"GENART_DB_URL": db_url} if db_url else {}
    out = tmp_path / "out"
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a glass of water\na wooden chair\na yellow taxi\n")
    # a pre-generated pool, so each battle is only database work and votes arrive fast
    run_from_args(
        out / "leaderboard" / "pool",
        prompts=str(prompts),
        models=list(MODELS),
        seeds=[0, 1],
        batch_size=3,
        studio=studio,
    )
    log_path = tmp_path / "app.log"
    proc, url = launch_app(out, log_path, **env)

    acknowledged: list[str] = []  # tokens of the votes the server said it saved
    lock = threading.Lock()
    stop = threading.Event()

    def voter():
        client = Client(url, verbose=False)
        while not stop.is_set():
            try:
                _, _, _, token, *_ = client.predict(api_name="/arena_instant")
                _, reveal, *_ = client.predict(token, "a", api_name="/arena_vote")
            except Exception:  # noqa: BLE001  (the server is gone)
                return
            if "is saved" in reveal:
                with lock:
                    acknowledged.append(token)

    threads = [threading.Thread(target=voter, daemon=True) for _ in range(VOTERS)]
    for t in threads:
        t.start()
    deadline = time.time() + 120
    while time.time() < deadline and len(acknowledged) < 40:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)  # no shutdown handlers, no flush: whatever was committed must be on disk
    proc.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    with lock:
        saved = list(acknowledged)
    assert len(saved) >= 40, f"only {len(saved)} votes in 120 s:\n{log_path.read_text()[-2000:]}"

    _, url = launch_app(out, log_path, **env)  # restart on the same database
    settings = dataclasses.replace(Settings.from_env(), output_dir=out, db_url=db_url)
    store = ArenaStore.from_settings(settings)
    try:
        stored = {v.battle_id for v in store.votes(modes=None)}
        counted = rated_votes(store, "text-to-image").votes  # less the votes of raters flagged (these vote fast)
        assert len(rated_votes(store, "text-to-image", keep_flagged=True).votes) == len(stored)
    finally:
        store.close()
    missing = [token for token in saved if token_battle_id(token) not in stored]
    assert not missing, f"{len(missing)} of {len(saved)} acknowledged votes are missing after SIGKILL"
    assert len(stored) >= len(saved)  # votes committed in the instant before the kill may not have been answered
    print(
        f"SIGKILL durability ({store_url.split(':')[0]}): {len(saved)} votes acknowledged, {len(stored)} stored after restart"
    )
    table, *_ = Client(url, verbose=False).predict("text-to-image", False, api_name="/arena_ratings")
    column = table["headers"].index("votes")
    assert sum(row[column] for row in table["data"]) == 2 * len(counted)  # each vote counts for both its models
