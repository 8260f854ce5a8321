"""Bradley-Terry maths on win counts: the penalised fit, which models have a finite rating, sandwich covariances,
inverse-propensity weights, a fit with covariates and the fragility of the top rank (ratings and rating_robustness
wrap them)."""

from __future__ import annotations

import dataclasses

import numpy as np

# Bradley-Terry maximises log-likelihood - RIDGE/2 * sum(theta**2), theta = rating * ln(base) / scale. The prior keeps
# the fit finite when a model won (or lost) every game, and puts each group of models that never met another group at
# the mean. It moves a fit with a handful of votes by ~1e-4 of a point. A model that won all its n games against one
# other ends a gap d (in theta) above it with e**d ~ 2n / (RIDGE * d): about 2,300 points for 5 wins, huge but finite;
# bootstrap resamples of few votes hit this too, so intervals of models with few votes are very wide. The ratings
# table therefore fits only the models with a finite maximum-likelihood rating (finite_models).
RIDGE = 1e-6


def win_counts(a, b, score, counts, n: int) -> np.ndarray:
    """W[..., i, j] = wins of model i over model j (ties half each way); counts may have a leading batch axis."""
    counts = np.asarray(counts, np.float64)
    wins = np.zeros(counts.shape[:-1] + (n, n))
    np.add.at(wins, (..., a, b), counts * score)
    np.add.at(wins, (..., b, a), counts * (1.0 - score))
    return wins


def _objective(theta: np.ndarray, wins: np.ndarray) -> np.ndarray:
    """Penalised log-likelihood per batch row: sum W_ij log sigmoid(theta_i - theta_j) - RIDGE/2 |theta|^2."""
    diff = theta[..., :, None] - theta[..., None, :]
    return -(wins * np.logaddexp(0.0, -diff)).sum(axis=(-2, -1)) - 0.5 * RIDGE * (theta**2).sum(axis=-1)


def fit_theta(wins: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Bradley-Terry strengths theta (natural log-odds units, mean 0) maximising the penalised likelihood of the win
    counts wins (R, n, n), by Newton's method with a backtracking line search, all R fits at once. (R, n)"""
    rounds, n, _ = wins.shape
    games = wins + np.swapaxes(wins, -1, -2)  # (R, n, n) games between i and j
    theta = np.zeros((rounds, n))
    eye = np.eye(n)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(theta[:, None, :] - theta[:, :, None]))  # P(i beats j)
        grad = (wins - games * p).sum(axis=2) - RIDGE * theta  # (R, n)
        weight = games * p * (1.0 - p)
        hess = weight - eye * (weight.sum(axis=2)[:, :, None] + RIDGE)  # (R, n, n), negative definite
        step = np.linalg.solve(-hess, grad[..., None])[..., 0]
        step -= step.mean(axis=1, keepdims=True)  # the optimum has mean 0: drop rounding noise along all-ones
        slope = (grad * step).sum(axis=1)
        start = _objective(theta, wins)
        t = np.ones(rounds)
        for _ in range(50):  # halve the step where it does not raise the objective enough (Armijo)
            ok = _objective(theta + t[:, None] * step, wins) >= start + 1e-4 * t * slope - 1e-12 * np.abs(start)
            if ok.all():
                break
            t = np.where(ok, t, t / 2)
        theta = theta + t[:, None] * step
        if np.abs(t[:, None] * step).max(initial=0.0) < 1e-11:
            break
    return theta - theta.mean(axis=1, keepdims=True)


# ---------------------------------------------------------------- which ratings are finite


def finite_models(wins: np.ndarray) -> np.ndarray:
    """Per model: 0 where its maximum-likelihood rating is finite, +1 where it is +inf (it beat the finite group,
    directly or through models it beat, and never lost to it), -1 where it is -inf (the mirror), NaN where it is
    not linked both ways (another group, or between two unbounded ones). (n,)

    The likelihood has a finite maximum exactly on a strongly connected "i beat j" graph (Ford 1957; a tie is half
    a win each way). The finite group is the largest strongly connected component of at least two models (ties
    broken by games played, then first model); with none, no model is finite and only models that never lost
    (+inf) or never won (-inf) get a sign."""
    n = len(wins)
    beat = wins > 0
    reach = beat | np.eye(n, dtype=bool)  # reach[i, j]: i beat j, directly or through models it beat
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2)))))):  # transitive closure by squaring (n is small)
        reach = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
    _, label = np.unique(reach & reach.T, axis=0, return_inverse=True)  # same row of mutual reach: same component
    label = label.ravel()
    sizes = np.bincount(label)
    games = (wins + wins.T).sum(axis=1)
    candidates = [c for c in range(len(sizes)) if sizes[c] >= 2]
    sign = np.full(n, np.nan)
    if not candidates:
        sign[(beat.sum(axis=0) == 0) & beat.any(axis=1)] = 1.0  # never lost
        sign[(beat.sum(axis=1) == 0) & beat.any(axis=0)] = -1.0  # never won
        return sign
    main = min(candidates, key=lambda c: (-sizes[c], -games[label == c].sum(), np.flatnonzero(label == c)[0]))
    inside = label == main
    sign[reach[:, inside].any(axis=1)] = 1.0
    sign[reach[inside, :].any(axis=0)] = -1.0
    sign[inside] = 0.0
    return sign


# ---------------------------------------------------------------- closed-form intervals and weights


