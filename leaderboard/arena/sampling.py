"""Arena pair selection that follows uncertainty: a quick Bradley-Terry fit, the pair whose next vote shrinks the
unresolved adjacent intervals most, and a stopping rule with an estimate of the votes it still needs."""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np

from genart_demo.errors import InputError

from .pairs import _distinct_models
from .ratings import CONFIDENCE, ELO_BASE, ELO_SCALE, OUTCOME_SCORES

# A Gaussian prior on each strength (precision in 1 / log-odds^2, sd ~4.5 log-odds): it keeps a model with only wins
# finite and gives a model with no votes a wide interval in the middle, so placement matches find it. With tens of
# votes per model it moves a strength by under 1% of its standard error.
PRIOR = 0.05
EXPLORE = 0.1  # share of draws made uniformly over all pairs, so every pair is still seen
FIT_ITERATIONS = 25  # Newton steps at most; a warm start from the last fit needs 1-3
GAP_FLOOR = 0.1  # log-odds (~17 points): adjacent models closer than this count as this close when weighting them
FOCUS = 2.0  # F sums each adjacent pair's lacking share to this power: above 1 leans on the pair furthest from done
RESOLVED_WEIGHT = 0.1  # weight of an adjacent pair already separated, relative to an unresolved one: keep it so
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.96: the same 95% level as the leaderboard's bootstrap intervals
POINTS = ELO_SCALE / math.log(ELO_BASE)  # rating points per unit of log-odds (~173.7)
RULES = ("separated", "width")  # stopping rules: adjacent ranks separated, or every interval narrower than a width


@dataclass(frozen=True)
class Estimate:
    """A quick Bradley-Terry fit: strengths in log-odds (mean 0) and their covariance (inverse Fisher information
    with the prior, projected onto mean 0), in the order of `models`."""

    models: tuple[str, ...]
    theta: np.ndarray  # (n,)
    cov: np.ndarray  # (n, n)

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))  # (n,)


def win_matrix(votes: Iterable[Sequence[str]], models: Sequence[str]) -> np.ndarray:
    """W[i, j] = wins of models[i] over models[j] from votes (model_a, model_b, outcome), ties and both-bad half a
    win each way. Votes with a model outside `models` (a retired one) are skipped. (n, n)"""
    index = {m: i for i, m in enumerate(models)}
    wins = np.zeros((len(models), len(models)))
    for model_a, model_b, outcome in votes:
        score = OUTCOME_SCORES.get(str(outcome).strip().lower())
        if score is None:
            raise InputError(f"unknown vote outcome {outcome!r}; allowed: {', '.join(OUTCOME_SCORES)}")
        i, j = index.get(model_a), index.get(model_b)
        if i is None or j is None or i == j:
            continue
        wins[i, j] += score
        wins[j, i] += 1.0 - score
    return wins


def fit(wins: np.ndarray, models: Sequence[str], prior: float = PRIOR, start: np.ndarray | None = None) -> Estimate:
    """Bradley-Terry strengths maximising the log-likelihood of `wins` minus prior/2 |theta|^2 by Newton's method
    (steps capped at 1 log-odds, so no line search is needed), warm-started from `start`; and their covariance."""
    n = len(models)
    games = wins + wins.T
    theta = np.zeros(n) if start is None else np.array(start, dtype=float)
    eye = np.eye(n)
    for _ in range(FIT_ITERATIONS):
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # P(i beats j)
        grad = (wins - games * p).sum(axis=1) - prior * theta
        weight = games * p * (1.0 - p)
        info = eye * (weight.sum(axis=1) + prior) - weight  # Fisher information, positive definite
        step = np.linalg.solve(info, grad)
        step *= min(1.0, 1.0 / max(np.abs(step).max(initial=0.0), 1e-12))
        theta = theta + step
        if np.abs(step).max(initial=0.0) < 1e-6:
            break
    p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))
    weight = games * p * (1.0 - p)
    info = eye * (weight.sum(axis=1) + prior) - weight
    centre = eye - 1.0 / n  # strengths are only known up to a common shift: report them with mean 0
    return Estimate(tuple(models), theta - theta.mean(), centre @ np.linalg.inv(info) @ centre)


