"""Gold pairs and flagged raters in rating sessions: the corrupted twin, where gold pairs fall in a rater's order,
a simulated session whose careless raters are flagged with reasons, the organiser keeping a rater (both backends),
and gold votes kept out of the ratings."""

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.studio import Studio
from leaderboard.arena import sessions
from leaderboard.arena.battles import Arena
from leaderboard.arena.gold import BAD, GOLD_EVERY, GOOD, corrupted, gold_slots
from leaderboard.arena.rater_quality import QualityRules
from leaderboard.arena.records import RatingSession
from leaderboard.arena.tokens import token_battle_id

MODELS = ("sd15", "sd-turbo", "ldm-text2im")  # best first: how the honest raters judge
PROMPTS = ["a red bicycle", "a blue whale", "a green apple"]
TASK = "text-to-image"


def _picture(seed: int, size=(48, 40)) -> Image.Image:
    """A sharp random picture: blocks of colour, so blurring it changes it a lot."""
    blocks = np.random.default_rng(seed).integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks.repeat(8, axis=0).repeat(8, axis=1))


@pytest.fixture
def gold_files(tmp_path):
    paths = []
    for k in range(2):
        paths.append(tmp_path / f"gold{k}.png")
        _picture(k).save(paths[-1])
    return [str(p) for p in paths]


def _arena(studio, tmp_path, db_url=""):
    """An arena over the three stand-ins whose battles all show one ready-made picture (no generation)."""
    settings = dataclasses.replace(studio.settings, output_dir=tmp_path / "out", arena_models=MODELS, db_url=db_url)
    made = Arena.open(Studio(settings, studio.registry, studio.cache, True, "tests"))
    shown = settings.workspace.arena_images / "shown.png"
    shown.parent.mkdir(parents=True, exist_ok=True)
    _picture(9).save(shown)
    made.output_paths = lambda *args, **kwargs: (str(shown.relative_to(settings.workspace.outputs)),)
    made.clock = itertools.count(1_000_000, 3).__next__  # raters who look 3 s at each pair: none votes too fast
    return made


@pytest.fixture
def arena(studio, tmp_path):
    made = _arena(studio, tmp_path)
    yield made
    made.close()


def test_the_corrupted_twin_is_made_the_same_way_every_time_and_is_far_from_the_original():
    image = _picture(0)
    twin = corrupted(image)
    assert twin.size == image.size and twin.mode == "RGB"
    assert np.array_equal(np.asarray(twin), np.asarray(corrupted(image)))  # deterministic
    diff = np.abs(np.asarray(twin, dtype=float) - np.asarray(image, dtype=float))
    assert diff.mean() > 30  # blur + noise: far from the reference, an easy call for an attentive rater


def test_gold_images_are_stored_with_their_twins_in_the_arena_folder(arena, gold_files, tmp_path):
    session = sessions.create_session(arena, "g", MODELS[:2], PROMPTS, 20, gold_images=gold_files, seed=1)
    assert len(session.gold) == 2 and arena.store.get_session(session.code).gold == session.gold
    workspace = arena.studio.settings.workspace
    for pair, source in zip(session.gold, gold_files):
        assert pair["prompt"] == ""
        good, bad = (workspace.outputs / pair[k] for k in ("good", "bad"))
        assert good.parent == workspace.arena / "gold" and bad.parent == good.parent
        assert np.array_equal(np.asarray(Image.open(good)), np.asarray(Image.open(source).convert("RGB")))
        assert np.array_equal(np.asarray(Image.open(bad)), np.asarray(corrupted(Image.open(source).convert("RGB"))))
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture")
    with pytest.raises(InputError, match="gold image 2"):
        sessions.create_session(arena, "g", MODELS[:2], PROMPTS, 20, gold_images=[gold_files[0], str(not_image)])


def test_gold_pairs_fall_about_one_in_ten_never_first_and_the_same_for_the_same_rater():
    gold = ({"good": "g0", "bad": "b0", "prompt": ""}, {"good": "g1", "bad": "b1", "prompt": ""})
    session = RatingSession("K7Q2MX4P", "s", TASK, MODELS, tuple(PROMPTS), 45, 3, 0.0, gold=gold)
    slots = gold_slots(session, "session:ada")
    assert len(slots) == 5 and [s.slot for s in slots] == list(range(5))
    for s in slots:  # one in each run of GOLD_EVERY items, never before the first item
        assert max(1, s.slot * GOLD_EVERY) <= s.position < min((s.slot + 1) * GOLD_EVERY, 45)
    assert slots == gold_slots(session, "session:ada")
    assert {s.gold for s in slots[:2]} == {0, 1}  # dealt from a shuffled deck: both before either twice
    sides = [s.good_left for r in range(40) for s in gold_slots(session, f"session:{r}")]
    assert 0.3 < np.mean(sides) < 0.7
    assert gold_slots(dataclasses.replace(session, gold=None), "session:ada") == []


