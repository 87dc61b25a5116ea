"""The event store: an append-only, hash-chained log of events in streams, with projections.

An append (1) answers a repeated idempotency key with the events it produced the first time, (2) checks
the stream's expected version, (3) records the events with their chain hashes and (4) applies them to
every registered projection, all inside a transaction that holds the chain-head lock; the transaction
then moves the chain head and, on PostgreSQL, NOTIFYs other workers. The lock serializes appends on both
back ends: on SQLite the write transaction begins with `BEGIN IMMEDIATE`; on PostgreSQL the chain-head
row is read `FOR UPDATE`. Appends waiting for the lock in one process are committed together (group
commit), their rows written together. A write that `append` returned has been committed (and, with the
default settings, synced to disk).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Dialect,
    Engine,
    Insert,
    Row,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from kizuna.errors import ConflictError, IntegrityError, InvalidQuery
from kizuna.store import catalog, schema
from kizuna.store.canonical import canonical_json
from kizuna.store.catalog import CATALOG, stream_catalog
from kizuna.store.chain import CURRENT_FORMAT, hash_of_texts, utc
from kizuna.store.engine import WRITE_OPTION, is_postgresql, make_engine, parse_url
from kizuna.store.events import Head, NewEvent, StoredEvent, VerifyReport
from kizuna.store.migrate import upgrade
from kizuna.store.notify import CHANNEL, Listener, Notifier, PostgresListener
from kizuna.store.projections import Projection, check_projections
from kizuna.store.rawsql import Cursor, Statement
from kizuna.store.verify import Verification

#: Returns the current moment (timezone-aware). Injected so tests and exercises can drive time.
Clock = Callable[[], datetime]

#: Reads and replays go through the log in batches of this many events.
BATCH = 1000

#: Longest stream name and idempotency key the schema holds.
MAX_KEY = 200
#: Longest event type and actor the schema holds.
MAX_NAME = 120

# The append path's statements, built once: building SQLAlchemy statements per call costs more than
# running them on SQLite.
_HEAD = select(schema.chain_head.c.seq, schema.chain_head.c.hash).where(schema.chain_head.c.id == 1)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_IDEMPOTENT = select(schema.idempotency_keys).where(schema.idempotency_keys.c.key == bindparam("key"))
_STREAM_VERSION = select(func.coalesce(func.max(schema.events.c.version), 0)).where(
    schema.events.c.stream == bindparam("stream")
)
_MOVE_HEAD = (
    update(schema.chain_head)
    .where(schema.chain_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_INSERT_KEY = insert(schema.idempotency_keys)
_ADVANCE_PROJECTION = (
    update(schema.projection_state)
    .where(
        schema.projection_state.c.name == bindparam("p_name"),
        schema.projection_state.c.version == bindparam("p_version"),
        schema.projection_state.c.last_seq == bindparam("p_before"),
    )
    .values(last_seq=bindparam("p_after"))
)
_NOTIFY = text("SELECT pg_notify(:channel, :seq)")
#: Most appends committed in one transaction by group commit.
MAX_GROUP = 64
#: Most stream versions a store remembers from its own commits (past it, it starts again).
MAX_REMEMBERED = 100_000


@dataclass(frozen=True, slots=True)
class _Json:
    """A JSON value as the store keeps it: its canonical text (stored, hashed) and the value it reads as."""

    text: str
    value: Any

    @classmethod
    def of(cls, what: str, value: Any) -> _Json:
        try:
            canonical = canonical_json(value)
        except InvalidQuery as error:
            raise InvalidQuery(f"the {what} cannot be stored: {error}") from None
        return cls(text=canonical, value=json.loads(canonical))


def _insert_events(postgresql: bool) -> Insert:
    """Build the event insert, binding payload and marking as their canonical text, stored as is.

    PostgreSQL's `json` type keeps the exact input text; SQLite keeps text in a JSON column untouched.
    """

    def json_text(name: str) -> Any:
        parameter = bindparam(name, type_=Text)
        return cast(parameter, JSON) if postgresql else parameter

    return insert(schema.events).values(payload=json_text("payload"), marking=json_text("marking"))


#: The columns of an event row as an append binds them.
_EVENT_KEYS = (
    "seq",
    "stream",
    "version",
    "type",
    "actor",
    "occurred_at",
    "recorded_at",
    "idempotency_key",
    "prev_hash",
    "payload",
    "marking",
    "hash",
    "hash_format",
)


class PendingAppendStatements:
    """The statements of an append, compiled for the store's dialect (sent on the driver's cursor)."""

    def __init__(self, dialect: Dialect, postgresql: bool) -> None:
        self.head = Statement(_HEAD_FOR_UPDATE, dialect)
        self.stream_version = Statement(_STREAM_VERSION, dialect)
        self.insert_events = Statement(_insert_events(postgresql), dialect, keys=_EVENT_KEYS)
        self.insert_key = Statement(_INSERT_KEY, dialect, keys=("key", "stream", "first_seq", "last_seq"))
        self.advance_projection = Statement(_ADVANCE_PROJECTION, dialect)
        self.move_head = Statement(_MOVE_HEAD, dialect)
        self.notify = Statement(_NOTIFY, dialect)
        self.catalog = catalog.statements(dialect)
        self._dialect = dialect
        self._versions_of: dict[int, Statement] = {}

    def versions_of(self, count: int) -> Statement:
        """The versions of `count` streams (binds `s0`..), one row per stream that has events."""
        statement = self._versions_of.get(count)
        if statement is None:
            streams: list[BindParameter[Any]] = [bindparam(f"s{i}") for i in range(count)]
            construct = (
                select(schema.events.c.stream, func.max(schema.events.c.version))
                .where(schema.events.c.stream.in_(streams))
                .group_by(schema.events.c.stream)
            )
            statement = self._versions_of[count] = Statement(construct, self._dialect)
        return statement


@dataclass(eq=False)
class PendingAppend:
    """One append waiting for its group's commit, and what came of it (`EventStore.submit`)."""

    stream: str
    events: tuple[NewEvent, ...]
    payloads: tuple[_Json, ...]
    expected_version: int | None
    idempotency_key: str | None
    actor: str | None
    marking: _Json | None
    result: tuple[StoredEvent, ...] | None = None
    error: BaseException | None = None
    promoted: bool = False
    done: bool = False
    #: Made only by a submitter that has to wait (under the queue lock, as `promoted` and `done` are
    #: read and set): the command runner leads its own groups and never waits.
    wake: threading.Event | None = None


