"""Projections: kept current by appends, rebuilt identically from the log, caught up when behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kizuna.errors import ConflictError, InvalidQuery, UnknownId
from kizuna.store import EventStore, NewEvent, Projection, StoredEvent, open_store

metadata = MetaData()
#: A small projection of request-like streams: status and how many actions each had.
request_board = Table(
    "test_request_board",
    metadata,
    Column("request", String(200), primary_key=True),
    Column("status", String(40), nullable=False),
    Column("actions", Integer, nullable=False),
    Column("last_actor", String(120), nullable=True),
)


def apply_board(event: StoredEvent, session: Session) -> None:
    if not event.stream.startswith("request:"):
        return
    if event.type == "request.filed":
        session.execute(
            request_board.insert().values(
                request=event.stream, status="filed", actions=0, last_actor=event.actor
            )
        )
        return
    row = session.execute(select(request_board).where(request_board.c.request == event.stream)).one()
    session.execute(
        update(request_board)
        .where(request_board.c.request == event.stream)
        .values(
            status=event.payload.get("status", row.status), actions=row.actions + 1, last_actor=event.actor
        )
    )


BOARD = Projection(name="request-board", apply=apply_board, tables=(request_board,))


def _fill(store: EventStore) -> None:
    for r in range(5):
        store.append(f"request:r{r}", [NewEvent("request.filed", {"title": f"R{r}"})], actor="filer")
    for step in range(12):
        status = ["coordinated", "approved", "executed"][step % 3]
        store.append(f"request:r{step % 5}", [NewEvent("step.acted", {"status": status})], actor=f"u{step}")
    store.append("crisis:c1", [NewEvent("crisis.opened")])


def _rows(store: EventStore, table: Table) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(select(table).order_by(*table.primary_key.columns))]


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    with open_store(store_url, projections=[BOARD]) as opened:
        _fill(opened)
        yield opened


def test_appends_keep_the_projection_current(store: EventStore) -> None:
    rows = {r[0]: r for r in _rows(store, request_board)}
    assert set(rows) == {f"request:r{r}" for r in range(5)}
    assert rows["request:r0"][2] == 3  # steps 0, 5 and 10
    assert store.projection_status()["request-board"] == (1, store.head().seq)


def test_rebuild_gives_identical_rows(store: EventStore) -> None:
    from kizuna.store.catalog import stream_catalog

    before = (_rows(store, request_board), _rows(store, stream_catalog))
    replayed = store.rebuild()
    assert replayed == store.head().seq
    assert (_rows(store, request_board), _rows(store, stream_catalog)) == before


def test_rebuild_repairs_damaged_projection_rows(store: EventStore) -> None:
    before = _rows(store, request_board)
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM test_request_board WHERE request = 'request:r1'"))
        connection.execute(text("UPDATE test_request_board SET status = 'bogus'"))
    store.rebuild(["request-board"])
    assert _rows(store, request_board) == before


def test_check_projections_finds_damaged_rows_and_changes_nothing(store: EventStore) -> None:
    assert store.check_projections() == {"stream-catalog": True, "request-board": True}
    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE test_request_board SET status = 'bogus' WHERE request = 'request:r2'")
        )
    damaged = _rows(store, request_board)
    assert store.check_projections() == {"stream-catalog": True, "request-board": False}
    assert _rows(store, request_board) == damaged  # the replay was rolled back
    store.rebuild(["request-board"])
    assert store.check_projections()["request-board"]


def test_rebuild_of_an_unknown_projection_names_the_known_ones(store: EventStore) -> None:
    with pytest.raises(UnknownId, match="unknown projection 'nope'; known: request-board, stream-catalog"):
        store.rebuild(["nope"])


def test_a_projection_behind_the_log_catches_up_at_open(store_url: str) -> None:
    with open_store(store_url, projections=[BOARD]) as first:
        _fill(first)
        expected = _rows(first, request_board)
    with open_store(store_url) as without:  # a process that does not know the projection
        without.append("request:r0", [NewEvent("step.acted", {"status": "denied"})], actor="late")
    with open_store(store_url, projections=[BOARD]) as again:
        rows = {r[0]: r for r in _rows(again, request_board)}
        assert rows["request:r0"][1:] == ("denied", expected[0][2] + 1, "late")
        assert again.projection_status()["request-board"][1] == again.head().seq


def test_a_new_projection_version_is_rebuilt_at_open(store: EventStore, store_url: str) -> None:
    before = _rows(store, request_board)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE test_request_board SET actions = 0"))
    bumped = Projection(name="request-board", apply=apply_board, tables=(request_board,), version=2)
    with open_store(store_url, projections=[bumped]) as reopened:
        assert _rows(reopened, request_board) == before
        assert reopened.projection_status()["request-board"] == (2, reopened.head().seq)


def test_a_failing_projection_aborts_the_append(store: EventStore) -> None:
    head = store.head()
    with pytest.raises(Exception, match="No row was found"):
        # step.acted on a request that was never filed: the handler's .one() fails.
        store.append("request:ghost", [NewEvent("step.acted")])
    assert store.head() == head
    assert store.read_stream("request:ghost") == ()
    assert store.verify().ok


def test_in_memory_projections_are_reset_and_replayed(store_url: str) -> None:
    seen: list[int] = []

    def remember(event: StoredEvent, _session: Session) -> None:
        seen.append(event.seq)

    memory = Projection(name="memory", apply=remember, reset=lambda _session: seen.clear())
    with open_store(store_url, projections=[memory]) as store:
        _fill(store)
        assert seen == list(range(1, store.head().seq + 1))
        store.rebuild(["memory"])
        assert seen == list(range(1, store.head().seq + 1))


def test_projections_may_not_share_names_or_tables(sqlite_url: str) -> None:
    with pytest.raises(InvalidQuery, match="two projections are named 'request-board'"):
        open_store(sqlite_url, projections=[BOARD, BOARD])
    other = Projection(name="other", apply=apply_board, tables=(request_board,))
    with pytest.raises(InvalidQuery, match="belongs to two projections"):
        open_store(sqlite_url, projections=[BOARD, other])


def test_a_store_keeps_its_projections_current_while_another_appends_without_them(store_url: str) -> None:
    """The open store knows where it left the checkpoints, until another process moves the head."""
    with open_store(store_url, projections=[BOARD]) as serving:
        _fill(serving)
        with open_store(store_url) as without:  # another process, without the projection, meanwhile
            without.append("request:r1", [NewEvent("step.acted", {"status": "denied"})], actor="other")
        serving.append("request:r1", [NewEvent("step.acted", {"status": "approved"})], actor="later")
        rows = {r[0]: r for r in _rows(serving, request_board)}
        assert rows["request:r1"][1:] == ("approved", 5, "later")  # 3 in _fill, the other's, this one
        assert serving.projection_status()["request-board"] == (1, serving.head().seq)
        assert serving.check_projections() == {"stream-catalog": True, "request-board": True}


def test_a_checkpoint_moved_by_another_process_is_read_again(store: EventStore, store_url: str) -> None:
    """Another process rebuilt the projection (at its own version) without appending: the head did not
    move, so the store's notion of its checkpoints is wrong; the append finds out and reads them."""
    bumped = Projection(name="request-board", apply=apply_board, tables=(request_board,), version=2)
    with open_store(store_url, projections=[bumped]) as other:
        assert other.projection_status()["request-board"] == (2, store.head().seq)
    store.append("request:r2", [NewEvent("step.acted", {"status": "executed"})], actor="after")
    assert store.projection_status()["request-board"] == (1, store.head().seq)
    assert store.check_projections() == {"stream-catalog": True, "request-board": True}
    assert {r[0]: r for r in _rows(store, request_board)}["request:r2"][1:] == ("executed", 3, "after")


def test_after_a_database_error_in_a_group_the_next_append_gets_a_new_connection(store_url: str) -> None:
    """The group leader keeps its connection between groups; a database error closes it, a refusal not."""

    def fails_on_poison(event: StoredEvent, session: Session) -> None:
        if event.type == "poison":
            session.execute(text("SELECT * FROM no_such_table"))

    with open_store(store_url, projections=[Projection(name="poisoned", apply=fails_on_poison)]) as store:
        store.append("request:r1", [NewEvent("a")])
        kept = store._writer
        assert kept is not None
        with pytest.raises(ConflictError):
            store.append("request:r1", [NewEvent("b")], expected_version=0)
        assert store._writer is kept  # a refusal rolled back and left the connection as it was
        with pytest.raises(DBAPIError, match="no_such_table"):
            store.append("request:r1", [NewEvent("poison")])
        assert kept.closed
        assert [e.type for e in store.append("request:r1", [NewEvent("c")], expected_version=1)] == ["c"]
        assert store._writer is not None
        assert store._writer is not kept
        assert [e.type for e in store.read_stream("request:r1")] == ["a", "c"]
        assert store.verify().ok
