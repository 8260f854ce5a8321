"""Arena votes planted in a store for tests: four honest raters and one who always picks A, optionally with images."""

import random
from pathlib import Path

from PIL import Image
from test_store import battle as planned  # one battle open 60 s, as the store tests make them

from leaderboard.arena.store import ArenaStore

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC: the planted votes all fall on that UTC day
TASK = "text-to-image"
STRENGTH = {"sd15": 2, "sd-turbo": 1, "sdxl": 0}  # the stronger model wins 4 votes in 5 from an honest rater
HONEST = ("anon:h1", "anon:h2", "anon:h3", "anon:h4")
LEFTY = "anon:lefty"  # always votes A
PAIRS = (("sd15", "sd-turbo"), ("sd15", "sdxl"), ("sd-turbo", "sdxl"))


def plant(store: ArenaStore, rater: str, model_a: str, model_b: str, outcome: str, at: float, **extra) -> None:
    """One battle started at `at` and voted on 10 s later; extra overrides Battle fields (mode, outputs_a, ...)."""
    battle = planned(rater, model_a, model_b, created_at=at, **extra)
    store.add_battle(battle)
    store.record_vote(battle.id, rater, outcome, now=at + 10)


def grey_images(outputs: Path, levels=(60, 120, 180)) -> list[str]:
    """One 8x8 grey image per level under outputs/planted, as paths relative to outputs."""
    folder = outputs / "planted"
    folder.mkdir(parents=True, exist_ok=True)
    for level in levels:
        Image.new("RGB", (8, 8), (level,) * 3).save(folder / f"grey{level}.png")
    return [f"planted/grey{level}.png" for level in levels]


def plant_arena(
    store: ArenaStore, *, lefty_votes: int = 20, session_code: str | None = None, images: list[str] | None = None
) -> None:
    """15 votes from each honest rater (random pairs and sides), then `lefty_votes` from LEFTY (in the session
    `session_code` when given); each side shows one of `images` (relative paths) drawn at random when given."""
    rng, pick = random.Random(3), random.Random(5)  # votes, images: the same votes with or without images
    at = NOW

    def shown(a, b):
        return {"outputs_a": (pick.choice(images),), "outputs_b": (pick.choice(images),)} if images else {}

    for rater in HONEST:
        for _ in range(15):
            a, b = rng.choice(PAIRS) if rng.random() < 0.5 else rng.choice(PAIRS)[::-1]
            better = "a" if STRENGTH[a] > STRENGTH[b] else "b"
            outcome = better if rng.random() < 0.8 else {"a": "b", "b": "a"}[better]
            plant(store, rater, a, b, outcome, at, **shown(a, b))
            at += 20
    session = {} if session_code is None else {"mode": "session", "session_code": session_code, "item": 0}
    for i in range(lefty_votes):
        a, b = PAIRS[i % 3] if i % 2 else PAIRS[i % 3][::-1]
        plant(store, LEFTY, a, b, "a", at, **session, **shown(a, b))
        at += 20
