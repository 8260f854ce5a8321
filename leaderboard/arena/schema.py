"""The arena's SQL tables (SQLAlchemy Core) and the engine that opens them: SQLite tuned for safe writes, or any URL."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from genart_demo.errors import InputError

BUSY_TIMEOUT_S = 30  # how long a SQLite writer waits for another one before giving up

METADATA = sa.MetaData()
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite auto-numbers only INTEGER primary keys

SESSIONS = sa.Table(
    "sessions",
    METADATA,
    sa.Column("code", sa.String(16), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("models", sa.JSON, nullable=False),
    sa.Column("prompts", sa.JSON, nullable=False),
    sa.Column("pairs_per_rater", sa.Integer, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    # added later (nullable: add_missing_columns gives older databases them): per prompt, its tags and its input
    # files ({"image": path, "mask": path}); images each model shows per item; the organiser's gold pairs
    sa.Column("tags", sa.JSON, nullable=True),
    sa.Column("inputs", sa.JSON, nullable=True),
    sa.Column("images_per_side", sa.Integer, nullable=True),
    sa.Column("gold", sa.JSON, nullable=True),
)
BATTLES = sa.Table(
    "battles",
    METADATA,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("model_a", sa.Text, nullable=False),
    sa.Column("model_b", sa.Text, nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("outputs_a", sa.JSON, nullable=False),
    sa.Column("outputs_b", sa.JSON, nullable=False),
    sa.Column("rater", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("void_reason", sa.Text, nullable=False),
    sa.Column("session_code", sa.String(16), sa.ForeignKey("sessions.code"), nullable=True),
    sa.Column("item", sa.Integer, nullable=True),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Index("battles_by_rater", "rater"),
    sa.Index("battles_by_session", "session_code", "rater"),
)
VOTES = sa.Table(
    "votes",
    METADATA,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("battle_id", sa.String(32), sa.ForeignKey("battles.id"), nullable=False, unique=True),  # one per battle
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("rater", sa.Text, nullable=False),
    sa.Column("outcome", sa.String(8), nullable=False),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("model_a", sa.Text, nullable=False),
    sa.Column("model_b", sa.Text, nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("session_code", sa.String(16), nullable=True),
    sa.Column("item", sa.Integer, nullable=True),
    sa.Column("tags", sa.JSON, nullable=True),  # the prompt's categories, copied from the battle (added later)
    sa.Index("votes_by_task", "task", "mode"),
)
RATERS = sa.Table(
    "raters",
    METADATA,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("session_code", sa.String(16), sa.ForeignKey("sessions.code"), nullable=False),
    sa.Column("rater", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("joined_at", sa.Double, nullable=False),
    sa.UniqueConstraint("session_code", "rater", name="raters_join_once"),
)
KEPT_RATERS = sa.Table(  # raters the rater-quality checks flagged whom an organiser chose to keep in the ratings
    "kept_raters",
    METADATA,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(32), nullable=False),  # a session code, or "arena:<task>" for the open arena
    sa.Column("rater", sa.Text, nullable=False),
    sa.Column("kept_at", sa.Double, nullable=False),
    sa.UniqueConstraint("scope", "rater", name="kept_once"),
)
COUNTED = BATTLES.c.status != "void"  # votes on void battles stay stored but are never counted


def add_missing_columns(conn) -> list[str]:
    """Give tables made by an older genart the nullable columns added since ("table.column" for each added):
    create_all makes missing tables but never alters one that exists. Run inside the store's opening transaction."""
    inspector = sa.inspect(conn)
    added = []
    for table in METADATA.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            if not column.nullable:
                raise RuntimeError(f"{table.name}.{column.name} is missing and NOT NULL: it cannot be added")
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
            added.append(f"{table.name}.{column.name}")
    return added


def _sqlite_connected(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # transactions are opened by _sqlite_begin, not by the driver
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=FULL")  # a committed vote survives a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _use_wal(cursor) -> None:
    """Put the database file in WAL mode (it stays so). Switching needs an exclusive lock, and SQLite answers "database
    is locked" at once, without waiting out busy_timeout, when another connection is switching or creating the file
    at the same moment (two processes starting together): retry until BUSY_TIMEOUT_S has passed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _sqlite_begin(conn) -> None:
    # writers take the write lock up front, so concurrent writers queue (busy_timeout) instead of failing halfway
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("arena_write") else "BEGIN")


def engine_for(url: str) -> sa.Engine:
    """A SQLAlchemy engine for `url`; SQLite files get WAL, synchronous=FULL and BEGIN IMMEDIATE writes."""
    try:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return sa.create_engine(parsed, pool_pre_ping=True)
        kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool  # one shared in-memory database, not one per thread
        else:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, **kwargs)
    except ArgumentError as err:
        raise InputError(
            f"Arena database URL {url!r} cannot be opened ({err}); use an SQLAlchemy URL such as "
            "sqlite:///outputs/arena/arena.db or postgresql+psycopg://user@host/dbname."
        ) from err
    sa.event.listen(engine, "connect", _sqlite_connected)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine
