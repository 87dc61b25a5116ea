"""A group's rows written together are the rows its appends write one by one.

A group commit checks and hashes its appends in order, then writes all their events in one multi-row
INSERT (in chunks past SQLite's parameter limit) and counts them in the stream catalog with one upsert.
Hypothesis draws runs of appends (new and existing streams, stale versions, idempotency keys reused on
the same or another stream, appends of many events) and submits each run as one group to one store
and append by append to another, with the same clocks: every table must come out the same, and each
append must be answered the same (its events, or the same refusal).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kizuna.errors import ConflictError
from kizuna.store import EventStore, NewEvent, open_store
from kizuna.store.catalog import stream_catalog
from kizuna.store.eventstore import PendingAppend
from kizuna.store.schema import chain_head, events, idempotency_keys

T0 = datetime(2025, 1, 1, tzinfo=UTC)

Append = tuple[str, int, int | None, str | None]  # stream, events, expected version, key

appends = st.lists(
    st.tuples(
        st.sampled_from(["request:a", "request:b", "crisis:c", "intel:d"]),
        st.integers(1, 3) | st.just(90),  # 90 events: past one statement's parameter limit
        st.none() | st.integers(0, 4),
        st.none() | st.sampled_from(["k1", "k2", "k3"]),
    ),
    min_size=1,
    max_size=12,
)


@contextmanager
def _store() -> Iterator[EventStore]:
    def clock() -> datetime:  # one moment: a group redone with savepoints reads the clock again
        return T0

    with (
        tempfile.TemporaryDirectory() as folder,
        open_store(
            f"sqlite:///{Path(folder) / 'log.db'}",
            clock=clock,
            recorded_clock=clock,
            listen=False,
            sqlite_synchronous="NORMAL",
        ) as store,
    ):
        store.append("request:a", [NewEvent("request.filed", {"n": 0})])  # an existing stream
        yield store


def _events(append: Append, number: int) -> list[NewEvent]:
    stream, count, _expected, _key = append
    return [NewEvent(f"e{i % 3}", {"append": number, "i": i, "on": stream}) for i in range(count)]


def _outcome(result: tuple[Any, ...] | BaseException | None) -> object:
    if isinstance(result, ConflictError):
        return ("refused", str(result))
    if isinstance(result, BaseException):
        return ("failed", type(result).__name__)
    return tuple((e.seq, e.stream, e.version, e.hash) for e in result or ())


def _tables(store: EventStore) -> list[list[tuple[Any, ...]]]:
    with store.engine.connect() as connection:
        return [
            [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in (events, stream_catalog, idempotency_keys, chain_head)
        ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(appends)
def test_a_group_writes_what_its_appends_write_one_by_one(run: list[Append]) -> None:
    with _store() as grouped, _store() as single:
        pending: list[PendingAppend] = []
        for number, append in enumerate(run):
            stream, _count, expected, key = append
            pending.append(
                grouped.prepare(
                    stream, _events(append, number), expected_version=expected, idempotency_key=key
                )
            )
        grouped.submit(pending)
        one_by_one: list[object] = []
        for number, append in enumerate(run):
            stream, _count, expected, key = append
            try:
                stored = single.append(
                    stream, _events(append, number), expected_version=expected, idempotency_key=key
                )
            except ConflictError as refusal:
                one_by_one.append(_outcome(refusal))
            else:
                one_by_one.append(_outcome(stored))

        assert [_outcome(p.error or p.result) for p in pending] == one_by_one
        assert _tables(grouped) == _tables(single)
        assert grouped.verify().ok


def test_a_group_reads_the_versions_of_streams_it_does_not_know_in_one_statement() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'log.db'}"
        with open_store(url, listen=False, sqlite_synchronous="NORMAL") as first:
            first.append("request:a", [NewEvent("e", {"n": 1}), NewEvent("e", {"n": 2})])
            first.append("request:b", [NewEvent("e", {"n": 1})])
        # Another store on the file: it remembers no stream's version, so each must be read.
        with open_store(url, listen=False, sqlite_synchronous="NORMAL") as store:
            sent: list[str] = []
            store._writer = writer = store._write_connection()  # the group's connection, traced
            writer.connection.driver_connection.set_trace_callback(sent.append)  # type: ignore[union-attr]
            pending = [
                store.prepare("request:a", [NewEvent("e", {"n": 3})], expected_version=2),
                store.prepare("request:b", [NewEvent("e", {"n": 2})], expected_version=0),  # stale
                store.prepare("request:c", [NewEvent("e", {"n": 1})], expected_version=0),
                store.prepare("request:d", [NewEvent("e", {"n": 1})]),
            ]
            store.submit(pending)
            assert [p.result[-1].version if p.result else None for p in pending] == [3, None, 1, 1]
            assert isinstance(pending[1].error, ConflictError)
            assert "at version 1, not the expected 0" in str(pending[1].error)
            reads = [sql for sql in sent if "max(events.version)" in sql]
            assert len(reads) == 1, reads
            assert store.verify().ok
