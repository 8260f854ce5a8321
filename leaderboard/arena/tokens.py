"""Signed, expiring battle tokens: a vote counts only with the token its battle was issued with, from its rater."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from pathlib import Path

from genart_demo.errors import InputError

from .store import vote_refused

SECRET_BYTES = 32  # length of a generated key
SECRET_WAIT_S = 1.0  # how long to wait for another process that has just created the key file to fill it
TOKEN_MAX_CHARS = 1024  # longer strings are refused before any decoding
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def load_secret(settings) -> bytes:
    """settings.arena_secret if set, else the key file of the workspace (Workspace.arena_key), made once (32 random bytes,
    mode 0600). The file is created with O_EXCL, so processes starting at the same time all use the same key."""
    if settings.arena_secret:
        return settings.arena_secret.encode("utf-8")
    path = settings.workspace.arena_key
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    key = secrets.token_bytes(SECRET_BYTES)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


def _read_secret(path: Path) -> bytes:
    deadline = time.monotonic() + SECRET_WAIT_S
    while True:
        key = path.read_bytes()
        if len(key) >= SECRET_BYTES:
            return key
        if time.monotonic() > deadline:
            raise InputError(
                f"The arena key {path} holds {len(key)} bytes, not {SECRET_BYTES}: delete it to make "
                "a new one (battles already shown can then no longer be voted on)."
            )
        time.sleep(0.01)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    """The bytes of unpadded base64url text; None unless `text` is exactly how _b64 writes them."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _b64(raw) == text else None


def _signature(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()


def _rater_tag(secret: bytes, rater: str) -> str:
    """A keyed digest of the rater id: the token says whose it is without showing the id to the page."""
    return hmac.new(secret, b"rater\0" + rater.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def issue_token(secret: bytes, battle_id: str, rater: str, expires_at: float) -> str:
    """A URL-safe token for one vote on the battle by `rater` until `expires_at` (unix seconds):
    base64url(JSON payload) + "." + base64url(HMAC-SHA256(secret, payload)), without padding."""
    payload = json.dumps(
        {"b": str(battle_id), "e": float(expires_at), "r": _rater_tag(secret, rater)},
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")
    return _b64(payload) + "." + _b64(_signature(secret, payload))


def _signed_payload(secret: bytes, token: str) -> dict:
    """The token's payload if `secret` signed it; VoteRefused("forged") otherwise."""
    if not isinstance(token, str) or len(token) > TOKEN_MAX_CHARS or not _TOKEN.fullmatch(token):
        raise vote_refused("forged")
    body, mac = (_unb64(part) for part in token.split("."))
    if body is None or mac is None or not hmac.compare_digest(mac, _signature(secret, body)):
        raise vote_refused("forged")
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("b"), str)
        and payload["b"]
        and isinstance(payload.get("r"), str)
        and type(payload.get("e")) in (int, float)
    ):
        raise vote_refused("forged")
    return payload


def read_token(secret: bytes, token: str, rater: str, now: float) -> str:
    """The battle id the token was issued for, if it is genuine, issued to `rater` and not expired at `now`;
    otherwise VoteRefused("forged" | "foreign" | "expired"). Single use is the store's job (record_vote)."""
    payload = _signed_payload(secret, token)
    if not hmac.compare_digest(payload["r"], _rater_tag(secret, str(rater))):
        raise vote_refused("foreign")
    if now > payload["e"]:
        raise vote_refused("expired")
    return payload["b"]


def token_battle_id(token: str) -> str:
    """The battle id written in a token, read WITHOUT checking the signature: for logs and audits of tokens the
    server issued, never for deciding whether a vote counts (that is read_token)."""
    try:
        body = _unb64(str(token).split(".")[0])
        return str(json.loads(body)["b"]) if body else ""
    except (ValueError, KeyError, TypeError):
        return ""
