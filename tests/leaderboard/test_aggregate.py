"""Tests for leaderboard.aggregate: the percentile bootstrap of the tables' intervals."""

import numpy as np
import pytest

from leaderboard.aggregate import bootstrap_ci


def test_bootstrap_equal_scores_collapse_to_the_value():
    assert bootstrap_ci([31.5] * 40, 500, seed=3) == (31.5, 31.5)
    assert bootstrap_ci([7.0], 500) == (7.0, 7.0)  # one prompt: a zero-width CI


def test_bootstrap_two_values_closed_form():
    # resampled means of (0, 1) are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 2.5% / 97.5% quantiles are 0, 1
    assert bootstrap_ci([0.0, 1.0], 4000, seed=0) == (0.0, 1.0)


def test_bootstrap_contains_mean_is_seeded_and_shrinks_like_one_over_sqrt_n():
    rng = np.random.default_rng(1)
    small, large = rng.normal(30, 4, 25), rng.normal(30, 4, 2500)
    lo, hi = bootstrap_ci(small, 2000, seed=5)
    assert lo < small.mean() < hi
    assert bootstrap_ci(small, 2000, seed=5) == (lo, hi)
    assert bootstrap_ci(small, 2000, seed=6) != (lo, hi)
    lo2, hi2 = bootstrap_ci(large, 2000, seed=5)
    assert 7 < (hi - lo) / (hi2 - lo2) < 13  # sqrt(2500 / 25) = 10
    # large n: the percentile CI approaches mean ± 1.96·s/√n (s with ddof 0: the bootstrap's plug-in sd)
    half = 1.959964 * large.std() / np.sqrt(large.size)
    assert abs((hi2 - lo2) / 2 - half) < 0.06 * half
    assert abs((hi2 + lo2) / 2 - large.mean()) < 0.1 * half


def test_bootstrap_matches_scipy_percentile_bootstrap():
    from scipy.stats import bootstrap

    x = np.random.default_rng(2).gamma(2.0, 3.0, 60)
    ours = bootstrap_ci(x, 20000, seed=0)
    ref = bootstrap((x,), np.mean, n_resamples=20000, method="percentile", random_state=0).confidence_interval
    half = (ref.high - ref.low) / 2
    assert abs(ours[0] - ref.low) < 0.03 * half and abs(ours[1] - ref.high) < 0.03 * half  # Monte Carlo noise


def test_bootstrap_refuses_bad_settings():
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_ci([1.0, 2.0], -1)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], 10, confidence=1.5)
    assert np.isnan(bootstrap_ci([1.0, 2.0], 0)).all()
