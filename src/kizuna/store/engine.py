"""Database engines for the store: SQLite in WAL mode with serialized writers, or PostgreSQL.

On SQLite, a connection opened with the execution option `kizuna_write=True` begins its transactions
with `BEGIN IMMEDIATE`, so writers queue on the database lock (waiting up to `busy_timeout`) instead of
failing half-way; readers use plain `BEGIN` and never block writers (WAL). On PostgreSQL, writers
serialize on the chain-head row (`SELECT ... FOR UPDATE`), see `kizuna.store.eventstore`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from kizuna.errors import InvalidQuery, NotFound
from kizuna.store.canonical import legacy_json

#: How long a SQLite writer waits for the lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: The execution option that marks a connection as a writer.
WRITE_OPTION = "kizuna_write"


def parse_url(url: str) -> URL:
    """Parse a database URL, accepting only SQLite and PostgreSQL (psycopg 3).

    `postgresql://` and `postgres://` are read as `postgresql+psycopg://`.

    Raises:
        InvalidQuery: The URL is malformed or names another database.
    """
    try:
        parsed = make_url(url)
    except Exception as error:  # SQLAlchemy raises ArgumentError for malformed URLs
        raise InvalidQuery(f"invalid database URL {url!r}: {error}") from error
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    postgres = backend in {"postgres", "postgresql"} and driver in {"", "psycopg2", "psycopg"}
    if postgres:
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite" or driver not in {"", "pysqlite"}:
        raise InvalidQuery(
            f"unsupported database {parsed.drivername!r} in {parsed.render_as_string(hide_password=True)}; "
            "expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        )
    return parsed


def make_engine(url: str | URL, *, sqlite_synchronous: str = "FULL", create: bool = True) -> Engine:
    """Create an engine for the store at `url`, creating the SQLite file's directory when needed.

    Raises:
        NotFound: `create` is false and the SQLite file does not exist (a check must not make what it
            checks: a mistyped path would otherwise "verify" as an empty store).
    """
    parsed = parse_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        if not create and not (parsed.database and Path(parsed.database).expanduser().is_file()):
            raise NotFound(
                f"no event store at {parsed.database!r}; `kizuna db upgrade` (or `kizuna serve`) creates one"
            )
        return _sqlite_engine(parsed, sqlite_synchronous)
    return create_engine(
        parsed,
        json_serializer=legacy_json,  # projection tables; events bind their canonical text
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
    )


def _sqlite_engine(url: URL, synchronous: str) -> Engine:
    database = url.database
    if not database or database == ":memory:":
        raise InvalidQuery("the event store needs a SQLite file (sqlite:///PATH), not an in-memory database")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if synchronous not in {"FULL", "NORMAL"}:
        raise InvalidQuery(f"sqlite synchronous must be FULL or NORMAL, got {synchronous!r}")
    engine = create_engine(
        url,
        json_serializer=legacy_json,  # projection tables; events bind their canonical text
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=10,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        # On the driver's connection: the statement needs none of SQLAlchemy's per-statement work.
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def is_postgresql(engine: Engine) -> bool:
    """Tell whether the engine talks to PostgreSQL (rather than SQLite)."""
    return engine.dialect.name == "postgresql"
