"""Rating sessions: an organiser's prompt list and models, a balanced set of blind pairs per rater, progress, export."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from genart_demo.atomic import atomic_write
from genart_demo.errors import InputError

from .battles import FLAGGED_VOID, Arena, BattleFlagged, BattleView, ProgressFn, check_prompt
from .categories import tagged_prompts
from .pairs import agreement, normalise_code, rater_order, session_code, session_items
from .rater_quality import QualityRules, battle_start_times, rater_flags
from .store import RatingSession

MAX_PAIRS_PER_RATER = 500
MAX_SESSION_PROMPTS = 2000
MAX_NAME_CHARS = 60


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    def text(self) -> str:
        return f"{self.done} / {self.total}"


def create_session(
    arena: Arena,
    name: str,
    models: Sequence[str],
    prompts: Sequence[str],
    pairs_per_rater: int,
    *,
    task: str = "text-to-image",
    seed: int | None = None,
) -> RatingSession:
    """A new session with its own code; every rater of it sees the same items (in their own order and sides)."""
    name = str(name or "").strip() or "rating session"
    if len(name) > MAX_NAME_CHARS:
        raise InputError(f"The session name is {len(name)} characters; at most {MAX_NAME_CHARS}.")
    models = list(dict.fromkeys(arena.check_model(task, str(m).strip()) for m in models if str(m).strip()))
    if len(models) < 2:
        raise InputError(f"A session needs at least two different models; got {models or 'none'}.")
    prompts, tags = tagged_prompts(prompts)  # "a red fox #animals" -> "a red fox", ("animals",)
    prompts = [check_prompt(p) for p in prompts]
    if not prompts:
        raise InputError("A session needs at least one prompt (one per line).")
    if len(prompts) > MAX_SESSION_PROMPTS:
        raise InputError(f"A session takes at most {MAX_SESSION_PROMPTS} prompts; got {len(prompts)}.")
    try:
        pairs = int(float(pairs_per_rater))
        whole = float(pairs_per_rater) == pairs
    except (TypeError, ValueError):
        whole = False
    if not whole or not 1 <= pairs <= MAX_PAIRS_PER_RATER:
        raise InputError(
            f"Pairs per rater must be a whole number from 1 to {MAX_PAIRS_PER_RATER}; got {pairs_per_rater!r}."
        )
    seed = arena.draw(lambda rng: rng.randrange(2**31)) if seed is None else int(seed)
    for _ in range(20):  # a fresh code; a collision (about 1 in 10^12) draws again
        code = arena.draw(session_code)
        session = RatingSession(
            code=code,
            name=name,
            task=task,
            models=tuple(models),
            prompts=tuple(prompts),
            tags=tags,
            pairs_per_rater=pairs,
            seed=seed,
            created_at=arena.clock(),
        )
        try:
            arena.store.create_session(session)
            return session
        except InputError:
            continue
    raise RuntimeError("could not find a free session code")


def get_session(arena: Arena, code: str) -> RatingSession:
    code = normalise_code(code)
    session = arena.store.get_session(code)
    if session is None:
        raise InputError(f"There is no rating session with code {code}; check the code the organiser gave you.")
    return session


def session_rater(arena: Arena, code: str, display_name: str) -> str:
    """A rater of a session: the name they give, salted and hashed with the code (the same name resumes)."""
    name = str(display_name or "").strip()
    if not name:
        raise InputError("Type your name (or any handle) so you can stop and resume later.")
    if len(name) > MAX_NAME_CHARS:
        raise InputError(f"Your name is {len(name)} characters; at most {MAX_NAME_CHARS}.")
    digest = hashlib.sha256(arena.rater_salt + f"{code}|{name.casefold()}".encode()).hexdigest()[:24]
    return f"session:{digest}"


def join_session(arena: Arena, code: str, display_name: str) -> tuple[RatingSession, str, Progress]:
    """(session, rater id, progress); joining again with the same name resumes where the rater stopped."""
    session = get_session(arena, code)
    rater = session_rater(arena, session.code, display_name)
    arena.store.join_session(session.code, rater, str(display_name).strip())
    return session, rater, progress(arena, session, rater)


def _items(session: RatingSession) -> list[tuple[str, str, int]]:
    return session_items(list(session.models), list(session.prompts), session.pairs_per_rater, session.seed)


def _voted_items(arena: Arena, session: RatingSession, rater: str) -> set[int]:
    return {b.item for b in arena.store.battles(session_code=session.code, rater=rater) if b.status == "voted"}


def progress(arena: Arena, session: RatingSession, rater: str) -> Progress:
    return Progress(len(_voted_items(arena, session, rater)), session.pairs_per_rater)


def next_battle(
    arena: Arena, session: RatingSession, rater: str, *, progress_fn: ProgressFn | None = None
) -> BattleView | None:
    """The rater's next unvoted item as a blind battle (None when they are done). Each item's outputs are made once
    per session (seed = session seed + item), so every rater judges the same images."""
    if rater not in {r["rater"] for r in arena.store.session_raters(session.code)}:
        raise InputError("Join the session first (code and name).")
    items = _items(session)
    done = _voted_items(arena, session, rater) | _flagged_items(arena, session)
    for index, left, right in rater_order(items, rater, session.seed):
        if index in done:
            continue
        prompt = session.prompts[items[index][2]]
        try:
            return arena._make_battle(
                session.task,
                "session",
                left,
                right,
                prompt,
                session.seed + index,
                rater,
                session_code=session.code,
                item=index,
                progress=progress_fn,
                tags=session.tags[items[index][2]] if session.tags else (),
            )
        except BattleFlagged:
            continue  # recorded as void; every rater skips this item (all see the same images)
    return None


def _flagged_items(arena: Arena, session: RatingSession) -> set[int]:
    """Items whose images a safety checker flagged (their battles are void): never offered to any rater."""
    return {
        b.item
        for b in arena.store.battles(session_code=session.code)
        if b.status == "void" and (b.void_reason or "").startswith(FLAGGED_VOID)
    }


def status_table(arena: Arena, code: str):
    """One row per rater: name, votes, total, joined."""
    session = get_session(arena, code)
    rows = []
    for r in arena.store.session_raters(session.code):
        rows.append(
            {
                "rater": r["display_name"],
                "done": len(_voted_items(arena, session, r["rater"])),
                "total": session.pairs_per_rater,
                "joined_at": pd.Timestamp(r["joined_at"], unit="s"),
            }
        )
    return pd.DataFrame(rows, columns=["rater", "done", "total", "joined_at"])


def votes_table(arena: Arena, code: str):
    """Every vote of the session with the rater's name and the chosen model (or tie / both bad)."""
    session = get_session(arena, code)
    names = {r["rater"]: r["display_name"] for r in arena.store.session_raters(session.code)}
    rows = []
    for v in arena.store.votes(session_code=session.code, modes=("session",)):
        chosen = {"a": v.model_a, "b": v.model_b}.get(v.outcome, v.outcome)
        rows.append(
            {
                "rater": names.get(v.rater, v.rater),
                "item": v.item,
                "prompt": v.prompt,
                "model_a": v.model_a,
                "model_b": v.model_b,
                "outcome": v.outcome,
                "chosen": chosen,
                "voted_at": pd.Timestamp(v.created_at, unit="s"),
            }
        )
    return pd.DataFrame(
        rows, columns=["rater", "item", "prompt", "model_a", "model_b", "outcome", "chosen", "voted_at"]
    )


