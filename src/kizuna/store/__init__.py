"""The event store: an append-only, hash-chained event log with projections (SQLite or PostgreSQL).

Open it with `open_store(url)`; append with `EventStore.append(stream, [NewEvent(...)], expected_version=...,
idempotency_key=..., actor=..., marking=...)`; read with `read_stream`, `read_all`, `iter_all`; check the
chain with `verify()` (or `verification()`, which also yields the events it checked); recreate
projections with `rebuild()`; wake on new events with `subscribe` or `wait_for`. docs/store.md
explains the chain, the projections and the settings.
"""

from kizuna.store.canonical import canonical_json
from kizuna.store.catalog import CATALOG, stream_kind
from kizuna.store.chain import CURRENT_FORMAT, GENESIS_HASH, HashFormat, event_hash
from kizuna.store.events import (
    ChainFault,
    ChainProblem,
    Head,
    JsonObject,
    NewEvent,
    StoredEvent,
    VerifyReport,
)
from kizuna.store.eventstore import Clock, EventStore, open_store, system_clock
from kizuna.store.migrate import current_revision, head_revision, upgrade
from kizuna.store.notify import Notifier
from kizuna.store.projections import Handler, Projection
from kizuna.store.verify import TamperedLog, Verification

__all__ = [
    "CATALOG",
    "CURRENT_FORMAT",
    "ChainFault",
    "ChainProblem",
    "Clock",
    "EventStore",
    "GENESIS_HASH",
    "Handler",
    "HashFormat",
    "Head",
    "JsonObject",
    "NewEvent",
    "Notifier",
    "Projection",
    "StoredEvent",
    "TamperedLog",
    "Verification",
    "VerifyReport",
    "canonical_json",
    "current_revision",
    "event_hash",
    "head_revision",
    "open_store",
    "stream_kind",
    "system_clock",
    "upgrade",
]
