"""Prompt categories: hashtags ending a session prompt line, stored with the session and copied into its votes;
DrawBench / PartiPrompts prompts found by their text."""

import dataclasses

import pytest

from genart_demo.errors import InputError
from genart_demo.studio import Studio
from leaderboard.arena import sessions
from leaderboard.arena.battles import Arena
from leaderboard.arena.categories import benchmark_categories, split_tags, tagged_prompts, vote_categories
from leaderboard.arena.slices import slice_ratings

MODELS = ("sd15", "sd-turbo")


def test_trailing_hashtags_are_tags_and_leave_the_prompt():
    assert split_tags("a red fox reading #animals #style") == ("a red fox reading", ("animals", "style"))
    assert split_tags("  C# code on a screen  ") == ("C# code on a screen", ())  # '#' inside a word is kept
    assert split_tags("a sign saying #1 in #red #red") == ("a sign saying #1 in", ("red",))  # only the end's words
    assert split_tags("a cat #cat") == ("a cat", ("cat",))
    assert split_tags("a snow-owl #bird_life #close-up") == ("a snow-owl", ("bird_life", "close-up"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a fox #", "line 4 has an empty tag '#'"),
        ("a fox #animals!", "line 4: '#animals!' is not a tag; a tag is # then letters, digits"),
        ("a fox #-dash", "'#-dash' is not a tag"),
        ("a fox #" + "a" * 41, "at most 40 characters"),
        ("#animals #style", "line 4 has tags but no prompt"),
        ("a fox " + " ".join(f"#t{i}" for i in range(11)), "has 11 tags; at most 10"),
    ],
)
def test_bad_tags_are_refused_with_the_line_and_the_rule(line, message):
    with pytest.raises(InputError, match=message):
        split_tags(line, 4)


def test_tags_align_with_the_prompts_and_are_none_without_any():
    prompts, tags = tagged_prompts(["a red kite #sky", "", "  ", "a blue door"])
    assert prompts == ["a red kite", "a blue door"] and tags == (("sky",), ())
    assert tagged_prompts(["a red kite", "a blue door"]) == (["a red kite", "a blue door"], None)
    with pytest.raises(InputError, match="line 3 has an empty tag"):  # numbered as typed, blank lines counted
        tagged_prompts(["a", "", "b #"])


def test_benchmark_prompts_have_their_set_category():
    found = benchmark_categories()
    assert found["A red colored car."] == ("Colors",)  # DrawBench
    assert len(found) > 1700 and benchmark_categories() is found  # both sets, read once
    assert vote_categories((), "A red colored car.") == ("Colors",)
    assert vote_categories(("mine",), "A red colored car.") == ("mine",)  # stored tags come first
    assert vote_categories(None, "a prompt of my own") == ()


@pytest.fixture
def arena(studio, store, tmp_path):
    """An arena over the stand-ins on the test's own store (SQLite file or PostgreSQL schema)."""
    settings = dataclasses.replace(studio.settings, output_dir=tmp_path / "out", arena_models=MODELS)
    made = Arena(Studio(settings, studio.registry, studio.cache, True, "tests"), store, b"k" * 32, seed=3)
    made.studio.settings.workspace.arena.mkdir(parents=True, exist_ok=True)
    return made


def test_a_session_vote_carries_its_prompts_tags(arena, store):
    session = sessions.create_session(arena, "tagged", list(MODELS), ["a red fox #animals #style", "a tea cup"], 2)
    assert session.prompts == ("a red fox", "a tea cup") and session.tags == (("animals", "style"), ())
    assert store.get_session(session.code).tags == (("animals", "style"), ())
    _, rater, _ = sessions.join_session(arena, session.code, "Ada")
    while (view := sessions.next_battle(arena, session, rater)) is not None:
        arena.vote(view.token, "a", rater)
    tags = {v.prompt: v.tags for v in store.votes(modes=("session",))}
    assert tags == {"a red fox": ("animals", "style"), "a tea cup": ()}


def test_a_drawbench_prompt_typed_in_a_blind_battle_gets_its_category(arena):
    view = arena.start_battle("text-to-image", "A red colored car.", "anon:r1")
    vote = arena.vote(view.token, "a", "anon:r1").vote
    assert vote.tags == ()  # nothing stored: the category comes from the prompt's text
    table = slice_ratings(arena.store.votes(), min_votes=1, rounds=0)
    assert set(table["category"]) == {"Colors"} and table["votes"].tolist() == [1, 1]
