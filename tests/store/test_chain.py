"""The hash chain: `verify()` finds an altered, removed or reordered event and says at which seq.

Each test tampers with the database directly in SQL, as an attacker with database access would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from kizuna.store import ChainFault, EventStore, NewEvent, event_hash, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    with open_store(store_url) as opened:
        for i in range(1, 7):
            opened.append(f"request:r{i % 2}", [NewEvent("step.acted", {"i": i})], actor=f"user-{i}")
        yield opened


def _sql(store: EventStore, statement: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(statement), params)


def _faults(store: EventStore) -> list[tuple[int, ChainFault]]:
    return [(p.seq, p.fault) for p in store.verify().problems]


def test_an_untouched_chain_verifies(store: EventStore) -> None:
    report = store.verify()
    assert report.ok
    assert report.checked == 6
    assert report.first_bad_seq is None
    assert report.head == store.head()


def test_an_altered_payload_is_found_at_its_seq(store: EventStore) -> None:
    _sql(store, "UPDATE events SET payload = :p WHERE seq = 3", p='{"i":999}')
    assert _faults(store) == [(3, ChainFault.ALTERED)]
    assert store.verify().first_bad_seq == 3


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "someone-else"), ("marking", '{"level":"unclassified"}'), ("type", "step.denied")],
)
def test_any_altered_field_is_found(store: EventStore, column: str, value: str) -> None:
    _sql(store, f"UPDATE events SET {column} = :v WHERE seq = 4", v=value)
    assert _faults(store) == [(4, ChainFault.ALTERED)]


def test_an_altered_time_is_found(store: EventStore) -> None:
    _sql(store, "UPDATE events SET occurred_at = :t WHERE seq = 2", t=datetime(2020, 1, 1, tzinfo=UTC))
    assert _faults(store) == [(2, ChainFault.ALTERED)]


def test_a_payload_that_is_no_longer_json_is_reported_not_raised(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.append("request:r1", [NewEvent("a"), NewEvent("b")])
        _sql(store, "UPDATE events SET payload = 'not json' WHERE seq = 2")
        assert _faults(store) == [(2, ChainFault.MALFORMED)]
        assert "not JSON" in store.verify().problems[0].message
        assert store.verify().problems[0].field == "payload"


def test_verify_sees_one_snapshot_while_appends_go_on(store: EventStore) -> None:
    stop = threading.Event()

    def keep_appending() -> None:
        while not stop.is_set():
            store.append("crisis:busy", [NewEvent("note")])

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        reports = [store.verify() for _ in range(5)]
    finally:
        stop.set()
        writer.join(30)
    assert all(report.ok for report in reports), [str(p) for r in reports for p in r.problems]
    assert reports[-1].checked >= 6


def test_a_removed_event_is_found_where_the_gap_is(store: EventStore) -> None:
    _sql(store, "DELETE FROM events WHERE seq = 3")
    faults = _faults(store)
    assert (4, ChainFault.GAP) in faults
    assert (4, ChainFault.BROKEN_LINK) in faults
    assert store.verify().first_bad_seq == 4


def test_a_removed_last_event_is_found_by_the_chain_head(store: EventStore) -> None:
    _sql(store, "DELETE FROM events WHERE seq = 6")
    assert _faults(store) == [(6, ChainFault.HEAD)]


def test_a_removed_event_renumbered_to_hide_the_gap_is_found(store: EventStore) -> None:
    _sql(store, "DELETE FROM events WHERE seq = 3")
    for seq in (4, 5, 6):
        _sql(store, "UPDATE events SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    faults = _faults(store)
    assert faults[0] == (3, ChainFault.ALTERED)
    assert (3, ChainFault.BROKEN_LINK) in faults


def test_a_swapped_pair_is_found(store: EventStore) -> None:
    _sql(store, "UPDATE events SET seq = -1 WHERE seq = 2")
    _sql(store, "UPDATE events SET seq = 2 WHERE seq = 3")
    _sql(store, "UPDATE events SET seq = 3 WHERE seq = -1")
    faults = _faults(store)
    assert faults[0][0] == 2
    assert {fault for seq, fault in faults if seq in {2, 3}} >= {ChainFault.ALTERED, ChainFault.BROKEN_LINK}


def test_an_event_moved_to_another_stream_is_found(store: EventStore) -> None:
    """Moving an event to another stream changes its hash and breaks both streams' version order."""
    _sql(store, "UPDATE events SET stream = 'request:r0', version = 9 WHERE seq = 1")
    faults = _faults(store)
    assert (1, ChainFault.ALTERED) in faults
    assert any(fault is ChainFault.STREAM_VERSION for _, fault in faults)


_FIELD_STRATEGIES = {
    "seq": st.integers(1, 10**9),
    "stream": st.text(min_size=1, max_size=20),
    "version": st.integers(1, 10**6),
    "type": st.text(min_size=1, max_size=20),
    "payload": st.dictionaries(
        st.text(max_size=5), st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=5), max_size=3
    ),
    "actor": st.none() | st.text(max_size=10),
    "marking": st.none() | st.dictionaries(st.text(max_size=5), st.booleans(), max_size=2),
    "occurred_at": st.datetimes(timezones=st.just(UTC)),
    "recorded_at": st.datetimes(timezones=st.just(UTC)),
    "idempotency_key": st.none() | st.text(max_size=10),
    "prev_hash": st.text("0123456789abcdef", min_size=64, max_size=64),
}
_fields = st.fixed_dictionaries(_FIELD_STRATEGIES)


@settings(suppress_health_check=[HealthCheck.too_slow])  # eleven fields per draw: slow on a busy machine
@given(_fields, _fields, st.sampled_from(sorted(_FIELD_STRATEGIES)))
def test_the_hash_changes_when_any_field_changes(
    fields: dict[str, object], other: dict[str, object], key: str
) -> None:
    changed = {**fields, key: other[key]}
    same = fields[key] == other[key]
    assert (event_hash(**changed) == event_hash(**fields)) == same  # type: ignore[arg-type]
