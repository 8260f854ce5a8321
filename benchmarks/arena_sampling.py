"""Votes each arena pair sampler needs to reach the stopping rule, on simulated raters (issue 17 part 1; goal: today's
over ours >= 1.3 at equal or better correctness, for 6 and 20 models).

    .venv/bin/python benchmarks/arena_sampling.py [--models 6,20] [--noise 0,0.1,0.2] [--seeds 8] [--json PATH]

Each seed draws true strengths with adjacent gaps uniform in [--gap-low, --gap-high] rating points; an honest rater
picks A with the Bradley-Terry chance, a noisy one (share --noise) picks a side at random. Both samplers see the same
raters and stop at the same rule (sampling.check_rule, "separated": adjacent 95% intervals apart), checked every
--check votes on the quick fit (not the leaderboard's 100-round bootstrap), or at the --cap. "Today's" sampler is
the rule the arena used before sampling (1 / (1 + votes) per pair, drawn with numpy); ours is sampling's choice,
refitted (warm) after every vote. "Right" is the final fit's order equal to the truth (Kendall tau = 1); "adjacent" is
the share of neighbours in the right order.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from leaderboard.arena import sampling  # noqa: E402


def true_strengths(n: int, rng: random.Random, low: float, high: float) -> np.ndarray:
    """Log-odds strengths, best first, with adjacent gaps uniform in [low, high] rating points; mean 0."""
    gaps = [rng.uniform(low, high) / sampling.POINTS for _ in range(n - 1)]
    theta = -np.concatenate([[0.0], np.cumsum(gaps)])
    return theta - theta.mean()


def kendall_tau(truth: np.ndarray, fitted: np.ndarray) -> float:
    """Kendall's tau between two strength vectors (no ties expected)."""
    signs = [
        np.sign(truth[i] - truth[j]) * np.sign(fitted[i] - fitted[j]) for i, j in combinations(range(len(truth)), 2)
    ]
    return float(np.mean(signs))


def simulate(sampler: str, theta: np.ndarray, noise: float, seed: int, check: int, cap: int) -> dict:
    """One run to the stopping rule: votes used, whether it stopped before the cap, and the final order's quality."""
    n = len(theta)
    models = [f"m{k:02d}" for k in range(n)]
    first, second = sampling.pair_index(n)
    rng = random.Random(seed)  # draws the pairs (as the arena's one locked generator does)
    raters = random.Random(seed + 10**6)  # the votes: the same stream for both samplers
    wins = np.zeros((n, n))
    counts = np.zeros(len(first))  # votes per pair, in pair_index order
    est = sampling.fit(wins, models)
    done, votes = False, 0
    while votes < cap and not done:
        chances = 1.0 / (1.0 + counts) if sampler == "today" else sampling.choice_weights(est)
        pair = rng.choices(range(len(chances)), weights=chances.tolist())[0]
        i, j = first[pair], second[pair]
        p = 1.0 / (1.0 + np.exp(theta[j] - theta[i]))
        a_wins = raters.random() < 0.5 if raters.random() < noise else raters.random() < p
        wins[(i, j) if a_wins else (j, i)] += 1.0
        counts[pair] += 1
        votes += 1
        if sampler == "ours":
            est = sampling.fit(wins, models, start=est.theta)
        if votes % check == 0:
            if sampler == "today":
                est = sampling.fit(wins, models, start=est.theta)
            done = sampling.check_rule(est, votes).done
    est = sampling.fit(wins, models, start=est.theta)
    order_true, order_fit = np.argsort(-theta), np.argsort(-est.theta)
    adjacent = np.mean([est.theta[order_true[k]] > est.theta[order_true[k + 1]] for k in range(n - 1)])
    return {
        "votes": votes,
        "stopped": bool(done),
        "right": bool((order_true == order_fit).all()),
        "tau": kendall_tau(theta, est.theta),
        "adjacent": float(adjacent),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="6,20", help="model counts, comma-separated")
    parser.add_argument("--noise", default="0,0.1,0.2", help="shares of random raters, comma-separated")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--first-seed", type=int, default=100, help="seeds 0-15 tuned sampling's constants: held out")
    parser.add_argument("--gap-low", type=float, default=40.0, help="smallest adjacent gap, rating points")
    parser.add_argument("--gap-high", type=float, default=120.0, help="largest adjacent gap, rating points")
    parser.add_argument("--check", type=int, default=10, help="check the stopping rule every this many votes")
    parser.add_argument("--cap", type=int, default=200000, help="votes at most per run")
    parser.add_argument("--jobs", type=int, default=2, help="processes running simulations side by side")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cases = [(int(n), float(noise)) for n in args.models.split(",") for noise in args.noise.split(",")]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(sampler, n, noise, seed) for n, noise in cases for seed in seeds for sampler in ("today", "ours")]
    run = functools.partial(_run, args.gap_low, args.gap_high, args.check, args.cap)
    with ProcessPoolExecutor(args.jobs) if args.jobs > 1 else contextlib.nullcontext() as pool:
        done = iter((pool.map if pool else map)(run, jobs))
        print(f"{'models':>6} {'noise':>5} | {'today':>7} {'ours':>7} {'ratio':>5} | right today/ours | adjacent t/o")
        results = [_row(n, noise, [next(done) for _ in range(2 * len(seeds))], args.seeds) for n, noise in cases]
    print(f"({time.perf_counter() - started:.0f} s with {args.jobs} processes)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return {"rows": results}


def _run(gap_low: float, gap_high: float, check: int, cap: int, job: tuple) -> dict:
    sampler, n, noise, seed = job
    theta = true_strengths(n, random.Random(1000 * n + seed), gap_low, gap_high)  # the same truth for both samplers
    return {"sampler": sampler, **simulate(sampler, theta, noise, seed, check, cap)}


def _row(n: int, noise: float, runs: list[dict], seeds: int) -> dict:
    """One printed line: each sampler's mean votes, stops, correctness, and today's votes over ours."""
    row: dict = {"models": n, "noise": noise}
    for sampler in ("today", "ours"):
        rs = [r for r in runs if r["sampler"] == sampler]
        row[sampler] = {
            "votes_mean": statistics.mean(r["votes"] for r in rs),
            "stopped": sum(r["stopped"] for r in rs),
            "right": statistics.mean(r["right"] for r in rs),
            "tau": statistics.mean(r["tau"] for r in rs),
            "adjacent": statistics.mean(r["adjacent"] for r in rs),
            "votes": [r["votes"] for r in rs],
        }
    row["ratio"] = row["today"]["votes_mean"] / row["ours"]["votes_mean"]
    t, o = row["today"], row["ours"]
    print(
        f"{n:>6} {noise:>5.2f} | {t['votes_mean']:>7.0f} {o['votes_mean']:>7.0f} {row['ratio']:>5.2f} | "
        f"{t['right']:>5.2f} / {o['right']:<5.2f}     | {t['adjacent']:>5.3f} / {o['adjacent']:<5.3f}"
        f"   (capped {seeds - t['stopped']}/{seeds - o['stopped']})",
        flush=True,
    )
    return row


if __name__ == "__main__":
    main()
