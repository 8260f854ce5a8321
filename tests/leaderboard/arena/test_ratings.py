"""Tests for leaderboard.arena.ratings: hand-computed Elo and Bradley-Terry, recovery and interval coverage on simulated
votes, the minimum-votes floor, bad input, win rates, figures and the ratings.csv the leaderboard joins."""

import io
import math
import subprocess
import sys
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from arena_votes import simulated_votes, votes  # tests/leaderboard/arena/arena_votes.py

from genart_demo.errors import InputError
from leaderboard.arena.ratings import (
    MIN_VOTES,
    OUTCOME_SCORES,
    TABLE_COLUMNS,
    bootstrap_bt,
    bt_ratings,
    elo_ratings,
    heatmap_figure,
    interval_figure,
    ratings_table,
    votes_frame,
    win_rate_matrix,
    write_ratings_csv,
)
from leaderboard.tables import join_ratings, read_csv_table

LOG3 = 400 * math.log10(3)  # 190.8485...: the Elo-scale gap of odds 3:1
LOG2 = 400 * math.log10(2)  # 120.4120...: odds 2:1
HAND = 1e-3  # hand-computed BT cases match to 1e-3 of a point (the RIDGE prior moves them by ~1e-4)


# ---------------------------------------------------------------- Elo by hand


def test_elo_matches_a_hand_computation_in_vote_order():
    # K=4, scale 400, base 10, everyone starts at 1000; E_a = 1 / (1 + 10 ** ((r_b - r_a) / 400)).
    # 1. A beats B: E_A = 0.5, step 4 * (1 - 0.5) = 2                      -> A 1002, B 998
    # 2. B (left) ties A: E_B = 1 / (1 + 10 ** 0.01) = 1 / 2.0232930 = 0.4942438,
    #    step 4 * (0.5 - 0.4942438) = 0.0230248                             -> B 998.0230248, A 1001.9769752
    # 3. C (left) loses to B ("b"): E_C = 1 / (1 + 10 ** (-1.9769752 / 400)) = 1 / 1.9886841 = 0.5028451,
    #    step 4 * (0 - 0.5028451) = -2.0113803                             -> C 997.9886197, B 1000.0344051
    elo = elo_ratings(votes(("A", "B", "a", 1), ("B", "A", "tie", 1), ("C", "B", "b", 1)))
    assert list(elo) == ["A", "B", "C"]
    assert elo["A"] == pytest.approx(1001.9769752, abs=1e-6)
    assert elo["B"] == pytest.approx(1000.0344051, abs=1e-6)
    assert elo["C"] == pytest.approx(997.9886197, abs=1e-6)
    assert sum(elo.values()) == pytest.approx(3000)  # every update is zero-sum


def test_elo_is_online_and_both_bad_counts_as_a_tie():
    forward = elo_ratings(votes(("A", "B", "a", 1), ("A", "B", "b", 1)))
    backward = elo_ratings(votes(("A", "B", "b", 1), ("A", "B", "a", 1)))
    # forward: A 1002, then E_A = 1 / (1 + 10 ** (-4 / 400)) = 0.5057562, A = 1002 - 4 * 0.5057562 = 999.9769752
    assert forward["A"] == pytest.approx(999.9769752, abs=1e-6)
    assert backward["A"] == pytest.approx(2000 - 999.9769752, abs=1e-6)  # the mirror image: order matters
    assert elo_ratings(votes(("A", "B", "bothbad", 3))) == elo_ratings(votes(("A", "B", "tie", 3)))
    assert elo_ratings(votes(("A", "B", "a", 1)), k=32)["A"] == pytest.approx(1016)  # 1000 + 32 * 0.5


# ---------------------------------------------------------------- Bradley-Terry by hand


def test_bt_two_models_three_wins_to_one():
    # The MLE sets P(A beats B) to the observed 3/4, so 10 ** (d / 400) = 3 and d = 400 log10 3 = 190.8485;
    # centred on 1000: A = 1095.4243, B = 904.5757.
    bt = bt_ratings(votes(("A", "B", "a", 2), ("B", "A", "b", 1), ("B", "A", "a", 1)))
    assert bt["A"] - bt["B"] == pytest.approx(LOG3, abs=HAND)
    assert bt["A"] == pytest.approx(1000 + LOG3 / 2, abs=HAND)
    assert bt["A"] + bt["B"] == pytest.approx(2000, abs=1e-9)