def agreement_tables(arena: Arena, code: str):
    """(rater x rater agreement table, Fleiss' kappa) over the items raters share."""
    votes = votes_table(arena, code)
    return agreement(votes)


def quality_table(arena: Arena, code: str, rules: QualityRules | None = None):
    """One row per doubt about one of the session's raters: name, check (rater_quality.CHECKS) and reason."""
    session = get_session(arena, code)
    names = {r["rater"]: r["display_name"] for r in arena.store.session_raters(session.code)}
    votes = arena.store.votes(session_code=session.code, modes=("session",))
    started = battle_start_times(arena.store.battles(session_code=session.code))
    rows = [
        {"rater": names.get(f.rater, f.rater), "check": f.check, "reason": f.reason}
        for f in rater_flags(votes, rules or QualityRules(), shown_at=started)
    ]
    return pd.DataFrame(rows, columns=["rater", "check", "reason"])


def export_session(arena: Arena, code: str, out_dir: Path) -> list[Path]:
    """votes.csv (per rater) and agreement.csv (rater x rater, Fleiss' kappa in the last line) under out_dir."""
    session = get_session(arena, code)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    votes = votes_table(arena, session.code)
    table, kappa = agreement(votes)
    return [
        atomic_write(out_dir / f"session-{session.code}-{name}", text)
        for name, text in (
            ("votes.csv", votes.to_csv(index=False)),
            ("agreement.csv", table.to_csv() + f"fleiss_kappa,{kappa}\n"),
        )
    ]
