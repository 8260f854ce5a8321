"""Battle tokens: round trip, and forged, expired and foreign tokens refused; the secret key file made once."""

import base64
import json
import os
import re
import stat
import threading
from dataclasses import replace

import pytest

from genart_demo.errors import InputError
from genart_demo.settings import Settings
from leaderboard.arena import tokens
from leaderboard.arena.store import REFUSALS, VoteRefused
from leaderboard.arena.tokens import issue_token, load_secret, read_token

SECRET = b"k" * 32
BATTLE = "0123456789abcdef0123456789abcdef"
NOW = 1_700_000_000.0


def refusal(token, rater="anon:r1", now=NOW, secret=SECRET) -> str:
    """The reason read_token refuses the token with (fails the test if it is accepted)."""
    with pytest.raises(VoteRefused) as err:
        read_token(secret, token, rater, now)
    assert str(err.value) == REFUSALS[err.value.reason]
    return err.value.reason


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_token_round_trips_and_is_url_safe():
    token = issue_token(SECRET, BATTLE, "anon:r1", NOW + 60)
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token) and "=" not in token
    assert read_token(SECRET, token, "anon:r1", NOW) == BATTLE
    assert read_token(SECRET, token, "anon:r1", NOW + 60) == BATTLE  # valid up to expires_at itself
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert json.loads(payload)["b"] == BATTLE and b"anon:r1" not in payload  # the page never sees the rater id
    assert len(base64.urlsafe_b64decode(token.split(".")[1] + "==")) == 32  # HMAC-SHA256


def test_expired_and_foreign_tokens_are_refused():
    token = issue_token(SECRET, BATTLE, "anon:r1", NOW + 60)
    assert refusal(token, now=NOW + 60.001) == "expired"
    assert refusal(token, rater="anon:r2") == "foreign"
    assert refusal(token, rater="hf:anon:r1") == "foreign"
    assert refusal(token, rater="") == "foreign"


def test_forged_and_malformed_tokens_are_refused():
    token = issue_token(SECRET, BATTLE, "anon:r1", NOW + 60)
    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    longer = b64(json.dumps({**payload, "e": NOW + 1e9}).encode())  # a later expiry, keeping the old signature
    other = b64(json.dumps({**payload, "b": "f" * 32}).encode())  # another battle
    flipped = mac[:-2] + ("AA" if not mac.endswith("AA") else "BB")
    cases = [
        longer + "." + mac,
        other + "." + mac,
        body + "." + flipped,
        body + "." + mac[:-1],
        body + "x." + mac,
        body + "." + mac + "A",
        body,
        "." + mac,
        body + ".",
        "a.b.c",
        "",
        "not-a-token",
        token + "=",
        token.replace(".", ".."),
        token + " ",
        "x" * 2000 + "." + mac,
        None,
        42,
        b"bytes",
    ]
    for bad in cases:
        assert refusal(bad) == "forged", bad
    assert refusal(token, secret=b"another key" * 3) == "forged"
    assert refusal(issue_token(b"another key", BATTLE, "anon:r1", NOW + 60)) == "forged"


def test_well_signed_payloads_of_the_wrong_shape_are_refused():
    from leaderboard.arena.tokens import _signature

    def signed(raw: bytes) -> str:
        return b64(raw) + "." + b64(_signature(SECRET, raw))

    tag = json.loads(base64.urlsafe_b64decode(issue_token(SECRET, BATTLE, "anon:r1", NOW).split(".")[0] + "=="))["r"]
    assert (
        read_token(SECRET, signed(json.dumps({"b": BATTLE, "e": NOW + 5, "r": tag}).encode()), "anon:r1", NOW) == BATTLE
    )
    for raw in (
        b"not json",
        b"[1, 2]",
        json.dumps({"b": BATTLE, "r": tag}).encode(),
        json.dumps({"b": "", "e": NOW + 5, "r": tag}).encode(),
        json.dumps({"b": BATTLE, "e": "soon", "r": tag}).encode(),
        json.dumps({"b": BATTLE, "e": True, "r": tag}).encode(),
        json.dumps({"b": 7, "e": NOW + 5, "r": tag}).encode(),
    ):
        assert refusal(signed(raw)) == "forged", raw


def test_vote_refused_is_an_input_error_with_a_known_reason():
    err = VoteRefused("replayed", "already voted")
    assert isinstance(err, InputError) and isinstance(err, ValueError) and err.reason == "replayed"
    with pytest.raises(ValueError, match="allowed: forged, expired"):
        VoteRefused("bored", "no")
    assert set(REFUSALS) == {"forged", "expired", "foreign", "replayed", "void", "unknown", "outcome"}


def test_the_secret_comes_from_settings_when_set(tmp_path):
    settings = Settings(output_dir=tmp_path, arena_secret="a long shared secret")
    assert load_secret(settings) == b"a long shared secret"
    assert not (tmp_path / "arena" / "secret.key").exists()


def test_the_secret_key_file_is_made_once_and_private(tmp_path):
    settings = Settings(output_dir=tmp_path)
    key = load_secret(settings)
    path = tmp_path / "arena" / "secret.key"
    assert len(key) == 32 and path.read_bytes() == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(replace(settings)) == key  # a second process reads the same key
    token = issue_token(key, BATTLE, "anon:r1", NOW + 60)
    assert read_token(load_secret(settings), token, "anon:r1", NOW) == BATTLE


def test_processes_starting_together_agree_on_one_key(tmp_path):
    settings, barrier, keys = Settings(output_dir=tmp_path), threading.Barrier(12), []

    def start():
        barrier.wait()
        keys.append(load_secret(settings))

    threads = [threading.Thread(target=start) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 12 and len(set(keys)) == 1 and len(keys[0]) == 32


def test_a_key_file_left_empty_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(tokens, "SECRET_WAIT_S", 0.05)
    (tmp_path / "arena").mkdir()
    (tmp_path / "arena" / "secret.key").write_bytes(b"")
    with pytest.raises(InputError, match="holds 0 bytes, not 32: delete it"):
        load_secret(Settings(output_dir=tmp_path))
    assert os.path.getsize(tmp_path / "arena" / "secret.key") == 0  # never overwritten behind the user's back
