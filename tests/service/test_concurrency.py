"""Two users act on one step at the same moment: exactly one wins, the other gets 409 and the state.

A clock that holds both commands at a barrier makes the race real: both decide against the same version
of the request's stream before either appends, so the store's optimistic concurrency picks the winner
(on SQLite and on PostgreSQL), and the loser, decided again, learns that the step is already done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from tests.service.conftest import SECRET_BOTH, Clock, Service
from tests.service.test_end_to_end import CRISIS, act, asset_protection, open_crisis


class RacingClock(Clock):
    """A clock that, once armed, makes the next `parties` readers wait for each other."""

    def __init__(self) -> None:
        super().__init__()
        self._barrier: threading.Barrier | None = None
        self._lock = threading.Lock()
        self._waiting = 0

    def arm(self, parties: int) -> None:
        self._barrier = threading.Barrier(parties, timeout=10)
        self._waiting = parties

    def __call__(self) -> datetime:
        with self._lock:
            barrier = self._barrier if self._waiting > 0 else None
            self._waiting -= 1 if barrier else 0
        if barrier is not None:
            barrier.wait()
        with self._lock:
            return super().__call__()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def racing(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[tuple[Service, RacingClock]]:
    from tests.service.conftest import build_service

    from kizuna.settings import Settings

    url = (
        f"sqlite:///{tmp_path}/race.db"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    clock = RacingClock()
    for service in build_service(Settings(database_url=url, sqlite_synchronous="NORMAL"), clock=clock):
        yield service, clock


def test_two_concurrent_approvals_of_one_step_one_wins(racing: tuple[Service, RacingClock]) -> None:
    service, clock = racing
    open_crisis(service)
    us = service.client("usfj-op")
    acg = service.add_user("acg-us", "USA", "acm-acg", "operator")
    first = service.add_user("jp-mod-a", "JPN", "jp-mod", "approver")
    second = service.add_user("jp-mod-b", "JPN", "jp-mod", "approver")
    request_id = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json())).json()[
        "request"
    ]["id"]
    assert act(us, request_id, "file-usfj", "coordinate").status_code == 200
    assert act(acg, request_id, "relay-acm-acg", "coordinate").status_code == 200

    step = "defense-minister-order-jp-mod"
    clock.arm(2)
    calls: list[Callable[[], object]] = [
        lambda: act(first, request_id, step, "approve"),
        lambda: act(second, request_id, step, "deny", reason="not yet"),
    ]
    with ThreadPoolExecutor(2) as pool:
        responses = [f.result() for f in [pool.submit(c) for c in calls]]
    codes = sorted(r.status_code for r in responses)  # type: ignore[attr-defined]
    assert codes == [200, 409], [r.text for r in responses]  # type: ignore[attr-defined]
    loser = next(r for r in responses if r.status_code == 409)  # type: ignore[attr-defined]
    winner = next(r for r in responses if r.status_code == 200)  # type: ignore[attr-defined]
    current = loser.json()["current"]
    assert current["steps"][step] in {"done", "denied"}
    assert current["status"] == winner.json()["request"]["status"]
    acted = [
        e for e in us.get("/api/events", params={"limit": 1000}).json() if e["event"].get("step") == step
    ]
    assert len(acted) == 1, "exactly one action on the step was recorded"


def test_concurrent_actions_on_different_steps_both_go_through(service: Service) -> None:
    """A lost race on the stream is decided again: actions on other steps are not refused."""
    open_crisis(service)
    us = service.client("usfj-op")
    ids = [
        us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json())).json()["request"][
            "id"
        ]
        for _ in range(4)
    ]
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda r: act(us, r, "file-usfj", "coordinate").status_code, ids))
    assert codes == [200] * 4