def test_bt_ties_and_both_bad_count_half_a_win_each_way():
    # A beats B twice, one tie, one both-bad: A has 2 + 0.5 + 0.5 = 3 wins and B 1, so again d = 400 log10 3.
    bt = bt_ratings(votes(("A", "B", "a", 2), ("A", "B", "tie", 1), ("B", "A", "bothbad", 1)))
    assert bt["A"] - bt["B"] == pytest.approx(LOG3, abs=HAND)


def test_bt_chain_and_consistent_triangle():
    # A chain (A-B, B-C, no A-C) has one MLE equation per pair: each gap is that pair's log-odds.
    # A beats B 3:1 -> 190.8485; B and C split 1:1 -> 0. Mean 1000: B = C = 1000 - 190.8485/3 = 936.3838,
    # A = 1127.2323.
    chain = bt_ratings(votes(("A", "B", "a", 3), ("A", "B", "b", 1), ("B", "C", "a", 1), ("B", "C", "b", 1)))
    assert chain["A"] == pytest.approx(1000 + 2 * LOG3 / 3, abs=HAND)
    assert chain["B"] == pytest.approx(1000 - LOG3 / 3, abs=HAND)
    assert chain["C"] == pytest.approx(chain["B"], abs=HAND)
    # A triangle whose counts fit BT exactly (odds A:B 2, B:C 2, A:C 4 = 2 * 2): the MLE reproduces every
    # observed proportion, so A - B = B - C = 400 log10 2 = 120.4120 and A - C = 240.8240; mean 1000 -> B = 1000.
    tri = bt_ratings(
        votes(
            ("A", "B", "a", 2),
            ("A", "B", "b", 1),
            ("B", "C", "a", 2),
            ("B", "C", "b", 1),
            ("C", "A", "b", 4),
            ("C", "A", "a", 1),
        )
    )
    assert tri["A"] == pytest.approx(1000 + LOG2, abs=HAND)
    assert tri["B"] == pytest.approx(1000, abs=HAND)
    assert tri["C"] == pytest.approx(1000 - LOG2, abs=HAND)


def test_bt_scale_base_and_init_follow_the_arguments():
    v = votes(("A", "B", "a", 3), ("A", "B", "b", 1))
    # natural-log scale 1, base e: d = ln 3 = 1.098612; centred on 0
    bt = bt_ratings(v, scale=1, base=math.e, init=0)
    assert bt["A"] == pytest.approx(math.log(3) / 2, abs=1e-5)
    assert bt["B"] == pytest.approx(-math.log(3) / 2, abs=1e-5)


def test_bt_disconnected_and_separated_votes_stay_finite():
    # Two groups that never met: each keeps its own log-odds gap and (by the tiny prior) sits on the mean.
    split = bt_ratings(votes(("A", "B", "a", 3), ("A", "B", "b", 1), ("C", "D", "b", 3), ("C", "D", "a", 1)))
    assert split["A"] == pytest.approx(1000 + LOG3 / 2, abs=HAND) and split["D"] == pytest.approx(split["A"], abs=HAND)
    assert split["B"] == pytest.approx(1000 - LOG3 / 2, abs=HAND) and split["C"] == pytest.approx(split["B"], abs=HAND)
    # A won every game: the MLE is at infinity; the prior stops it at a very large but finite gap (documented in
    # ratings.RIDGE: about 2,300 points for 5 wins), and the gap between the others is still their own log-odds.
    sep = bt_ratings(votes(("A", "B", "a", 5), ("C", "A", "b", 5), ("B", "C", "a", 3), ("B", "C", "b", 1)))
    assert all(math.isfinite(r) for r in sep.values())
    assert sep["A"] - sep["B"] > 1000 and sum(sep.values()) == pytest.approx(3000, abs=1e-6)
    assert sep["B"] - sep["C"] == pytest.approx(LOG3, abs=0.01)
    # The table does not show that ridge-limited value: A never lost, B never won, neither has a finite rating.
    table = ratings_table(votes(("A", "B", "a", 5), ("A", "B", "b", 0)), rounds=20, min_votes=1)
    assert table[["rating", "ci_low", "ci_high", "rank"]].isna().all().all()
    assert table["model"].tolist() == ["A", "B"] and table["note"].str.contains("never lost").tolist() == [True, False]


# ---------------------------------------------------------------- bootstrap, simulations, coverage