@functools.lru_cache(maxsize=64)
def pair_index(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(first, second) model index of every pair of combinations(range(n), 2): the order every pair array uses."""
    first, second = np.triu_indices(n, k=1)
    return first, second


def _adjacent(est: Estimate) -> tuple[np.ndarray, np.ndarray]:
    """Indices of each adjacent pair in the current order: (higher, lower), best first."""
    order = np.argsort(-est.theta, kind="stable")
    return order[:-1], order[1:]


def pair_gains(est: Estimate) -> np.ndarray:
    """For every pair of combinations(range(n), 2): how much one more vote on it is expected to shrink
    F = sum over adjacent pairs of h * (sd_hi + sd_lo)^2, h = 1 / max(gap, GAP_FLOOR)^2 (RESOLVED_WEIGHT times that
    where the two intervals already don't overlap). F is the share of the information each adjacent pair still
    lacks, so close, overlapping neighbours weigh most, and a model with few votes (wide sd) too. A vote on (i, j)
    adds w = p(1-p) (e_i - e_j)(e_i - e_j)^T to the information, so each variance drops by
    w (C_ki - C_kj)^2 / (1 + w (C_ii + C_jj - 2 C_ij)) (Sherman-Morrison); the gain is that drop through dF/dvar."""
    n = len(est.theta)
    sd = np.maximum(est.sd, 1e-12)
    hi, lo = _adjacent(est)
    gap = est.theta[hi] - est.theta[lo]
    h = 1.0 / np.maximum(gap, GAP_FLOOR) ** 2
    lacking = (Z * (sd[hi] + sd[lo])) ** 2 * h  # the share of information each still lacks: > 1 while they overlap
    h = h * lacking ** (FOCUS - 1) * np.where(lacking < 1, RESOLVED_WEIGHT, 1.0)
    slope = np.zeros(n)  # dF / d var_k
    np.add.at(slope, hi, h * (sd[hi] + sd[lo]) / sd[hi])
    np.add.at(slope, lo, h * (sd[hi] + sd[lo]) / sd[lo])
    i, j = pair_index(n)
    p = 1.0 / (1.0 + np.exp(est.theta[j] - est.theta[i]))
    w = p * (1.0 - p)
    c = est.cov
    drop = w * (c[:, i] - c[:, j]) ** 2 / (1.0 + w * (c[i, i] + c[j, j] - 2.0 * c[i, j]))  # (n, pairs)
    return slope @ drop


def choice_weights(est: Estimate, explore: float = EXPLORE) -> np.ndarray:
    """Chance of each pair of combinations(range(n), 2): 1 - explore on the pair(s) of largest gain, explore spread
    evenly over all pairs. Sums to 1; every pair is above 0 while explore > 0."""
    if not 0.0 < explore <= 1.0:
        raise InputError(f"explore is the share of uniformly random pairs, above 0 and at most 1; got {explore!r}")
    gains = pair_gains(est)
    best = gains >= gains.max() * (1 - 1e-9)
    return explore / len(gains) + (1.0 - explore) * best / best.sum()


def pair_chances(models: Iterable[str], votes: Iterable[Sequence[str]], explore: float = EXPLORE) -> dict:
    """Every sorted pair of `models` -> its chance of being drawn next given `votes` (model_a, model_b, outcome)."""
    distinct = sorted(_distinct_models(models))
    est = fit(win_matrix(votes, distinct), distinct)
    return dict(zip(combinations(distinct, 2), choice_weights(est, explore).tolist()))


def sample_pair(
    models: Iterable[str], votes: Iterable[Sequence[str]], rng: random.Random, explore: float = EXPLORE
) -> tuple[str, str]:
    """(left, right) for a blind battle: a pair drawn with pair_chances, its sides in random order."""
    chances = pair_chances(models, votes, explore)
    pairs = list(chances)
    pair = rng.choices(pairs, weights=[chances[p] for p in pairs])[0]
    return pair if rng.random() < 0.5 else (pair[1], pair[0])


# ---------------------------------------------------------------------------------------------- stopping rule


@dataclass(frozen=True)
class Progress:
    """Where a ranking stands against a stopping rule: done, the pairs or models still short of it, and about how
    many more votes that needs (0 when done; inf when two models look exactly tied)."""

    done: bool
    pending: tuple  # "separated": (higher, lower) adjacent pairs whose intervals overlap; "width": models too wide
    votes_needed: float
    votes: int


def _lacking(est: Estimate, rule: str, width: float | None) -> tuple[np.ndarray, list]:
    """(factor of information each pending item still lacks, the pending items); factors <= 1 mean met."""
    sd = est.sd
    if rule == "separated":
        hi, lo = _adjacent(est)
        gap = est.theta[hi] - est.theta[lo]
        need = Z * (sd[hi] + sd[lo])
        with np.errstate(divide="ignore", over="ignore"):
            factor = np.where(gap > 0, (need / np.maximum(gap, 1e-300)) ** 2, np.inf)
        return factor, [(est.models[a], est.models[b]) for a, b in zip(hi, lo)]
    factor = (2 * Z * sd * POINTS / width) ** 2
    return factor, list(est.models)


def check_rule(est: Estimate, votes: int, rule: str = "separated", width: float | None = None) -> Progress:
    """The stopping rule on a fit: "separated" = every two adjacent models' 95% intervals (strength +- 1.96 sd) do
    not overlap; "width" = every 95% interval is narrower than `width` rating points. Votes still needed: intervals
    shrink as 1 / sqrt(votes), so the item furthest from the rule needs (its sd / the sd it may have)^2 times the
    information it has, i.e. about votes * (that factor - 1) more votes if they keep being spread as so far."""
    if rule not in RULES:
        raise InputError(f"unknown stopping rule {rule!r}; allowed: {', '.join(RULES)}")
    if rule == "width" and (width is None or not width > 0):
        raise InputError(f"the width rule needs a width in rating points above 0; got {width!r}")
    factor, items = _lacking(est, rule, width)
    pending = tuple(item for item, f in zip(items, factor) if not f < 1.0)
    worst = float(factor.max(initial=0.0))
    needed = 0.0 if not pending else (math.inf if not math.isfinite(worst) else math.ceil(max(votes, 1) * (worst - 1)))
    return Progress(not pending, pending, needed, int(votes))


def stopping_rule(
    models: Iterable[str], votes: Sequence[Sequence[str]], rule: str = "separated", width: float | None = None
) -> Progress:
    """check_rule on the votes (model_a, model_b, outcome) among `models`."""
    distinct = sorted(_distinct_models(models))
    wins = win_matrix(votes, distinct)
    return check_rule(fit(wins, distinct), int(round(wins.sum())), rule, width)
