"""What the Ratings page and `genart arena ratings` show beside the table: flagged raters, the stopping rule, the
votes the top rank rests on, and the pull of the side shown and of each image's brightness, contrast, saturation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from genart_demo.errors import InputError

from .image_measures import GENERATION_TIME, usable_covariates, vote_covariates
from .rated import RatedVotes
from .rating_robustness import controlled_bt, ipw_bt_ratings, top_rank_votes
from .ratings import BOOTSTRAP_ROUNDS, MIN_VOTES, ratings_table
from .sampling import RULES, Progress, stopping_rule

STOP_RULE_LABELS = {"separated": "all adjacent ranks separated", "width": "every interval narrower than X points"}
DEFAULT_WIDTH = 100.0  # rating points: the width rule's X unless one is given
FRAGILITY_LIMIT = 100  # the fragility search removes at most this many votes (each removal refits every candidate)
FLAG_COLUMNS = ("rater", "check", "reason", "kept")
COVARIATE_UNITS = {
    "side": "for being shown as A (left)",
    "brightness": "per unit of mean luma (0 black to 1 white)",
    "contrast": "per unit of luma standard deviation (0 flat to 0.5 black-and-white)",
    "saturation": "per unit of mean HSV saturation (0 grey to 1 pure colour)",
    GENERATION_TIME: "per second of generation time",
}


@dataclass(frozen=True)
class RatingReport:
    """The ratings of one task and what they rest on."""

    table: pd.DataFrame  # ratings.ratings_table over the votes that count
    votes: pd.DataFrame  # those votes (Arena.rated_votes)
    flags: pd.DataFrame  # FLAG_COLUMNS: each flag on a rater, and whether an organiser keeps them
    rule: str  # sampling.RULES
    width: float | None  # X of the width rule (points); None for "separated"
    stop: Progress | None  # None with fewer than two rated models
    fragility: dict  # rating_robustness.top_rank_votes without "removed"
    coefficients: dict[str, float]  # covariate -> rating points (COVARIATE_UNITS); {} without two rated models
    covariate_votes: int  # votes the controlled fit used (those with every used covariate measured)


def check_stop_rule(rule: object, width: object) -> tuple[str, float | None]:
    """(rule, width) checked: rule one of sampling.RULES, width a number of points above 0 for the width rule."""
    rule = str(rule or "separated").strip().lower()
    rule = {label.lower(): key for key, label in STOP_RULE_LABELS.items()}.get(rule, rule)
    if rule not in RULES:
        raise InputError(f"Unknown stopping rule {rule!r}; allowed: {', '.join(RULES)}.")
    if rule == "separated":
        return rule, None
    try:
        value = float(DEFAULT_WIDTH if width is None or str(width).strip() == "" else width)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"Interval width {width!r}: give a number of rating points above 0, e.g. {DEFAULT_WIDTH:g}.")
    return rule, value


def flags_frame(rated: RatedVotes) -> pd.DataFrame:
    """One row per flag: rater id, check, reason and whether the rater is kept in the ratings all the same."""
    rows = [(f.rater, f.check, f.reason, f.rater in rated.kept) for f in rated.flags]
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))


def _finite_models(table: pd.DataFrame) -> list[str]:
    return table.loc[table["rating"].notna(), "model"].astype(str).tolist() if len(table) else []


def _among(votes: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    return votes[votes["model_a"].isin(models) & votes["model_b"].isin(models)] if len(votes) else votes


def with_ipw(table: pd.DataFrame, votes: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """The table with an ipw_rating column beside the rating: Bradley-Terry over the same votes among the finite
    models with every pair weighted alike (rating_robustness.ipw_bt_ratings), since the arena's sampler shows the
    close pairs most; NaN for a model with no finite rating."""
    weighted = ipw_bt_ratings(_among(votes, models)) if len(models) >= 2 else {}
    column = table["model"].astype(str).map(weighted).astype(float) if len(table) else pd.Series(dtype=float)
    out = table.copy()
    out.insert(
        list(out.columns).index("rating") + 1 if "rating" in out.columns else len(out.columns), "ipw_rating", column
    )
    return out


def covariate_coefficients(votes: pd.DataFrame, models: list[str], outputs, absolute) -> tuple[dict[str, float], int]:
    """Rating points of the side shown and of each measured image property (rating_robustness.controlled_bt) over
    the votes among `models` that have every used measure; (coefficients, votes used)."""
    votes = _among(votes, models)
    if len(models) < 2 or votes.empty:
        return {}, 0
    measured = vote_covariates(votes, outputs, absolute)
    names = usable_covariates(measured)
    columns = [f"{n}_{s}" for n in names for s in "ab"]
    measured = measured.dropna(subset=columns) if columns else measured
    if measured.empty:
        return {}, 0
    fitted = controlled_bt(measured, covariates=("side", *names))
    return fitted["coefficients"], len(measured)


def rating_report(
    arena,
    task: str,
    *,
    include_named: bool = False,
    rule: str = "separated",
    width: float | None = None,
    rounds: int = BOOTSTRAP_ROUNDS,
    min_votes: int | None = None,
    seed: int = 0,
) -> RatingReport:
    """The ratings table of `arena`'s task over the votes that count (Arena.rated_votes), with the flags, the
    stopping rule, the fragility of the top rank and the covariate coefficients."""
    rule, width = check_stop_rule(rule, width)
    rated = arena.rated_votes(task, include_named=include_named)
    table = ratings_table(rated.votes, rounds, seed, MIN_VOTES if min_votes is None else min_votes)
    models = _finite_models(table)
    table = with_ipw(table, rated.votes, models)
    votes = _among(rated.votes, models)
    pairs = list(zip(votes["model_a"], votes["model_b"], votes["outcome"])) if len(votes) else []
    stop = stopping_rule(models, pairs, rule, width) if len(models) >= 2 else None
    fragile = top_rank_votes(votes, limit=FRAGILITY_LIMIT) if len(models) >= 2 else {"top": None, "votes": None}
    fragility = {"top": fragile["top"], "new_top": fragile.get("new_top"), "votes": fragile["votes"]}
    outputs = {b.id: (b.outputs_a, b.outputs_b) for b in arena.store.battles()} if len(votes) else {}
    coefficients, used = covariate_coefficients(votes, models, outputs, arena.absolute)
    return RatingReport(table, rated.votes, flags_frame(rated), rule, width, stop, fragility, coefficients, used)


# ---------------------------------------------------------------- words


def stop_text(report: RatingReport) -> str:
    """Whether the stopping rule holds and about how many more votes it likely needs, in one sentence."""
    goal = (
        "all adjacent ranks separated"
        if report.rule == "separated"
        else f"every interval under {report.width:g} points"
    )
    stop = report.stop
    if stop is None:
        return f"Stopping rule ({goal}): needs at least two rated models."
    if stop.done:
        return f"Stopping rule ({goal}): holds after {stop.votes} votes; more votes are not needed."
    if report.rule == "separated":
        short = f"{len(stop.pending)} adjacent pair(s) still overlap: " + ", ".join(
            f"{a} / {b}" for a, b in stop.pending
        )
    else:
        short = f"{len(stop.pending)} model(s) still too wide: " + ", ".join(stop.pending)
    if math.isinf(stop.votes_needed):
        return f"Stopping rule ({goal}): not yet; {short}; two models look exactly tied, so no number of votes may do."
    return f"Stopping rule ({goal}): not yet; {short}; about {int(stop.votes_needed)} more votes likely needed."


def fragility_text(report: RatingReport) -> str:
    """How many votes the top rank rests on, in one sentence."""
    f = report.fragility
    if f["top"] is None:
        return "Top rank: needs at least two rated models."
    if f["votes"] is None:
        return f"Top rank ({f['top']}): holds after removing {FRAGILITY_LIMIT} votes (the search stops there)."
    return f"Top rank ({f['top']}): removing {f['votes']} vote(s) changes the top rank (to {f['new_top']})."


def coefficients_frame(report: RatingReport) -> pd.DataFrame:
    """covariate, points, unit: what each confounder is worth on the rating scale in the controlled fit."""
    rows = [(name, points, COVARIATE_UNITS.get(name, "")) for name, points in report.coefficients.items()]
    return pd.DataFrame(rows, columns=["covariate", "points", "unit"])


def report_json(report: RatingReport) -> dict:
    """Everything in the report as JSON-ready values (inf votes needed as null)."""
    stop = report.stop
    needed = None if stop is None or math.isinf(stop.votes_needed) else int(stop.votes_needed)
    return {
        "ratings": report.table.astype(object).where(report.table.notna(), None).to_dict(orient="records"),
        "stopping_rule": {
            "rule": report.rule,
            "width": report.width,
            "done": None if stop is None else stop.done,
            "pending": [] if stop is None else [list(p) if isinstance(p, tuple) else p for p in stop.pending],
            "votes": None if stop is None else stop.votes,
            "votes_needed": needed,
            "text": stop_text(report),
        },
        "fragility": {**report.fragility, "limit": FRAGILITY_LIMIT, "text": fragility_text(report)},
        "covariates": {"coefficients": report.coefficients, "votes": report.covariate_votes},
        "flagged_raters": report.flags.to_dict(orient="records"),
    }


__all__ = [
    "COVARIATE_UNITS",
    "DEFAULT_WIDTH",
    "FLAG_COLUMNS",
    "FRAGILITY_LIMIT",
    "STOP_RULE_LABELS",
    "RatingReport",
    "check_stop_rule",
    "coefficients_frame",
    "covariate_coefficients",
    "flags_frame",
    "fragility_text",
    "rating_report",
    "report_json",
    "stop_text",
]
