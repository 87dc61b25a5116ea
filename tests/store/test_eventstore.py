"""Appending and reading events: versions, optimistic concurrency, idempotency keys, clocks, input checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kizuna.errors import ConflictError, InvalidQuery
from kizuna.store import EventStore, NewEvent, open_store

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[EventStore]:
    with open_store(store_url, clock=clock, recorded_clock=clock) as opened:
        yield opened


def test_a_new_store_is_empty(store: EventStore) -> None:
    assert store.head().seq == 0
    assert store.read_all() == ()
    assert store.read_stream("request:r1") == ()
    assert store.stream_version("request:r1") == 0
    assert store.verify().ok


def test_appended_events_read_back_exactly(store: EventStore) -> None:
    payload = {"title": "燃料補給 refuel", "amount": 1.5, "nested": {"list": [1, None, True]}}
    marking = {"level": "secret", "rel_to": ["JPN", "USA"], "noforn": False, "owner": "USA", "exercise": True}
    written = store.append(
        "request:r1",
        [NewEvent("request.filed", payload), NewEvent("request.commented", {"text": "urgent"})],
        expected_version=0,
        actor="smith",
        marking=marking,
    )
    assert [(e.seq, e.version) for e in written] == [(1, 1), (2, 2)]
    assert store.read_stream("request:r1") == written
    assert store.read_all() == written
    first = store.read_stream("request:r1")[0]
    assert first.payload == payload
    assert first.marking == marking
    assert first.actor == "smith"
    assert first.occurred_at == T0
    assert first.recorded_at == T0
    assert written[1].prev_hash == written[0].hash


def test_streams_keep_their_own_versions_and_the_log_its_global_order(store: EventStore) -> None:
    store.append("crisis:c1", [NewEvent("crisis.opened")])
    store.append("request:r1", [NewEvent("request.filed")])
    store.append("crisis:c1", [NewEvent("crisis.designated")])
    assert [(e.stream, e.version) for e in store.read_all()] == [
        ("crisis:c1", 1),
        ("request:r1", 1),
        ("crisis:c1", 2),
    ]
    assert store.streams() == {"crisis:c1": 2, "request:r1": 1}
    assert store.streams("crisis:") == {"crisis:c1": 2}
    assert [e.seq for e in store.read_all(after_seq=1)] == [2, 3]
    assert [e.seq for e in store.read_all(limit=2)] == [1, 2]
    assert [e.version for e in store.read_stream("crisis:c1", after_version=1)] == [2]
    assert [e.seq for e in store.iter_all(batch=2)] == [1, 2, 3]


def test_occurred_at_comes_from_the_injected_clock_unless_the_event_carries_it(
    store: EventStore, clock: FakeClock
) -> None:
    clock.advance(90)
    earlier = T0 - timedelta(hours=3)
    first, second = store.append("crisis:c1", [NewEvent("a"), NewEvent("b", occurred_at=earlier)])
    assert first.occurred_at == T0 + timedelta(seconds=90)
    assert second.occurred_at == earlier
    assert store.read_stream("crisis:c1")[1].occurred_at == earlier


def test_a_stale_expected_version_is_a_conflict_naming_the_current_version(store: EventStore) -> None:
    store.append("request:r1", [NewEvent("request.filed")], expected_version=0)
    store.append("request:r1", [NewEvent("step.approved")], expected_version=1)
    with pytest.raises(ConflictError, match="at version 2, not the expected 1") as raised:
        store.append("request:r1", [NewEvent("step.denied")], expected_version=1)
    assert raised.value.current == 2
    assert store.stream_version("request:r1") == 2
    assert store.head().seq == 2


def test_two_racing_writers_on_one_stream_exactly_one_wins(store: EventStore) -> None:
    store.append("request:r1", [NewEvent("request.filed")], expected_version=0)
    barrier = threading.Barrier(4)
    outcomes: list[object] = []
    lock = threading.Lock()

    def act(who: str) -> None:
        version = store.stream_version("request:r1")
        barrier.wait()
        try:
            result: object = store.append(
                "request:r1", [NewEvent("step.approved", {"by": who})], expected_version=version
            )
        except ConflictError as error:
            result = error
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=act, args=(f"user-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conflicts = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(outcomes) == 4
    assert len(conflicts) == 3
    assert {c.current for c in conflicts} == {2}
    assert store.stream_version("request:r1") == 2
    assert store.verify().ok


def test_a_repeated_idempotency_key_returns_the_original_events_without_recording_again(
    store: EventStore,
) -> None:
    first = store.append("request:r1", [NewEvent("request.filed", {"n": 1})], idempotency_key="file-r1")
    store.append("request:r1", [NewEvent("step.approved")])
    again = store.append(
        "request:r1", [NewEvent("request.filed", {"n": 1})], expected_version=0, idempotency_key="file-r1"
    )
    assert again == first
    assert store.head().seq == 2
    assert first[0].idempotency_key == "file-r1"


def test_concurrent_retries_with_one_idempotency_key_record_once(store: EventStore) -> None:
    barrier = threading.Barrier(4)
    results: list[tuple[int, ...]] = []

    def submit() -> None:
        barrier.wait()
        events = store.append("request:r9", [NewEvent("request.filed")], idempotency_key="same-key")
        results.append(tuple(e.seq for e in events))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) == {(1,)}
    assert store.head().seq == 1


def test_an_idempotency_key_reused_for_another_stream_is_a_conflict(store: EventStore) -> None:
    store.append("request:r1", [NewEvent("request.filed")], idempotency_key="k")
    with pytest.raises(ConflictError, match="already used for stream 'request:r1'"):
        store.append("request:r2", [NewEvent("request.filed")], idempotency_key="k")


@pytest.mark.parametrize(
    ("stream", "events", "message"),
    [
        ("request:r1", [], "at least one event"),
        ("", [NewEvent("a")], "stream must be"),
        ("request:r1", [NewEvent("a", {"when": datetime(2025, 1, 1, tzinfo=UTC)})], r"\$\.when: a datetime"),
        ("request:r1", [NewEvent("a", {"x": float("nan")})], r"\$\.x: nan is not a JSON number"),
        ("request:r1", [NewEvent("a", {"x": [1, float("inf")]})], r"\$\.x\[1\]: inf is not a JSON number"),
        ("request:r1", [NewEvent("a", {"n": 2**53})], r"\$\.n: the integer 9007199254740992 is beyond"),
        ("request:r1", [NewEvent("a", {1: "one"})], r"the key 1 is not a string"),
        ("request:r1", [NewEvent("a", {"s": "\ud800"})], "lone surrogate"),
        ("request:r1", [NewEvent("a", {"s": {"a", "b"}})], r"\$\.s: a set is not a JSON value"),
        ("request:\udc00", [NewEvent("a")], "stream .* is not Unicode"),
        ("request:r1", [NewEvent("")], "event type must be"),
        ("request:r1", [NewEvent("x" * 121)], "event type must be 1 to 120 characters"),
        ("x" * 201, [NewEvent("a")], "stream must be 1 to 200 characters"),
    ],
)
def test_bad_appends_are_refused_before_anything_is_written(
    store: EventStore, stream: str, events: list[NewEvent], message: str
) -> None:
    with pytest.raises(InvalidQuery, match=message):
        store.append(stream, events)
    assert store.head().seq == 0


def test_a_failed_append_leaves_no_trace(store: EventStore) -> None:
    store.append("request:r1", [NewEvent("a")])
    with pytest.raises(ConflictError):
        store.append("request:r1", [NewEvent("b"), NewEvent("c")], expected_version=0, idempotency_key="x")
    assert store.head().seq == 1
    # The key was not consumed by the failed append.
    assert store.append("request:r1", [NewEvent("b")], expected_version=1, idempotency_key="x")[0].seq == 2


def test_events_survive_closing_and_reopening(store_url: str) -> None:
    with open_store(store_url) as first:
        written = first.append("crisis:c1", [NewEvent("crisis.opened", {"name": "test"})])
    with open_store(store_url) as second:
        assert second.read_all() == written
        assert second.verify().ok


def test_unsupported_urls_are_refused_clearly(tmp_path: object) -> None:
    with pytest.raises(InvalidQuery, match="unsupported database 'mysql'"):
        open_store("mysql://user@localhost/db")
    with pytest.raises(InvalidQuery, match="needs a SQLite file"):
        open_store("sqlite://")


def test_the_default_url_is_a_sqlite_file_in_the_data_directory(tmp_path: object) -> None:
    from kizuna.settings import get_settings

    settings = get_settings()
    with open_store() as store:
        assert store.backend == "sqlite"
        store.append("crisis:c1", [NewEvent("crisis.opened")])
    assert (settings.data_dir / "kizuna.db").exists()


_COUNTER = """
import sys
from kizuna.errors import ConflictError
from kizuna.store import NewEvent, open_store

