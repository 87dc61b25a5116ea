"""Group commit: appends waiting for the chain lock are committed together, yet each stands alone.

The test holds the chain lock from another connection, so that every append queues behind the first;
when it lets go, the first append commits alone and all the others commit in one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kizuna.errors import ConflictError
from kizuna.store import EventStore, NewEvent, Projection, StoredEvent, open_store
from kizuna.store.engine import WRITE_OPTION, make_engine
from kizuna.store.schema import chain_head


def _refuse_poison(event: StoredEvent, _session: Session) -> None:
    if event.type == "poison":
        raise ValueError("this projection refuses poison")


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    refuse = Projection(name="refuse-poison", apply=_refuse_poison)
    with open_store(store_url, projections=[refuse]) as opened:
        opened.append("request:r1", [NewEvent("request.filed")])
        yield opened


def test_waiting_appends_commit_together_and_succeed_or_fail_alone(store: EventStore, store_url: str) -> None:
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    results: dict[str, object] = {}
    jobs = {
        "first": ("crisis:c0", [NewEvent("crisis.opened")], None),
        "poison": ("crisis:c1", [NewEvent("poison")], None),
        "stale": ("request:r1", [NewEvent("step.acted")], 0),
        "winner-or-loser-a": ("request:r1", [NewEvent("step.acted", {"by": "a"})], 1),
        "winner-or-loser-b": ("request:r1", [NewEvent("step.acted", {"by": "b"})], 1),
        **{
            f"plain-{i}": (f"crisis:p{i}", [NewEvent("crisis.opened"), NewEvent("note")], 0) for i in range(5)
        },
    }

    def run(name: str) -> None:
        stream, events, expected = jobs[name]
        try:
            results[name] = store.append(stream, events, expected_version=expected, idempotency_key=name)
        except Exception as error:
            results[name] = error

    blocker = make_engine(store_url)
    try:
        with blocker.connect().execution_options(**{WRITE_OPTION: True}) as held, held.begin():
            held.execute(select(chain_head).with_for_update()).all()
            first = threading.Thread(target=run, args=("first",))
            first.start()
            _wait_until(lambda: store._leading and not store._queue)  # it took its append and waits
            others = [threading.Thread(target=run, args=(name,)) for name in jobs if name != "first"]
            for thread in others:
                thread.start()
            _wait_until(lambda: len(store._queue) == len(others))
            commits.clear()
        for thread in [first, *others]:
            thread.join(60)
    finally:
        blocker.dispose()

    assert len(commits) == 2  # the first append alone, then every other in one transaction
    assert isinstance(results["poison"], ValueError)
    assert isinstance(results["stale"], ConflictError)
    races = [results["winner-or-loser-a"], results["winner-or-loser-b"]]
    assert sum(isinstance(r, ConflictError) for r in races) == 1
    assert all(isinstance(results[f"plain-{i}"], tuple) for i in range(5))
    assert store.read_stream("crisis:c1") == ()
    assert store.stream_version("request:r1") == 2
    assert store.head().seq == 1 + 1 + 1 + 5 * 2
    assert [e.seq for e in store.read_all()] == list(range(1, store.head().seq + 1))
    assert store.verify().ok
    # Projection writes made inside each append's savepoint survive the group's commit.
    assert all(store.check_projections().values()), store.check_projections()
    assert store.stream_version("crisis:p4") == 2


def test_a_group_whose_refusals_all_come_before_writing_needs_no_savepoints(
    store: EventStore, store_url: str
) -> None:
    # Version conflicts are refused before an append writes anything, so a group of them and of good
    # appends commits in one transaction without a savepoint per append (two statements each).
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    results: dict[str, object] = {}
    jobs = {
        "first": ("crisis:c0", 0),
        "stale": ("request:r1", 0),
        **{f"plain-{i}": (f"crisis:p{i}", 0) for i in range(4)},
    }

    def run(name: str) -> None:
        stream, expected = jobs[name]
        try:
            results[name] = store.append(stream, [NewEvent("note")], expected_version=expected)
        except Exception as error:
            results[name] = error

    blocker = make_engine(store_url)
    try:
        with blocker.connect().execution_options(**{WRITE_OPTION: True}) as held, held.begin():
            held.execute(select(chain_head).with_for_update()).all()
            first = threading.Thread(target=run, args=("first",))
            first.start()
            _wait_until(lambda: store._leading and not store._queue)
            others = [threading.Thread(target=run, args=(name,)) for name in jobs if name != "first"]
            for thread in others:
                thread.start()
            _wait_until(lambda: len(store._queue) == len(others))
        for thread in [first, *others]:
            thread.join(60)
    finally:
        blocker.dispose()

    assert isinstance(results["stale"], ConflictError)
    assert all(isinstance(results[f"plain-{i}"], tuple) for i in range(4))
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    assert store.head().seq == 1 + 1 + 4
    assert store.verify().ok
    assert all(store.check_projections().values()), store.check_projections()


def _wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_many_threads_appending_at_once_leave_a_gapless_verified_chain(store: EventStore) -> None:
    def writer(w: int) -> None:
        for n in range(25):
            store.append(f"crisis:w{w}", [NewEvent("note", {"n": n})], expected_version=n)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert store.head().seq == 1 + 8 * 25
    assert all(store.stream_version(f"crisis:w{w}") == 25 for w in range(8))
    assert store.verify().ok


def test_one_callers_submit_of_more_than_a_group_commits_all_in_order_beside_other_threads(
    store: EventStore,
) -> None:
    """A command runner submits many appends at once: they are committed in the order given, over
    several groups (MAX_GROUP each), while other threads' appends are queued among them."""
    prepared = [store.prepare(f"crisis:s{i}", [NewEvent("crisis.opened", {"i": i})]) for i in range(150)]
    stale = store.prepare("request:r1", [NewEvent("step.acted")], expected_version=0)
    prepared.insert(70, stale)
    errors: list[BaseException] = []

    def elsewhere(thread: int) -> None:
        try:
            for i in range(20):
                store.append(f"crisis:t{thread}-{i}", [NewEvent("crisis.opened")])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=elsewhere, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    store.submit(prepared)
    for thread in threads:
        thread.join()
    assert not errors
    assert isinstance(stale.error, ConflictError)
    assert stale.result is None
    recorded = [p.result for p in prepared if p is not stale]
    assert all(r is not None for r in recorded)
    seqs = [r[0].seq for r in recorded if r is not None]
    assert seqs == sorted(seqs)
    assert store.count() == 1 + 150 + 4 * 20
    assert store.verify().ok
