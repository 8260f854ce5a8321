"""The arena never offers an image a safety checker flagged: a live battle with one is void (and recorded as such),
instant battles draw around flagged leaderboard images, and rating sessions skip such an item."""

import dataclasses
import re

import pytest
from safety_checkers import ScriptedChecker, checked

from genart_demo.registry import Registry
from genart_demo.safety import FLAGGED_TEXT
from genart_demo.studio import Studio
from leaderboard import manifest as mf
from leaderboard.arena import sessions
from leaderboard.arena.battles import FLAGGED_VOID, Arena, BattleFlagged
from leaderboard.runner import run_from_args

MODELS = ("sd15", "sd-turbo")


@pytest.fixture
def arena(studio, tmp_path):
    """An arena over the session's stand-ins (their pipelines shared, so a checker attached to one is used), at two
    denoising steps so the battles are quick."""
    settings = dataclasses.replace(studio.settings, output_dir=tmp_path / "out", arena_models=MODELS, db_url="")
    quick = {s.id: dataclasses.replace(s, defaults=dataclasses.replace(s.defaults, steps=2)) for s in studio.registry}
    made = Arena.open(Studio(settings, Registry(quick), studio.cache, True, "tests"))
    made.rng.seed(3)
    yield made
    made.store.close()


def test_a_flagged_image_voids_the_battle(arena):
    message = re.escape(f"Model A's image was {FLAGGED_TEXT}, so this battle is void")
    with checked(arena.studio, "sd15", ScriptedChecker([True])), pytest.raises(BattleFlagged, match=message):
        arena.named_battle("text-to-image", "sd15", "sd-turbo", "a bridge", "anon:r1")
    (battle,) = arena.store.battles()
    assert battle.status == "void" and battle.void_reason == f"{FLAGGED_VOID}: model A's image was {FLAGGED_TEXT}"
    assert battle.outputs_a and arena.flagged(battle.outputs_a) and not arena.flagged(battle.outputs_b)
    assert arena.store.vote_count() == 0 and arena.ratings(include_named=True, min_votes=1).empty
    # the black image stays cached under its (model, prompt, seed): read back from its PNG, it is refused again
    again = arena.output_paths("text-to-image", "sd15", "a bridge", battle.seed)
    assert again == battle.outputs_a and arena.flagged(again)


def test_instant_battles_draw_around_flagged_leaderboard_images(arena, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a snowy owl\na tin robot\n")
    out = arena.studio.settings.output_dir / "leaderboard" / "pool"
    with checked(arena.studio, "sd15", ScriptedChecker([False, True])):
        run_from_args(
            out, prompts=str(prompts), models=list(MODELS), seeds=[0], batch_size=2, steps=2, studio=arena.studio
        )
    (flagged,) = [r for r in mf.read_manifest(out) if r["nsfw_flagged"]]
    pool = arena.cached_outputs()
    assert (flagged["prompt"], 0) not in pool["sd15"] and len(pool["sd15"]) == 1 and len(pool["sd-turbo"]) == 2
    for _ in range(4):
        view = arena.instant_battle("text-to-image", "anon:r1")
        assert view.prompt != flagged["prompt"]
        arena.vote(view.token, "tie", "anon:r1")


def test_a_session_skips_an_item_whose_image_is_flagged(arena):
    session = sessions.create_session(arena, "s", list(MODELS), ["a red kite", "a blue boat"], 2, seed=11)
    _, first, _ = sessions.join_session(arena, session.code, "ada")
    _, second, _ = sessions.join_session(arena, session.code, "bob")
    with checked(arena.studio, "sd15", ScriptedChecker([True, False])) as entry:
        view = sessions.next_battle(arena, session, first)  # item one is flagged (void), item two is offered
        arena.vote(view.token, "a", first)
        assert sessions.next_battle(arena, session, first) is None
        seen = entry.pipe.safety_checker.seen
        other = sessions.next_battle(arena, session, second)  # skips the flagged item without remaking it
        assert entry.pipe.safety_checker.seen == seen
    (void,) = [b for b in arena.store.battles(session_code=session.code) if b.status == "void"]
    assert void.void_reason.startswith(FLAGGED_VOID) and {view.item, other.item} == {1 - void.item}
