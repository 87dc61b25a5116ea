"""The values the event store takes and gives: new events, stored events, the chain head, verify reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

#: A JSON object as the store keeps it (payloads and markings).
JsonObject = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: its type, its JSON payload and, optionally, when it occurred.

    Attributes:
        type: What happened, as a dotted name (`request.filed`, `step.approved`).
        payload: A JSON-compatible object; the store keeps it exactly (canonical JSON).
        occurred_at: When it happened in the world (exercise time in an exercise); defaults to the
            store's clock at append time.
    """

    type: str
    payload: JsonObject = field(default_factory=dict)
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as recorded: its place in the global log and in its stream, and its chain hash.

    Attributes:
        seq: Position in the global log, 1, 2, 3, ... without gaps.
        stream: The stream the event belongs to (`crisis:<id>`, `request:<id>`).
        version: Position within the stream, 1, 2, 3, ...
        type: What happened.
        payload: The JSON payload.
        actor: Who caused it (a user id), or None for the system.
        marking: The event's security marking as JSON (see `kizuna.access.Marking`), or None.
        occurred_at: When it happened in the world (UTC).
        recorded_at: When the store recorded it (UTC, wall clock).
        idempotency_key: The key the append was made with, if any (shared by every event of that append).
        prev_hash: The hash of the event before it (64 zeros for the first event).
        hash: SHA-256 over the canonical JSON of the fields above and `prev_hash`.
        hash_format: How `hash` was computed (`kizuna.store.HashFormat`: 2, RFC 8785, for every event
            appended now; 1 for events of databases made before it).
    """

    seq: int
    stream: str
    version: int
    type: str
    payload: JsonObject
    actor: str | None
    marking: JsonObject | None
    occurred_at: datetime
    recorded_at: datetime
    idempotency_key: str | None
    prev_hash: str
    hash: str
    hash_format: int = 2


@dataclass(frozen=True, slots=True)
class Head:
    """The end of the chain: the last sequence number and its hash (seq 0 and the genesis hash if empty)."""

    seq: int
    hash: str


class ChainFault(StrEnum):
    """What `verify()` found wrong at one place in the chain."""

    ALTERED = "altered"  # the stored hash does not match the event's fields
    BROKEN_LINK = "broken-link"  # prev_hash is not the hash of the event before (removed or reordered)
    GAP = "gap"  # a sequence number is missing (an event was removed)
    STREAM_VERSION = "stream-version"  # versions within a stream are not 1, 2, 3, ...
    HEAD = "head"  # the recorded chain head does not match the last event (the tail was cut or added to)
    MALFORMED = "malformed"  # a field cannot be read as what it must be (not JSON, NaN, not a time, NULL)
    NOT_CANONICAL = "not-canonical"  # stored JSON text is not its value's canonical form (duplicate keys)
    EXPECTED_HEAD = "expected-head"  # a head hash recorded elsewhere is not in the chain (rewritten)


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One fault `verify()` found: where, what, in which field, and a sentence saying so.

    Attributes:
        seq: The event's global sequence number, or None when the row's own `seq` cannot be read.
        fault: What kind of fault.
        message: What is wrong, naming the value when it helps.
        field: The column at fault (`payload`, `occurred_at`), when one is.
        row: Where the row is when `seq` cannot say (`rowid 7` on SQLite, `ctid (0,7)` on PostgreSQL).
    """

    seq: int | None
    fault: ChainFault
    message: str
    field: str | None = None
    row: str | None = None

    @property
    def where(self) -> str:
        """Name the row: `seq 5`, or `rowid 7` when its seq cannot be read."""
        return f"seq {self.seq}" if self.seq is not None else (self.row or "a row")

    def __str__(self) -> str:
        field = f"{self.field}: " if self.field else ""
        return f"{self.where}: {self.fault}: {field}{self.message}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of checking the whole chain.

    Attributes:
        checked: How many rows were read.
        head: The chain head as recorded by the store.
        problems: Every fault found, in log order; empty when the chain verifies.
        formats: How many events are hashed in each format (`kizuna.store.HashFormat`).
    """

    checked: int
    head: Head
    problems: tuple[ChainProblem, ...]
    formats: Mapping[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Tell whether the chain verifies."""
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        """Return the first sequence number with a fault, or None if none names one."""
        return min((p.seq for p in self.problems if p.seq is not None), default=None)

    @property
    def first_bad(self) -> str | None:
        """Name the first faulty row (`seq 5`, or `rowid 7` when no fault names a seq)."""
        if not self.problems:
            return None
        first = self.first_bad_seq
        return f"seq {first}" if first is not None else self.problems[0].where