url, name, increments = sys.argv[1], sys.argv[2], int(sys.argv[3])
conflicts = 0
with open_store(url, listen=False) as store:
    done = 0
    while done < increments:
        events = store.read_stream("counter:c1")
        value = events[-1].payload["value"] if events else 0
        try:
            store.append("counter:c1", [NewEvent("counter.set", {"value": value + 1, "by": name})],
                         expected_version=len(events))
        except ConflictError:
            conflicts += 1
            continue
        done += 1
print(conflicts)
"""


@pytest.mark.slow
def test_processes_racing_read_modify_write_on_one_stream_lose_no_update(store_url: str) -> None:
    """Two processes increment one counter by reading it and appending with the version they read."""
    import subprocess
    import sys

    with open_store(store_url, listen=False):
        pass  # migrate before the race
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _COUNTER, store_url, name, "40"], stdout=subprocess.PIPE, text=True
        )
        for name in ("left", "right")
    ]
    for worker in workers:
        worker.communicate(timeout=300)
    assert all(worker.returncode == 0 for worker in workers)
    with open_store(store_url, listen=False) as store:
        events = store.read_stream("counter:c1")
        assert [e.payload["value"] for e in events] == list(range(1, 81))
        assert {e.payload["by"] for e in events} == {"left", "right"}
        assert store.verify().ok


def test_a_scan_reads_only_the_types_asked_for_and_keyed_writes_and_reaches_the_head(
    store: EventStore,
) -> None:
    store.append("track:a", [NewEvent("tracks-reported", {"n": 1})])
    store.append("request:r1", [NewEvent("request-filed", {"n": 2})])
    store.append("request:r1", [NewEvent("step-acted", {"n": 3})], idempotency_key="u:k1")
    store.append("track:a", [NewEvent("tracks-reported", {"n": 4})])
    store.append("request:r1", [NewEvent("step-acted", {"n": 5})])
    found, reached = store.scan(0, {"tracks-reported"})
    assert [e.payload["n"] for e in found] == [1, 4]
    assert reached == store.head().seq == 5
    keyed, _ = store.scan(1, {"tracks-reported"}, keyed=True)
    assert [e.payload["n"] for e in keyed] == [3, 4]
    assert store.scan(5, {"tracks-reported"}) == ((), 5)


def test_a_stream_another_store_wrote_to_meanwhile_is_read_again(store: EventStore, store_url: str) -> None:
    """A store remembers the versions of the streams it wrote, only while nobody else has written."""
    store.append("request:r1", [NewEvent("filed")], expected_version=0)
    with open_store(store_url) as other:
        other.append("request:r1", [NewEvent("acted")], expected_version=1)
    with pytest.raises(ConflictError) as stale:
        store.append("request:r1", [NewEvent("acted")], expected_version=1)
    assert stale.value.current == 2
    assert store.append("request:r1", [NewEvent("acted")], expected_version=2)[0].version == 3
    with pytest.raises(ConflictError) as again:  # and what it wrote itself, it knows
        store.append("request:r1", [NewEvent("acted")], expected_version=2)
    assert again.value.current == 3