def _judge(arena, view, kind: str) -> str:
    """kind "honest": the better model (MODELS order) and the gold reference; "left": always A; "gold-fail":
    honest on items, the corrupted twin on gold pairs."""
    battle = arena.store.get_battle(token_battle_id(view.token))
    if kind == "left":
        return "a"
    if battle.mode == "gold":
        wanted = GOOD if kind == "honest" else BAD
        return "a" if battle.model_a == wanted else "b"
    return "a" if MODELS.index(battle.model_a) < MODELS.index(battle.model_b) else "b"


def _rate(arena, session, name: str, kind: str) -> tuple[str, int]:
    """(rater id, votes cast) after the rater voted through the session as `kind` would."""
    _, rater, _ = sessions.join_session(arena, session.code, name)
    cast = 0
    while (view := sessions.next_battle(arena, session, rater)) is not None:
        arena.vote(view.token, _judge(arena, view, kind), rater)
        cast += 1
    return rater, cast


def test_careless_raters_are_flagged_with_reasons_and_gold_votes_never_rate(arena, gold_files, tmp_path):
    session = sessions.create_session(arena, "pilot", MODELS, PROMPTS, 20, gold_images=gold_files, seed=5)
    cast = {
        name: _rate(arena, session, name, kind)[1]
        for name, kind in (("Ada", "honest"), ("Lefty", "left"), ("Goldie", "gold-fail"))
    }
    assert cast == {"Ada": 22, "Lefty": 22, "Goldie": 22}  # 20 items and 2 gold pairs each
    status = sessions.status_table(arena, session.code)
    assert status[["rater", "done", "total"]].values.tolist() == [
        ["Ada", 20, 20],
        ["Lefty", 20, 20],
        ["Goldie", 20, 20],
    ]

    table = sessions.quality_table(arena, session.code, QualityRules(gold_min_votes=2))
    assert set(table["rater"]) == {"Lefty", "Goldie"}  # the honest rater is not listed
    lefty = table[table["rater"] == "Lefty"].set_index("check")["reason"]
    assert "picks one side: A (left) on 22 of 22 decisive votes" in lefty["side"]
    goldie = table[table["rater"] == "Goldie"].set_index("check")["reason"]
    assert list(goldie.index) == ["gold"] and "right on 0 of 2 pairs whose answer is known" in goldie["gold"]
    assert set(table["kept"]) == {"no"}

    rated = arena.rated_votes(TASK, keep_flagged=True).votes  # gold votes never reach the ratings
    assert len(rated) == 60 and set(rated["mode"]) == {"session"}
    assert not any(m.startswith("gold:") for m in arena.ratings(min_votes=1)["model"])
    assert sessions.votes_table(arena, session.code)["item"].between(0, 19).all()  # nor the agreement

    votes, _ = sessions.export_session(arena, session.code, tmp_path / "export")
    exported = pd.read_csv(votes, keep_default_na=False).groupby("rater")[["flagged", "kept"]].first()
    assert exported.loc["Ada"].tolist() == ["", ""]
    assert "side" in exported.loc["Lefty", "flagged"].split(";") and exported.loc["Lefty", "kept"] == "no"


def test_the_organiser_keeps_a_flagged_rater_and_leaves_them_out_again(studio, tmp_path, store_url):
    arena = _arena(studio, tmp_path, db_url=store_url)  # on SQLite and on PostgreSQL
    try:
        session = sessions.create_session(arena, "keep", MODELS[:2], PROMPTS, 12, seed=2)
        lefty, _ = _rate(arena, session, "Lefty", "left")
        assert sessions.quality_table(arena, session.code)[["rater", "check", "kept"]].values.tolist() == [
            ["Lefty", "side", "no"]
        ]
        assert arena.rated_votes(TASK).votes.empty  # flagged: left out of the ratings
        kept = sessions.keep_rater(arena, session.code, " lefty ")
        assert kept["kept"].tolist() == ["yes"] and arena.store.kept_raters(session.code) == {lefty}
        assert len(arena.rated_votes(TASK).votes) == 12
        again = sessions.keep_rater(arena, session.code, "Lefty", keep=False)
        assert again["kept"].tolist() == ["no"] and arena.store.kept_raters(session.code) == set()
        assert arena.rated_votes(TASK).votes.empty
        with pytest.raises(InputError, match="has no rater named 'Nobody'"):
            sessions.keep_rater(arena, session.code, "Nobody")
    finally:
        arena.close()


def test_a_rater_who_fails_gold_pairs_is_left_out_of_the_ratings_unless_kept(arena, gold_files):
    session = sessions.create_session(arena, "pilot", MODELS, PROMPTS, 41, gold_images=gold_files, seed=8)
    ada, _ = _rate(arena, session, "Ada", "honest")
    goldie, cast = _rate(arena, session, "Goldie", "gold-fail")
    assert cast == 46  # 41 items and 5 gold pairs: enough for the default gold test (QualityRules.gold_min_votes)
    counted = arena.rated_votes(TASK)
    assert [(f.rater, f.check) for f in counted.flags] == [(goldie, "gold")]
    assert set(counted.votes["rater"]) == {ada} and len(counted.votes) == 41  # gold votes never counted
    sessions.keep_rater(arena, session.code, "Goldie")
    assert len(arena.rated_votes(TASK).votes) == 82
