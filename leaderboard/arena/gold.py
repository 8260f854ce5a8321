"""Gold pairs for rating sessions: an organiser's reference image against a corrupted twin genart makes of it, mixed
into each rater's order as known-answer battles that check the rater and never enter the ratings."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from genart_demo.errors import InputError
from genart_demo.imageio import load_image
from genart_demo.tasks.video import VIDEO_TASKS

from .battles import BattleView
from .records import BAD, GOOD, Battle, RatingSession
from .tokens import issue_token

GOLD_EVERY = 10  # one gold pair in each run of this many session items of a rater's order (never the very first)
MAX_GOLD_IMAGES = 50
BLUR_SHARE = 0.03  # Gaussian blur radius of the twin, as a share of the image's shorter side (at least 3 px)
NOISE_SD = 40.0  # then Gaussian noise of this standard deviation, in 0-255 levels
NOISE_SEED = 0  # the same noise for the same image: a session made twice gets the same twins


def corrupted(image: Image.Image) -> Image.Image:
    """The gold twin of an RGB image: blurred (radius BLUR_SHARE of its shorter side) then noised (NOISE_SD), so
    an attentive rater prefers the original every time; the same image always gives the same twin."""
    radius = max(3.0, BLUR_SHARE * min(image.size))
    blurred = np.asarray(image.convert("RGB").filter(ImageFilter.GaussianBlur(radius)), dtype=np.float64)
    noise = np.random.default_rng(NOISE_SEED).normal(0.0, NOISE_SD, blurred.shape)
    return Image.fromarray(np.clip(blurred + noise, 0, 255).round().astype(np.uint8))


def _saved(folder: Path, image: Image.Image, outputs: Path) -> str:
    """The image saved once as PNG under folder, named by a hash of its pixels; its path relative to outputs."""
    digest = hashlib.sha256(f"{image.mode}|{image.size}|".encode() + image.tobytes()).hexdigest()[:32]
    path = folder / f"{digest}.png"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".png", delete=False) as tmp:
            image.save(tmp, format="PNG")
        os.replace(tmp.name, path)  # atomic: a half-written image is never shown
    return str(path.relative_to(outputs))


def store_gold(workspace, task: str, files: Sequence[object], max_pixels: int) -> tuple[dict, ...] | None:
    """Each uploaded reference image checked, saved with its corrupted twin in the arena's private folder
    (arena/gold) and described as {"good": rel, "bad": rel, "prompt": ""}; None when there are none."""
    files = [f for f in (files or []) if f is not None]
    if not files:
        return None
    if task in VIDEO_TASKS:
        raise InputError(f"Gold images check raters of image sessions; {task} sessions show videos, so leave them out.")
    if len(files) > MAX_GOLD_IMAGES:
        raise InputError(f"A session takes at most {MAX_GOLD_IMAGES} gold images; got {len(files)}.")
    loaded = [load_image(f, label=f"gold image {n}", limit=max_pixels).image for n, f in enumerate(files, 1)]
    folder = workspace.arena / "gold"
    return tuple(
        {
            "good": _saved(folder, image, workspace.outputs),
            "bad": _saved(folder, corrupted(image), workspace.outputs),
            "prompt": "",
        }
        for image in loaded
    )


@dataclass(frozen=True)
class GoldSlot:
    """One gold pair in a rater's order."""

    slot: int  # the rater's n-th gold pair: the item of its battles
    position: int  # shown before the session item at this place of the rater's order
    gold: int  # which of the session's gold pairs
    good_left: bool  # the reference on side A


def gold_slots(session: RatingSession, rater: str) -> list[GoldSlot]:
    """The rater's gold pairs: one in each run of GOLD_EVERY items at a random place (never first), the session's
    gold pairs dealt in a shuffled cycle, sides random; the same (session, rater) always gives the same slots."""
    if not session.gold:
        return []
    digest = hashlib.sha256(f"gold|{session.seed}|{rater}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    n, deck, slots = session.pairs_per_rater, [], []
    for start in range(0, n, GOLD_EVERY):
        first, end = max(start, 1), min(start + GOLD_EVERY, n)
        if first >= end:
            continue
        if not deck:
            deck = rng.sample(range(len(session.gold)), len(session.gold))
        slots.append(GoldSlot(len(slots), rng.randrange(first, end), deck.pop(), rng.random() < 0.5))
    return slots


def gold_battle(arena, session: RatingSession, rater: str, slot: GoldSlot) -> BattleView:
    """A stored gold battle for the rater's slot and its BattleView (mode "gold": checked, never rated)."""
    pair = session.gold[slot.gold]
    left, right = (GOOD, BAD) if slot.good_left else (BAD, GOOD)
    files = {GOOD: (pair["good"],), BAD: (pair["bad"],)}
    now = arena.clock()
    battle = Battle(
        id=uuid.uuid4().hex,
        task=session.task,
        mode="gold",
        model_a=left,
        model_b=right,
        prompt=str(pair.get("prompt") or ""),
        seed=0,
        outputs_a=files[left],
        outputs_b=files[right],
        rater=rater,
        created_at=now,
        expires_at=now + arena.studio.settings.arena_token_ttl_s,
        session_code=session.code,
        item=slot.slot,
        settings={"gold": slot.gold},
    )
    arena.store.add_battle(battle)
    token = issue_token(arena.secret, battle.id, rater, battle.expires_at)
    return BattleView(
        token=token,
        prompt=battle.prompt,
        outputs_a=arena.absolute(battle.outputs_a),
        outputs_b=arena.absolute(battle.outputs_b),
        mode="gold",
        task=session.task,
    )
