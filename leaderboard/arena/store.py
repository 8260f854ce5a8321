"""The arena's vote store: battles, votes, rating sessions and their raters in SQL tables (SQLite or PostgreSQL)."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager, nullcontext

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from genart_demo.errors import InputError

from .backup import JsonlBackup
from .records import (  # noqa: F401
    MODES,
    OUTCOMES,
    REFUSALS,
    STATUSES,
    Battle,
    RatingSession,
    Vote,
    VoteRefused,
    battle_from_row,
    session_from_row,
    vote_from_row,
    vote_refused,
)
from .schema import (  # noqa: F401
    BATTLES,
    BUSY_TIMEOUT_S,
    COUNTED,
    KEPT_RATERS,
    METADATA,
    RATERS,
    SESSIONS,
    VOTES,
    add_missing_columns,
    engine_for,
)

log = logging.getLogger(__name__)


def default_db_url(settings) -> str:
    """settings.db_url, or the SQLite file in the workspace's arena folder."""
    return settings.db_url or f"sqlite:///{settings.workspace.arena_db.resolve()}"


def backup_from_settings(settings, scheduler_factory=None) -> JsonlBackup | None:
    """The JSONL backup in the workspace's arena folder, committed to settings.arena_backup_repo; None when unset."""
    if not settings.arena_backup_repo:
        return None
    return JsonlBackup(settings.workspace.arena_backup, settings.arena_backup_repo, scheduler_factory=scheduler_factory)


def _check_modes(modes) -> None:
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise InputError(f"Battle mode {bad[0]!r}; allowed: {', '.join(MODES)}.")


def _refusal(battle: dict | None, rater: str, now: float) -> VoteRefused | None:
    """Why a vote by `rater` on `battle` (a battles row) at `now` cannot count; None if it can."""
    if battle is None:
        return vote_refused("unknown")
    if battle["rater"] != rater:
        return vote_refused("foreign")
    if battle["status"] == "void":
        return vote_refused("void", battle["void_reason"] or "it was withdrawn")
    if now > battle["expires_at"]:
        return vote_refused("expired")
    if battle["status"] == "voted":
        return vote_refused("replayed")
    return None


