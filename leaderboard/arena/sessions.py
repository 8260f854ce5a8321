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
from .categories import split_tags, tagged_prompts
from .gold import gold_battle, gold_slots, store_gold
from .pairs import agreement, normalise_code, rater_order, session_code, session_items
from .rater_quality import QualityRules, battle_start_times, rater_flags
from .records import GOLD_ANSWERS
from .store import RatingSession
from .task_outputs import TASK_INPUTS, check_images_per_side, check_task_prompt, needs_prompt, store_inputs

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
    inputs: Sequence[dict] | None = None,
    images_per_side: int | None = None,
    gold_images: Sequence[object] | None = None,
    seed: int | None = None,
) -> RatingSession:
    """A new session with its own code; every rater of it sees the same items (in their own order and sides).
    For an image task, `inputs` holds one {"image": file, "mask": file} per prompt (the prompts may be blank where
    the task's prompt is optional, or left out: one item per input)."""
    name = str(name or "").strip() or "rating session"
    if len(name) > MAX_NAME_CHARS:
        raise InputError(f"The session name is {len(name)} characters; at most {MAX_NAME_CHARS}.")
    models = list(dict.fromkeys(arena.check_model(task, str(m).strip()) for m in models if str(m).strip()))
    if len(models) < 2:
        raise InputError(f"A session needs at least two different models; got {models or 'none'}.")
    if TASK_INPUTS[task].image:
        prompts, tags, stored = _image_items(arena, task, models, prompts, inputs)
    else:
        prompts, tags = tagged_prompts(prompts)  # "a red fox #animals" -> "a red fox", ("animals",)
        prompts, stored = [check_prompt(p) for p in prompts], None
        if inputs:
            raise InputError(f"{task.capitalize()} sessions take no input images; only prompts, one per line.")
    if not prompts:
        raise InputError("A session needs at least one prompt (one per line).")
    if len(prompts) > MAX_SESSION_PROMPTS:
        raise InputError(f"A session takes at most {MAX_SESSION_PROMPTS} prompts; got {len(prompts)}.")
    images_per_side = None if images_per_side is None else check_images_per_side(images_per_side)
    try:
        pairs = int(float(pairs_per_rater))
        whole = float(pairs_per_rater) == pairs
    except (TypeError, ValueError):
        whole = False
    if not whole or not 1 <= pairs <= MAX_PAIRS_PER_RATER:
        raise InputError(
            f"Pairs per rater must be a whole number from 1 to {MAX_PAIRS_PER_RATER}; got {pairs_per_rater!r}."
        )
    settings = arena.studio.settings  # gold images: each with a corrupted twin, mixed into every rater's order
    gold = store_gold(settings.workspace, task, gold_images, settings.max_pixels)
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
            inputs=stored,
            images_per_side=images_per_side,
            gold=gold,
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


def _image_items(
    arena: Arena, task: str, models: list[str], lines: Sequence[str], inputs: Sequence[dict] | None
) -> tuple[list[str], tuple[tuple[str, ...], ...] | None, tuple[dict, ...]]:
    """(prompts, tags, stored inputs) of an image task's session: one item per input, each with its prompt line
    (blank where the task allows; all left out means none)."""
    inputs = list(inputs or [])
    if not inputs:
        raise InputError(f"{task.capitalize()} sessions need input images: one per item.")
    if len(inputs) > MAX_SESSION_PROMPTS:
        raise InputError(f"A session takes at most {MAX_SESSION_PROMPTS} inputs; got {len(inputs)}.")
    lines = list(lines or [])
    if not any(str(line or "").strip() for line in lines):
        lines = [""] * len(inputs)
    if len(lines) != len(inputs):
        raise InputError(
            f"The session has {len(inputs)} input images but {len(lines)} prompt lines: give one prompt line per "
            "image (a blank line for none), or no prompts at all."
        )
    split = [split_tags(line, n) if str(line or "").strip() else ("", ()) for n, line in enumerate(lines, start=1)]
    prompts = [check_task_prompt(task, prompt) for prompt, _ in split]
    needy = [m for m in models if needs_prompt(arena.studio.registry.get(m))]
    if needy and "" in prompts:
        raise InputError(
            f"{', '.join(needy)} need a prompt, and item {prompts.index('') + 1} has none: give every image a prompt "
            "line, or pick models that run without one."
        )
    stored = []
    for entry in inputs:
        entry = entry if isinstance(entry, dict) else {"image": entry}
        stored.append(store_inputs(arena.studio, task, entry.get("image"), entry.get("mask")))
    tags = tuple(t for _, t in split)
    return prompts, (tags if any(tags) else None), tuple(stored)


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


