"""Fixtures shared by the whole suite: isolated settings, and real databases for the event store.

PostgreSQL: `postgres_server` starts one throw-away server per test process (so each pytest-xdist
worker has its own port and directory) with `kizuna.store.pgserver.temporary_postgres`, which runs
it as the unprivileged `postgres` user when the suite runs as root. Tests that use it are marked
`@pytest.mark.postgres`; they skip, saying why, only when no PostgreSQL binaries are installed
(scripts/test installs Debian's `postgresql` package, so in CI they are). `postgres_url` gives each
test a fresh, empty database on that server; `store_url` runs a test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from kizuna.settings import get_settings
from kizuna.store.pgserver import PostgresServer, PostgresUnavailable, find_bin_dir, temporary_postgres

_schema_numbers = itertools.count(1)
_TEST_DATABASE = "kizuna_tests"


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Point the settings at a per-test data directory, never at the user's real one."""
    monkeypatch.setenv("KIZUNA_DATA_DIR", str(tmp_path / "kizuna-data"))
    monkeypatch.delenv("KIZUNA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a real PostgreSQL server for this test process; stop it and delete its files at the end."""
    if find_bin_dir() is None:
        pytest.skip(
            "PostgreSQL server binaries are not installed (scripts/test installs Debian's postgresql)"
        )
    try:
        with temporary_postgres() as server:
            yield server
    except PostgresUnavailable as error:  # binaries exist but the server would not start: a real failure
        pytest.fail(f"could not start PostgreSQL: {error}")


@pytest.fixture(scope="session")
def postgres_database(postgres_server: PostgresServer) -> str:
    """Create the database the tests' schemas live in; return its name."""
    postgres_server.create_database(_TEST_DATABASE)
    return _TEST_DATABASE


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_database: str) -> Iterator[str]:
    """Return the URL of a fresh, empty PostgreSQL schema (dropped after the test).

    A schema per test rather than a database per test: CREATE DATABASE costs most of a second. The
    URL sets `search_path`, so the store sees the schema as its whole database.
    """
    schema = f"test_{next(_schema_numbers)}"
    yield postgres_server.create_schema(postgres_database, schema)
    postgres_server.drop_schema(postgres_database, schema)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """Return the URL of a SQLite file in the test's temporary directory (created on first open)."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """Return a fresh database URL: a SQLite file, then (second parameter) a PostgreSQL database."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def check_durable() -> Callable[[str, Iterable[str]], None]:
    """Return a check for crash tests: every acknowledged idempotency key is in the log, which verifies.

    Call it as `check_durable(url, acknowledged_keys)` after killing a writer (a store client or the
    service) with SIGKILL mid-burst and before anything else writes.
    """

    def check(url: str, acknowledged: Iterable[str]) -> None:
        from sqlalchemy import select

        from kizuna.store import open_store
        from kizuna.store.schema import events

        with open_store(url, listen=False) as store:
            report = store.verify()
            assert report.ok, [str(p) for p in report.problems]
            with store.engine.connect() as connection:
                recorded = set(
                    connection.execute(
                        select(events.c.idempotency_key).where(events.c.idempotency_key.is_not(None))
                    ).scalars()
                )
        missing = set(acknowledged) - recorded
        assert not missing, f"acknowledged writes lost in the crash: {sorted(missing)[:10]}"

    return check
