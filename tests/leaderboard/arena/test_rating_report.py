"""What the ratings page and CLI report beside the table, on planted votes in SQLite and PostgreSQL stores."""

import dataclasses
from types import SimpleNamespace

import pytest
from arena_planted import LEFTY, TASK, grey_images, plant_arena  # tests/leaderboard/arena/arena_planted.py

from genart_demo.errors import InputError
from genart_demo.settings import Settings
from leaderboard.arena.battles import Arena
from leaderboard.arena.rated import arena_scope
from leaderboard.arena.rating_report import (
    check_stop_rule,
    coefficients_frame,
    fragility_text,
    rating_report,
    report_json,
    stop_text,
)


@pytest.fixture
def arena(store, tmp_path):
    settings = dataclasses.replace(Settings.from_env({}), output_dir=tmp_path / "out")
    plant_arena(store, images=grey_images(settings.workspace.outputs))
    return Arena(SimpleNamespace(settings=settings), store, b"k" * 32)


def test_the_report_on_planted_votes(arena):
    report = rating_report(arena, TASK)
    assert report.flags[["rater", "check", "kept"]].values.tolist() == [[LEFTY, "side", False]]
    assert report.table["votes"].sum() == 2 * 60  # the always-left rater's 20 votes are left out
    assert stop_text(report) == (
        "Stopping rule (all adjacent ranks separated): not yet; 1 adjacent pair(s) still overlap: sd15 / sd-turbo; "
        "about 280 more votes likely needed."
    )
    assert fragility_text(report) == "Top rank (sd15): removing 5 vote(s) changes the top rank (to sd-turbo)."
    coefficients = coefficients_frame(report)
    assert coefficients["covariate"].tolist() == ["side", "brightness"]  # contrast, saturation: grey images, all 0
    assert report.covariate_votes == 60

    arena.store.keep_rater(arena_scope(TASK), LEFTY)
    kept = rating_report(arena, TASK, rule="width", width=150)
    assert kept.flags["kept"].tolist() == [True] and kept.table["votes"].sum() == 2 * 80
    assert (
        stop_text(kept)
        == "Stopping rule (every interval under 150 points): holds after 80 votes; more votes are not needed."
    )
    side = dict(zip(coefficients["covariate"], coefficients["points"]))["side"]
    assert kept.coefficients["side"] > side + 100  # the kept rater's pull to A shows in the side coefficient
    body = report_json(kept)
    assert body["stopping_rule"]["done"] is True and body["stopping_rule"]["votes_needed"] == 0
    assert body["fragility"]["votes"] == 4 and body["flagged_raters"][0]["rater"] == LEFTY
    assert set(body["covariates"]["coefficients"]) == {"side", "brightness"}


def test_stopping_rule_choices_are_checked():
    assert check_stop_rule("every interval narrower than X points", "40") == ("width", 40.0)
    assert check_stop_rule("separated", None) == ("separated", None)
    with pytest.raises(InputError, match="allowed: separated, width"):
        check_stop_rule("soon", None)
    for bad in ("0", "-5", "wide", "nan"):
        with pytest.raises(InputError, match="above 0"):
            check_stop_rule("width", bad)