def sandwich_cov(theta: np.ndarray, a, b, score, counts) -> np.ndarray:
    """Sandwich covariance H^+ J H^+ of centred theta (natural log-odds) from the distinct vote cells: H is the
    Fisher information sum n p (1 - p) x x^T with x = e_a - e_b, J the outer product of the per-vote scores
    sum n (s - p)^2 x x^T (robust to ties and misfit), ^+ the pseudo-inverse (the ratings are only known up to a
    shift; the pseudo-inverse gives the mean-zero ones, as the bootstrap centres). (n, n)"""
    n = len(theta)
    p = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))
    x = np.zeros((len(a), n))
    x[np.arange(len(a)), a] = 1.0
    x[np.arange(len(a)), b] = -1.0
    fisher = (x * (counts * p * (1 - p))[:, None]).T @ x
    meat = (x * (counts * (score - p) ** 2)[:, None]).T @ x
    bread = np.linalg.pinv(fisher, hermitian=True)
    return bread @ meat @ bread


def ipw_counts(a, b, counts) -> np.ndarray:
    """Vote counts reweighted by 1 / (share of the votes its unordered pair got), normalised to the same total: every
    pair that was voted on weighs the same in the fit, so an over-sampled pair cannot dominate it."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    _, pair = np.unique(np.stack([lo, hi], axis=1), axis=0, return_inverse=True)
    pair_votes = np.bincount(pair.ravel(), weights=counts)
    weights = counts / pair_votes[pair.ravel()]
    return weights * counts.sum() / weights.sum()


def fit_controlled(a, b, score, x, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Bradley-Terry with covariates, one row per vote: logit P(A wins) = theta_a - theta_b + x . beta, so an effect
    that is not the model's (the side A is shown on, a brighter image) gets its own coefficient instead of leaking
    into theta. x (V, k); ties count half (score 0.5); the RIDGE prior is on theta only. Newton's method with step
    halving. Returns theta (n,) with mean 0 and beta (k,), both in natural log-odds units."""
    n = int(max(a.max(), b.max())) + 1
    votes = len(a)
    design = np.zeros((votes, n + x.shape[1]))
    design[np.arange(votes), a] = 1.0
    design[np.arange(votes), b] = -1.0
    design[:, n:] = x
    prior = np.r_[np.full(n, RIDGE), np.zeros(x.shape[1])]

    def objective(w):
        z = design @ w
        return -(score * np.logaddexp(0, -z) + (1 - score) * np.logaddexp(0, z)).sum() - 0.5 * (prior * w * w).sum()

    w = np.zeros(design.shape[1])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        grad = design.T @ (score - p) - prior * w
        info = (design * (p * (1 - p))[:, None]).T @ design + np.diag(prior)
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
        t, start = 1.0, objective(w)
        while objective(w + t * step) < start and t > 1e-6:
            t /= 2
        w = w + t * step
        if np.abs(t * step).max(initial=0.0) < 1e-10:
            break
    return w[:n] - w[:n].mean(), w[n:]


# ---------------------------------------------------------------- fragility of the top rank


@dataclasses.dataclass(frozen=True)
class Fragility:
    """The votes a greedy search removed until another model rated above the top one (indices into the cells)."""

    top: int  # the top model before any removal
    new_top: int | None  # the model on top after the removals; None if the order never flipped within the limit
    removed: tuple[int, ...]  # cell index of each vote removed, in order

    @property
    def votes(self) -> int | None:
        """How many votes flipped the top rank (None: more than the search was allowed to remove)."""
        return len(self.removed) if self.new_top is not None else None


def top_rank_fragility(a, b, score, counts, n: int, limit: int | None = None) -> Fragility:
    """Greedy upper bound on the fewest votes whose removal puts another model above the top one: at each step try
    removing one vote of each distinct kind that involves the top model or its closest challenger, refit them all
    at once, and remove the one that leaves the top model's lead smallest; stop when the lead is negative (the order
    flipped; a tie is not a flip). Exact for two models; elsewhere it can overshoot, never undershoot a real flip."""
    left = np.asarray(counts, np.float64).copy()
    theta = fit_theta(win_counts(a, b, score, left, n)[None])[0]
    top = int(np.argmax(theta))
    limit = int(left.sum()) if limit is None else int(limit)
    removed: list[int] = []
    while len(removed) < limit:
        rival = int(np.argmax(np.where(np.arange(n) == top, -np.inf, theta)))
        near = (left > 0) & np.isin(a, (top, rival)) | (left > 0) & np.isin(b, (top, rival))
        cells = np.flatnonzero(near)
        if not len(cells):
            break
        trial = np.repeat(left[None], len(cells), axis=0)
        trial[np.arange(len(cells)), cells] -= 1.0
        fits = fit_theta(win_counts(a, b, score, trial, n))
        others = np.where(np.arange(n)[None] == top, -np.inf, fits).max(axis=1)
        lead = fits[:, top] - others
        best = int(np.argmin(lead))
        left, theta = trial[best], fits[best]
        removed.append(int(cells[best]))
        if lead[best] < -1e-9:
            return Fragility(top, int(np.argmax(theta)), tuple(removed))
    return Fragility(top, None, tuple(removed))


__all__ = [
    "RIDGE",
    "Fragility",
    "finite_models",
    "fit_controlled",
    "fit_theta",
    "ipw_counts",
    "sandwich_cov",
    "top_rank_fragility",
    "win_counts",
]