#: Where `append` hands its append instead of committing it, when set in the caller's context: a
#: function that returns once the append is committed (or refused) with others. A command runner
#: (`kizuna.service.commands`) sets it to gather many commands' appends into one `submit`.
APPEND_HAND_OFF: ContextVar[Callable[[EventStore, PendingAppend], None] | None] = ContextVar(
    "append_hand_off", default=None
)


def system_clock() -> datetime:
    """Return the wall-clock time in UTC."""
    return datetime.now(UTC)


def _row_to_event(row: Row[Any]) -> StoredEvent:
    return StoredEvent(
        seq=row.seq,
        stream=row.stream,
        version=row.version,
        type=row.type,
        payload=row.payload,
        actor=row.actor,
        marking=row.marking,
        occurred_at=utc(row.occurred_at),
        recorded_at=utc(row.recorded_at),
        idempotency_key=row.idempotency_key,
        prev_hash=row.prev_hash,
        hash=row.hash,
        hash_format=row.hash_format,
    )


def _read_events(
    connection: Connection, query: Any, parameters: Mapping[str, Any] | None = None
) -> tuple[StoredEvent, ...]:
    """Run a query of whole events and return them; a row that cannot be read is an IntegrityError."""
    try:
        return tuple(_row_to_event(r) for r in connection.execute(query, parameters))
    except (ValueError, TypeError, AttributeError) as error:
        raise IntegrityError(
            f"the event log holds a row that cannot be read ({error}); `kizuna db verify` names it"
        ) from error


@lru_cache(maxsize=64)
def _scan_query(types: tuple[str, ...], prefixes: tuple[str, ...], keyed: bool) -> Select[Any]:
    """Build, once per kind of scan, the query of a batch of its events between `:after` and `:reached`.

    Followers scan many times a second; building the statement each time cost more than running it.
    """
    events = schema.events.c
    wanted: ColumnElement[bool] = or_(
        events.type.in_(types),
        *(events.type.startswith(prefix, autoescape=True) for prefix in prefixes),
    )
    if keyed:
        wanted = or_(wanted, events.idempotency_key.is_not(None))
    return (
        select(schema.events)
        .where(events.seq > bindparam("after"), events.seq <= bindparam("reached"), wanted)
        .order_by(events.seq)
        .limit(BATCH)
    )


def _check_name(what: str, value: str, longest: int = MAX_KEY) -> None:
    if not value or len(value) > longest:
        raise InvalidQuery(f"{what} must be 1 to {longest} characters, got {value!r}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidQuery(
                f"{what} {value!r} holds text that is not Unicode (a lone surrogate)"
            ) from None


def _joined_session(connection: Connection) -> Session:
    """Return a Session that writes inside the caller's transaction, savepoint or not.

    SQLAlchemy's default (`conditional_savepoint`) gives a Session bound to a connection that is inside a
    SAVEPOINT a savepoint of its own, rolled back when the Session closes: in a group commit every
    projection write would vanish while the events stayed. `rollback_only` leaves commit to the caller.
    """
    return Session(bind=connection, join_transaction_mode="rollback_only")


class _Redo(Exception):
    """An append of a group without savepoints failed after it may have written: redo with savepoints."""


class _StaleCheckpoint(Exception):
    """A projection's checkpoint was not where this store last left it: commit again, reading them."""


class _GroupSession:
    """One group commit's transaction: its connection and driver cursor, the projections (which are
    current, and the Session they write with) and the stream versions it wrote.

    The Session is made when first needed, then reused (a Session per append cost more than the
    projection's own statements). `current` projections are at the group's starting seq and get
    each new event applied; `lagging` ones replay from the log once the group's rows are inserted.
    """

    __slots__ = (
        "_session",
        "connection",
        "current",
        "cursor",
        "known",
        "lagging",
        "start",
        "versions",
    )

    def __init__(
        self,
        connection: Connection,
        cursor: Cursor,
        start: int,
        current: list[Projection],
        lagging: list[Projection],
        *,
        known: bool,
    ) -> None:
        self.connection = connection
        self.cursor = cursor
        self._session: Session | None = None
        self.start = start
        self.current = current
        self.lagging = lagging
        self.known = known  # nothing was appended since this store's last commit
        self.versions: dict[str, int] = {}  # the streams this group wrote, at their new versions

    def session(self) -> Session:
        """Return the group's Session (joined to its transaction)."""
        if self._session is None:
            self._session = _joined_session(self.connection)
        return self._session

    def close(self) -> None:
        """Close the Session, if one was made (it never commits: the group's transaction does)."""
        if self._session is not None:
            self._session.close()
            self._session = None


