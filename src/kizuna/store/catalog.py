"""The stream catalog: the store's own projection, one row per stream.

It answers "which streams exist, at which version, with how many events" without scanning the log,
and it is the projection `kizuna db rebuild` always has to rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from kizuna.store.events import StoredEvent
from kizuna.store.projections import Projection
from kizuna.store.rawsql import Cursor, Statement

catalog_metadata = MetaData()

#: One row per stream: its version, how many events it has, and its first and last events.
stream_catalog = Table(
    "stream_catalog",
    catalog_metadata,
    Column("stream", String(200), primary_key=True),
    Column("kind", String(200), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_type", String(120), nullable=False),
)


def stream_kind(stream: str) -> str:
    """Return the kind of a stream: the part of its name before the first colon (`request:7` → `request`)."""
    return stream.split(":", 1)[0]


_ADD_KEYS = ("stream", "kind", "version", "events", "first_seq", "last_seq", "last_type")


def _upsert(dialect: Dialect) -> Insert:
    """Add a stream's row, or count more events in it (both dialects say it the same way)."""
    statement = (postgresql_insert if dialect.name == "postgresql" else sqlite_insert)(stream_catalog)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[stream_catalog.c.stream],
        set_={
            "version": new.version,
            "events": stream_catalog.c.events + new.events,
            "last_seq": new.last_seq,
            "last_type": new.last_type,
        },
    )


class CatalogStatements:
    """The catalog's statement compiled for one dialect (sent on the driver's cursor)."""

    __slots__ = ("upsert",)

    def __init__(self, dialect: Dialect) -> None:
        self.upsert = Statement(_upsert(dialect), dialect, keys=_ADD_KEYS)


_compiled: WeakKeyDictionary[Dialect, CatalogStatements] = WeakKeyDictionary()


def statements(dialect: Dialect) -> CatalogStatements:
    """Return the catalog's statements for `dialect` (compiled once)."""
    found = _compiled.get(dialect)
    if found is None:
        found = _compiled[dialect] = CatalogStatements(dialect)
    return found


def count_all(cursor: Cursor, compiled: CatalogStatements, events: Sequence[StoredEvent]) -> None:
    """Count events (in log order) in their streams' rows: one row per stream, all in one statement.

    The store calls this with each group commit's events, on its cursor.
    """
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        row = rows.get(event.stream)
        if row is None:
            rows[event.stream] = {
                "stream": event.stream,
                "kind": stream_kind(event.stream),
                "version": event.version,
                "events": 1,
                "first_seq": event.seq,
                "last_seq": event.seq,
                "last_type": event.type,
            }
        else:
            row["events"] += 1
            row.update(version=event.version, last_seq=event.seq, last_type=event.type)
    cursor.insert(compiled.upsert, list(rows.values()))


def apply(event: StoredEvent, session: Session) -> None:
    """Count the event in its stream's row (as a projection: replays and rebuilds)."""
    connection = session.connection()
    session.flush()  # the ORM's pending writes first: these statements bypass it
    cursor = Cursor(connection)
    try:
        count_all(cursor, statements(connection.dialect), [event])
    finally:
        cursor.close()


#: The catalog as a projection; `open_store` registers it first.
CATALOG = Projection(name="stream-catalog", apply=apply, tables=(stream_catalog,), version=1)
