"""The live service knows the tactical route: a Marine unit's request to a GSDF unit passes the center.

Runs the coordinator over a real SQLite event store with the bundled us-japan-2025 structure, through the
same commands the API calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kizuna.access import Classification, Marking, User
from kizuna.coordination import Action, Coordinator, Law, RequestStatus
from kizuna.errors import PermissionDenied
from kizuna.planning import StepKind
from kizuna.store import open_store

SHARED = Marking.releasable(Classification.SECRET, "USA", ["JPN"])
ACTION = {k: Action(k.value) for k in StepKind}
LAW = Law()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 4, 16, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def member(org: str, nation: str) -> User:
    return User(
        id=f"{org}-op", name=org, nation=nation, organization=org, role="approver", clearance="secret"
    )


USERS = {
    org: member(org, nation)
    for org, nation in {
        "12th-mlr": "USA",
        "nansei-tcc-sakishima": "JPN",
        "yonaguni-coast-observation-unit": "JPN",
        "yaeyama-area-security-force": "JPN",
        "iii-mef": "USA",
    }.items()
}
EXCON = User(
    id="excon", name="x", nation="USA", organization="usfj", role="exercise-control", clearance="secret"
)


@pytest.fixture
def coordinator(sqlite_url: str) -> Iterator[Coordinator]:
    with open_store(sqlite_url, sqlite_synchronous="NORMAL") as store:
        c = Coordinator(store, LAW, clock=Clock())
        c.open_crisis(
            EXCON,
            crisis_id="nansei",
            name="Nansei",
            structure="us-japan-2025",
            situation="armed-attack",
            marking=SHARED,
            exercise=True,
        )
        yield c


ISR = {
    "executor": "yonaguni-coast-observation-unit",
    "actor": "gsdf",
    "activity": "isr",
    "supported": "us-forces",
    "location": "japan-territory",
}


def test_a_permitted_tasking_is_carried_through_the_center_to_execution(coordinator: Coordinator) -> None:
    request = coordinator.file_request(USERS["12th-mlr"], "nansei", spec=ISR, marking=SHARED)
    assert [s.organization for s in request.path.order()] == [
        "12th-mlr",
        "nansei-tcc-sakishima",
        "yonaguni-coast-observation-unit",
    ]
    # nobody outside the center takes its step: the III MEF watch officer is refused
    center_step = request.path.order()[1]
    coordinator.act(USERS["12th-mlr"], request.id, request.path.order()[0].id, Action.COORDINATE)
    with pytest.raises(PermissionDenied):
        coordinator.act(USERS["iii-mef"], request.id, center_step.id, Action.COORDINATE)
    for step in request.path.order()[1:]:
        coordinator.act(USERS[step.organization], request.id, step.id, ACTION[step.kind])
    assert coordinator.view.requests[request.id].status is RequestStatus.EXECUTED


def test_a_tasking_that_needs_an_order_is_not_shortcut_live_either(coordinator: Coordinator) -> None:
    spec = {
        **ISR,
        "executor": "yaeyama-area-security-force",
        "activity": "supply",
        "flags": ["in-response-plan"],
    }
    request = coordinator.file_request(USERS["12th-mlr"], "nansei", spec=spec, marking=SHARED)
    organizations = {s.organization for s in request.path.steps}
    assert "nansei-tcc-sakishima" not in organizations
    assert "jp-mod" in organizations
    assert any("Not through nansei-tcc-sakishima" in note for note in request.path.notes)
