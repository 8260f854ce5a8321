"""The Arena's ratings page through gradio_client on one launched app whose store holds planted votes: flagged
raters and keeping one, the stopping rule, the fragility of the top rank and the confounders' coefficients."""

import pytest
from arena_planted import LEFTY, TASK, grey_images, plant_arena  # tests/leaderboard/arena/arena_planted.py
from gradio_client import Client

from genart_demo.workspace import Workspace
from leaderboard.arena.store import ArenaStore
from tests.ui.conftest import start_app

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(servers, tmp_path_factory, cache_dir):
    """An app of its own whose vote store already holds four honest raters and one who always picks A."""
    out = tmp_path_factory.mktemp("ratings-page")
    workspace = Workspace(out, cache_dir)
    workspace.arena.mkdir(mode=0o700, parents=True)
    store = ArenaStore(f"sqlite:///{workspace.arena_db}")
    plant_arena(store, images=grey_images(out))
    store.close()
    proc, url = start_app(servers, out, cache_dir, out / "app.log")
    yield Client(url, verbose=False)
    servers.stop(proc)


def _ratings(client, rule="separated", width=100):
    table, stop, fragility, coefficients, flags, *_ = client.predict(
        TASK, False, rule, width, api_name="/arena_ratings"
    )
    return table, stop, fragility, coefficients, flags


def test_the_page_shows_what_the_ratings_rest_on_and_keeps_a_flagged_rater(client):
    table, stop, fragility, coefficients, flags = _ratings(client)
    votes = table["headers"].index("votes")
    assert sum(row[votes] for row in table["data"]) == 2 * 60  # the always-left rater's votes are left out
    assert "not yet; 1 adjacent pair(s) still overlap" in stop and "about 280 more votes likely needed" in stop
    assert "removing 5 vote(s) changes the top rank (to sd-turbo)" in fragility
    assert [row[0] for row in coefficients["data"]] == ["side", "brightness"]
    assert flags["headers"] == ["rater", "check", "reason", "kept"]
    assert [(r[0], r[1], r[3]) for r in flags["data"]] == [(LEFTY, "side", False)]

    kept = client.predict(TASK, LEFTY, "keep in the ratings", api_name="/arena_keep_rater")
    assert "anon:lefty" in kept and "kept in" in kept
    table, stop, _, _, flags = _ratings(client, "width", 150)
    assert sum(row[votes] for row in table["data"]) == 2 * 80 and flags["data"][0][3] is True
    assert "every interval under 150 points" in stop and "holds after 80 votes" in stop
    client.predict(TASK, LEFTY, "leave out", api_name="/arena_keep_rater")
    assert _ratings(client)[4]["data"][0][3] is False


def test_bad_choices_are_refused(client):
    with pytest.raises(Exception, match="is not flagged"):
        client.predict(TASK, "anon:h1", "keep in the ratings", api_name="/arena_keep_rater")
    with pytest.raises(Exception, match="above 0"):
        _ratings(client, "width", 0)
    assert "Top rank" in _ratings(client)[2]  # still serving