def test_bootstrap_is_seeded_and_shaped_rounds_by_models():
    v = votes(("A", "B", "a", 30), ("A", "B", "b", 20), ("B", "C", "a", 25), ("C", "B", "a", 25), ("C", "D", "a", 1))
    boot = bootstrap_bt(v, rounds=40, seed=3)
    assert boot.shape == (40, 4) and list(boot.columns) == ["A", "B", "C", "D"]
    pd.testing.assert_frame_equal(boot, bootstrap_bt(v, rounds=40, seed=3))
    assert not boot.equals(bootstrap_bt(v, rounds=40, seed=4))
    # D has 1 vote in 101: it is missing from about (100/101)**101 = 37% of resamples, NaN there
    assert 0 < boot["D"].isna().sum() < 40 and boot[["A", "B", "C"]].notna().all().all()
    assert boot.mean(axis=1).to_numpy() == pytest.approx(np.full(40, 1000.0))  # centred over the models that played
    assert bootstrap_bt(v, rounds=0).shape == (0, 4)
    with pytest.raises(InputError, match="whole number"):
        bootstrap_bt(v, rounds=-1)


def test_simulated_votes_recover_the_true_order():
    true = {"m1": 1200.0, "m2": 1100.0, "m3": 1000.0, "m4": 900.0, "m5": 800.0}  # mean 1000, like the fit
    v = simulated_votes(true, 2000, seed=11)
    table = ratings_table(v, rounds=100, seed=0)
    assert table["model"].tolist() == list(true)
    assert table["rank"].is_monotonic_increasing and table["votes"].sum() == 2 * 2000
    error = table["rating"].to_numpy() - np.array(list(true.values()))
    assert np.abs(error).max() < 40  # the standard error here is about 15-25 points
    assert ((table["ci_low"] <= table["model"].map(true)) & (table["model"].map(true) <= table["ci_high"])).all()
    elo = elo_ratings(v)
    assert sorted(elo, key=elo.get, reverse=True) == list(true)  # K=4 Elo gets the order too, with 800 games each


def test_bootstrap_intervals_cover_the_true_ratings_about_95_percent():
    # 200 simulations of 5 models x 300 votes (seeds 0..199), each with 100 bootstrap rounds: 1000 intervals.
    # Measured coverage: 0.930 overall (per model 0.910-0.950). It sits a little under 95% because the 2.5 / 97.5
    # percentiles of only 100 rounds are slightly inward (1000 rounds measured 0.945). Binomial sd at 1000 intervals
    # is ~0.007; an interval half as wide would cover ~0.70, one twice as wide ~0.999.
    true = {"m1": 1150.0, "m2": 1050.0, "m3": 1000.0, "m4": 950.0, "m5": 850.0}
    r = np.array(list(true.values()))
    hits = []
    for seed in range(200):
        boot = bootstrap_bt(simulated_votes(true, 300, seed), rounds=100, seed=seed)[list(true)]
        hits.append((boot.quantile(0.025).to_numpy() <= r) & (r <= boot.quantile(0.975).to_numpy()))
    coverage = np.mean(hits, axis=0)
    assert 0.91 <= coverage.mean() <= 0.97, coverage
    assert coverage.min() >= 0.88, coverage


def test_table_intervals_are_the_bootstrap_percentiles_and_rank_counts_clear_winners():
    # A beats B and C 40:10 each; B and C split 25:25. A's interval is clear of both; B and C overlap.
    v = votes(
        ("A", "B", "a", 40),
        ("B", "A", "a", 10),
        ("C", "A", "b", 40),
        ("A", "C", "b", 10),
        ("B", "C", "a", 25),
        ("B", "C", "b", 25),
    )
    table = ratings_table(v, rounds=60, seed=5).set_index("model")
    boot = bootstrap_bt(v, rounds=60, seed=5)
    assert table["ci_low"].to_dict() == pytest.approx(boot.quantile(0.025).to_dict())
    assert table["ci_high"].to_dict() == pytest.approx(boot.quantile(0.975).to_dict())
    assert table.loc["A", "rating"] == pytest.approx(bt_ratings(v)["A"])
    assert table["rank"].to_dict() == {"A": 1.0, "B": 2.0, "C": 2.0}
    for _model, row in table.iterrows():  # rank = 1 + number of models whose ci_low is above this ci_high
        assert row["rank"] == 1 + (table["ci_low"] > row["ci_high"]).sum()
    assert table.loc["A", ["votes", "wins", "losses", "ties"]].tolist() == [100, 80, 20, 0]
    assert table.loc["B", ["votes", "wins", "losses", "ties"]].tolist() == [100, 35, 65, 0]


# ---------------------------------------------------------------- the table: floor, empty, bad input


def test_models_below_the_floor_are_listed_unrated_with_a_note():
    assert MIN_VOTES == 5
    main = votes(("A", "B", "a", 6), ("B", "A", "a", 3), ("B", "C", "a", 5), ("C", "B", "a", 4), ("A", "C", "tie", 2))
    extra = votes(
        ("D", "A", "a", 1),
        ("B", "D", "bothbad", 1),
        ("E", "D", "a", 2),  # D: 4 votes
        ("E", "A", "b", 2),
        ("E", "B", "a", 1),
    )  # E: 5 votes, but only 3 against rated models
    table = ratings_table(pd.concat([main, extra], ignore_index=True), rounds=30, seed=1)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["model"].tolist()[-2:] == ["D", "E"]  # rated first, best first; unrated last, by name
    rows = table.set_index("model")
    assert rows.loc[["D", "E"], ["rating", "ci_low", "ci_high", "rank"]].isna().all().all()
    assert rows.loc["D", "note"] == "fewer than 5 votes (4); not rated yet"
    assert rows.loc["D", "votes"] == 4 and rows.loc["E", "votes"] == 5
    # E reaches the floor only with its votes against D; once D is out, 3 count: still unrated, and it says why
    assert rows.loc["E", "note"] == "only 3 of its 5 votes are against rated models (needs 5); not rated yet"
    assert np.isfinite(rows.loc[["D", "E"], "elo"]).all()  # Elo is the online record of every vote
    # the rated models were fitted on their votes among themselves only
    alone = ratings_table(main, rounds=30, seed=1).set_index("model")
    assert rows.loc[["A", "B", "C"], "rating"].to_dict() == pytest.approx(alone["rating"].to_dict())
    assert rows.loc[["A", "B", "C"], "note"].tolist() == ["", "", ""]
    low = ratings_table(main.iloc[5:9], rounds=5)  # 4 votes each (A won 1, B 3): all below the floor, none rated
    assert low["rating"].isna().all() and low["note"].str.contains("fewer than 5 votes \\(4\\)").all()
    assert ratings_table(main.iloc[5:9], rounds=5, min_votes=1)["rating"].notna().all()
    with pytest.raises(InputError, match="min_votes"):
        ratings_table(main, min_votes=-1)


def test_no_votes_gives_empty_results_with_the_right_columns():
    for empty in ([], pd.DataFrame(columns=["model_a", "model_b", "outcome"])):
        table = ratings_table(empty)
        assert list(table.columns) == list(TABLE_COLUMNS) and len(table) == 0
        assert elo_ratings(empty) == {} and bt_ratings(empty) == {}
        assert bootstrap_bt(empty).shape == (0, 0) and win_rate_matrix(empty).shape == (0, 0)
    assert heatmap_figure(win_rate_matrix([])).axes[0].texts[0].get_text() == "no votes yet"
    assert interval_figure(ratings_table([])).axes[0].texts[0].get_text() == "no rated models yet"


def test_unknown_outcomes_and_malformed_votes_raise_input_error():
    with pytest.raises(InputError, match=r"unknown vote outcome 'draw'; allowed: a, b, tie, bothbad"):
        ratings_table(votes(("A", "B", "a", 3), ("A", "B", "draw", 1)))
    with pytest.raises(InputError, match="allowed: a, b, tie, bothbad"):
        elo_ratings([{"model_a": "A", "model_b": "B", "outcome": None}])
    with pytest.raises(InputError, match="missing outcome"):
        bt_ratings(pd.DataFrame({"model_a": ["A"], "model_b": ["B"]}))
    with pytest.raises(InputError, match="against itself"):
        win_rate_matrix(votes(("A", "A", "a", 1)))


def test_votes_frame_reads_vote_records_mappings_and_objects():
    @dataclass(frozen=True)
    class Vote:  # the fields ratings read, plus one it carries along
        model_a: str
        model_b: str
        outcome: str
        rater: str

    mixed = [
        Vote("A", "B", "a", "anon:1"),
        {"model_a": "B", "model_b": "C", "outcome": "TIE"},
        SimpleNamespace(model_a="C", model_b="A", outcome="bothbad"),
    ]
    df = votes_frame(mixed)
    assert df[["model_a", "model_b", "outcome"]].values.tolist() == [
        ["A", "B", "a"],
        ["B", "C", "tie"],
        ["C", "A", "bothbad"],
    ]
    assert df.loc[0, "rater"] == "anon:1"
    assert elo_ratings(mixed) == elo_ratings(df)


def test_outcomes_are_the_stores():
    store = pytest.importorskip("leaderboard.arena.store")
    assert tuple(OUTCOME_SCORES) == tuple(store.OUTCOMES)


# ---------------------------------------------------------------- win rates and figures


