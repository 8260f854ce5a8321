"""The Arena's Slices page on the launched app: ratings per prompt category, and a rater's own after 30 votes."""

import dataclasses
import time
import uuid

import pytest
from gradio_client import Client

from genart_demo.settings import Settings
from leaderboard.arena import sessions
from leaderboard.arena.battles import Arena
from leaderboard.arena.store import ArenaStore, Battle, RatingSession
from leaderboard.arena.tokens import load_secret

pytestmark = pytest.mark.server
PLANTED = "anon:slices-planted"  # kept by the organiser, so no rater-quality check leaves these votes out
TASK = "text-to-image"


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


@pytest.fixture(scope="module")
def app_store(app_server):
    store = ArenaStore(f"sqlite:///{app_server[1] / 'arena' / 'arena.db'}")
    yield store
    store.close()


def _plant(store, n, winner, loser, prompt, tags=(), *, rater=PLANTED, session_code=None) -> None:
    """n votes of `rater` for `winner` (one in 5 for `loser`), sides alternating, each cast 10 s after its battle
    started; in a session when session_code is given."""
    now = time.time()
    for i in range(n):
        a, b, outcome = (winner, loser, "a") if i % 2 == 0 else (loser, winner, "b")
        outcome = {"a": "b", "b": "a"}[outcome] if i % 5 == 4 else outcome
        battle = Battle(
            id=uuid.uuid4().hex,
            task=TASK,
            mode="session" if session_code else "anonymous",
            model_a=a,
            model_b=b,
            prompt=prompt,
            seed=i,
            outputs_a=("a.png",),
            outputs_b=("b.png",),
            rater=rater,
            created_at=now - 10,
            expires_at=now + 600,
            session_code=session_code,
            item=i if session_code else None,
            settings={"tags": list(tags)} if tags else {},
        )
        store.add_battle(battle)
        store.record_vote(battle.id, rater, outcome, now=now)


def test_ratings_per_category_with_a_filter(client, app_store):
    app_store.keep_rater(f"arena:{TASK}", PLANTED)
    _plant(app_store, 12, "sd15", "sd-turbo", "A red colored car.")  # DrawBench "Colors", found by its text
    _plant(app_store, 12, "sd-turbo", "sd15", "a kite at dusk", ("sky",))
    table, filter_update = client.predict(TASK, "All categories", api_name="/arena_slices")
    header = table["headers"]
    assert header[:3] == ["category", "model", "rating"]
    rows = {(r[0], r[1]): dict(zip(header, r)) for r in table["data"]}
    assert rows["Colors", "sd15"]["rank"] == 1 and rows["Colors", "sd15"]["votes"] == 12
    assert rows["Colors", "sd15"]["rating"] > rows["Colors", "sd-turbo"]["rating"]
    assert rows["sky", "sd-turbo"]["rating"] > rows["sky", "sd15"]["rating"]
    assert [c[0] for c in filter_update["choices"]][:1] == ["All categories"]
    assert {"Colors", "sky"} <= {c[0] for c in filter_update["choices"]}  # the filter offers the categories
    colors, chosen = client.predict(TASK, "Colors", api_name="/arena_slices")
    assert chosen["value"] == "Colors" and {r[0] for r in colors["data"]} == {"Colors"} and len(colors["data"]) == 2
    with pytest.raises(Exception, match="No votes in category 'Nope'; categories with votes: .*Colors"):
        client.predict(TASK, "Nope", api_name="/arena_slices")


def test_my_ratings_appear_at_thirty_votes(client, app_store, app_server):
    message, table = client.predict(TASK, "", "", api_name="/arena_my_ratings")  # this browser has not voted
    assert message == "You have 0 votes: 30 more votes to see your own ratings." and not table.get("visible")
    with pytest.raises(Exception, match="no rating session with code"):
        client.predict(TASK, "ZZZZZZZ2", "Ada", api_name="/arena_my_ratings")
    code = "SMYRATE3"
    app_store.create_session(
        RatingSession(code, "slices", TASK, ("sd15", "sd-turbo"), ("a pear", "a lamp"), 30, 5, time.time())
    )
    settings = dataclasses.replace(Settings.from_env({}), output_dir=app_server[1])
    ada = sessions.session_rater(Arena(None, app_store, load_secret(settings)), code, "Ada")  # the app's key
    _plant(app_store, 29, "sd15", "sd-turbo", "a pear", rater=ada, session_code=code)
    message, table = client.predict(TASK, code, "ada", api_name="/arena_my_ratings")
    assert message == "You have 29 votes: 1 more vote to see your own ratings." and not table.get("visible")
    _plant(app_store, 1, "sd15", "sd-turbo", "a lamp", rater=ada, session_code=code)
    message, table = client.predict(TASK, code, "Ada", api_name="/arena_my_ratings")
    assert message.startswith("Your own ratings, from your 30 votes") and table["visible"]
    shown = table["value"]
    assert sorted(r[0] for r in shown["data"]) == ["sd-turbo", "sd15"]
    assert [r[shown["headers"].index("votes")] for r in shown["data"]] == [30, 30]
