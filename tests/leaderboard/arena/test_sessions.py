"""Rating sessions: balanced items per rater, progress, stop and resume, export and agreement."""

import dataclasses

import pandas as pd
import pytest

from genart_demo.errors import InputError
from genart_demo.studio import Studio
from leaderboard.arena import sessions
from leaderboard.arena.battles import Arena

MODELS = ("sd15", "sd-turbo", "ldm-text2im")
PROMPTS = ["a red bicycle", "a blue whale", "a green apple"]


@pytest.fixture
def arena(studio, tmp_path):
    settings = dataclasses.replace(studio.settings, output_dir=tmp_path / "out", arena_models=MODELS, db_url="")
    made = Arena.open(Studio(settings, studio.registry, studio.cache, True, "tests"))
    yield made
    made.store.close()


def test_bad_sessions_are_refused(arena):
    cases = [
        ({"models": ["sd15"]}, "at least two different models"),
        ({"models": ["sd15", "sd15"]}, "at least two different models"),
        ({"models": ["sd15", "flux-schnell"]}, "not in the text-to-image arena"),
        ({"prompts": ["", "  "]}, "at least one prompt"),
        ({"prompts": ["x" * 5000]}, "at most"),
        ({"pairs": 0}, "from 1 to"),
        ({"pairs": 2.5}, "whole number"),
        ({"pairs": "many"}, "whole number"),
    ]
    for change, message in cases:
        args = {"models": list(MODELS[:2]), "prompts": PROMPTS, "pairs": 4, **change}
        with pytest.raises(InputError, match=message):
            sessions.create_session(arena, "s", args["models"], args["prompts"], args["pairs"])
    with pytest.raises(InputError, match="no rating session with code"):
        sessions.join_session(arena, "ABCDEFGH", "ada")
    with pytest.raises(InputError):
        sessions.join_session(arena, "bad", "ada")


def _vote_through(arena, session, rater, choose, stop_after=None):
    """Vote on the rater's items in order: choose(battle view) -> outcome. Returns the views seen."""
    seen = []
    while stop_after is None or len(seen) < stop_after:
        view = sessions.next_battle(arena, session, rater)
        if view is None:
            break
        seen.append(view)
        arena.vote(view.token, choose(view), rater)
    return seen


def test_two_raters_through_to_the_export(arena, tmp_path):
    session = sessions.create_session(arena, "pilot", list(MODELS), PROMPTS, 6, seed=11)
    assert len(session.code) == 8 and arena.store.get_session(session.code.lower()) == session
    _, ada, start = sessions.join_session(arena, session.code.lower(), "Ada")
    assert start.text() == "0 / 6"
    seen = _vote_through(arena, session, ada, lambda v: "a", stop_after=4)
    assert sessions.progress(arena, session, ada).text() == "4 / 6"
    # stop and resume: joining again with the same name continues at item 5, not at 1
    _, again, resumed = sessions.join_session(arena, session.code, "  ada ")
    assert again == ada and resumed.text() == "4 / 6"
    seen += _vote_through(arena, session, ada, lambda v: "a")
    assert sessions.next_battle(arena, session, ada) is None
    assert sorted(v.item for v in seen) == list(range(6))
    pairs = pd.Series([frozenset((b.model_a, b.model_b)) for b in arena.store.battles(rater=ada)]).value_counts()
    assert len(pairs) == 3 and set(pairs) == {2}  # balanced: 6 items over 3 pairs, twice each

    _, bob, _ = sessions.join_session(arena, session.code, "Bob")
    bob_seen = _vote_through(arena, session, bob, lambda v: "tie" if v.item % 2 else "a")
    assert sorted(v.item for v in bob_seen) == list(range(6))
    same_images = {v.item: v.outputs_a + v.outputs_b for v in seen}
    for view in bob_seen:  # every rater judges the same images for an item (sides may differ)
        assert set(view.outputs_a + view.outputs_b) == set(same_images[view.item])

    status = sessions.status_table(arena, session.code)
    assert status[["rater", "done", "total"]].values.tolist() == [["Ada", 6, 6], ["Bob", 6, 6]]
    votes, agreement = sessions.export_session(arena, session.code, tmp_path / "export")
    table = pd.read_csv(votes)
    assert len(table) == 12 and set(table["rater"]) == {"Ada", "Bob"}
    assert table.groupby("rater").size().tolist() == [6, 6]
    # Ada always chose side A; Bob chose side A on even items and tie on odd ones. They agree where both chose the
    # same model: on even items only if their A sides showed the same model.
    ada_choice = table[table.rater == "Ada"].set_index("item")["chosen"]
    bob_choice = table[table.rater == "Bob"].set_index("item")["chosen"]
    expected = float((ada_choice == bob_choice.reindex(ada_choice.index)).mean())
    matrix, _ = sessions.agreement_tables(arena, session.code)
    assert matrix.loc["Ada", "Bob"] == pytest.approx(expected)
    assert agreement.read_text().splitlines()[-1].startswith("fleiss_kappa,")
    assert table["outcome"].isin(["a", "tie"]).all()


def test_a_session_vote_needs_the_raters_own_token(arena):
    session = sessions.create_session(arena, "s", list(MODELS[:2]), PROMPTS[:1], 2, seed=3)
    _, ada, _ = sessions.join_session(arena, session.code, "ada")
    _, bob, _ = sessions.join_session(arena, session.code, "bob")
    view = sessions.next_battle(arena, session, ada)
    from leaderboard.arena.store import VoteRefused

    with pytest.raises(VoteRefused) as err:
        arena.vote(view.token, "a", bob)
    assert err.value.reason == "foreign"
    with pytest.raises(InputError, match="Join the session first"):
        sessions.next_battle(arena, session, "session:nobody")