def _voted_items(arena: Arena, session: RatingSession, rater: str, mode: str = "session") -> set[int]:
    """The items (mode "session") or gold slots (mode "gold") the rater has voted on."""
    battles = arena.store.battles(session_code=session.code, rater=rater)
    return {b.item for b in battles if b.status == "voted" and b.mode == mode}


def progress(arena: Arena, session: RatingSession, rater: str) -> Progress:
    return Progress(len(_voted_items(arena, session, rater)), session.pairs_per_rater)


def next_battle(
    arena: Arena, session: RatingSession, rater: str, *, progress_fn: ProgressFn | None = None
) -> BattleView | None:
    """The rater's next unvoted item as a blind battle (None when they are done), or a gold pair due before it
    (gold.gold_slots). Each item's outputs are made once per session (seed = session seed + item), so every rater
    judges the same images."""
    if rater not in {r["rater"] for r in arena.store.session_raters(session.code)}:
        raise InputError("Join the session first (code and name).")
    items = _items(session)
    done = _voted_items(arena, session, rater) | _flagged_items(arena, session)
    gold_done = _voted_items(arena, session, rater, "gold")
    gold = {slot.position: slot for slot in gold_slots(session, rater) if slot.slot not in gold_done}
    for position, (index, left, right) in enumerate(rater_order(items, rater, session.seed)):
        if position in gold:
            return gold_battle(arena, session, rater, gold[position])
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
                inputs=session.inputs[items[index][2]] if session.inputs else None,
                images_per_side=session.images_per_side or 1,
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
    """One row per doubt about one of the session's raters: name, check (rater_quality.CHECKS), reason, and whether
    the organiser keeps them in the ratings ("yes"/"no"). Gold pairs are checked against their known answers."""
    session = get_session(arena, code)
    names = {r["rater"]: r["display_name"] for r in arena.store.session_raters(session.code)}
    votes = arena.store.votes(session_code=session.code, modes=("session", "gold"))
    started = battle_start_times(arena.store.battles(session_code=session.code))
    kept = arena.store.kept_raters(session.code)
    flags = rater_flags(votes, rules or QualityRules(), gold=GOLD_ANSWERS if session.gold else None, shown_at=started)
    rows = [
        {"rater": names.get(f.rater, f.rater), "check": f.check, "reason": f.reason, "kept": _yes(f.rater in kept)}
        for f in flags
    ]
    return pd.DataFrame(rows, columns=["rater", "check", "reason", "kept"])


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def keep_rater(arena: Arena, code: str, display_name: str, keep: bool = True):
    """Keep the session's rater of this name in the ratings whatever the checks say (keep=False: leave them out
    again while flagged); the quality table after the change."""
    session = get_session(arena, code)
    name = str(display_name or "").strip()
    raters = {r["display_name"].casefold(): r["rater"] for r in arena.store.session_raters(session.code)}
    if name.casefold() not in raters:
        raise InputError(
            f"Session {session.code} has no rater named {name!r}; pick a name from the flagged raters table."
        )
    arena.store.keep_rater(session.code, raters[name.casefold()], keep)
    return quality_table(arena, session.code)


def export_session(arena: Arena, code: str, out_dir: Path) -> list[Path]:
    """votes.csv (per rater, with the checks that flag them and whether they are kept) and agreement.csv (rater x
    rater, Fleiss' kappa in the last line) under out_dir."""
    session = get_session(arena, code)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    votes = votes_table(arena, session.code)
    table, kappa = agreement(votes)
    flags = quality_table(arena, session.code)
    checks = flags.groupby("rater")["check"].agg(";".join)  # e.g. "side;gold"; raters not flagged: ""
    kept = flags.groupby("rater")["kept"].first()
    votes = votes.assign(flagged=votes["rater"].map(checks).fillna(""), kept=votes["rater"].map(kept).fillna(""))
    return [
        atomic_write(out_dir / f"session-{session.code}-{name}", text)
        for name, text in (
            ("votes.csv", votes.to_csv(index=False)),
            ("agreement.csv", table.to_csv() + f"fleiss_kappa,{kappa}\n"),
        )
    ]
