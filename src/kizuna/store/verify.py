"""Checking the chain: read every row defensively, name every fault, and hand out the events read.

`Verification` is one pass over the log in one snapshot. Rows are read with plain SQL, every column as
the database holds it (on SQLite as bytes, whatever its type; on PostgreSQL as text in UTC), so a value
of the wrong type, a NULL, text that is not UTF-8 or JSON, NaN, a duplicate key, a bad time or a bad
sequence number is a fault named with its row and field, never an exception. A row that can be read is
checked against the chain (its hash, its link to the row before, its place in the sequence and in its
stream) and handed to the caller as a `StoredEvent`, so the service builds its view from exactly the
rows it verified, in the same pass.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, DateTime, Engine, text
from sqlalchemy.dialects import sqlite as _sqlite

from kizuna.errors import IntegrityError
from kizuna.store.canonical import JsonFault, read_json
from kizuna.store.chain import GENESIS_HASH, HashFormat, hash_of_texts, utc
from kizuna.store.events import ChainFault, ChainProblem, Head, StoredEvent, VerifyReport

#: Rows fetched from the database at a time.
FETCH = 1000

_HEX64 = re.compile(r"[0-9a-f]{64}")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
#: How the store's readers turn SQLite's text into a time: the same reading, so the hash sees what they see.
_SQLITE_DIALECT = _sqlite.dialect()
_SQLITE_TIME = cast(
    "Callable[[str], datetime]",
    DateTime(timezone=True).dialect_impl(_SQLITE_DIALECT).result_processor(_SQLITE_DIALECT, None),
)
_FORMATS = {int(f): f for f in HashFormat}
#: A stream version that could not be read.
_UNKNOWN = -1
#: The order a row's faults are listed in: what cannot be read, then where it is, then what it says.
_RANK = {
    fault: rank
    for rank, fault in enumerate(
        (
            ChainFault.MALFORMED,
            ChainFault.NOT_CANONICAL,
            ChainFault.GAP,
            ChainFault.ALTERED,
            ChainFault.BROKEN_LINK,
            ChainFault.STREAM_VERSION,
            ChainFault.HEAD,
            ChainFault.EXPECTED_HEAD,
        )
    )
}

_COLUMNS = (
    "seq",
    "stream",
    "version",
    "type",
    "payload",
    "actor",
    "marking",
    "occurred_at",
    "recorded_at",
    "idempotency_key",
    "prev_hash",
    "hash",
    "hash_format",
)
#: Columns whose type SQLite leaves as stored (INTEGER affinity): read raw to see a wrong type.
_SQLITE_RAW = {"seq", "version", "hash_format"}


def _select(postgresql: bool, seq_is_bigint: bool) -> str:
    if postgresql:
        columns = ", ".join(f"CAST({c} AS TEXT)" for c in _COLUMNS)
        # Qualified: a bare `seq` would name the output column, which is text.
        text_seq = "CAST(events.seq AS TEXT)"
        order = (
            "events.seq"
            if seq_is_bigint
            else f"CASE WHEN {text_seq} ~ '^-?[0-9]{{1,18}}$' THEN CAST({text_seq} AS BIGINT) END, {text_seq}"
        )
        return f"SELECT CAST(ctid AS TEXT), {columns} FROM events ORDER BY {order}"  # noqa: S608
    columns = ", ".join(c if c in _SQLITE_RAW else f"CAST({c} AS BLOB)" for c in _COLUMNS)
    return f"SELECT rowid, {columns} FROM events ORDER BY events.seq"  # noqa: S608 - fixed column names


class _Row:
    """One row read raw; `fields` collects what could be decoded, `problems` what could not."""

    __slots__ = ("fields", "place", "postgresql", "problems", "seq")

    def __init__(self, place: str, postgresql: bool) -> None:
        self.place = place
        self.postgresql = postgresql
        self.seq: int | None = None
        self.fields: dict[str, Any] = {}
        self.problems: list[ChainProblem] = []

    def fault(self, fault: ChainFault, field: str | None, message: str) -> None:
        self.problems.append(ChainProblem(self.seq, fault, message, field, None if self.seq else self.place))

    def text(self, field: str, raw: Any, *, nullable: bool = False) -> str | None:
        """Decode a text column; record a fault and return None if it cannot be."""
        if raw is None:
            if not nullable:
                self.fault(ChainFault.MALFORMED, field, "is NULL")
            return None
        if isinstance(raw, bytes):
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as error:
                self.fault(
                    ChainFault.MALFORMED, field, f"is not UTF-8 text ({error.reason} at byte {error.start})"
                )
                return None
        if isinstance(raw, str):
            return raw
        self.fault(ChainFault.MALFORMED, field, f"{raw!r} is not text")
        return None

    def integer(self, field: str, raw: Any) -> int | None:
        """Decode a positive integer column (exactly an integer on SQLite; its text on PostgreSQL)."""
        value: int | None = None
        if type(raw) is int:
            value = raw
        elif self.postgresql and isinstance(raw, str) and _INTEGER.fullmatch(raw):
            value = int(raw)
        if value is None:
            self.fault(
                ChainFault.MALFORMED, field, "is NULL" if raw is None else f"{raw!r} is not an integer"
            )
            return None
        if value < 1:
            self.fault(ChainFault.MALFORMED, field, f"{value} is not a positive integer")
            return None
        return value

    def moment(self, field: str, raw: Any) -> datetime | None:
        """Decode a time column as the store's readers do (SQLite), or PostgreSQL's text with an offset."""
        value = self.text(field, raw)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value) if self.postgresql else _SQLITE_TIME(value)
        except (ValueError, TypeError) as error:
            self.fault(ChainFault.MALFORMED, field, f"{value!r} is not a time ({error})")
            return None
        if self.postgresql and moment.tzinfo is None:
            self.fault(ChainFault.MALFORMED, field, f"{value!r} is not a time with a UTC offset")
            return None
        return utc(moment)

    def digest(self, field: str, raw: Any) -> str | None:
        value = self.text(field, raw)
        if value is not None and not _HEX64.fullmatch(value):
            self.fault(ChainFault.MALFORMED, field, f"{value!r} is not a SHA-256 hex digest")
            return None
        return value

    def json(
        self, field: str, raw: Any, hash_format: HashFormat | None, *, nullable: bool
    ) -> tuple[str, Any] | None:
        """Decode a JSON object column: its stored text and its value, or None (a fault recorded)."""
        value = self.text(field, raw, nullable=nullable)
        if value is None:
            return None
        try:
            parsed = read_json(value, legacy=hash_format is HashFormat.LEGACY)
        except JsonFault as fault:
            kind = ChainFault.NOT_CANONICAL if fault.ambiguous else ChainFault.MALFORMED
            self.fault(kind, field, str(fault))
            return None
        if not isinstance(parsed.value, dict):
            self.fault(ChainFault.MALFORMED, field, f"is a JSON {type(parsed.value).__name__}, not an object")
            return None
        if hash_format is not None and not parsed.canonical:
            self.fault(
                ChainFault.NOT_CANONICAL,
                field,
                "the stored text is not the canonical form of its value "
                "(white space, key order, a number or an escape written differently)",
            )
        if parsed.text is None:
            self.fault(
                ChainFault.MALFORMED, field, "the value has no canonical form (text that is not Unicode)"
            )
            return None
        return parsed.text, parsed.value


def _decode(row: Any, postgresql: bool) -> tuple[_Row, StoredEvent | None, str | None, str | None]:
    """Decode one raw row; return it with the event (None if any field is unreadable) and its texts.

    The texts are the canonical texts of the payload's and marking's values, which the hash covers; a
    stored text that differs from them is reported as not canonical, and the hash then says whether the
    value itself was changed.
    """
    place = f"ctid {row[0]}" if postgresql else f"rowid {row[0]}"
    raw = dict(zip(_COLUMNS, row[1:], strict=True))
    decoded = _Row(place, postgresql)
    decoded.seq = decoded.integer("seq", raw["seq"])
    fields = decoded.fields
    fields["stream"] = decoded.text("stream", raw["stream"])
    fields["version"] = decoded.integer("version", raw["version"])
    fields["type"] = decoded.text("type", raw["type"])
    fields["actor"] = decoded.text("actor", raw["actor"], nullable=True)
    fields["idempotency_key"] = decoded.text("idempotency_key", raw["idempotency_key"], nullable=True)
    fields["occurred_at"] = decoded.moment("occurred_at", raw["occurred_at"])
    fields["recorded_at"] = decoded.moment("recorded_at", raw["recorded_at"])
    fields["prev_hash"] = decoded.digest("prev_hash", raw["prev_hash"])
    fields["hash"] = decoded.digest("hash", raw["hash"])
    number = decoded.integer("hash_format", raw["hash_format"])
    hash_format = _FORMATS.get(number) if number is not None else None
    if number is not None and hash_format is None:
        decoded.fault(ChainFault.MALFORMED, "hash_format", f"{number} is not a known hash format")
    payload = decoded.json("payload", raw["payload"], hash_format, nullable=False)
    marking = decoded.json("marking", raw["marking"], hash_format, nullable=True)
    readable = not any(p.fault is ChainFault.MALFORMED for p in decoded.problems)
    if not readable or payload is None or hash_format is None or decoded.seq is None:
        return decoded, None, None, None
    if raw["marking"] is not None and marking is None:
        return decoded, None, None, None
    event = StoredEvent(
        seq=decoded.seq,
        payload=payload[1],
        marking=marking[1] if marking is not None else None,
        hash_format=hash_format,
        **fields,
    )
    return decoded, event, payload[0], marking[0] if marking is not None else None


class TamperedLog(IntegrityError):
    """The event chain does not verify; `report` holds every fault found.

    The message names how many faults there are and the first few, and says how to see them all.
    """

    #: How many faults the message lists.
    SHOWN = 5

    def __init__(self, report: VerifyReport, *, what: str = "the event log") -> None:
        self.report = report
        shown = "; ".join(str(p) for p in report.problems[: self.SHOWN])
        more = len(report.problems) - self.SHOWN
        rest = f"; and {more} more" if more > 0 else ""
        super().__init__(
            f"{what} does not verify: {len(report.problems)} problem(s): {shown}{rest} "
            "(`kizuna db verify` lists them all)"
        )


@dataclass
class _State:
    """Where the pass is in the chain."""

    expected_seq: int = 1
    prev_hash: str = GENESIS_HASH
    checked: int = 0


class Verification:
    """One pass over the log that checks the chain and yields every event it could read, in order.

    Iterate it once (each readable event is yielded, faulty or not; `report` lists the faults), or call
    `finish()` to read what is left and get the report. The pass runs in one snapshot, so appends made
    meanwhile are not seen.
    """

    def __init__(
        self,
        engine: Engine,
        snapshot: Callable[[], Any],
        *,
        postgresql: bool,
        progress: Callable[[int, int], None] | None = None,
        expect_head: str | None = None,
    ) -> None:
        """Prepare a pass (nothing is read until iteration); see `EventStore.verification`."""
        self._engine = engine
        self._snapshot = snapshot
        self._postgresql = postgresql
        self._progress = progress
        self._expect_head = expect_head.strip().lower() if expect_head is not None else None
        self._pass: Iterator[StoredEvent] | None = None
        self._report: VerifyReport | None = None

    def __iter__(self) -> Iterator[StoredEvent]:
        if self._pass is not None:
            raise RuntimeError("a verification is one pass; start another with EventStore.verification()")
        self._pass = self._run()
        return self._pass

    def finish(self) -> VerifyReport:
        """Read whatever the iteration has not read yet and return the report."""
        if self._pass is None:
            self._pass = self._run()
        for _ in self._pass:
            pass
        return self.report

    @property
    def report(self) -> VerifyReport:
        """The report of a finished pass.

        Raises:
            RuntimeError: The pass has not been read to its end.
        """
        if self._report is None:
            raise RuntimeError("the verification has not read the whole log yet; call finish()")
        return self._report

    def _run(self) -> Iterator[StoredEvent]:
        problems: list[ChainProblem] = []
        formats: Counter[int] = Counter()
        state = _State()
        versions: dict[str, int] = {}
        found_expected = self._expect_head in {None, GENESIS_HASH}
        with self._snapshot() as connection:
            if self._postgresql:  # times as text in one form, whatever the server's settings
                connection.execute(text("SET LOCAL datestyle TO 'ISO, YMD'"))
                connection.execute(text("SET LOCAL timezone TO 'UTC'"))
            head, head_problem = self._head(connection)
            total = int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())
            result = connection.execution_options(yield_per=FETCH).execute(
                text(_select(self._postgresql, self._seq_is_bigint(connection)))
            )
            for row in result:
                decoded, event, payload_text, marking_text = _decode(row, self._postgresql)
                found = list(decoded.problems)
                state.checked += 1
                if decoded.seq is not None:
                    found += self._link(decoded, state, versions)
                if event is not None:
                    formats[event.hash_format] += 1
                    found += _check_hash(event, payload_text, marking_text)
                    found_expected = found_expected or event.hash == self._expect_head
                problems += sorted(found, key=lambda p: _RANK[p.fault])
                if event is not None:
                    yield event
                if self._progress is not None and state.checked % FETCH == 0:
                    self._progress(state.checked, total)
            if self._progress is not None:
                self._progress(state.checked, total)
        last_seq = state.expected_seq - 1
        if head_problem is not None:
            problems.append(head_problem)
        elif (head.seq, head.hash) != (last_seq, state.prev_hash):
            problems.append(
                ChainProblem(
                    max(head.seq, last_seq),
                    ChainFault.HEAD,
                    f"the chain head records seq {head.seq}, but the log ends at seq {last_seq} "
                    "with another hash (events removed from or added to the end)",
                    "chain_head",
                )
            )
        if not found_expected:
            problems.append(
                ChainProblem(
                    None,
                    ChainFault.EXPECTED_HEAD,
                    f"the expected head {self._expect_head} is not the hash of any event: the log was "
                    "rewritten, cut before it, or is another database",
                    row="the chain",
                )
            )
        self._report = VerifyReport(
            checked=state.checked, head=head, problems=tuple(problems), formats=dict(formats)
        )

    def _seq_is_bigint(self, connection: Connection) -> bool:
        if not self._postgresql:
            return True
        kind = connection.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'events' AND column_name = 'seq' AND table_schema = current_schema()"
            )
        ).scalar()
        return kind == "bigint"

    def _head(self, connection: Connection) -> tuple[Head, ChainProblem | None]:
        """Read the chain head row defensively."""
        cast = "CAST(seq AS TEXT), CAST(hash AS TEXT)" if self._postgresql else "seq, CAST(hash AS BLOB)"
        rows = connection.execute(text(f"SELECT {cast} FROM chain_head WHERE id = 1")).all()  # noqa: S608
        if len(rows) != 1:
            return Head(0, GENESIS_HASH), ChainProblem(
                None, ChainFault.HEAD, "the chain head row is missing", "chain_head", "chain_head"
            )
        decoded = _Row("chain_head", self._postgresql)
        raw_seq = rows[0][0]
        seq = 0 if raw_seq in (0, "0") else decoded.integer("seq", raw_seq)
        digest = decoded.digest("hash", rows[0][1])
        if seq is None or digest is None:
            message = "; ".join(f"{p.field}: {p.message}" for p in decoded.problems)
            return Head(0, GENESIS_HASH), ChainProblem(
                None,
                ChainFault.HEAD,
                f"the chain head row is malformed ({message})",
                "chain_head",
                "chain_head",
            )
        return Head(seq, digest), None

    @staticmethod
    def _link(decoded: _Row, state: _State, versions: dict[str, int]) -> list[ChainProblem]:
        """Check a row's place: no gap before it, linked to the row before, next in its stream."""
        problems: list[ChainProblem] = []
        seq = decoded.seq
        assert seq is not None
        if seq != state.expected_seq:
            if seq > state.expected_seq:
                missing = (
                    f"{state.expected_seq}"
                    if seq == state.expected_seq + 1
                    else f"{state.expected_seq}-{seq - 1}"
                )
                problems.append(ChainProblem(seq, ChainFault.GAP, f"events {missing} are missing", "seq"))
            else:
                problems.append(
                    ChainProblem(
                        seq, ChainFault.GAP, f"seq {seq} comes after seq {state.expected_seq - 1}", "seq"
                    )
                )
        prev_hash, digest = decoded.fields["prev_hash"], decoded.fields["hash"]
        if prev_hash is not None and prev_hash != state.prev_hash:
            problems.append(
                ChainProblem(
                    seq,
                    ChainFault.BROKEN_LINK,
                    "is not the hash of the event before it (removed or reordered)",
                    "prev_hash",
                )
            )
        stream, version = decoded.fields["stream"], decoded.fields["version"]
        if stream is not None and version is None:
            versions[stream] = _UNKNOWN  # unreadable here: the stream's next version is not judged by it
        elif stream is not None and version is not None:
            before = versions.get(stream, 0)
            if before != _UNKNOWN and version != before + 1:
                problems.append(
                    ChainProblem(
                        seq,
                        ChainFault.STREAM_VERSION,
                        f"stream {stream!r} version {version} follows version {before}",
                        "version",
                    )
                )
            versions[stream] = version
        state.expected_seq = max(state.expected_seq, seq + 1)
        state.prev_hash = digest if digest is not None else ""
        return problems


def _check_hash(event: StoredEvent, payload_text: str | None, marking_text: str | None) -> list[ChainProblem]:
    """Recompute a readable event's hash from its stored texts; report a mismatch."""
    assert payload_text is not None
    try:
        recomputed = hash_of_texts(
            seq=event.seq,
            stream=event.stream,
            version=event.version,
            type=event.type,
            payload_text=payload_text,
            actor=event.actor,
            marking_text=marking_text,
            occurred_at=event.occurred_at,
            recorded_at=event.recorded_at,
            idempotency_key=event.idempotency_key,
            prev_hash=event.prev_hash,
            hash_format=HashFormat(event.hash_format),
        )
    except ValueError as error:
        return [ChainProblem(event.seq, ChainFault.MALFORMED, str(error))]
    if recomputed != event.hash:
        return [ChainProblem(event.seq, ChainFault.ALTERED, "the event's fields do not match its hash")]
    return []
