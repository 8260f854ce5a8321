"""What the ratings page and CLI report beside the table, on planted votes in SQLite and PostgreSQL stores."""

import dataclasses
from types import SimpleNamespace

import pytest
from arena_planted import LEFTY, TASK, grey_images, plant, plant_arena  # tests/leaderboard/arena/arena_planted.py

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
from leaderboard.arena.rating_robustness import ipw_bt_ratings


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


def test_the_table_has_inverse_propensity_weighted_ratings_beside_the_plain_ones(store, tmp_path):
    """sd15 / sd-turbo shown five times as often as the other pairs: the weighted column counts every pair alike."""
    settings = dataclasses.replace(Settings.from_env({}), output_dir=tmp_path / "out")
    shown = [("sd15", "sd-turbo", 40, 30), ("sd-turbo", "sdxl", 8, 6), ("sd15", "sdxl", 8, 4)]
    at = 1_700_000_000.0
    for winner, loser, votes, wins in shown:
        for i in range(votes):
            a, b = (winner, loser) if i % 2 else (loser, winner)  # sides alternate: no rater picks one side
            won = winner if i < wins else loser
            plant(store, f"anon:r{i % 8}", a, b, "a" if won == a else "b", at)
            at += 30
    report = rating_report(Arena(SimpleNamespace(settings=settings), store, b"k" * 32), TASK)
    table = report.table.set_index("model")
    assert list(report.table.columns[:3]) == ["model", "rating", "ipw_rating"]
    weighted = ipw_bt_ratings(report.votes)
    assert table["ipw_rating"].to_dict() == pytest.approx(weighted, abs=1e-6)
    assert abs(table.loc["sd15", "ipw_rating"] - table.loc["sd15", "rating"]) > 5  # the weighting matters here
