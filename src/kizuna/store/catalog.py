"""The stream catalog: the store's own projection, one row per stream.

It answers "which streams exist, at which version, with how many events" without scanning the log,
and it is the projection `kizuna db rebuild` always has to rebuild.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.orm import Session

from kizuna.store.events import StoredEvent
from kizuna.store.projections import Projection

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


def apply(event: StoredEvent, session: Session) -> None:
    """Count the event in its stream's row."""
    row = session.execute(
        select(stream_catalog.c.events).where(stream_catalog.c.stream == event.stream)
    ).first()
    if row is None:
        session.execute(
            insert(stream_catalog).values(
                stream=event.stream,
                kind=stream_kind(event.stream),
                version=event.version,
                events=1,
                first_seq=event.seq,
                last_seq=event.seq,
                last_type=event.type,
            )
        )
    else:
        session.execute(
            update(stream_catalog)
            .where(stream_catalog.c.stream == event.stream)
            .values(version=event.version, events=row.events + 1, last_seq=event.seq, last_type=event.type)
        )


#: The catalog as a projection; `open_store` registers it first.
CATALOG = Projection(name="stream-catalog", apply=apply, tables=(stream_catalog,), version=1)
