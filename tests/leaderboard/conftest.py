"""Arena store databases for the tests: a fresh SQLite file or PostgreSQL schema per test, on a throwaway cluster."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PG_URL_ENV = "GENART_TEST_PG_URL"  # a PostgreSQL database to use instead of a throwaway cluster
PG_USER = "postgres"  # the system user that runs the cluster when the tests run as root
PG_DB = "genart_test"
BACKENDS = ("sqlite", "postgresql")


def _missing(reason: str):
    """Skip for lack of PostgreSQL; in CI (CI=true) that is a failure: CI must test PostgreSQL for real."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run; `bash .ci/setup --test` installs it)")
    pytest.skip(f"{reason}; install Debian's postgresql (`bash .ci/setup --test`) or set {PG_URL_ENV}")


def _pg_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries: PATH first, then Debian's /usr/lib/postgresql/<version>/bin."""
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(shutil.which("initdb")).parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _conninfo(url: str) -> str:
    """A libpq URI for psycopg from an SQLAlchemy URL."""
    import sqlalchemy as sa

    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url(servers):
    """postgresql+psycopg://postgres@127.0.0.1:PORT/genart_test on a throwaway cluster (trust auth on loopback,
    fsync on, sockets in its temp dir), stopped and removed at the end; or GENART_TEST_PG_URL when set."""
    if os.environ.get(PG_URL_ENV):
        yield os.environ[PG_URL_ENV]
        return
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        _missing("PostgreSQL server binaries (initdb, pg_ctl) not found")
    as_pg: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            _missing(f"running as root and there is no {PG_USER!r} system user to run PostgreSQL")
        as_pg = ["runuser", "-u", PG_USER, "--"]
    tmp = Path(tempfile.mkdtemp(prefix="genart-pg-"))
    if as_pg:
        shutil.chown(tmp, PG_USER)
    data, log, port = tmp / "data", tmp / "server.log", servers.free_port()
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]

    def run(*args: str, timeout: int = 90) -> subprocess.CompletedProcess:
        return subprocess.run([*as_pg, *args], check=False, cwd=tmp, capture_output=True, text=True, timeout=timeout)

    try:
        made = run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            timeout=120,
        )
        if made.returncode:
            pytest.fail(f"initdb failed:\n{made.stdout}\n{made.stderr}")
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={tmp} -c fsync=on"
        started = run(*pg_ctl, "-l", str(log), "-w", "-t", "60", "-o", options, "start")
        if started.returncode:
            pytest.fail(f"PostgreSQL did not start:\n{started.stderr}\n{log.read_text() if log.exists() else ''}")
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {PG_DB}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{PG_DB}"
    finally:
        run(*pg_ctl, "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """A fresh, empty arena database URL: a SQLite file in tmp_path, or a new PostgreSQL schema (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'arena.db'}"
        return
    import psycopg
    import sqlalchemy as sa

    base = request.getfixturevalue("pg_url")
    schema = f"arena_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(base), autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    with psycopg.connect(_conninfo(base), autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(store_url):
    """An ArenaStore on the test's own empty database, closed at the end."""
    from leaderboard.arena.store import ArenaStore

    made = ArenaStore(store_url)
    yield made
    made.close()