def test_win_rate_matrix_by_hand():
    # A-B: A wins 3 (2 on the left, 1 on the right), B wins 1, 1 tie -> A row (3 + 0.5) / 5 = 0.7, B row 0.3.
    # A-C: A wins the only game -> 1.0 / 0.0. B-C never met -> NaN. Overall: A 4.5/6, B 1.5/5, C 0/1.
    v = votes(("A", "B", "a", 2), ("B", "A", "b", 1), ("B", "A", "a", 1), ("A", "B", "tie", 1), ("C", "A", "b", 1))
    m = win_rate_matrix(v)
    assert list(m.index) == ["A", "B", "C"] and list(m.columns) == ["A", "B", "C"]
    assert m.loc["A", "B"] == pytest.approx(0.7) and m.loc["B", "A"] == pytest.approx(0.3)
    assert m.loc["A", "C"] == 1.0 and m.loc["C", "A"] == 0.0
    assert np.isnan(m.loc["B", "C"]) and np.isnan(m.loc["C", "B"]) and np.isnan(np.diag(m.to_numpy())).all()


def test_figures_draw_the_matrix_and_the_intervals():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    v = votes(("A", "B", "a", 7), ("B", "A", "a", 3), ("B", "C", "a", 6), ("C", "B", "a", 4))
    matrix = win_rate_matrix(v)
    heat = heatmap_figure(matrix)
    assert isinstance(heat, Figure) and isinstance(heat.canvas, FigureCanvasAgg)
    ax = heat.axes[0]
    shown = ax.images[0].get_array()
    assert shown.mask.sum() == 5  # the diagonal and A-C / C-A
    assert shown.filled(-1).tolist() == matrix.fillna(-1).to_numpy().tolist()
    assert sorted(t.get_text() for t in ax.texts) == ["0.30", "0.40", "0.60", "0.70"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C"]

    table = ratings_table(v, rounds=30, min_votes=1)
    bars = interval_figure(table)
    assert isinstance(bars, Figure)
    ax = bars.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C", "B", "A"]  # best at the top
    assert ax.lines[0].get_xdata().tolist() == pytest.approx(sorted(table["rating"]))
    for fig in (heat, bars):
        png = io.BytesIO()
        fig.savefig(png, format="png")
        assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_leave_pyplot_alone():
    code = (
        "import sys, leaderboard.arena.ratings as r; import pandas as pd\n"
        "v = pd.DataFrame({'model_a': ['A'] * 6, 'model_b': ['B'] * 6, 'outcome': ['a', 'b', 'a'] * 2})\n"
        "r.heatmap_figure(r.win_rate_matrix(v)); r.interval_figure(r.ratings_table(v, rounds=5))\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# ---------------------------------------------------------------- ratings.csv


def test_ratings_csv_joins_the_leaderboard(tmp_path):
    v = votes(("sd15", "sd-turbo", "a", 8), ("sd-turbo", "sd15", "a", 2), ("sd-turbo", "ldm", "tie", 1))
    table = ratings_table(v, rounds=20)
    path = tmp_path / "arena" / "ratings.csv"
    assert write_ratings_csv(table, path) == path
    assert sorted(p.name for p in path.parent.iterdir()) == ["ratings.csv"]  # no temp file left behind
    board = pd.DataFrame({"model": ["sd15", "sd-turbo", "ldm", "sdxl-base"], "clip_score": [30.0, 31.0, 29.0, 32.0]})
    for read in (pd.read_csv, read_csv_table):  # the leaderboard page reads it with pandas' defaults
        joined = join_ratings(board, read(path)).set_index("model")
        expect = table.set_index("model")
        assert joined.loc["sd15", "rating"] == expect.loc["sd15", "rating"]  # floats round-trip exactly
        assert joined.loc["sd-turbo", "rating_ci_low"] == expect.loc["sd-turbo", "ci_low"]
        assert joined.loc["sd15", "rating_ci_high"] == expect.loc["sd15", "ci_high"]
        assert joined.loc[["sd15", "sd-turbo", "ldm"], "votes"].tolist() == [10, 11, 1]
        assert np.isnan(joined.loc["ldm", "rating"])  # below the floor: listed, unrated
        assert joined.loc["sdxl-base"].isna()[["rating", "votes"]].all()  # never in the arena
    write_ratings_csv(ratings_table([]), path)  # no votes: a header-only file that still joins
    assert join_ratings(board, pd.read_csv(path))["rating"].isna().all()
    with pytest.raises(InputError, match="missing ci_low, ci_high"):
        write_ratings_csv(table[["model", "rating", "votes"]], path)