class EventStore:
    """An open event store. Build it with `open_store()`; close it with `close()` or a `with` block.

    The store is safe to share between threads; every method opens its own connection from the pool.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        projections: Sequence[Projection] = (),
        clock: Clock = system_clock,
        recorded_clock: Clock = system_clock,
        listen: bool = True,
        prepare: bool = True,
    ) -> None:
        """Wrap an engine whose database is already migrated (use `open_store()` instead).

        Args:
            engine: From `kizuna.store.engine.make_engine`.
            projections: Kept current by every append; see `kizuna.store.projections`.
            clock: Gives `occurred_at` for events that do not carry it (exercise time, test time).
            recorded_clock: Gives `recorded_at` (the wall clock, unless a test drives it).
            listen: On PostgreSQL, start a LISTEN thread so appends by other workers wake subscribers.
            prepare: Bring projections up to date now (rebuild or catch up); off for a check that
                must read the log before anything is built from it (`prepare_projections()` later).
        """
        self.engine = engine
        self.projections = check_projections(projections)
        self._clock = clock
        self._recorded_clock = recorded_clock
        self._postgresql = is_postgresql(engine)
        self.notifier = Notifier()
        self._queue: list[PendingAppend] = []
        self._queue_lock = threading.Lock()
        self._leading = False
        self._writer: Connection | None = None  # the group leader's connection, kept between groups
        # The seq every projection's checkpoint was left at by this store's last commit (None: read them).
        self._checkpoint: int | None = None
        # Stream versions as of that commit: exact while the head is still there (nobody else wrote).
        self._versions: dict[str, int] = {}
        self._listener: PostgresListener | None = None
        self._sql = PendingAppendStatements(engine.dialect, self._postgresql)
        if prepare:
            self.prepare_projections()
        if listen and self._postgresql:
            url = engine.url.set(drivername="postgresql")
            self._listener = PostgresListener(url.render_as_string(hide_password=False), self.notifier)
            self._listener.start()
        with suppress(IntegrityError):  # a damaged head is for verify to name, not for opening to fail on
            self.notifier.publish(self.head().seq)  # after LISTEN starts, so no append falls in between

    # -- life cycle ---------------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """Return `sqlite` or `postgresql`."""
        return "postgresql" if self._postgresql else "sqlite"

    def close(self) -> None:
        """Stop the listener and release every pooled connection."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self._drop_writer()
        self.engine.dispose()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write_connection(self) -> Connection:
        """Return a new connection whose transactions take the write lock at BEGIN."""
        return self.engine.connect().execution_options(**{WRITE_OPTION: True})

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """Open a write transaction holding the chain-head lock; commit on success, roll back on error."""
        connection = self._write_connection()
        with connection, connection.begin():
            yield connection

    @contextmanager
    def _group_write(self) -> Iterator[Connection]:
        """Open the group leader's write transaction on the connection kept for it.

        Only the one leading thread writes a group at a time, so one connection serves every group:
        taking one from the pool and setting it up cost more than the statements of a small group.
        A refusal leaves it as it was (the transaction is rolled back); after a database error it is
        closed and the next group opens another.
        """
        connection = self._writer
        if connection is None or connection.closed or connection.invalidated:
            connection = self._writer = self._write_connection()
        try:
            with connection.begin():
                yield connection
        except DBAPIError:
            self._drop_writer()
            raise

    def _drop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with suppress(Exception):  # it failed already; closing it is all that is left to do
                writer.close()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    # -- appending ----------------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        actor: str | None = None,
        marking: Mapping[str, Any] | None = None,
    ) -> tuple[StoredEvent, ...]:
        """Append events to a stream in one transaction and return them as recorded.

        Args:
            stream: The stream (`request:<id>`); created by its first append.
            events: One or more events, recorded in order with consecutive versions.
            expected_version: The stream version the caller based its decision on (0 for a new stream);
                None skips the check.
            idempotency_key: A key unique to this logical write. Repeating it returns the events the
                first append recorded, without recording anything.
            actor: Who caused the events (a user id).
            marking: The events' security marking as JSON (`Marking.to_json()`).

        Concurrent appends from several threads are committed together (group commit): one thread
        takes the chain lock and records every append waiting at that moment, then commits once, so
        one disk sync serves them all. Each append still succeeds or fails on its own, and returns
        only after its commit.

        Raises:
            ConflictError: The stream is not at `expected_version` (`error.current` is the int version
                it is at), or the idempotency key was used for another stream (`error.current` is that
                stream's name).
            InvalidQuery: No events, an empty or too long name, or a payload that is not JSON.
        """
        request = self.prepare(
            stream,
            events,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
            actor=actor,
            marking=marking,
        )
        hand_off = APPEND_HAND_OFF.get()
        if hand_off is not None:
            hand_off(self, request)
        else:
            self.submit((request,))
        if request.error is not None:
            raise request.error
        if request.result is None:
            raise RuntimeError(f"the append to {stream!r} was abandoned by the thread committing it")
        return request.result

    @staticmethod
    def prepare(
        stream: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        actor: str | None = None,
        marking: Mapping[str, Any] | None = None,
    ) -> PendingAppend:
        """Check an append and encode its payloads, ready for `submit` (the arguments are `append`'s).

        Raises:
            InvalidQuery: No events, an empty or too long name, or a payload that is not JSON.
        """
        _check_name("stream", stream)
        if not events:
            raise InvalidQuery(f"append to {stream!r} needs at least one event")
        if idempotency_key is not None:
            _check_name("idempotency key", idempotency_key)
        if expected_version is not None and expected_version < 0:
            raise InvalidQuery(f"expected_version must be >= 0, got {expected_version}")
        for new in events:
            _check_name("event type", new.type, MAX_NAME)
        if actor is not None:
            _check_name("actor", actor, MAX_NAME)
        return PendingAppend(
            stream=stream,
            events=tuple(events),
            payloads=tuple(_Json.of(f"payload of {e.type!r}", dict(e.payload)) for e in events),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
            actor=actor,
            marking=_Json.of("marking", dict(marking)) if marking is not None else None,
        )

    def submit(self, requests: Sequence[PendingAppend]) -> None:
        """Commit appends, in order, with whatever other threads have waiting (group commit).

        Returns once every one is committed or refused (its `result` or `error` is set). The first
        thread to find nobody committing leads: it commits up to MAX_GROUP waiting appends in one
        transaction, then hands the lead to the thread of the next waiting append, if any.
        """
        with self._queue_lock:
            self._queue.extend(requests)
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        for request in requests:
            while True:
                with self._queue_lock:
                    if request.promoted:  # handed the lead of the group it heads, not yet committed
                        request.promoted = False
                        wake = None
                    elif request.done:
                        break
                    else:
                        wake = request.wake = request.wake or threading.Event()
                if wake is None:
                    self._lead()
                else:
                    wake.wait()

    def _lead(self) -> None:
        """Commit one group of waiting appends, then hand the lead to the next waiting thread, if any."""
        with self._queue_lock:
            group = self._queue[:MAX_GROUP]
            del self._queue[: len(group)]
        head: int | None = None
        try:
            head = self._commit_group(group)
        finally:
            with self._queue_lock:
                for request in group:
                    request.done = True
                    if request.wake is not None:
                        request.wake.set()
                if self._queue:
                    successor = self._queue[0]
                    successor.promoted = True
                    if successor.wake is not None:
                        successor.wake.set()
                else:
                    self._leading = False
        if head is not None:
            self.notifier.publish(head)

    def _commit_group(self, group: Sequence[PendingAppend]) -> int | None:
        """Record a group of appends in one transaction (again, reading the checkpoints, if they moved)."""
        try:
            return self._commit_once(group)
        except _StaleCheckpoint:
            self._checkpoint = None
            for request in group:
                request.result = request.error = None
            return self._commit_once(group)

    def _commit_once(self, group: Sequence[PendingAppend]) -> int | None:
        """Record a group of appends in one transaction.

        A refused append (a version or key conflict) is refused before it writes anything, so the
        group is first recorded without savepoints, which cost two statements per append. Only if an
        append fails after it may have written (a database error) is the whole transaction rolled
        back and the group recorded again with each append in its own savepoint, so that the one
        failure does not take the others with it.

        Returns:
            The new head sequence number, or None if the group wrote nothing.
        """
        if len(group) > 1:
            try:
                return self._commit(group, savepoints=False)
            except _Redo:
                for request in group:
                    request.result = request.error = None
        return self._commit(group, savepoints=len(group) > 1)

    def _commit(self, group: Sequence[PendingAppend], *, savepoints: bool) -> int | None:
        """Record a group in one transaction (each append in a savepoint if `savepoints`).

        Raises:
            _Redo: Without savepoints, an append of several failed after it may have written.
        """
        written: StoredEvent | None = None
        undoable = savepoints or len(group) == 1
        try:
            with self._group_write() as connection:
                cursor = Cursor(connection)
                seq, prev = cursor.execute(self._sql.head).one()
                projections = self._group_projections(connection, cursor, seq)
                if savepoints:
                    for request in group:
                        savepoint = connection.begin_nested()
                        try:
                            result, rows = self._check(projections, request, seq, prev)
                            if rows:
                                self._write_rows(projections, [(result, rows)])
                        except Exception as error:
                            projections.close()  # the next append gets a fresh Session
                            savepoint.rollback()
                            request.error = error
                            continue
                        savepoint.commit()
                        request.result = result
                        if rows:
                            projections.versions[request.stream] = result[-1].version
                            written = result[-1]
                            seq, prev = written.seq, written.hash
                else:
                    written = self._record_all(projections, group, seq, prev, undoable=undoable)
                projections.close()
                if written is not None:
                    self._checkpoint = None  # until this transaction commits
                    self._advance_projections(projections, written.seq)
                    cursor.execute(self._sql.move_head, {"new_seq": written.seq, "new_hash": written.hash})
                    if self._postgresql:
                        cursor.execute(self._sql.notify, {"channel": CHANNEL, "seq": str(written.seq)})
                cursor.close()
        except (_Redo, _StaleCheckpoint):
            raise
        except Exception as error:  # the transaction failed as a whole: no append in it happened
            for request in group:
                request.result = None
                request.error = request.error or error
            return None
        if written is None:
            return None
        self._remember(projections, written.seq)
        return written.seq

    def _remember(self, group: _GroupSession, head: int) -> None:
        """After a commit: the checkpoints are at `head`, and the group's streams at their versions."""
        if not group.known or len(self._versions) > MAX_REMEMBERED:
            self._versions.clear()  # another writer was here (or the table is full): start again
        self._versions.update(group.versions)
        self._checkpoint = head

    def _record_all(
        self,
        group: _GroupSession,
        requests: Sequence[PendingAppend],
        seq: int,
        prev_hash: str,
        *,
        undoable: bool,
    ) -> StoredEvent | None:
        """Record appends after event `seq` (whose hash is `prev_hash`) without savepoints.

        Each append is checked and hashed in order (a refusal, ConflictError, writes nothing and is the
        append's own error); then the rows of all of them are written together, a few statements for
        the whole group. A failure that cannot be undone alone (`undoable` is False: other appends in
        the transaction) is raised as _Redo, as is a key used twice in the group (the second must see
        the first's row). Returns the last event written, if any.
        """
        writes: list[tuple[tuple[StoredEvent, ...], list[dict[str, Any]]]] = []
        keys: set[str] = set()
        last: StoredEvent | None = None
        try:
            self._read_versions(group, requests)
            for request in requests:
                key = request.idempotency_key
                if key is not None and key in keys:
                    raise _Redo
                try:
                    result, rows = self._check(group, request, seq, prev_hash)
                except ConflictError as refusal:
                    if len(requests) == 1:
                        raise
                    request.error = refusal
                    continue
                request.result = result
                if rows:
                    group.versions[request.stream] = result[-1].version
                    if key is not None:
                        keys.add(key)
                    writes.append((result, rows))
                    last = result[-1]
                    seq, prev_hash = last.seq, last.hash
            self._write_rows(group, writes)
        except (ConflictError, _Redo):
            raise
        except Exception as error:
            if undoable:
                raise
            raise _Redo from error
        return last

    def _read_versions(self, group: _GroupSession, requests: Sequence[PendingAppend]) -> None:
        """Read the versions of the group's streams that are not known yet, in one statement.

        A new stream's version (each filing's) is otherwise read by `_check` one stream at a time, a
        statement each; at a burst of filings a group held ten such reads, and the driver gives the GIL
        up around every statement (the thread then waits for the event loop to give it back).
        """
        known = self._versions if group.known else {}
        unknown = list(
            dict.fromkeys(
                r.stream for r in requests if r.stream not in group.versions and r.stream not in known
            )
        )
        if len(unknown) < 2:
            return  # `_check` reads the one stream's version as before
        # A group holds at most MAX_GROUP appends: one statement, well within SQLite's 999 parameters.
        statement = self._sql.versions_of(len(unknown))
        found = dict(group.cursor.execute(statement, {f"s{i}": s for i, s in enumerate(unknown)}).all())
        for stream in unknown:
            group.versions[stream] = int(found.get(stream) or 0)

    def _check(
        self, group: _GroupSession, request: PendingAppend, seq: int, prev_hash: str
    ) -> tuple[tuple[StoredEvent, ...], list[dict[str, Any]]]:
        """Check an append after event `seq` (whose hash is `prev_hash`) and make its events and rows.

        Returns the events as recorded and the rows to write (none if the append repeats an earlier
        one's idempotency key: the events are that one's). The caller moves the group's version of
        the stream on once the rows are sure to be written.

        Raises:
            ConflictError: The stream is not at the expected version, or the key was used for another
                stream. Nothing is written.
        """
        cursor = group.cursor
        if request.idempotency_key is not None:
            earlier = self._replay_of(group.connection, request.stream, request.idempotency_key)
            if earlier is not None:
                return earlier, []
        current = group.versions.get(request.stream)
        if current is None and group.known:
            current = self._versions.get(request.stream)
        if current is None:
            current = int(cursor.execute(self._sql.stream_version, {"stream": request.stream}).one()[0])
        expected = request.expected_version
        if expected is not None and current != expected:
            raise ConflictError(
                f"stream {request.stream!r} is at version {current}, not the expected {expected}",
                current=current,
            )
        recorded_at = utc(self._recorded_clock())
        marking = request.marking
        stored: list[StoredEvent] = []
        rows: list[dict[str, Any]] = []
        for offset, (new, payload) in enumerate(zip(request.events, request.payloads, strict=True), start=1):
            fields: dict[str, Any] = {
                "seq": seq + offset,
                "stream": request.stream,
                "version": current + offset,
                "type": new.type,
                "actor": request.actor,
                "occurred_at": utc(new.occurred_at or self._clock()),
                "recorded_at": recorded_at,
                "idempotency_key": request.idempotency_key,
                "prev_hash": prev_hash,
            }
            digest = hash_of_texts(
                **fields,
                payload_text=payload.text,
                marking_text=marking.text if marking is not None else None,
                hash_format=CURRENT_FORMAT,
            )
            stored.append(
                StoredEvent(
                    **fields,
                    payload=payload.value,
                    marking=marking.value if marking is not None else None,
                    hash=digest,
                    hash_format=CURRENT_FORMAT,
                )
            )
            rows.append(
                fields
                | {
                    "payload": payload.text,
                    "marking": marking.text if marking is not None else None,
                    "hash": digest,
                    "hash_format": int(CURRENT_FORMAT),
                }
            )
            prev_hash = digest
        return tuple(stored), rows

    def _write_rows(
        self,
        group: _GroupSession,
        writes: Sequence[tuple[tuple[StoredEvent, ...], list[dict[str, Any]]]],
    ) -> None:
        """Write checked appends' rows, their idempotency keys and their events' projections, in order."""
        if not writes:
            return
        cursor = group.cursor
        cursor.insert(self._sql.insert_events, [row for _events, rows in writes for row in rows])
        for events, _rows in writes:
            first, last = events[0], events[-1]
            if first.idempotency_key is not None:
                cursor.execute(
                    self._sql.insert_key,
                    {
                        "key": first.idempotency_key,
                        "stream": first.stream,
                        "first_seq": first.seq,
                        "last_seq": last.seq,
                    },
                )
        if not group.current:
            return
        written = [event for events, _rows in writes for event in events]
        others = [p for p in group.current if p is not CATALOG]
        if len(others) < len(group.current):  # the store's own: on its cursor, not through a Session
            catalog.count_all(cursor, self._sql.catalog, written)
        if others:
            session = group.session()
            for event in written:
                for projection in others:
                    projection.apply(event, session)
            session.flush()

    def _replay_of(self, connection: Connection, stream: str, key: str) -> tuple[StoredEvent, ...] | None:
        row = connection.execute(_IDEMPOTENT, {"key": key}).first()
        if row is None:
            return None
        if row.stream != stream:
            raise ConflictError(
                f"idempotency key {key!r} was already used for stream {row.stream!r}, not {stream!r}",
                current=row.stream,
            )
        return _read_events(
            connection,
            select(schema.events)
            .where(schema.events.c.seq.between(row.first_seq, row.last_seq))
            .order_by(schema.events.c.seq),
        )

    # -- reading ------------------------------------------------------------------------------------

    def head(self) -> Head:
        """Return the chain head: the last sequence number and its hash.

        Raises:
            IntegrityError: The chain head row is missing or unreadable (`kizuna db verify` says how).
        """
        with self._read() as connection:
            row = connection.execute(_HEAD).first()
        if row is None or type(row.seq) is not int or not isinstance(row.hash, str):
            raise IntegrityError("the chain head row is missing or unreadable; `kizuna db verify` names it")
        return Head(seq=row.seq, hash=row.hash)

    def stream_version(self, stream: str) -> int:
        """Return the version a stream is at (0 if it has no events)."""
        with self._read() as connection:
            return int(
                connection.execute(
                    select(func.coalesce(func.max(schema.events.c.version), 0)).where(
                        schema.events.c.stream == stream
                    )
                ).scalar_one()
            )

    def read_stream(self, stream: str, *, after_version: int = 0) -> tuple[StoredEvent, ...]:
        """Return a stream's events after `after_version`, in order (empty for an unknown stream)."""
        with self._read() as connection:
            return _read_events(
                connection,
                select(schema.events)
                .where(schema.events.c.stream == stream, schema.events.c.version > after_version)
                .order_by(schema.events.c.version),
            )

    def read_all(self, after_seq: int = 0, *, limit: int | None = None) -> tuple[StoredEvent, ...]:
        """Return events of every stream after `after_seq`, in global order, at most `limit` of them."""
        query = select(schema.events).where(schema.events.c.seq > after_seq).order_by(schema.events.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as connection:
            return _read_events(connection, query)

    def iter_all(self, after_seq: int = 0, *, batch: int = BATCH) -> Iterator[StoredEvent]:
        """Yield every event after `after_seq` in global order, reading `batch` events at a time."""
        while True:
            chunk = self.read_all(after_seq, limit=batch)
            yield from chunk
            if len(chunk) < batch:
                return
            after_seq = chunk[-1].seq

    def scan(
        self,
        after_seq: int,
        types: Collection[str],
        *,
        prefixes: Sequence[str] = (),
        keyed: bool = False,
    ) -> tuple[tuple[StoredEvent, ...], int]:
        """Return the events after `after_seq` of the given `types`, and the seq the scan reached.

        Types starting with one of `prefixes` come too; with `keyed`, so do events written with an
        idempotency key, whatever their type. A reader that folds only some kinds of event (the
        coordinator and the intelligence desk, side by side in one log) reads just those, not every
        row and payload; the seq reached (the head, in the same snapshot) is where its next scan
        starts, so nothing appended meanwhile is skipped.
        """
        query = _scan_query(tuple(sorted(types)), tuple(prefixes), keyed)
        found: list[StoredEvent] = []
        with self._snapshot() as connection:
            head = connection.execute(_HEAD).first()
            reached = head.seq if head is not None and type(head.seq) is int else after_seq
            after = after_seq
            while True:
                chunk = _read_events(connection, query, {"after": after, "reached": reached})
                found.extend(chunk)
                if len(chunk) < BATCH:
                    return tuple(found), max(reached, after_seq)
                after = chunk[-1].seq

    def streams(self, prefix: str = "") -> dict[str, int]:
        """Return the streams whose names start with `prefix`, each with its current version.

        Reads the stream catalog when it is registered (as `open_store` does), else scans the log.
        """
        if CATALOG in self.projections:
            column, version = stream_catalog.c.stream, stream_catalog.c.version
            query = select(column, version).order_by(column)
        else:
            column = schema.events.c.stream
            query = select(column, func.max(schema.events.c.version)).group_by(column).order_by(column)
        if prefix:
            query = query.where(column.startswith(prefix, autoescape=True))
        with self._read() as connection:
            return {row[0]: int(row[1]) for row in connection.execute(query)}

    def count(self) -> int:
        """Return how many events the log holds."""
        with self._read() as connection:
            return int(connection.execute(select(func.count()).select_from(schema.events)).scalar_one())

    # -- subscriptions ------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(seq)` whenever the log grows (here or, on PostgreSQL, in another worker).

        Returns:
            A function that unsubscribes. See `kizuna.store.notify` for the threading rules.
        """
        return self.notifier.subscribe(listener)

    def wait_for(self, after_seq: int, timeout: float | None = None) -> int:
        """Block until the log passes `after_seq` or `timeout` seconds pass; return the newest seq known."""
        return self.notifier.wait(after_seq, timeout)

    # -- verification -------------------------------------------------------------------------------

    def verify(
        self, progress: Callable[[int, int], None] | None = None, *, expect_head: str | None = None
    ) -> VerifyReport:
        """Check the whole chain and report every altered, malformed, removed or reordered event.

        Reads one consistent snapshot (appends may go on meanwhile) with plain SQL, every column as
        stored, so no stored value makes it raise: each is a fault naming its row and field.

        Args:
            progress: Called as `progress(checked, total)` as rows are read (for a progress bar).
            expect_head: A head hash recorded elsewhere earlier; a fault unless some event has it.
        """
        return self.verification(progress, expect_head=expect_head).finish()

    def verification(
        self, progress: Callable[[int, int], None] | None = None, *, expect_head: str | None = None
    ) -> Verification:
        """Return a pass that checks the chain while yielding every event it can read, in order.

        The service builds its view from such a pass, so the view comes from exactly the rows checked;
        `verify()` is the same pass with the events dropped.
        """
        return Verification(
            self.engine,
            self._snapshot,
            postgresql=self._postgresql,
            progress=progress,
            expect_head=expect_head,
        )

    def hash_formats(self) -> dict[int, int]:
        """Return how many events are hashed in each format (`HashFormat`)."""
        column = schema.events.c.hash_format
        with self._read() as connection:
            rows = connection.execute(select(column, func.count()).group_by(column))
            return {int(row[0]): int(row[1]) for row in rows}

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """Open a read transaction that sees one snapshot throughout (WAL on SQLite; REPEATABLE READ)."""
        connection = self.engine.connect()
        if self._postgresql:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection, connection.begin():
            yield connection

    # -- projections --------------------------------------------------------------------------------

    def projection_status(self) -> dict[str, tuple[int, int]]:
        """Return each recorded projection's (version, last applied seq)."""
        with self._read() as connection:
            rows = connection.execute(select(schema.projection_state))
            return {row.name: (row.version, row.last_seq) for row in rows}

    def rebuild(
        self, names: Sequence[str] | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Drop and recreate projections from the whole log, in one transaction; return events replayed.

        Args:
            names: The projections to rebuild; all registered ones by default.
            progress: Called as `progress(replayed, total)` after each batch.

        Raises:
            UnknownId: A name is not a registered projection.
        """
        from kizuna.errors import UnknownId

        known = {p.name: p for p in self.projections}
        for name in names or ():
            if name not in known:
                raise UnknownId("projection", name, known)
        chosen = [known[n] for n in names] if names is not None else list(self.projections)
        with self._write() as connection:
            connection.execute(select(schema.chain_head.c.seq).with_for_update()).one()
            return self._replay(connection, chosen, reset=True, progress=progress)

    def check_projections(self) -> dict[str, bool]:
        """Tell, for each projection with tables, whether its rows are what replaying the log gives.

        Replays the log into the projection tables inside a transaction that is then rolled back, and
        compares every row before and after, so nothing changes. In-memory projections (with a `reset`)
        are left out: their state is not in the database.
        """
        checked = [p for p in self.projections if p.tables and p.reset is None]
        connection = self._write_connection()
        with connection:
            transaction = connection.begin()
            try:
                connection.execute(_HEAD_FOR_UPDATE).one()
                before = {p.name: _table_rows(connection, p.tables) for p in checked}
                self._replay(connection, checked, reset=True)
                return {p.name: _table_rows(connection, p.tables) == before[p.name] for p in checked}
            finally:
                transaction.rollback()

    def prepare_projections(self) -> None:
        """Rebuild projections whose version changed or whose tables are missing; catch up the rest.

        Raises:
            IntegrityError: A row of the log cannot be read (run `kizuna db verify`).
        """
        if not self.projections:
            return
        with self._write() as connection:
            connection.execute(select(schema.chain_head.c.seq).with_for_update()).one()
            state = {r.name: r for r in connection.execute(select(schema.projection_state))}
            stale, behind = [], []
            for projection in self.projections:
                row = state.get(projection.name)
                missing = any(not connection.dialect.has_table(connection, t.name) for t in projection.tables)
                if row is None or row.version != projection.version or missing:
                    stale.append(projection)
                else:
                    behind.append(projection)
            if stale:
                self._replay(connection, stale, reset=True)
            if behind:
                self._replay(connection, behind, reset=False)

    def _replay(
        self,
        connection: Connection,
        projections: Sequence[Projection],
        *,
        reset: bool,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Apply the log to projections inside the caller's write transaction; return events replayed."""
        state = {r.name: r.last_seq for r in connection.execute(select(schema.projection_state))}
        with _joined_session(connection) as session:
            for projection in projections:
                if reset:
                    tables = list(projection.tables)
                    for table in reversed(tables):
                        table.drop(connection, checkfirst=True)
                    for table in tables:
                        table.create(connection)
                    if projection.reset is not None:
                        projection.reset(session)
                    state[projection.name] = 0
            start = min((state.get(p.name, 0) for p in projections), default=0)
            total = int(
                connection.execute(
                    select(func.count()).select_from(schema.events).where(schema.events.c.seq > start)
                ).scalar_one()
            )
            replayed, after, last_seq = 0, start, start
            while True:
                rows = _read_events(
                    connection,
                    select(schema.events)
                    .where(schema.events.c.seq > after)
                    .order_by(schema.events.c.seq)
                    .limit(BATCH),
                )
                for event in rows:
                    for projection in projections:
                        if event.seq > state.get(projection.name, 0):
                            projection.apply(event, session)
                    last_seq = event.seq
                session.flush()
                replayed += len(rows)
                if progress is not None:
                    progress(replayed, total)
                if len(rows) < BATCH:
                    break
                after = rows[-1].seq
            session.flush()
        head_seq = max([last_seq, *(state.get(p.name, 0) for p in projections)])
        for projection in projections:
            self._save_state(connection, projection, head_seq)
        return replayed

    def _group_projections(self, connection: Connection, cursor: Cursor, start: int) -> _GroupSession:
        """Sort the projections into current (checkpoint at `start`) and lagging, for one group.

        When this store's last commit left every checkpoint at `start` (nothing was appended since, by
        anyone: the head is still there), that is known without a read; otherwise the checkpoints are
        read once for the group. Either way `_advance_projections` checks it in the same transaction.
        """
        if self._checkpoint == start:
            return _GroupSession(connection, cursor, start, list(self.projections), [], known=True)
        state = {r.name: r for r in connection.execute(select(schema.projection_state))}
        current: list[Projection] = []
        lagging: list[Projection] = []
        for projection in self.projections:
            row = state.get(projection.name)
            at_start = row is not None and row.version == projection.version and row.last_seq == start
            (current if at_start else lagging).append(projection)
        return _GroupSession(connection, cursor, start, current, lagging, known=False)

    def _advance_projections(self, group: _GroupSession, after: int) -> None:
        """Move the current projections' checkpoints to `after`; replay the lagging ones from the log.

        One checkpoint write per projection per group, not per append.

        Raises:
            _StaleCheckpoint: A current projection's checkpoint was not at the group's start after all.
        """
        for projection in group.current:
            advanced = group.cursor.execute(
                self._sql.advance_projection,
                {
                    "p_name": projection.name,
                    "p_version": projection.version,
                    "p_before": group.start,
                    "p_after": after,
                },
            )
            if advanced.rowcount != 1:
                raise _StaleCheckpoint
        if group.lagging:
            # Behind the log (or unknown to the checkpoint table): replay from its checkpoint; the new
            # rows are already inserted, so the replay applies them too.
            connection = group.connection
            state = {r.name: r for r in connection.execute(select(schema.projection_state))}
            reset = any(p.name not in state or state[p.name].version != p.version for p in group.lagging)
            self._replay(connection, group.lagging, reset=reset)

    @staticmethod
    def _save_state(connection: Connection, projection: Projection, last_seq: int) -> None:
        updated = connection.execute(
            update(schema.projection_state)
            .where(schema.projection_state.c.name == projection.name)
            .values(version=projection.version, last_seq=last_seq)
        )
        if updated.rowcount == 0:
            connection.execute(
                insert(schema.projection_state).values(
                    name=projection.name, version=projection.version, last_seq=last_seq
                )
            )


def _table_rows(connection: Connection, tables: Sequence[Table]) -> list[list[tuple[Any, ...]]]:
    """Return every row of each table, ordered by primary key (or all columns)."""
    rows = []
    for table in tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows.append([tuple(row) for row in connection.execute(select(table).order_by(*order))])
    return rows


def open_store(
    url: str | None = None,
    *,
    projections: Sequence[Projection] = (),
    clock: Clock = system_clock,
    recorded_clock: Clock = system_clock,
    migrate: bool = True,
    listen: bool = True,
    sqlite_synchronous: str | None = None,
    create: bool = True,
    prepare: bool = True,
) -> EventStore:
    """Open (and migrate) the event store at `url`.

    Args:
        url: A SQLAlchemy URL (`sqlite:///PATH`, `postgresql+psycopg://USER@HOST/DB`); by default the
            settings' URL (`KIZUNA_DATABASE_URL`, else a SQLite file in the user's data directory).
        projections: Projections kept current by every append (`kizuna.store.projections`), after the
            store's own stream catalog (`kizuna.store.catalog`).
        clock: Gives `occurred_at` when an event does not carry it.
        recorded_clock: Gives `recorded_at`.
        migrate: Run the Alembic migrations first (on by default; the schema must be current).
        listen: On PostgreSQL, listen for other workers' appends (`subscribe`, `wait_for`).
        sqlite_synchronous: SQLite `PRAGMA synchronous` (`FULL` or `NORMAL`); by default the settings'.
        create: Create a missing SQLite file (off for commands that inspect an existing store).
        prepare: Bring projections up to date at open (off to verify the log before anything is
            built from it; then call `prepare_projections()`).

    Raises:
        InvalidQuery: The URL is not a SQLite file or PostgreSQL URL.
        NotFound: `create` is false and the SQLite file does not exist.
    """
    registered = check_projections((CATALOG, *projections))
    if url is None or sqlite_synchronous is None:
        from kizuna.settings import get_settings

        settings = get_settings()
        url = url or settings.resolved_database_url()
        sqlite_synchronous = sqlite_synchronous or settings.sqlite_synchronous
    engine = make_engine(parse_url(url), sqlite_synchronous=sqlite_synchronous, create=create)
    if migrate:
        upgrade(engine)
    try:
        return EventStore(
            engine,
            projections=registered,
            clock=clock,
            recorded_clock=recorded_clock,
            listen=listen,
            prepare=prepare,
        )
    except BaseException:
        engine.dispose()
        raise