class ArenaStore:
    """Battles, votes, rating sessions and raters in four SQL tables (SQLAlchemy Core), safe for many threads and
    processes at once. `url` is any SQLAlchemy URL: SQLite (default; WAL, synchronous=FULL) or PostgreSQL via
    postgresql+psycopg://. Every method is one transaction, committed before it returns."""

    def __init__(self, url: str, *, backup: JsonlBackup | None = None):
        self._engine = engine_for(url)
        self.backup = backup
        memory = self._engine.dialect.name == "sqlite" and isinstance(self._engine.pool, StaticPool)
        self._lock = threading.Lock() if memory else nullcontext()  # an in-memory database has one connection
        with self._transaction(write=True) as conn:
            if conn.dialect.name == "postgresql":  # two processes starting at once create the tables once
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7007)"))
            METADATA.create_all(conn)
            added = add_missing_columns(conn)
        if added:
            log.info("arena store: added %s to a database made by an older genart", ", ".join(added))

    @classmethod
    def from_settings(cls, settings, *, backup: JsonlBackup | None = None) -> ArenaStore:
        """The store at settings.db_url, or SQLite in the workspace's arena folder (Workspace.arena_db)."""
        return cls(default_db_url(settings), backup=backup)

    @property
    def url(self) -> str:
        """The database URL with its password masked, fit for a page or a log."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection (and ask the backup for a last commit)."""
        self._engine.dispose()
        if self.backup is not None:
            self.backup.close()

    @contextmanager
    def _transaction(self, write: bool = False):
        with self._lock, self._engine.connect() as conn:
            if write:
                conn.execution_options(arena_write=True)  # SQLite: BEGIN IMMEDIATE
            with conn.begin():
                yield conn

    # battles

    def add_battle(self, battle: Battle) -> None:
        """Store a new battle (any status: a battle whose generation failed is stored void)."""
        _check_modes([battle.mode])
        if battle.status not in STATUSES:
            raise InputError(f"Battle status {battle.status!r}; allowed: {', '.join(STATUSES)}.")
        row = {name: getattr(battle, name) for name in Battle.__dataclass_fields__}
        row.update(
            outputs_a=[str(p) for p in battle.outputs_a],
            outputs_b=[str(p) for p in battle.outputs_b],
            settings=dict(battle.settings),
            session_code=battle.session_code.upper() if battle.session_code else None,
        )
        try:
            with self._transaction(write=True) as conn:
                conn.execute(BATTLES.insert().values(**row))
        except IntegrityError as err:
            raise InputError(
                f"Battle {battle.id!r} cannot be stored: its id is taken or its session "
                f"{battle.session_code!r} does not exist."
            ) from err

    def get_battle(self, battle_id: str) -> Battle | None:
        with self._transaction() as conn:
            row = conn.execute(sa.select(BATTLES).where(BATTLES.c.id == str(battle_id))).mappings().first()
        return None if row is None else battle_from_row(row)

    def void_battle(self, battle_id: str, reason: str) -> None:
        """Mark the battle void: no vote on it is accepted, and a vote it already has is no longer counted."""
        with self._transaction(write=True) as conn:
            done = conn.execute(
                BATTLES.update().where(BATTLES.c.id == str(battle_id)).values(status="void", void_reason=str(reason))
            ).rowcount
        if not done:
            raise InputError(f"No battle {battle_id!r} to void.")

    def battles(self, *, session_code: str | None = None, rater: str | None = None) -> list[Battle]:
        """Battles (every status), oldest first, optionally of one session and/or one rater."""
        query = sa.select(BATTLES).order_by(BATTLES.c.created_at, BATTLES.c.id)
        if session_code is not None:
            query = query.where(BATTLES.c.session_code == session_code.strip().upper())
        if rater is not None:
            query = query.where(BATTLES.c.rater == rater)
        with self._transaction() as conn:
            return [battle_from_row(row) for row in conn.execute(query).mappings()]

    # votes

    def record_vote(self, battle_id: str, rater: str, outcome: str, now: float | None = None) -> Vote:
        """Count `rater`'s vote on the battle, once, or raise VoteRefused and write nothing. The returned vote is
        committed (durable); it is then appended to the backup when one is set."""
        if outcome not in OUTCOMES:
            raise vote_refused("outcome", repr(outcome))
        now = time.time() if now is None else float(now)
        try:
            with self._transaction(write=True) as conn:
                battle = (
                    conn.execute(sa.select(BATTLES).where(BATTLES.c.id == str(battle_id)).with_for_update())
                    .mappings()
                    .first()
                )  # PostgreSQL: voters queue on the row
                refusal = _refusal(battle, rater, now)
                if refusal is not None:
                    raise refusal
                row = dict(
                    battle_id=battle["id"],
                    created_at=now,
                    rater=rater,
                    outcome=outcome,
                    **{k: battle[k] for k in ("task", "mode", "model_a", "model_b", "prompt", "session_code", "item")},
                    tags=[str(t) for t in (battle["settings"] or {}).get("tags") or ()],
                )
                vote_id = conn.execute(VOTES.insert().values(**row)).inserted_primary_key[0]
                conn.execute(BATTLES.update().where(BATTLES.c.id == battle["id"]).values(status="voted"))
        except IntegrityError as err:  # votes.battle_id is UNIQUE: another process's vote got there first
            raise vote_refused("replayed") from err
        vote = Vote(id=int(vote_id), **{**row, "tags": tuple(row["tags"])})
        if self.backup is not None:
            try:
                self.backup.append(vote)
            except OSError:  # the vote is committed; a missing backup line must not undo it for the rater
                log.exception("arena backup: vote %s is stored but could not be appended to the backup", vote.id)
        return vote

    def _votes_query(self, task: str | None, modes, session_code: str | None):
        query = sa.select(VOTES).join(BATTLES, BATTLES.c.id == VOTES.c.battle_id).where(COUNTED)
        if task is not None:
            query = query.where(VOTES.c.task == task)
        if modes is not None:
            _check_modes(modes)
            query = query.where(VOTES.c.mode.in_(tuple(modes)))
        if session_code is not None:
            query = query.where(VOTES.c.session_code == session_code.strip().upper())
        return query

    def votes(
        self,
        *,
        task: str | None = None,
        modes: tuple[str, ...] | None = ("anonymous",),
        session_code: str | None = None,
    ) -> list[Vote]:
        """Counted votes in the order they were committed; modes=None keeps every mode."""
        query = self._votes_query(task, modes, session_code).order_by(VOTES.c.id)
        with self._transaction() as conn:
            return [vote_from_row(row) for row in conn.execute(query).mappings()]

    def vote_count(self) -> int:
        """How many votes count, all tasks and modes."""
        query = sa.select(sa.func.count()).select_from(self._votes_query(None, None, None).subquery())
        with self._transaction() as conn:
            return int(conn.execute(query).scalar_one())

    def pair_counts(self, task: str, modes=("anonymous",)) -> dict[tuple[str, str], int]:
        """Counted votes per pair of models (key: the two names sorted), for the task's battles of those modes."""
        sub = self._votes_query(task, modes, None).subquery()
        query = sa.select(sub.c.model_a, sub.c.model_b, sa.func.count()).group_by(sub.c.model_a, sub.c.model_b)
        counts: dict[tuple[str, str], int] = {}
        with self._transaction() as conn:
            for model_a, model_b, n in conn.execute(query):
                key = tuple(sorted((model_a, model_b)))
                counts[key] = counts.get(key, 0) + int(n)
        return counts

    # rating sessions

    def create_session(self, session: RatingSession) -> None:
        """Store a new rating session under its code (upper-cased); a code already taken raises InputError."""
        code = session.code.strip().upper()
        if not (code.isascii() and code.isalnum() and 4 <= len(code) <= 16):
            raise InputError(f"Session code {session.code!r}: use 4 to 16 letters and digits.")
        row = {name: getattr(session, name) for name in RatingSession.__dataclass_fields__}
        row.update(
            code=code,
            models=list(session.models),
            prompts=list(session.prompts),
            tags=None if session.tags is None else [list(t) for t in session.tags],
            inputs=None if session.inputs is None else [dict(i) for i in session.inputs],
            gold=None if session.gold is None else [dict(g) for g in session.gold],
        )
        try:
            with self._transaction(write=True) as conn:
                conn.execute(SESSIONS.insert().values(**row))
        except IntegrityError as err:
            raise InputError(f"Session code {code} is already taken; pick another code.") from err

    def get_session(self, code: str) -> RatingSession | None:
        """The session with this code (any letter case); None if there is none."""
        with self._transaction() as conn:
            row = (
                conn.execute(sa.select(SESSIONS).where(SESSIONS.c.code == str(code).strip().upper())).mappings().first()
            )
        return None if row is None else session_from_row(row)

    def join_session(self, code: str, rater: str, display_name: str) -> bool:
        """Add the rater to the session (once: joining again changes nothing); True if they were new."""
        code = str(code).strip().upper()
        try:
            with self._transaction(write=True) as conn:
                if conn.execute(sa.select(SESSIONS.c.code).where(SESSIONS.c.code == code)).first() is None:
                    raise InputError(f"No rating session has the code {code!r}; check the code you were given.")
                known = sa.select(RATERS.c.id).where(RATERS.c.session_code == code, RATERS.c.rater == rater)
                if conn.execute(known).first() is not None:
                    return False
                conn.execute(
                    RATERS.insert().values(
                        session_code=code, rater=rater, display_name=str(display_name), joined_at=time.time()
                    )
                )
                return True
        except IntegrityError:  # the same rater joined from another process at the same moment
            return False

    def session_raters(self, code: str) -> list[dict]:
        """[{"rater", "display_name", "joined_at"}] of the session, in the order they joined."""
        query = (
            sa.select(RATERS.c.rater, RATERS.c.display_name, RATERS.c.joined_at)
            .where(RATERS.c.session_code == str(code).strip().upper())
            .order_by(RATERS.c.joined_at, RATERS.c.id)
        )
        with self._transaction() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # raters kept in the ratings although a rater-quality check flagged them

    def keep_rater(self, scope: str, rater: str, keep: bool = True) -> None:
        """Keep (or stop keeping) a flagged rater's votes in the ratings of `scope`: a session code, or
        "arena:<task>" for the open arena. Keeping twice changes nothing."""
        scope = str(scope).strip()
        with self._transaction(write=True) as conn:
            conn.execute(KEPT_RATERS.delete().where(KEPT_RATERS.c.scope == scope, KEPT_RATERS.c.rater == rater))
            if keep:
                conn.execute(KEPT_RATERS.insert().values(scope=scope, rater=rater, kept_at=time.time()))

    def kept_raters(self, scope: str) -> set[str]:
        """The raters an organiser keeps in the ratings of `scope` whatever the checks say."""
        query = sa.select(KEPT_RATERS.c.rater).where(KEPT_RATERS.c.scope == str(scope).strip())
        with self._transaction() as conn:
            return {row[0] for row in conn.execute(query)}
