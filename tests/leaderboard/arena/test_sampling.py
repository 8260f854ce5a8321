"""Arena pair selection that follows uncertainty: valid draws, every pair possible, close uncertain pairs first,
placement of a new model, the stopping rule and its votes-needed estimate, and a small simulation against today's."""

import json
import math
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from genart_demo.errors import InputError
from leaderboard.arena.sampling import EXPLORE, Z, check_rule, fit, pair_chances, sample_pair, stopping_rule, win_matrix

ROOT = Path(__file__).resolve().parents[3]
MODELS = ["a", "b", "c", "d"]


def votes(*groups: tuple[str, str, int, int]) -> list[tuple[str, str, str]]:
    """(x, y, wins of x, wins of y) groups -> the votes, x shown on the left."""
    out = []
    for x, y, wx, wy in groups:
        out += [(x, y, "a")] * wx + [(x, y, "b")] * wy
    return out


# a >> d settled by 100 votes; b ~ c met 4 times; everyone else met enough to be placed
SETTLED_AND_OPEN = votes(("a", "d", 98, 2), ("b", "c", 2, 2), ("a", "b", 15, 5), ("c", "d", 15, 5))


def test_sample_pair_returns_two_distinct_known_models_in_both_orders():
    rng = random.Random(0)
    drawn = [sample_pair(MODELS, SETTLED_AND_OPEN, rng) for _ in range(400)]
    assert all(left in MODELS and right in MODELS and left != right for left, right in drawn)
    assert {("b", "c"), ("c", "b")} <= set(drawn)  # sides are random


def test_every_pair_has_a_chance_and_the_chances_sum_to_one():
    chances = pair_chances(MODELS, SETTLED_AND_OPEN)
    assert sorted(chances) == [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
    assert sum(chances.values()) == pytest.approx(1.0)
    assert min(chances.values()) >= EXPLORE / 6 - 1e-12
    seen = Counter(tuple(sorted(sample_pair(MODELS, SETTLED_AND_OPEN, random.Random(s)))) for s in range(3000))
    assert set(seen) == set(chances)  # even the settled lopsided pair still comes up


def test_a_close_uncertain_pair_is_preferred_over_a_settled_lopsided_one():
    chances = pair_chances(MODELS, SETTLED_AND_OPEN)
    assert max(chances, key=chances.get) == ("b", "c")
    assert chances[("b", "c")] == pytest.approx(1 - EXPLORE + EXPLORE / 6)
    assert chances[("a", "d")] == pytest.approx(EXPLORE / 6)


def test_a_new_model_is_placed_first():
    chances = pair_chances(MODELS + ["new"], SETTLED_AND_OPEN)
    assert "new" in max(chances, key=chances.get)


def test_today_uniform_start_without_votes():
    chances = pair_chances(MODELS, [])
    assert all(c > 0 for c in chances.values()) and sum(chances.values()) == pytest.approx(1.0)


def test_win_matrix_counts_ties_half_and_skips_retired_models():
    wins = win_matrix([("a", "b", "a"), ("a", "b", "tie"), ("b", "a", "bothbad"), ("a", "gone", "a")], ["a", "b"])
    assert wins.tolist() == [[0.0, 2.0], [1.0, 0.0]]  # a: 1 + 0.5 + 0.5 over b; b: 0.5 + 0.5 over a


def test_separated_models_meet_the_rule():
    data = votes(("a", "b", 180, 20), ("b", "c", 180, 20), ("a", "c", 195, 5))
    progress = stopping_rule(["a", "b", "c"], data)
    assert progress.done and progress.pending == () and progress.votes_needed == 0 and progress.votes == 600
    assert stopping_rule(["a", "b", "c"], data, "width", width=400).done


def test_close_models_with_few_votes_do_not_and_the_estimate_of_votes_needed_holds():
    data = votes(("a", "b", 12, 8), ("b", "c", 12, 8), ("a", "c", 14, 6))
    models = ["a", "b", "c"]
    progress = stopping_rule(models, data)
    assert not progress.done and progress.pending == (("a", "b"), ("b", "c"))
    assert 60 < progress.votes_needed < math.inf
    # the same proportions with votes * (1 + needed / votes) votes: the intervals have shrunk as 1 / sqrt(votes)
    wins = win_matrix(data, models)
    more = wins * (1 + progress.votes_needed / 60) * 1.02
    assert check_rule(fit(more, models), int(more.sum())).done
    assert not check_rule(fit(more / 1.1, models), int(more.sum() / 1.1)).done
    narrow = stopping_rule(models, data, "width", width=50)
    assert not narrow.done and set(narrow.pending) == set(models) and narrow.votes_needed > 0


def test_an_exact_tie_needs_unbounded_votes():
    progress = stopping_rule(["a", "b"], votes(("a", "b", 10, 10)))
    assert not progress.done and progress.votes_needed == math.inf


def test_intervals_are_the_usual_wald_width():
    data = votes(("a", "b", 50, 50))
    est = fit(win_matrix(data, ["a", "b"]), ["a", "b"])
    # two models, 100 even games: var(theta_a - theta_b) = 1 / (100 * 0.25); each is half of it, sd = 0.1
    assert est.sd == pytest.approx([0.1, 0.1], rel=0.01) and pytest.approx(1.96, abs=0.001) == Z


def test_bad_input_is_named():
    with pytest.raises(InputError, match="unknown stopping rule 'fast'; allowed: separated, width"):
        stopping_rule(MODELS, [], "fast")
    with pytest.raises(InputError, match="width in rating points above 0; got None"):
        stopping_rule(MODELS, [], "width")
    with pytest.raises(InputError, match="explore is the share"):
        pair_chances(MODELS, [], explore=0.0)
    with pytest.raises(InputError, match="unknown vote outcome 'left'"):
        pair_chances(MODELS, [("a", "b", "left")])
    with pytest.raises(InputError, match="at least two different models"):
        sample_pair(["a"], [], random.Random(0))


def test_small_simulation_needs_fewer_votes_than_today_at_equal_correctness(tmp_path):
    out = tmp_path / "sim.json"
    command = [sys.executable, "benchmarks/arena_sampling.py", "--models", "6", "--noise", "0.1", "--seeds", "4"]
    subprocess.run([*command, "--json", str(out)], cwd=ROOT, check=True, capture_output=True, timeout=120)
    (row,) = json.loads(out.read_text())
    assert row["today"]["stopped"] == row["ours"]["stopped"] == 4
    assert row["ours"]["right"] >= row["today"]["right"]
    assert row["ratio"] >= 1.2, row
    assert np.mean(row["ours"]["votes"]) < np.mean(row["today"]["votes"])
