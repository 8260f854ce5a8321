"""The organiser's flagged raters in the rating-session page, through its handlers (no server): the table after
"Status and agreement", and keeping a flagged rater in the ratings or leaving them out again."""

import dataclasses
import itertools

import gradio as gr
import pytest
from PIL import Image

from genart_demo.studio import Studio
from leaderboard.arena import sessions
from leaderboard.arena.battles import Arena
from leaderboard.arena.session_ui import organise_tab
from tests.ui.handlers import by_elem_id, handler

MODELS = ("sd15", "sd-turbo")


@pytest.fixture
def arena(studio, tmp_path):
    """An arena whose battles show one ready-made picture, with raters who look 3 s at each pair."""
    settings = dataclasses.replace(studio.settings, output_dir=tmp_path / "out", arena_models=MODELS, db_url="")
    made = Arena.open(Studio(settings, studio.registry, studio.cache, True, "tests"))
    shown = settings.workspace.arena_images / "shown.png"
    shown.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (10, 120, 200)).save(shown)
    made.output_paths = lambda *args, **kwargs: (str(shown.relative_to(settings.workspace.outputs)),)
    made.clock = itertools.count(1_000_000, 3).__next__
    yield made
    made.close()


def test_the_organiser_sees_a_flagged_rater_and_keeps_them_or_not(arena):
    session = sessions.create_session(arena, "s", MODELS, ["a kite", "a door"], 12, seed=4)
    _, lefty, _ = sessions.join_session(arena, session.code, "Lefty")
    while (view := sessions.next_battle(arena, session, lefty)) is not None:
        arena.vote(view.token, "a", lefty)  # always the left side
    with gr.Blocks() as tab:
        organise_tab(arena)

    table, names = handler(tab, api_name="arena_session_flagged")(session.code)
    assert table[["rater", "check", "kept"]].values.tolist() == [["Lefty", "side", "no"]]
    assert "A (left) on 12 of 12 decisive votes" in table["reason"].iloc[0]
    assert names["choices"] == ["Lefty"] and names["value"] == "Lefty"
    keep = handler(tab, by_elem_id(tab, "arena-org-keep"), "click")
    table, names = keep(session.code, "Lefty", True)
    assert table["kept"].tolist() == ["yes"] and names["value"] == "Lefty"
    assert arena.store.kept_raters(session.code) == {lefty}
    assert handler(tab, by_elem_id(tab, "arena-org-leave-out"), "click") is keep  # one handler, keep or not
    table, _ = keep(session.code, "Lefty", False)
    assert table["kept"].tolist() == ["no"] and arena.store.kept_raters(session.code) == set()
    with pytest.raises(gr.Error, match="has no rater named 'Bob'"):
        keep(session.code, "Bob", True)
