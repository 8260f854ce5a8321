"""Arena pairs: balanced rating-session items, rater orders, session codes, rater agreement (battle pairs: sampling)."""

from __future__ import annotations

import hashlib
import math
import numbers
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

import pandas as pd

from genart_demo.errors import InputError

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # digits and capitals without 0/O, 1/I/L: easy to read out loud
CODE_LENGTH = 8  # 31 ** 8 ≈ 8.5e11 codes
NO_WINNER = ("tie", "bothbad")  # outcomes that pick no model; "a" and "b" pick the left and right model
AGREEMENT_COLUMNS = ("rater", "item", "model_a", "model_b", "outcome")  # what agreement() reads from each vote


def _distinct_models(models: Iterable[str]) -> list[str]:
    distinct = list(dict.fromkeys(str(m) for m in models))
    if len(distinct) < 2:
        raise InputError(f"A pair needs at least two different models; got {distinct or 'none'}.")
    return distinct


# ---------------------------------------------------------------------------------------------- session items


def session_items(models: Sequence[str], prompts: Sequence[str], n_items: int, seed: int) -> list[tuple[str, str, int]]:
    """The items of a rating session: n_items of (left model, right model, prompt index), the same for every rater.

    Balanced: each unordered pair appears floor or ceil(n_items / n_pairs) times (whole rounds of every pair, then
    the remainder going to pairs whose models have been shown least); each prompt is used floor or ceil(n_items /
    n_prompts) times, and a pair meets the same prompt twice only when it must; a pair's sides alternate between
    its appearances. The same arguments always give the same list."""
    distinct = sorted(_distinct_models(models))
    if len(prompts) < 1:
        raise InputError("A session needs at least one prompt.")
    if isinstance(n_items, bool) or not isinstance(n_items, numbers.Integral) or n_items < 1:
        raise InputError(f"The number of pairs per rater must be a whole number of at least 1; got {n_items!r}.")
    n_items = int(n_items)
    rng = random.Random(seed)
    pairs = list(combinations(distinct, 2))
    rounds, extra = divmod(n_items, len(pairs))

    order: list[tuple[str, str]] = []
    for _ in range(rounds):  # every pair once per round
        shuffled = pairs[:]
        rng.shuffle(shuffled)
        order += shuffled
    shows = Counter({m: rounds * (len(distinct) - 1) for m in distinct})
    left = pairs[:]
    rng.shuffle(left)
    for _ in range(extra):  # the remainder: pairs whose models have been shown least
        pair = min(left, key=lambda p: shows[p[0]] + shows[p[1]])  # first of the shuffled ties
        left.remove(pair)
        shows.update(pair)
        order.append(pair)

    flip_first = {pair: rng.random() < 0.5 for pair in pairs}
    appearances: Counter[tuple[str, str]] = Counter()
    met: dict[tuple[str, str], set[int]] = {pair: set() for pair in pairs}
    fresh: list[int] = []  # prompts used least so far: drawing only from them keeps use within one of even
    items = []
    for pair in order:
        fresh = fresh or list(range(len(prompts)))
        unmet = [i for i in fresh if i not in met[pair]]
        prompt = rng.choice(unmet or fresh)
        fresh.remove(prompt)
        met[pair].add(prompt)
        flipped = flip_first[pair] != (appearances[pair] % 2 == 1)
        appearances[pair] += 1
        items.append((pair[1], pair[0], prompt) if flipped else (pair[0], pair[1], prompt))
    rng.shuffle(items)
    return items


def rater_order(items: Sequence[tuple[str, str, int]], rater: str, seed: int) -> list[tuple[int, str, str]]:
    """(item index, left, right) for one rater: every item once, in an order of their own, with the sides of half
    the items (one more or less for an odd count) swapped. The same (rater, seed) always gives the same order."""
    digest = hashlib.sha256(f"{seed}|{rater}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    indices = list(range(len(items)))
    rng.shuffle(indices)
    n_flipped = len(items) // 2 + (len(items) % 2 if rng.random() < 0.5 else 0)
    flipped = set(rng.sample(indices, n_flipped))
    order = []
    for index in indices:
        left, right = items[index][0], items[index][1]
        order.append((index, right, left) if index in flipped else (index, left, right))
    return order


# ---------------------------------------------------------------------------------------------- session codes


def session_code(rng: random.Random) -> str:
    """A new session code: 8 characters from CODE_ALPHABET, e.g. "K7Q2MX4P"."""
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str | None) -> str:
    """A session code as typed (spaces around it, any case) -> the stored form; InputError if it cannot be one."""
    code = str(text or "").strip().upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        raise InputError(
            f"A session code is {CODE_LENGTH} letters and digits such as K7Q2MX4P (no 0, O, 1, I or L); "
            f"got {str(text or '').strip()!r}."
        )
    return code


