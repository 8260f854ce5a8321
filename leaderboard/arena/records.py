"""The arena's records: battles, votes and rating sessions as the store keeps them, and why a vote is refused."""

from __future__ import annotations

from dataclasses import dataclass, field

from genart_demo.errors import InputError

OUTCOMES = ("a", "b", "tie", "bothbad")  # A = left/model_a, B = right/model_b
MODES = ("anonymous", "named", "session", "gold")  # gold: a session's known-answer pairs, never rated
GOOD, BAD = "gold:good", "gold:bad"  # the model names of a gold battle: the reference image and its corrupted twin
GOLD_ANSWERS = {(GOOD, BAD, None): "a"}  # rater_quality.GoldKey -> right outcome: the reference wins, either side
STATUSES = ("ready", "voted", "void")
REFUSALS = {  # VoteRefused.reason -> what the rater is told
    "forged": "This vote's ticket is not valid (it was altered, cut short or issued by another server); "
    "start a new battle to vote.",
    "expired": "This battle's voting time ran out; start a new battle to vote.",
    "foreign": "This battle was started by someone else: only the person who started a battle can vote on it. "
    "Start your own battle to vote.",
    "replayed": "This battle already has its vote: each battle counts once. Start a new battle to vote again.",
    "void": "This battle does not count ({detail}); start a new battle to vote.",
    "unknown": "This battle is not in the arena's records; start a new battle to vote.",
    "outcome": "{detail} is not a vote; allowed: " + ", ".join(OUTCOMES) + ".",
}


class VoteRefused(InputError):
    """A vote that is not counted; .reason is one of REFUSALS, the message says what happened in plain words."""

    def __init__(self, reason: str, message: str):
        if reason not in REFUSALS:
            raise ValueError(f"VoteRefused reason {reason!r}; allowed: {', '.join(REFUSALS)}")
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # so it survives pickling (e.g. from a worker process)
        return VoteRefused, (self.reason, str(self))


def vote_refused(reason: str, detail: str = "") -> VoteRefused:
    """VoteRefused(reason) with the message REFUSALS gives for it."""
    return VoteRefused(reason, REFUSALS[reason].format(detail=detail))


@dataclass(frozen=True)
class Battle:
    """Two models' outputs for one prompt and seed, shown to one rater, waiting for (at most) one vote."""

    id: str  # uuid4 hex (32 chars)
    task: str  # registry task, e.g. "text-to-image"
    mode: str  # MODES
    model_a: str  # shown left
    model_b: str  # shown right
    prompt: str
    seed: int
    outputs_a: tuple[str, ...]  # file paths (relative to the output folder, or absolute; stored as given)
    outputs_b: tuple[str, ...]
    rater: str  # the only rater whose vote counts
    created_at: float  # unix seconds
    expires_at: float  # no vote after this
    status: str = "ready"  # STATUSES
    void_reason: str = ""  # why a void battle does not count
    session_code: str | None = None  # the rating session it belongs to
    item: int | None = None  # index of the session item this battle shows
    settings: dict = field(default_factory=dict)  # JSON-able generation settings


@dataclass(frozen=True)
class Vote:
    """One counted vote, with the battle's facts copied in so ratings need no join."""

    id: int  # increasing in commit order
    battle_id: str
    created_at: float
    rater: str
    outcome: str  # OUTCOMES
    task: str
    mode: str
    model_a: str
    model_b: str
    prompt: str
    session_code: str | None
    item: int | None
    tags: tuple[str, ...] = ()  # the prompt's categories (a session prompt's tags, a prompt set's category)


@dataclass(frozen=True)
class RatingSession:
    """A fixed set of models x prompts that invited raters judge pair by pair."""

    code: str  # 8 chars from an unambiguous alphabet, e.g. "K7Q2MX4P" (stored upper-case)
    name: str
    task: str
    models: tuple[str, ...]
    prompts: tuple[str, ...]
    pairs_per_rater: int
    seed: int
    created_at: float
    tags: tuple[tuple[str, ...], ...] | None = None  # per prompt: its categories
    inputs: tuple[dict, ...] | None = None  # per prompt: input files, e.g. {"image": path, "mask": path}
    images_per_side: int | None = None  # images each model shows per item (None: one)
    gold: tuple[dict, ...] | None = None  # gold pairs: {"good": path, "bad": path, "prompt": text}


def battle_from_row(row) -> Battle:
    return Battle(
        **{
            **row,
            "outputs_a": tuple(row["outputs_a"]),
            "outputs_b": tuple(row["outputs_b"]),
            "settings": dict(row["settings"]),
        }
    )


def session_from_row(row) -> RatingSession:
    return RatingSession(
        **{
            **row,
            "models": tuple(row["models"]),
            "prompts": tuple(row["prompts"]),
            "tags": None if row["tags"] is None else tuple(tuple(t) for t in row["tags"]),
            "inputs": None if row["inputs"] is None else tuple(dict(i) for i in row["inputs"]),
            "gold": None if row["gold"] is None else tuple(dict(g) for g in row["gold"]),
        }
    )


def vote_from_row(row) -> Vote:
    return Vote(**{**row, "tags": tuple(row["tags"] or ())})
