"""The command runner: commands on one thread, their appends committed together, answers as before."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import event
from tests.coordination.test_coordinator import ACTION, CRISIS, LAW, SHARED, STAFF, Clock, open_crisis

from kizuna.coordination import Action, Coordinator, LiveView, Recorded, RequestState, event_from_data
from kizuna.errors import ConflictError, NotFound
from kizuna.service.commands import CommandRunner
from kizuna.store import NewEvent, open_store

_T = TypeVar("_T")
WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")
SPEC = {
    "executor": "msdf",
    "actor": "msdf",
    "activity": "asset-protection",
    "supported": "us-forces",
    "location": "high-seas-near-japan",
}


@pytest.fixture
def coordinator(sqlite_url: str) -> Iterator[Coordinator]:
    with open_store(sqlite_url, sqlite_synchronous="NORMAL") as store:
        coordinator = Coordinator(store, LAW, clock=Clock())
        open_crisis(coordinator)
        yield coordinator


@pytest.fixture
def runner() -> Iterator[CommandRunner]:
    runner = CommandRunner()
    yield runner
    runner.stop()


def commits(coordinator: Coordinator) -> list[int]:
    """Count the store's committed transactions from now on (a one-element list, kept current)."""
    count = [0]

    @event.listens_for(coordinator.store.engine, "commit")
    def counted(_connection: Any) -> None:
        count[0] += 1

    return count


async def together(runner: CommandRunner, calls: list[Callable[[], _T]]) -> list[_T | BaseException]:
    """Run `calls` on the runner so that they are all taken at once: the runner is held busy until
    every one is queued, then let go."""
    held = threading.Event()
    busy = asyncio.ensure_future(runner.run(held.wait, 30))
    await asyncio.sleep(0.05)  # the runner's thread is now inside held.wait
    tasks: list[Awaitable[_T]] = [asyncio.ensure_future(runner.run(call)) for call in calls]
    await asyncio.sleep(0)  # each task has queued its command and waits for it
    held.set()
    await busy
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def test_the_result_exception_and_context_come_back(runner: CommandRunner) -> None:
    def fails() -> None:
        raise KeyError("r-404")

    async def main() -> tuple[int, str, int]:
        WHO.set("sato")
        value = await runner.run(lambda a, b=0: a + b, 2, b=3)
        who = await runner.run(WHO.get)
        ident = await runner.run(threading.get_ident)
        with pytest.raises(KeyError, match="r-404"):
            await runner.run(fails)
        return value, who, ident

    value, who, ident = asyncio.run(main())
    assert (value, who) == (5, "sato")
    assert ident != threading.get_ident()


def test_commands_taken_together_are_committed_in_one_transaction(
    coordinator: Coordinator, runner: CommandRunner
) -> None:
    """Forty requests filed at once: one commit for all of them, each answered with its own request."""
    count = commits(coordinator)
    calls = [
        lambda: coordinator.file_request(STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED) for _ in range(40)
    ]
    results = asyncio.run(together(runner, calls))
    assert count[0] == 1
    states = [r for r in results if isinstance(r, RequestState)]
    assert len(states) == 40
    assert len({s.id for s in states}) == 40
    assert set(coordinator.view.requests) >= {s.id for s in states}
    assert coordinator.view.last_seq == coordinator.store.head().seq
    assert coordinator.store.verify().ok


def test_a_command_that_lost_its_race_in_a_group_is_decided_again(
    coordinator: Coordinator, runner: CommandRunner
) -> None:
    """Two acts on one request in one group: the second is refused by the store's version check,
    decided again on the new state, and answers as it would have alone (the step is done)."""
    filed = coordinator.file_request(STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED)
    step = filed.ready_steps()[0]
    user = STAFF[step.organization]
    calls = [lambda: coordinator.act(user, filed.id, step.id, ACTION[step.kind]) for _ in range(2)]
    results = asyncio.run(together(runner, calls))
    assert isinstance(results[0], RequestState)
    assert step.id in results[0].done
    assert isinstance(results[1], ConflictError)
    assert coordinator.view.requests[filed.id].version == filed.version + 1


def test_a_refusal_in_a_group_leaves_the_others_committed(
    coordinator: Coordinator, runner: CommandRunner
) -> None:
    calls: list[Callable[[], RequestState]] = [
        lambda: coordinator.file_request(STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED),
        lambda: coordinator.act(STAFF["usfj"], "r-missing", "s1", Action.APPROVE),
        lambda: coordinator.file_request(STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED),
    ]
    first, missing, last = asyncio.run(together(runner, calls))
    assert isinstance(missing, NotFound)
    assert isinstance(first, RequestState)
    assert isinstance(last, RequestState)
    assert {first.id, last.id} <= set(coordinator.view.requests)


def test_a_gap_left_by_another_package_is_read_from_the_log_without_waiting(
    coordinator: Coordinator, runner: CommandRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event of another package (intelligence) is committed just before a group: the group's first
    command finds a gap before its events. Its other commands in flight are parked on the same thread
    and come after it in the log, so it reads the log at once instead of waiting for them."""
    store = coordinator.store
    submit = store.submit
    injected: list[bool] = []

    def foreign_first(appends: Any) -> None:
        if not injected:
            injected.append(True)  # before: the foreign append comes through here too
            store.append("intel:x", [NewEvent(type="intel-test", payload={})])
        submit(appends)

    monkeypatch.setattr(store, "submit", foreign_first)
    waits: list[float | None] = []
    condition = coordinator._changed

    class Recording(type(condition)):  # type: ignore[misc]
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return super().wait(timeout)

    coordinator._changed = Recording(coordinator._lock)
    del condition
    calls = [
        lambda: coordinator.file_request(STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED) for _ in range(3)
    ]
    results = asyncio.run(together(runner, calls))
    assert all(isinstance(r, RequestState) for r in results), results
    assert injected
    assert waits == []
    assert coordinator.view.last_seq == store.head().seq
    rebuilt = LiveView.rebuild(
        Recorded(seq=e.seq, event=event_from_data(dict(e.payload)))
        for e in store.iter_all()
        if not e.type.startswith("intel-")
    )
    assert rebuilt.requests == coordinator.snapshot().requests


def test_a_stopped_runner_finishes_what_it_holds_and_starts_again_when_used(
    coordinator: Coordinator, runner: CommandRunner
) -> None:
    async def main() -> list[RequestState]:
        first = await runner.run(coordinator.file_request, STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED)
        runner.stop()
        second = await runner.run(coordinator.file_request, STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED)
        return [first, second]

    states = asyncio.run(main())
    assert {s.id for s in states} <= set(coordinator.view.requests)


def test_appends_outside_the_runner_still_commit_beside_it(
    coordinator: Coordinator, runner: CommandRunner
) -> None:
    """Commands on other threads (exercise control's injects) and on the runner share group commits."""
    errors: list[BaseException] = []

    def elsewhere() -> None:
        try:
            for _ in range(5):
                coordinator.file_request(STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED)
        except BaseException as error:  # reported below
            errors.append(error)

    async def main() -> None:
        threads = [threading.Thread(target=elsewhere) for _ in range(4)]
        for thread in threads:
            thread.start()
        await asyncio.gather(
            *(
                runner.run(coordinator.file_request, STAFF["usfj"], CRISIS, spec=SPEC, marking=SHARED)
                for _ in range(20)
            )
        )
        for thread in threads:
            thread.join()

    asyncio.run(main())
    assert not errors
    assert len(coordinator.view.requests) == 40
    assert coordinator.view.last_seq == coordinator.store.head().seq
    assert coordinator.store.verify().ok