# ---------------------------------------------------------------------------------------------- agreement


def _vote_rows(votes) -> list[dict]:
    if isinstance(votes, pd.DataFrame):
        missing = [c for c in AGREEMENT_COLUMNS if c not in votes.columns]
        if missing:
            raise InputError(f"The votes table lacks columns {missing}; it needs {list(AGREEMENT_COLUMNS)}.")
        return votes[list(AGREEMENT_COLUMNS)].to_dict("records")
    rows = []
    for vote in votes:
        get = vote.get if isinstance(vote, Mapping) else (lambda name, v=vote: getattr(v, name, None))
        rows.append({c: get(c) for c in AGREEMENT_COLUMNS})
    return rows


def vote_choice(model_a: str, model_b: str, outcome: str) -> str:
    """What a vote chose, whichever side each model was shown on: the winning model's name, "tie" or "bothbad"."""
    if outcome == "a":
        return model_a
    if outcome == "b":
        return model_b
    if outcome in NO_WINNER:
        return outcome
    raise InputError(f"A vote's outcome must be one of a, b, tie, bothbad; got {outcome!r}.")


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa of an items x categories table of how many raters put each item in each category.

    Items may have different numbers of raters (each needs at least 2): P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)),
    P_bar = mean of P_i, p_j = share of all ratings in category j, P_e = sum_j p_j^2, kappa = (P_bar - P_e) /
    (1 - P_e). NaN when there are no items, or when every rating is in one category (P_e = 1: kappa is 0 / 0)."""
    rows = [[int(n) for n in row] for row in counts]
    if not rows:
        return math.nan
    agreements = []
    totals = [0] * max(len(row) for row in rows)
    for row in rows:
        n = sum(row)
        if n < 2:
            raise InputError(f"Fleiss' kappa needs at least two ratings per item; an item has {n}.")
        agreements.append((sum(c * c for c in row) - n) / (n * (n - 1)))
        for j, c in enumerate(row):
            totals[j] += c
    p_bar = sum(agreements) / len(agreements)
    p_e = sum((t / sum(totals)) ** 2 for t in totals)
    if p_e >= 1.0:
        return math.nan
    return (p_bar - p_e) / (1.0 - p_e)


def agreement(votes) -> tuple[pd.DataFrame, float]:
    """(rater x rater agreement, Fleiss' kappa) for the votes of a rating session.

    `votes`: a DataFrame or an iterable of objects or dicts with rater, item, model_a, model_b, outcome. Each vote's
    choice is the winning model's name, "tie" or "bothbad", so the sides a rater saw don't matter; if a rater voted
    on an item twice the later vote (in the given order) counts. Cell (r, s) is the fraction of the items both r and
    s voted on where they chose the same (1 on the diagonal, NaN when they share no item); raters in order of first
    vote. Kappa's categories are the four choices any item offers (the first or second model of its sorted pair wins,
    tie, both bad), so chance agreement is right however many models a session has; it covers the items with at
    least two raters (NaN if none)."""
    choices: dict[object, dict[object, str]] = {}  # rater -> item -> choice
    kinds: dict[object, dict[object, str]] = {}  # rater -> item -> "first"/"second" (of the sorted pair)/tie/bothbad
    for row in _vote_rows(votes):
        if row["rater"] is None or row["item"] is None or (isinstance(row["item"], float) and math.isnan(row["item"])):
            raise InputError("Every vote needs a rater and an item to measure agreement; a vote lacks one.")
        choice = vote_choice(row["model_a"], row["model_b"], row["outcome"])
        choices.setdefault(row["rater"], {})[row["item"]] = choice
        kind = (
            choice if choice in NO_WINNER else ("first" if choice == min(row["model_a"], row["model_b"]) else "second")
        )
        kinds.setdefault(row["rater"], {})[row["item"]] = kind
    raters = list(choices)
    table = pd.DataFrame(math.nan, index=pd.Index(raters, name="rater"), columns=pd.Index(raters, name="rater"))
    for r in raters:
        table.loc[r, r] = 1.0
    for r, s in combinations(raters, 2):
        shared = choices[r].keys() & choices[s].keys()
        if shared:
            table.loc[r, s] = table.loc[s, r] = sum(choices[r][i] == choices[s][i] for i in shared) / len(shared)

    by_item: dict[object, Counter[str]] = {}
    for per_rater in kinds.values():  # one pair per item: chance agreement over its 4 possible choices
        for item, choice in per_rater.items():
            by_item.setdefault(item, Counter())[choice] += 1
    rated = [c for c in by_item.values() if sum(c.values()) >= 2]
    categories = sorted({choice for c in rated for choice in c})
    kappa = fleiss_kappa([[c[k] for k in categories] for c in rated])
    return table, kappa
