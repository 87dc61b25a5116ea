"""Projections: state derived from the event log, kept current inside every append's transaction.

A projection names the tables it owns and a handler that applies one event to them. The store applies
each new event to every registered projection in the same transaction that records the event, so a
projection never disagrees with the log, even with several workers. `EventStore.rebuild()` drops the
projection tables, recreates them and replays the whole log; because handlers are deterministic
functions of the events, the rebuilt rows are identical.

A projection whose `version` changes (its tables or handler changed) is rebuilt when the store opens;
one that fell behind (events appended by a process that did not register it) catches up before the
next append or at open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Table
from sqlalchemy.orm import Session

from kizuna.errors import InvalidQuery
from kizuna.store.events import StoredEvent

#: Applies one event to a projection's tables (or to an in-memory state), inside the append transaction.
Handler = Callable[[StoredEvent, Session], None]


@dataclass(frozen=True, slots=True)
class Projection:
    """A named view of the log: the tables it owns and the handler that applies events to them.

    Attributes:
        name: A unique name (`requests`, `crises`).
        apply: `apply(event, session)` writes the event's effect with `session` (SQLAlchemy ORM or
            Core statements). It must be deterministic and must not commit; events of types it does not
            know are ignored by returning.
        tables: The tables it owns (in a MetaData of its own). `rebuild()` drops and recreates them.
        version: Bump when the tables or the handler change; the store then rebuilds the projection.
        reset: For in-memory projections, clears the state before a rebuild (called with the session).
    """

    name: str
    apply: Handler
    tables: tuple[Table, ...] = ()
    version: int = 1
    reset: Callable[[Session], None] | None = None


def check_projections(projections: Sequence[Projection]) -> tuple[Projection, ...]:
    """Return the projections as a tuple after checking that names and tables are not shared.

    Raises:
        InvalidQuery: Two projections share a name or a table.
    """
    names: set[str] = set()
    tables: set[str] = set()
    for projection in projections:
        if projection.name in names:
            raise InvalidQuery(f"two projections are named {projection.name!r}")
        names.add(projection.name)
        for table in projection.tables:
            if table.fullname in tables:
                raise InvalidQuery(f"table {table.fullname!r} belongs to two projections")
            tables.add(table.fullname)
    return tuple(projections)
