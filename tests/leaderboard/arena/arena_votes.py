"""Votes frames for the arena's rating tests: written out by hand, or simulated from known ratings."""

import numpy as np
import pandas as pd


def votes(*rows: tuple[str, str, str, int]) -> pd.DataFrame:
    """(model_a, model_b, outcome, times) -> a votes frame with each row repeated `times` times, in order."""
    flat = [(a, b, o) for a, b, o, n in rows for _ in range(n)]
    return pd.DataFrame(flat, columns=["model_a", "model_b", "outcome"])


def simulated_votes(true: dict[str, float], n: int, seed: int, ties: float = 0.0) -> pd.DataFrame:
    """n votes between uniformly drawn pairs of distinct models, A winning with the Bradley-Terry probability
    1 / (1 + 10 ** ((r_b - r_a) / 400)) of the true ratings; a share `ties` of the votes are ties instead (drawn
    after the outcomes, so ties=0 gives the same votes as no ties at all)."""
    rng = np.random.default_rng(seed)
    names, r = np.array(list(true)), np.array(list(true.values()))
    a = rng.integers(0, len(r), n)
    b = (a + rng.integers(1, len(r), n)) % len(r)
    p = 1.0 / (1.0 + 10 ** ((r[b] - r[a]) / 400))
    outcome = np.where(rng.random(n) < p, "a", "b")
    outcome = np.where(rng.random(n) < ties, "tie", outcome)
    return pd.DataFrame({"model_a": names[a], "model_b": names[b], "outcome": outcome})
