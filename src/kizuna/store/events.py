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


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One fault `verify()` found: where (the global sequence number), what, and a sentence saying so."""

    seq: int
    fault: ChainFault
    message: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.fault}: {self.message}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of checking the whole chain.

    Attributes:
        checked: How many events were read.
        head: The chain head as recorded by the store.
        problems: Every fault found, in sequence order; empty when the chain verifies.
    """

    checked: int
    head: Head
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        """Tell whether the chain verifies."""
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        """Return the first sequence number with a fault, or None if the chain verifies."""
        return min((p.seq for p in self.problems), default=None)
