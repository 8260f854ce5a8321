"""What every visitor of the app can read never names the arena's vote database or where it lives."""

import urllib.request


def test_the_page_does_not_name_the_vote_database(app_server):
    """Regression: the Arena page told voters "Votes go to `sqlite:////…/arena/arena.db`"."""
    url, _, _ = app_server
    with urllib.request.urlopen(url + "config", timeout=30) as answer:
        shown = answer.read().decode("utf-8")  # every component of every page, with the text it shows
    assert "Blind pairwise votes" in shown  # the Arena page's text is there
    assert "arena.db" not in shown and "sqlite:" not in shown and "postgresql" not in shown
