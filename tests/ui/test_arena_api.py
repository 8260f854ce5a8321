"""The arena on the launched app through gradio_client: blind battles, tokens, named battles, sessions, ratings."""

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from leaderboard.arena.ui_common import DISPLAY_PX

pytestmark = pytest.mark.server
MODELS = ("sd15", "sd-turbo")  # tests/ui/conftest.py ARENA_MODELS


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def _battle(client, prompt="a paper boat on a pond"):
    image_a, image_b, token, message, *_ = client.predict(prompt, api_name="/arena_battle")
    return image_a, image_b, token, message


def _refused(client, token, outcome="a"):
    with pytest.raises(Exception) as err:
        client.predict(token, outcome, api_name="/arena_vote")
    return str(err.value)


def test_blind_battle_then_vote_reveals_names(client):
    image_a, image_b, token, message = _battle(client)
    assert "revealed after your vote" in message and not any(m in message for m in MODELS)
    for path in (image_a, image_b):
        with Image.open(path) as img:  # the 64 px stand-in enlarged 6x, so it fills its 384 px frame
            assert img.size == (DISPLAY_PX, DISPLAY_PX) and not img.info  # no PNG text chunks naming the model
        with open(path, "rb") as fh:
            assert not any(m.encode() in fh.read() for m in MODELS)
        assert not any(m in path for m in MODELS)
    token_after, reveal, *_ = client.predict(token, "b", api_name="/arena_vote")
    assert token_after == "" and "A was `" in reveal and all(m in reveal for m in MODELS)
    assert reveal.endswith(" is saved.") and "Your vote for B (" in reveal and "(B (" not in reveal
    assert "already has its vote" in _refused(client, token)  # single use


def test_bad_battles_and_votes_are_refused(client, app_server):
    for prompt, message in (("", "empty"), ("   ", "empty"), ("x" * 1001, "at most 1,000 are allowed")):
        with pytest.raises(Exception, match=message):
            client.predict(prompt, api_name="/arena_battle")
    _, _, token, _ = _battle(client)
    tampered = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    assert "ticket is not valid" in _refused(client, tampered)
    assert "ticket is not valid" in _refused(client, "")
    assert "allowed: a, b, tie, bothbad" in _refused(client, token, outcome="left")
    stranger = Client(app_server[0], verbose=False)  # another browser session: the token is not theirs
    assert "started by someone else" in _refused(stranger, token)
    _, reveal, *_ = client.predict(token, "tie", api_name="/arena_vote")  # the owner still can, once
    assert reveal.endswith("Your vote for a tie is saved.")
    _battle(client, "still serving after all that")


def test_named_battle_and_ratings(client):
    *_, token, message = client.predict("a tea cup", "sd15", "sd-turbo", api_name="/arena_named")[:4]
    assert "A is `sd15`, B is `sd-turbo`" in message
    _, reveal, *_ = client.predict(token, "a", api_name="/arena_vote")
    assert "A was `sd15`" in reveal
    with pytest.raises(Exception, match="two different"):
        client.predict("a tea cup", "sd15", "sd15", api_name="/arena_named")
    table, *_ = client.predict("text-to-image", True, api_name="/arena_ratings")
    rows = {row[0]: row for row in table["data"]}
    assert set(rows) == set(MODELS)


def test_session_through_the_api(client, app_server, tmp_path):
    created, code = client.predict(
        "api session", list(MODELS), "a red kite\na blue door", 2, api_name="/arena_session_create"
    )
    assert code in created and len(code) == 8
    progress, image_a, _, _, token, *_ = client.predict(code, "Ada", api_name="/arena_session_join")
    assert progress.startswith("**0 / 2**") and image_a and token
    progress, *_rest = client.predict(token, "a", code, "Ada", api_name="/arena_session_vote")
    assert progress.startswith("**1 / 2**")
    token = _rest[3]
    progress, *_ = client.predict(token, "bothbad", code, "Ada", api_name="/arena_session_vote")
    assert "2 / 2" in progress and "all done" in progress
    raters, _, kappa = client.predict(code, api_name="/arena_session_status")
    assert "Fleiss' kappa" in kappa
    assert raters["data"][0][:3] == ["Ada", 2, 2]
    flagged, _ = client.predict(code, api_name="/arena_session_flagged")  # rater quality: too few votes to flag
    assert flagged["headers"] == ["rater", "check", "reason", "kept"] and not any(any(r) for r in flagged["data"])
    files = client.predict(code, api_name="/arena_session_export")
    assert sorted(f.rsplit("-", 1)[-1] for f in files) == ["agreement.csv", "votes.csv"]


def test_a_gold_pair_is_served_between_items_and_not_revealed(client, tmp_path):
    reference = tmp_path / "reference.png"
    Image.new("RGB", (32, 32), (200, 40, 40)).save(reference)
    _, code = client.predict(
        "gold session", list(MODELS), "a red kite\na blue door", 2, "text-to-image", [], [], 1,
        [handle_file(str(reference))], api_name="/arena_session_create",
    )  # fmt: skip
    progress, *rest = client.predict(code, "Gil", api_name="/arena_session_join")
    progress, *rest = client.predict(rest[3], "a", code, "Gil", api_name="/arena_session_vote")
    assert progress.startswith("**1 / 2** · last one: A was `")  # then the gold pair, due before the second item
    progress, *rest = client.predict(rest[3], "a", code, "Gil", api_name="/arena_session_vote")
    assert progress == "**1 / 2** · saved"  # the gold pair: not counted, its answer not told
    progress, *_ = client.predict(rest[3], "a", code, "Gil", api_name="/arena_session_vote")
    assert "2 / 2" in progress and "all done" in progress
